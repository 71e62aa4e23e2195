/* Unit tests for common/cidr.c: networks and address matching. */
#include "cidr.h"
#include "check.h"

#include <string.h>

static bool in(const char *net, const char *addr)
{
	struct cidr c;

	return cidr_parse(net, strlen(net), &c) && cidr_match(&c, addr);
}

int main(void)
{
	struct cidr c;

	CHECK(in("127.0.0.0/8", "127.0.0.1"));
	CHECK(in("127.0.0.0/8", "127.255.255.255"));
	CHECK(!in("127.0.0.0/8", "128.0.0.1"));
	CHECK(in("192.0.2.0/24", "::ffff:192.0.2.9"));     /* v4-mapped */
	CHECK(in("192.0.2.1", "192.0.2.1"));                /* a host */
	CHECK(!in("192.0.2.1", "192.0.2.2"));
	CHECK(in("0.0.0.0/0", "203.0.113.5"));
	CHECK(!in("0.0.0.0/0", "2001:db8::1"));             /* families differ */
	CHECK(in("::1/128", "::1"));
	CHECK(!in("::1/128", "::2"));
	CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
	CHECK(!in("2001:db8::/32", "2001:db9::1"));
	CHECK(in("10.1.2.3/8", "10.9.9.9"));                /* host bits ignored */
	CHECK(!in("192.0.2.0/24", "not-an-address"));
	CHECK(!cidr_parse("192.0.2.0/33", 12, &c));
	CHECK(!cidr_parse("::/129", 6, &c));
	CHECK(!cidr_parse("192.0.2.0/", 10, &c));
	CHECK(!cidr_parse("192.0.2.0/x", 11, &c));
	CHECK(!cidr_parse("example.org", 11, &c));
	CHECK(!cidr_parse("", 0, &c));

	char a[64] = "::ffff:10.0.0.1";
	address_unmap_v4(a, sizeof a);
	CHECK(strcmp(a, "10.0.0.1") == 0);
	char b[64] = "::ffff:zz";
	address_unmap_v4(b, sizeof b);
	CHECK(strcmp(b, "::ffff:zz") == 0);
	return check_summary();
}
