/* mailq.c - "smtp-relay -l": the queue as mailq shows it. */
#include "mailq.h"
#include "fsutil.h"
#include "queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "42s", "17m", "5h", "3d" */
static void span(long long secs, char *buf, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, size, "%llds", secs);
	else if (secs < 7200)
		snprintf(buf, size, "%lldm", secs / 60);
	else if (secs < 2 * 86400)
		snprintf(buf, size, "%lldh", secs / 3600);
	else
		snprintf(buf, size, "%lldd", secs / 86400);
}

static void print_entry(FILE *out, int queuefd, const struct envelope *env)
{
	char age[32], next[32];
	time_t now = time(NULL);
	long long size = queue_message_size(queuefd, env->id);
	span(now - env->arrival, age, sizeof age);
	span(env->next_attempt - now, next, sizeof next);
	fprintf(out, "%s  age %s  size %lld  <%s>\n", env->id, age, size, env->sender);
	fprintf(out, "    attempts %u, next attempt %s%s\n", env->attempts,
	        env->next_attempt <= now ? "now" : "in ", env->next_attempt <= now ? "" : next);
	if (env->error)
		fprintf(out, "    last error: %s\n", env->error);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct envelope_rcpt *r = &env->rcpts[i];
		if (r->state != RCPT_PENDING)
			continue;
		fprintf(out, "    %s", r->address);
		if (r->via)                  /* by a command or LMTP, not by SMTP: its kind */
			fprintf(out, "  [%.*s]", (int)strcspn(r->via, " "), r->via);
		if (r->error)
			fprintf(out, "  (%s)", r->error);
		fputc('\n', out);
	}
}

static int list_one(FILE *out, int queuefd, const char *id)
{
	struct envelope env;
	int rc = envelope_load(queuefd, id, &env);

	if (rc > 0)
		print_entry(out, queuefd, &env);
	else if (rc < 0)
		fprintf(out, "%s  (unreadable envelope)\n", id);
	envelope_free(&env);
	return rc != 0;          /* 0: delivered meanwhile */
}

int list_queue(const struct config *cfg, FILE *out)
{
	int queuefd = queue_open_existing(cfg->queue_dir);

	if (queuefd < 0) {
		if (errno == ENOENT) {
			fputs("queue is empty\n", out);
			return 0;
		}
		return -1;
	}
	size_t n_ids, count = 0;
	char **ids = queue_ids(queuefd, "env", &n_ids);
	for (size_t i = 0; i < n_ids; i++)
		count += (size_t)list_one(out, queuefd, ids[i]);
	queue_ids_free(ids, n_ids);
	close_quietly(queuefd);
	if (count == 0)
		fputs("queue is empty\n", out);
	else
		fprintf(out, "-- %zu %s\n", count, count == 1 ? "entry" : "entries");
	return fflush(out) == 0 ? 0 : -1;
}
