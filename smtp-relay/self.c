/* self.c - this host's own addresses, read once per process. */
#include "self.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static struct ifaddrs *interfaces;
static bool loaded;

/* The raw address bytes of a socket address, their length (4 or 16) and
 * family; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as IPv4. */
static const unsigned char *raw(const struct sockaddr *sa, size_t *len, int *family)
{
	*family = sa->sa_family;
	if (sa->sa_family == AF_INET) {
		*len = 4;
		return (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			*family = AF_INET;
			*len = 4;
			return a6->s6_addr + 12;
		}
		*len = 16;
		return a6->s6_addr;
	}
	*len = 0;
	return NULL;
}

/* 0.0.0.0/8 ("this host", RFC 1122 3.2.1.3) and 127.0.0.0/8; with
 * loopback_mx only 127.0.0.1 of the latter. */
static bool special_v4(const unsigned char *a, bool loopback_mx)
{
	static const unsigned char localhost[4] = { 127, 0, 0, 1 };

	if (a[0] == 0)
		return true;
	if (a[0] != 127)
		return false;
	return !loopback_mx || memcmp(a, localhost, 4) == 0;
}

static bool special_v6(const unsigned char *a)
{
	const struct in6_addr *a6 = (const struct in6_addr *)a;

	return IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_LOOPBACK(a6);
}

static bool on_interface(const unsigned char *a, size_t len, int family)
{
	if (!loaded) {
		loaded = true;
		if (getifaddrs(&interfaces) < 0)
			interfaces = NULL;      /* unknown: only the fixed checks */
	}
	for (const struct ifaddrs *i = interfaces; i; i = i->ifa_next) {
		size_t ilen;
		int ifamily;
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		const unsigned char *ia = raw(i->ifa_addr, &ilen, &ifamily);
		if (ia && ilen == len && ifamily == family && memcmp(ia, a, len) == 0)
			return true;
	}
	return false;
}

bool addr_is_self(const struct addr *addr, bool loopback_mx)
{
	size_t len;
	int family;
	const unsigned char *a = raw((const struct sockaddr *)&addr->sa, &len, &family);

	if (!a)
		return false;
	if (len == 4 ? special_v4(a, loopback_mx) : special_v6(a))
		return true;
	return on_interface(a, len, family);
}
