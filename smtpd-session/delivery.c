/* delivery.c - one message on its way to disk. */
#include "delivery.h"
#include "command.h"
#include "fsutil.h"
#include "log.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int spool_flush(struct spool *sp)
{
	if (sp->error == 0 && sp->wlen > 0 && write_all(sp->fd, sp->wbuf, sp->wlen) < 0)
		sp->error = errno;
	sp->wlen = 0;
	return sp->error ? -1 : 0;
}

void spool_write(void *spool, const char *bytes, size_t len)
{
	struct spool *sp = spool;

	if (sp->error)
		return;
	/* RFC 5322 2.2.3: content starting with SP or HT would continue our
	 * Received field; an empty line first makes it the body instead. */
	if (sp->at_content && len > 0) {
		sp->at_content = 0;
		if (bytes[0] == ' ' || bytes[0] == '\t') {
			sp->limit++;
			spool_write(sp, "\n", 1);
		}
	}
	if (len > sp->limit - sp->size) {
		sp->error = EFBIG;
		return;
	}
	sp->size += len;
	if (len > sizeof sp->wbuf - sp->wlen) {
		if (spool_flush(sp) < 0)
			return;
		if (len >= sizeof sp->wbuf) {
			if (write_all(sp->fd, bytes, len) < 0)
				sp->error = errno;
			return;
		}
	}
	memcpy(sp->wbuf + sp->wlen, bytes, len);
	sp->wlen += len;
}

static void put_text(struct spool *sp, const char *s)
{
	spool_write(sp, s, strlen(s));
}

/* Delivered-To: for each alias the message was expanded for, once (as
 * qmail does): a copy that comes back through a forward is a loop. */
static void write_delivered_to(struct spool *sp, const struct transaction *tx)
{
	char line[ADDRESS_MAX + 32];

	for (size_t i = 0; i < tx->n_aliases; i++) {
		snprintf(line, sizeof line, "Delivered-To: %s\n", tx->aliases[i]);
		put_text(sp, line);
	}
}

static bool names_alias(const struct transaction *tx, const char *value)
{
	for (size_t i = 0; i < tx->n_aliases; i++)
		if (strcasecmp(tx->aliases[i], value) == 0)
			return true;
	return false;
}

bool spool_loops(struct spool *sp, const struct transaction *tx)
{
	static char head[65536];
	if (tx->n_aliases == 0 || sp->error || spool_flush(sp) < 0)
		return false;
	ssize_t n = pread(sp->fd, head, sizeof head - 1, (off_t)sp->trace_end);
	if (n <= 0)
		return false;
	head[n] = '\0';
	for (char *line = head; *line && *line != '\n';) {
		char *end = strchr(line, '\n');
		if (!end)
			break;
		*end = '\0';
		if (strncasecmp(line, "Delivered-To:", 13) == 0) {
			char *v = line + 13;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t len = strlen(v);
			while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				v[--len] = '\0';
			if (names_alias(tx, v))
				return true;
		}
		line = end + 1;
	}
	return false;
}

/* Return-Path (RFC 5321 4.4) and our Received trace field. */
static void write_trace(struct spool *sp, const struct transaction *tx, const struct trace *tr,
                        const char *hostname)
{
	char line[1024], date[64];
	time_t now = time(NULL);
	struct tm tm;

	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&now, &tm));
	snprintf(line, sizeof line, "Return-Path: <%s>\n", tx->sender);
	put_text(sp, line);
	write_delivered_to(sp, tx);
	if (tr->peer_is_local)
		snprintf(line, sizeof line, "Received: from %s (local)\n", tr->helo);
	else
		snprintf(line, sizeof line, "Received: from %s ([%s%s])\n", tr->helo,
		         strchr(tr->peer, ':') ? "IPv6:" : "", tr->peer);
	put_text(sp, line);
	snprintf(line, sizeof line, "\tby %s (mailsock) with %s%s%s%s id %s\n", hostname,
	         tr->protocol, tr->tls ? " (" : "", tr->tls ? tr->tls : "", tr->tls ? ")" : "", sp->id);
	put_text(sp, line);
	/* Name the recipient only when there is one: a file shared by several
	 * recipients must not disclose the others (as Postfix does). */
	if (tx->n_rcpts == 1)
		snprintf(line, sizeof line, "\tfor <%s>; %s\n", tx->rcpts[0].address, date);
	else
		snprintf(line, sizeof line, "\t%s\n", date);
	put_text(sp, line);
}

int spool_open(struct spool *sp, struct stores *st, const struct transaction *tx,
               const struct trace *tr, uint64_t limit)
{
	const struct target *first = &tx->rcpts[0];

	sp->stores = st;
	sp->fd = -1;
	sp->size = sp->wlen = 0;
	sp->error = 0;
	sp->at_content = 0;
	sp->limit = UINT64_MAX;
	unique_id(sp->id, sizeof sp->id);
	if (first->kind == TARGET_MAILDIR) {
		sp->dirfd = stores_root(st);
		snprintf(sp->path, sizeof sp->path, "%s/tmp/%s", first->dir, sp->id);
		if (sp->dirfd < 0)
			return -1;
		sp->fd = openat(sp->dirfd, sp->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	} else {
		sp->dirfd = stores_queue(st);
		if (sp->dirfd < 0)
			return -1;
		sp->fd = queue_create_tmp(sp->dirfd, sp->id, sp->path, sizeof sp->path);
	}
	if (sp->fd < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "path", sp->path, "error", strerror(errno), NULL);
		return -1;
	}
	write_trace(sp, tx, tr, st->cfg->hostname);
	sp->trace_end = sp->size;
	sp->limit = sp->size + limit;
	sp->at_content = 1;
	return 0;
}

void spool_discard(struct spool *sp)
{
	if (sp->fd < 0)
		return;
	close(sp->fd);
	unlinkat(sp->dirfd, sp->path, 0);
	sp->fd = -1;
}

/* A queued recipient; one for the LMTP server of local_delivery, or for an
 * alias's command or LMTP server, gets its "rcpt-via KIND VALUE" line
 * (doc/queue.md). */
static int add_rcpt(struct envelope *env, const struct target *t, const struct config *cfg)
{
	if (envelope_add_rcpt(env, RCPT_PENDING, t->address) < 0)
		return -1;
	if (t->lmtp)
		return envelope_set_via(env, "lmtp", cfg->local_delivery);
	if (t->via != VIA_SMTP)
		return envelope_set_via(env, t->via == VIA_PIPE ? "pipe" : "lmtp", t->via_value);
	return 0;
}

/* The queue's copy: the spool file and an envelope of the relayed recipients. */
static int deliver_to_queue(struct spool *sp, const struct transaction *tx, const struct trace *tr)
{
	int queuefd = stores_queue(sp->stores);
	struct envelope env;

	if (queuefd < 0)
		return -1;
	int rc = envelope_init(&env, sp->id, tr->peer, tr->helo, tx->sender);
	env.body_8bit = tx->body_8bit;
	env.smtputf8 = tx->smtputf8;
	if (tr->session_id)
		snprintf(env.session, sizeof env.session, "%s", tr->session_id);
	for (size_t i = 0; i < tx->n_rcpts && rc == 0; i++)
		if (tx->rcpts[i].kind == TARGET_QUEUE)
			rc = add_rcpt(&env, &tx->rcpts[i], sp->stores->cfg);
	if (rc == 0)
		rc = queue_enqueue(queuefd, sp->dirfd, sp->path, sp->fd, &env);
	int saved = errno;
	envelope_free(&env);
	errno = saved;
	return rc;
}

/* A failed commit takes back the copies already in place: the client is
 * told 4xx and will send again, and no recipient may get the message twice. */
static void withdraw(struct spool *sp, const struct transaction *tx, size_t upto)
{
	for (size_t i = 0; i < upto && i < tx->n_rcpts; i++)
		if (tx->rcpts[i].kind == TARGET_MAILDIR)
			maildir_withdraw(stores_root(sp->stores), tx->rcpts[i].dir, sp->id,
			                 sp->stores->cfg->hostname, sp->size);
}

/* Maildirs first, the queue last: once its envelope is in place smtp-relay
 * may send it at once, so nothing may fail after it. */
int spool_commit(struct spool *sp, const struct transaction *tx, const struct trace *tr)
{
	bool relayed = false;
	char where[CONFIG_PATH_MAX + 16];      /* what failed, named in the log */
	size_t i;

	snprintf(where, sizeof where, "%s", sp->path);
	if (spool_flush(sp) < 0 || fsync(sp->fd) < 0) {
		if (!sp->error)
			sp->error = errno;
		errno = sp->error;
		goto trouble;
	}
	for (i = 0; i < tx->n_rcpts; i++) {
		const struct target *t = &tx->rcpts[i];
		if (t->kind == TARGET_QUEUE) {
			relayed = true;
			continue;
		}
		snprintf(where, sizeof where, "%s/new", t->dir);
		if (maildir_deliver(sp->dirfd, sp->path, sp->fd, stores_root(sp->stores), t->dir,
		                    sp->id, sp->stores->cfg->hostname, sp->size) < 0)
			goto undo;
	}
	snprintf(where, sizeof where, "%s", sp->stores->cfg->queue_dir);
	if (relayed && deliver_to_queue(sp, tx, tr) < 0)
		goto undo;
	spool_discard(sp);
	return 0;
undo:
	sp->error = errno;
	withdraw(sp, tx, i + 1);
	errno = sp->error;
trouble:
	sp->error = errno;
	log_event(LOG_LEVEL_ERROR, "trouble", "msgid", sp->id, "path", where,
	          "error", strerror(errno), NULL);
	spool_discard(sp);
	errno = sp->error;
	return -1;
}

/* "a@x b@y ...": the RECIPIENTS variable.  NULL on out of memory. */
static char *recipient_list(const struct transaction *tx)
{
	size_t size = 1;

	for (size_t i = 0; i < tx->n_rcpts; i++)
		size += strlen(tx->rcpts[i].address) + 1;
	char *list = malloc(size), *p = list;
	if (!list)
		return NULL;
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		size_t n = strlen(tx->rcpts[i].address);
		if (i > 0)
			*p++ = ' ';
		memcpy(p, tx->rcpts[i].address, n);
		p += n;
	}
	*p = '\0';
	return list;
}

void spool_run_command(struct spool *sp, const struct transaction *tx, const struct trace *tr,
                       int *code, char *enh, size_t esize, char *text, size_t tsize)
{
	const struct config *cfg = sp->stores->cfg;
	char *rcpts = recipient_list(tx);
	struct command_result cr;
	const char *said;

	*code = 451;
	snprintf(enh, esize, "4.3.0");
	if (!rcpts || spool_flush(sp) < 0) {
		snprintf(text, tsize, "Local error in processing");
		free(rcpts);
		return;
	}
	struct command_var vars[] = {
		{ "SENDER", tx->sender }, { "RECIPIENTS", rcpts },
		{ "PEER", tr->peer_is_local ? "" : tr->peer }, { "HELO", tr->helo },
		{ "SESSION_ID", tr->session_id }, { "MESSAGE_ID", sp->id },
	};
	command_run(cfg->message_command, vars, sizeof vars / sizeof vars[0], sp->fd,
	            cfg->message_command_timeout, cfg->user, &cr);
	free(rcpts);
	char verdict = command_verdict(&cr);
	char status[16];
	snprintf(status, sizeof status, "%d", cr.status);
	log_event(LOG_LEVEL_INFO, "command", "msgid", sp->id,
	          "end", cr.end == COMMAND_EXITED ? "exit" : cr.end == COMMAND_SIGNALED ? "signal"
	                 : cr.end == COMMAND_TIMEOUT ? "timeout" : "refused",
	          "status", status, "why", cr.why, NULL);
	if (verdict == 'D') {
		*code = 250;
		snprintf(enh, esize, "2.0.0");
		snprintf(text, tsize, "Ok: processed as %s", sp->id);
	} else if (command_enhanced(&cr, verdict == 'T' ? '4' : '5', enh, esize, &said)) {
		*code = verdict == 'T' ? 451 : 554;
		snprintf(text, tsize, "%s", said[0] ? said : "Message refused");
	} else if (verdict == 'T') {
		snprintf(text, tsize, "Message not processed, try again later");
	} else {
		*code = 554;
		snprintf(enh, esize, "5.3.0");
		snprintf(text, tsize, "Message refused");
	}
}
