/* fuzz_session - the whole session: the input is the client's side of the
 * conversation, fed to session_run() as it would come from a socket.
 *
 * The first octet picks the setting: bit 0 a stranger (TCPREMOTEIP
 * outside relay_networks) or a local, relaying session; bit 1 debug
 * logging; bit 2 short reads: then the next octet seeds the sizes (1 to
 * 64 octets) that each read of the session returns at most, as a slow
 * network would deliver them (a stream backend of short reads).
 * The rest is what the client sends.  The mail root and the
 * queue live in a private directory under /dev/shm.
 *
 * Invariants after each session:
 *  - every message in a new/ or in the queue has an id that the client
 *    was told in a "250 2.0.0 Ok: queued as ID" reply, at most once per
 *    Maildir; every such reply has its message somewhere;
 *  - no tmp/ holds a leftover, no queue entry without its envelope;
 *  - nothing was created outside the known Maildirs (plus postmaster);
 *  - a stranger never got anything into the queue. */
#include "fuzz.h"
#include "config.h"
#include "log.h"
#include "maildir.h"
#include "session.h"
#include "short_read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)
#define MAX_IDS 4096

static char base[512];
static int basefd = -1;
static struct config cfg;
static int in_fd = -1, out_fd = -1;

static const char *const users[] = { "example.org/u", "example.org/alice", "example.net/bob" };

static struct {
	char id[MAX_IDS][UNIQUE_ID_MAX];
	unsigned seen[MAX_IDS];
	size_t n;
} replies;

static void mkdirs(const char *dir)
{
	char path[512];

	for (const char *p = dir; *p; p++)
		if (*p == '/') {
			snprintf(path, sizeof path, "%.*s", (int)(p - dir), dir);
			mkdirat(basefd, path, 0700);
		}
	mkdirat(basefd, dir, 0700);
}

static void setup(void)
{
	char option[1200];

	const char *shm = getenv("FUZZ_SHM");
	snprintf(base, sizeof base, "%s/fuzz-session-%ld", shm ? shm : "/dev/shm", (long)getpid());
	REQUIRE(mkdir(base, 0700) == 0 || errno == EEXIST);
	basefd = open(base, O_RDONLY | O_DIRECTORY);
	REQUIRE(basefd >= 0);
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
		static const char *const sub[] = { "tmp", "new", "cur" };
		for (size_t j = 0; j < 3; j++) {
			snprintf(option, sizeof option, "root/mail/%s/%s", users[i], sub[j]);
			mkdirs(option);
		}
	}
	mkdirs("root/mail/example.org/notamaildir");
	config_init(&cfg);
	const char *settings[] = { "hostname=mx.example.org", "domains=example.org example.net",
	                           "relay_networks=127.0.0.0/8", "max_errors=10", "max_recipients=100" };
	char err[1200];
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		REQUIRE(config_set(&cfg, settings[i], "fuzz", 0, err, sizeof err) == 0);
	snprintf(option, sizeof option, "mail_root=%s/root/mail", base);
	REQUIRE(config_set(&cfg, option, "fuzz", 0, err, sizeof err) == 0);
	snprintf(option, sizeof option, "queue_dir=%s/root/queue", base);
	REQUIRE(config_set(&cfg, option, "fuzz", 0, err, sizeof err) == 0);
	config_finish(&cfg);
	in_fd = memfd_create("client", 0);
	out_fd = memfd_create("replies", 0);
	REQUIRE(in_fd >= 0 && out_fd >= 0);
}

/* Collect the ids of "250 2.0.0 Ok: queued as ID" replies. */
static void read_replies(void)
{
	static const char marker[] = "250 2.0.0 Ok: queued as ";
	off_t len = lseek(out_fd, 0, SEEK_END);
	char *text = malloc((size_t)len + 1);

	REQUIRE(pread(out_fd, text, (size_t)len, 0) == len);
	text[len] = '\0';
	replies.n = 0;
	for (char *p = strstr(text, marker); p; p = strstr(p, marker)) {
		p += sizeof marker - 1;
		size_t n = strcspn(p, "\r\n");
		REQUIRE(n < UNIQUE_ID_MAX && replies.n < MAX_IDS);
		memcpy(replies.id[replies.n], p, n);
		replies.id[replies.n][n] = '\0';
		replies.seen[replies.n++] = 0;
	}
	free(text);
}

/* Which reply announced the message file name (the id and a dot or end)? */
static size_t reply_of(const char *name)
{
	for (size_t i = 0; i < replies.n; i++) {
		size_t n = strlen(replies.id[i]);
		if (strncmp(name, replies.id[i], n) == 0 && (name[n] == '.' || name[n] == '\0'))
			return i;
	}
	fprintf(stderr, "stored without a 250: %s\n", name);
	abort();
}

/* Call fn for each entry of base/dir except "." and "..". */
static void each_entry(const char *dir, void (*fn)(const char *dir, const char *name))
{
	int fd = openat(basefd, dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	REQUIRE(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			fn(dir, e->d_name);
	closedir(d);
}

static void remove_entry(const char *dir, const char *name)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	REQUIRE(unlinkat(basefd, path, 0) == 0);
}

static void must_be_empty(const char *dir, const char *name)
{
	fprintf(stderr, "unexpected leftover: %s/%s\n", dir, name);
	abort();
}

/* A message in a Maildir's new/: announced, once per Maildir. */
static unsigned in_this_maildir[MAX_IDS];

static void stored_message(const char *dir, const char *name)
{
	size_t i = reply_of(name);
	REQUIRE(in_this_maildir[i]++ == 0);
	replies.seen[i]++;
	remove_entry(dir, name);
}

static void queued_envelope(const char *dir, const char *name)
{
	char msg[1200];
	struct stat st;

	replies.seen[reply_of(name)]++;
	snprintf(msg, sizeof msg, "root/queue/msg/%s", name);
	REQUIRE(fstatat(basefd, msg, &st, 0) == 0);
	remove_entry(dir, name);
}

static void orphan_message(const char *dir, const char *name)
{
	char env[1200];
	struct stat st;

	snprintf(env, sizeof env, "root/queue/env/%s", name);
	REQUIRE(fstatat(basefd, env, &st, 0) < 0);   /* its envelope was just taken */
	(void)reply_of(name);
	remove_entry(dir, name);
}

static void check_maildir(const char *dir)
{
	char sub[600];

	memset(in_this_maildir, 0, sizeof in_this_maildir);
	snprintf(sub, sizeof sub, "root/mail/%s/new", dir);
	each_entry(sub, stored_message);
	snprintf(sub, sizeof sub, "root/mail/%s/tmp", dir);
	each_entry(sub, must_be_empty);
	snprintf(sub, sizeof sub, "root/mail/%s/cur", dir);
	each_entry(sub, must_be_empty);
}

static void known_entry(const char *dir, const char *name)
{
	char path[1200];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (strcmp(dir, ".") == 0)
		REQUIRE(strcmp(name, "root") == 0);
	else if (strcmp(dir, "root") == 0)
		REQUIRE(strcmp(name, "mail") == 0 || strcmp(name, "queue") == 0);
	else if (strcmp(dir, "root/mail") == 0)
		REQUIRE(strcmp(name, "example.org") == 0 || strcmp(name, "example.net") == 0);
	else if (strcmp(dir, "root/mail/example.org") == 0)
		REQUIRE(strcmp(name, "u") == 0 || strcmp(name, "alice") == 0 ||
		        strcmp(name, "notamaildir") == 0 || strcmp(name, "postmaster") == 0);
	else if (strcmp(dir, "root/mail/example.net") == 0)
		REQUIRE(strcmp(name, "bob") == 0 || strcmp(name, "postmaster") == 0);
	if (strcmp(dir, ".") == 0 || strcmp(dir, "root") == 0 || strcmp(dir, "root/mail") == 0 ||
	    strcmp(dir, "root/mail/example.org") == 0 || strcmp(dir, "root/mail/example.net") == 0)
		each_entry(path, known_entry);
}

static void check_store(bool stranger)
{
	read_replies();
	each_entry(".", known_entry);
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		check_maildir(users[i]);
	check_maildir("example.org/postmaster");
	check_maildir("example.net/postmaster");
	each_entry("root/mail/example.org/notamaildir", must_be_empty);
	if (stranger)
		each_entry("root/queue/env", must_be_empty);
	each_entry("root/queue/env", queued_envelope);
	each_entry("root/queue/msg", orphan_message);
	each_entry("root/queue/tmp", must_be_empty);
	for (size_t i = 0; i < replies.n; i++)
		REQUIRE(replies.seen[i] > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool short_reads = data[0] & 4;
	if (short_reads) {
		if (size < 2)
			return 0;
		short_read_seed(data[1] | 0x100u);
		data++;
		size--;
	}
	if (basefd < 0)
		setup();
	bool stranger = data[0] & 1;
	if (stranger)
		setenv("TCPREMOTEIP", "192.0.2.1", 1);
	else
		unsetenv("TCPREMOTEIP");
	log_init("fuzz-session", data[0] & 2 ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);

	REQUIRE(ftruncate(in_fd, 0) == 0 && ftruncate(out_fd, 0) == 0);
	REQUIRE(pwrite(in_fd, data + 1, size - 1, 0) == (ssize_t)(size - 1));
	REQUIRE(lseek(in_fd, 0, SEEK_SET) == 0 && lseek(out_fd, 0, SEEK_SET) == 0);
	int status = short_reads ? session_run_with(&cfg, &short_read_backend, NULL, in_fd, out_fd)
	                         : session_run(&cfg, in_fd, out_fd);
	REQUIRE(status == 0 || status == 1);
	check_store(stranger);
	return 0;
}
