/* listen.c - the fast way under systemd: accept, fork one session per
 * connection, reap.
 *
 * The parent never reads client input: it accepts, counts, forks, and
 * answers "421 4.7.0" itself only above the connection caps.  Signals are
 * blocked except inside ppoll(), so SIGCHLD and SIGTERM are handled at one
 * place in the loop and never interrupt anything else. */
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_FDS_START 3
#define MAX_LISTENERS 16
#define ACCEPT_BATCH 64          /* connections taken per wake-up and socket */

struct source {                  /* a client address, v4-mapped as v4 */
	int family;
	unsigned char addr[16];
};

struct child {
	pid_t pid;
	struct source src;
};

static struct {
	const struct config *cfg;
	int fds[MAX_LISTENERS];
	int n_fds;
	struct child *children;      /* cfg->max_connections slots */
	unsigned n_children;
	sigset_t wait_mask;          /* the mask inside ppoll: our signals open */
	sigset_t orig_mask;          /* the mask a child gets back */
} srv;

static volatile sig_atomic_t got_child, got_stop;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_child = 1;
	else
		got_stop = 1;
}

/* ---- taking the sockets over ------------------------------------------ */

static bool parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

int listen_fds_take(void)
{
	unsigned long pid, n;

	if (!parse_ulong(getenv("LISTEN_PID"), &pid) || pid != (unsigned long)getpid())
		return 0;
	if (!parse_ulong(getenv("LISTEN_FDS"), &n) || n == 0 || n > MAX_LISTENERS)
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + (int)n; fd++)
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return 0;
	return (int)n;
}

static bool is_listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* ---- connection accounting -------------------------------------------- */

static void source_of(const struct sockaddr_storage *ss, struct source *src)
{
	memset(src, 0, sizeof *src);
	src->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(src->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			src->family = AF_INET;
			memcpy(src->addr, a->s6_addr + 12, 4);
		} else {
			memcpy(src->addr, a, 16);
		}
	}
}

static void source_text(const struct source *src, char *buf, size_t size)
{
	if ((src->family != AF_INET && src->family != AF_INET6) ||
	    !inet_ntop(src->family, src->addr, buf, (socklen_t)size))
		snprintf(buf, size, "local");
}

static unsigned count_source(const struct source *src)
{
	unsigned n = 0;

	for (unsigned i = 0; i < srv.n_children; i++)
		if (memcmp(&srv.children[i].src, src, sizeof *src) == 0)
			n++;
	return n;
}

static void child_gone(pid_t pid, int status)
{
	for (unsigned i = 0; i < srv.n_children; i++) {
		if (srv.children[i].pid != pid)
			continue;
		srv.children[i] = srv.children[--srv.n_children];
		break;
	}
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 1)) {
		char pid_s[16], st[16];
		snprintf(pid_s, sizeof pid_s, "%ld", (long)pid);
		snprintf(st, sizeof st, "%d", WIFSIGNALED(status) ? 128 + WTERMSIG(status)
		                                                  : WEXITSTATUS(status));
		log_event(LOG_LEVEL_ERROR, "session-failed", "pid", pid_s, "status", st, NULL);
	}
}

static void reap(void)
{
	got_child = 0;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		child_gone(pid, status);
	}
}

/* ---- one connection ----------------------------------------------------- */

/* Above a cap: one 421 line that never blocks the parent, then close. */
static void refuse(int conn, const struct source *src, const char *ecode, const char *why)
{
	char line[CONFIG_NAME_MAX + 128], peer[INET6_ADDRSTRLEN];
	int n = snprintf(line, sizeof line, "421 %s %s %s, try again later\r\n",
	                 ecode, srv.cfg->hostname, why);

	if (n > 0 && (size_t)n < sizeof line)
		(void)send(conn, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	source_text(src, peer, sizeof peer);
	log_event(LOG_LEVEL_INFO, "refused", "peer", peer, "reason", why, NULL);
}

/* The cap a new connection from src would pass, or why not. */
static const char *over_cap(const struct source *src)
{
	if (srv.n_children >= srv.cfg->max_connections ||
	    count_source(src) >= srv.cfg->max_connections_per_source)
		reap();                  /* exited children may not be counted out yet */
	if (srv.n_children >= srv.cfg->max_connections)
		return "Too many connections";
	if (count_source(src) >= srv.cfg->max_connections_per_source)
		return "Too many connections from your address";
	return NULL;
}

static _Noreturn void run_child(int conn)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	for (int i = 0; i < srv.n_fds; i++)
		close(srv.fds[i]);
	sigaction(SIGCHLD, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &srv.orig_mask, NULL);
	if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0)
		_exit(1);
	if (conn > 1)
		close(conn);
	_exit(session_run(srv.cfg, 0, 1));
}

static void handle(int conn, const struct sockaddr_storage *ss)
{
	struct source src;

	source_of(ss, &src);
	const char *why = over_cap(&src);
	if (why) {
		refuse(conn, &src, "4.7.0", why);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_event(LOG_LEVEL_ERROR, "fork-failed", "error", strerror(errno), NULL);
		refuse(conn, &src, "4.3.0", "Out of resources");
		return;
	}
	if (pid == 0)
		run_child(conn);
	srv.children[srv.n_children].pid = pid;
	srv.children[srv.n_children].src = src;
	srv.n_children++;
}

/* Out of file descriptors or memory: back off instead of spinning. */
static void pause_briefly(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void accept_some(int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int conn = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_event(LOG_LEVEL_ERROR, "accept-failed", "error", strerror(errno), NULL);
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_briefly();
			return;
		}
		handle(conn, &ss);
		if (close(conn) < 0 && errno != EINTR)
			log_event(LOG_LEVEL_ERROR, "close-failed", "error", strerror(errno), NULL);
	}
}

/* ---- the loop ----------------------------------------------------------- */

static int setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &srv.orig_mask) < 0)
		return -1;
	srv.wait_mask = srv.orig_mask;
	sigdelset(&srv.wait_mask, SIGCHLD);
	sigdelset(&srv.wait_mask, SIGTERM);
	sigdelset(&srv.wait_mask, SIGINT);
	sigdelset(&srv.wait_mask, SIGHUP);
	if (sigaction(SIGCHLD, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	return 0;
}

static int serve(void)
{
	struct pollfd p[MAX_LISTENERS];

	for (int i = 0; i < srv.n_fds; i++)
		p[i] = (struct pollfd){ .fd = srv.fds[i], .events = POLLIN };
	notify("READY=1\nSTATUS=Accepting connections");
	while (!got_stop) {
		int n = ppoll(p, (nfds_t)srv.n_fds, NULL, &srv.wait_mask);
		if (n < 0 && errno != EINTR) {
			log_event(LOG_LEVEL_ERROR, "poll-failed", "error", strerror(errno), NULL);
			return 1;
		}
		if (got_child)
			reap();
		for (int i = 0; n > 0 && i < srv.n_fds; i++)
			if (p[i].revents & POLLIN)
				accept_some(p[i].fd);
	}
	notify("STOPPING=1");
	log_event(LOG_LEVEL_INFO, "stop", "sessions", srv.n_children ? "running" : "none", NULL);
	return 0;
}

/* fd 3 is one connection (Accept=yes without StandardInput=socket). */
static int run_one(const struct config *cfg)
{
	if (dup2(LISTEN_FDS_START, 0) < 0 || dup2(LISTEN_FDS_START, 1) < 0)
		return 1;
	close(LISTEN_FDS_START);
	return session_run(cfg, 0, 1);
}

int listen_run(const struct config *cfg, int n)
{
	if (n == 1 && !is_listening(LISTEN_FDS_START))
		return run_one(cfg);
	srv.cfg = cfg;
	srv.n_fds = n;
	srv.children = calloc(cfg->max_connections, sizeof *srv.children);
	if (!srv.children)
		return 1;
	for (int i = 0; i < n; i++) {
		srv.fds[i] = LISTEN_FDS_START + i;
		int flags = fcntl(srv.fds[i], F_GETFL);
		if (!is_listening(srv.fds[i]) || flags < 0 ||
		    fcntl(srv.fds[i], F_SETFL, flags | O_NONBLOCK) < 0) {
			log_event(LOG_LEVEL_ERROR, "listen-failed", "error", "not a listening socket", NULL);
			return 1;
		}
	}
	(void)session_tls_preload(cfg);     /* once, before any fork; failure is logged */
	if (setup_signals() < 0) {
		log_event(LOG_LEVEL_ERROR, "listen-failed", "error", strerror(errno), NULL);
		return 1;
	}
	char max[16], per[16];
	snprintf(max, sizeof max, "%u", cfg->max_connections);
	snprintf(per, sizeof per, "%u", cfg->max_connections_per_source);
	log_event(LOG_LEVEL_INFO, "listen", "max_connections", max,
	          "max_connections_per_source", per, NULL);
	return serve();
}
