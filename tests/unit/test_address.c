/* Unit tests for common/address.c: RFC 5321 paths and parameters. */
#include "address.h"
#include "check.h"
#include "local.h"        /* local_user(), the other half of an address's fate */

#include <string.h>

static enum addr_status parse(const char *s, bool utf8, struct mailbox *mb)
{
	size_t used;

	return path_parse(s, strlen(s), utf8, mb, &used);
}

static void test_valid_paths(void)
{
	struct mailbox mb;
	size_t used;

	CHECK(parse("<alice@example.org>", false, &mb) == ADDR_OK);
	CHECK(strcmp(mb.local, "alice") == 0 && strcmp(mb.domain, "example.org") == 0);
	CHECK(parse("<first.last+tag@sub.example.org>", false, &mb) == ADDR_OK);
	CHECK(parse("<>", false, &mb) == ADDR_NULL);
	CHECK(parse("<\"john doe\"@example.org>", false, &mb) == ADDR_OK && mb.quoted);
	CHECK(strcmp(mb.local, "\"john doe\"") == 0);
	CHECK(parse("<\"a>b\"@example.org>", false, &mb) == ADDR_OK && mb.quoted);
	CHECK(parse("<u@[192.0.2.1]>", false, &mb) == ADDR_OK && mb.literal);
	CHECK(parse("<u@[IPv6:2001:db8::1]>", false, &mb) == ADDR_OK && mb.literal);
	CHECK(parse("<@a.example,@b.example:u@c.example>", false, &mb) == ADDR_OK);
	CHECK(mb.source_route && strcmp(mb.domain, "c.example") == 0);
	CHECK(path_parse("<a@b.example> SIZE=10", 20, false, &mb, &used) == ADDR_OK && used == 13);
}

static void test_invalid_paths(void)
{
	struct mailbox mb;

	CHECK(parse("alice@example.org", false, &mb) == ADDR_SYNTAX);
	CHECK(parse("<alice@example.org", false, &mb) == ADDR_SYNTAX);
	CHECK(parse("<alice>", false, &mb) == ADDR_BAD_LOCAL);
	CHECK(parse("<.alice@example.org>", false, &mb) == ADDR_BAD_LOCAL);
	CHECK(parse("<alice.@example.org>", false, &mb) == ADDR_BAD_LOCAL);
	CHECK(parse("<a..b@example.org>", false, &mb) == ADDR_BAD_LOCAL);
	CHECK(parse("<a b@example.org>", false, &mb) == ADDR_BAD_LOCAL);
	CHECK(parse("<a@example..org>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<a@example.org.>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<a@-example.org>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<a@exa_mple.org>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<a@a/b>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<a@[1.2.3]>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<a@[IPv6:zz::1]>", false, &mb) == ADDR_BAD_DOMAIN);
	CHECK(parse("<\"unterminated@example.org>", false, &mb) == ADDR_SYNTAX);
	char long_local[80];
	memset(long_local, 'a', sizeof long_local);
	memcpy(long_local, "<", 1);
	memcpy(long_local + 66, "@example.org>", 14);
	CHECK(parse(long_local, false, &mb) == ADDR_LOCAL_TOO_LONG);
	char long_domain[300];
	int n = snprintf(long_domain, sizeof long_domain, "<a@");
	for (int i = 0; i < 5; i++)
		n += snprintf(long_domain + n, sizeof long_domain - (size_t)n, "%051d.", 0);
	snprintf(long_domain + n, sizeof long_domain - (size_t)n, "org>");
	CHECK(parse(long_domain, false, &mb) == ADDR_SYNTAX);   /* path over 256 */
}

static void test_utf8(void)
{
	struct mailbox mb;

	CHECK(parse("<jörg@example.org>", false, &mb) == ADDR_NEEDS_UTF8);
	CHECK(parse("<jörg@example.org>", true, &mb) == ADDR_OK);
	CHECK(parse("<a@bücher.example>", true, &mb) == ADDR_OK);
	CHECK(parse("<j\xc3@example.org>", true, &mb) == ADDR_BAD_LOCAL);  /* truncated */
	CHECK(parse("<j\xc0\xafx@example.org>", true, &mb) == ADDR_BAD_LOCAL); /* overlong */
	CHECK(parse("<grüße@example.org>", true, &mb) == ADDR_OK);
	CHECK(parse("<a\x01@example.org>", true, &mb) == ADDR_BAD_LOCAL);    /* control */
}

static void test_domains(void)
{
	CHECK(domain_is_valid("example.org", 11, false));
	CHECK(domain_is_valid("a", 1, false));
	CHECK(domain_is_valid("xn--bcher-kva.example", 21, false));
	CHECK(!domain_is_valid("", 0, false));
	CHECK(!domain_is_valid(".example", 8, false));
	CHECK(!domain_is_valid("ex-.org", 7, false));
	char label[70];
	memset(label, 'a', 64);
	CHECK(!domain_is_valid(label, 64, false));
	CHECK(domain_is_valid(label, 63, false));
}

static void test_params(void)
{
	const char *s = " SIZE=100 BODY=8BITMIME SMTPUTF8";
	const char *cur = s, *end = s + strlen(s);
	struct param p;
	bool bad;

	CHECK(param_next(&cur, end, &p, &bad) && p.key_len == 4 && p.value_len == 3);
	CHECK(param_next(&cur, end, &p, &bad) && p.key_len == 4 && p.value_len == 8);
	CHECK(param_next(&cur, end, &p, &bad) && p.key_len == 8 && p.value == NULL);
	CHECK(!param_next(&cur, end, &p, &bad) && !bad);

	const char *b = " =x";
	cur = b;
	CHECK(!param_next(&cur, b + 3, &p, &bad) && bad);
	const char *c = " SIZE=";
	cur = c;
	CHECK(!param_next(&cur, c + 6, &p, &bad) && bad);
}

static void test_local_user(void)
{
	char u[LOCAL_PART_MAX + 1];

	CHECK(local_user("Alice+Tag", false, u, sizeof u) && strcmp(u, "alice") == 0);
	CHECK(local_user("first.last", false, u, sizeof u) && strcmp(u, "first.last") == 0);
	CHECK(!local_user("\"alice\"", true, u, sizeof u));
	CHECK(!local_user("+tag", false, u, sizeof u));
	CHECK(!local_user("..", false, u, sizeof u) && !local_user(".x", false, u, sizeof u));
	CHECK(!local_user("a/b", false, u, sizeof u) && !local_user("a%b", false, u, sizeof u));
	CHECK(!local_user("a!b", false, u, sizeof u) && !local_user("a\tb", false, u, sizeof u));
	CHECK(!local_user("abcdef", false, u, 4));
}

int main(void)
{
	test_valid_paths();
	test_invalid_paths();
	test_utf8();
	test_domains();
	test_params();
	test_local_user();
	return check_summary();
}
