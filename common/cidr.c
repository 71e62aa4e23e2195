/* cidr.c - IPv4/IPv6 networks in CIDR notation, and matching addresses. */
#include "cidr.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* Parse an address into family and 16 bytes, unmapping v4-mapped IPv6. */
static bool parse_address(const char *text, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, addr) != 1)
		return false;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(addr, mapped, sizeof mapped) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
		return true;
	}
	*family = AF_INET6;
	return true;
}

static void clear_host_bits(uint8_t addr[16], unsigned prefix)
{
	for (unsigned bit = prefix; bit < 128; bit++)
		addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
}

bool cidr_parse(const char *text, size_t len, struct cidr *out)
{
	char buf[64];

	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';

	char *slash = strchr(buf, '/');
	long prefix = -1;
	if (slash) {
		*slash = '\0';
		const char *p = slash + 1;
		if (*p == '\0' || strlen(p) > 3)
			return false;
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			prefix = prefix * 10 + (*p - '0');
		}
	}
	if (!parse_address(buf, &out->family, out->addr))
		return false;
	unsigned max = out->family == AF_INET ? 32 : 128;
	if (prefix < 0)
		prefix = max;
	if ((unsigned long)prefix > max)
		return false;
	out->prefix = (unsigned)prefix;
	clear_host_bits(out->addr, out->prefix);
	return true;
}

bool cidr_match(const struct cidr *net, const char *address)
{
	int family;
	uint8_t addr[16];

	if (!parse_address(address, &family, addr) || family != net->family)
		return false;
	clear_host_bits(addr, net->prefix);
	return memcmp(addr, net->addr, 16) == 0;
}

void address_unmap_v4(char *address, size_t size)
{
	static const char prefix[] = "::ffff:";
	size_t plen = sizeof prefix - 1;
	struct in_addr v4;

	if (strncasecmp(address, prefix, plen) != 0)
		return;
	if (inet_pton(AF_INET, address + plen, &v4) != 1)
		return;
	memmove(address, address + plen, strnlen(address + plen, size - plen) + 1);
}
