/* mailsock-postdrop - the one privileged step of local submission: copy
 * stdin into a new file of QUEUE_DIR/maildrop/, and nothing else.
 *
 * Installed setgid mailsock-drop.  That group may write into maildrop/
 * (mode 1730 mailsock:mailsock-drop) and traverse QUEUE_DIR (0710), no
 * more: it can neither list nor read anything there.  The file's name is
 * made here (O_CREAT | O_EXCL), its owner is the caller's uid (the kernel
 * sets it, so smtp-relay's pickup knows who submitted), and it stays mode
 * 0600 -- which smtp-relay leaves alone -- until it is complete, fsynced
 * and made readable (0644).  The configuration is the built-in file only:
 * -c and -o count for root alone.  The input is mailsock-sendmail's
 * maildrop format (doc/queue.md); its last line "mailsock-end N" says how
 * many octets came before it, so a sender killed half-way queues nothing. */
#include "config.h"
#include "fsutil.h"
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#define USAGE "usage: mailsock-postdrop [-c FILE] [-o key=value]... < maildrop-file\n"
#define TAIL_MAX 64          /* room for the "mailsock-end N" line */
#define MAX_OVERRIDES 16

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
/* A sanitizer build (make check under ASan): LeakSanitizer cannot stop
 * the world in a setgid process, which the kernel makes non-dumpable, and
 * would fail every run.  Never make it dumpable instead: its caller could
 * then ptrace it. */
int __lsan_is_turned_off(void)
{
	return 1;
}
#endif

static const char *volatile drop_name;   /* the file to take back on failure */
static int drop_dirfd = -1;

/* Killed mid-copy: take the partial file back (unlinkat and raise are
 * async-signal-safe), then die of the signal as the caller expects. */
static void on_signal(int sig)
{
	if (drop_name)
		unlinkat(drop_dirfd, drop_name, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_signal };

	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

static int die(int status, const char *what)
{
	if (drop_name)
		unlinkat(drop_dirfd, drop_name, 0);
	fprintf(stderr, "mailsock-postdrop: %s\n", what);
	return status;
}

/* Only root picks the configuration: anyone else could name a file that
 * sends the group's write access elsewhere. */
static int load_config(struct config *cfg, int argc, char **argv)
{
	const char *file = SYSCONFDIR "/mailsock.conf", *overrides[MAX_OVERRIDES];
	bool given = false;
	size_t n = 0;
	char err[1200];
	int opt;

	while ((opt = getopt(argc, argv, "c:o:h")) != -1) {
		if (opt == 'h') {
			fputs(USAGE "configuration: " SYSCONFDIR "/mailsock.conf (-c, -o: root only)\n", stdout);
			exit(0);
		}
		if (opt != 'c' && opt != 'o') {
			fputs(USAGE, stderr);
			return EX_USAGE;
		}
		if (getuid() != 0) {
			fputs("mailsock-postdrop: only root may choose the configuration (-c, -o)\n", stderr);
			return EX_NOPERM;
		}
		if (opt == 'c') {
			file = optarg;
			given = true;
		} else if (n < MAX_OVERRIDES) {
			overrides[n++] = optarg;
		}
	}
	if (optind != argc) {
		fputs(USAGE, stderr);
		return EX_USAGE;
	}
	config_init(cfg);
	int rc = config_load_file(cfg, file, given, err, sizeof err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = config_set(cfg, overrides[i], "-o", 0, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "mailsock-postdrop: configuration error: %s\n", err);
		return EX_CONFIG;
	}
	config_finish(cfg);
	return 0;
}

static int open_maildrop(const struct config *cfg)
{
	/* O_PATH: the group may traverse these directories, not read them. */
	int qfd = open(cfg->queue_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = qfd < 0 ? -1 : openat(qfd, "maildrop", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int saved = errno;

	if (qfd >= 0)
		close(qfd);
	errno = saved;
	return fd;
}

static int create_file(int dirfd, char *name, size_t size)
{
	for (int tries = 0; tries < 10; tries++) {
		unique_id(name, size);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Make the new name durable: fsync of maildrop/ where the directory can
 * be opened (root), else syncfs(2) of its file system -- the group may
 * write into maildrop/ but not open it. */
static int sync_entry(int fd)
{
	int dfd = openat(drop_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return errno == EACCES ? syncfs(fd) : -1;
	int rc = fsync(dfd);
	close_quietly(dfd);
	return rc;
}

/* The last line is "mailsock-end N" and N octets precede it. */
static bool complete(const char *tail, size_t tail_len, unsigned long long total)
{
	char line[TAIL_MAX + 1];

	if (tail_len < 2 || tail[tail_len - 1] != '\n')
		return false;
	size_t start = tail_len - 1;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	if (start == 0 && total > tail_len)
		return false;
	size_t len = tail_len - 1 - start;
	memcpy(line, tail + start, len);
	line[len] = '\0';
	char *end;
	if (strncmp(line, "mailsock-end ", 13) != 0)
		return false;
	unsigned long long n = strtoull(line + 13, &end, 10);
	return *end == '\0' && end != line + 13 && n + len + 1 == total;
}

static void keep_tail(char *tail, size_t *tail_len, const char *buf, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(tail, buf + n - TAIL_MAX, TAIL_MAX);
		*tail_len = TAIL_MAX;
		return;
	}
	if (*tail_len + n > TAIL_MAX) {
		size_t drop = *tail_len + n - TAIL_MAX;
		memmove(tail, tail + drop, *tail_len - drop);
		*tail_len -= drop;
	}
	memcpy(tail + *tail_len, buf, n);
	*tail_len += n;
}

/* stdin into fd, up to limit octets: 0, or an EX_ status. */
static int copy_in(int fd, uint64_t limit)
{
	char buf[65536], tail[TAIL_MAX];
	size_t tail_len = 0;
	unsigned long long total = 0;

	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return die(EX_IOERR, "reading the message failed");
		if (n == 0)
			break;
		total += (unsigned long long)n;
		if (total > limit)
			return die(EX_DATAERR, "message too big (max_message_size)");
		if (write_all(fd, buf, (size_t)n) < 0)
			return die(errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : EX_IOERR,
			           errno == ENOSPC || errno == EDQUOT ? "no space left for the message"
			                                              : "writing the message failed");
		keep_tail(tail, &tail_len, buf, (size_t)n);
	}
	if (!complete(tail, tail_len, total))
		return die(EX_DATAERR, "incomplete input (no \"mailsock-end\" line): nothing queued");
	return 0;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	char name[UNIQUE_ID_MAX];
	int status = load_config(&cfg, argc, argv);

	if (status != 0)
		return status;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);     /* a caller's RLIMIT_FSIZE: EFBIG, and the file goes */
	umask(077);
	catch_signals();
	drop_dirfd = open_maildrop(&cfg);
	if (drop_dirfd < 0)
		return die(errno == ENOENT ? EX_CONFIG : EX_NOPERM,
		           errno == ENOENT ? "no maildrop directory in queue_dir (is mailsock installed?)"
		                           : "cannot enter the maildrop (is mailsock-postdrop setgid mailsock-drop?)");
	int fd = create_file(drop_dirfd, name, sizeof name);
	if (fd < 0)
		return die(errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : EX_CANTCREAT,
		           "cannot create a file in the maildrop");
	drop_name = name;
	/* A header may reach 998 octets: the envelope lines and the trailer
	 * come on top of the message that max_message_size bounds. */
	status = copy_in(fd, cfg.max_message_size + 64 * 1024);
	if (status != 0)
		return status;
	/* Durable first, then readable: smtp-relay takes only 0644 files. */
	if (fsync(fd) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		return die(errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : EX_IOERR,
		           "storing the message failed");
	if (sync_entry(fd) < 0 || close(fd) < 0)
		return die(EX_IOERR, "storing the message failed");
	drop_name = NULL;             /* stored: a late signal leaves it queued */
	return 0;
}
