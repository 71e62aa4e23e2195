/* route.h - where mail for a domain goes: the ordered list of addresses to try
 * (RFC 5321 5.1), or the smarthost. */
#ifndef SMTP_RELAY_ROUTE_H
#define SMTP_RELAY_ROUTE_H

#include <stddef.h>

#include "config.h"
#include "dns.h"
#include "result.h"

struct dest {
	char host[256];      /* the MX host name (for logs and Remote-MTA) */
	struct addr addr;
};

struct route {
	struct dest *dests;
	size_t n;
};

/* Fill route for domain.  -1 when there is nowhere to go: why says whether
 * that is temporary (DNS trouble) or permanent (null MX, NXDOMAIN, loop). */
int route_find(struct dns *dns, const struct config *cfg, const char *domain,
               struct route *route, struct result *why);

void route_free(struct route *route);

#endif
