/* Unit tests for smtp-relay/wire.c: stored LF text to SMTP DATA octets. */
#include "wire.h"
#include "check.h"

#include <string.h>

/* Encode in (fed in pieces of `step` octets) and compare with want. */
static int same(const char *in, size_t step, const char *want)
{
	char out[1024];
	size_t len = strlen(in), n = 0;
	struct wire w;

	wire_init(&w);
	for (size_t i = 0; i < len; i += step)
		n += wire_encode(&w, in + i, len - i < step ? len - i : step, out + n);
	n += wire_finish(&w, out + n);
	if (n != strlen(want) || memcmp(out, want, n) != 0) {
		fprintf(stderr, "got \"%.*s\"\n", (int)n, out);
		return 0;
	}
	return 1;
}

static void check_all_steps(const char *in, const char *want)
{
	for (size_t step = 1; step <= 4; step++)
		CHECK(same(in, step, want));
}

static void test_line_ends(void)
{
	check_all_steps("a\nb\n", "a\r\nb\r\n.\r\n");
	check_all_steps("", ".\r\n");
	check_all_steps("no final newline", "no final newline\r\n.\r\n");
	check_all_steps("\n\n", "\r\n\r\n.\r\n");
}

static void test_dots(void)
{
	check_all_steps(".\n", "..\r\n.\r\n");
	check_all_steps("..x\n", "...x\r\n.\r\n");
	check_all_steps("a.\n.b\n", "a.\r\n..b\r\n.\r\n");
	check_all_steps(".", "..\r\n.\r\n");
}

/* Smuggling, outbound: no bare CR or LF, and no end of data but ours. */
static void test_bare_cr(void)
{
	check_all_steps("a\rb\n", "a\r\nb\r\n.\r\n");
	check_all_steps("a\r\nb\n", "a\r\nb\r\n.\r\n");
	check_all_steps("x\r.\r\n", "x\r\n..\r\n.\r\n");
	check_all_steps("x\n.\r\n", "x\r\n..\r\n.\r\n");
	check_all_steps("end\r", "end\r\n.\r\n");
	check_all_steps("\r\r\n", "\r\n\r\n.\r\n");
}

static void test_return_path(void)
{
	const char *m = "Return-Path: <a@b>\nSubject: x\n";

	CHECK(wire_skip_return_path(m, strlen(m)) == 19);
	CHECK(wire_skip_return_path("Subject: x\n", 11) == 0);
	CHECK(wire_skip_return_path("Return-Path: <a@b>", 18) == 0);
}

int main(void)
{
	test_line_ends();
	test_dots();
	test_bare_cr();
	test_return_path();
	return check_summary();
}
