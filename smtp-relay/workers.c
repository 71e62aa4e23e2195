/* workers.c - the worker processes of one run.
 *
 * The entries of the run's listing are handed out one at a time to up to
 * max_parallel workers: each takes the next index from a counter in shared
 * memory, so a worker held up by a slow host does not hold back entries
 * that another could send.  Entries that arrive during the run (arrivals.c)
 * go to workers of their own, up to max_parallel more, so a slow backlog
 * does not hold them back either; the run ends when no worker is left and
 * nothing new is due.  A run that lasts (a slow backlog, a steady stream)
 * lists env/ again every RELIST_S, since the timer's starts merge into it:
 * the retries that come due meanwhile are taken too.  Each worker takes the flock of an entry's msg/ID
 * before touching it, so overlapping runs never send a message twice. */
#include "workers.h"
#include "arrivals.h"
#include "smtp.h"
#include "dns.h"
#include "entry.h"
#include "log.h"
#include "queue.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX 128     /* 2 x the largest max_parallel */
#define POLL_MS 100         /* how often a finished worker is noticed */
#ifndef RELIST_S
#define RELIST_S 60         /* a long run lists env/ again this often */
#endif

struct crew {
	pid_t pids[WORKERS_MAX];
	size_t n;               /* running */
	size_t n_late;          /* of them, started for arrivals */
	bool late[WORKERS_MAX];
	pid_t *ever;            /* every worker the run started */
	size_t n_ever;
	int rc;
};

/* A worker: the entries whose index it takes from *next, until none is left. */
static int work(const struct pool *p, char **ids, size_t n_ids, atomic_size_t *next)
{
	char err[256];
	struct runner rn = { .cfg = p->cfg, .queuefd = p->queuefd, .flush = p->flush };

	rn.dns = dns_open(p->cfg, err, sizeof err);
	if (!rn.dns) {
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "resolver", "error", err, NULL);
		return -1;
	}
	dns_use_cache(rn.dns, p->cache);
	rn.cache = client_cache_new();
	for (size_t i; (i = atomic_fetch_add(next, 1)) < n_ids;)
		entry_process(&rn, ids[i]);
	client_cache_close(rn.cache);
	dns_close(rn.dns);
	return 0;
}

static time_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static bool start(const struct pool *p, struct crew *c, bool late, char **ids, size_t n,
                  atomic_size_t *next)
{
	pid_t *ever = realloc(c->ever, (c->n_ever + 1) * sizeof *ever);

	if (c->n == WORKERS_MAX || !ever)
		return false;
	c->ever = ever;
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		/* A run that is killed stops its deliveries too, as a run without
		 * workers of its own did: none goes on holding an entry's lock. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		_exit(work(p, ids, n, next) == 0 ? 0 : 1);
	}
	if (pid < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "fork", "error", strerror(errno), NULL);
		c->rc = -1;
		return false;
	}
	c->late[c->n] = late;
	c->n_late += late;
	c->pids[c->n++] = pid;
	c->ever[c->n_ever++] = pid;
	return true;
}

/* Forget the workers that exited; block for them when wait. */
static void reap(struct crew *c, bool wait)
{
	for (size_t i = 0; i < c->n;) {
		int status;
		pid_t pid = waitpid(c->pids[i], &status, wait ? 0 : WNOHANG);
		if (pid == 0 || (pid < 0 && errno == EINTR)) {
			i += pid == 0;
			continue;
		}
		if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			c->rc = -1;
		c->n_late -= c->late[i];
		c->n--;
		c->pids[i] = c->pids[c->n];
		c->late[i] = c->late[c->n];
	}
}

/* A bounce that one of the run's workers queued waits for the next run, as
 * it always has (doc/queue.md: the writer's pid is in the id). */
static bool ours(pid_t pid, void *arg)
{
	const struct crew *c = arg;

	for (size_t i = 0; i < c->n_ever; i++)
		if (c->ever[i] == pid)
			return true;
	return pid == getpid();
}

/* Arrivals get a worker per batch, up to max_parallel at a time; a batch
 * that finds no free worker waits in *pending. */
static void serve_arrivals(const struct pool *p, struct crew *c, char ***pending, size_t *n)
{
	size_t k;
	char **more = arrivals_take(p->arrivals, ours, c, &k);

	if (k > 0) {
		char **all = realloc(*pending, (*n + k) * sizeof *all);
		if (all) {
			memcpy(all + *n, more, k * sizeof *more);
			*pending = all;
			*n += k;
		} else {
			queue_ids_free(more, k);     /* the timer's run takes them */
			more = NULL;
		}
	}
	free(more);
	if (*n == 0 || c->n_late >= p->cfg->max_parallel)
		return;
	atomic_size_t next = 0;        /* copied into the worker by fork */
	start(p, c, true, *pending, *n, &next);
	queue_ids_free(*pending, *n);
	*pending = NULL;
	*n = 0;
}

int workers_run(const struct pool *p, char **ids, size_t n_ids)
{
	struct crew c = { .rc = 0 };
	size_t want = p->cfg->max_parallel < n_ids ? p->cfg->max_parallel : n_ids;
	atomic_size_t *next = mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE,
	                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char **pending = NULL;
	size_t n_pending = 0;

	if (next == MAP_FAILED) {
		atomic_size_t local = 0;
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "mmap", "error", strerror(errno), NULL);
		return work(p, ids, n_ids, &local);
	}
	atomic_init(next, 0);
	for (size_t k = 0; k < want && start(p, &c, false, ids, n_ids, next); k++)
		;
	if (want > 0 && c.n == 0 && work(p, ids, n_ids, next) < 0)
		c.rc = -1;         /* no worker could start: do them here */
	time_t listed = monotonic_s();
	while (p->arrivals) {
		if (monotonic_s() - listed >= RELIST_S) {
			size_t handed = atomic_load(next);
			arrivals_relist(p->arrivals, handed);
			listed = monotonic_s();
		}
		serve_arrivals(p, &c, &pending, &n_pending);
		if (c.n == 0 && n_pending == 0)
			break;
		arrivals_wait(p->arrivals, POLL_MS);
		reap(&c, false);
	}
	reap(&c, true);
	free(c.ever);
	queue_ids_free(pending, n_pending);
	munmap(next, sizeof *next);
	return c.rc;
}
