/* Unit tests for common/stream.c on real sockets: lines with a limit,
 * short reads, the PIPELINING flush rule with a backend that holds input
 * poll(2) cannot see, discarding input, timeouts and deadlines. */
#include "stream.h"
#include "check.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];                 /* sv[0]: the stream's, sv[1]: the peer's */

static void pair(struct stream *s, const struct stream_backend *b)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		_exit(2);
	}
	stream_init(s, b, NULL, sv[0], sv[0], 1);
	s->timeout_ms = 50;           /* only statuses are checked, never times */
}

static void unpair(struct stream *s)
{
	CHECK(stream_close(s) == 0);
	close(sv[1]);
}

static void peer_send(const char *text)
{
	size_t len = strlen(text);
	CHECK(write(sv[1], text, len) == (ssize_t)len);
}

/* What the stream has written so far, without waiting. */
static size_t peer_received(char *buf, size_t size)
{
	ssize_t n = recv(sv[1], buf, size - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/* A backend that reads one octet at a time, as a slow network would. */
static ssize_t one_octet_read(struct stream *s, void *buf, size_t len)
{
	(void)len;
	return read(s->in, buf, 1);
}

static const struct stream_backend one_octet = {
	.read = one_octet_read,          /* the rest: the plain fd's */
};

static void test_lines(const struct stream_backend *b)
{
	struct stream s;
	char line[16];
	size_t len;

	pair(&s, b);
	peer_send("HELO a\r\nbare lf\n\r\n0123456789abcdef\r\nafter\r\n0123456789abcd\r\nlast");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "HELO a") == 0 && len == 6);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "bare lf") == 0);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(len == 0 && line[0] == '\0');
	/* 18 octets with CR LF: over the limit of 16, skipped to its end */
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_TOO_LONG);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "after") == 0);
	/* exactly 16 with CR LF: fits */
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "0123456789abcd") == 0 && len == 14);
	/* no LF yet: waits, and the wait ends at the timeout */
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_TIMEOUT);
	shutdown(sv[1], SHUT_WR);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_EOF);
	unpair(&s);
}

/* The strict reader gives up on an overlong line at once: a server's
 * endless reply line must not hold the relay until the deadline. */
static void test_strict(void)
{
	struct stream s;
	char line[16];
	size_t len;

	pair(&s, &stream_plain);
	peer_send("250 0123456789abcdef and no end");
	CHECK(stream_read_line_strict(&s, line, sizeof line, &len) == STREAM_TOO_LONG);
	unpair(&s);
	pair(&s, &stream_plain);
	peer_send("250 short\r\n");
	CHECK(stream_read_line_strict(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "250 short") == 0);
	unpair(&s);
}

/* Replies wait while input is waiting, and go out in one write when it
 * runs dry (RFC 2920). */
static void test_pipelining(void)
{
	struct stream s;
	char line[64], got[256];
	size_t len;

	pair(&s, &stream_plain);
	peer_send("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	stream_puts(&s, "250 sender\r\n");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	stream_puts(&s, "250 rcpt\r\n");
	CHECK(peer_received(got, sizeof got) == 0);
	peer_send("DATA\r\n");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "DATA") == 0);
	CHECK(peer_received(got, sizeof got) == 0);          /* DATA was waiting */
	stream_puts(&s, "354 go\r\n");
	CHECK(stream_fill(&s) == STREAM_TIMEOUT);            /* flushed, then waited */
	CHECK(peer_received(got, sizeof got) == 30);
	CHECK(strcmp(got, "250 sender\r\n250 rcpt\r\n354 go\r\n") == 0);
	unpair(&s);
}

/* A TLS-like backend: it holds octets of its own (decoded ahead) that
 * poll(2) on the fd cannot see. */
static const char *held;

static ssize_t held_read(struct stream *s, void *buf, size_t len)
{
	size_t n = strlen(held);
	if (n == 0)
		return read(s->in, buf, len);
	if (n > len)
		n = len;
	if (n > 4)
		n = 4;                    /* a record at a time */
	memcpy(buf, held, n);
	held += n;
	return (ssize_t)n;
}

static size_t held_pending(const struct stream *s)
{
	(void)s;
	return strlen(held);
}

static void test_pending(void)
{
	struct stream_backend b = stream_plain;
	struct stream s;
	char line[64], got[64];
	size_t len;

	b.read = held_read;
	b.pending = held_pending;
	held = "NOOP\r\nQUIT\r\n";
	pair(&s, &b);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "NOOP") == 0);
	stream_puts(&s, "250 ok\r\n");
	/* the fd is idle but the backend holds QUIT: no flush, no wait */
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "QUIT") == 0);
	CHECK(peer_received(got, sizeof got) == 0);
	stream_puts(&s, "221 bye\r\n");
	CHECK(stream_fill(&s) == STREAM_TIMEOUT);
	CHECK(peer_received(got, sizeof got) == 17);
	CHECK(strcmp(got, "250 ok\r\n221 bye\r\n") == 0);
	unpair(&s);
}

/* Input read ahead before a change of layer is thrown away
 * (CVE-2011-0411: commands injected after STARTTLS). */
static void test_discard(void)
{
	struct stream s;
	char line[64];
	size_t len;

	pair(&s, &stream_plain);
	peer_send("STARTTLS\r\nRCPT TO:<injected@x>\r\n");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "STARTTLS") == 0);
	stream_discard_input(&s);
	peer_send("EHLO after\r\n");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "EHLO after") == 0);
	unpair(&s);
}

/* A deadline ends waits even while the peer keeps sending. */
static void test_deadline(void)
{
	struct stream s;
	char line[64];
	size_t len;

	pair(&s, &stream_plain);
	peer_send("250-one\r\n250-two\r\n");
	stream_set_deadline(&s, 1);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	s.deadline = 1;                       /* long past */
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);  /* buffered */
	peer_send("250 three\r\n");
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_TIMEOUT);
	stream_set_deadline(&s, 0);
	CHECK(stream_read_line(&s, line, sizeof line, &len) == STREAM_OK);
	CHECK(strcmp(line, "250 three") == 0);
	unpair(&s);
}

/* Output larger than the buffer arrives whole; a peer that stops reading
 * makes the flush time out, and nothing more is written after that. */
static void test_output(void)
{
	static char big[3 * STREAM_BUF + 123], got[sizeof big + 1];
	struct stream s;
	size_t n = 0;
	int size = 1 << 20;

	pair(&s, &stream_plain);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	stream_put(&s, big, sizeof big);
	CHECK(stream_flush(&s) == STREAM_OK);
	while (n < sizeof big) {
		ssize_t r = read(sv[1], got + n, sizeof got - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	CHECK(n == sizeof big && memcmp(got, big, sizeof big) == 0);

	/* the peer reads nothing from now on */
	enum stream_status st = STREAM_OK;
	for (int i = 0; i < 1000 && st == STREAM_OK; i++) {
		stream_put(&s, big, sizeof big);
		st = stream_flush(&s);
	}
	CHECK(st == STREAM_TIMEOUT && errno == ETIMEDOUT);
	char got_after[64];
	while (peer_received(got_after, sizeof got_after) > 0)
		;                                    /* the peer drains what came */
	stream_puts(&s, "dropped");
	CHECK(stream_flush(&s) == STREAM_TIMEOUT);
	CHECK(peer_received(got_after, sizeof got_after) == 0);
	unpair(&s);
}

static void test_close(void)
{
	struct stream s;
	char c;

	pair(&s, &stream_plain);
	CHECK(stream_close(&s) == 0 && s.in == -1 && s.out == -1);
	CHECK(read(sv[1], &c, 1) == 0);              /* the peer sees the end */
	close(sv[1]);
}

int main(void)
{
	test_lines(&stream_plain);
	test_lines(&one_octet);
	test_strict();
	test_pipelining();
	test_pending();
	test_discard();
	test_deadline();
	test_output();
	test_close();
	return check_summary();
}
