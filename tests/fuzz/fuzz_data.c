/* fuzz_data - the DATA state machine against a plain reference.
 *
 * The input is cut into chunks at positions chosen by its first octets
 * and fed to data_feed() chunk by chunk, as a network would deliver it.
 * Invariants (the SMTP smuggling proof):
 *  - done is reported at most once, and exactly where the first
 *    <CRLF>.<CRLF> of the stream ends (the stream starts after the DATA
 *    command's own CR LF); without one, done is never reported;
 *  - the stored text equals the reference: lines split on CR LF only,
 *    one leading dot dropped, LF endings; a bare CR or LF is kept as text
 *    and flagged, never a line end;
 *  - the bare CR / bare LF flags are exactly right;
 *  - however the stream is cut, the result is the same. */
#include "fuzz.h"
#include "data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

struct out {
	char *buf;
	size_t len, cap;
};

static void sink(void *ctx, const char *bytes, size_t len)
{
	struct out *o = ctx;

	if (len == 0)
		return;
	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2 + 64;
		o->buf = realloc(o->buf, o->cap);
		REQUIRE(o->buf);
	}
	memcpy(o->buf + o->len, bytes, len);
	o->len += len;
}

/* Offset just past the first CRLF.CRLF of "\r\n" + s, counted in s; 0 if none. */
static size_t reference_end(const char *s, size_t len)
{
	char *t = malloc(len + 2);
	size_t end = 0;

	memcpy(t, "\r\n", 2);
	memcpy(t + 2, s, len);
	for (size_t j = 0; j + 5 <= len + 2; j++)
		if (memcmp(t + j, "\r\n.\r\n", 5) == 0) {
			end = j + 3;
			break;
		}
	free(t);
	return end;
}

/* The text that should be stored for s[0..n): whole lines only. */
static void reference_text(const char *s, size_t n, struct out *o, bool *bare_cr, bool *bare_lf)
{
	size_t start = 0;

	*bare_cr = *bare_lf = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && !(i > 0 && s[i - 1] == '\r'))
			*bare_lf = true;
		if (s[i] == '\r' && !(i + 1 < n && s[i + 1] == '\n'))
			*bare_cr = true;
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			size_t from = start < i && s[start] == '.' ? start + 1 : start;
			sink(o, s + from, i - from);
			sink(o, "\n", 1);
			start = i + 2;
			i++;
		}
	}
}

struct run {
	struct out out;
	size_t consumed;
	int dones;
	struct data_machine m;
};

/* Feed s in chunks; cuts[] gives chunk lengths (0 means 1). */
static void feed(const char *s, size_t len, const uint8_t *cuts, size_t ncuts, struct run *r)
{
	size_t pos = 0, k = 0;

	memset(r, 0, sizeof *r);
	data_init(&r->m);
	while (pos < len && r->dones == 0) {
		size_t chunk = ncuts ? cuts[k++ % ncuts] : len;
		if (chunk == 0)
			chunk = 1;
		if (chunk > len - pos)
			chunk = len - pos;
		bool done = false;
		size_t used = data_feed(&r->m, s + pos, chunk, &done, sink, &r->out);
		REQUIRE(used <= chunk);
		REQUIRE(done || used == chunk);
		pos += used;
		if (done)
			r->dones++;
	}
	r->consumed = pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t ncuts = data[0] % 8;
	if (size < 1 + ncuts)
		return 0;
	const uint8_t *cuts = data + 1;
	size_t len = size - 1 - ncuts;
	char *s = malloc(len ? len : 1);
	memcpy(s, data + 1 + ncuts, len);

	struct run whole, split;
	feed(s, len, NULL, 0, &whole);
	feed(s, len, cuts, ncuts, &split);

	size_t end = reference_end(s, len);
	REQUIRE(whole.dones <= 1);
	REQUIRE(whole.dones == (end > 0));
	REQUIRE(whole.consumed == (end ? end : len));
	REQUIRE(whole.m.octets == whole.consumed);
	REQUIRE(split.dones == whole.dones && split.consumed == whole.consumed);
	REQUIRE(split.out.len == whole.out.len &&
	        (whole.out.len == 0 || memcmp(split.out.buf, whole.out.buf, whole.out.len) == 0));
	REQUIRE(split.m.bare_cr == whole.m.bare_cr && split.m.bare_lf == whole.m.bare_lf);

	struct out ref = { 0 };
	bool bare_cr, bare_lf;
	if (end) {
		/* everything before the final ".\r\n" is whole lines */
		reference_text(s, end - 3, &ref, &bare_cr, &bare_lf);
		REQUIRE(ref.len == whole.out.len &&
		        (ref.len == 0 || memcmp(ref.buf, whole.out.buf, ref.len) == 0));
		REQUIRE(bare_cr == whole.m.bare_cr && bare_lf == whole.m.bare_lf);
	} else {
		/* an unfinished line may still be held back: compare whole lines */
		reference_text(s, len, &ref, &bare_cr, &bare_lf);
		REQUIRE(ref.len <= whole.out.len &&
		        (ref.len == 0 || memcmp(ref.buf, whole.out.buf, ref.len) == 0));
	}
	free(ref.buf);
	free(whole.out.buf);
	free(split.out.buf);
	free(s);
	return 0;
}
