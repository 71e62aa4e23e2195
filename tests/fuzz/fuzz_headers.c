/* fuzz_headers - sendmail -t's address-list parser on hostile bytes.
 *
 * Invariants: every address handed out is non-empty and no longer than
 * the field body (the parser only drops or copies octets, and a blank
 * between words becomes one space); the count returned is the number of
 * addresses handed out; header_is agrees with a plain prefix test. */
#include "fuzz.h"
#include "headers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

struct seen {
	size_t limit, count;
};

static void each(const char *addr, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(addr);

	REQUIRE(len > 0 && len <= s->limit);
	s->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1);
	const char *rest;

	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	struct seen s = { .limit = strlen(body) };
	REQUIRE(header_addresses(body, each, &s) == s.count);
	if (header_is(body, "bcc", &rest))
		REQUIRE(strncasecmp(body, "bcc", 3) == 0 && rest[-1] == ':' && rest <= body + s.limit);
	free(body);
	return 0;
}
