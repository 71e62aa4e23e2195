/* pickup.c - the maildrop's reader: what mailsock-sendmail submitted
 * becomes Maildir files and queue entries (doc/queue.md "The maildrop").
 *
 * Nothing in a maildrop file is trusted but its owner: the kernel sets
 * st_uid when mailsock-postdrop creates it for the user, and the user can
 * neither reach nor rename it afterwards (maildrop/ is 1730).  Addresses
 * are parsed again here; the envelope part is a few "key value" lines. */
#include "pickup.h"
#include "address.h"
#include "alias.h"
#include "bounce.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"
#include "maildir.h"
#include "queue.h"
#include "result.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEBRIS_AGE (24 * 3600)       /* an unfinished file older than this goes */
#define CORRUPT_DROP_AGE (14 * 24 * 3600)   /* a quarantined corrupt/NAME.drop goes */
#define ENV_LINE_MAX 1024
#define RCPTS_MAX 10000
#define HEADERS_MAX (1024 * 1024)

struct submission {
	const char *name;            /* the file in maildrop/ */
	uid_t uid;
	char user[64];               /* login name, or "uid<N>" */
	char fullname[256];          /* -F, or the gecos name */
	char sender[ADDRESS_MAX + 1];  /* "" for the null sender */
	bool sender_given;           /* a "sender" line (-f) */
	char **rcpts;
	size_t n_rcpts;
	off_t content_end;           /* where the "mailsock-end" line starts */
	char id[UNIQUE_ID_MAX];
	bool body_8bit;
	time_t arrival;
};

/* ---- reading the file ---------------------------------------------------- */

/* The last line "mailsock-end N" with N octets before it. */
static int read_trailer(int fd, off_t size, off_t *end)
{
	char tail[65];
	off_t from = size > 64 ? size - 64 : 0;
	ssize_t n = pread(fd, tail, (size_t)(size - from), from);

	if (n != size - from || n < 2 || tail[n - 1] != '\n')
		return -1;
	tail[n - 1] = '\0';
	char *line = strrchr(tail, '\n');
	line = line ? line + 1 : tail;
	char *stop;
	if (strncmp(line, "mailsock-end ", 13) != 0)
		return -1;
	unsigned long long at = strtoull(line + 13, &stop, 10);
	if (*stop || stop == line + 13 || at + strlen(line) + 1 != (unsigned long long)size)
		return -1;
	*end = (off_t)at;
	return 0;
}

/* Printable ASCII only (a name goes into a header field). */
static void clean_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; *src && i + 1 < size; src++)
		dst[i++] = *src >= ' ' && *src < 127 ? *src : '?';
	dst[i] = '\0';
}

/* An address from the file, "local@domain" or a bare "local" (given the
 * domain bare_domain); "" stays "" when allow_null.  False when bad. */
static bool normalize(const char *in, const char *bare_domain, bool allow_null, char *out,
                      size_t size)
{
	char path[PATH_MAX_OCTETS + DOMAIN_MAX + 8];
	struct mailbox mb;
	size_t used;

	if (!*in) {
		out[0] = '\0';
		return allow_null;
	}
	int n = snprintf(path, sizeof path, strchr(in, '@') ? "<%s>" : "<%s@%s>", in, bare_domain);
	if (n >= (int)sizeof path || path_parse(path, (size_t)n, true, &mb, &used) != ADDR_OK ||
	    used != (size_t)n)
		return false;
	return mailbox_format(&mb, out, size);
}

static int add_rcpt(struct submission *s, const char *value)
{
	if (s->n_rcpts == RCPTS_MAX)
		return -1;
	char **r = realloc(s->rcpts, (s->n_rcpts + 1) * sizeof *r);
	if (!r)
		return -1;
	s->rcpts = r;
	if (!(r[s->n_rcpts] = strdup(value)))
		return -1;
	s->n_rcpts++;
	return 0;
}

/* "mailsock-maildrop 1", then sender, fullname and rcpt lines, then an
 * empty line. */
static int read_envelope(FILE *in, const struct config *cfg, struct submission *s)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;
	bool first = true;

	while ((n = getline(&line, &cap, in)) > 0 && n < ENV_LINE_MAX && line[n - 1] == '\n') {
		line[n - 1] = '\0';
		if (first) {
			if (strcmp(line, "mailsock-maildrop 1") != 0)
				break;
			first = false;
		} else if (line[0] == '\0') {
			rc = s->n_rcpts > 0 ? 0 : -1;
			break;
		} else if (strncmp(line, "sender ", 7) == 0) {
			if (!normalize(line + 7, cfg->hostname, true, s->sender, sizeof s->sender))
				break;
			s->sender_given = true;
		} else if (strncmp(line, "fullname ", 9) == 0) {
			clean_copy(s->fullname, sizeof s->fullname, line + 9);
		} else if (strncmp(line, "rcpt ", 5) == 0) {
			char addr[ADDRESS_MAX + 1];
			/* an address route() cannot parse would reach the DSN raw */
			if (!normalize(line + 5, cfg->domains[0], false, addr, sizeof addr) ||
			    add_rcpt(s, line + 5) < 0)
				break;
		}                              /* unknown keys: later versions */
	}
	free(line);
	return rc;
}

/* The user behind the uid; the sender, unless -f named one. */
static void who(struct submission *s, const struct config *cfg)
{
	struct passwd *pw = getpwuid(s->uid);

	if (pw)
		clean_copy(s->user, sizeof s->user, pw->pw_name);
	else
		snprintf(s->user, sizeof s->user, "uid%u", (unsigned)s->uid);
	if (!s->fullname[0] && pw && pw->pw_gecos) {
		clean_copy(s->fullname, sizeof s->fullname, pw->pw_gecos);
		char *comma = strchr(s->fullname, ',');       /* gecos: name,room,phone,... */
		if (comma)
			*comma = '\0';
	}
	if (!s->sender_given)
		snprintf(s->sender, sizeof s->sender, "%s@%s", s->user, cfg->hostname);
}

/* ---- the message --------------------------------------------------------- */

static void rfc5322_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&t, &tm));
}

static bool has_field(const char *head, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = head; p && p < head + len;) {
		if ((size_t)(head + len - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
		p = memchr(p, '\n', (size_t)(head + len - p));
		p = p ? p + 1 : NULL;
	}
	return false;
}

/* A display name as a quoted-string (RFC 5322 3.2.4). */
static void put_from(FILE *out, const struct submission *s, const struct config *cfg)
{
	fputs("From: ", out);
	if (s->fullname[0]) {
		fputc('"', out);
		for (const char *p = s->fullname; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', out);
			fputc(*p, out);
		}
		fputs("\" ", out);
	}
	fprintf(out, "<%s@%s>\n", s->user, cfg->hostname);
}

/* The header section of the content (up to and without its empty line,
 * or all of it up to HEADERS_MAX): read into *head. */
static size_t read_head(FILE *in, off_t end, char **head)
{
	size_t len = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t n;

	*head = NULL;
	while (ftello(in) < end && len < HEADERS_MAX && (n = getline(&line, &lcap, in)) > 0) {
		if (ftello(in) > end)
			n -= (ssize_t)(ftello(in) - end);
		if (len + (size_t)n + 1 > cap) {
			char *h = realloc(*head, cap = (len + (size_t)n + 1) * 2);
			if (!h)
				break;
			*head = h;
		}
		memcpy(*head + len, line, (size_t)n);
		len += (size_t)n;
		if (n == 1 && line[0] == '\n')
			break;
	}
	free(line);
	return len;
}

/* Trace, the RFC 6409 8.1-8.3 fields when missing, the content. */
static int write_message(FILE *in, FILE *out, struct submission *s, const struct config *cfg)
{
	char date[64], buf[65536], *head;

	rfc5322_date(s->arrival, date, sizeof date);
	size_t hlen = read_head(in, s->content_end, &head);
	/* RFC 5322 2.2.3: a first line starting with SP or HT would continue
	 * our Received field; then the content is all body, after our fields. */
	int folded = hlen > 0 && (head[0] == ' ' || head[0] == '\t');
	size_t flen = folded ? 0 : hlen;
	fprintf(out, "Return-Path: <%s>\n", s->sender);
	/* RFC 5321 4.4: the submitting user and uid as a comment of "by". */
	fprintf(out, "Received: by %s (mailsock-sendmail, from user %s uid %u)\n\tid %s; %s\n",
	        cfg->hostname, s->user, (unsigned)s->uid, s->id, date);
	if (!has_field(head, flen, "date"))
		fprintf(out, "Date: %s\n", date);
	if (!has_field(head, flen, "message-id"))
		fprintf(out, "Message-ID: <%s@%s>\n", s->id, cfg->hostname);
	if (!has_field(head, flen, "from"))
		put_from(out, s, cfg);
	for (size_t i = 0; i < hlen; i++)
		s->body_8bit |= (unsigned char)head[i] >= 0x80;
	if (folded)
		fputc('\n', out);
	if (hlen)
		fwrite(head, 1, hlen, out);
	free(head);
	for (off_t left = s->content_end - ftello(in); left > 0;) {
		size_t want = left < (off_t)sizeof buf ? (size_t)left : sizeof buf;
		size_t n = fread(buf, 1, want, in);
		if (n == 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			s->body_8bit |= (unsigned char)buf[i] >= 0x80;
		fwrite(buf, 1, n, out);
		left -= (off_t)n;
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* ---- storing it ------------------------------------------------------------ */

struct outcome_set {
	char (*dirs)[MAILDIR_NAME_MAX];   /* Maildirs delivered to */
	size_t n_dirs;
	struct envelope relay;           /* foreign recipients */
	struct bounce_item *bounces;
	struct result *results;
	size_t n_bounces;
	struct aliases *aliases;         /* NULL: no aliases key */
};

/* A recipient that gets no copy: its bounce, with the verdict's reply. */
static void refuse(struct outcome_set *o, const struct submission *s, const char *rcpt,
                   int code, const char *status, const char *text)
{
	struct result *r = &o->results[o->n_bounces];

	result_set(r, OUT_PERM, code, status, text);
	o->bounces[o->n_bounces].rcpt = rcpt;
	o->bounces[o->n_bounces++].result = r;
	log_event(LOG_LEVEL_INFO, "pickup", "msgid", s->id, "to", rcpt, "result", "bounced", NULL);
}

/* A forward by its address, a command or LMTP server by its text
 * (doc/delivery.md "One copy per target"). */
static bool queued_already(const struct envelope *env, const struct alias_target *t)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const char *via = env->rcpts[i].via;
		if (t->kind == ALIAS_FORWARD ? !via && strcmp(env->rcpts[i].address, t->address) == 0
		                             : via && strcmp(strchr(via, ' ') + 1, t->via) == 0 &&
		                                   (t->kind == ALIAS_PIPE) == (strncmp(via, "pipe ", 5) == 0))
			return true;
	}
	return false;
}

/* One target of the alias module: a Maildir now (one copy each), the
 * rest through the queue with the rcpt-via line the session would write. */
static int take_target(const struct config *cfg, int rootfd, struct submission *s,
                       const struct alias_target *t, struct outcome_set *o, int fd,
                       const char *path, uint64_t size, int queuefd)
{
	if (t->kind != ALIAS_MAILDIR) {
		if (queued_already(&o->relay, t))
			return 0;                       /* a command runs once per message */
		int rc = envelope_add_rcpt(&o->relay, RCPT_PENDING, t->address);
		if (rc == 0 && t->kind != ALIAS_FORWARD)
			rc = envelope_set_via(&o->relay, t->kind == ALIAS_PIPE ? "pipe" : "lmtp", t->via);
		return rc;
	}
	for (size_t i = 0; i < o->n_dirs; i++)
		if (strcmp(o->dirs[i], t->dir) == 0)
			return 0;                           /* one copy per Maildir */
	if (maildir_deliver(queuefd, path, fd, rootfd, t->dir, s->id, cfg->hostname, size) < 0)
		return -1;
	memcpy(o->dirs[o->n_dirs++], t->dir, sizeof t->dir);
	log_event(LOG_LEVEL_INFO, "pickup", "msgid", s->id, "to", t->address, "result", "delivered", NULL);
	return 0;
}

/* One recipient, by the session's rule (alias.h): foreign ones and, with
 * local_delivery = lmtp:..., local ones are queued; else the aliases, the
 * Maildir, the catch-all; a bare name that matches none of them goes to
 * the first local domain's postmaster.  A broken aliases file is -1
 * (EAGAIN): the maildrop file stays for the next run. */
static int route(const struct config *cfg, int rootfd, struct submission *s, const char *rcpt,
                 struct outcome_set *o, int fd, const char *path, uint64_t size, int queuefd)
{
	static struct alias_target t[ALIAS_TARGETS_MAX];
	char addr[ADDRESS_MAX + 1];
	bool bare = !strchr(rcpt, '@');
	enum alias_verdict v = ALIAS_BAD_NAME;
	size_t n = 0;

	if (normalize(rcpt, cfg->domains[0], false, addr, sizeof addr)) {
		if (!config_is_local_domain(cfg, strrchr(addr, '@') + 1))
			return envelope_add_rcpt(&o->relay, RCPT_PENDING, addr);
		if (cfg->local_delivery[0]) {            /* the LMTP server owns the users */
			int rc = envelope_add_rcpt(&o->relay, RCPT_PENDING, addr);
			return rc == 0 ? envelope_set_via(&o->relay, "lmtp", cfg->local_delivery) : rc;
		}
		v = alias_resolve(o->aliases, cfg, rootfd, addr, t, ALIAS_TARGETS_MAX, &n);
		if (bare && v == ALIAS_UNKNOWN) {
			snprintf(addr, sizeof addr, "postmaster@%s", cfg->domains[0]);
			v = alias_resolve(o->aliases, cfg, rootfd, addr, t, ALIAS_TARGETS_MAX, &n);
		}
	}
	switch (v) {
	case ALIAS_OK:
		break;
	case ALIAS_UNKNOWN:
		refuse(o, s, rcpt, 550, "5.1.1", "no such user here");
		return 0;
	case ALIAS_BAD_NAME:
		refuse(o, s, rcpt, 553, "5.1.3", "bad recipient address");
		return 0;
	case ALIAS_LOOP:
		log_event(LOG_LEVEL_ERROR, "alias-loop", "rcpt", addr, NULL);
		refuse(o, s, rcpt, 554, "5.4.6", "Alias loop or too many levels of aliases");
		return 0;
	case ALIAS_TEMPFAIL:
		errno = EAGAIN;
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = take_target(cfg, rootfd, s, &t[i], o, fd, path, size, queuefd);
	return rc;
}

static bool any_non_ascii(const struct submission *s)
{
	for (size_t i = 0; i < s->n_rcpts; i++)
		if (!string_is_ascii(s->rcpts[i]))
			return true;
	return !string_is_ascii(s->sender);
}

static void take_back(int rootfd, const struct outcome_set *o, const struct submission *s,
                      const struct config *cfg, uint64_t size)
{
	for (size_t i = 0; i < o->n_dirs; i++)
		maildir_withdraw(rootfd, o->dirs[i], s->id, cfg->hostname, size);
}

/* Every recipient's copy, or none: what was stored is taken back on a
 * failure, and the maildrop file stays for the next run. */
static int store(const struct config *cfg, int queuefd, struct submission *s, int fd,
                 const char *path, uint64_t size)
{
	struct outcome_set o = { .dirs = calloc(s->n_rcpts * ALIAS_TARGETS_MAX, sizeof *o.dirs),
	                         .bounces = calloc(s->n_rcpts, sizeof *o.bounces),
	                         .results = calloc(s->n_rcpts, sizeof *o.results) };
	int rootfd = open(cfg->mail_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	o.aliases = cfg->aliases[0] ? aliases_load(cfg->aliases) : NULL;
	int rc = o.dirs && o.bounces && o.results && (o.aliases || !cfg->aliases[0]) &&
	         envelope_init(&o.relay, s->id, "local", cfg->hostname, s->sender) == 0 ? 0 : -1;

	o.relay.body_8bit = s->body_8bit;
	o.relay.smtputf8 = any_non_ascii(s);
	o.relay.arrival = s->arrival;
	for (size_t i = 0; rc == 0 && i < s->n_rcpts; i++)
		rc = route(cfg, rootfd, s, s->rcpts[i], &o, fd, path, size, queuefd);
	bool queued = false;
	if (rc == 0 && o.relay.n_rcpts > 0) {
		rc = queue_enqueue(queuefd, queuefd, path, fd, &o.relay);
		queued = rc == 0;
	}
	if (rc == 0 && o.n_bounces > 0 && s->sender[0])
		rc = bounce_send(cfg, queuefd, &o.relay, fd, o.bounces, o.n_bounces);
	if (rc < 0) {
		int saved = errno;
		take_back(rootfd, &o, s, cfg, size);
		if (queued)
			queue_remove(queuefd, s->id);
		errno = saved;
	}
	envelope_free(&o.relay);
	aliases_free(o.aliases);
	free(o.dirs);
	free(o.bounces);
	free(o.results);
	close_quietly(rootfd);
	return rc;
}

/* ---- one file, and the directory ------------------------------------------- */

static void quarantine(int queuefd, int dropfd, const char *name)
{
	char to[UNIQUE_ID_MAX + 300];

	snprintf(to, sizeof to, "corrupt/%s.drop", name);
	if (mkdir_at(queuefd, "corrupt", 0700) < 0 || renameat(dropfd, name, queuefd, to) < 0)
		unlinkat(dropfd, name, 0);
	log_event(LOG_LEVEL_ERROR, "corrupt", "maildrop", name, "action", "quarantined", NULL);
}

/* The message into tmp/ID of the queue, then stored: 0, or -1 (errno). */
static int pick(const struct config *cfg, int queuefd, FILE *in, struct submission *s)
{
	char path[UNIQUE_ID_MAX + 16];
	struct stat st;

	unique_id(s->id, sizeof s->id);
	s->arrival = time(NULL);
	int fd = queue_create_tmp(queuefd, s->id, path, sizeof path);
	if (fd < 0)
		return -1;
	int copy = dup(fd);
	FILE *out = copy < 0 ? NULL : fdopen(copy, "w");
	if (!out && copy >= 0)
		close_quietly(copy);
	int rc = out ? write_message(in, out, s, cfg) : -1;
	if (out && fclose(out) != 0)
		rc = -1;
	if (rc == 0 && (fsync(fd) < 0 || fstat(fd, &st) < 0))
		rc = -1;
	if (rc == 0)
		rc = store(cfg, queuefd, s, fd, path, (uint64_t)st.st_size);
	int saved = errno;
	close_quietly(fd);
	unlinkat(queuefd, path, 0);
	errno = saved;
	return rc;
}

static void free_submission(struct submission *s)
{
	for (size_t i = 0; i < s->n_rcpts; i++)
		free(s->rcpts[i]);
	free(s->rcpts);
}

static void pickup_file(const struct config *cfg, int queuefd, int dropfd, const char *name)
{
	struct submission s = { .name = name };
	struct stat st;
	char uid[32];
	int fd = openat(dropfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close_quietly(fd);
		return;
	}
	/* Runs overlap (timer, path unit, a person): the one holding the lock
	 * takes the file; one that waited finds it gone (no link left). */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0) {
		close_quietly(fd);
		return;
	}
	if ((st.st_mode & 0044) != 0044) {          /* postdrop is still writing it */
		if (st.st_mtime < time(NULL) - DEBRIS_AGE && unlinkat(dropfd, name, 0) == 0)
			log_event(LOG_LEVEL_INFO, "reap", "maildrop", name, NULL);
		close_quietly(fd);
		return;
	}
	FILE *in = fdopen(fd, "r");
	if (!in) {
		close_quietly(fd);
		return;
	}
	s.uid = st.st_uid;
	snprintf(uid, sizeof uid, "%u", (unsigned)s.uid);
	if (read_trailer(fd, st.st_size, &s.content_end) < 0 || read_envelope(in, cfg, &s) < 0 ||
	    ftello(in) > s.content_end ||
	    /* postdrop lets max_message_size plus the envelope lines through */
	    (uint64_t)(s.content_end - ftello(in)) > cfg->max_message_size) {
		quarantine(queuefd, dropfd, name);
	} else {
		who(&s, cfg);
		if (pick(cfg, queuefd, in, &s) == 0) {
			log_event(LOG_LEVEL_INFO, "pickup", "msgid", s.id, "uid", uid, "user", s.user,
			          "from", s.sender, "result", "stored", NULL);
			/* Left in place, the next run would store it again. */
			if (unlinkat(dropfd, name, 0) < 0 || fsync_dir_at(dropfd, ".") < 0)
				log_event(LOG_LEVEL_ERROR, "trouble", "maildrop", name, "action", "remove",
				          "error", strerror(errno), NULL);
		} else {
			log_event(LOG_LEVEL_ERROR, "pickup", "maildrop", name, "uid", uid, "error",
			          strerror(errno), "result", "deferred", NULL);
		}
	}
	fclose(in);
	free_submission(&s);
}

/* corrupt/NAME.drop is a user's bad input, not mail: removed after
 * CORRUPT_DROP_AGE (doc/queue.md), so a user cannot fill the queue for good. */
static void reap_corrupt(int queuefd)
{
	size_t n;
	char **names = queue_ids(queuefd, "corrupt", &n);
	char path[400];
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len <= 5 || strcmp(names[i] + len - 5, ".drop") != 0)
			continue;
		snprintf(path, sizeof path, "corrupt/%s", names[i]);
		if (fstatat(queuefd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime < time(NULL) - CORRUPT_DROP_AGE && unlinkat(queuefd, path, 0) == 0)
			log_event(LOG_LEVEL_INFO, "reap", "corrupt", names[i], NULL);
	}
	queue_ids_free(names, n);
}

void pickup_maildrop(const struct config *cfg, int queuefd)
{
	int dropfd = openat(queuefd, "maildrop", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dropfd < 0)
		return;                          /* no maildrop: no local submission */
	size_t n;
	char **names = queue_ids(queuefd, "maildrop", &n);
	for (size_t i = 0; i < n; i++)
		if (names[i][0] != '.')
			pickup_file(cfg, queuefd, dropfd, names[i]);
	queue_ids_free(names, n);
	reap_corrupt(queuefd);
	close_quietly(dropfd);
}
