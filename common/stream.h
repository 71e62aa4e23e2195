/* stream.h - a buffered reader/writer with timeouts over a small backend,
 * shared by the session (server side) and the relay (client side).
 *
 * The backend moves octets (plain fd now; TLS later) and says how many it
 * holds that poll(2) on the fd cannot see; the stream owns the buffers,
 * the waits and the line reading.  Replies are buffered while more input
 * is already waiting and flushed when it runs dry: PIPELINING batches get
 * one write, in order (RFC 2920).  Every wait is bounded by the timeout,
 * measured from the peer's last octet, and by the deadline when one is set. */
#ifndef MAILSOCK_STREAM_H
#define MAILSOCK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define STREAM_BUF 16384

enum stream_status {
	STREAM_OK,
	STREAM_EOF,        /* the peer closed its side */
	STREAM_TIMEOUT,    /* idle longer than the timeout, or past the deadline */
	STREAM_ERROR,      /* read or write failed; errno says why */
	STREAM_TOO_LONG,   /* a line over the limit; it was read to its end and dropped */
};

struct stream;

/* read and write behave as read(2) and write(2) on a non-blocking fd:
 * -1 with errno EAGAIN means "wait for the fd" and the stream polls.
 * pending counts octets the backend already holds, which poll(2) cannot
 * see (a TLS record decrypted in advance).  close ends the backend's
 * session; the stream closes the fds after it.  An operation left NULL
 * is the plain fd's: read(2), write(2), nothing pending, nothing to end. */
struct stream_backend {
	ssize_t (*read)(struct stream *s, void *buf, size_t len);
	ssize_t (*write)(struct stream *s, const void *buf, size_t len);
	size_t (*pending)(const struct stream *s);
	int (*close)(struct stream *s);
};

/* read(2)/write(2) on the fds: every operation NULL. */
extern const struct stream_backend stream_plain;

struct stream {
	const struct stream_backend *backend;
	void *ctx;                 /* the backend's own state */
	int in, out;
	int timeout_ms;            /* bound of each wait */
	long long deadline;        /* ms on clock_ms(); 0: none */
	long long (*clock_ms)(void);  /* set with the deadline */
	size_t rpos, rlen;         /* unread input: rbuf[rpos .. rlen) */
	size_t wlen;
	int write_error;           /* errno of the failed write (ETIMEDOUT); sticky */
	char rbuf[STREAM_BUF];
	char wbuf[STREAM_BUF];
};

/* Start a stream on in/out (the same fd for a socket).  out is made
 * non-blocking: a peer that stops reading must not hold us past the
 * timeout, so output waits in poll(2), never in write(2). */
void stream_init(struct stream *s, const struct stream_backend *backend, void *ctx,
                 int in, int out, unsigned timeout_seconds);
void stream_set_timeout(struct stream *s, unsigned seconds);
/* From now on no wait ends later than seconds from now; 0 lifts it.
 * (In stream_deadline.c: a program that never sets one does not link
 * the clock.) */
void stream_set_deadline(struct stream *s, unsigned seconds);
int stream_close(struct stream *s);
/* End the backend's session (TLS: close_notify, then free it) and go on
 * with the plain fds, which stay open: for a program that exits with its
 * fds.  A plain stream has nothing to end. */
int stream_close_backend(struct stream *s);

/* Wait until out takes output (a connect(2) in progress): 1 ready,
 * 0 timed out, -1 error. */
int stream_wait_writable(struct stream *s);

/* Make sure input is buffered (flushing output first when neither the fd
 * nor the backend has input waiting). */
enum stream_status stream_fill(struct stream *s);

/* The buffered input, and how much of it the caller used. */
static inline const char *stream_input(const struct stream *s, size_t *len)
{
	*len = s->rlen - s->rpos;
	return s->rbuf + s->rpos;
}

static inline void stream_consume(struct stream *s, size_t n)
{
	s->rpos += n;
}

/* Throw away the input read but not yet used.  Before a TLS handshake:
 * what came in plain text after STARTTLS must not count as sent under
 * TLS (CVE-2011-0411). */
void stream_discard_input(struct stream *s);

/* Read one line ending in LF into line (without CR LF, NUL-terminated;
 * line has room for max octets).  A line of more than max octets (CR LF
 * included) is read to its end and reported as STREAM_TOO_LONG. */
enum stream_status stream_read_line(struct stream *s, char *line, size_t max, size_t *len);

/* The same, but a line over max ends the reading at once (STREAM_TOO_LONG,
 * the rest unread): for a peer whose overlong line ends the conversation,
 * as a server's reply to the relay does. */
enum stream_status stream_read_line_strict(struct stream *s, char *line, size_t max, size_t *len);

/* Queue output; written when the buffer fills or on stream_flush.  After
 * a failed write nothing more is written: stream_flush reports the error. */
void stream_put(struct stream *s, const void *bytes, size_t len);
void stream_puts(struct stream *s, const char *text);
enum stream_status stream_flush(struct stream *s);

#endif
