/* session.h - one ESMTP session (RFC 5321) on a pair of file descriptors. */
#ifndef MAILSOCK_SESSION_H
#define MAILSOCK_SESSION_H

#include "config.h"

/* Speak SMTP on in/out until QUIT, EOF, timeout or too many errors.
 * Returns the exit status for the process (0 after QUIT or clean EOF). */
int session_run(const struct config *cfg, int in, int out);

#endif
