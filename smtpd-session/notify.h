/* notify.h - sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET. */
#ifndef MAILSOCK_NOTIFY_H
#define MAILSOCK_NOTIFY_H

/* Send "READY=1", "STOPPING=1", ... to the service manager, if any.
 * Failures are ignored, as sd_notify's are by most callers. */
void notify(const char *state);

#endif
