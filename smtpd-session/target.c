/* target.c - where a recipient's copy goes. */
#include "target.h"
#include "fsutil.h"
#include "log.h"
#include "maildir.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void stores_init(struct stores *st, const struct config *cfg)
{
	st->cfg = cfg;
	st->rootfd = -1;
	st->queuefd = -1;
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
}

static void lower(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	dst[n] = '\0';
}

static enum target_verdict local_target(struct stores *st, const char *domain,
                                        const char *user, struct target *out)
{
	int root = stores_root(st);
	char dom[DOMAIN_MAX + 1];

	if (root < 0)
		return TARGET_TEMPFAIL;
	lower(dom, domain, strlen(domain));
	snprintf(out->dir, sizeof out->dir, "%s/%s", dom, user);
	out->kind = TARGET_MAILDIR;
	if (maildir_exists(root, out->dir))
		return TARGET_OK;
	if (strcmp(user, "postmaster") == 0) {           /* RFC 5321 4.5.1 */
		if (maildir_create(root, out->dir) == 0)
			return TARGET_OK;
		log_event(LOG_LEVEL_ERROR, "trouble", "path", out->dir,
		          "error", strerror(errno), NULL);
		return TARGET_TEMPFAIL;
	}
	if (is_dir_at(root, out->dir)) {
		log_event(LOG_LEVEL_ERROR, "trouble", "path", out->dir,
		          "error", "not a Maildir: tmp, new or cur missing", NULL);
		return TARGET_TEMPFAIL;
	}
	return TARGET_UNKNOWN_USER;
}

enum target_verdict target_resolve(struct stores *st, bool may_relay,
                                   const struct mailbox *mb, struct target *out)
{
	memset(out, 0, sizeof *out);
	if (!mailbox_format(mb, out->address, sizeof out->address))
		return TARGET_BAD_LOCAL;
	if (mb->source_route && !may_relay)
		return TARGET_ROUTE_DENIED;
	if (!mb->literal && config_is_local_domain(st->cfg, mb->domain)) {
		char user[LOCAL_PART_MAX + 1];
		if (!local_user(mb->local, mb->quoted, user, sizeof user))
			return TARGET_BAD_LOCAL;
		return local_target(st, mb->domain, user, out);
	}
	if (!may_relay)
		return TARGET_RELAY_DENIED;
	out->kind = TARGET_QUEUE;
	return TARGET_OK;
}

enum target_verdict target_postmaster(struct stores *st, struct target *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->address, sizeof out->address, "postmaster@%s", st->cfg->domains[0]);
	return local_target(st, st->cfg->domains[0], "postmaster", out);
}

bool target_same(const struct target *a, const struct target *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == TARGET_MAILDIR)
		return strcmp(a->dir, b->dir) == 0;
	return strcmp(a->address, b->address) == 0;
}
