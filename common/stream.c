/* stream.c - a buffered reader/writer with timeouts over a small backend. */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* ---- the plain backend: the fds themselves ---------------------------- */

/* All its operations are the stream's defaults (NULL): a call of read(2)
 * or write(2) with no indirection, as the session pays on every line. */
const struct stream_backend stream_plain = { 0 };

static ssize_t backend_read(struct stream *s, void *buf, size_t len)
{
	return s->backend->read ? s->backend->read(s, buf, len) : read(s->in, buf, len);
}

static ssize_t backend_write(struct stream *s, const void *buf, size_t len)
{
	return s->backend->write ? s->backend->write(s, buf, len) : write(s->out, buf, len);
}

static size_t backend_pending(const struct stream *s)
{
	return s->backend->pending ? s->backend->pending(s) : 0;
}

static int close_fds(struct stream *s)
{
	int rc = 0;

	if (s->out >= 0 && s->out != s->in && close(s->out) < 0)
		rc = -1;
	if (s->in >= 0 && close(s->in) < 0)
		rc = -1;
	s->in = s->out = -1;
	return rc;
}

/* ---- set-up ------------------------------------------------------------ */

void stream_set_timeout(struct stream *s, unsigned seconds)
{
	s->timeout_ms = seconds > INT_MAX / 1000 ? INT_MAX : (int)seconds * 1000;
}

void stream_init(struct stream *s, const struct stream_backend *backend, void *ctx,
                 int in, int out, unsigned timeout_seconds)
{
	s->backend = backend;
	s->ctx = ctx;
	s->in = in;
	s->out = out;
	stream_set_timeout(s, timeout_seconds);
	s->deadline = 0;
	s->clock_ms = NULL;
	s->rpos = s->rlen = s->wlen = 0;
	s->write_error = 0;
	int flags = fcntl(out, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK))
		(void)fcntl(out, F_SETFL, flags | O_NONBLOCK);
}

int stream_close(struct stream *s)
{
	if (!s->backend)                  /* never started */
		return 0;
	int rc = s->backend->close ? s->backend->close(s) : 0;
	return close_fds(s) < 0 ? -1 : rc;
}

int stream_close_backend(struct stream *s)
{
	if (!s->backend || !s->backend->close)
		return 0;
	int rc = s->backend->close(s);
	s->backend = &stream_plain;
	s->ctx = NULL;
	return rc;
}

/* ---- waiting ------------------------------------------------------------ */

static int poll_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Wait for events on fd within the timeout and the deadline: 1 ready,
 * 0 timed out, -1 error. */
static inline int wait_for(const struct stream *s, int fd, short events)
{
	int ms = s->timeout_ms;

	if (s->deadline) {
		long long left = s->deadline - s->clock_ms();
		if (left <= 0)
			return 0;
		if (left < ms)
			ms = (int)left;
	}
	return poll_fd(fd, events, ms);
}

int stream_wait_writable(struct stream *s)
{
	return wait_for(s, s->out, POLLOUT);
}

/* ---- output ------------------------------------------------------------- */

enum stream_status stream_flush(struct stream *s)
{
	size_t done = 0;

	while (!s->write_error && done < s->wlen) {
		ssize_t n = backend_write(s, s->wbuf + done, s->wlen - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_for(s, s->out, POLLOUT);
			if (r > 0)
				continue;
			if (r == 0)
				errno = ETIMEDOUT;
		} else if (n == 0) {
			errno = EIO;
		}
		s->write_error = errno;
	}
	s->wlen = 0;
	if (!s->write_error)
		return STREAM_OK;
	errno = s->write_error;
	return s->write_error == ETIMEDOUT ? STREAM_TIMEOUT : STREAM_ERROR;
}

void stream_put(struct stream *s, const void *bytes, size_t len)
{
	const char *p = bytes;

	if (len <= sizeof s->wbuf - s->wlen) {        /* the usual case: it fits */
		memcpy(s->wbuf + s->wlen, p, len);
		s->wlen += len;
		return;
	}
	while (len > 0) {
		if (s->wlen == sizeof s->wbuf && stream_flush(s) != STREAM_OK)
			return;
		size_t n = sizeof s->wbuf - s->wlen;
		if (n > len)
			n = len;
		memcpy(s->wbuf + s->wlen, p, n);
		s->wlen += n;
		p += n;
		len -= n;
	}
}

void stream_puts(struct stream *s, const char *text)
{
	stream_put(s, text, strlen(text));
}

/* ---- input -------------------------------------------------------------- */

/* Has the peer sent more that we have not read?  Asks the backend first:
 * what it holds, poll(2) cannot see. */
static bool input_waiting(const struct stream *s)
{
	return backend_pending(s) > 0 || poll_fd(s->in, POLLIN, 0) > 0;
}

enum stream_status stream_fill(struct stream *s)
{
	if (s->rpos < s->rlen)
		return STREAM_OK;
	s->rpos = s->rlen = 0;
	/* Flush only when the peer has nothing more waiting for us. */
	if (s->wlen > 0 && !input_waiting(s) && stream_flush(s) != STREAM_OK)
		return STREAM_ERROR;
	for (;;) {
		if (backend_pending(s) == 0) {
			int r = wait_for(s, s->in, POLLIN);
			if (r == 0)
				return STREAM_TIMEOUT;
			if (r < 0)
				return STREAM_ERROR;
		}
		ssize_t n = backend_read(s, s->rbuf, sizeof s->rbuf);
		if (n > 0) {
			s->rlen = (size_t)n;
			return STREAM_OK;
		}
		if (n == 0)
			return STREAM_EOF;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return STREAM_ERROR;
	}
}

void stream_discard_input(struct stream *s)
{
	s->rpos = s->rlen = 0;
}

/* A line into line; one over max is read to its end (skip) or left
 * where the limit was passed. */
static enum stream_status read_line(struct stream *s, char *line, size_t max, size_t *len,
                                    bool skip)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		enum stream_status st = stream_fill(s);
		if (st != STREAM_OK)
			return st;
		const char *start = s->rbuf + s->rpos;
		size_t avail = s->rlen - s->rpos;
		const char *lf = memchr(start, '\n', avail);
		size_t take = lf ? (size_t)(lf - start) + 1 : avail;
		s->rpos += take;
		/* keep at most max octets: max counts the CR LF */
		if (!too_long) {
			if (n + take > max) {
				too_long = true;
				if (!skip)
					return STREAM_TOO_LONG;
			} else {
				memcpy(line + n, start, take);
				n += take;
			}
		}
		if (!lf)
			continue;
		if (too_long)
			return STREAM_TOO_LONG;
		n--;                               /* the LF */
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		*len = n;
		return STREAM_OK;
	}
}

enum stream_status stream_read_line(struct stream *s, char *line, size_t max, size_t *len)
{
	return read_line(s, line, max, len, true);
}

enum stream_status stream_read_line_strict(struct stream *s, char *line, size_t max, size_t *len)
{
	return read_line(s, line, max, len, false);
}
