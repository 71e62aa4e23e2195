/* arrivals.c - entries queued while a run delivers.
 *
 * smtp-relay.path starts a run when an envelope is renamed into env/, but
 * while a run is going (a oneshot service, "activating") that start merges
 * into it, and a run busy with a slow backlog would leave the new message
 * to the timer, up to five minutes.  So the run itself watches env/ with
 * inotify from before its first listing until it exits: each name renamed
 * in (IN_MOVED_TO: a new entry, or an envelope rewritten by some run) is
 * taken when its due index says it is due and the run has not had it yet.
 * When the kernel's event queue overflows, env/ is listed again. */
#include "arrivals.h"
#include "log.h"
#include "fsutil.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

struct arrivals {
	int fd;                  /* inotify */
	int queuefd;
	char *const *ids;        /* the run's first listing, sorted */
	size_t n_ids;
	char **had;              /* taken since, sorted */
	size_t n_had;
	bool relist;             /* arrivals_relist() was called */
	size_t handed;           /* ids[handed..] are still to come */
};

struct arrivals *arrivals_watch(int queuefd)
{
	struct arrivals *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	*a = (struct arrivals){ .fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), .queuefd = queuefd };
	if (a->fd < 0 || queue_watch_env(queuefd, a->fd, IN_MOVED_TO) < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "watch env/", "error",
		          strerror(errno), NULL);
		arrivals_free(a);
		return NULL;
	}
	return a;
}

void arrivals_have(struct arrivals *a, char *const *ids, size_t n)
{
	if (a) {
		a->ids = ids;
		a->n_ids = n;
	}
}

void arrivals_free(struct arrivals *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close_quietly(a->fd);
	queue_ids_free(a->had, a->n_had);
	free(a);
}

void arrivals_wait(struct arrivals *a, int timeout_ms)
{
	struct pollfd p = { .fd = a->fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		usleep((useconds_t)timeout_ms * 1000);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is name in the sorted v?  (bsearch wants a base even for none.) */
static bool contains(char *const *v, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, v, n, sizeof *v, by_name);
}

static bool had(const struct arrivals *a, const char *name)
{
	return contains(a->ids, a->n_ids, name) || contains(a->had, a->n_had, name);
}

/* The writer's pid in an id "<s>.M<us>P<pid>Q<n>" (doc/queue.md), or 0. */
static pid_t writer_of(const char *id)
{
	const char *p = strchr(id, 'P');

	return p ? (pid_t)strtol(p + 1, NULL, 10) : 0;
}

struct taken {
	char **names;
	size_t n;
};

static void consider(struct arrivals *a, const char *name, bool (*mine)(pid_t, void *),
                     void *arg, struct taken *t)
{
	if (name[0] == '.' || had(a, name) || mine(writer_of(name), arg) ||
	    !queue_is_due(a->queuefd, name, time(NULL)))
		return;
	if (queue_names_add(&a->had, &a->n_had, name) < 0 || queue_names_add(&t->names, &t->n, name) < 0)
		return;
	qsort(a->had, a->n_had, sizeof *a->had, by_name);
}

void arrivals_relist(struct arrivals *a, size_t handed)
{
	a->relist = true;
	a->handed = handed < a->n_ids ? handed : a->n_ids;
}

/* Every due entry but those the run's workers have still to come to. */
static void relist_all(struct arrivals *a, struct taken *t)
{
	size_t n;
	char **all = queue_due_ids(a->queuefd, time(NULL), &n);
	char *const *rest = a->n_ids ? a->ids + a->handed : NULL;
	size_t n_rest = a->n_ids - a->handed;

	for (size_t i = 0; i < n; i++) {
		const char *name = all[i];
		if (contains(rest, n_rest, name))
			continue;
		if (!contains(a->had, a->n_had, name) && queue_names_add(&a->had, &a->n_had, name) == 0)
			qsort(a->had, a->n_had, sizeof *a->had, by_name);
		queue_names_add(&t->names, &t->n, name);
	}
	queue_ids_free(all, n);
	a->relist = false;
}

/* IN_Q_OVERFLOW: events were lost, so look at all of env/. */
static void relist(struct arrivals *a, bool (*mine)(pid_t, void *), void *arg, struct taken *t)
{
	size_t n;
	char **all = queue_due_ids(a->queuefd, time(NULL), &n);

	for (size_t i = 0; i < n; i++)
		consider(a, all[i], mine, arg, t);
	queue_ids_free(all, n);
}

char **arrivals_take(struct arrivals *a, bool (*mine)(pid_t pid, void *arg), void *arg,
                     size_t *n)
{
	_Alignas(struct inotify_event) char buf[16384];
	struct taken t = { 0 };
	ssize_t len;

	if (a->relist)
		relist_all(a, &t);

	while ((len = read(a->fd, buf, sizeof buf)) > 0 || (len < 0 && errno == EINTR)) {
		for (ssize_t off = 0; len > 0 && off < len;) {
			const struct inotify_event *e = (const struct inotify_event *)(buf + off);
			if (e->mask & IN_Q_OVERFLOW)
				relist(a, mine, arg, &t);
			else if (e->len > 0)
				consider(a, e->name, mine, arg, &t);
			off += (ssize_t)(sizeof *e + e->len);
		}
	}
	*n = t.n;
	return t.names;
}
