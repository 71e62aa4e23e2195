/* run.c - one run over the queue: the entries in env/ that are due (by
 * the due index, doc/queue.md), and those queued while it runs, go to the
 * worker processes (workers.c), which share one DNS cache (dnscache.c).
 * Overlapping runs (timer, path unit, a person) never send one message
 * twice (each entry's flock), and no run waits for another. */
#include "run.h"
#include "arrivals.h"
#include "dnscache.h"
#include "fsutil.h"
#include "log.h"
#include "pickup.h"
#include "queue.h"
#include "workers.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define DEBRIS_AGE (24 * 3600)     /* tmp/ and orphan msg/ files older than this go */

int run_queue(const struct config *cfg, bool flush)
{
	int queuefd = queue_open(cfg->queue_dir);

	if (queuefd < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "queue", cfg->queue_dir, "error", strerror(errno),
		          NULL);
		return -1;
	}
	queue_reap(queuefd, DEBRIS_AGE);
	pickup_maildrop(cfg, queuefd);      /* local submissions first: they may add entries */
	size_t n_ids;
	struct arrivals *arrivals = arrivals_watch(queuefd);     /* before the listing */
	char **ids = flush ? queue_ids(queuefd, "env", &n_ids) :
	                     queue_due_ids(queuefd, time(NULL), &n_ids);
	arrivals_have(arrivals, ids, n_ids);
	struct pool pool = { .cfg = cfg, .queuefd = queuefd, .flush = flush,
	                     .cache = dns_cache_new(), .arrivals = arrivals };
	int rc = workers_run(&pool, ids, n_ids);
	arrivals_free(arrivals);
	dns_cache_free(pool.cache);
	queue_ids_free(ids, n_ids);
	close_quietly(queuefd);
	return rc;
}
