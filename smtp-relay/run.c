/* run.c - one run over the queue.
 *
 * The entries in env/ are handed out one at a time to up to max_parallel
 * worker processes: each takes the next index from a counter in shared
 * memory, so a worker held up by a slow host does not hold back entries
 * that another could send.  Each takes the flock of an entry's msg/ID
 * before touching it,
 * so overlapping runs (timer, path unit, a person) never send one message
 * twice, and no run waits for another. */
#include "run.h"
#include "client.h"
#include "entry.h"
#include "fsutil.h"
#include "log.h"
#include "pickup.h"
#include "queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEBRIS_AGE (24 * 3600)     /* tmp/ and orphan msg/ files older than this go */

/* A worker: the entries whose index it takes from *next, until none is left. */
static int work(const struct config *cfg, int queuefd, bool flush, char **ids, size_t n_ids,
                atomic_size_t *next)
{
	char err[256];
	struct runner rn = { .cfg = cfg, .queuefd = queuefd, .flush = flush };

	rn.dns = dns_open(cfg, err, sizeof err);
	if (!rn.dns) {
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "resolver", "error", err, NULL);
		return -1;
	}
	rn.cache = client_cache_new();
	for (size_t i; (i = atomic_fetch_add(next, 1)) < n_ids;)
		entry_process(&rn, ids[i]);
	client_cache_close(rn.cache);
	dns_close(rn.dns);
	return 0;
}

static int wait_workers(const pid_t *pids, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		int status;
		pid_t p;
		while ((p = waitpid(pids[i], &status, 0)) < 0 && errno == EINTR)
			;
		if (p < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = -1;
	}
	return rc;
}

/* The counter lives in memory shared with the forked workers. */
static int run_parallel(const struct config *cfg, int queuefd, bool flush, char **ids,
                        size_t n_ids, size_t workers)
{
	pid_t pids[64];
	size_t started = 0;
	int rc = 0;
	atomic_size_t *next = mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE,
	                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (next == MAP_FAILED) {
		atomic_size_t local = 0;
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "mmap", "error", strerror(errno), NULL);
		return work(cfg, queuefd, flush, ids, n_ids, &local);
	}
	atomic_init(next, 0);
	for (size_t k = 0; k < workers; k++) {
		pid_t p = fork();
		if (p == 0)
			_exit(work(cfg, queuefd, flush, ids, n_ids, next) == 0 ? 0 : 1);
		if (p < 0) {
			log_event(LOG_LEVEL_ERROR, "trouble", "action", "fork", "error", strerror(errno), NULL);
			rc = -1;
			break;
		}
		pids[started++] = p;
	}
	if (started == 0 && work(cfg, queuefd, flush, ids, n_ids, next) < 0)
		rc = -1;         /* no worker could start: do them here */
	if (wait_workers(pids, started) < 0)
		rc = -1;
	munmap(next, sizeof *next);
	return rc;
}

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
	char **ids = queue_ids(queuefd, "env", &n_ids);
	size_t workers = cfg->max_parallel < n_ids ? cfg->max_parallel : n_ids;
	int rc = 0;
	atomic_size_t next = 0;
	if (workers == 1)
		rc = work(cfg, queuefd, flush, ids, n_ids, &next);
	else if (workers > 1)
		rc = run_parallel(cfg, queuefd, flush, ids, n_ids, workers);
	queue_ids_free(ids, n_ids);
	close_quietly(queuefd);
	return rc;
}
