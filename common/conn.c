/* conn.c - a connection to an SMTP or LMTP server over common/stream (which
 * owns the buffers and the timeouts), and the reading of SMTP replies
 * ("250-..." lines, then "250 ..."). */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_OCTETS 1024    /* of a reply line, kept */
#define REPLY_LINE_MAX 4096     /* of a reply line read; a longer one breaks */
#define REPLY_LINES_MAX 1000

void addr_text(const struct addr *addr, char *buf, size_t size)
{
	if (addr->sa.ss_family == AF_UNIX) {       /* an LMTP server's socket */
		snprintf(buf, size, "%s", ((const struct sockaddr_un *)&addr->sa)->sun_path);
		return;
	}
	const void *raw = addr->sa.ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)&addr->sa)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)&addr->sa)->sin_addr;

	if (!inet_ntop(addr->sa.ss_family, raw, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

static int broken(struct conn *c, const char *what)
{
	if (!c->broken)
		snprintf(c->why, sizeof c->why, "%s", what);
	c->broken = true;
	return -1;
}

int conn_open(struct conn *c, const struct addr *addr, unsigned timeout)
{
	int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	c->broken = false;
	c->why[0] = '\0';
	stream_init(&c->s, &stream_plain, NULL, fd, fd, timeout);
	if (fd < 0)
		return broken(c, strerror(errno));
	if (connect(fd, (const struct sockaddr *)&addr->sa, addr->len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return broken(c, strerror(errno));
	int n = stream_wait_writable(&c->s);
	if (n <= 0)
		return broken(c, n == 0 ? "connect timeout" : strerror(errno));
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		return broken(c, strerror(err));
	return 0;
}

void conn_close(struct conn *c)
{
	stream_close(&c->s);
}

static void write_broke(struct conn *c, enum stream_status st)
{
	broken(c, st == STREAM_TIMEOUT ? "send timeout" : strerror(errno));
}

int conn_flush(struct conn *c, unsigned timeout)
{
	if (c->broken)
		return -1;
	stream_set_timeout(&c->s, timeout);
	enum stream_status st = stream_flush(&c->s);
	if (st != STREAM_OK)
		write_broke(c, st);
	return c->broken ? -1 : 0;
}

void conn_put(struct conn *c, const char *bytes, size_t len, unsigned timeout)
{
	if (c->broken)
		return;
	stream_set_timeout(&c->s, timeout);
	stream_put(&c->s, bytes, len);
	if (c->s.write_error)
		write_broke(c, c->s.write_error == ETIMEDOUT ? STREAM_TIMEOUT : STREAM_ERROR);
}

void conn_puts(struct conn *c, const char *s, unsigned timeout)
{
	conn_put(c, s, strlen(s), timeout);
}

/* One line without its CR LF into line (cut at LINE_MAX_OCTETS). */
static int read_line(struct conn *c, char *line)
{
	size_t len;

	switch (stream_read_line_strict(&c->s, line, REPLY_LINE_MAX, &len)) {
	case STREAM_OK:
		if (len >= LINE_MAX_OCTETS)
			line[LINE_MAX_OCTETS - 1] = '\0';
		return 0;
	case STREAM_TOO_LONG:
		return broken(c, "reply line too long");
	case STREAM_EOF:
		return broken(c, "connection closed by the server");
	case STREAM_TIMEOUT:
		return broken(c, "timeout waiting for a reply");
	case STREAM_ERROR:
	default:
		return broken(c, strerror(errno));
	}
}

/* Length of a "5.1.1" (RFC 3463: class 2, 4 or 5, then 1 to 3 digits
 * twice) at the start of text, followed by a space or the end; else 0. */
static size_t enhanced_len(const char *text)
{
	size_t i = 2;

	if (!strchr("245", text[0]) || !text[0] || text[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (text[i] >= '0' && text[i] <= '9' && i - start < 3)
			i++;
		if (i == start || (part == 0 && text[i++] != '.'))
			return 0;
	}
	return text[i] == ' ' || text[i] == '\0' ? i : 0;
}

/* "5.1.1 " at the start of text: copy it to enh and return the rest. */
static const char *take_enhanced(const char *text, char *enh, size_t size)
{
	size_t used = enhanced_len(text);

	enh[0] = '\0';
	if (used == 0 || used >= size)
		return text;
	snprintf(enh, size, "%.*s", (int)used, text);
	return text + used + (text[used] == ' ');
}

/* A server's text goes into logs, the queue and DSN fields: no control
 * characters (a CR there could start a forged header line). */
static void scrub(char *line)
{
	for (unsigned char *p = (unsigned char *)line; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static bool is_reply_line(const char *line)
{
	return line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
	       line[2] >= '0' && line[2] <= '9' && (line[3] == ' ' || line[3] == '-' || !line[3]);
}

/* The text of a reply is the text of all its lines, joined by spaces, up
 * to 500 octets: servers put the reason in the first line and a URL in the
 * last.  The enhanced code is the first line's (RFC 2034). */
static void add_reply_text(struct reply *r, const char *text)
{
	char enh[sizeof r->enh];
	const char *rest = take_enhanced(text, enh, sizeof enh);
	size_t used = strlen(r->text);

	if (!r->enh[0])
		memcpy(r->enh, enh, sizeof enh);
	if (used >= 500)
		return;
	snprintf(r->text + used, sizeof r->text - used, "%s%.*s", used ? " " : "",
	         (int)(500 - used - (used ? 1 : 0)), rest);
}

static void read_reply(struct conn *c, struct reply *r)
{
	char line[REPLY_LINE_MAX];

	for (unsigned lines = 0;; lines++) {
		if (lines == REPLY_LINES_MAX) {
			broken(c, "reply of too many lines");
			break;
		}
		if (read_line(c, line) < 0)
			break;
		scrub(line);
		if (!is_reply_line(line)) {
			broken(c, "malformed reply");
			break;
		}
		const char *text = line[3] ? line + 4 : "";
		if (r->n_lines < sizeof r->lines / sizeof r->lines[0])
			snprintf(r->lines[r->n_lines++], sizeof r->lines[0], "%.79s", text);
		add_reply_text(r, text);
		if (line[3] != '-') {
			r->code = atoi(line);
			if (r->code == 421)      /* the server is closing: no more commands */
				broken(c, "the server closed the session (421)");
			return;
		}
	}
	r->code = 0;
	snprintf(r->text, sizeof r->text, "%s", c->why);
}

void conn_reply(struct conn *c, struct reply *r, unsigned timeout)
{
	memset(r, 0, sizeof *r);
	if (c->broken) {
		snprintf(r->text, sizeof r->text, "%s", c->why);
		return;
	}
	stream_set_timeout(&c->s, timeout);
	stream_set_deadline(&c->s, timeout);
	read_reply(c, r);
	stream_set_deadline(&c->s, 0);
}
