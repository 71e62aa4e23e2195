/* smtpd-session - one SMTP session on stdin/stdout, then exit.
 *
 * Started once per connection by systemd (Accept=yes), inetd, xinetd or
 * tcpserver, or with a scripted session piped into stdin. */
#include "config.h"
#include "log.h"
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

/* A bad configuration: say so on stderr and, to a connected client, 421. */
static int config_error(const char *message)
{
	static const char reply[] = "421 4.3.0 Server configuration error, try again later\r\n";

	fprintf(stderr, "smtpd-session: %s\n", message);
	if (!isatty(1))
		(void)!write(1, reply, sizeof reply - 1);
	return EXIT_CONFIG;
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

	static struct config cfg;
	char err[1200];
	config_init(&cfg);
	if (config_load_file(&cfg, file, file_given, err, sizeof err) < 0)
		return config_error(err);
	for (size_t i = 0; i < n_overrides; i++)
		if (config_set(&cfg, overrides[i], "-o", 0, err, sizeof err) < 0)
			return config_error(err);
	config_finish(&cfg);
	log_init("smtpd-session", cfg.log_level);
	return session_run(&cfg, 0, 1);
}
