/* client.c - deliver one message over SMTP (RFC 5321 client side).
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
#include "client.h"
#include "address.h"
#include "conn.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct peer {
	const struct config *cfg;
	const struct dest *dest;
	struct addr dest_addr;
	char addr[64];
	struct conn conn;
	bool pipelining, eightbit, smtputf8, size;
	uint64_t max_size;
	bool in_sync;        /* every reply read: the next transaction may follow */
	bool lmtp;           /* an LMTP server (RFC 2033) */
};

#define CACHE_MAX 16

/* Recipients per transaction: every server takes 100 (RFC 5321 4.5.3.1.8). */
#define RCPTS_MAX 100

/* Open sessions kept between messages, ready for RSET and the next MAIL. */
struct client_cache {
	struct peer *peers[CACHE_MAX];
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

/* Record what the peer (or the trouble with it) said for one recipient. */
static void settle(struct peer *p, struct job_rcpt *r, const struct reply *rep)
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
	char code[8];
	snprintf(code, sizeof code, "%d", res->code);
	log_event(LOG_LEVEL_INFO, "attempt", "rcpt", r->rcpt->address, "host", p->dest->host,
	          "addr", p->addr, "code", code, "enh", res->enh, "reply", res->text, NULL);
}

/* The same reply for every recipient that `which` picks (open_rcpt,
 * is_sent, is_accepted). */
static void settle_all(struct peer *p, const struct job *job,
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
	snprintf(rep->text, sizeof rep->text, "%s", text);
}

static void command(struct peer *p, const char *line, struct reply *rep, unsigned timeout)
{
	conn_puts(&p->conn, line, timeout);
	conn_puts(&p->conn, "\r\n", timeout);
	conn_flush(&p->conn, timeout);
	conn_reply(&p->conn, rep, timeout);
}

static void read_extensions(struct peer *p, const struct reply *rep)
{
	for (size_t i = 1; i < rep->n_lines; i++) {
		const char *kw = rep->lines[i];
		if (strcasecmp(kw, "PIPELINING") == 0)
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

/* Greeting and EHLO/HELO (LHLO, RFC 2033 4.1, which has no fallback).
 * 0 when the peer is ready for MAIL. */
static int hello(struct peer *p, struct reply *rep)
{
	const struct config *cfg = p->cfg;
	char line[300];

	conn_reply(&p->conn, rep, cfg->greeting_timeout);
	if (rep->code < 200 || rep->code >= 300)
		return -1;
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

static bool needs_utf8(const struct job *job)
{
	if (!string_is_ascii(job->msg->sender))
		return true;
	for (size_t i = 0; i < job->n; i++)
		if (open_rcpt(job->rcpts[i]) && !string_is_ascii(job->rcpts[i]->rcpt->address))
			return true;
	return false;
}

static void mail_command(const struct peer *p, const struct message *msg, bool utf8,
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

/* Refusals that depend on the peer's extensions, before MAIL. */
static bool peer_can_take(struct peer *p, const struct message *msg, bool utf8,
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
static int send_body(struct peer *p, const struct message *msg)
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

static void put_rcpt(struct peer *p, const char *address)
{
	unsigned t = p->cfg->command_timeout;

	conn_puts(&p->conn, "RCPT TO:<", t);
	conn_puts(&p->conn, address, t);
	conn_puts(&p->conn, ">\r\n", t);
}

/* Read a reply now, or (when pipelining) after everything is sent. */
static void flush_and_read(struct peer *p, struct reply *rep)
{
	unsigned t = p->cfg->command_timeout;

	conn_flush(&p->conn, t);
	conn_reply(&p->conn, rep, t);
}

/* RCPT replies: accepted recipients wait for the end of data; the others
 * are settled now, and those that got 452 (too many recipients) are left
 * for the next transaction (not tried).  Returns how many were accepted. */
static size_t read_rcpt_replies(struct peer *p, const struct job *job, bool pipelined)
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
 * the recipients are deferred to the next run. */
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
static void read_lmtp_replies(struct peer *p, const struct job *job)
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
static void transaction(struct peer *p, const struct job *job)
{
	const struct message *msg = job->msg;
	bool utf8 = needs_utf8(job);
	bool pipe = p->pipelining;
	struct reply rep;
	char line[600];

	p->in_sync = true;
	pick_batch(job);
	if (!peer_can_take(p, msg, utf8, &rep)) {
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
static void host_refused(struct peer *p, const struct job *job, struct reply *rep)
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

static void peer_close(struct peer *p, bool quit)
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
		peer_close(cache->peers[i], true);
	free(cache);
}

/* A cached session with dest's address, taken out of the cache and reset
 * (RSET) for a new transaction, or NULL. */
static struct peer *cache_take(struct client_cache *cache, const struct dest *dest, bool lmtp)
{
	for (size_t i = 0; cache && i < cache->n; i++) {
		struct peer *p = cache->peers[i];
		if (!same_addr(&p->dest_addr, &dest->addr) || p->lmtp != lmtp)
			continue;
		cache->peers[i] = cache->peers[--cache->n];
		struct reply rep;
		command(p, "RSET", &rep, p->cfg->command_timeout);
		if (!positive(&rep)) {
			peer_close(p, false);
			return NULL;
		}
		p->dest = dest;
		log_event(LOG_LEVEL_DEBUG, "reuse", "host", dest->host, "addr", p->addr, NULL);
		return p;
	}
	return NULL;
}

/* Keep a healthy session for the next message; the oldest makes room. */
static void cache_put(struct client_cache *cache, struct peer *p)
{
	if (!cache || p->conn.broken || !p->in_sync) {
		peer_close(p, true);
		return;
	}
	if (cache->n == CACHE_MAX) {
		peer_close(cache->peers[0], true);
		memmove(cache->peers, cache->peers + 1, (CACHE_MAX - 1) * sizeof cache->peers[0]);
		cache->n--;
	}
	cache->peers[cache->n++] = p;
}

/* A new session with dest: connect, greeting, EHLO.  NULL after settling
 * the open recipients with the trouble. */
static struct peer *peer_open(const struct config *cfg, const struct dest *dest,
                              const struct job *job)
{
	struct peer *p = calloc(1, sizeof *p);
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
	if (conn_open(&p->conn, &dest->addr, cfg->connect_timeout) < 0) {
		trouble(&rep, 0, "4.4.1", p->conn.why);
		settle_all(p, job, open_rcpt, &rep);
	} else if (hello(p, &rep) < 0) {
		host_refused(p, job, &rep);
	} else {
		p->in_sync = true;
		return p;
	}
	p->in_sync = false;
	peer_close(p, false);
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
	struct peer *p = cache_take(cache, dest, job->lmtp);
	struct reply rep;
	int rc = 0;

	for (size_t i = 0; i < job->n; i++)
		job->rcpts[i]->tried = false;
	if (!p)
		p = peer_open(cfg, dest, job);
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
