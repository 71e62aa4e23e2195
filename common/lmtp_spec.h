/* lmtp_spec.h - where an LMTP server listens: "unix:/PATH" or "HOST:PORT"
 * ("[ADDR]:PORT" for IPv6), as local_delivery and rcpt-via write it. */
#ifndef MAILSOCK_LMTP_SPEC_H
#define MAILSOCK_LMTP_SPEC_H

#include <sys/socket.h>

/* Is spec well formed?  NULL, or why not (for config.c's messages). */
const char *lmtp_spec_check(const char *spec);

/* The socket address of spec (a host name is looked up with
 * getaddrinfo(3), first answer).  0, or -1 with a reason in *why. */
int lmtp_spec_addr(const char *spec, struct sockaddr_storage *sa, socklen_t *len,
                   const char **why);

#endif
