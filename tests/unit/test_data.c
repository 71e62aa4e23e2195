/* Unit tests for smtpd-session/data.c: the DATA state machine, fed whole
 * and split at every byte position. */
#include "data.h"
#include "check.h"

#include <string.h>

struct out {
	char buf[4096];
	size_t len;
};

static void sink(void *ctx, const char *bytes, size_t len)
{
	struct out *o = ctx;

	if (o->len + len <= sizeof o->buf) {
		memcpy(o->buf + o->len, bytes, len);
		o->len += len;
	}
}

/* Feed input in two pieces split at `split`; return bytes consumed. */
static size_t feed_split(const char *in, size_t len, size_t split, struct data_machine *m,
                         struct out *o, bool *done)
{
	size_t used;

	data_init(m);
	o->len = 0;
	used = data_feed(m, in, split, done, sink, o);
	if (*done)
		return used;
	return split + data_feed(m, in + split, len - split, done, sink, o);
}

static void expect(const char *in, size_t len, bool want_done, size_t want_used,
                   const char *want_out, bool want_bare)
{
	for (size_t split = 0; split <= len; split++) {
		struct data_machine m;
		struct out o;
		bool done;
		size_t used = feed_split(in, len, split, &m, &o, &done);
		CHECK(done == want_done);
		if (want_done)
			CHECK(used == want_used);
		if (want_out)
			CHECK(o.len == strlen(want_out) && memcmp(o.buf, want_out, o.len) == 0);
		CHECK((m.bare_cr || m.bare_lf) == want_bare);
	}
}

#define S(x) x, sizeof x - 1

int main(void)
{
	expect(S(".\r\n"), true, 3, "", false);
	expect(S("a\r\nb\r\n.\r\nMAIL"), true, 9, "a\nb\n", false);
	expect(S("..dot\r\n.\r\n"), true, 10, ".dot\n", false);
	expect(S("a\n.\nb\r\n.\r\n"), true, 10, NULL, true);
	expect(S("a\r.\rb\r\n.\r\n"), true, 10, NULL, true);
	expect(S("a\n.\r\nb\r\n.\r\n"), true, 11, NULL, true);
	expect(S("a\r\n.\rb\r\n.\r\n"), true, 11, NULL, true);
	expect(S("a\r\n.\nb\r\n.\r\n"), true, 11, NULL, true);
	expect(S("a\r\n\0.\r\nb\r\n.\r\n"), true, 13, NULL, false);
	expect(S("a\r\r\n.\r\n"), true, 7, NULL, true);
	expect(S("no end\r\n"), false, 0, "no end\n", false);
	expect(S("x\r\n.\r"), false, 0, NULL, false);

	/* hop count: Received fields in the header only */
	struct data_machine m;
	struct out o = { .len = 0 };
	bool done;
	data_init(&m);
	const char msg[] = "Received: a\r\nreceived: b\r\nSubject: c\r\n\r\nReceived: body\r\n.\r\n";
	data_feed(&m, msg, sizeof msg - 1, &done, sink, &o);
	CHECK(done && m.received_headers == 2);
	return check_summary();
}
