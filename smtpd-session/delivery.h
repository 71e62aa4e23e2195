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
	struct target *rcpts;           /* the targets of the recipients, each once */
	size_t n_rcpts;
	size_t cap;                     /* rcpts has room for this many */
	size_t n_given;                 /* RCPTs that added a target (max_recipients) */
	char (*aliases)[ADDRESS_MAX + 1]; /* the recipients that aliases expanded, each once */
	size_t n_aliases, cap_aliases;
};

/* What the Received field tells (RFC 5321 4.4). */
struct trace {
	const char *helo;
	const char *peer;
	bool peer_is_local;
	const char *protocol;           /* SMTP, ESMTP, ESMTPS, ESMTPSA, UTF8SMTP... */
	const char *tls;                /* "TLSv1.3 TLS_AES_256_GCM_SHA384", or NULL */
	const char *session_id;         /* for the queue's envelope and commands */
};

struct spool {
	struct stores *stores;
	int dirfd;                      /* where the spool file lives */
	int fd;
	char path[DOMAIN_MAX + LOCAL_PART_MAX + UNIQUE_ID_MAX + 16];
	char id[UNIQUE_ID_MAX];         /* the queue id */
	uint64_t size;                  /* octets stored */
	uint64_t trace_end;             /* where the client's text starts */
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

/* Does the message's header carry a Delivered-To: naming one of the
 * aliases it is addressed to (ours, from an earlier pass: a loop)? */
bool spool_loops(struct spool *sp, const struct transaction *tx);

/* message_command: run it on the stored message with every recipient
 * (doc/delivery.md); its verdict into code (250, 451, 554), enh and text.
 * Nothing is kept: the caller discards the spool file. */
void spool_run_command(struct spool *sp, const struct transaction *tx, const struct trace *tr,
                       int *code, char *enh, size_t esize, char *text, size_t tsize);

/* Throw the spool file away. */
void spool_discard(struct spool *sp);

#endif
