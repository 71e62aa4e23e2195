/* peer.c - who is on the other end of stdin. */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void set_local(struct peer *peer)
{
	snprintf(peer->addr, sizeof peer->addr, "local");
	peer->local = true;
}

/* 0: address found, 1: a socket with no IP peer (AF_UNIX), -1: no socket */
static int socket_peer(struct peer *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(0, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	const void *a;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	else
		return 1;
	if (!inet_ntop(ss.ss_family, a, peer->addr, sizeof peer->addr))
		return -1;
	address_unmap_v4(peer->addr, sizeof peer->addr);
	return 0;
}

void peer_detect(struct peer *peer, const struct config *cfg)
{
	memset(peer, 0, sizeof *peer);
	int found = socket_peer(peer);
	if (found == 1) {
		set_local(peer);
	} else if (found < 0) {
		const char *env = getenv("TCPREMOTEIP");
		if (env && *env && strlen(env) < sizeof peer->addr) {
			memcpy(peer->addr, env, strlen(env) + 1);
			address_unmap_v4(peer->addr, sizeof peer->addr);
		} else {
			set_local(peer);
		}
	}
	/* RELAYCLIENT: set per network by tcprules (ucspi-tcp, as for qmail). */
	if (peer->local || getenv("RELAYCLIENT")) {
		peer->may_relay = true;
		return;
	}
	for (size_t i = 0; i < cfg->n_relay_networks; i++)
		if (cidr_match(&cfg->relay_networks[i], peer->addr)) {
			peer->may_relay = true;
			return;
		}
}

bool peer_is_remote(void)
{
	struct peer peer;
	int found = socket_peer(&peer);
	const char *env = getenv("TCPREMOTEIP");

	return found == 0 || (found < 0 && env && *env);
}
