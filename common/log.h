/* log.h - one line per event, "key=value", the session id first.
 *
 * Under systemd (JOURNAL_STREAM names our stderr) each event also goes to
 * the journal with structured fields (SESSION_ID=, PEER=, MESSAGE_ID=, ...),
 * through libsystemd opened only then.  When stderr is the client's socket
 * (inetd passes the connection on fds 0, 1 and 2) events go to syslog, never
 * to the client.  Otherwise they go to stderr. */
#ifndef MAILSOCK_LOG_H
#define MAILSOCK_LOG_H

#include <stdbool.h>

#include "config.h"

void log_init(const char *program, enum log_level level);

/* An error before log_init (a bad configuration): "PROGRAM: MESSAGE" on
 * stderr, or to syslog when stderr is the client's socket, so that it never
 * reaches the client. */
void log_early_error(const char *program, const char *message);

/* A key=value pair that starts every later line, e.g. the session id. */
void log_set_context(const char *key, const char *value);

/* log_event(LOG_LEVEL_INFO, "rcpt", "to", addr, "result", "accepted", NULL):
 * the event name, then key and value strings, NULL-terminated.  Values are
 * escaped: control characters and non-ASCII octets never reach the log raw. */
void log_event(enum log_level level, const char *event, ...) __attribute__((sentinel));

#endif
