/* listen.h - the fast way under systemd (Accept=no): one listening socket,
 * one forked child per connection running the same session code. */
#ifndef MAILSOCK_LISTEN_H
#define MAILSOCK_LISTEN_H

#include "config.h"

/* Sockets passed by systemd (sd_listen_fds(3) protocol: LISTEN_PID,
 * LISTEN_FDS, fds from 3 on), taken over and removed from the environment.
 * Returns how many (0: none, run one session on stdin/stdout). */
int listen_fds_take(void);

/* Accept on the n sockets from fd 3 on and fork a session per connection,
 * until SIGTERM.  Above max_connections or max_connections_per_source a
 * client gets "421 4.7.0" and is closed.  A single fd 3 that is a
 * connection, not a listener (Accept=yes without StandardInput=socket),
 * gets one session.  Returns the exit status. */
int listen_run(const struct config *cfg, int n);

#endif
