/* session.h - one ESMTP session (RFC 5321) on a pair of file descriptors. */
#ifndef MAILSOCK_SESSION_H
#define MAILSOCK_SESSION_H

#include "config.h"

/* Speak SMTP on in/out until QUIT, EOF, timeout or too many errors.
 * Returns the exit status for the process: 0 after QUIT, EOF, a timeout or
 * too many errors; 1 when the client could not be written to (or read
 * from) or memory ran out. */
int session_run(const struct config *cfg, int in, int out);

/* The same over another stream backend (the fuzz target's short reads;
 * later TLS from the first octet). */
struct stream_backend;
int session_run_with(const struct config *cfg, const struct stream_backend *backend, void *ctx,
                     int in, int out);

#endif
