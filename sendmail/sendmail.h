/* sendmail.h - what the parts of mailsock-sendmail share. */
#ifndef MAILSOCK_SENDMAIL_H
#define MAILSOCK_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "address.h"

#define RCPTS_MAX 10000

/* The arguments passed on to mailsock-postdrop (-c, -o: root only). */
extern char *postdrop_args[8];

/* An address as a user writes it: "local@domain", "<local@domain>" or a
 * bare "local" (a user of the first local domain), into out as
 * "local@domain" or "local".  False when it is not one. */
bool address_check(const char *in, char *out, size_t size);

/* -bs: an SMTP session on stdin/stdout, each message into the maildrop.
 * The exit status. */
int smtp_session(void);

#endif
