/* fuzz_address - path_parse, domain_is_valid and param_next on hostile bytes.
 *
 * Invariants: a parsed mailbox is NUL-terminated, within the RFC 5321
 * limits, free of control characters, and its domain passes
 * domain_is_valid; the parameter cursor only moves forward, inside the
 * input, and every key and value lies inside it. */
#include "fuzz.h"
#include "address.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static void check_path(const char *s, size_t len, bool utf8)
{
	struct mailbox mb;
	size_t used = 0;
	enum addr_status st = path_parse(s, len, utf8, &mb, &used);

	if (st != ADDR_OK && st != ADDR_NULL)
		return;
	REQUIRE(used >= 2 && used <= len && s[used - 1] == '>');
	if (st == ADDR_NULL)
		return;
	size_t l = strnlen(mb.local, sizeof mb.local), d = strnlen(mb.domain, sizeof mb.domain);
	REQUIRE(l > 0 && l <= LOCAL_PART_MAX && d > 0 && d <= DOMAIN_MAX);
	REQUIRE(!has_control(mb.local) && !has_control(mb.domain));
	REQUIRE(mb.literal || domain_is_valid(mb.domain, d, utf8));
	REQUIRE(mb.quoted || mb.local[0] != '.');
	char buf[ADDRESS_MAX + 1];
	REQUIRE(mailbox_format(&mb, buf, sizeof buf));
}

static void check_domain(const char *s, size_t len, bool utf8)
{
	if (!domain_is_valid(s, len, utf8))
		return;
	REQUIRE(len > 0 && len <= DOMAIN_MAX && s[0] != '.' && s[len - 1] != '.');
	REQUIRE(memchr(s, '/', len) == NULL && memchr(s, '\0', len) == NULL);
	for (size_t i = 0; i + 1 < len; i++)
		REQUIRE(!(s[i] == '.' && s[i + 1] == '.'));
	for (size_t i = 0; i < len; i++)
		REQUIRE((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void check_params(const char *s, size_t len)
{
	const char *cursor = s, *end = s + len;
	struct param p;
	bool bad;

	while (param_next(&cursor, end, &p, &bad)) {
		REQUIRE(p.key >= s && p.key + p.key_len <= end && p.key_len > 0);
		REQUIRE(!p.value || (p.value >= s && p.value + p.value_len <= end && p.value_len > 0));
		REQUIRE(!p.value || !memchr(p.value, ' ', p.value_len));
		REQUIRE(cursor >= p.key && cursor <= end);
	}
	REQUIRE(cursor <= end && cursor >= s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool utf8 = data[0] & 1;
	/* a private copy, so that ASan sees any read past the end */
	char *s = calloc(size, 1);
	memcpy(s, data + 1, size - 1);
	check_path(s, size - 1, utf8);
	check_domain(s, size - 1, utf8);
	check_params(s, size - 1);
	free(s);
	return 0;
}
