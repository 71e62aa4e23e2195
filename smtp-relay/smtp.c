/* smtp.c - deliver one message over SMTP (RFC 5321 client side).
 *
 * For each destination in turn: connect, greeting, EHLO (HELO when EHLO is
 * refused), MAIL, RCPT for up to 100 recipients still open, DATA, the
 * message (LF to CR LF, dot-stuffed); RSET and again for the recipients
 * left (over 100, or refused with 452); QUIT.  With PIPELINING the MAIL, RCPT and
 * DATA commands go out in one write.  A recipient that got 2xx or 5xx is
 * settled; one that got 4xx or met trouble is tried at the next
 * destination, and stays deferred when they are all used up -- except after
 * the whole message went out unanswered (hold()).
 *
 * LMTP (RFC 2033) is the same dialogue with LHLO for EHLO, and one reply
 * per accepted recipient after the final "." instead of one for all. */
#include "smtp.h"
#include "address.h"
#include "conn.h"
#include "log.h"
#include "tls.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* One open session with a receiving server (an MX, the smarthost, an LMTP
 * server), kept in the cache between messages. */
struct server {
	const struct config *cfg;
	const struct dest *dest;
	struct addr dest_addr;
	char addr[64];
	struct conn conn;
	bool pipelining, eightbit, smtputf8, size;
	bool starttls, auth_plain, auth_login;   /* offered in EHLO */
	bool clear_only;     /* a handshake failed with relay_tls = may: no STARTTLS */
	uint64_t max_size;
	bool in_sync;        /* every reply read: the next transaction may follow */
	bool lmtp;           /* an LMTP server (RFC 2033) */
};

#define CACHE_MAX 16

/* Recipients per transaction: every server takes 100 (RFC 5321 4.5.3.1.8). */
#define RCPTS_MAX 100

/* Open sessions kept between messages, ready for RSET and the next MAIL. */
struct client_cache {
	struct server *servers[CACHE_MAX];
	size_t n;
};

static bool open_rcpt(const struct job_rcpt *r)
{
	return !r->held && (r->result.outcome == OUT_NONE || r->result.outcome == OUT_TEMP);
}

static bool is_sent(const struct job_rcpt *r)
{
	return r->sent;
}

static bool is_accepted(const struct job_rcpt *r)
{
	return r->accepted;
}

static size_t count_open(const struct job *job)
{
	size_t k = 0;

	for (size_t i = 0; i < job->n; i++)
		k += open_rcpt(job->rcpts[i]);
	return k;
}

/* A reply the server sent: conn_reply() keeps its lines; trouble() below,
 * our own verdict, has none. */
static bool from_server(const struct reply *rep)
{
	return rep->code != 0 && rep->n_lines > 0;
}

/* Record what the server (or the trouble with it) said for one recipient. */
static void settle(struct server *p, struct job_rcpt *r, const struct reply *rep)
{
	struct result *res = &r->result;

	if (rep->code >= 200 && rep->code < 300)
		res->outcome = OUT_OK;
	else if (rep->code >= 500)
		res->outcome = OUT_PERM;
	else
		res->outcome = OUT_TEMP;
	res->code = rep->code ? rep->code : 451;
	snprintf(res->enh, sizeof res->enh, "%s", rep->enh[0] ? rep->enh
	         : res->outcome == OUT_OK ? "2.0.0" : res->outcome == OUT_PERM ? "5.0.0" : "4.4.2");
	snprintf(res->mta, sizeof res->mta, "%s", p->dest->host);
	snprintf(res->addr, sizeof res->addr, "%s", p->addr);
	snprintf(res->text, sizeof res->text, "%s%.500s", rep->code ? "" : "trouble: ", rep->text);
	res->remote = from_server(rep);
	const char *tls = tls_version(&p->conn.s);
	snprintf(res->tls, sizeof res->tls, "%s", tls ? tls : "none");
	char code[8];
	snprintf(code, sizeof code, "%d", res->code);
	log_event(LOG_LEVEL_INFO, "attempt", "rcpt", r->rcpt->address, "host", p->dest->host,
	          "addr", p->addr, "code", code, "enh", res->enh, "reply", res->text,
	          "tls", res->tls, NULL);
}

/* The same reply for every recipient that `which` picks (open_rcpt,
 * is_sent, is_accepted). */
static void settle_all(struct server *p, const struct job *job,
                       bool (*which)(const struct job_rcpt *), const struct reply *rep)
{
	for (size_t i = 0; i < job->n; i++)
		if (which(job->rcpts[i]))
			settle(p, job->rcpts[i], rep);
}

static void trouble(struct reply *rep, int code, const char *enh, const char *text)
{
	memset(rep, 0, sizeof *rep);
	rep->code = code;
	snprintf(rep->enh, sizeof rep->enh, "%s", enh);
	snprintf(rep->text, sizeof rep->text, "%.*s", (int)sizeof rep->text - 1, text);
}

static void command(struct server *p, const char *line, struct reply *rep, unsigned timeout)
{
	conn_puts(&p->conn, line, timeout);
	conn_puts(&p->conn, "\r\n", timeout);
	conn_flush(&p->conn, timeout);
	conn_reply(&p->conn, rep, timeout);
}

/* "AUTH PLAIN LOGIN ...": which of the two mechanisms we speak. */
static void read_auth(struct server *p, const char *mechs)
{
	char buf[80];

	snprintf(buf, sizeof buf, "%s", mechs);
	for (char *save = NULL, *m = strtok_r(buf, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
		if (strcasecmp(m, "PLAIN") == 0)
			p->auth_plain = true;
		else if (strcasecmp(m, "LOGIN") == 0)
			p->auth_login = true;
	}
}

static void read_extensions(struct server *p, const struct reply *rep)
{
	p->pipelining = p->eightbit = p->smtputf8 = p->size = false;
	p->starttls = p->auth_plain = p->auth_login = false;
	for (size_t i = 1; i < rep->n_lines; i++) {
		const char *kw = rep->lines[i];
		if (strcasecmp(kw, "STARTTLS") == 0)
			p->starttls = true;
		else if (strncasecmp(kw, "AUTH ", 5) == 0)
			read_auth(p, kw + 5);
		else if (strcasecmp(kw, "PIPELINING") == 0)
			p->pipelining = true;
		else if (strcasecmp(kw, "8BITMIME") == 0)
			p->eightbit = true;
		else if (strcasecmp(kw, "SMTPUTF8") == 0)
			p->smtputf8 = true;
		else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == ' ' || kw[4] == '\0')) {
			p->size = true;
			p->max_size = strtoull(kw + 4, NULL, 10);
		}
	}
}

/* EHLO (HELO when EHLO is refused), or LHLO (RFC 2033 4.1, which has no
 * fallback).  0 when the server is ready for MAIL. */
static int ehlo(struct server *p, struct reply *rep)
{
	const struct config *cfg = p->cfg;
	char line[300];

	snprintf(line, sizeof line, "%s %s", p->lmtp ? "LHLO" : "EHLO", cfg->hostname);
	command(p, line, rep, cfg->command_timeout);
	if (rep->code >= 200 && rep->code < 300) {
		read_extensions(p, rep);
		return 0;
	}
	if (rep->code < 500 || p->lmtp)
		return -1;
	snprintf(line, sizeof line, "HELO %s", cfg->hostname);
	command(p, line, rep, cfg->command_timeout);
	return rep->code >= 200 && rep->code < 300 ? 0 : -1;
}

/* Greeting and EHLO/HELO. */
static int hello(struct server *p, struct reply *rep)
{
	conn_reply(&p->conn, rep, p->cfg->greeting_timeout);
	if (rep->code < 200 || rep->code >= 300)
		return -1;
	return ehlo(p, rep);
}

/* ---- TLS and AUTH ------------------------------------------------------- */

/* What became of the TLS step: go on (under TLS or, as allowed, in clear),
 * start over in clear (relay_tls = may, the handshake failed), or give up
 * on this host (rep says why). */
enum tls_step { TLS_GO_ON, TLS_RETRY_CLEAR, TLS_GIVE_UP };

/* Is this session with the smarthost?  (An LMTP session is local delivery,
 * wherever the rest goes.) */
static bool to_smarthost(const struct server *p)
{
	return !p->lmtp && p->cfg->smarthost[0] != '\0';
}

/* The client contexts, made at first need: one that checks certificates
 * (relay_tls = verify), one that does not (may, encrypt: RFC 7435). */
static SSL_CTX *client_ctx(const struct config *cfg, char *err, size_t errlen)
{
	static SSL_CTX *ctx[2];
	bool verify = cfg->relay_tls == RELAY_TLS_VERIFY;

	if (!ctx[verify])
		ctx[verify] = tls_client_ctx(verify, cfg->tls_ca_file, err, errlen);
	return ctx[verify];
}

/* Handshake on the open connection, the name or address we connected to
 * sent as SNI and, with verify, checked against the certificate. */
static int handshake(struct server *p, char *err, size_t errlen)
{
	SSL_CTX *ctx = client_ctx(p->cfg, err, errlen);

	stream_set_timeout(&p->conn.s, p->cfg->command_timeout);
	if (!ctx || tls_start(&p->conn.s, ctx, false, p->dest->host, err, errlen) < 0) {
		p->conn.broken = true;
		return -1;
	}
	log_event(LOG_LEVEL_INFO, "tls", "host", p->dest->host, "addr", p->addr,
	          "tls", tls_version(&p->conn.s), "cipher", tls_cipher(&p->conn.s), NULL);
	return 0;
}

static bool tls_required(const struct server *p)
{
	return p->cfg->relay_tls >= RELAY_TLS_ENCRYPT || (to_smarthost(p) && p->cfg->smarthost_auth[0]);
}

/* STARTTLS (RFC 3207) when the server offers it and the policy wants it,
 * then EHLO again. */
static enum tls_step starttls(struct server *p, struct reply *rep)
{
	const struct config *cfg = p->cfg;
	char err[300], text[400];

	if (cfg->relay_tls == RELAY_TLS_NONE && !tls_required(p))
		return TLS_GO_ON;
	if (p->clear_only || p->lmtp)     /* LMTP: local delivery, our own server */
		return TLS_GO_ON;
	if (!p->starttls) {
		if (!tls_required(p))
			return TLS_GO_ON;
		trouble(rep, 451, "4.7.4", "TLS is required but the server does not offer STARTTLS");
		return TLS_GIVE_UP;
	}
	command(p, "STARTTLS", rep, cfg->command_timeout);
	if (rep->code != 220) {
		if (!tls_required(p) && rep->code != 0)
			return TLS_GO_ON;           /* it said no: still in step, in clear */
		snprintf(text, sizeof text, "STARTTLS refused: %d %.300s", rep->code, rep->text);
		trouble(rep, 451, "4.7.5", text);
		return TLS_GIVE_UP;
	}
	if (handshake(p, err, sizeof err) < 0) {
		bool clear = !tls_required(p);
		log_event(LOG_LEVEL_INFO, "tls-failed", "host", p->dest->host, "addr", p->addr,
		          "error", err, "then", clear ? "clear text" : "defer", NULL);
		snprintf(text, sizeof text, "TLS handshake failed: %.300s", err);
		trouble(rep, 451, "4.7.5", text);
		return clear ? TLS_RETRY_CLEAR : TLS_GIVE_UP;
	}
	return ehlo(p, rep) < 0 ? TLS_GIVE_UP : TLS_GO_ON;
}

/* The first line of smarthost_auth, "login:password", if the file is
 * ours alone (no access for group or others). */
static int read_secret(const char *path, char *login, size_t lsize, char *pass, size_t psize,
                       char *err, size_t errlen)
{
	char line[1024];
	struct stat st;
	FILE *f = fopen(path, "re");
	int rc = -1;

	if (!f) {
		snprintf(err, errlen, "smarthost_auth: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & 077)) {
		snprintf(err, errlen, "smarthost_auth: %s: must not be readable by group or others (chmod 600)", path);
	} else if (!fgets(line, sizeof line, f) || !strchr(line, ':')) {
		snprintf(err, errlen, "smarthost_auth: %s: expected one line login:password", path);
	} else {
		line[strcspn(line, "\r\n")] = '\0';
		char *colon = strchr(line, ':');
		*colon = '\0';
		if (strlen(line) < lsize && strlen(colon + 1) < psize && line[0]) {
			memcpy(login, line, strlen(line) + 1);
			memcpy(pass, colon + 1, strlen(colon + 1) + 1);
			rc = 0;
		} else {
			snprintf(err, errlen, "smarthost_auth: %s: login or password too long", path);
		}
	}
	explicit_bzero(line, sizeof line);
	fclose(f);
	return rc;
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 (RFC 4648 4) of in[0..len) into out, NUL-terminated. */
static void base64(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
		             (i + 2 < len ? in[i + 2] : 0);
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Send a secret line without logging it. */
static void secret_command(struct server *p, const char *line, struct reply *rep)
{
	command(p, line, rep, p->cfg->command_timeout);
}

/* AUTH PLAIN (RFC 4616) with an initial response, or LOGIN when the server
 * offers only that; 235 means done. */
static int authenticate(struct server *p, const char *login, const char *pass, struct reply *rep)
{
	unsigned char raw[600];
	char line[900], b64[820];
	size_t ll = strlen(login), pl = strlen(pass);
	int ok;

	if (p->auth_plain || !p->auth_login) {
		raw[0] = '\0';                    /* no authorization identity */
		memcpy(raw + 1, login, ll);
		raw[1 + ll] = '\0';
		memcpy(raw + 2 + ll, pass, pl);
		base64(raw, 2 + ll + pl, b64);
		snprintf(line, sizeof line, "AUTH PLAIN %s", b64);
		secret_command(p, line, rep);
	} else {
		command(p, "AUTH LOGIN", rep, p->cfg->command_timeout);
		if (rep->code == 334) {
			base64((const unsigned char *)login, ll, b64);
			secret_command(p, b64, rep);
		}
		if (rep->code == 334) {
			base64((const unsigned char *)pass, pl, b64);
			secret_command(p, b64, rep);
		}
	}
	ok = rep->code == 235 ? 0 : -1;
	explicit_bzero(raw, sizeof raw);
	explicit_bzero(line, sizeof line);
	explicit_bzero(b64, sizeof b64);
	return ok;
}

/* AUTH at the smarthost with the login of smarthost_auth, under TLS only. */
static int smarthost_login(struct server *p, struct reply *rep)
{
	const struct config *cfg = p->cfg;
	char login[256], pass[256], err[CONFIG_PATH_MAX + 100], text[400];

	if (!to_smarthost(p) || !cfg->smarthost_auth[0])
		return 0;
	if (!tls_version(&p->conn.s)) {
		trouble(rep, 451, "4.7.4", "AUTH at the smarthost needs TLS");
		return -1;
	}
	if (read_secret(cfg->smarthost_auth, login, sizeof login, pass, sizeof pass, err, sizeof err) < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "smarthost_auth", "error", err, NULL);
		trouble(rep, 451, "4.3.5", err);
		return -1;
	}
	int rc = authenticate(p, login, pass, rep);
	explicit_bzero(pass, sizeof pass);
	log_event(LOG_LEVEL_INFO, "auth", "host", p->dest->host, "login", login,
	          "mechanism", p->auth_plain || !p->auth_login ? "PLAIN" : "LOGIN",
	          "result", rc == 0 ? "ok" : "refused", NULL);
	if (rc < 0 && rep->code != 0) {
		snprintf(text, sizeof text, "smarthost refused AUTH: %d %.300s", rep->code, rep->text);
		trouble(rep, 451, "4.7.0", text);   /* our login: the mail waits, never bounces */
	}
	return rc;
}

static bool needs_utf8(const struct job *job)
{
	if (!string_is_ascii(job->msg->sender))
		return true;
	for (size_t i = 0; i < job->n; i++)
		if (open_rcpt(job->rcpts[i]) && !string_is_ascii(job->rcpts[i]->rcpt->address))
			return true;
	return false;
}

static void mail_command(const struct server *p, const struct message *msg, bool utf8,
                         char *line, size_t size)
{
	int len = snprintf(line, size, "MAIL FROM:<%s>", msg->sender);

	if (p->size && len > 0 && (size_t)len < size)
		len += snprintf(line + len, size - (size_t)len, " SIZE=%llu",
		                (unsigned long long)msg->size);
	if (msg->body_8bit && p->eightbit && len > 0 && (size_t)len < size)
		len += snprintf(line + len, size - (size_t)len, " BODY=8BITMIME");
	if (utf8 && len > 0 && (size_t)len < size)
		snprintf(line + len, size - (size_t)len, " SMTPUTF8");
}

/* Refusals that depend on the server's extensions, before MAIL. */
static bool server_can_take(struct server *p, const struct message *msg, bool utf8,
                          struct reply *rep)
{
	if (p->size && p->max_size > 0 && msg->size > p->max_size) {
		trouble(rep, 552, "5.3.4", "message larger than the server's SIZE limit");
		return false;
	}
	if (msg->body_8bit && !p->eightbit) {     /* RFC 6152 3: never downgrade by sending 8-bit */
		trouble(rep, 554, "5.6.3", "message is 8-bit and the server does not support 8BITMIME");
		return false;
	}
	if (utf8 && !p->smtputf8) {
		trouble(rep, 553, "5.6.7", "server does not support SMTPUTF8 addresses");
		return false;
	}
	return true;
}

/* Send the message file without its leading Return-Path: line, encoded
 * for the wire (wire.c), then the final "." */
static int send_body(struct server *p, const struct message *msg)
{
	unsigned t = p->cfg->data_timeout;
	static char in[8192], out[WIRE_MAX(sizeof in) + 8];
	struct wire w;
	off_t off = 0;

	wire_init(&w);
	for (;;) {
		ssize_t n = pread(msg->fd, in, sizeof in, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		size_t skip = off == 0 ? wire_skip_return_path(in, (size_t)n) : 0;
		off += n;
		conn_put(&p->conn, out, wire_encode(&w, in + skip, (size_t)n - skip, out), t);
	}
	conn_put(&p->conn, out, wire_finish(&w, out), t);
	return conn_flush(&p->conn, t);
}

static bool positive(const struct reply *rep)
{
	return rep->code >= 200 && rep->code < 300;
}

static void put_rcpt(struct server *p, const char *address)
{
	unsigned t = p->cfg->command_timeout;

	conn_puts(&p->conn, "RCPT TO:<", t);
	conn_puts(&p->conn, address, t);
	conn_puts(&p->conn, ">\r\n", t);
}

/* Read a reply now, or (when pipelining) after everything is sent. */
static void flush_and_read(struct server *p, struct reply *rep)
{
	unsigned t = p->cfg->command_timeout;

	conn_flush(&p->conn, t);
	conn_reply(&p->conn, rep, t);
}

/* RCPT replies: accepted recipients wait for the end of data; the others
 * are settled now, and those that got 452 (too many recipients) are left
 * for the next transaction (not tried).  Returns how many were accepted. */
static size_t read_rcpt_replies(struct server *p, const struct job *job, bool pipelined)
{
	struct reply rep;
	size_t k = 0;

	for (size_t i = 0; i < job->n; i++) {
		struct job_rcpt *r = job->rcpts[i];
		r->accepted = false;
		if (!r->sent)
			continue;
		if (!pipelined)
			put_rcpt(p, r->rcpt->address);
		flush_and_read(p, &rep);
		if (positive(&rep)) {
			r->accepted = true;
			k++;
		} else {
			settle(p, r, &rep);
			if (rep.code == 452)           /* RFC 5321 4.5.3.1.10 */
				r->tried = false;
		}
	}
	return k;
}

/* The final "." went out and no reply came: the server may have taken the
 * message, so another MX must not get it too in this run (a duplicate);
 * the recipients are deferred to the next run.
 *
 * TLS (relay_tls): STARTTLS after EHLO when the server offers it, then EHLO
 * again (RFC 3207 4.2); with `may` a failed handshake means a new
 * connection in clear at once; `encrypt` and `verify` never send in clear.
 * A smarthost may speak TLS from the first octet (smarthost_tls = wrapper)
 * and take AUTH (smarthost_auth), only under TLS. */
static void hold(const struct job *job, struct reply *rep)
{
	char text[sizeof rep->text];

	snprintf(text, sizeof text, "no reply to the end of data (%.300s): deferred", rep->text);
	trouble(rep, 451, "4.4.2", text);
	for (size_t i = 0; i < job->n; i++)
		if (job->rcpts[i]->accepted)
			job->rcpts[i]->held = true;
}

/* LMTP (RFC 2033 4.2): after the final ".", one reply per recipient that
 * RCPT accepted, in order.  When the server goes away before all of them
 * came, the ones still without a reply are held: maybe delivered, so
 * deferred rather than sent again in this run. */
static void read_lmtp_replies(struct server *p, const struct job *job)
{
	struct reply rep;

	for (size_t i = 0; i < job->n; i++) {
		struct job_rcpt *r = job->rcpts[i];
		if (!r->accepted)
			continue;
		if (!p->conn.broken)
			conn_reply(&p->conn, &rep, p->cfg->data_timeout);
		if (p->conn.broken || rep.code == 0) {
			char text[sizeof rep.text];
			snprintf(text, sizeof text, "no reply to the end of data (%.300s): deferred",
			         p->conn.why);
			trouble(&rep, 451, "4.4.2", text);
			r->held = true;
		}
		settle(p, r, &rep);
	}
	p->in_sync = !p->conn.broken;
}

/* Up to RCPTS_MAX open recipients not tried at this host yet are sent in
 * this transaction, and tried; none is accepted yet. */
static void pick_batch(const struct job *job)
{
	size_t k = 0;

	for (size_t i = 0; i < job->n; i++) {
		struct job_rcpt *r = job->rcpts[i];
		r->accepted = false;
		r->sent = k < RCPTS_MAX && open_rcpt(r) && !r->tried;
		if (r->sent) {
			r->tried = true;
			k++;
		}
	}
}

/* MAIL, RCPT..., DATA, the message and its final reply. */
static void transaction(struct server *p, const struct job *job)
{
	const struct message *msg = job->msg;
	bool utf8 = needs_utf8(job);
	bool pipe = p->pipelining;
	struct reply rep;
	char line[600];

	p->in_sync = true;
	pick_batch(job);
	if (!server_can_take(p, msg, utf8, &rep)) {
		settle_all(p, job, is_sent, &rep);
		return;
	}
	mail_command(p, msg, utf8 || (msg->smtputf8 && p->smtputf8), line, sizeof line);
	conn_puts(&p->conn, line, p->cfg->command_timeout);
	conn_puts(&p->conn, "\r\n", p->cfg->command_timeout);
	if (pipe) {
		for (size_t i = 0; i < job->n; i++)
			if (job->rcpts[i]->sent)
				put_rcpt(p, job->rcpts[i]->rcpt->address);
		conn_puts(&p->conn, "DATA\r\n", p->cfg->command_timeout);
	}
	flush_and_read(p, &rep);
	p->in_sync = !pipe;   /* with pipelining, RCPT and DATA replies are due */
	if (!positive(&rep)) {
		settle_all(p, job, is_sent, &rep);
		return;
	}
	size_t k = read_rcpt_replies(p, job, pipe);
	if (k == 0 && !pipe)
		return;
	if (!pipe)
		conn_puts(&p->conn, "DATA\r\n", p->cfg->command_timeout);
	flush_and_read(p, &rep);
	p->in_sync = true;
	if (k == 0) {
		if (rep.code == 354)     /* nobody to send to: an empty message ends it */
			command(p, ".", &rep, p->cfg->data_timeout);
		return;
	}
	if (rep.code != 354) {
		settle_all(p, job, is_accepted, &rep);
		return;
	}
	p->in_sync = false;
	if (send_body(p, msg) < 0 && !p->conn.broken) {
		trouble(&rep, 451, "4.3.0", "cannot read the queued message");
	} else if (p->lmtp) {
		read_lmtp_replies(p, job);
		return;
	} else {
		conn_reply(&p->conn, &rep, p->cfg->data_timeout);
		p->in_sync = rep.code != 0;
		if (rep.code == 0)
			hold(job, &rep);
	}
	settle_all(p, job, is_accepted, &rep);
}

/* A greeting or HELO refusal says nothing about the recipients: try the
 * next host, as for a 4xx. */
static void host_refused(struct server *p, const struct job *job, struct reply *rep)
{
	char text[sizeof rep->text];

	if (rep->code >= 500) {
		snprintf(text, sizeof text, "host refused us: %d %.400s", rep->code, rep->text);
		trouble(rep, 451, "4.4.0", text);
	}
	settle_all(p, job, open_rcpt, rep);
}

static bool same_addr(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && memcmp(&a->sa, &b->sa, a->len) == 0;
}

struct client_cache *client_cache_new(void)
{
	return calloc(1, sizeof(struct client_cache));
}

static void server_close(struct server *p, bool quit)
{
	struct reply rep;

	if (quit && p->in_sync && !p->conn.broken) {
		conn_puts(&p->conn, "QUIT\r\n", 10);
		conn_flush(&p->conn, 10);
		conn_reply(&p->conn, &rep, 10);
	}
	conn_close(&p->conn);
	free(p);
}

void client_cache_close(struct client_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->n; i++)
		server_close(cache->servers[i], true);
	free(cache);
}

/* A cached session with dest's address, taken out of the cache and reset
 * (RSET) for a new transaction, or NULL. */
static struct server *cache_take(struct client_cache *cache, const struct dest *dest, bool lmtp)
{
	for (size_t i = 0; cache && i < cache->n; i++) {
		struct server *p = cache->servers[i];
		if (!same_addr(&p->dest_addr, &dest->addr) || p->lmtp != lmtp)
			continue;
		cache->servers[i] = cache->servers[--cache->n];
		struct reply rep;
		command(p, "RSET", &rep, p->cfg->command_timeout);
		if (!positive(&rep)) {
			server_close(p, false);
			return NULL;
		}
		p->dest = dest;
		log_event(LOG_LEVEL_DEBUG, "reuse", "host", dest->host, "addr", p->addr, NULL);
		return p;
	}
	return NULL;
}

/* Keep a healthy session for the next message; the oldest makes room. */
static void cache_put(struct client_cache *cache, struct server *p)
{
	if (!cache || p->conn.broken || !p->in_sync) {
		server_close(p, true);
		return;
	}
	if (cache->n == CACHE_MAX) {
		server_close(cache->servers[0], true);
		memmove(cache->servers, cache->servers + 1, (CACHE_MAX - 1) * sizeof cache->servers[0]);
		cache->n--;
	}
	cache->servers[cache->n++] = p;
}

/* Connect; TLS from the first octet to a wrapper smarthost; greeting and
 * EHLO; STARTTLS and EHLO again; AUTH at the smarthost.  On failure rep
 * says why (code 0: the connection failed). */
static enum tls_step connect_and_greet(struct server *p, struct reply *rep)
{
	const struct config *cfg = p->cfg;
	char err[300], text[400];

	if (conn_open(&p->conn, &p->dest->addr, cfg->connect_timeout) < 0) {
		trouble(rep, 0, "4.4.1", p->conn.why);
		return TLS_GIVE_UP;
	}
	if (to_smarthost(p) && cfg->smarthost_tls == SMARTHOST_WRAPPER &&
	    handshake(p, err, sizeof err) < 0) {
		log_event(LOG_LEVEL_INFO, "tls-failed", "host", p->dest->host, "addr", p->addr,
		          "error", err, "then", "defer", NULL);
		snprintf(text, sizeof text, "TLS handshake failed: %.300s", err);
		trouble(rep, 451, "4.7.5", text);
		return TLS_GIVE_UP;
	}
	if (hello(p, rep) < 0)
		return TLS_GIVE_UP;
	enum tls_step step = tls_version(&p->conn.s) ? TLS_GO_ON : starttls(p, rep);
	if (step != TLS_GO_ON)
		return step;
	return smarthost_login(p, rep) < 0 ? TLS_GIVE_UP : TLS_GO_ON;
}

/* A new session with dest: connect, greeting, EHLO.  NULL after settling
 * the open recipients with the trouble. */
static struct server *server_open(const struct config *cfg, const struct dest *dest,
                              const struct job *job)
{
	struct server *p = calloc(1, sizeof *p);
	struct reply rep;

	if (!p) {
		for (size_t i = 0; i < job->n; i++)
			if (open_rcpt(job->rcpts[i]))
				result_set(&job->rcpts[i]->result, OUT_TEMP, 451, "4.3.0", "out of memory");
		return NULL;
	}
	p->cfg = cfg;
	p->dest = dest;
	p->dest_addr = dest->addr;
	p->lmtp = job->lmtp;
	addr_text(&dest->addr, p->addr, sizeof p->addr);
	for (;;) {
		enum tls_step step = connect_and_greet(p, &rep);
		if (step == TLS_GO_ON) {
			p->in_sync = true;
			return p;
		}
		if (step == TLS_RETRY_CLEAR) {   /* relay_tls = may: again, in clear, at once */
			conn_close(&p->conn);
			p->clear_only = true;
			continue;
		}
		break;
	}
	if (p->conn.broken && rep.code == 0)
		settle_all(p, job, open_rcpt, &rep);
	else
		host_refused(p, job, &rep);
	p->in_sync = false;
	server_close(p, false);
	return NULL;
}

static bool delivered_now(const struct job *job)
{
	for (size_t i = 0; i < job->n; i++)
		if (job->rcpts[i]->accepted && job->rcpts[i]->result.outcome == OUT_OK)
			return true;
	return false;
}

static size_t count_untried(const struct job *job)
{
	size_t k = 0;

	for (size_t i = 0; i < job->n; i++)
		k += open_rcpt(job->rcpts[i]) && !job->rcpts[i]->tried;
	return k;
}

/* Transactions at dest, RSET between them, while recipients are left for
 * it (over RCPTS_MAX, or refused with 452) and each one makes progress.
 * -1 when deliveries could not be saved. */
static int try_dest(const struct config *cfg, struct client_cache *cache,
                    const struct dest *dest, const struct job *job)
{
	struct server *p = cache_take(cache, dest, job->lmtp);
	struct reply rep;
	int rc = 0;

	for (size_t i = 0; i < job->n; i++)
		job->rcpts[i]->tried = false;
	if (!p)
		p = server_open(cfg, dest, job);
	if (!p)
		return 0;
	for (bool first = true;; first = false) {
		size_t before = count_untried(job);
		if (before == 0)
			break;
		if (!first) {
			command(p, "RSET", &rep, cfg->command_timeout);
			if (!positive(&rep))
				break;
		}
		transaction(p, job);
		if (job->save && delivered_now(job) && job->save(job->save_arg, job) < 0) {
			rc = -1;
			break;
		}
		if (!p->in_sync || p->conn.broken || count_untried(job) >= before)
			break;
	}
	cache_put(cache, p);
	return rc;
}

void client_deliver(const struct config *cfg, struct client_cache *cache,
                    const struct route *route, const struct job *job)
{
	for (size_t d = 0; d < route->n && count_open(job) > 0; d++)
		if (try_dest(cfg, cache, &route->dests[d], job) < 0)
			break;
}
