/* target.c - where a recipient's copy goes. */
#include "target.h"
#include "local.h"
#include "log.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void stores_init(struct stores *st, const struct config *cfg)
{
	st->cfg = cfg;
	st->rootfd = -1;
	st->queuefd = -1;
	st->lmtp = NULL;
}

int stores_root(struct stores *st)
{
	if (st->rootfd < 0) {
		st->rootfd = open(st->cfg->mail_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (st->rootfd < 0)
			log_event(LOG_LEVEL_ERROR, "trouble", "path", st->cfg->mail_root,
			          "error", strerror(errno), NULL);
	}
	return st->rootfd;
}

int stores_queue(struct stores *st)
{
	if (st->queuefd < 0) {
		st->queuefd = queue_open(st->cfg->queue_dir);
		if (st->queuefd < 0)
			log_event(LOG_LEVEL_ERROR, "trouble", "path", st->cfg->queue_dir,
			          "error", strerror(errno), NULL);
	}
	return st->queuefd;
}

void stores_close(struct stores *st)
{
	if (st->rootfd >= 0)
		close(st->rootfd);
	if (st->queuefd >= 0)
		close(st->queuefd);
	st->rootfd = st->queuefd = -1;
	lmtp_check_close(&st->lmtp);
}

/* out->address is of a local domain: its Maildir, by the rule of local.h. */
static enum target_verdict local_target(struct stores *st, struct target *out)
{
	out->kind = TARGET_MAILDIR;
	switch (local_maildir(stores_root(st), out->address, out->dir, sizeof out->dir)) {
	case LOCAL_OK:
		return TARGET_OK;
	case LOCAL_UNKNOWN:
		return TARGET_UNKNOWN_USER;
	case LOCAL_BAD_NAME:
		return TARGET_BAD_LOCAL;
	case LOCAL_NOT_MAILDIR:
		log_event(LOG_LEVEL_ERROR, "trouble", "path", out->dir,
		          "error", "not a Maildir: tmp, new or cur missing", NULL);
		return TARGET_TEMPFAIL;
	case LOCAL_ERROR:
		if (st->rootfd >= 0)           /* else stores_root() said why */
			log_event(LOG_LEVEL_ERROR, "trouble", "path", out->dir,
			          "error", strerror(errno), NULL);
		return TARGET_TEMPFAIL;
	}
	return TARGET_TEMPFAIL;
}

/* With local_delivery = lmtp:..., the LMTP server says who exists, now
 * (no backscatter), and the copy is queued for it: the relay delivers. */
static enum target_verdict lmtp_target(struct stores *st, struct target *out)
{
	if (!local_address_ok(out->address))     /* design.md: 553 5.1.3, as for Maildirs */
		return TARGET_BAD_LOCAL;
	out->kind = TARGET_QUEUE;
	out->lmtp = true;
	switch (lmtp_check_rcpt(&st->lmtp, st->cfg, out->address)) {
	case LMTP_TAKES:
		return TARGET_OK;
	case LMTP_REFUSES:
		return TARGET_UNKNOWN_USER;
	case LMTP_UNREACHABLE:
		break;
	}
	return TARGET_LMTP_DOWN;
}

enum target_verdict target_resolve(struct stores *st, bool may_relay,
                                   const struct mailbox *mb, struct target *out)
{
	memset(out, 0, sizeof *out);
	if (!mailbox_format(mb, out->address, sizeof out->address))
		return TARGET_BAD_LOCAL;
	if (mb->source_route && !may_relay)
		return TARGET_ROUTE_DENIED;
	if (!mb->literal && config_is_local_domain(st->cfg, mb->domain))
		return st->cfg->local_delivery[0] ? lmtp_target(st, out) : local_target(st, out);
	if (!may_relay)
		return TARGET_RELAY_DENIED;
	out->kind = TARGET_QUEUE;
	return TARGET_OK;
}

enum target_verdict target_postmaster(struct stores *st, struct target *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->address, sizeof out->address, "postmaster@%s", st->cfg->domains[0]);
	return st->cfg->local_delivery[0] ? lmtp_target(st, out) : local_target(st, out);
}

bool target_same(const struct target *a, const struct target *b)
{
	if (a->kind != b->kind || a->lmtp != b->lmtp)
		return false;
	if (a->kind == TARGET_MAILDIR)
		return strcmp(a->dir, b->dir) == 0;
	return strcmp(a->address, b->address) == 0;
}
