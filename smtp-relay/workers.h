/* workers.h - the worker processes of one run. */
#ifndef SMTP_RELAY_WORKERS_H
#define SMTP_RELAY_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct pool {
	const struct config *cfg;
	int queuefd;
	bool flush;
	struct dns_cache *cache;     /* shared by the workers, or NULL */
	struct arrivals *arrivals;   /* entries queued during the run, or NULL */
};

/* Deliver ids (sorted) with up to max_parallel workers, and what arrives
 * meanwhile with up to max_parallel more; return once all are done and
 * nothing new is due.  0, or -1 when a worker failed. */
int workers_run(const struct pool *p, char **ids, size_t n_ids);

#endif
