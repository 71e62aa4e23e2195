/* session.c - one ESMTP session (RFC 5321).
 *
 * A table of commands; each command checks its preconditions (replying on
 * error) and then acts.  All replies go through reply(), which adds the
 * enhanced status code (RFC 3463) and counts refusals. */
#include "session.h"
#include "address.h"
#include "data.h"
#include "delivery.h"
#include "log.h"
#include "stream.h"
#include "peer.h"
#include "target.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#define COMMAND_MAX 512        /* RFC 5321 4.5.3.1.4, CR LF included */
#define HOP_LIMIT 100          /* RFC 5321 6.3: more Received fields is a loop */

struct session {
	const struct config *cfg;
	struct stream io;
	struct peer peer;
	struct stores stores;
	char id[32];
	char helo[256];
	bool greeted;              /* HELO or EHLO seen */
	bool esmtp;
	bool in_mail;              /* MAIL accepted, transaction open */
	const char *close_reason;  /* set when the session must end */
	unsigned errors;
	unsigned messages;
	unsigned rcpts_accepted;
	struct transaction tx;
	struct spool spool;
};

/* ---- replies ---------------------------------------------------------- */

static void send_line(struct session *s, const char *line, size_t len)
{
	log_event(LOG_LEVEL_DEBUG, "reply", "text", line, NULL);
	stream_put(&s->io, line, len);
	stream_put(&s->io, "\r\n", 2);
}

/* "CODE X.Y.Z text", or "CODE text" with no ecode: the one way a command
 * is answered. */
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
	if (code >= 400)
		s->errors++;
	send_line(s, line, strlen(line));
}

/* One line of a multi-line reply ("CODE-text"), as in the EHLO reply. */
static void reply_continued(struct session *s, int code, const char *text)
{
	char line[600];
	int n = snprintf(line, sizeof line, "%d-%s", code, text);

	send_line(s, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* ---- the transaction -------------------------------------------------- */

static void transaction_reset(struct session *s)
{
	s->in_mail = false;
	s->tx.sender[0] = '\0';
	s->tx.smtputf8 = false;
	s->tx.body_8bit = false;
	s->tx.n_rcpts = 0;
}

static const char *protocol(const struct session *s)
{
	if (s->tx.smtputf8)
		return "UTF8SMTP";                  /* RFC 6531 3.7.3 */
	return s->esmtp ? "ESMTP" : "SMTP";
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

static bool check_helo(struct session *s, const char *verb, const char *arg)
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

static void greet(struct session *s, const char *arg, bool esmtp)
{
	memcpy(s->helo, arg, strlen(arg) + 1);
	s->greeted = true;
	s->esmtp = esmtp;
	transaction_reset(s);       /* RFC 5321 4.1.4: like RSET */
	log_event(LOG_LEVEL_INFO, "helo", "name", s->helo, "esmtp", esmtp ? "yes" : "no", NULL);
}

static void cmd_helo(struct session *s, const char *arg)
{
	if (!check_helo(s, "HELO", arg))
		return;
	greet(s, arg, false);
	char line[CONFIG_NAME_MAX + 8];
	int n = snprintf(line, sizeof line, "250 %s", s->cfg->hostname);
	send_line(s, line, (size_t)n);
}

static void cmd_ehlo(struct session *s, const char *arg)
{
	char line[128];

	if (!check_helo(s, "EHLO", arg))
		return;
	greet(s, arg, true);
	snprintf(line, sizeof line, "%.64s greets %.48s", s->cfg->hostname, arg);
	reply_continued(s, 250, line);
	reply_continued(s, 250, "PIPELINING");
	snprintf(line, sizeof line, "SIZE %llu", (unsigned long long)s->cfg->max_message_size);
	reply_continued(s, 250, line);
	reply_continued(s, 250, "8BITMIME");
	reply_continued(s, 250, "ENHANCEDSTATUSCODES");
	send_line(s, "250 SMTPUTF8", 12);
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
				reply(s, 501, "5.5.4", "Bad SIZE parameter");
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
				reply(s, 501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
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
		reply(s, 501, "5.5.4", "Syntax error in parameters");
		return false;
	}
	return true;
}

static void cmd_mail(struct session *s, const char *arg)
{
	const char *path = after_keyword(arg, "FROM:");
	struct mailbox mb;
	size_t used;

	if (!s->greeted) {
		reply(s, 503, "5.5.1", "Say HELO or EHLO first");
		return;
	}
	if (s->in_mail) {
		reply(s, 503, "5.5.1", "Sender already given");
		return;
	}
	if (!path) {
		reply(s, 501, "5.5.2", "Syntax: MAIL FROM:<address>");
		return;
	}
	enum addr_status st = path_parse(path, strlen(path), true, &mb, &used);
	if (st == ADDR_SYNTAX) {
		reply(s, 501, "5.5.2", "Syntax: MAIL FROM:<address>");
		return;
	}
	if (st != ADDR_OK && st != ADDR_NULL) {
		reply(s, st == ADDR_LOCAL_TOO_LONG ? 553 : 501, "5.1.7", "Bad sender address syntax");
		return;
	}
	transaction_reset(s);
	if (!mail_params(s, path + used, path + strlen(path))) {
		transaction_reset(s);
		return;
	}
	if (st == ADDR_OK)
		mailbox_format(&mb, s->tx.sender, sizeof s->tx.sender);
	if (!s->tx.smtputf8 && !string_is_ascii(s->tx.sender)) {
		reply(s, 553, "5.6.7", "Non-ASCII sender needs SMTPUTF8");
		transaction_reset(s);
		return;
	}
	s->in_mail = true;
	log_event(LOG_LEVEL_INFO, "mail", "from", s->tx.sender, NULL);
	reply(s, 250, "2.1.0", "Sender <%s> OK", s->tx.sender);
}

/* ---- RCPT ------------------------------------------------------------- */

static void refuse_rcpt(struct session *s, const char *to, const char *reason,
                        int code, const char *ecode, const char *text)
{
	log_event(LOG_LEVEL_INFO, "rcpt", "to", to, "result", "refused", "reason", reason, NULL);
	reply(s, code, ecode, "%s", text);
}

/* How each target verdict is answered (indexed by enum target_verdict). */
static const struct refusal {
	const char *reason;
	int code;
	const char *ecode;
	const char *text;
} refusals[] = {
	[TARGET_UNKNOWN_USER] = { "unknown-user", 550, "5.1.1", "No such user here" },
	[TARGET_BAD_LOCAL] = { "bad-local-part", 553, "5.1.3", "Mailbox name not allowed" },
	[TARGET_RELAY_DENIED] = { "relay-denied", 554, "5.7.1", "Relay access denied" },
	[TARGET_ROUTE_DENIED] = { "source-route", 554, "5.7.1", "Source routes are not accepted" },
	[TARGET_TEMPFAIL] = { "local-trouble", 451, "4.3.0", "Mailbox unavailable, try again later" },
};

/* Parse "TO:<path>" (or the bare "<postmaster>") into a target. */
static bool rcpt_target(struct session *s, const char *path, struct target *t)
{
	struct mailbox mb;
	size_t used;
	enum target_verdict v;

	if (strncasecmp(path, "<postmaster>", 12) == 0) {
		used = 12;
		v = target_postmaster(&s->stores, t);
	} else {
		enum addr_status st = path_parse(path, strlen(path), s->tx.smtputf8, &mb, &used);
		switch (st) {
		case ADDR_OK:
			break;
		case ADDR_NEEDS_UTF8:
			refuse_rcpt(s, path, "needs-smtputf8", 553, "5.6.7", "Non-ASCII recipient needs SMTPUTF8");
			return false;
		case ADDR_LOCAL_TOO_LONG:
		case ADDR_BAD_LOCAL:
		case ADDR_BAD_DOMAIN:
			refuse_rcpt(s, path, "syntax", 553, "5.1.3", "Bad recipient address syntax");
			return false;
		default:
			refuse_rcpt(s, path, "syntax", 501, "5.5.2", "Syntax: RCPT TO:<address>");
			return false;
		}
		v = target_resolve(&s->stores, s->peer.may_relay, &mb, t);
	}
	const char *rest = path + used;
	while (*rest == ' ')
		rest++;
	if (*rest) {
		refuse_rcpt(s, path, "parameter", 555, "5.5.4", "RCPT parameters not supported");
		return false;
	}
	if (v == TARGET_OK)
		return true;
	const struct refusal *r = &refusals[v];
	refuse_rcpt(s, t->address, r->reason, r->code, r->ecode, r->text);
	return false;
}

static bool already_listed(const struct session *s, const struct target *t)
{
	for (size_t i = 0; i < s->tx.n_rcpts; i++)
		if (target_same(&s->tx.rcpts[i], t))
			return true;
	return false;
}

static void cmd_rcpt(struct session *s, const char *arg)
{
	const char *path = after_keyword(arg, "TO:");
	struct target t;

	if (!s->in_mail) {
		reply(s, 503, "5.5.1", "Need MAIL before RCPT");
		return;
	}
	if (!path) {
		reply(s, 501, "5.5.2", "Syntax: RCPT TO:<address>");
		return;
	}
	if (s->tx.n_rcpts >= s->cfg->max_recipients) {
		reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	if (!rcpt_target(s, path, &t))
		return;
	if (!already_listed(s, &t))
		s->tx.rcpts[s->tx.n_rcpts++] = t;
	s->rcpts_accepted++;
	log_event(LOG_LEVEL_INFO, "rcpt", "to", t.address, "result", "accepted",
	          "target", t.kind == TARGET_QUEUE ? "queue" : t.dir, NULL);
	reply(s, 250, "2.1.5", "Recipient <%s> OK", t.address);
}

/* ---- DATA ------------------------------------------------------------- */

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
		reply(s, 554, "5.4.6", "Too many hops (mail loop?)");
	} else if (s->spool.error || spool_commit(&s->spool, &s->tx, tr) < 0) {
		int err = s->spool.error ? s->spool.error : errno;
		spool_discard(&s->spool);
		log_event(LOG_LEVEL_ERROR, "store-failed", "msgid", s->spool.id, "path", s->spool.path,
		          "error", strerror(err), NULL);
		if (err == ENOSPC || err == EDQUOT)
			reply(s, 452, "4.3.1", "Insufficient system storage");
		else
			reply(s, 451, "4.3.0", "Local error in processing");
	} else {
		snprintf(size, sizeof size, "%llu", (unsigned long long)s->spool.size);
		char nrcpt[16];
		snprintf(nrcpt, sizeof nrcpt, "%zu", s->tx.n_rcpts);
		log_event(LOG_LEVEL_INFO, "message", "msgid", s->spool.id, "size", size,
		          "nrcpt", nrcpt, "from", s->tx.sender, NULL);
		s->messages++;
		reply(s, 250, "2.0.0", "Ok: queued as %s", s->spool.id);
	}
	transaction_reset(s);
}

static void cmd_data(struct session *s, const char *arg)
{
	struct data_machine m;
	struct trace tr = { s->helo, s->peer.addr, s->peer.local, protocol(s) };

	if (!s->in_mail) {
		reply(s, 503, "5.5.1", "Need MAIL command");
		return;
	}
	if (s->tx.n_rcpts == 0) {
		reply(s, 554, "5.5.1", "No valid recipients");
		return;
	}
	if (*arg) {
		reply(s, 501, "5.5.4", "DATA takes no parameters");
		return;
	}
	if (spool_open(&s->spool, &s->stores, &s->tx, &tr, s->cfg->max_message_size) < 0) {
		int err = errno;
		spool_discard(&s->spool);
		reply(s, err == ENOSPC || err == EDQUOT ? 452 : 451, err == ENOSPC || err == EDQUOT ? "4.3.1" : "4.3.0",
		      "Cannot store message now, try again later");
		return;
	}
	/* RFC 3463 codes belong on final replies: none on the intermediate 354 */
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	enum stream_status st = receive_data(s, &m);
	if (st != STREAM_OK) {
		spool_discard(&s->spool);          /* nothing of it is kept */
		log_event(LOG_LEVEL_INFO, "data-aborted", "msgid", s->spool.id,
		          "reason", st == STREAM_TIMEOUT ? "timeout" : "disconnect", NULL);
		s->close_reason = st == STREAM_TIMEOUT ? "timeout" : st == STREAM_EOF ? "eof" : "io-error";
		return;
	}
	finish_message(s, &m, &tr);
}

/* ---- the rest --------------------------------------------------------- */

static void cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	transaction_reset(s);
	reply(s, 250, "2.0.0", "Ok");
}

static void cmd_noop(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, 250, "2.0.0", "Ok");
}

static void cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, 221, "2.0.0", "%s closing connection", s->cfg->hostname);
	s->close_reason = "quit";
}

static void cmd_help(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
}

static void cmd_vrfy(struct session *s, const char *arg)
{
	if (*arg == '\0') {
		reply(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: no address harvesting, but no refusal either */
	reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct session *s, const char *arg)
{
	(void)arg;
	reply(s, 502, "5.5.1", "EXPN not available");
}

struct command {
	const char *verb;
	void (*run)(struct session *s, const char *arg);
};

static const struct command commands[] = {
	{ "HELO", cmd_helo }, { "EHLO", cmd_ehlo }, { "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt }, { "DATA", cmd_data }, { "RSET", cmd_rset },
	{ "NOOP", cmd_noop }, { "QUIT", cmd_quit }, { "HELP", cmd_help },
	{ "VRFY", cmd_vrfy }, { "EXPN", cmd_expn },
};

static void dispatch(struct session *s, char *line, size_t len)
{
	if (memchr(line, '\0', len)) {
		reply(s, 500, "5.5.2", "NUL character in command");
		return;
	}
	size_t verb_len = strcspn(line, " ");
	const char *arg = line + verb_len;
	if (*arg == ' ')
		arg++;
	/* trailing spaces are not part of an argument */
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (verb_len == 4 && strncasecmp(line, commands[i].verb, 4) == 0) {
			commands[i].run(s, arg > line + len ? line + len : arg);
			return;
		}
	reply(s, 500, "5.5.1", "Command unrecognized");
}

static void make_session_id(char *buf, size_t size)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(buf, size, "%llx%05lx%lx", (unsigned long long)tv.tv_sec & 0xffffff,
	         (long)tv.tv_usec, (long)getpid());
}

static void session_close(struct session *s, const char *reason)
{
	char messages[16], rcpts[16], errors[16];

	snprintf(messages, sizeof messages, "%u", s->messages);
	snprintf(rcpts, sizeof rcpts, "%u", s->rcpts_accepted);
	snprintf(errors, sizeof errors, "%u", s->errors);
	log_event(LOG_LEVEL_INFO, "disconnect", "reason", reason, "messages", messages,
	          "rcpts", rcpts, "errors", errors, NULL);
	spool_discard(&s->spool);
	stores_close(&s->stores);
	free(s->tx.rcpts);
}

/* Read and answer commands until the session must end; returns why. */
static const char *command_loop(struct session *s)
{
	char line[COMMAND_MAX + 1];

	while (!s->close_reason) {
		size_t len;
		enum stream_status st = stream_read_line(&s->io, line, COMMAND_MAX, &len);
		if (st == STREAM_TOO_LONG) {
			reply(s, 500, "5.5.2", "Line too long");
		} else if (st == STREAM_OK) {
			log_event(LOG_LEVEL_DEBUG, "command", "text", line, NULL);
			dispatch(s, line, len);
		} else {
			return st == STREAM_EOF ? "eof" : st == STREAM_TIMEOUT ? "timeout" : "io-error";
		}
		if (s->errors > s->cfg->max_errors && !s->close_reason) {
			reply(s, 421, "4.7.0", "%s Too many errors, closing connection", s->cfg->hostname);
			return "too-many-errors";
		}
	}
	return s->close_reason;
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
	if (!s->tx.rcpts) {
		send_line(s, "421 4.3.0 Out of memory", 23);
		stream_flush(&s->io);
		return 1;
	}
	/* RFC 2034: no enhanced code in the greeting */
	char greeting[CONFIG_NAME_MAX + 32];
	int n = snprintf(greeting, sizeof greeting, "220 %s ESMTP mailsock", cfg->hostname);
	send_line(s, greeting, (size_t)n);

	const char *reason = command_loop(s);
	if (strcmp(reason, "timeout") == 0)
		reply(s, 421, "4.4.2", "%s Timeout, closing connection", cfg->hostname);
	if (stream_flush(&s->io) != STREAM_OK && strcmp(reason, "eof") != 0)
		reason = "io-error";
	session_close(s, reason);
	return strcmp(reason, "io-error") == 0 ? 1 : 0;
}
