/* self.c - this host's own addresses, read once per process. */
#include "self.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static struct ifaddrs *interfaces;
static bool loaded;

/* The raw address bytes of a socket address, and their length. */
static const void *raw(const struct sockaddr *sa, size_t *len)
{
	if (sa->sa_family == AF_INET) {
		*len = 4;
		return &((const struct sockaddr_in *)sa)->sin_addr;
	}
	if (sa->sa_family == AF_INET6) {
		*len = 16;
		return &((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
	*len = 0;
	return NULL;
}

static bool is_localhost(const struct sockaddr *sa)
{
	static const unsigned char v4[4] = { 127, 0, 0, 1 };
	size_t len;
	const void *a = raw(sa, &len);

	if (len == 4)
		return memcmp(a, v4, 4) == 0;
	return len == 16 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a);
}

bool addr_is_self(const struct addr *addr)
{
	const struct sockaddr *sa = (const struct sockaddr *)&addr->sa;
	size_t len;
	const void *a = raw(sa, &len);

	if (!a)
		return false;
	if (is_localhost(sa))
		return true;
	if (!loaded) {
		loaded = true;
		if (getifaddrs(&interfaces) < 0)
			interfaces = NULL;      /* unknown: only the checks above */
	}
	for (const struct ifaddrs *i = interfaces; i; i = i->ifa_next) {
		size_t ilen;
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		const void *ia = raw(i->ifa_addr, &ilen);
		if (ia && ilen == len && i->ifa_addr->sa_family == sa->sa_family &&
		    memcmp(ia, a, len) == 0)
			return true;
	}
	return false;
}
