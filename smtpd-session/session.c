/* session.c - one ESMTP session (RFC 5321).
 *
 * The session is in one state at a time (enum state).  A table of commands
 * says in which states each verb is allowed; a command that is allowed is
 * checked (replying on error) and then acted on.  Every reply goes out
 * through answer(), which counts refusals: a fixed one by its name (say(),
 * enum canned), any other made by reply(), which puts the code and the
 * enhanced status code (RFC 3463) before its text.  Why a session ends
 * (enum close_reason) decides the exit status. */
#include "session.h"
#include "address.h"
#include "auth.h"
#include "data.h"
#include "delivery.h"
#include "log.h"
#include "stream.h"
#include "peer.h"
#include "sasl.h"
#include "target.h"
#include "tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define COMMAND_MAX 512        /* RFC 5321 4.5.3.1.4, CR LF included */
#define HOP_LIMIT 100          /* RFC 5321 6.3: more Received fields is a loop */
#define AUTH_FAILURE_PAUSE_MS 1000  /* what each failed AUTH costs the client */

/* Where the session stands.  After STARTTLS's handshake the session is
 * back in STATE_GREETING (RFC 3207 4.2); AUTH's 334 exchange reads its
 * lines through line mode (session.on_line). */
enum state {
	STATE_GREETING,    /* greeted the client (or TLS began); no HELO or EHLO yet */
	STATE_READY,       /* HELO or EHLO seen; no transaction open */
	STATE_MAIL,        /* MAIL accepted; no recipient yet */
	STATE_RCPT,        /* a recipient accepted: DATA may follow */
	STATE_DATA,        /* reading the message: no commands */
};

#define IN(state) (1u << (state))
#define ANY_STATE (IN(STATE_GREETING) | IN(STATE_READY) | IN(STATE_MAIL) | IN(STATE_RCPT))

/* Why the session ends, and with which exit status (see close_reasons). */
enum close_reason {
	CLOSE_NONE,             /* not ending */
	CLOSE_QUIT,
	CLOSE_EOF,              /* the client closed its side */
	CLOSE_TIMEOUT,
	CLOSE_IO_ERROR,
	CLOSE_TOO_MANY_ERRORS,
	CLOSE_NO_MEMORY,        /* before the greeting */
	CLOSE_TLS_FAILED,       /* the client's handshake failed (or it left) */
	CLOSE_TLS_UNAVAILABLE,  /* tls_wrapper, and our certificate or key is unreadable */
};

struct session;

/* A handler for one input line (the line without CR LF, NUL-terminated). */
typedef void line_handler(struct session *s, char *line, size_t len);

struct session {
	const struct config *cfg;
	struct stream io;
	struct peer peer;
	struct stores stores;
	char id[32];
	char helo[256];
	enum state state;
	bool esmtp;
	bool tls_active;           /* the session runs over TLS (STARTTLS, tls_wrapper) */
	bool authenticated;        /* AUTH succeeded: auth_login is who */
	char auth_login[SASL_FIELD_MAX];
	const char *auth_mechanism; /* during an AUTH exchange: "PLAIN" or "LOGIN" */
	struct sasl_credentials creds;  /* during an AUTH exchange; wiped after it */
	char tls_info[96];         /* "TLSv1.3 TLS_AES_256_GCM_SHA384" for Received */
	enum close_reason close;   /* set when the session must end */
	/* Line mode: the next input line goes here.  dispatch() for commands;
	 * a continuation (AUTH's answer to a 334, RFC 4954 4) sets a handler
	 * of its own for one line, after which lines are commands again. */
	line_handler *on_line;
	unsigned errors;
	unsigned messages;
	unsigned rcpts_accepted;
	struct transaction tx;
	struct spool spool;
};

/* ---- replies ---------------------------------------------------------- */

/* The fixed replies, by name. */
enum canned {
	R_DONE,
	R_HELO_FIRST,
	R_SENDER_GIVEN,
	R_MAIL_SYNTAX,
	R_BAD_SIZE,
	R_BAD_BODY,
	R_PARAM_SYNTAX,
	R_SENDER_NEEDS_UTF8,
	R_MAIL_FIRST_RCPT,
	R_RCPT_SYNTAX,
	R_RCPT_BAD_ADDRESS,
	R_RCPT_NEEDS_UTF8,
	R_RCPT_PARAMETERS,
	R_TOO_MANY_RCPTS,
	R_NO_SUCH_USER,
	R_MAILBOX_NAME,
	R_RELAY_DENIED,
	R_SOURCE_ROUTE,
	R_MAILBOX_TEMPFAIL,
	R_ALIAS_LOOP,
	R_LMTP_DOWN,
	R_MAIL_FIRST_DATA,
	R_NO_RCPTS,
	R_DATA_ARGUMENT,
	R_START_DATA,
	R_TOO_MANY_HOPS,
	R_HELP,
	R_VRFY_SYNTAX,
	R_VRFY,
	R_NO_EXPN,
	R_NUL,
	R_UNKNOWN_COMMAND,
	R_LINE_TOO_LONG,
	R_BAD_SEQUENCE,
	R_NO_MEMORY,
	R_TLS_READY,
	R_TLS_ARGUMENT,
	R_TLS_NOT_CONFIGURED,
	R_TLS_UNAVAILABLE,
	R_TLS_ACTIVE,
	R_TLS_REQUIRED,
	R_AUTH_OK,
	R_AUTH_FAILED,
	R_AUTH_CANCELLED,
	R_AUTH_BAD_BASE64,
	R_AUTH_MECHANISM,
	R_AUTH_SYNTAX,
	R_AUTH_NEEDS_TLS,
	R_AUTH_UNAVAILABLE,
	R_AUTH_NOT_OFFERED,
	R_AUTH_AGAIN,
	R_AUTH_PLAIN_GO,
	R_AUTH_USERNAME,
	R_AUTH_PASSWORD,
	R_AUTH_FIRST,
	R_SENDER_NOT_OWNED,
};

/* Each as it goes on the wire: "CODE X.Y.Z text" (RFC 3463 codes on final
 * replies only).  Arrays, not pointers: in a position-independent
 * executable every pointer in a table is relocated at start-up (about 12
 * instructions each), in every session; the tables below do the same. */
static const char canned[][80] = {
	[R_DONE] = "250 2.0.0 Ok",
	[R_HELO_FIRST] = "503 5.5.1 Say HELO or EHLO first",
	[R_SENDER_GIVEN] = "503 5.5.1 Sender already given",
	[R_MAIL_SYNTAX] = "501 5.5.2 Syntax: MAIL FROM:<address>",
	[R_BAD_SIZE] = "501 5.5.4 Bad SIZE parameter",
	[R_BAD_BODY] = "501 5.5.4 BODY must be 7BIT or 8BITMIME",
	[R_PARAM_SYNTAX] = "501 5.5.4 Syntax error in parameters",
	[R_SENDER_NEEDS_UTF8] = "553 5.6.7 Non-ASCII sender needs SMTPUTF8",
	[R_MAIL_FIRST_RCPT] = "503 5.5.1 Need MAIL before RCPT",
	[R_RCPT_SYNTAX] = "501 5.5.2 Syntax: RCPT TO:<address>",
	[R_RCPT_BAD_ADDRESS] = "553 5.1.3 Bad recipient address syntax",
	[R_RCPT_NEEDS_UTF8] = "553 5.6.7 Non-ASCII recipient needs SMTPUTF8",
	[R_RCPT_PARAMETERS] = "555 5.5.4 RCPT parameters not supported",
	[R_TOO_MANY_RCPTS] = "452 4.5.3 Too many recipients",
	[R_NO_SUCH_USER] = "550 5.1.1 No such user here",
	[R_MAILBOX_NAME] = "553 5.1.3 Mailbox name not allowed",
	[R_RELAY_DENIED] = "554 5.7.1 Relay access denied",
	[R_SOURCE_ROUTE] = "554 5.7.1 Source routes are not accepted",
	[R_MAILBOX_TEMPFAIL] = "451 4.3.0 Mailbox unavailable, try again later",
	[R_ALIAS_LOOP] = "554 5.4.6 Alias loop or too many levels of aliases",
	[R_LMTP_DOWN] = "451 4.4.1 Mailbox server not reachable, try again later",
	[R_MAIL_FIRST_DATA] = "503 5.5.1 Need MAIL command",
	[R_NO_RCPTS] = "554 5.5.1 No valid recipients",
	[R_DATA_ARGUMENT] = "501 5.5.4 DATA takes no parameters",
	[R_START_DATA] = "354 End data with <CR><LF>.<CR><LF>",
	[R_TOO_MANY_HOPS] = "554 5.4.6 Too many hops (mail loop?)",
	[R_HELP] = "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY",
	[R_VRFY_SYNTAX] = "501 5.5.4 Syntax: VRFY address",
	/* RFC 5321 3.5.3: no address harvesting, but no refusal either */
	[R_VRFY] = "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery",
	[R_NO_EXPN] = "502 5.5.1 EXPN not available",
	[R_NUL] = "500 5.5.2 NUL character in command",
	[R_UNKNOWN_COMMAND] = "500 5.5.1 Command unrecognized",
	[R_LINE_TOO_LONG] = "500 5.5.2 Line too long",
	[R_BAD_SEQUENCE] = "503 5.5.1 Bad sequence of commands",
	[R_NO_MEMORY] = "421 4.3.0 Out of memory",
	[R_TLS_READY] = "220 2.0.0 Ready to start TLS",
	[R_TLS_ARGUMENT] = "501 5.5.4 STARTTLS takes no parameters",
	[R_TLS_NOT_CONFIGURED] = "502 5.5.1 STARTTLS not available",
	[R_TLS_UNAVAILABLE] = "454 4.7.0 TLS not available due to local problem",
	[R_TLS_ACTIVE] = "503 5.5.1 TLS already active",
	[R_TLS_REQUIRED] = "530 5.7.0 Must issue a STARTTLS command first",
	/* AUTH: RFC 4954 6, and RFC 5248 for 5.7.8 and 5.7.11 */
	[R_AUTH_OK] = "235 2.7.0 Authentication successful",
	[R_AUTH_FAILED] = "535 5.7.8 Authentication credentials invalid",
	[R_AUTH_CANCELLED] = "501 5.7.0 Authentication cancelled",
	[R_AUTH_BAD_BASE64] = "501 5.5.2 Cannot decode response",
	[R_AUTH_MECHANISM] = "504 5.5.4 Unrecognized authentication type",
	[R_AUTH_SYNTAX] = "501 5.5.4 Syntax: AUTH mechanism [initial-response]",
	[R_AUTH_NEEDS_TLS] = "538 5.7.11 Encryption required for requested authentication mechanism",
	[R_AUTH_UNAVAILABLE] = "454 4.7.0 Temporary authentication failure",
	[R_AUTH_NOT_OFFERED] = "502 5.5.1 AUTH not available",
	[R_AUTH_AGAIN] = "503 5.5.1 Already authenticated",
	[R_AUTH_PLAIN_GO] = "334 ",
	[R_AUTH_USERNAME] = "334 VXNlcm5hbWU6",          /* "Username:" */
	[R_AUTH_PASSWORD] = "334 UGFzc3dvcmQ6",          /* "Password:" */
	[R_AUTH_FIRST] = "530 5.7.0 Authentication required",
	[R_SENDER_NOT_OWNED] = "553 5.7.1 Sender address not owned by the authenticated user",
};

static void send_line(struct session *s, const char *line, size_t len)
{
	log_event(LOG_LEVEL_DEBUG, "reply", "text", line, NULL);
	stream_put(&s->io, line, len);
	stream_put(&s->io, "\r\n", 2);
}

/* Every reply goes out here, counted as a refusal when it is one. */
static void answer(struct session *s, const char *line, size_t len)
{
	if (line[0] >= '4')
		s->errors++;
	send_line(s, line, len);
}

/* "CODE X.Y.Z text", or "CODE text" with no ecode: a reply with a text made
 * on the spot. */
__attribute__((format(printf, 4, 5)))
static void reply(struct session *s, int code, const char *ecode, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n = ecode ? snprintf(line, sizeof line, "%d %s ", code, ecode)
	              : snprintf(line, sizeof line, "%d ", code);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	answer(s, line, strlen(line));
}

/* A reply by its name. */
static void say(struct session *s, enum canned r)
{
	answer(s, canned[r], strlen(canned[r]));
}

/* The store failed with err: a full disk or quota is the client's to wait
 * out (RFC 3463 4.3.1), anything else is our trouble (4.3.0). */
static void reply_store_error(struct session *s, int err, const char *text)
{
	if (err == ENOSPC || err == EDQUOT)
		reply(s, 452, "4.3.1", "%s", text);
	else
		reply(s, 451, "4.3.0", "%s", text);
}

/* ---- the transaction -------------------------------------------------- */

/* RSET's effect (RFC 5321 4.1.1.5): no transaction, the greeting stays. */
static void transaction_reset(struct session *s)
{
	if (s->state > STATE_READY)
		s->state = STATE_READY;
	s->tx.sender[0] = '\0';
	s->tx.smtputf8 = false;
	s->tx.body_8bit = false;
	s->tx.n_rcpts = 0;
	s->tx.n_given = 0;
	s->tx.n_aliases = 0;
}

/* The Received field's "with": SMTP, ESMTP or UTF8SMTP (RFC 6531 3.7.3),
 * then S under TLS and A when authenticated (RFC 3848: ESMTPS, ESMTPA,
 * ESMTPSA; RFC 6531: UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA). */
static const char *protocol(const struct session *s, char *buf, size_t size)
{
	bool extended = s->esmtp || s->tls_active || s->authenticated;
	const char *base = s->tx.smtputf8 ? "UTF8SMTP" : extended ? "ESMTP" : "SMTP";

	snprintf(buf, size, "%s%s%s", base, s->tls_active ? "S" : "", s->authenticated ? "A" : "");
	return buf;
}

/* ---- HELO / EHLO ------------------------------------------------------ */

/* A HELO name goes into the Received field: printable ASCII only. */
static bool helo_is_clean(const char *arg)
{
	if (*arg == '\0' || strlen(arg) >= sizeof ((struct session *)0)->helo)
		return false;
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

static bool check_hello(struct session *s, const char *verb, const char *arg)
{
	if (*arg == '\0') {
		reply(s, 501, "5.5.4", "Syntax: %s hostname", verb);
		return false;
	}
	if (!helo_is_clean(arg)) {
		reply(s, 501, "5.5.2", "Invalid %s name", verb);
		return false;
	}
	return true;
}

static bool check_helo(struct session *s, const char *arg)
{
	return check_hello(s, "HELO", arg);
}

static bool check_ehlo(struct session *s, const char *arg)
{
	return check_hello(s, "EHLO", arg);
}

static void greet(struct session *s, const char *arg, bool esmtp)
{
	memcpy(s->helo, arg, strlen(arg) + 1);
	s->state = STATE_READY;
	s->esmtp = esmtp;
	transaction_reset(s);       /* RFC 5321 4.1.4: like RSET */
	log_event(LOG_LEVEL_INFO, "helo", "name", s->helo, "esmtp", esmtp ? "yes" : "no", NULL);
}

static void proceed_helo(struct session *s, const char *arg)
{
	greet(s, arg, false);
	reply(s, 250, NULL, "%s", s->cfg->hostname);     /* RFC 2034: no code here */
}

/* SIZE's parameter: the limit, exactly (RFC 1870). */
static size_t size_param(const struct session *s, char *buf, size_t size)
{
	int n = snprintf(buf, size, " %llu", (unsigned long long)s->cfg->max_message_size);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* STARTTLS is offered when a certificate and key are configured and TLS
 * is not yet active (RFC 3207 4.2: never after the handshake). */
static bool starttls_offered(const struct session *s)
{
	return !s->tls_active && s->cfg->tls_cert[0] && s->cfg->tls_key[0];
}

/* AUTH is offered when a back end is set, and over TLS unless
 * auth_require_tls = no (RFC 4954 4: no cleartext passwords by default). */
static bool auth_offered(const struct session *s)
{
	if (target_capture_mode(s->cfg))
		return true;             /* a mail catcher: any login, with or without TLS */
	return auth_configured(s->cfg) && (s->tls_active || !s->cfg->auth_require_tls);
}

static size_t auth_param(const struct session *s, char *buf, size_t size)
{
	(void)s;
	return (size_t)snprintf(buf, size, " PLAIN LOGIN");
}

/* The EHLO keywords, in the order listed.  A row is listed when its
 * condition holds (no condition: always); STARTTLS and AUTH have one. */
static const struct keyword {
	char name[24];
	bool (*offered)(const struct session *s);
	size_t (*param)(const struct session *s, char *buf, size_t size);
} keywords[] = {
	{ "PIPELINING", NULL, NULL },               /* RFC 2920 */
	{ "SIZE", NULL, size_param },               /* RFC 1870 */
	{ "8BITMIME", NULL, NULL },                 /* RFC 6152 */
	{ "ENHANCEDSTATUSCODES", NULL, NULL },      /* RFC 2034 */
	{ "SMTPUTF8", NULL, NULL },                 /* RFC 6531 */
	{ "STARTTLS", starttls_offered, NULL },     /* RFC 3207 */
	{ "AUTH", auth_offered, auth_param },       /* RFC 4954 */
};

/* "250-KEYWORD[ PARAM]" into line; returns its length. */
static size_t keyword_line(const struct session *s, const struct keyword *k, char *line, size_t size)
{
	size_t n = strlen(k->name);

	if (n > size - 5)
		n = size - 5;
	memcpy(line, "250-", 4);
	memcpy(line + 4, k->name, n);
	n += 4;
	if (k->param)
		n += k->param(s, line + n, size - n);
	line[n] = '\0';
	return n;
}

/* The EHLO reply (RFC 5321 4.1.1.1): each line but the last says "250-". */
static void proceed_ehlo(struct session *s, const char *arg)
{
	char line[128];

	greet(s, arg, true);
	size_t n = (size_t)snprintf(line, sizeof line, "250-%.64s greets %.48s", s->cfg->hostname, arg);
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
		if (keywords[i].offered && !keywords[i].offered(s))
			continue;
		send_line(s, line, n);
		n = keyword_line(s, &keywords[i], line, sizeof line);
	}
	line[3] = ' ';
	send_line(s, line, n);
}

/* ---- MAIL ------------------------------------------------------------- */

/* "FROM:" or "TO:" then optional spaces; returns what follows or NULL. */
static const char *after_keyword(const char *arg, const char *keyword)
{
	size_t n = strlen(keyword);

	if (strncasecmp(arg, keyword, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	return arg;
}

static bool parse_size(const struct param *p, uint64_t *size)
{
	uint64_t n = 0;

	if (!p->value || p->value_len == 0 || p->value_len > 20)
		return false;
	for (size_t i = 0; i < p->value_len; i++) {
		if (p->value[i] < '0' || p->value[i] > '9')
			return false;
		uint64_t next = n * 10 + (uint64_t)(p->value[i] - '0');
		if (next / 10 != n)
			return false;
		n = next;
	}
	*size = n;
	return true;
}

static bool param_is(const struct param *p, const char *name)
{
	return p->key_len == strlen(name) && strncasecmp(p->key, name, p->key_len) == 0;
}

/* MAIL parameters: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531). */
static bool mail_params(struct session *s, const char *cursor, const char *end)
{
	struct param p;
	bool bad;

	while (param_next(&cursor, end, &p, &bad)) {
		uint64_t size;
		if (param_is(&p, "SIZE")) {
			if (!parse_size(&p, &size)) {
				say(s, R_BAD_SIZE);
				return false;
			}
			if (size > s->cfg->max_message_size) {
				reply(s, 552, "5.3.4", "Message size exceeds fixed limit of %llu octets",
				      (unsigned long long)s->cfg->max_message_size);
				return false;
			}
		} else if (param_is(&p, "BODY") && p.value) {
			if (p.value_len == 4 && strncasecmp(p.value, "7BIT", 4) == 0)
				s->tx.body_8bit = false;
			else if (p.value_len == 8 && strncasecmp(p.value, "8BITMIME", 8) == 0)
				s->tx.body_8bit = true;
			else {
				say(s, R_BAD_BODY);
				return false;
			}
		} else if (param_is(&p, "SMTPUTF8") && !p.value) {
			s->tx.smtputf8 = true;
		} else {
			reply(s, 555, "5.5.4", "Unsupported parameter %.*s", (int)(p.key_len > 40 ? 40 : p.key_len), p.key);
			return false;
		}
	}
	if (bad) {
		say(s, R_PARAM_SYNTAX);
		return false;
	}
	return true;
}

/* MAIL in the wrong state. */
static void refuse_mail(struct session *s)
{
	say(s, s->state == STATE_GREETING ? R_HELO_FIRST : R_SENDER_GIVEN);
}

/* Submission (RFC 6409 6.1): may the login send as this sender?  <> may;
 * when the login is an address, that address (any case), with or without
 * a +detail in its local part; a login that is not an address, anyone. */
static bool sender_owned(const char *login, const char *sender)
{
	const char *at = strrchr(login, '@');
	const char *sat = strrchr(sender, '@');

	if (sender[0] == '\0' || !at)
		return true;
	if (!sat || strcasecmp(at, sat) != 0)
		return false;
	size_t local = (size_t)(at - login), slocal = (size_t)(sat - sender);
	if (slocal < local || strncasecmp(login, sender, local) != 0)
		return false;
	return slocal == local || sender[local] == '+';
}

/* Parse the sender and its parameters into the (not yet open) transaction. */
static bool check_mail(struct session *s, const char *arg)
{
	const char *path = after_keyword(arg, "FROM:");
	struct mailbox mb;
	size_t used;

	if (s->cfg->require_tls && !s->tls_active) {      /* RFC 3207 4 */
		say(s, R_TLS_REQUIRED);
		return false;
	}
	if (s->cfg->submission && !s->authenticated) {
		say(s, R_AUTH_FIRST);
		return false;
	}
	if (!path) {
		say(s, R_MAIL_SYNTAX);
		return false;
	}
	enum addr_status st = path_parse(path, strlen(path), true, &mb, &used);
	if (st == ADDR_SYNTAX) {
		say(s, R_MAIL_SYNTAX);
		return false;
	}
	if (st != ADDR_OK && st != ADDR_NULL) {
		reply(s, st == ADDR_LOCAL_TOO_LONG ? 553 : 501, "5.1.7", "Bad sender address syntax");
		return false;
	}
	transaction_reset(s);
	if (!mail_params(s, path + used, path + strlen(path))) {
		transaction_reset(s);
		return false;
	}
	if (st == ADDR_OK)
		mailbox_format(&mb, s->tx.sender, sizeof s->tx.sender);
	if (!s->tx.smtputf8 && !string_is_ascii(s->tx.sender)) {
		say(s, R_SENDER_NEEDS_UTF8);
		transaction_reset(s);
		return false;
	}
	if (s->cfg->submission && !sender_owned(s->auth_login, s->tx.sender)) {
		say(s, R_SENDER_NOT_OWNED);
		transaction_reset(s);
		return false;
	}
	return true;
}

static void proceed_mail(struct session *s, const char *arg)
{
	(void)arg;
	s->state = STATE_MAIL;
	log_event(LOG_LEVEL_INFO, "mail", "from", s->tx.sender,
	          s->authenticated ? "auth" : NULL, s->auth_login, NULL);
	reply(s, 250, "2.1.0", "Sender <%s> OK", s->tx.sender);
}

/* ---- RCPT ------------------------------------------------------------- */

static void refuse_rcpt(struct session *s, const char *to, const char *reason, enum canned r)
{
	log_event(LOG_LEVEL_INFO, "rcpt", "to", to, "result", "refused", "reason", reason, NULL);
	say(s, r);
}

/* How each target verdict is answered (indexed by enum target_verdict). */
static const struct refusal {
	char reason[16];
	enum canned reply;
} refusals[] = {
	[TARGET_UNKNOWN_USER] = { "unknown-user", R_NO_SUCH_USER },
	[TARGET_BAD_LOCAL] = { "bad-local-part", R_MAILBOX_NAME },
	[TARGET_RELAY_DENIED] = { "relay-denied", R_RELAY_DENIED },
	[TARGET_ROUTE_DENIED] = { "source-route", R_SOURCE_ROUTE },
	[TARGET_TEMPFAIL] = { "local-trouble", R_MAILBOX_TEMPFAIL },
	[TARGET_LOOP] = { "alias-loop", R_ALIAS_LOOP },
	[TARGET_LMTP_DOWN] = { "lmtp-down", R_LMTP_DOWN },
};

/* Parse "TO:<path>" (or the bare "<postmaster>") into its targets. */
static bool rcpt_target(struct session *s, const char *path, struct target *t, size_t *n)
{
	struct mailbox mb;
	size_t used;
	enum target_verdict v;

	if (strncasecmp(path, "<postmaster>", 12) == 0) {
		used = 12;
		v = target_postmaster(&s->stores, t, n);
	} else {
		enum addr_status st = path_parse(path, strlen(path), s->tx.smtputf8, &mb, &used);
		switch (st) {
		case ADDR_OK:
			break;
		case ADDR_NEEDS_UTF8:
			refuse_rcpt(s, path, "needs-smtputf8", R_RCPT_NEEDS_UTF8);
			return false;
		case ADDR_LOCAL_TOO_LONG:
		case ADDR_BAD_LOCAL:
		case ADDR_BAD_DOMAIN:
			refuse_rcpt(s, path, "syntax", R_RCPT_BAD_ADDRESS);
			return false;
		default:
			refuse_rcpt(s, path, "syntax", R_RCPT_SYNTAX);
			return false;
		}
		v = target_resolve(&s->stores, s->peer.may_relay || s->authenticated, &mb, t, n);
	}
	const char *rest = path + used;
	while (*rest == ' ')
		rest++;
	if (*rest) {
		refuse_rcpt(s, path, "parameter", R_RCPT_PARAMETERS);
		return false;
	}
	if (v == TARGET_OK)
		return true;
	refuse_rcpt(s, t->address, refusals[v].reason, refusals[v].reply);
	return false;
}

static bool already_listed(const struct session *s, const struct target *t)
{
	for (size_t i = 0; i < s->tx.n_rcpts; i++)
		if (target_same(&s->tx.rcpts[i], t))
			return true;
	return false;
}

static void refuse_rcpt_state(struct session *s)
{
	say(s, R_MAIL_FIRST_RCPT);
}

static bool check_rcpt(struct session *s, const char *arg)
{
	if (!after_keyword(arg, "TO:")) {
		say(s, R_RCPT_SYNTAX);
		return false;
	}
	if (s->tx.n_given >= s->cfg->max_recipients) {
		say(s, R_TOO_MANY_RCPTS);
		return false;
	}
	return true;
}

/* Room for n more targets. */
static bool make_room(struct session *s, size_t n)
{
	if (s->tx.n_rcpts + n <= s->tx.cap)
		return true;
	size_t cap = s->tx.cap * 2 > s->tx.n_rcpts + n ? s->tx.cap * 2 : s->tx.n_rcpts + n;
	struct target *r = realloc(s->tx.rcpts, cap * sizeof *r);
	if (!r)
		return false;
	s->tx.rcpts = r;
	s->tx.cap = cap;
	return true;
}

static const char *target_name(const struct target *t)
{
	if (t->kind == TARGET_MAILDIR)
		return t->dir;
 	if (t->kind == TARGET_COMMAND)
		return "message_command";
	return t->via == VIA_PIPE ? "pipe" : t->via == VIA_LMTP ? "lmtp" : "queue";
}

/* Note rcpt as expanded by an alias (its Delivered-To:), once. */
static bool note_alias(struct session *s, const char *rcpt)
{
	struct transaction *tx = &s->tx;

	for (size_t i = 0; i < tx->n_aliases; i++)
		if (strcasecmp(tx->aliases[i], rcpt) == 0)
			return true;
	if (tx->n_aliases == tx->cap_aliases) {
		size_t cap = tx->cap_aliases ? 2 * tx->cap_aliases : 8;
		char (*a)[ADDRESS_MAX + 1] = realloc(tx->aliases, cap * sizeof *a);
		if (!a)
			return false;
		tx->aliases = a;
		tx->cap_aliases = cap;
	}
	snprintf(tx->aliases[tx->n_aliases++], sizeof tx->aliases[0], "%s", rcpt);
	return true;
}

/* Resolve the recipient (which may still refuse it) and add its targets. */
static void proceed_rcpt(struct session *s, const char *arg)
{
	static struct target t[ALIAS_TARGETS_MAX];
	size_t n = 0, added = 0;
	char rcpt[ADDRESS_MAX + 1];

	if (!rcpt_target(s, after_keyword(arg, "TO:"), t, &n))
		return;
	if (!make_room(s, n)) {
		reply(s, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	const char *aliased = NULL;
	for (size_t i = 0; i < n && !aliased; i++)
		aliased = t[i].alias[0] ? t[i].alias : NULL;
	snprintf(rcpt, sizeof rcpt, "%s", aliased ? aliased : t[0].address);
	if (aliased && !note_alias(s, rcpt)) {
		reply(s, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (already_listed(s, &t[i]))
			continue;
		s->tx.rcpts[s->tx.n_rcpts++] = t[i];
		added++;
		if (n > 1 || t[i].alias[0])
			log_event(LOG_LEVEL_INFO, "alias", "rcpt", rcpt, "target", target_name(&t[i]),
			          "to", t[i].kind == TARGET_MAILDIR ? t[i].address
			                : t[i].via_value ? t[i].via_value : t[i].address, NULL);
	}
	s->tx.n_given += added > 0;
	s->state = STATE_RCPT;
	s->rcpts_accepted++;
	log_event(LOG_LEVEL_INFO, "rcpt", "to", rcpt, "result", "accepted",
	          "target", n == 1 ? target_name(&t[0]) : "alias", NULL);
	reply(s, 250, "2.1.5", "Recipient <%s> OK", rcpt);
}

/* ---- DATA ------------------------------------------------------------- */

/* How a failed read ends the session. */
static enum close_reason close_reason_of(enum stream_status st)
{
	return st == STREAM_EOF ? CLOSE_EOF : st == STREAM_TIMEOUT ? CLOSE_TIMEOUT : CLOSE_IO_ERROR;
}

/* Read the message to <CRLF>.<CRLF>, storing it as it comes. */
static enum stream_status receive_data(struct session *s, struct data_machine *m)
{
	bool done = false;

	data_init(m);
	while (!done) {
		enum stream_status st = stream_fill(&s->io);
		if (st != STREAM_OK)
			return st;
		size_t len;
		const char *in = stream_input(&s->io, &len);
		stream_consume(&s->io, data_feed(m, in, len, &done, spool_write, &s->spool));
	}
	return STREAM_OK;
}

/* message_command's verdict is the reply to the dot; nothing is kept. */
static void finish_by_command(struct session *s, const struct trace *tr)
{
	char enh[16], text[300];
	int code;

	spool_run_command(&s->spool, &s->tx, tr, &code, enh, sizeof enh, text, sizeof text);
	spool_discard(&s->spool);
	if (code == 250)
		s->messages++;
	reply(s, code, enh, "%s", text);
}

/* The verdict on a received message, after its final dot. */
static void finish_message(struct session *s, const struct data_machine *m, const struct trace *tr)
{
	char size[32];

	/* octets counts the final ".\r\n" too */
	if (m->octets > s->cfg->max_message_size + 3) {
		spool_discard(&s->spool);
		reply(s, 552, "5.3.4", "Message exceeds fixed limit of %llu octets",
		      (unsigned long long)s->cfg->max_message_size);
	} else if (m->bare_cr || m->bare_lf) {
		spool_discard(&s->spool);
		reply(s, 554, "5.6.0", "Message refused: bare %s in text (RFC 5321 2.3.8)",
		      m->bare_cr ? "CR" : "LF");
	} else if (m->received_headers > HOP_LIMIT) {
		spool_discard(&s->spool);
		say(s, R_TOO_MANY_HOPS);
	} else if (spool_loops(&s->spool, &s->tx)) {
		/* our Delivered-To for an alias it is addressed to: it went round */
		spool_discard(&s->spool);
		log_event(LOG_LEVEL_INFO, "loop", "msgid", s->spool.id, "reason", "Delivered-To", NULL);
		reply(s, 554, "5.4.6", "Mail loop: already delivered to an alias of this message");
	} else if (target_command_mode(s->cfg) && !s->spool.error) {
		finish_by_command(s, tr);
	} else if (s->spool.error || spool_commit(&s->spool, &s->tx, tr) < 0) {
		int err = s->spool.error ? s->spool.error : errno;
		spool_discard(&s->spool);
		log_event(LOG_LEVEL_ERROR, "store-failed", "msgid", s->spool.id, "path", s->spool.path,
		          "error", strerror(err), NULL);
		reply_store_error(s, err, err == ENOSPC || err == EDQUOT ? "Insufficient system storage"
		                                                      : "Local error in processing");
	} else {
		snprintf(size, sizeof size, "%llu", (unsigned long long)s->spool.size);
		char nrcpt[16];
		snprintf(nrcpt, sizeof nrcpt, "%zu", s->tx.n_rcpts);
		log_event(LOG_LEVEL_INFO, "message", "msgid", s->spool.id, "size", size,
		          "nrcpt", nrcpt, "from", s->tx.sender,
		          s->authenticated ? "auth" : NULL, s->auth_login, NULL);
		s->messages++;
		reply(s, 250, "2.0.0", "Ok: queued as %s", s->spool.id);
	}
	transaction_reset(s);
}

/* DATA in the wrong state. */
static void refuse_data(struct session *s)
{
	say(s, s->state == STATE_MAIL ? R_NO_RCPTS : R_MAIL_FIRST_DATA);
}

static bool check_data(struct session *s, const char *arg)
{
	if (*arg) {
		say(s, R_DATA_ARGUMENT);
		return false;
	}
	return true;
}

static void proceed_data(struct session *s, const char *arg)
{
	struct data_machine m;
	char with[16];
	struct trace tr = { s->helo, s->peer.addr, s->peer.local, protocol(s, with, sizeof with),
	                    s->tls_active ? s->tls_info : NULL, s->id };

	(void)arg;
	if (spool_open(&s->spool, &s->stores, &s->tx, &tr, s->cfg->max_message_size) < 0) {
		int err = errno;
		spool_discard(&s->spool);
		reply_store_error(s, err, "Cannot store message now, try again later");
		return;
	}
	say(s, R_START_DATA);
	s->state = STATE_DATA;
	enum stream_status st = receive_data(s, &m);
	if (st != STREAM_OK) {
		spool_discard(&s->spool);          /* nothing of it is kept */
		log_event(LOG_LEVEL_INFO, "data-aborted", "msgid", s->spool.id,
		          "reason", st == STREAM_TIMEOUT ? "timeout" : "disconnect", NULL);
		s->close = close_reason_of(st);
		return;
	}
	finish_message(s, &m, &tr);
}

/* ---- AUTH (RFC 4954) --------------------------------------------------- */

/* A failed attempt costs the client a pause before the answer, so that
 * guessing passwords on one connection is slow (it also counts toward
 * max_errors, as every 5xx does). */
static void auth_pause(void)
{
	struct timespec t = { AUTH_FAILURE_PAUSE_MS / 1000, (AUTH_FAILURE_PAUSE_MS % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* The exchange is over: nothing of the credentials stays in memory. */
static void auth_end(struct session *s, const char *result)
{
	log_event(LOG_LEVEL_INFO, "auth", "mechanism", s->auth_mechanism, "result", result,
	          s->authenticated ? "auth" : NULL, s->auth_login, NULL);
	explicit_bzero(&s->creds, sizeof s->creds);
	s->auth_mechanism = NULL;
}

static void auth_fail(struct session *s, const char *result, enum canned r)
{
	auth_end(s, result);
	if (r != R_AUTH_CANCELLED)
		auth_pause();
	say(s, r);
}

/* A decoding that is not SASL_OK ends the exchange: say how. */
static void auth_refuse(struct session *s, enum sasl_result r)
{
	if (r == SASL_CANCEL)
		auth_fail(s, "cancelled", R_AUTH_CANCELLED);
	else if (r == SASL_BAD_BASE64)
		auth_fail(s, "bad-base64", R_AUTH_BAD_BASE64);
	else
		auth_fail(s, "failed", R_AUTH_FAILED);   /* malformed: as a wrong password */
}

/* Both fields are in: ask the back end. */
static void auth_verify(struct session *s)
{
	/* capture (a developer's mail catcher): any login succeeds */
	enum auth_verdict v = target_capture_mode(s->cfg) ? AUTH_GRANTED
	    : auth_check(s->cfg, s->creds.login, s->creds.password, s->tls_active, s->peer.addr);
	if (v == AUTH_GRANTED) {
		s->authenticated = true;
		memcpy(s->auth_login, s->creds.login, sizeof s->auth_login);
		auth_end(s, "ok");
		say(s, R_AUTH_OK);
	} else if (v == AUTH_DENIED) {
		auth_fail(s, "failed", R_AUTH_FAILED);
	} else {
		auth_end(s, "unavailable");
		say(s, R_AUTH_UNAVAILABLE);
	}
}

static void auth_login_password_line(struct session *s, char *line, size_t len);

static void auth_step(struct session *s, enum sasl_step step, const char *line, size_t len)
{
	enum sasl_result r = sasl_decode(step, line, len, &s->creds);

	if (r != SASL_OK)
		auth_refuse(s, r);
	else if (step == SASL_LOGIN_USER) {
		say(s, R_AUTH_PASSWORD);
		s->on_line = auth_login_password_line;
	} else
		auth_verify(s);
}

/* The answers to a 334, in line mode (not commands, not logged). */
static void auth_plain_line(struct session *s, char *line, size_t len)
{
	auth_step(s, SASL_PLAIN, line, len);
}

static void auth_login_user_line(struct session *s, char *line, size_t len)
{
	auth_step(s, SASL_LOGIN_USER, line, len);
}

static void auth_login_password_line(struct session *s, char *line, size_t len)
{
	auth_step(s, SASL_LOGIN_PASSWORD, line, len);
}

/* AUTH in a transaction or before EHLO (RFC 4954 4). */
static void refuse_auth(struct session *s)
{
	say(s, R_BAD_SEQUENCE);
}

static bool check_auth(struct session *s, const char *arg)
{
	bool capture = target_capture_mode(s->cfg);

	if (!auth_configured(s->cfg) && !capture)
		say(s, R_AUTH_NOT_OFFERED);
	else if (s->authenticated)
		say(s, R_AUTH_AGAIN);
	else if (s->cfg->auth_require_tls && !s->tls_active && !capture)
		say(s, R_AUTH_NEEDS_TLS);
	else if (*arg == '\0')
		say(s, R_AUTH_SYNTAX);
	else
		return true;
	return false;
}

/* "AUTH PLAIN|LOGIN [initial-response]": "=" is an empty one (RFC 4954 4). */
static void proceed_auth(struct session *s, const char *arg)
{
	size_t mech_len = strcspn(arg, " ");
	const char *initial = arg[mech_len] == ' ' ? arg + mech_len + 1 : NULL;
	bool plain = mech_len == 5 && strncasecmp(arg, "PLAIN", 5) == 0;
	bool login = mech_len == 5 && strncasecmp(arg, "LOGIN", 5) == 0;

	if (!plain && !login) {
		say(s, R_AUTH_MECHANISM);
		return;
	}
	/* a password may sit in this process for a moment: no core file */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_event(LOG_LEVEL_ERROR, "prctl", "error", strerror(errno), NULL);
	s->auth_mechanism = plain ? "PLAIN" : "LOGIN";
	if (initial)
		auth_step(s, plain ? SASL_PLAIN : SASL_LOGIN_USER, initial, strlen(initial));
	else if (plain) {
		say(s, R_AUTH_PLAIN_GO);
		s->on_line = auth_plain_line;
	} else {
		say(s, R_AUTH_USERNAME);
		s->on_line = auth_login_user_line;
	}
}

/* ---- the rest --------------------------------------------------------- */

static void proceed_rset(struct session *s, const char *arg)
{
	(void)arg;
	transaction_reset(s);
	say(s, R_DONE);
}

static void proceed_noop(struct session *s, const char *arg)
{
	(void)arg;
	say(s, R_DONE);
}

static void proceed_quit(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, 221, "2.0.0", "%s closing connection", s->cfg->hostname);
	s->close = CLOSE_QUIT;
}

static void proceed_help(struct session *s, const char *arg)
{
	(void)arg;
	say(s, R_HELP);
}

static bool check_vrfy(struct session *s, const char *arg)
{
	if (*arg == '\0') {
		say(s, R_VRFY_SYNTAX);
		return false;
	}
	return true;
}

static void proceed_vrfy(struct session *s, const char *arg)
{
	(void)arg;
	say(s, R_VRFY);
}

static void proceed_expn(struct session *s, const char *arg)
{
	(void)arg;
	say(s, R_NO_EXPN);
}

/* ---- STARTTLS (RFC 3207) ------------------------------------------------ */

static SSL_CTX *server_ctx;      /* loaded once per process, at first need */

/* The server's TLS context: loaded at the first STARTTLS (or at connect
 * with tls_wrapper), or before forking by the listening parent. */
static SSL_CTX *tls_context(const struct config *cfg)
{
	char err[300];

	if (!server_ctx) {
		server_ctx = tls_server_ctx(cfg->tls_cert, cfg->tls_key, err, sizeof err);
		if (!server_ctx)
			log_event(LOG_LEVEL_ERROR, "tls-unavailable", "error", err, NULL);
	}
	return server_ctx;
}

int session_tls_preload(const struct config *cfg)
{
	if (!cfg->tls_cert[0] || !cfg->tls_key[0])
		return 0;
	return tls_context(cfg) ? 0 : -1;
}

/* The handshake on the session's connection; then nothing said before
 * counts (RFC 3207 4.2): no HELO/EHLO, no sender, no recipients, no AUTH. */
static bool tls_begin(struct session *s)
{
	char err[300];
	size_t dropped;

	(void)stream_input(&s->io, &dropped);
	if (dropped > 0) {                          /* CVE-2011-0411 */
		char n[24];
		snprintf(n, sizeof n, "%zu", dropped);
		log_event(LOG_LEVEL_INFO, "tls-dropped-input", "octets", n, NULL);
	}
	if (tls_start(&s->io, server_ctx, true, NULL, err, sizeof err) < 0) {
		log_event(LOG_LEVEL_INFO, "tls-failed", "error", err, NULL);
		s->close = CLOSE_TLS_FAILED;
		return false;
	}
	s->tls_active = true;
	s->authenticated = false;
	s->auth_login[0] = '\0';
	s->state = STATE_GREETING;
	s->helo[0] = '\0';
	s->esmtp = false;
	transaction_reset(s);
	snprintf(s->tls_info, sizeof s->tls_info, "%s %s", tls_version(&s->io), tls_cipher(&s->io));
	log_event(LOG_LEVEL_INFO, "tls", "tls", tls_version(&s->io), "cipher", tls_cipher(&s->io), NULL);
	return true;
}

static bool check_starttls(struct session *s, const char *arg)
{
	if (*arg) {
		say(s, R_TLS_ARGUMENT);
		return false;
	}
	if (s->tls_active) {
		say(s, R_TLS_ACTIVE);
		return false;
	}
	if (!s->cfg->tls_cert[0] || !s->cfg->tls_key[0]) {
		say(s, R_TLS_NOT_CONFIGURED);
		return false;
	}
	if (!tls_context(s->cfg)) {
		say(s, R_TLS_UNAVAILABLE);
		return false;
	}
	return true;
}

/* 220, sent before the handshake; what the client pipelined after the
 * STARTTLS line is thrown away by tls_start (never executed). */
static void proceed_starttls(struct session *s, const char *arg)
{
	(void)arg;
	say(s, R_TLS_READY);
	if (stream_flush(&s->io) != STREAM_OK) {
		s->close = CLOSE_IO_ERROR;
		return;
	}
	tls_begin(s);
}

#ifdef SESSION_TEST_VERBS
/* Test builds only (tests/unit/test_session.c): XLINE puts the session in
 * line mode, as AUTH's 334 will, and the next line is echoed back. */
static void echo_line(struct session *s, char *line, size_t len)
{
	reply(s, 250, "2.0.0", "Line %.*s", (int)(len > 64 ? 64 : len), line);
}

static void proceed_xline(struct session *s, const char *arg)
{
	(void)arg;
	s->on_line = echo_line;
	reply(s, 334, NULL, "Go ahead");
}
#endif

/* ---- the command table ------------------------------------------------ */

#define VERB(v) v, sizeof v - 1

/* A verb is allowed in the states of its row; elsewhere its refuse()
 * answers (none: 503 Bad sequence).  An allowed command is checked (check()
 * replies and returns false on error; none: nothing to check), then acted
 * on. */
static const struct command {
	char verb[12];
	size_t verb_len;
	unsigned states;
	void (*refuse)(struct session *s);
	bool (*check)(struct session *s, const char *arg);
	void (*proceed)(struct session *s, const char *arg);
	bool secret;               /* after its first word, the argument is not logged */
} commands[] = {
	{ VERB("HELO"), ANY_STATE, NULL, check_helo, proceed_helo, false },
	{ VERB("EHLO"), ANY_STATE, NULL, check_ehlo, proceed_ehlo, false },
	{ VERB("MAIL"), IN(STATE_READY), refuse_mail, check_mail, proceed_mail, false },
	{ VERB("RCPT"), IN(STATE_MAIL) | IN(STATE_RCPT), refuse_rcpt_state, check_rcpt, proceed_rcpt, false },
	{ VERB("DATA"), IN(STATE_RCPT), refuse_data, check_data, proceed_data, false },
	{ VERB("RSET"), ANY_STATE, NULL, NULL, proceed_rset, false },
	{ VERB("NOOP"), ANY_STATE, NULL, NULL, proceed_noop, false },
	{ VERB("QUIT"), ANY_STATE, NULL, NULL, proceed_quit, false },
	{ VERB("HELP"), ANY_STATE, NULL, NULL, proceed_help, false },
	{ VERB("VRFY"), ANY_STATE, NULL, check_vrfy, proceed_vrfy, false },
	{ VERB("EXPN"), ANY_STATE, NULL, NULL, proceed_expn, false },
	{ VERB("AUTH"), IN(STATE_READY), refuse_auth, check_auth, proceed_auth, true },
	{ VERB("STARTTLS"), IN(STATE_GREETING) | IN(STATE_READY), NULL, check_starttls, proceed_starttls, false },
#ifdef SESSION_TEST_VERBS
	{ VERB("XLINE"), ANY_STATE, NULL, NULL, proceed_xline, false },
#endif
};

static const struct command *command_find(const char *verb, size_t len)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].verb_len == len && strncasecmp(verb, commands[i].verb, len) == 0)
			return &commands[i];
	return NULL;
}

/* A command in a state its row does not allow (RFC 5321 4.1.4). */
static void refuse_out_of_order(struct session *s, const struct command *c)
{
	if (c->refuse)
		c->refuse(s);
	else
		say(s, R_BAD_SEQUENCE);
}

/* A command line: the verb up to the first space, then its argument. */
static void log_command(const char *line, size_t verb_len, const struct command *c)
{
	char shown[64];

	if (!c) {
		/* an unknown line may be a pipelined AUTH answer (a password):
		 * only a short verb, never the whole line */
		snprintf(shown, sizeof shown, "%.*s", (int)(verb_len < 16 ? verb_len : 16), line);
		log_event(LOG_LEVEL_DEBUG, "command", "text", shown, NULL);
		return;
	}
	if (!c->secret) {
		log_event(LOG_LEVEL_DEBUG, "command", "text", line, NULL);
		return;
	}
	/* "AUTH PLAIN": the initial response (a password) stays out;
	 * a bare "AUTH" has nothing after its terminator to scan */
	size_t n = verb_len + (line[verb_len] == ' ' ? 1 + strcspn(line + verb_len + 1, " ") : 0);
	snprintf(shown, sizeof shown, "%.*s", (int)(n < sizeof shown ? n : sizeof shown - 1), line);
	log_event(LOG_LEVEL_DEBUG, "command", "text", shown, NULL);
}

static void dispatch(struct session *s, char *line, size_t len)
{
	size_t verb_len = strcspn(line, " ");
	const struct command *c = command_find(line, verb_len);

	log_command(line, verb_len, c);
	if (memchr(line, '\0', len)) {
		say(s, R_NUL);
		return;
	}
	const char *arg = line + verb_len;
	if (*arg == ' ')
		arg++;
	/* trailing spaces are not part of an argument */
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	if (arg > line + len)
		arg = line + len;
	if (!c)
		say(s, R_UNKNOWN_COMMAND);
	else if (!(c->states & IN(s->state)))
		refuse_out_of_order(s, c);
	else if (!c->check || c->check(s, arg))
		c->proceed(s, arg);
}

/* ---- the session ------------------------------------------------------ */

/* What each close reason logs, answers last and exits with. */
static const struct close_row {
	char name[16];
	int status;
	int code;                  /* 0: nothing more to say */
	char ecode[6], text[40];   /* the text follows the host name */
} close_reasons[] = {
	[CLOSE_QUIT] = { "quit", 0, 0, "", "" },
	[CLOSE_EOF] = { "eof", 0, 0, "", "" },
	[CLOSE_TIMEOUT] = { "timeout", 0, 421, "4.4.2", "Timeout, closing connection" },
	[CLOSE_IO_ERROR] = { "io-error", 1, 0, "", "" },
	[CLOSE_TOO_MANY_ERRORS] = { "too-many-errors", 0, 421, "4.7.0", "Too many errors, closing connection" },
	[CLOSE_NO_MEMORY] = { "out-of-memory", 1, 0, "", "" },
	[CLOSE_TLS_FAILED] = { "tls-failed", 0, 0, "", "" },
	[CLOSE_TLS_UNAVAILABLE] = { "tls-unavailable", 1, 0, "", "" },
};

static void make_session_id(char *buf, size_t size)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(buf, size, "%llx%05lx%lx", (unsigned long long)tv.tv_sec & 0xffffff,
	         (long)tv.tv_usec, (long)getpid());
}

static void session_close(struct session *s, enum close_reason reason)
{
	char messages[16], rcpts[16], errors[16];

	snprintf(messages, sizeof messages, "%u", s->messages);
	snprintf(rcpts, sizeof rcpts, "%u", s->rcpts_accepted);
	snprintf(errors, sizeof errors, "%u", s->errors);
	log_event(LOG_LEVEL_INFO, "disconnect", "reason", close_reasons[reason].name, "messages", messages,
	          "rcpts", rcpts, "errors", errors, "tls", s->tls_active ? tls_version(&s->io) : "none",
	          "cipher", s->tls_active ? tls_cipher(&s->io) : "none", NULL);
	spool_discard(&s->spool);
	stores_close(&s->stores);
	free(s->tx.rcpts);
	free(s->tx.aliases);
}

/* Read lines and hand each to on_line until the session must end. */
static void command_loop(struct session *s)
{
	char line[COMMAND_MAX + 1];

	while (s->close == CLOSE_NONE) {
		size_t len;
		enum stream_status st = stream_read_line(&s->io, line, COMMAND_MAX, &len);
		if (st == STREAM_TOO_LONG) {
			if (s->auth_mechanism)
				auth_end(s, "line-too-long");
			s->on_line = dispatch;      /* ends line mode too */
			say(s, R_LINE_TOO_LONG);
		} else if (st == STREAM_OK) {
			line_handler *handle = s->on_line;
			s->on_line = dispatch;      /* line mode lasts one line */
			handle(s, line, len);
			explicit_bzero(line, len);  /* it may have been a password */
		} else {
			s->close = close_reason_of(st);
			return;
		}
		if (s->close == CLOSE_NONE && s->errors > s->cfg->max_errors)
			s->close = CLOSE_TOO_MANY_ERRORS;
	}
}

int session_run(const struct config *cfg, int in, int out)
{
	return session_run_with(cfg, &stream_plain, NULL, in, out);
}

int session_run_with(const struct config *cfg, const struct stream_backend *backend, void *ctx,
                     int in, int out)
{
	static struct session session;    /* large buffers: not on the stack */
	static bool used;
	struct session *s = &session;

	/* Static storage starts zeroed: clearing its ~100 KiB of buffers again
	 * cost 0.1 M instructions and a page fault per 4 KiB in every
	 * process (one session per process; a second call still clears). */
	if (used)
		memset(s, 0, sizeof *s);
	used = true;
	s->cfg = cfg;
	s->state = STATE_GREETING;
	s->close = CLOSE_NONE;
	s->on_line = dispatch;
	s->spool.fd = -1;
	stream_init(&s->io, backend, ctx, in, out, cfg->timeout);
	stores_init(&s->stores, cfg);
	peer_detect(&s->peer, cfg);
	make_session_id(s->id, sizeof s->id);
	log_set_context("session", s->id);
	log_event(LOG_LEVEL_INFO, "connect", "peer", s->peer.addr,
	          "relay", s->peer.may_relay ? "yes" : "no", NULL);
	/* only tx.rcpts[0 .. n_rcpts) is ever read: no need to clear it */
	s->tx.rcpts = malloc(cfg->max_recipients * sizeof *s->tx.rcpts);
	s->tx.cap = cfg->max_recipients;
	if (!s->tx.rcpts) {
		say(s, R_NO_MEMORY);
		stream_flush(&s->io);
		return close_reasons[CLOSE_NO_MEMORY].status;
	}
	/* SMTPS (RFC 8314 3.3): the handshake comes before the greeting. */
	if (cfg->tls_wrapper && !tls_context(cfg))
		s->close = CLOSE_TLS_UNAVAILABLE;
	else if (cfg->tls_wrapper)
		tls_begin(s);
	if (s->close == CLOSE_NONE)     /* RFC 2034: no enhanced code in the greeting */
		reply(s, 220, NULL, "%s ESMTP mailsock", cfg->hostname);

	command_loop(s);
	enum close_reason reason = s->close;
	const struct close_row *r = &close_reasons[reason];
	if (r->code)
		reply(s, r->code, r->ecode, "%s %s", cfg->hostname, r->text);
	if (stream_flush(&s->io) != STREAM_OK && reason != CLOSE_EOF)
		reason = CLOSE_IO_ERROR;
	session_close(s, reason);
	stream_close_backend(&s->io);
	return close_reasons[reason].status;
}
