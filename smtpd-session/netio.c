/* netio.c - the one reader/writer between the session and its client. */
#include "netio.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

void netio_init(struct netio *io, int in, int out, unsigned timeout_seconds)
{
	io->in = in;
	io->out = out;
	io->timeout_ms = timeout_seconds > 2000000 ? 2000000000 : (int)timeout_seconds * 1000;
	io->rpos = io->rlen = io->wlen = 0;
	io->write_failed = false;
	/* A client that stops reading must not block us past the timeout:
	 * output waits in poll(), never in write(). */
	int flags = fcntl(out, F_GETFL);
	if (flags >= 0)
		(void)fcntl(out, F_SETFL, flags | O_NONBLOCK);
}

static int wait_for(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n;
}

enum netio_status netio_flush(struct netio *io)
{
	size_t done = 0;

	if (io->write_failed)
		return NETIO_ERROR;
	while (done < io->wlen) {
		ssize_t n = write(io->out, io->wbuf + done, io->wlen - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_for(io->out, POLLOUT, io->timeout_ms);
			if (r > 0)
				continue;
			if (r == 0)
				errno = ETIMEDOUT;
		}
		io->write_failed = true;
		io->wlen = 0;
		return NETIO_ERROR;
	}
	io->wlen = 0;
	return NETIO_OK;
}

void netio_write(struct netio *io, const char *s, size_t len)
{
	while (len > 0) {
		if (io->wlen == sizeof io->wbuf && netio_flush(io) != NETIO_OK)
			return;
		size_t n = sizeof io->wbuf - io->wlen;
		if (n > len)
			n = len;
		memcpy(io->wbuf + io->wlen, s, n);
		io->wlen += n;
		s += n;
		len -= n;
	}
}

enum netio_status netio_fill(struct netio *io)
{
	if (io->rpos < io->rlen)
		return NETIO_OK;
	io->rpos = io->rlen = 0;
	/* Flush only when the client has nothing more waiting for us. */
	if (io->wlen > 0 && wait_for(io->in, POLLIN, 0) <= 0 && netio_flush(io) != NETIO_OK)
		return NETIO_ERROR;
	for (;;) {
		int r = wait_for(io->in, POLLIN, io->timeout_ms);
		if (r == 0)
			return NETIO_TIMEOUT;
		if (r < 0)
			return NETIO_ERROR;
		ssize_t n = read(io->in, io->rbuf, sizeof io->rbuf);
		if (n > 0) {
			io->rlen = (size_t)n;
			return NETIO_OK;
		}
		if (n == 0)
			return NETIO_EOF;
		if (errno != EINTR && errno != EAGAIN)
			return NETIO_ERROR;
	}
}

enum netio_status netio_read_line(struct netio *io, char *line, size_t max, size_t *len)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		enum netio_status st = netio_fill(io);
		if (st != NETIO_OK)
			return st;
		const char *start = io->rbuf + io->rpos;
		size_t avail = io->rlen - io->rpos;
		const char *lf = memchr(start, '\n', avail);
		size_t take = lf ? (size_t)(lf - start) + 1 : avail;
		io->rpos += take;
		/* keep at most max-1 octets: max counts the CR LF */
		if (!too_long) {
			if (n + take > max) {
				too_long = true;
			} else {
				memcpy(line + n, start, take);
				n += take;
			}
		}
		if (!lf)
			continue;
		if (too_long)
			return NETIO_TOO_LONG;
		n--;                               /* the LF */
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		*len = n;
		return NETIO_OK;
	}
}
