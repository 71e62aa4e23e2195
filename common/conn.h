/* conn.h - a connection to an SMTP or LMTP server over common/stream, and
 * the reading of its replies: smtp-relay's client and the session's
 * RCPT-time LMTP check. */
#ifndef MAILSOCK_CONN_H
#define MAILSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

#include "stream.h"

/* An address to connect to: IPv4, IPv6, or a Unix socket (LMTP). */
struct addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

struct conn {
	struct stream s;
	bool broken;         /* a timeout or I/O error happened */
	char why[128];       /* what broke */
};

struct reply {
	int code;            /* 0 when none could be read */
	char enh[16];        /* "" when the server gave none */
	char text[512];      /* the lines' text joined (500 octets at most), or the trouble */
	char lines[32][80];  /* the first 79 octets of each line (EHLO keywords) */
	size_t n_lines;
};

/* Connect within timeout seconds.  -1 with c->why set. */
int conn_open(struct conn *c, const struct addr *addr, unsigned timeout);
void conn_close(struct conn *c);

/* Buffer bytes for sending; conn_flush sends them, each wait at most
 * timeout seconds.  Nothing is sent once the connection broke. */
void conn_put(struct conn *c, const char *bytes, size_t len, unsigned timeout);
void conn_puts(struct conn *c, const char *s, unsigned timeout);
int conn_flush(struct conn *c, unsigned timeout);

/* Read one (multi-line) reply, all of it within timeout seconds and at
 * most 1000 lines: a server that drips or floods cannot hold us.  On
 * trouble code is 0. */
void conn_reply(struct conn *c, struct reply *r, unsigned timeout);

/* Text of addr ("192.0.2.1" or "2001:db8::1"). */
void addr_text(const struct addr *addr, char *buf, size_t size);

#endif
