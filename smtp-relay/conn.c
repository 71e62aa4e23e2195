/* conn.c - non-blocking socket I/O with poll(2) timeouts, and the reading
 * of SMTP replies ("250-..." lines, then "250 ..."). */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_OCTETS 1024

void addr_text(const struct addr *addr, char *buf, size_t size)
{
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

#define REPLY_LINES_MAX 1000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on c->fd; 1 ready, 0 timeout, -1 error.  While a reply
 * is read, never past its deadline. */
static int wait_for(struct conn *c, short events, unsigned timeout)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int ms = timeout > INT_MAX / 1000 ? INT_MAX : (int)timeout * 1000;

	if (c->deadline) {
		long long left = c->deadline - now_ms();
		if (left <= 0)
			return 0;
		if (left < ms)
			ms = (int)left;
	}

	for (;;) {
		int n = poll(&p, 1, ms);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -1;
	}
}

int conn_open(struct conn *c, const struct addr *addr, unsigned timeout)
{
	memset(c, 0, sizeof *c);
	c->fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return broken(c, strerror(errno));
	if (connect(c->fd, (const struct sockaddr *)&addr->sa, addr->len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return broken(c, strerror(errno));
	int n = wait_for(c, POLLOUT, timeout);
	if (n <= 0)
		return broken(c, n == 0 ? "connect timeout" : strerror(errno));
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		return broken(c, strerror(err));
	return 0;
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int conn_flush(struct conn *c, unsigned timeout)
{
	size_t done = 0;

	while (!c->broken && done < c->out_len) {
		ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_for(c, POLLOUT, timeout);
			if (w <= 0)
				broken(c, w == 0 ? "send timeout" : strerror(errno));
		} else if (n < 0 && errno != EINTR) {
			broken(c, strerror(errno));
		}
	}
	c->out_len = 0;
	return c->broken ? -1 : 0;
}

void conn_put(struct conn *c, const char *bytes, size_t len, unsigned timeout)
{
	while (len > 0 && !c->broken) {
		if (c->out_len == sizeof c->out && conn_flush(c, timeout) < 0)
			return;
		size_t n = sizeof c->out - c->out_len;
		if (n > len)
			n = len;
		memcpy(c->out + c->out_len, bytes, n);
		c->out_len += n;
		bytes += n;
		len -= n;
	}
}

void conn_puts(struct conn *c, const char *s, unsigned timeout)
{
	conn_put(c, s, strlen(s), timeout);
}

static int fill(struct conn *c, unsigned timeout)
{
	if (c->in_pos > 0) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	for (;;) {
		if (c->deadline && now_ms() >= c->deadline)
			return broken(c, "timeout waiting for a reply");
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return broken(c, "connection closed by the server");
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = wait_for(c, POLLIN, timeout);
			if (w <= 0)
				return broken(c, w == 0 ? "timeout waiting for a reply" : strerror(errno));
		} else if (errno != EINTR) {
			return broken(c, strerror(errno));
		}
	}
}

/* One line without its CR LF into line (cut at LINE_MAX_OCTETS). */
static int read_line(struct conn *c, char *line, size_t size, unsigned timeout)
{
	for (;;) {
		char *nl = memchr(c->in + c->in_pos, '\n', c->in_len - c->in_pos);
		if (nl) {
			size_t len = (size_t)(nl - (c->in + c->in_pos));
			if (len > 0 && nl[-1] == '\r')
				len--;
			if (len >= size)
				len = size - 1;
			memcpy(line, c->in + c->in_pos, len);
			line[len] = '\0';
			c->in_pos = (size_t)(nl - c->in) + 1;
			return 0;
		}
		if (c->in_len - c->in_pos >= sizeof c->in - 1)
			return broken(c, "reply line too long");
		if (fill(c, timeout) < 0)
			return -1;
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

static void read_reply(struct conn *c, struct reply *r, unsigned timeout)
{
	char line[LINE_MAX_OCTETS];

	for (unsigned lines = 0;; lines++) {
		if (lines == REPLY_LINES_MAX) {
			broken(c, "reply of too many lines");
			break;
		}
		if (read_line(c, line, sizeof line, timeout) < 0)
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
	c->deadline = now_ms() + (long long)timeout * 1000;
	read_reply(c, r, timeout);
	c->deadline = 0;
}
