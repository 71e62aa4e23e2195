/* smtpd-session - one SMTP session on stdin/stdout, then exit.
 *
 * Started once per connection by systemd (Accept=yes), inetd, xinetd or
 * tcpserver, or with a scripted session piped into stdin; or, the fast way
 * under systemd (Accept=no), with listening sockets: see listen.c. */
#include "config.h"
#include "listen.h"
#include "log.h"
#include "peer.h"
#include "privdrop.h"
#include "session.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define USAGE "usage: smtpd-session [-c FILE] [-o key=value]... | -h | -V\n"
#define EXIT_USAGE 64       /* sysexits.h EX_USAGE */
#define EXIT_CONFIG 78      /* sysexits.h EX_CONFIG */
#define MAX_OVERRIDES 64

static void usage(FILE *f)
{
	fputs(USAGE
	      "  -c FILE         configuration file (default " SYSCONFDIR "/mailsock.conf)\n"
	      "  -o key=value    override one configuration key (repeatable)\n"
	      "  -h              this help\n"
	      "  -V              print the version\n", f);
}

static bool client_on_stdout = true;     /* false in listening mode */

/* A bad configuration: say so on stderr and, to a connected client, 421. */
static int config_error(const char *message)
{
	static const char reply[] = "421 4.3.0 Server configuration error, try again later\r\n";

	log_early_error("smtpd-session", message);
	if (client_on_stdout && !isatty(1))
		(void)!write(1, reply, sizeof reply - 1);
	return EXIT_CONFIG;
}

/* Started as root (by a superserver): become the configured user before any
 * network input is read.  Root with no user configured may run a trusted
 * local session, never a network one. */
static int drop_root(const struct config *cfg, bool network)
{
	char err[256];

	switch (privdrop(cfg->user, err, sizeof err)) {
	case PRIVDROP_UNPRIVILEGED:
	case PRIVDROP_SWITCHED:
		return 0;
	case PRIVDROP_STILL_ROOT:
		if (!network)
			return 0;
		return config_error("refusing to serve the network as root: set \"user\"");
	case PRIVDROP_FAILED:
	default:
		return config_error(err);
	}
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/mailsock.conf";
	bool file_given = false;
	const char *overrides[MAX_OVERRIDES];
	size_t n_overrides = 0;
	int opt;

	while ((opt = getopt(argc, argv, "c:o:hV")) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			file_given = true;
			break;
		case 'o':
			if (n_overrides == MAX_OVERRIDES) {
				fputs("smtpd-session: too many -o options\n", stderr);
				return EXIT_USAGE;
			}
			overrides[n_overrides++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			puts("smtpd-session (" PACKAGE_NAME ") " PACKAGE_VERSION);
			return 0;
		default:
			fputs(USAGE, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(USAGE, stderr);
		return EXIT_USAGE;
	}

	signal(SIGPIPE, SIG_IGN);     /* a vanished client is an EPIPE, not a death */
	int n_listen = listen_fds_take();
	client_on_stdout = n_listen == 0;

	static struct config cfg;
	char err[1200];
	config_init(&cfg);
	if (config_load_file(&cfg, file, file_given, err, sizeof err) < 0)
		return config_error(err);
	for (size_t i = 0; i < n_overrides; i++)
		if (config_set(&cfg, overrides[i], "-o", 0, err, sizeof err) < 0)
			return config_error(err);
	config_finish(&cfg);

	int rc = drop_root(&cfg, n_listen > 0 || peer_is_remote());
	if (rc != 0)
		return rc;
	log_init("smtpd-session", cfg.log_level);
	if (n_listen > 0)
		return listen_run(&cfg, n_listen);
	return session_run(&cfg, 0, 1);
}
