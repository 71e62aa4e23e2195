/* drop.h - hand one message to mailsock-postdrop in the maildrop format
 * (doc/queue.md): envelope lines, an empty line, the message with LF line
 * endings, and "mailsock-end N" (N: the octets before that line). */
#ifndef MAILSOCK_SENDMAIL_DROP_H
#define MAILSOCK_SENDMAIL_DROP_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct drop {
	pid_t pid;
	FILE *out;                    /* postdrop's stdin */
	unsigned long long count;     /* octets written so far */
	char last;                    /* the last octet written */
};

/* Start postdrop (MAILSOCK_POSTDROP, else the installed one) with args
 * (NULL-terminated, may be NULL), and write the envelope: sender NULL
 * for the default (the user), "" for the null sender; fullname may be
 * NULL.  -1 (errno) when postdrop cannot be started. */
int drop_open(struct drop *d, char *const *args, const char *sender, const char *fullname,
              char *const *rcpts, size_t n_rcpts);

/* Message content, LF line endings. */
void drop_write(struct drop *d, const char *buf, size_t len);

/* End the message (a final newline if it lacks one, then the trailer) and
 * wait for postdrop: its exit status (sysexits.h), EX_OSERR when killed. */
int drop_close(struct drop *d);

/* Give up: postdrop sees no trailer and keeps nothing. */
void drop_abort(struct drop *d);

#endif
