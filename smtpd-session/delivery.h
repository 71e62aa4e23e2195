/* delivery.h - one message on its way to disk.
 *
 * The body streams into a spool file under the first target's tmp/ (a
 * Maildir's, or the queue's), never into memory.  On commit the file is
 * fsynced and hard-linked into every recipient's new/ (copied only across
 * file systems), each directory fsynced, and for relayed recipients an
 * envelope is written to the queue; only then does the client get 250. */
#ifndef MAILSOCK_DELIVERY_H
#define MAILSOCK_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "maildir.h"
#include "target.h"

struct transaction {
	char sender[ADDRESS_MAX + 1];   /* "" for the null sender */
	bool smtputf8;
	bool body_8bit;
	struct target *rcpts;
	size_t n_rcpts;
};

/* What the Received field tells (RFC 5321 4.4). */
struct trace {
	const char *helo;
	const char *peer;
	bool peer_is_local;
	const char *protocol;           /* SMTP, ESMTP, UTF8SMTP */
};

struct spool {
	struct stores *stores;
	int dirfd;                      /* where the spool file lives */
	int fd;
	char path[DOMAIN_MAX + LOCAL_PART_MAX + UNIQUE_ID_MAX + 16];
	char id[UNIQUE_ID_MAX];         /* the queue id */
	uint64_t size;                  /* octets stored */
	uint64_t limit;                 /* stop storing past this */
	int error;                      /* first errno of a failed write */
	int at_content;                 /* the next octet is the content's first */
	size_t wlen;
	char wbuf[65536];
};

/* Create the spool file and write Return-Path and Received.  -1 (errno). */
int spool_open(struct spool *sp, struct stores *st, const struct transaction *tx,
               const struct trace *tr, uint64_t limit);

/* Append message content (a data_sink). */
void spool_write(void *spool, const char *bytes, size_t len);

/* Make the message durable for every recipient.  -1 (errno) on failure. */
int spool_commit(struct spool *sp, const struct transaction *tx, const struct trace *tr);

/* Throw the spool file away. */
void spool_discard(struct spool *sp);

#endif
