/* drop.c - the pipe to mailsock-postdrop: the only way mailsock-sendmail
 * puts a message on disk. */
#include "drop.h"
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#ifndef POSTDROP_PATH
#define POSTDROP_PATH "/usr/sbin/mailsock-postdrop"
#endif

void drop_write(struct drop *d, const char *buf, size_t len)
{
	if (len == 0)
		return;
	/* A write error means postdrop stopped (too big, no space): its exit
	 * status tells, so the rest is dropped quietly. */
	fwrite(buf, 1, len, d->out);
	d->count += len;
	d->last = buf[len - 1];
}

static void put_line(struct drop *d, const char *key, const char *value)
{
	drop_write(d, key, strlen(key));
	drop_write(d, " ", 1);
	for (const char *p = value; *p; p++)        /* one line per value */
		drop_write(d, *p == '\n' || *p == '\r' ? " " : p, 1);
	drop_write(d, "\n", 1);
}

static pid_t spawn(char *const *args, int *fd)
{
	/* not honoured when sendmail runs set-id (glibc secure_getenv) */
	const char *path = secure_getenv("MAILSOCK_POSTDROP");
	char *argv[40] = { "mailsock-postdrop" };
	size_t n = 1;
	int p[2];

	for (; args && args[n - 1] && n < 39; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	if (!path || !*path)
		path = POSTDROP_PATH;
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(p[0], 0) < 0)
			_exit(EX_OSERR);
		close(p[0]);
		close(p[1]);
		execv(path, argv);
		fprintf(stderr, "mailsock-sendmail: cannot run %s: %s\n", path, strerror(errno));
		_exit(errno == ENOENT ? EX_CONFIG : EX_OSERR);
	}
	close(p[0]);
	if (pid < 0) {
		close_quietly(p[1]);
		return -1;
	}
	*fd = p[1];
	return pid;
}

int drop_open(struct drop *d, char *const *args, const char *sender, const char *fullname,
              char *const *rcpts, size_t n_rcpts)
{
	int fd;

	d->count = 0;
	d->last = '\n';
	d->pid = spawn(args, &fd);
	if (d->pid < 0)
		return -1;
	d->out = fdopen(fd, "w");
	if (!d->out) {
		close_quietly(fd);
		return -1;
	}
	drop_write(d, "mailsock-maildrop 1\n", 20);
	if (sender)
		put_line(d, "sender", sender);
	if (fullname)
		put_line(d, "fullname", fullname);
	for (size_t i = 0; i < n_rcpts; i++)
		put_line(d, "rcpt", rcpts[i]);
	drop_write(d, "\n", 1);
	return 0;
}

static int wait_postdrop(pid_t pid)
{
	int status;
	pid_t p;

	while ((p = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (p < 0 || !WIFEXITED(status))
		return EX_OSERR;
	return WEXITSTATUS(status);
}

void drop_abort(struct drop *d)
{
	fclose(d->out);           /* no trailer: postdrop keeps nothing */
	wait_postdrop(d->pid);
}

int drop_close(struct drop *d)
{
	if (d->last != '\n')
		drop_write(d, "\n", 1);
	fprintf(d->out, "mailsock-end %llu\n", d->count);
	fclose(d->out);
	return wait_postdrop(d->pid);
}
