/* lmtp.c - the LMTP transport: a route of one destination, the LMTP
 * server, for the relay's SMTP client (smtp.c) in its LMTP mode. */
#include "lmtp.h"
#include "lmtp_spec.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

void lmtp_deliver(const struct config *cfg, struct client_cache *cache, const char *spec,
                  struct job *job)
{
	struct dest dest = { 0 };
	struct route route = { .dests = &dest, .n = 1 };
	const char *why;

	snprintf(dest.host, sizeof dest.host, "%s", spec);
	if (lmtp_spec_addr(spec, &dest.addr.sa, &dest.addr.len, &why) < 0) {
		/* a host name that does not resolve now may later: deferred */
		log_event(LOG_LEVEL_INFO, "route", "lmtp", spec, "reply", why, NULL);
		for (size_t i = 0; i < job->n; i++)
			result_set(&job->rcpts[i]->result, OUT_TEMP, 451, "4.4.1", why);
		return;
	}
	job->lmtp = true;
	client_deliver(cfg, cache, &route, job);
	job->lmtp = false;
}
