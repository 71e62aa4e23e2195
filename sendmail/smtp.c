/* smtp.c - sendmail -bs: SMTP on stdin and stdout (RFC 5321), each
 * message handed to mailsock-postdrop like one from the command line.
 *
 * A small reader of its own, not smtpd-session's session: a local -bs
 * user needs no relay rules, peer checks or stores, only MAIL, RCPT and
 * DATA into the maildrop, where the uid is what the trace records. */
#include "sendmail.h"
#include "drop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#define LINE_MAX_OCTETS 1000   /* RFC 5321 4.5.3.1.6, with CRLF */

struct tx {
	char sender[ADDRESS_MAX + 1];
	bool has_sender;
	char *rcpts[RCPTS_MAX];
	size_t n_rcpts;
};

static void reply(const char *text)
{
	fputs(text, stdout);
	fputs("\r\n", stdout);
	fflush(stdout);
}

static void greet(const char *host, bool extended)
{
	if (extended)
		printf("250-%s\r\n250-8BITMIME\r\n250 PIPELINING\r\n", host);
	else
		printf("250 %s\r\n", host);
	fflush(stdout);
}

static void tx_reset(struct tx *tx)
{
	for (size_t i = 0; i < tx->n_rcpts; i++)
		free(tx->rcpts[i]);
	tx->n_rcpts = 0;
	tx->has_sender = false;
}

/* A line without its CRLF (or LF); false at the end of input. */
static bool read_line(char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, stdin);

	if (n < 0)
		return false;
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[--n] = '\0';
	if (n > 0 && (*line)[n - 1] == '\r')
		(*line)[--n] = '\0';
	return true;
}

/* The path after "FROM:" or "TO:": "<...>", blanks allowed before it. */
static bool path_of(const char *arg, char *out, size_t size, bool allow_null)
{
	char inner[PATH_MAX_OCTETS + 1];

	while (*arg == ' ')
		arg++;
	const char *end = *arg == '<' ? strchr(arg, '>') : NULL;
	if (!end || (size_t)(end - arg - 1) > PATH_MAX_OCTETS)
		return false;
	memcpy(inner, arg + 1, (size_t)(end - arg - 1));
	inner[end - arg - 1] = '\0';
	if (inner[0] == '\0') {
		out[0] = '\0';
		return allow_null;
	}
	return address_check(inner, out, size);
}

static int status_reply(int status)
{
	switch (status) {
	case 0: reply("250 2.0.0 Ok: in the maildrop"); break;
	case EX_DATAERR: reply("552 5.3.4 Message too big or incomplete"); break;
	case EX_TEMPFAIL: reply("452 4.3.1 Insufficient system storage"); break;
	default: reply("451 4.3.0 Local error: the maildrop refused the message"); break;
	}
	return status;
}

/* DATA: dot-unstuffed lines (RFC 5321 4.5.2) to postdrop until ".". */
static void data(struct tx *tx, char **line, size_t *cap)
{
	struct drop d;
	bool ok = drop_open(&d, postdrop_args, tx->sender, NULL, tx->rcpts, tx->n_rcpts) == 0;

	reply("354 End data with <CR><LF>.<CR><LF>");
	while (read_line(line, cap)) {
		const char *p = *line;
		if (strcmp(p, ".") == 0) {
			status_reply(ok ? drop_close(&d) : EX_OSERR);
			tx_reset(tx);
			return;
		}
		if (p[0] == '.')
			p++;
		if (ok) {
			drop_write(&d, p, strlen(p));
			drop_write(&d, "\n", 1);
		}
	}
	if (ok)                                     /* no "." at all: nothing queued */
		drop_abort(&d);
	exit(EX_DATAERR);
}

static bool verb(const char *line, const char *name, const char **arg)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0)
		return false;
	*arg = line + n;
	return true;
}

static void rcpt(struct tx *tx, const char *arg)
{
	char addr[ADDRESS_MAX + 1];

	if (!tx->has_sender)
		reply("503 5.5.1 MAIL first");
	else if (!path_of(arg, addr, sizeof addr, false))
		reply("553 5.1.3 Bad recipient address syntax");
	else if (tx->n_rcpts == RCPTS_MAX)
		reply("452 4.5.3 Too many recipients");
	else if (!(tx->rcpts[tx->n_rcpts] = strdup(addr)))
		reply("452 4.3.0 Out of memory");
	else {
		tx->n_rcpts++;
		reply("250 2.1.5 Ok");
	}
}

int smtp_session(void)
{
	static struct tx tx;
	char host[256] = "localhost", *line = NULL;
	size_t cap = 0;
	const char *arg;

	gethostname(host, sizeof host - 1);
	printf("220 %s ESMTP mailsock-sendmail\r\n", host);
	fflush(stdout);
	while (read_line(&line, &cap)) {
		if (strlen(line) > LINE_MAX_OCTETS - 2)
			reply("500 5.5.6 Line too long");
		else if (verb(line, "EHLO", &arg))
			greet(host, true);
		else if (verb(line, "HELO", &arg))
			greet(host, false);
		else if (verb(line, "MAIL FROM:", &arg)) {
			tx_reset(&tx);
			if (path_of(arg, tx.sender, sizeof tx.sender, true)) {
				tx.has_sender = true;
				reply("250 2.1.0 Ok");
			} else {
				reply("553 5.1.7 Bad sender address syntax");
			}
		} else if (verb(line, "RCPT TO:", &arg))
			rcpt(&tx, arg);
		else if (strcasecmp(line, "DATA") == 0) {
			if (tx.n_rcpts == 0)
				reply("503 5.5.1 RCPT first");
			else
				data(&tx, &line, &cap);
		} else if (strcasecmp(line, "RSET") == 0) {
			tx_reset(&tx);
			reply("250 2.0.0 Ok");
		} else if (strcasecmp(line, "NOOP") == 0)
			reply("250 2.0.0 Ok");
		else if (strcasecmp(line, "QUIT") == 0) {
			reply("221 2.0.0 Bye");
			break;
		} else
			reply("502 5.5.2 Command not implemented");
	}
	tx_reset(&tx);
	free(line);
	return 0;
}
