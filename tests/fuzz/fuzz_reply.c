/* fuzz_reply - smtp-relay's reader of SMTP replies (conn_reply) against a
 * hostile server: the input is what the server sends, on a socket.
 *
 * Invariants: every reply has a code of 200 to 599, or 0 with the
 * connection marked broken; at most 32 lines are kept; the text and the
 * enhanced code are terminated inside their arrays and hold no control
 * characters (they go into logs, the queue and DSN header fields); an
 * enhanced code is digits "D.DDD.DDD" or empty; reading ends (no loop).
 * Each input is read twice: as it comes, and in short reads (1 to 64
 * octets, sizes seeded from the input) as a slow network delivers it. */
#include "fuzz.h"
#include "conn.h"
#include "short_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

static bool clean(const char *s, size_t size)
{
	size_t n = strnlen(s, size);
	if (n == size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool enhanced_code(const char *e)
{
	if (!e[0])
		return true;
	int dots = 0, digits = 0;
	if ((e[0] != '2' && e[0] != '4' && e[0] != '5') || e[1] != '.')
		return false;
	for (const char *p = e + 2; *p; p++) {
		if (*p == '.') {
			if (digits == 0 || ++dots > 1)
				return false;
			digits = 0;
		} else if (*p >= '0' && *p <= '9') {
			if (++digits > 3)
				return false;
		} else {
			return false;
		}
	}
	return dots == 1 && digits > 0;
}

static void read_replies(const uint8_t *data, size_t size, const struct stream_backend *backend)
{
	int sv[2];
	struct conn c;
	struct reply r;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int buf = 1 << 18;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	REQUIRE(write(sv[0], data, size) == (ssize_t)size);
	shutdown(sv[0], SHUT_WR);
	c.broken = false;
	c.why[0] = '\0';
	stream_init(&c.s, backend, NULL, sv[1], sv[1], 1);
	for (int i = 0; i <= (int)size; i++) {
		conn_reply(&c, &r, 1);
		REQUIRE(c.s.rpos <= c.s.rlen && c.s.rlen <= sizeof c.s.rbuf);
		REQUIRE(r.n_lines <= sizeof r.lines / sizeof r.lines[0]);
		for (size_t k = 0; k < r.n_lines; k++)
			REQUIRE(clean(r.lines[k], sizeof r.lines[k]));
		REQUIRE(clean(r.text, sizeof r.text) && clean(r.enh, sizeof r.enh));
		REQUIRE(enhanced_code(r.enh));
		if (r.code == 0) {
			REQUIRE(c.broken);
			break;
		}
		REQUIRE(r.code >= 200 && r.code <= 599);
		REQUIRE(i < (int)size);       /* each reply takes input */
	}
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	read_replies(data, size, &stream_plain);
	short_read_seed((unsigned)size * 2654435761u);
	read_replies(data, size, &short_read_backend);
	return 0;
}
