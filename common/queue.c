/* queue.c - the outgoing queue: layout, envelope files, and every step
 * that creates, locks, removes or quarantines an entry (doc/queue.md). */
#include "queue.h"
#include "fsutil.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REAP_STAMP "reaped"
#define REAP_INTERVAL 3600
#define DUE_NOTE "due"

/* "SUB/ID", e.g. "msg/ID": a file of the entry ID. */
static int entry_path(char *buf, size_t size, const char *sub, const char *id)
{
	if (snprintf(buf, size, "%s/%s", sub, id) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int queue_open(const char *queue_dir)
{
	static const char *const subdirs[] = { "tmp", "msg", "env" };

	if (mkdir(queue_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	int fd = open(queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (mkdir_at(fd, subdirs[i], 0700) < 0) {
			close_quietly(fd);
			return -1;
		}
	return fd;
}

int queue_open_existing(const char *queue_dir)
{
	return open(queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int queue_create_tmp(int queuefd, const char *id, char *path, size_t size)
{
	if (entry_path(path, size, "tmp", id) < 0)
		return -1;
	return openat(queuefd, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* Values never hold a newline: addresses are parsed before they get here,
 * and error texts are cleaned by whoever records them.  Be safe anyway. */
static void put_value(FILE *f, const char *value)
{
	for (const char *p = value ? value : ""; *p; p++)
		fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
	fputc('\n', f);
}

static void put_field(FILE *f, const char *key, const char *value)
{
	fputs(key, f);
	fputc(' ', f);
	put_value(f, value);
}

static const char *state_name(enum rcpt_state s)
{
	return s == RCPT_DELIVERED ? "delivered" : s == RCPT_FAILED ? "failed" : "pending";
}

static void put_envelope(FILE *f, const struct envelope *env)
{
	fprintf(f, "version 1\n");
	put_field(f, "id", env->id);
	fprintf(f, "arrival %lld\n", (long long)env->arrival);
	put_field(f, "peer", env->peer);
	put_field(f, "helo", env->helo);
	if (env->session[0])
		put_field(f, "session", env->session);
	put_field(f, "sender", env->sender);
	put_field(f, "body", env->body_8bit ? "8BITMIME" : "7BIT");
	put_field(f, "smtputf8", env->smtputf8 ? "yes" : "no");
	fprintf(f, "attempts %u\n", env->attempts);
	fprintf(f, "next %lld\n", (long long)env->next_attempt);
	if (env->error)
		put_field(f, "error", env->error);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		fprintf(f, "rcpt %s ", state_name(env->rcpts[i].state));
		put_value(f, env->rcpts[i].address);
		if (env->rcpts[i].via)
			put_field(f, "rcpt-via", env->rcpts[i].via);
		if (env->rcpts[i].error)
			put_field(f, "rcpt-error", env->rcpts[i].error);
	}
}

/* The due index (doc/queue.md): env/ID's mtime is its next attempt, set
 * before the fsync and kept by the rename, so it is as durable as the
 * envelope and a run finds what is due with one fstatat per entry. */
static int set_due_time(int fd, time_t next_attempt)
{
	const struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_sec = next_attempt },
	};

	return futimens(fd, times);
}

int envelope_write(int queuefd, const struct envelope *env)
{
	char tmp[UNIQUE_ID_MAX + 16], final[UNIQUE_ID_MAX + 16];

	snprintf(tmp, sizeof tmp, "tmp/%s.env", env->id);
	snprintf(final, sizeof final, "env/%s", env->id);
	int fd = openat(queuefd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close_quietly(fd);
		unlinkat(queuefd, tmp, 0);
		return -1;
	}
	put_envelope(f, env);
	if (fflush(f) != 0 || ferror(f) || set_due_time(fd, env->next_attempt) < 0 || fsync(fd) < 0) {
		int saved = errno ? errno : EIO;
		fclose(f);
		unlinkat(queuefd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (fclose(f) != 0 || renameat(queuefd, tmp, queuefd, final) < 0) {
		int saved = errno;
		unlinkat(queuefd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync_dir_at(queuefd, "env");
}

int envelope_init(struct envelope *env, const char *id, const char *peer, const char *helo,
                  const char *sender)
{
	memset(env, 0, sizeof *env);
	snprintf(env->id, sizeof env->id, "%s", id);
	snprintf(env->peer, sizeof env->peer, "%s", peer);
	snprintf(env->helo, sizeof env->helo, "%s", helo);
	env->arrival = env->next_attempt = time(NULL);
	env->sender = strdup(sender);
	return env->sender ? 0 : -1;
}

/* The source file becomes msg/ID: a hard link, or across file systems a
 * copy through tmp/ID.copy, fsynced before its rename. */
static int put_message(int queuefd, int src_dirfd, const char *src_path, int src_fd,
                       const char *msg, const char *id)
{
	char tmp[UNIQUE_ID_MAX + 16];

	if (linkat(src_dirfd, src_path, queuefd, msg, 0) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return -1;
	snprintf(tmp, sizeof tmp, "tmp/%s.copy", id);
	int fd = openat(queuefd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = copy_fd(src_fd, fd) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (rc < 0)
		close_quietly(fd);
	else
		rc = close(fd);
	if (rc == 0)
		rc = renameat(queuefd, tmp, queuefd, msg);
	if (rc < 0) {
		int saved = errno;
		unlinkat(queuefd, tmp, 0);
		errno = saved;
	}
	return rc;
}

/* Message first, envelope last: once env/ID is in place smtp-relay may send
 * the entry at once, and a crash before it leaves no entry. */
int queue_enqueue(int queuefd, int src_dirfd, const char *src_path, int src_fd,
                  const struct envelope *env)
{
	char msg[UNIQUE_ID_MAX + 8];

	if (entry_path(msg, sizeof msg, "msg", env->id) < 0 ||
	    put_message(queuefd, src_dirfd, src_path, src_fd, msg, env->id) < 0 ||
	    fsync_dir_at(queuefd, "msg") < 0)
		return -1;
	if (envelope_write(queuefd, env) < 0) {
		int saved = errno;
		unlinkat(queuefd, msg, 0);        /* withdraw: no entry */
		errno = saved;
		return -1;
	}
	return 0;
}

/* The array grows by doubling (its size is the next power of two of
 * n_rcpts): 10 000 recipients cost 14 reallocs, not 10 000 copies. */
int envelope_add_rcpt(struct envelope *env, enum rcpt_state state, const char *address)
{
	size_t n = env->n_rcpts;
	struct envelope_rcpt *r = env->rcpts;

	if ((n & (n - 1)) == 0) {               /* 0, 1, 2, 4, ...: full */
		r = realloc(r, (n ? 2 * n : 1) * sizeof *r);
		if (!r)
			return -1;
		env->rcpts = r;
	}
	r += n;
	r->state = state;
	r->error = NULL;
	r->via = NULL;
	r->address = strdup(address);
	if (!r->address)
		return -1;
	env->n_rcpts++;
	return 0;
}

int envelope_set_via(struct envelope *env, const char *kind, const char *value)
{
	struct envelope_rcpt *r = &env->rcpts[env->n_rcpts - 1];
	size_t size = strlen(kind) + 1 + strlen(value) + 1;
	char *via = malloc(size);

	if (!via)
		return -1;
	snprintf(via, size, "%s %s", kind, value);
	free(r->via);
	r->via = via;
	return 0;
}

/* An id names the files msg/ID and env/ID: letters, digits, '.', '_' and
 * '-' only, not starting with a dot, so that no envelope can point outside
 * the queue ("../..") or at a hidden file. */
static bool copy_id(char *dst, size_t size, const char *value)
{
	if (value[0] == '\0' || value[0] == '.')
		return false;
	for (const char *p = value; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return string_copy(dst, size, value);
}

static bool parse_time(const char *value, time_t *out)
{
	char *end;
	long long n = strtoll(value, &end, 10);

	*out = (time_t)n;
	return *value && *end == '\0';
}

static int parse_rcpt(struct envelope *env, const char *value)
{
	static const struct { const char *name; enum rcpt_state state; } states[] = {
		{ "pending ", RCPT_PENDING }, { "delivered ", RCPT_DELIVERED }, { "failed ", RCPT_FAILED },
	};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(states[i].name);
		if (strncmp(value, states[i].name, n) == 0 && value[n])
			return envelope_add_rcpt(env, states[i].state, value + n);
	}
	errno = EINVAL;
	return -1;
}

/* One "key value" line of an envelope. */
static int parse_line(struct envelope *env, const char *key, const char *value)
{
	bool ok = true;

	if (strcmp(key, "version") == 0)
		ok = strcmp(value, "1") == 0;
	else if (strcmp(key, "id") == 0)
		ok = copy_id(env->id, sizeof env->id, value);
	else if (strcmp(key, "arrival") == 0)
		ok = parse_time(value, &env->arrival);
	else if (strcmp(key, "peer") == 0)
		ok = string_copy(env->peer, sizeof env->peer, value);
	else if (strcmp(key, "helo") == 0)
		ok = string_copy(env->helo, sizeof env->helo, value);
	else if (strcmp(key, "session") == 0)
		ok = string_copy(env->session, sizeof env->session, value);
	else if (strcmp(key, "sender") == 0)
		ok = (free(env->sender), env->sender = strdup(value)) != NULL;
	else if (strcmp(key, "body") == 0)
		env->body_8bit = strcmp(value, "8BITMIME") == 0;
	else if (strcmp(key, "smtputf8") == 0)
		env->smtputf8 = strcmp(value, "yes") == 0;
	else if (strcmp(key, "attempts") == 0)
		env->attempts = (unsigned)strtoul(value, NULL, 10);
	else if (strcmp(key, "next") == 0)
		ok = parse_time(value, &env->next_attempt);
	else if (strcmp(key, "error") == 0)
		ok = (free(env->error), env->error = strdup(value)) != NULL;
	else if (strcmp(key, "rcpt") == 0)
		return parse_rcpt(env, value);
	else if (strcmp(key, "rcpt-error") == 0 && env->n_rcpts > 0) {
		struct envelope_rcpt *r = &env->rcpts[env->n_rcpts - 1];
		free(r->error);
		ok = (r->error = strdup(value)) != NULL;
	} else if (strcmp(key, "rcpt-via") == 0 && env->n_rcpts > 0) {
		struct envelope_rcpt *r = &env->rcpts[env->n_rcpts - 1];   /* "KIND VALUE" */
		free(r->via);
		r->via = NULL;       /* a bad value must not leave it dangling */
		ok = strchr(value, ' ') && (r->via = strdup(value)) != NULL;
	}
	/* unknown keys are skipped: a newer writer may add some */
	if (!ok)
		errno = EINVAL;
	return ok ? 0 : -1;
}

int envelope_read(FILE *f, struct envelope *env)
{
	char line[4096];

	memset(env, 0, sizeof *env);
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			errno = EINVAL;
			return -1;
		}
		line[len - 1] = '\0';
		char *space = strchr(line, ' ');
		const char *value = "";
		if (space) {
			*space = '\0';
			value = space + 1;
		}
		if (parse_line(env, line, value) < 0)
			return -1;
	}
	if (ferror(f))
		return -1;
	if (!env->id[0] || !env->sender || env->n_rcpts == 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void envelope_free(struct envelope *env)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].error);
		free(env->rcpts[i].via);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->error);
	memset(env, 0, sizeof *env);
}

int envelope_load(int queuefd, const char *id, struct envelope *env)
{
	char path[UNIQUE_ID_MAX + 8];

	memset(env, 0, sizeof *env);
	if (entry_path(path, sizeof path, "env", id) < 0)
		return -1;
	int fd = openat(queuefd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close_quietly(fd);
		return -1;
	}
	int rc = envelope_read(f, env) == 0 ? 1 : errno == EINVAL ? -2 : -1;
	int saved = errno;
	fclose(f);
	errno = saved;
	return rc;
}

bool queue_has_envelope(int queuefd, const char *id)
{
	char path[UNIQUE_ID_MAX + 8];

	return entry_path(path, sizeof path, "env", id) == 0 &&
	       faccessat(queuefd, path, F_OK, 0) == 0;
}

/* msg/ID is never replaced while its entry lives, so its lock is the
 * entry's: two runs never work on one entry. */
int queue_lock(int queuefd, const char *id)
{
	char path[UNIQUE_ID_MAX + 8];

	if (entry_path(path, sizeof path, "msg", id) < 0)
		return -1;
	int fd = openat(queuefd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc;
	while ((rc = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		close_quietly(fd);
		return -1;
	}
	return fd;
}

long long queue_message_size(int queuefd, const char *id)
{
	char path[UNIQUE_ID_MAX + 8];
	struct stat st;

	if (entry_path(path, sizeof path, "msg", id) < 0 || fstatat(queuefd, path, &st, 0) < 0)
		return -1;
	return (long long)st.st_size;
}

/* env/ID first: without it there is no entry, and a msg/ID left by a
 * crash in between is debris that queue_reap() removes. */
int queue_remove(int queuefd, const char *id)
{
	char path[UNIQUE_ID_MAX + 8];

	if (entry_path(path, sizeof path, "env", id) < 0 || unlinkat(queuefd, path, 0) < 0 ||
	    fsync_dir_at(queuefd, "env") < 0)
		return -1;
	entry_path(path, sizeof path, "msg", id);
	return unlinkat(queuefd, path, 0) < 0 ? 1 : 0;
}

/* QUEUE_DIR/SUB/ID -> QUEUE_DIR/corrupt/ID.SUB */
static int move_to_corrupt(int queuefd, const char *sub, const char *id)
{
	char from[UNIQUE_ID_MAX + 8], to[UNIQUE_ID_MAX + 16];

	if (entry_path(from, sizeof from, sub, id) < 0)
		return -1;
	snprintf(to, sizeof to, "corrupt/%s.%s", id, sub);
	if (renameat(queuefd, from, queuefd, to) < 0 && errno != ENOENT)
		return -1;
	return fsync_dir_at(queuefd, sub);
}

/* The message first: a crash between the two moves leaves an envelope
 * without message, which the relay reports on each run. */
int queue_quarantine(int queuefd, const char *id)
{
	if (mkdirat(queuefd, "corrupt", 0700) < 0 && errno != EEXIST)
		return -1;
	if (move_to_corrupt(queuefd, "msg", id) < 0 || move_to_corrupt(queuefd, "env", id) < 0)
		return -1;
	return fsync_dir_at(queuefd, "corrupt");
}

static bool older_than(int dirfd, const char *path, time_t age)
{
	struct stat st;

	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       time(NULL) - st.st_mtime > age;
}

static void reap_path(int queuefd, const char *sub, const char *name, time_t age)
{
	char path[600];

	snprintf(path, sizeof path, "%s/%s", sub, name);
	if (older_than(queuefd, path, age) && unlinkat(queuefd, path, 0) == 0)
		log_event(LOG_LEVEL_INFO, "reaped", "path", path, NULL);
}

/* Debris is at least a day old before it goes, so looking for it once per
 * REAP_INTERVAL is enough: QUEUE_DIR/reaped's mtime says when it was last
 * done, and the runs in between pay one fstatat for it. */
static bool reaped_lately(int queuefd)
{
	struct stat st;

	return fstatat(queuefd, REAP_STAMP, &st, 0) == 0 &&
	       time(NULL) - st.st_mtime < REAP_INTERVAL && st.st_mtime <= time(NULL);
}

static void stamp_reaped(int queuefd)
{
	int fd = openat(queuefd, REAP_STAMP, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || futimens(fd, NULL) < 0)
		log_event(LOG_LEVEL_ERROR, "trouble", "action", "touch " REAP_STAMP,
		          "error", strerror(errno), NULL);
	if (fd >= 0)
		close_quietly(fd);
}

/* Young files are left alone: a session may be writing them.  A message
 * without an envelope is found by merging the two sorted listings, not by
 * a syscall per entry; msg/ is listed first, so an entry written meanwhile
 * is in the env/ listing. */
void queue_reap(int queuefd, time_t age)
{
	size_t n, n_msg, n_env;

	if (reaped_lately(queuefd))
		return;
	char **names = queue_ids(queuefd, "tmp", &n);
	for (size_t i = 0; i < n; i++)
		reap_path(queuefd, "tmp", names[i], age);
	queue_ids_free(names, n);
	char **msg = queue_ids(queuefd, "msg", &n_msg);
	char **env = queue_ids(queuefd, "env", &n_env);
	for (size_t i = 0, j = 0; i < n_msg; i++) {
		int cmp = 1;
		while (j < n_env && (cmp = strcmp(env[j], msg[i])) < 0)
			j++;
		if (j == n_env || cmp != 0)
			reap_path(queuefd, "msg", msg[i], age);
	}
	queue_ids_free(msg, n_msg);
	queue_ids_free(env, n_env);
	stamp_reaped(queuefd);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_names_add(char ***names, size_t *n, const char *name)
{
	char **more = realloc(*names, (*n + 1) * sizeof **names);

	if (!more)
		return -1;
	*names = more;
	if (!(more[*n] = strdup(name)))
		return -1;
	(*n)++;
	return 0;
}

char **queue_ids(int queuefd, const char *sub, size_t *n)
{
	int fd = openat(queuefd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	char **names = NULL;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close_quietly(fd);
		return NULL;
	}
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && queue_names_add(&names, n, e->d_name) < 0)
			break;
	closedir(d);
	if (names)
		qsort(names, *n, sizeof *names, by_name);
	return names;
}

/* QUEUE_DIR/due, "SEC NSEC EARLIEST": while env/'s mtime is SEC.NSEC, no
 * entry is due before EARLIEST.  Whatever adds, removes or rewrites an entry
 * changes env/'s mtime, and so voids the note. */
static bool noted_nothing_due(int queuefd, const struct stat *envdir, time_t now)
{
	char buf[96];
	long long sec, nsec, earliest;
	int fd = openat(queuefd, DUE_NOTE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close_quietly(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return sscanf(buf, "%lld %lld %lld", &sec, &nsec, &earliest) == 3 &&
	       sec == (long long)envdir->st_mtim.tv_sec &&
	       nsec == (long long)envdir->st_mtim.tv_nsec && now < earliest;
}

/* Only when env/'s mtime is older than a second at the time it was read: a
 * change in the same clock tick as the last one would not change it.  The
 * note is a hint (a torn one is not parsed, a stale one does not match):
 * written without fsync. */
static void note_nothing_due(int queuefd, const struct stat *envdir,
                             const struct timespec *read_at, time_t earliest)
{
	char text[96];
	int len = snprintf(text, sizeof text, "%lld %lld %lld\n", (long long)envdir->st_mtim.tv_sec,
	                   (long long)envdir->st_mtim.tv_nsec, (long long)earliest);

	struct timespec age = { read_at->tv_sec - envdir->st_mtim.tv_sec,
	                        read_at->tv_nsec - envdir->st_mtim.tv_nsec };
	if (age.tv_sec * 1000000000LL + age.tv_nsec < 1000000000LL)
		return;
	int fd = openat(queuefd, "tmp/" DUE_NOTE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	bool ok = write(fd, text, (size_t)len) == len;
	if (close(fd) < 0 || !ok || renameat(queuefd, "tmp/" DUE_NOTE, queuefd, DUE_NOTE) < 0)
		unlinkat(queuefd, "tmp/" DUE_NOTE, 0);
}

/* env/ID is due when its mtime (the due index) is not later than now; an
 * envelope written before the index existed has its writing time there,
 * which is past: due, and its envelope decides.  When nothing is due, the
 * earliest next attempt is noted, and until env/ changes or that time
 * comes, a run costs two fstatat and a read. */
char **queue_due_ids(int queuefd, time_t now, size_t *n)
{
	time_t earliest = 0;
	struct stat envdir, st;
	struct timespec read_at;
	char **names = NULL;

	*n = 0;
	clock_gettime(CLOCK_REALTIME, &read_at);
	bool dated = fstatat(queuefd, "env", &envdir, 0) == 0;
	if (dated && noted_nothing_due(queuefd, &envdir, now))
		return NULL;
	int fd = openat(queuefd, "env", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close_quietly(fd);
		return NULL;
	}
	bool complete = dated;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime > now) {
			if (earliest == 0 || st.st_mtime < earliest)
				earliest = st.st_mtime;
			continue;        /* not due; one that vanished is skipped by its run */
		}
		if (queue_names_add(&names, n, e->d_name) < 0) {
			complete = false;
			break;
		}
	}
	closedir(d);
	if (complete && *n == 0 && earliest > 0)
		note_nothing_due(queuefd, &envdir, &read_at, earliest);
	if (names)
		qsort(names, *n, sizeof *names, by_name);
	return names;
}

bool queue_is_due(int queuefd, const char *id, time_t now)
{
	char path[UNIQUE_ID_MAX + 8];
	struct stat st;

	return entry_path(path, sizeof path, "env", id) == 0 &&
	       fstatat(queuefd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime <= now;
}

/* inotify wants a path: env/ through the queue's fd, wherever it is. */
int queue_watch_env(int queuefd, int inotifyfd, uint32_t mask)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d/env", queuefd);
	return inotify_add_watch(inotifyfd, path, mask | IN_ONLYDIR);
}

void queue_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
