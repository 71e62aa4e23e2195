/* peer.h - who is on the other end of stdin (smtpd-session(8), THE PEER). */
#ifndef MAILSOCK_PEER_H
#define MAILSOCK_PEER_H

#include <stdbool.h>

#include "config.h"

struct peer {
	char addr[64];       /* "192.0.2.1", "2001:db8::1", or "local" */
	bool local;          /* no network peer: a trusted local submission */
	bool may_relay;      /* local, RELAYCLIENT set, or inside relay_networks */
};

/* getpeername(0) when stdin is a socket (TCPREMOTEIP is then ignored);
 * else TCPREMOTEIP (ucspi-tcp); else a local session. */
void peer_detect(struct peer *peer, const struct config *cfg);

/* Is there a network client on stdin (not a trusted local session)? */
bool peer_is_remote(void);

#endif
