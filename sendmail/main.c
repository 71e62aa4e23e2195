/* mailsock-sendmail - local submission: the sendmail(1) interface that
 * cron, mailx, scripts and PHP use.  Unprivileged: it reads the message,
 * finds the recipients and hands both to the setgid mailsock-postdrop,
 * which writes them into the maildrop; smtp-relay picks them up from
 * there (doc/queue.md, mailsock-sendmail(8)). */
#include "sendmail.h"
#include "drop.h"
#include "headers.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define USAGE "usage: mailsock-sendmail [-t] [-i] [-f SENDER] [-F NAME] [RCPT...] < message\n" \
              "       mailsock-sendmail -bs | -bp | -q\n"
#define HEADERS_MAX (1024 * 1024)   /* the header section is held in memory */

#ifndef SMTP_RELAY_PATH
#define SMTP_RELAY_PATH "/usr/sbin/smtp-relay"
#endif

char *postdrop_args[8];
static size_t n_postdrop_args;

enum mode { MODE_SEND, MODE_SMTP, MODE_LIST, MODE_FLUSH, MODE_NOOP };

struct options {
	enum mode mode;
	bool from_headers;      /* -t */
	bool dots_are_data;     /* -i, -oi */
	const char *sender;     /* -f, or NULL */
	const char *fullname;   /* -F, or NULL */
	char *rcpts[RCPTS_MAX];
	size_t n_rcpts;
	int status;             /* the first bad address's exit status */
};

bool address_check(const char *in, char *out, size_t size)
{
	char path[PATH_MAX_OCTETS + 32];
	struct mailbox mb;
	size_t used, len = strlen(in);
	bool bare = !strchr(in, '@');

	if (len > 1 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	/* A bare name is checked as a local part of some domain. */
	if (len == 0 || snprintf(path, sizeof path, "<%.*s%s>", (int)len, in,
	                         bare ? "@localhost" : "") >= (int)sizeof path)
		return false;
	if (path_parse(path, strlen(path), true, &mb, &used) != ADDR_OK || used != strlen(path) ||
	    mb.source_route)
		return false;
	if (bare)
		return snprintf(out, size, "%s", mb.local) < (int)size;
	return mailbox_format(&mb, out, size);
}

static int add_rcpt(struct options *o, const char *addr, int bad_status)
{
	char ok[ADDRESS_MAX + 1];

	if (!address_check(addr, ok, sizeof ok)) {
		fprintf(stderr, "mailsock-sendmail: bad recipient address: %s\n", addr);
		if (o->status == 0)
			o->status = bad_status;
		return -1;
	}
	if (o->n_rcpts == RCPTS_MAX || !(o->rcpts[o->n_rcpts] = strdup(ok))) {
		fputs("mailsock-sendmail: too many recipients\n", stderr);
		o->status = EX_SOFTWARE;
		return -1;
	}
	o->n_rcpts++;
	return 0;
}

static int usage_error(const char *what)
{
	fprintf(stderr, "mailsock-sendmail: %s\n" USAGE, what);
	return EX_USAGE;
}

static int config_arg(const char *flag, const char *value)
{
	if (n_postdrop_args + 2 >= sizeof postdrop_args / sizeof postdrop_args[0])
		return usage_error("too many -c/-o options");
	postdrop_args[n_postdrop_args++] = (char *)flag;
	postdrop_args[n_postdrop_args++] = (char *)value;
	return 0;
}

/* Traditional flags with a value, attached ("-N never") or not, that
 * change nothing here: -B, -N, -R, -V, -X, -L, -O, -h, -p, -A. */
static bool ignored_with_value(char c)
{
	return strchr("BNRVXLOhpA", c) != NULL;
}

/* -o: "-oi" is -i; "-o key=value" configures (root only); the rest of
 * the old option letters (-oem, -odb, -oQ/dir, ...) are accepted. */
static int option_o(struct options *o, char **argv, int *i)
{
	const char *rest = argv[*i] + 2;

	if (strcmp(rest, "i") == 0) {
		o->dots_are_data = true;
		return 0;
	}
	if (*rest)
		return 0;
	if (!argv[*i + 1])
		return usage_error("-o needs a value");
	return strchr(argv[++*i], '=') ? config_arg("-o", argv[*i]) : 0;
}

static int option_b(struct options *o, const char *rest)
{
	if (strcmp(rest, "m") == 0)
		o->mode = MODE_SEND;
	else if (strcmp(rest, "s") == 0)
		o->mode = MODE_SMTP;
	else if (strcmp(rest, "p") == 0)
		o->mode = MODE_LIST;
	else if (strcmp(rest, "i") == 0)
		o->mode = MODE_NOOP;
	else
		return usage_error("unsupported -b mode (-bm, -bs, -bp, -bi only)");
	return 0;
}

/* The value of "-fVALUE" or "-f VALUE". */
static const char *value_of(char **argv, int *i)
{
	return argv[*i][2] ? argv[*i] + 2 : argv[*i + 1] ? argv[++*i] : NULL;
}

static int parse_flag(struct options *o, char **argv, int *i)
{
	const char *a = argv[*i], *v;

	if (strspn(a + 1, "ti") == strlen(a + 1)) {     /* -t, -i, and "-ti" as PHP may write */
		o->from_headers |= strchr(a, 't') != NULL;
		o->dots_are_data |= strchr(a, 'i') != NULL;
		return 0;
	}
	switch (a[1]) {
	case 'o': return option_o(o, argv, i);
	case 'b': return option_b(o, a + 2);
	case 'q': o->mode = MODE_FLUSH; return 0;
	case 'v': case 'm': case 'n': case 'U': case 'G': case 'd': case 'x': return 0;
	case 'f': case 'r': case 'F': case 'c': case 'C':
		if (!(v = value_of(argv, i)))
			return usage_error("a flag needs a value");
		if (a[1] == 'F')
			o->fullname = v;
		else if (a[1] == 'c' || a[1] == 'C')
			return config_arg("-c", v);
		else
			o->sender = v;
		return 0;
	default:
		if (a[1] && ignored_with_value(a[1]))
			return value_of(argv, i) ? 0 : usage_error("a flag needs a value");
		return usage_error("unknown flag");
	}
}

static int parse_args(struct options *o, int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0) {
			fputs(USAGE, stdout);
			exit(0);
		}
		if (parse_flag(o, argv, &i) != 0)
			return EX_USAGE;
	}
	for (; i < argc; i++)
		add_rcpt(o, argv[i], EX_NOUSER);
	return o->status;
}

/* ---- the message on stdin ------------------------------------------------ */

struct reader {
	char *line;
	size_t cap;
	size_t len;             /* of line: text may hold a NUL */
	bool dots_are_data;
	bool had_newline;       /* the last line read ended in one */
};

/* The next line without CR LF or LF; false at the end (or a lone "."). */
static bool next_line(struct reader *r)
{
	ssize_t n = getline(&r->line, &r->cap, stdin);

	if (n < 0)
		return false;
	r->had_newline = n > 0 && r->line[n - 1] == '\n';
	if (r->had_newline)
		r->line[--n] = '\0';
	if (n > 0 && r->line[n - 1] == '\r' && r->had_newline)
		r->line[--n] = '\0';
	r->len = (size_t)n;
	return r->dots_are_data || strcmp(r->line, ".") != 0;
}

/* A field name: printable ASCII but ':' (RFC 5322 2.2), then ':'. */
static bool starts_field(const char *line)
{
	const char *p = line;

	while (*p > ' ' && *p < 127 && *p != ':')
		p++;
	const char *name_end = p;
	while (*p == ' ' || *p == '\t')         /* RFC 822 allowed blanks before ':' */
		p++;
	return p != line && name_end != line && *p == ':';
}

struct field {
	char *text;             /* as read, lines joined by LF, no final LF */
	char *unfolded;
};

struct head {
	struct field *fields;
	size_t n, octets;
};

static int head_add(struct head *h, const char *line, bool continuation)
{
	size_t len = strlen(line);

	h->octets += len + 1;
	if (h->octets > HEADERS_MAX)
		return -1;
	if (continuation) {
		struct field *f = &h->fields[h->n - 1];
		size_t old = strlen(f->text), old_u = strlen(f->unfolded);
		char *t = realloc(f->text, old + len + 2), *u = realloc(f->unfolded, old_u + len + 1);
		if (t)
			f->text = t;
		if (u)
			f->unfolded = u;
		if (!t || !u)
			return -1;
		snprintf(t + old, len + 2, "\n%s", line);
		memcpy(u + old_u, line, len + 1);       /* RFC 5322 2.2.3: drop the CRLF */
		return 0;
	}
	struct field *fs = realloc(h->fields, (h->n + 1) * sizeof *fs);
	if (!fs)
		return -1;
	h->fields = fs;
	fs[h->n].text = strdup(line);
	fs[h->n].unfolded = strdup(line);
	return fs[h->n++].text && fs[h->n - 1].unfolded ? 0 : -1;
}

static void head_free(struct head *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->fields[i].text);
		free(h->fields[i].unfolded);
	}
	free(h->fields);
}

/* Read the header section.  1: a body follows (the current line is its
 * first, *blank when it was the empty separator line); 0: input ended. */
static int read_head(struct reader *r, struct head *h, bool *blank)
{
	bool first = true;

	while (next_line(r)) {
		const char *l = r->line;
		if (first && strncmp(l, "From ", 5) == 0) {   /* an mbox envelope line */
			first = false;
			continue;
		}
		first = false;
		*blank = l[0] == '\0';
		if (*blank || (!(h->n > 0 && (l[0] == ' ' || l[0] == '\t')) && !starts_field(l)))
			return 1;
		if (head_add(h, l, l[0] == ' ' || l[0] == '\t') < 0) {
			fputs("mailsock-sendmail: header section too large\n", stderr);
			exit(EX_DATAERR);
		}
	}
	return 0;
}

static void each_header_rcpt(const char *addr, void *arg)
{
	add_rcpt(arg, addr, EX_DATAERR);
}

/* -t: To, Cc and Bcc (RFC 5322 3.6.3). */
static void rcpts_from_head(struct options *o, const struct head *h)
{
	static const char *const names[] = { "to", "cc", "bcc" };
	const char *body;

	for (size_t i = 0; i < h->n; i++)
		for (size_t k = 0; k < 3; k++)
			if (header_is(h->fields[i].unfolded, names[k], &body))
				header_addresses(body, each_header_rcpt, o);
}

static void write_line(struct drop *d, const char *line, size_t len, bool newline)
{
	drop_write(d, line, len);
	if (newline)
		drop_write(d, "\n", 1);
}

/* The header section without Bcc (never stored: it would tell every
 * recipient), then the body as it comes. */
static int send_message(struct options *o, struct reader *r, const struct head *h, int more,
                        bool blank)
{
	struct drop d;
	const char *body;

	if (drop_open(&d, postdrop_args, o->sender, o->fullname, o->rcpts, o->n_rcpts) < 0) {
		perror("mailsock-sendmail: starting mailsock-postdrop");
		return EX_OSERR;
	}
	for (size_t i = 0; i < h->n; i++)
		if (!header_is(h->fields[i].unfolded, "bcc", &body))
			write_line(&d, h->fields[i].text, strlen(h->fields[i].text), true);
	if (more) {
		drop_write(&d, "\n", 1);
		if (!blank)
			write_line(&d, r->line, r->len, r->had_newline);
		while (next_line(r))
			write_line(&d, r->line, r->len, r->had_newline);
	}
	return drop_close(&d);
}

static int submit(struct options *o)
{
	struct reader r = { .dots_are_data = o->dots_are_data };
	struct head h = { 0 };
	bool blank = true;
	char sender[ADDRESS_MAX + 1];

	if (o->sender && strcmp(o->sender, "<>") != 0 && o->sender[0]) {
		if (!address_check(o->sender, sender, sizeof sender)) {
			fprintf(stderr, "mailsock-sendmail: bad sender address: %s\n", o->sender);
			return EX_DATAERR;
		}
		o->sender = sender;
	} else if (o->sender) {
		o->sender = "";
	}
	int more = read_head(&r, &h, &blank), status = 0;
	if (o->from_headers)
		rcpts_from_head(o, &h);
	if (o->status != 0)
		status = o->status;
	else if (o->n_rcpts == 0) {
		fputs("mailsock-sendmail: no recipients\n", stderr);
		status = EX_USAGE;
	} else {
		status = send_message(o, &r, &h, more, blank);
		if (status != 0)
			fprintf(stderr, "mailsock-sendmail: the message was not queued (status %d)\n", status);
	}
	head_free(&h);
	free(r.line);
	return status;
}

/* -bp and -q run smtp-relay, which only root (or the mail user) may. */
static int run_relay(const char *flag, const char *why)
{
	/* not honoured when sendmail runs set-id (glibc secure_getenv) */
	const char *path = secure_getenv("MAILSOCK_SMTP_RELAY");
	char *argv[12] = { "smtp-relay", (char *)flag };
	size_t n = 2;

	if (getuid() != 0) {
		fprintf(stderr, "mailsock-sendmail: %s\n", why);
		return EX_NOPERM;
	}
	for (size_t i = 0; i < n_postdrop_args; i++)
		argv[n++] = postdrop_args[i];
	argv[n] = NULL;
	execv(path && *path ? path : SMTP_RELAY_PATH, argv);
	perror("mailsock-sendmail: running smtp-relay");
	return EX_UNAVAILABLE;
}

int main(int argc, char **argv)
{
	static struct options o;
	const char *name = basename(argv[0]);

	if (strcmp(name, "mailq") == 0)
		o.mode = MODE_LIST;
	else if (strcmp(name, "newaliases") == 0)
		o.mode = MODE_NOOP;
	signal(SIGPIPE, SIG_IGN);         /* postdrop's exit status tells why it stopped */
	int status = parse_args(&o, argc, argv);
	if (status != 0)
		return status;
	switch (o.mode) {
	case MODE_SMTP: return smtp_session();
	case MODE_LIST:
		return run_relay("-l", "only root may list the queue (mailq): it holds everyone's mail");
	case MODE_FLUSH:
		return run_relay("-f", "only root may start a delivery run (-q); "
		                       "smtp-relay.timer runs one every few minutes");
	case MODE_NOOP: return 0;
	case MODE_SEND: break;
	}
	status = submit(&o);
	for (size_t i = 0; i < o.n_rcpts; i++)
		free(o.rcpts[i]);
	return status;
}
