/* netio.h - the one reader/writer between the session and its client.
 *
 * Replies are buffered while more client input is already waiting and are
 * flushed when the input runs dry: PIPELINING batches get one write, in
 * order (RFC 2920).  Every wait is bounded by the idle timeout, measured
 * from the client's last byte.  STARTTLS will slot in here. */
#ifndef MAILSOCK_NETIO_H
#define MAILSOCK_NETIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NETIO_BUF 16384

enum netio_status {
	NETIO_OK,
	NETIO_EOF,        /* the client closed its side */
	NETIO_TIMEOUT,    /* idle longer than the timeout */
	NETIO_ERROR,      /* read or write failed; errno says why */
	NETIO_TOO_LONG,   /* a command line over the limit; it was skipped */
};

struct netio {
	int in, out;
	int timeout_ms;
	size_t rpos, rlen;
	size_t wlen;
	bool write_failed;
	char rbuf[NETIO_BUF];
	char wbuf[NETIO_BUF];
};

void netio_init(struct netio *io, int in, int out, unsigned timeout_seconds);

/* Make sure input is buffered (flushing replies first if none is waiting). */
enum netio_status netio_fill(struct netio *io);

/* Read one line ending in LF into line (without CR LF, NUL-terminated).
 * A line of more than max octets (CR LF included) is read to its end and
 * reported as NETIO_TOO_LONG. */
enum netio_status netio_read_line(struct netio *io, char *line, size_t max, size_t *len);

/* Queue output; written when the buffer fills or on netio_flush. */
void netio_write(struct netio *io, const char *s, size_t len);
enum netio_status netio_flush(struct netio *io);

#endif
