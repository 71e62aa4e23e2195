/* queue.h - the outgoing queue that smtpd-session writes and smtp-relay
 * reads.  The layout and the envelope format are described in doc/queue.md;
 * in short:
 *
 *   QUEUE_DIR/tmp/        files being written (reaped when old)
 *   QUEUE_DIR/msg/ID      the message, as it would be stored in a Maildir
 *   QUEUE_DIR/env/ID      the envelope; an entry exists iff this file does
 *
 * The envelope is written last, by rename, so a crash leaves either a
 * complete entry or none. */
#ifndef MAILSOCK_QUEUE_H
#define MAILSOCK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "maildir.h"

enum rcpt_state { RCPT_PENDING = 'P', RCPT_DELIVERED = 'D', RCPT_FAILED = 'F' };

struct envelope_rcpt {
	enum rcpt_state state;
	char *address;          /* "local@domain" */
	char *error;            /* last reply or trouble for it, or NULL */
};

struct envelope {
	char id[UNIQUE_ID_MAX];
	time_t arrival;
	char peer[64];           /* client address, or "local" */
	char helo[256];
	char *sender;            /* "" for the null sender <> */
	bool body_8bit;          /* BODY=8BITMIME */
	bool smtputf8;           /* SMTPUTF8 was given */
	unsigned attempts;
	time_t next_attempt;
	char *error;             /* last trouble for the entry as a whole, or NULL */
	struct envelope_rcpt *rcpts;
	size_t n_rcpts;
};

/* Open (creating if needed) QUEUE_DIR and its tmp/, msg/ and env/. */
int queue_open(const char *queue_dir);

/* Write env durably: tmp/ID.env, fsync, rename to env/ID, fsync env/. */
int envelope_write(int queuefd, const struct envelope *env);

/* Read an envelope file.  -1 on a malformed file (errno EINVAL) or I/O. */
int envelope_read(FILE *f, struct envelope *env);

/* Add a recipient (the string is copied).  -1 on out of memory. */
int envelope_add_rcpt(struct envelope *env, enum rcpt_state state, const char *address);

void envelope_free(struct envelope *env);

/* Read env/ID into env (zeroed first; envelope_free it in every case).
 * 1 when read, 0 when there is no such entry, -1 on I/O trouble (errno),
 * -2 when the file is malformed (errno EINVAL). */
int envelope_load(int queuefd, const char *id, struct envelope *env);

/* The names in QUEUE_DIR/SUB ("env", "msg", "tmp"), sorted, so oldest id
 * first; none (NULL, *n 0) when the directory cannot be read. */
char **queue_ids(int queuefd, const char *sub, size_t *n);
void queue_ids_free(char **ids, size_t n);

#endif
