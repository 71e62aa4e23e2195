/* lmtp_check.c - is this user known to the LMTP server?  Asked at RCPT
 * time so that an unknown user gets 550 5.1.1 in the SMTP session instead
 * of a bounce later (no backscatter).  One connection per session, opened
 * at the first local recipient: greeting, LHLO, then for each recipient
 * MAIL FROM:<>, RCPT TO and RSET in one write (an LMTP server supports
 * PIPELINING, RFC 2033 4.1).  Nothing is delivered on it.  The relay's
 * connection code (common/conn.c) reads the replies. */
#include "lmtp_check.h"
#include "conn.h"
#include "lmtp_spec.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lmtp_check {
	struct conn conn;
};

static bool positive(const struct reply *r)
{
	return r->code >= 200 && r->code < 300;
}

static void trouble(const struct config *cfg, const char *why)
{
	log_event(LOG_LEVEL_ERROR, "trouble", "lmtp", cfg->local_delivery, "error", why, NULL);
}


/* Connect, greeting, LHLO.  NULL after logging why. */
static struct lmtp_check *check_open(const struct config *cfg)
{
	struct lmtp_check *c = calloc(1, sizeof *c);
	struct addr addr;
	struct reply rep = { 0 };
	const char *why;

	if (!c) {
		trouble(cfg, "out of memory");
		return NULL;
	}
	if (lmtp_spec_addr(cfg->local_delivery, &addr.sa, &addr.len, &why) < 0) {
		trouble(cfg, why);
		free(c);
		return NULL;
	}
	if (conn_open(&c->conn, &addr, cfg->connect_timeout) == 0) {
		conn_reply(&c->conn, &rep, cfg->greeting_timeout);
		if (positive(&rep)) {
			conn_puts(&c->conn, "LHLO ", cfg->command_timeout);
			conn_puts(&c->conn, cfg->hostname, cfg->command_timeout);
			conn_puts(&c->conn, "\r\n", cfg->command_timeout);
			conn_flush(&c->conn, cfg->command_timeout);
			conn_reply(&c->conn, &rep, cfg->command_timeout);
			if (positive(&rep))
				return c;
		}
	}
	trouble(cfg, c->conn.broken ? c->conn.why : rep.text);
	conn_close(&c->conn);
	free(c);
	return NULL;
}

/* MAIL, RCPT, RSET: the RCPT reply's code, 0 when the connection failed. */
static int ask(struct lmtp_check *c, const struct config *cfg, const char *address,
               struct reply *rcpt)
{
	struct reply mail, rset;
	unsigned t = cfg->command_timeout;

	conn_puts(&c->conn, "MAIL FROM:<>\r\nRCPT TO:<", t);
	conn_puts(&c->conn, address, t);
	conn_puts(&c->conn, ">\r\nRSET\r\n", t);
	conn_flush(&c->conn, t);
	conn_reply(&c->conn, &mail, t);
	conn_reply(&c->conn, rcpt, t);
	conn_reply(&c->conn, &rset, t);
	if (c->conn.broken || rset.code == 0)
		return 0;
	if (!positive(&mail))                 /* nothing said about the user */
		return mail.code >= 500 ? 451 : mail.code;
	return rcpt->code;
}

enum lmtp_answer lmtp_check_rcpt(struct lmtp_check **check, const struct config *cfg,
                                 const char *address)
{
	struct reply rep;
	int code = 0;

	/* A kept connection may have been closed by the server since (an idle
	 * timeout): one new connection is tried before giving up. */
	for (int round = 0; round < 2 && code == 0; round++) {
		if (!*check)
			*check = check_open(cfg);
		if (!*check)
			return LMTP_UNREACHABLE;
		code = ask(*check, cfg, address, &rep);
		if (code == 0) {
			if (round == 1)
				trouble(cfg, (*check)->conn.why);
			lmtp_check_close(check);
		}
	}
	if (code >= 200 && code < 300)
		return LMTP_TAKES;
	if (code >= 500)
		return LMTP_REFUSES;
	if (code != 0)
		log_event(LOG_LEVEL_INFO, "lmtp-check", "rcpt", address, "reply", rep.text, NULL);
	return LMTP_UNREACHABLE;
}

void lmtp_check_close(struct lmtp_check **check)
{
	struct lmtp_check *c = *check;
	struct reply rep;

	if (!c)
		return;
	if (!c->conn.broken) {
		conn_puts(&c->conn, "QUIT\r\n", 5);
		conn_flush(&c->conn, 5);
		conn_reply(&c->conn, &rep, 5);
	}
	conn_close(&c->conn);
	free(c);
	*check = NULL;
}
