/* entry.c - one queue entry: lock, read, deliver per domain, record the
 * outcome of each recipient durably, bounce, reschedule or remove.
 *
 * Order matters for crash safety (doc/queue.md): delivered recipients are
 * written to the envelope after each transaction, so a later run does not
 * send them again; failed ones are marked only after their DSN is stored, so a
 * crash can duplicate a bounce but never lose one. */
#include "entry.h"
#include "bounce.h"
#include "smtp.h"
#include "fsutil.h"
#include "lmtp.h"
#include "log.h"
#include "route.h"
#include "pipe.h"
#include "queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct work {
	struct runner *rn;
	struct envelope env;
	int msgfd;
	struct message msg;
	struct job_rcpt *rcpts;    /* one per pending recipient, in the envelope's order */
	size_t n;
	bool broken;               /* the envelope could not be written: stop */
	time_t now;
};

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "";
}

/* The size on the wire: CR LF line ends, so one octet more per line. */
static uint64_t wire_size(int fd)
{
	char buf[8192];
	uint64_t size = 0;
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return size;
		off += n;
		size += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++)
			size += buf[i] == '\n';
	}
}

static int collect_rcpts(struct work *w)
{
	w->rcpts = calloc(w->env.n_rcpts, sizeof *w->rcpts);
	if (!w->rcpts)
		return -1;
	for (size_t i = 0; i < w->env.n_rcpts; i++)
		if (w->env.rcpts[i].state == RCPT_PENDING)
			w->rcpts[w->n++].rcpt = &w->env.rcpts[i];
	return 0;
}

/* Recipients of one domain share a route and a transaction; with a
 * smarthost, all of them do.  Recipients with a rcpt-via line share one
 * when it is the same (KIND and VALUE). */
static bool same_route(const struct config *cfg, const struct envelope_rcpt *a,
                       const struct envelope_rcpt *b)
{
	if (a->via || b->via)
		return a->via && b->via && strcmp(a->via, b->via) == 0;
	return cfg->smarthost[0] || strcasecmp(domain_of(a->address), domain_of(b->address)) == 0;
}

/* A group with a rcpt-via line goes to that transport: "lmtp SPEC". */
static void deliver_via(struct work *w, const char *via, struct job *job)
{
	if (strncmp(via, "lmtp ", 5) == 0) {
		lmtp_deliver(w->rn->cfg, w->rn->cache, via + 5, job);
		return;
	}
	if (strncmp(via, "pipe ", 5) == 0) {      /* an alias's |command (pipe.c) */
		pipe_deliver(w->rn->cfg, &w->env, via + 5, job);
		return;
	}
	for (size_t i = 0; i < job->n; i++)
		result_set(&job->rcpts[i]->result, OUT_TEMP, 451, "4.3.5",
		           "no transport for this rcpt-via kind");
}


static void deliver_domain(struct work *w, const char *domain, struct job *job)
{
	struct route route;
	struct result why;

	if (route_find(w->rn->dns, w->rn->cfg, domain, &route, &why) < 0) {
		for (size_t i = 0; i < job->n; i++)
			job->rcpts[i]->result = why;
		log_event(LOG_LEVEL_INFO, "route", "domain", domain, "enh", why.enh,
		          "reply", why.text, NULL);
		return;
	}
	client_deliver(w->rn->cfg, w->rn->cache, &route, job);
	route_free(&route);
}

static bool all_done(const struct envelope *env)
{
	for (size_t i = 0; i < env->n_rcpts; i++)
		if (env->rcpts[i].state == RCPT_PENDING)
			return false;
	return true;
}

/* Durably record the recipients of the domain being delivered that its
 * last transaction delivered (smtp.c calls this after each one, so a
 * crash later in the run does not send to them again).  When that leaves
 * none pending, the entry's removal, next, records it: no envelope is
 * written (a crash in between sends again, as one before this write would).
 * -1 when the envelope cannot be written: the entry is left alone. */
static int save_delivered(void *arg, const struct job *job)
{
	struct work *w = arg;

	for (size_t m = 0; m < job->n; m++)
		if (job->rcpts[m]->result.outcome == OUT_OK)
			job->rcpts[m]->rcpt->state = RCPT_DELIVERED;
	if (all_done(&w->env) || envelope_write(w->rn->queuefd, &w->env) == 0)
		return 0;
	log_event(LOG_LEVEL_ERROR, "trouble", "action", "envelope write",
	          "error", strerror(errno), NULL);
	w->broken = true;
	return -1;
}

/* One job per transport and route, in the order they first appear; the
 * recipients left for later jobs keep their order in left[]. */
static void deliver_all(struct work *w)
{
	struct job_rcpt **left = calloc(w->n ? w->n : 1, sizeof *left);
	struct job_rcpt **group = calloc(w->n ? w->n : 1, sizeof *group);
	struct job job = { .msg = &w->msg, .rcpts = group, .save = save_delivered, .save_arg = w };
	size_t n_left = 0;

	for (size_t i = 0; left && i < w->n; i++)
		left[n_left++] = &w->rcpts[i];
	while (group && n_left > 0 && !w->broken) {
		const struct envelope_rcpt *first = left[0]->rcpt;
		size_t rest = 0;
		job.n = 0;
		for (size_t i = 0; i < n_left; i++)
			if (same_route(w->rn->cfg, left[i]->rcpt, first))
				group[job.n++] = left[i];
			else
				left[rest++] = left[i];
		n_left = rest;
		if (first->via)
			deliver_via(w, first->via, &job);
		else
			deliver_domain(w, domain_of(first->address), &job);
	}
	free(left);
	free(group);
}

/* Delay before attempt number attempts + 1 (attempts >= 1): retry_min,
 * doubled after each attempt, at most retry_max. */
static unsigned retry_delay(const struct config *cfg, unsigned attempts)
{
	unsigned delay = cfg->retry_min;

	for (unsigned i = 1; i < attempts && delay < cfg->retry_max; i++)
		delay = delay > cfg->retry_max / 2 ? cfg->retry_max : delay * 2;
	return delay < cfg->retry_max ? delay : cfg->retry_max;
}

/* Past queue_lifetime, what is still deferred fails for good. */
static void expire(struct work *w)
{
	if (w->now - w->env.arrival < (time_t)w->rn->cfg->queue_lifetime)
		return;
	for (size_t i = 0; i < w->n; i++) {
		struct result *r = &w->rcpts[i].result;
		if (r->outcome != OUT_TEMP && r->outcome != OUT_NONE)
			continue;
		char text[sizeof r->text];
		snprintf(text, sizeof text, "delivery time expired; last trouble: %d %.400s", r->code,
		         r->text);
		snprintf(r->text, sizeof r->text, "%s", text);
		snprintf(r->enh, sizeof r->enh, "4.4.7");
		r->outcome = OUT_PERM;
		r->remote = false;     /* our verdict; the last reply is in the text */
	}
}

static void log_outcome(const struct work *w, const struct job_rcpt *j, const char *status)
{
	char delay[32], attempts[16], code[8];

	snprintf(delay, sizeof delay, "%lld", (long long)(w->now - w->env.arrival));
	snprintf(attempts, sizeof attempts, "%u", w->env.attempts + 1);
	snprintf(code, sizeof code, "%d", j->result.code);
	log_event(LOG_LEVEL_INFO, "delivery", "rcpt", j->rcpt->address, "status", status,
	          "relay", j->result.mta[0] ? j->result.mta : "none",
	          "addr", j->result.addr[0] ? j->result.addr : "none", "code", code,
	          "enh", j->result.enh, "delay", delay, "attempts", attempts,
	          "reply", j->result.text, "tls", j->result.tls[0] ? j->result.tls : "none", NULL);
}

/* Bounce the recipients that failed for good (never to <>), then mark them. */
static void bounce_failed(struct work *w)
{
	struct bounce_item *items = calloc(w->n ? w->n : 1, sizeof *items);
	size_t k = 0;

	if (!items)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->rcpts[i].result.outcome == OUT_PERM) {
			items[k].rcpt = w->rcpts[i].rcpt->address;
			items[k++].result = &w->rcpts[i].result;
		}
	bool stored = true;
	if (k > 0 && w->env.sender[0] == '\0')
		log_event(LOG_LEVEL_INFO, "bounce", "to", "<>", "result", "suppressed: null sender",
		          NULL);
	else if (k > 0)
		stored = bounce_send(w->rn->cfg, w->rn->queuefd, &w->env, w->msgfd, items, k) == 0;
	for (size_t i = 0; i < w->n; i++) {
		struct result *r = &w->rcpts[i].result;
		if (r->outcome == OUT_PERM && !stored)
			r->outcome = OUT_TEMP;     /* tried again, and bounced, next run */
		else if (r->outcome == OUT_PERM)
			w->rcpts[i].rcpt->state = RCPT_FAILED;
	}
	free(items);
}

static void record_errors(struct work *w)
{
	char text[1024];

	for (size_t i = 0; i < w->n; i++) {
		struct job_rcpt *j = &w->rcpts[i];
		struct envelope_rcpt *r = j->rcpt;
		static const char *const names[] = {
			[OUT_NONE] = "deferred", [OUT_OK] = "sent",
			[OUT_TEMP] = "deferred", [OUT_PERM] = "bounced",
		};
		log_outcome(w, j, names[j->result.outcome]);
		if (j->result.outcome == OUT_OK)
			continue;
		result_format(&j->result, text, sizeof text);
		free(r->error);
		r->error = strdup(text);
		if (j->result.outcome != OUT_PERM) {
			free(w->env.error);
			w->env.error = strdup(text);
		}
	}
}

static void remove_entry(struct work *w)
{
	int rc = queue_remove(w->rn->queuefd, w->env.id);

	if (rc != 0)
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "remove", "error", strerror(errno), NULL);
	if (rc >= 0)
		log_event(LOG_LEVEL_INFO, "removed", NULL);
}

static void finish(struct work *w)
{
	expire(w);
	bounce_failed(w);
	record_errors(w);
	if (all_done(&w->env)) {
		remove_entry(w);
		return;
	}
	w->env.attempts++;
	w->env.next_attempt = w->now + (time_t)retry_delay(w->rn->cfg, w->env.attempts);
	if (envelope_write(w->rn->queuefd, &w->env) < 0)
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "envelope write",
		          "error", strerror(errno), NULL);
}

static void deliver_entry(struct work *w)
{
	struct stat st;

	if (fstat(w->msgfd, &st) < 0 || collect_rcpts(w) < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "error", strerror(errno), NULL);
		return;
	}
	w->msg = (struct message){ .id = w->env.id, .fd = w->msgfd, .size = wire_size(w->msgfd),
	                           .sender = w->env.sender, .body_8bit = w->env.body_8bit,
	                           .smtputf8 = w->env.smtputf8 };
	deliver_all(w);
	if (w->broken)
		return;
	w->now = time(NULL);
	finish(w);
}

/* An envelope that cannot be parsed never will be: its entry moves to
 * corrupt/ (doc/queue.md) and is logged once, there. */
static void quarantine(int q, const char *id)
{
	if (queue_quarantine(q, id) < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "move to corrupt/",
		          "error", strerror(errno), NULL);
		return;
	}
	log_event(LOG_LEVEL_ERROR, "corrupt", "reason", "unreadable envelope",
	          "moved-to", "corrupt/", NULL);
}

void entry_process(struct runner *rn, const char *id)
{
	struct work w = { .rn = rn, .now = time(NULL) };

	log_set_context("msgid", id);
	w.msgfd = queue_lock(rn->queuefd, id);
	if (w.msgfd < 0) {
		if (errno == EWOULDBLOCK)
			log_event(LOG_LEVEL_DEBUG, "skip", "reason", "locked by another run", NULL);
		else if (errno != ENOENT)
			log_event(LOG_LEVEL_ERROR, "trouble", "error", strerror(errno), NULL);
		else if (queue_has_envelope(rn->queuefd, id))    /* msg/ is written first, removed last */
			log_event(LOG_LEVEL_ERROR, "trouble", "error", "envelope without message", NULL);
		return;
	}
	int rc = envelope_load(rn->queuefd, id, &w.env);
	if (rc == -2)
		quarantine(rn->queuefd, id);
	else if (rc < 0)
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "envelope read",
		          "error", strerror(errno), NULL);
	else if (rc > 0 && (rn->flush || w.env.next_attempt <= w.now))
		deliver_entry(&w);
	envelope_free(&w.env);
	free(w.rcpts);
	close_quietly(w.msgfd);
}
