/* command.c - run a delivery command (command.h). */
#include "command.h"
#include "log.h"
#include "privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_LINES_MAX 50          /* lines logged per run; the rest is read and dropped */
#define ENV_MAX 16

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void refused(struct command_result *out, const char *why)
{
	out->end = COMMAND_REFUSED;
	snprintf(out->why, sizeof out->why, "%s", why);
}

/* The child: its own process group (so the timeout kills all of it), the
 * pipes on 0, 1 and 2, SIGPIPE as a command expects it, the user. */
static void child(const char *command, char *const envp[], int in, int outw, const char *user)
{
	char err[256] = "running as root without a user";
	char *argv[] = { "sh", "-c", (char *)command, NULL };

	if (setpgid(0, 0) < 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		_exit(71);
	if (dup2(in, 0) < 0 || dup2(outw, 1) < 0 || dup2(outw, 2) < 0)
		_exit(71);
	enum privdrop_result pr = privdrop(user, err, sizeof err);
	if (pr == PRIVDROP_FAILED || pr == PRIVDROP_STILL_ROOT) {   /* never run it as root */
		dprintf(2, "4.3.0 cannot run as user %s: %s\n", user, err);
		_exit(75);
	}
	if (chdir("/") < 0)
		_exit(71);
	execve("/bin/sh", argv, envp);
	_exit(71);
}

struct output {
	char line[1024];
	size_t len;
	unsigned lines;
	struct command_result *out;
};

static void output_line(struct output *o)
{
	o->line[o->len] = '\0';
	if (o->lines == 0) {
		size_t n = o->len < sizeof o->out->first - 1 ? o->len : sizeof o->out->first - 1;
		memcpy(o->out->first, o->line, n);
		o->out->first[n] = '\0';
	}
	if (o->lines++ < OUTPUT_LINES_MAX)
		log_event(LOG_LEVEL_INFO, "command-output", "line", o->line, NULL);
	o->len = 0;
}

/* Read what is there: 1 when something came, -1 when nothing is there
 * yet, 0 at end of file or on an error. */
static int output_read(int fd, struct output *o)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -1 : 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || o->len == sizeof o->line - 1)
			output_line(o);
		if (buf[i] != '\n')
			o->line[o->len++] = buf[i];
	}
	if (n == 0 && o->len > 0)
		output_line(o);
	return n > 0 ? 1 : 0;
}

/* Feed the next piece of the message; false when stdin is done (all of
 * it written, or the command closed it: EPIPE is its own business). */
static bool input_write(int fd, int msgfd, off_t *off)
{
	char buf[16384];
	ssize_t n = pread(msgfd, buf, sizeof buf, *off);

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	ssize_t w = write(fd, buf, (size_t)n);
	if (w < 0)
		return errno == EINTR || errno == EAGAIN;
	*off += w;
	return true;
}

/* /bin/sh reports a command that a signal killed as exit 128 + N: that
 * is a signal too (a run of "sh -c" does not always exec the command). */
static void ended(int status, struct command_result *out)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) <= 128 + 64) {
		out->end = COMMAND_SIGNALED;
		out->status = WEXITSTATUS(status) - 128;
	} else if (WIFEXITED(status)) {
		out->end = COMMAND_EXITED;
		out->status = WEXITSTATUS(status);
	} else {
		out->end = COMMAND_SIGNALED;
		out->status = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
}

/* Until the command has exited and closed its output, or the deadline. */
static void supervise(pid_t pid, int in, int outr, int msgfd, unsigned timeout,
                      struct command_result *out)
{
	struct output o = { .out = out };
	long long deadline = now_ms() + (long long)timeout * 1000;
	off_t off = 0;
	int status;
	bool exited = false;

	while (!exited) {
		struct pollfd p[2] = { { .fd = in, .events = POLLOUT }, { .fd = outr, .events = POLLIN } };
		long long left = deadline - now_ms();
		int rc = left <= 0 ? 0 : poll(p, 2, left < 50 ? (int)left : 50);
		if (left <= 0 || (rc < 0 && errno != EINTR)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			if (left > 0)
				refused(out, "poll failed");       /* tried again later */
			else if (out->end != COMMAND_REFUSED)
				out->end = COMMAND_TIMEOUT;
			break;
		}
		if (in >= 0 && p[0].revents && !input_write(in, msgfd, &off)) {
			close(in);
			in = -1;
		}
		if (outr >= 0 && p[1].revents && output_read(outr, &o) == 0) {
			if (o.len > 0)
				output_line(&o);
			close(outr);
			outr = -1;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			ended(status, out);
		}
	}
	/* what it wrote before it exited; a background child that keeps the
	 * pipe open is not waited for */
	while (exited && outr >= 0 && output_read(outr, &o) == 1)
		;
	if (o.len > 0)
		output_line(&o);
	if (in >= 0)
		close(in);
	if (outr >= 0)
		close(outr);
}

/* envp points into store (malloc'ed, the caller frees it). */
static char *make_env(char **envp, const struct command_var *vars, size_t n_vars)
{
	size_t used = 0, k = 0, size = 1;

	for (size_t i = 0; i < n_vars; i++)
		size += strlen(vars[i].name) + (vars[i].value ? strlen(vars[i].value) : 0) + 2;
	char *store = malloc(size);
	if (!store)
		return NULL;

	envp[k++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	envp[k++] = "HOME=/";
	for (size_t i = 0; i < n_vars && k < ENV_MAX - 1; i++) {
		int n = snprintf(store + used, size - used, "%s=%s", vars[i].name,
		                 vars[i].value ? vars[i].value : "");
		if (n < 0 || (size_t)n >= size - used)
			break;
		envp[k++] = store + used;
		used += (size_t)n + 1;
	}
	envp[k] = NULL;
	return store;
}

void command_run(const char *command, const struct command_var *vars, size_t n_vars, int msgfd,
                 unsigned timeout, const char *user, struct command_result *out)
{
	char *envp[ENV_MAX];
	int in[2], outp[2];

	memset(out, 0, sizeof *out);
	if (user[0] == '\0' && privdrop_is_root()) {
		refused(out, "running as root without a user: commands are never run as root");
		return;
	}
	char *store = make_env(envp, vars, n_vars);
	if (!store) {
		refused(out, "out of memory");
		return;
	}
	if (pipe2(in, O_CLOEXEC) < 0) {
		refused(out, strerror(errno));
		free(store);
		return;
	}
	if (pipe2(outp, O_CLOEXEC) < 0) {
		refused(out, strerror(errno));
		close(in[0]);
		close(in[1]);
		free(store);
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		child(command, envp, in[0], outp[1], user);
	close(in[0]);
	close(outp[1]);
	free(store);
	if (pid < 0) {
		refused(out, strerror(errno));
		close(in[1]);
		close(outp[0]);
		return;
	}
	/* both sides set the group, whichever runs first; here it fails only
	 * when the child has already done it and exec'd (EACCES) */
	(void)setpgid(pid, pid);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	bool ignoring = false;            /* a command that stops reading is EPIPE, not our death */
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(outp[0], F_SETFL, O_NONBLOCK) < 0 ||
	    !(ignoring = sigaction(SIGPIPE, &ign, &old) == 0)) {
		refused(out, strerror(errno));
		timeout = 0;                  /* supervise() kills and reaps it at once */
	}
	supervise(pid, in[1], outp[0], msgfd, timeout, out);
	if (ignoring)
		sigaction(SIGPIPE, &old, NULL);
}

char command_verdict(const struct command_result *r)
{
	if (r->end != COMMAND_EXITED)
		return 'T';
	if (r->status == 0)
		return 'D';
	return r->status == 75 || r->status == 71 ? 'T' : 'P';
}

int command_enhanced(const struct command_result *r, char cls, char *enh, size_t size,
                     const char **text)
{
	const char *p = r->first;
	size_t n = 1;                    /* at the first '.' */

	if (p[0] != cls || p[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;
		n++;
		while (p[n] >= '0' && p[n] <= '9' && digits < 3)
			n++, digits++;
		if (digits == 0 || (part == 0 && p[n] != '.'))
			return 0;
	}
	if (p[n] != ' ' && p[n] != '\0')
		return 0;
	if (n >= size)
		return 0;
	memcpy(enh, p, n);
	enh[n] = '\0';
	*text = p[n] ? p + n + 1 : "";
	return 1;
}
