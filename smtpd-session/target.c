/* target.c - where a recipient's copy goes. */
#include "target.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void stores_init(struct stores *st, const struct config *cfg)
{
	st->cfg = cfg;
	st->rootfd = -1;
	st->queuefd = -1;
	st->lmtp = NULL;
	st->aliases = NULL;
	st->aliases_read = false;
}

static const struct aliases *stores_aliases(struct stores *st)
{
	if (!st->aliases_read && st->cfg->aliases[0]) {
		st->aliases = aliases_load(st->cfg->aliases);
		st->aliases_read = st->aliases != NULL;
	}
	return st->aliases;
}

int stores_root(struct stores *st)
{
	/* with capture, its Maildir is named from "/" (capture_target) */
	const char *root = target_capture_mode(st->cfg) ? "/" : st->cfg->mail_root;

	if (st->rootfd < 0) {
		st->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (st->rootfd < 0)
			log_event(LOG_LEVEL_ERROR, "trouble", "path", root, "error", strerror(errno), NULL);
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
	aliases_free(st->aliases);
	st->aliases = NULL;
	st->aliases_read = false;
	lmtp_check_close(&st->lmtp);
}

/* One of the alias module's targets as the session's. */
static void from_alias(const struct alias_target *a, const char *rcpt, struct target *t)
{
	memset(t, 0, sizeof *t);
	t->kind = a->kind == ALIAS_MAILDIR ? TARGET_MAILDIR : TARGET_QUEUE;
	t->via = a->kind == ALIAS_PIPE ? VIA_PIPE : a->kind == ALIAS_LMTP ? VIA_LMTP : VIA_SMTP;
	t->via_value = a->via;
	memcpy(t->dir, a->dir, sizeof t->dir);
	memcpy(t->address, a->address, sizeof t->address);
	/* a copy that reached another mailbox than the one asked for is aliased */
	if (a->kind != ALIAS_MAILDIR || strcasecmp(a->address, rcpt) != 0)
		snprintf(t->alias, sizeof t->alias, "%s", rcpt);
}

/* address is of a local domain: its targets, by the aliases and the rule
 * of local.h. */
static enum target_verdict local_targets(struct stores *st, const char *address,
                                         struct target *out, size_t *n)
{
	struct alias_target a[ALIAS_TARGETS_MAX];
	const struct aliases *al = stores_aliases(st);

	if (st->cfg->aliases[0] && !al)
		return TARGET_TEMPFAIL;                      /* out of memory */
	switch (alias_resolve(al, st->cfg, stores_root(st), address, a, ALIAS_TARGETS_MAX, n)) {
	case ALIAS_OK:
		for (size_t i = 0; i < *n; i++)
			from_alias(&a[i], address, &out[i]);
		return TARGET_OK;
	case ALIAS_UNKNOWN:
		return TARGET_UNKNOWN_USER;
	case ALIAS_BAD_NAME:
		return TARGET_BAD_LOCAL;
	case ALIAS_LOOP:
		log_event(LOG_LEVEL_ERROR, "alias-loop", "rcpt", address, NULL);
		return TARGET_LOOP;
	case ALIAS_TEMPFAIL:
		return TARGET_TEMPFAIL;
	}
	return TARGET_TEMPFAIL;
}

/* With local_delivery = lmtp:..., the LMTP server says who exists, now
 * (no backscatter), and the copy is queued for it: the relay delivers. */
static enum target_verdict lmtp_target(struct stores *st, struct target *out, size_t *n)
{
	if (!local_address_ok(out->address))     /* design.md: 553 5.1.3, as for Maildirs */
		return TARGET_BAD_LOCAL;
	out->kind = TARGET_QUEUE;
	out->lmtp = true;
	*n = 1;
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

bool target_capture_mode(const struct config *cfg)
{
	return cfg->capture[0] != '\0';
}

bool target_command_mode(const struct config *cfg)
{
	return cfg->message_command[0] && !target_capture_mode(cfg);
}

/* Every recipient's target with capture: the one Maildir (made when
 * missing), so each message is stored there once. */
static enum target_verdict capture_target(struct stores *st, struct target *out, size_t *n)
{
	int rootfd = stores_root(st);

	out->kind = TARGET_MAILDIR;
	snprintf(out->dir, sizeof out->dir, "%s", st->cfg->capture + 1);
	if (rootfd < 0)
		return TARGET_TEMPFAIL;
	if (!maildir_exists(rootfd, out->dir) && maildir_create(rootfd, out->dir) < 0) {
		log_event(LOG_LEVEL_ERROR, "trouble", "path", st->cfg->capture,
		          "error", strerror(errno), NULL);
		return TARGET_TEMPFAIL;
	}
	*n = 1;
	return TARGET_OK;
}

enum target_verdict target_resolve(struct stores *st, bool may_relay,
                                   const struct mailbox *mb, struct target *out, size_t *n)
{
	memset(out, 0, sizeof *out);
	*n = 0;
	if (!mailbox_format(mb, out->address, sizeof out->address))
		return TARGET_BAD_LOCAL;
	if (target_capture_mode(st->cfg))
		return capture_target(st, out, n);        /* any address, any client */
	bool local = !mb->literal && config_is_local_domain(st->cfg, mb->domain);
	if (target_command_mode(st->cfg) && (local || (may_relay && !mb->source_route))) {
		out->kind = TARGET_COMMAND;             /* no Maildir needed */
		*n = 1;
		return TARGET_OK;
	}
	if (mb->source_route && !may_relay)
		return TARGET_ROUTE_DENIED;
	/* aliases are not asked when an LMTP server owns the users */
	if (!mb->literal && config_is_local_domain(st->cfg, mb->domain) && st->cfg->local_delivery[0])
		return lmtp_target(st, out, n);
	if (!mb->literal && config_is_local_domain(st->cfg, mb->domain)) {
		char address[ADDRESS_MAX + 1];
		memcpy(address, out->address, sizeof address);
		enum target_verdict v = local_targets(st, address, out, n);
		if (v != TARGET_OK)
			memcpy(out->address, address, sizeof address);   /* the refusal names it */
		return v;
	}
	if (!may_relay)
		return TARGET_RELAY_DENIED;
	out->kind = TARGET_QUEUE;
	*n = 1;
	return TARGET_OK;
}

enum target_verdict target_postmaster(struct stores *st, struct target *out, size_t *n)
{
	char address[ADDRESS_MAX + 1];

	memset(out, 0, sizeof *out);
	snprintf(address, sizeof address, "postmaster@%s", st->cfg->domains[0]);
	if (target_capture_mode(st->cfg) || target_command_mode(st->cfg)) {
		memcpy(out->address, address, sizeof address);
		if (target_capture_mode(st->cfg))
			return capture_target(st, out, n);
		out->kind = TARGET_COMMAND;
		*n = 1;
		return TARGET_OK;
	}
	if (st->cfg->local_delivery[0]) {
		memcpy(out->address, address, sizeof address);
		return lmtp_target(st, out, n);
	}
	enum target_verdict v = local_targets(st, address, out, n);
	if (v != TARGET_OK)
		memcpy(out->address, address, sizeof address);
	return v;
}

bool target_same(const struct target *a, const struct target *b)
{
	if (a->kind != b->kind || a->lmtp != b->lmtp)
		return false;
	if (a->kind == TARGET_MAILDIR)
		return strcmp(a->dir, b->dir) == 0;
	if (a->kind == TARGET_COMMAND)
		return strcasecmp(a->address, b->address) == 0;
	if (a->via != b->via)
		return false;
	if (a->via != VIA_SMTP)                      /* one run of a command per message */
		return strcmp(a->via_value, b->via_value) == 0;
	return strcmp(a->address, b->address) == 0;
}
