/* smtp-relay - deliver the mail that smtpd-session queued for foreign
 * domains: one run drains what is due, then exits. */
#include "config.h"
#include "mailq.h"
#include "log.h"
#include "run.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define USAGE "usage: smtp-relay [-c FILE] [-o key=value]... [-f | -l] | -h | -V\n"
#define MAX_OVERRIDES 64
#define EXIT_FAULT 75    /* EX_TEMPFAIL: the run stopped on a fault; try again */
#define EXIT_USAGE 64    /* EX_USAGE */
#define EXIT_CONFIG 78   /* EX_CONFIG */

static void usage(FILE *out)
{
	fputs(USAGE, out);
	fputs("  -c FILE         configuration file (default " SYSCONFDIR "/mailsock.conf)\n"
	      "  -o key=value    override one configuration key (repeatable)\n"
	      "  -f              flush: every deferred entry is due now\n"
	      "  -l              list the queue (like mailq) and exit\n"
	      "  -h              this help\n"
	      "  -V              version\n", out);
}

struct options {
	const char *file;
	bool file_given, flush, list;
	const char *overrides[MAX_OVERRIDES];
	size_t n_overrides;
};

/* -1: exit with *status. */
static int parse_args(int argc, char **argv, struct options *o, int *status)
{
	int opt;

	while ((opt = getopt(argc, argv, "c:o:flhV")) != -1) {
		switch (opt) {
		case 'c': o->file = optarg; o->file_given = true; break;
		case 'f': o->flush = true; break;
		case 'l': o->list = true; break;
		case 'o':
			if (o->n_overrides == MAX_OVERRIDES) {
				fputs("smtp-relay: too many -o options\n", stderr);
				*status = EXIT_USAGE;
				return -1;
			}
			o->overrides[o->n_overrides++] = optarg;
			break;
		case 'h': usage(stdout); *status = 0; return -1;
		case 'V': puts("smtp-relay (" PACKAGE_NAME ") " PACKAGE_VERSION); *status = 0; return -1;
		default: fputs(USAGE, stderr); *status = EXIT_USAGE; return -1;
		}
	}
	if (optind != argc || (o->flush && o->list)) {
		fputs(USAGE, stderr);
		*status = EXIT_USAGE;
		return -1;
	}
	return 0;
}

static int load_config(struct config *cfg, const struct options *o)
{
	char err[1200];

	config_init(cfg);
	int rc = config_load_file(cfg, o->file, o->file_given, err, sizeof err);
	for (size_t i = 0; rc == 0 && i < o->n_overrides; i++)
		rc = config_set(cfg, o->overrides[i], "-o", 0, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "smtp-relay: configuration error: %s\n", err);
		return -1;
	}
	config_finish(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .file = SYSCONFDIR "/mailsock.conf" };
	static struct config cfg;
	int status;

	if (parse_args(argc, argv, &o, &status) < 0)
		return status;
	if (load_config(&cfg, &o) < 0)
		return EXIT_CONFIG;
	signal(SIGPIPE, SIG_IGN);
	log_init("smtp-relay", cfg.log_level);
	if (o.list) {
		if (list_queue(&cfg, stdout) == 0)
			return 0;
		perror("smtp-relay: listing the queue");
		return EXIT_FAULT;
	}
	if (run_queue(&cfg, o.flush) < 0) {
		fputs("smtp-relay: the run stopped on a fault (see the log)\n", stderr);
		return EXIT_FAULT;
	}
	return 0;
}
