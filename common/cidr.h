/* cidr.h - IPv4/IPv6 networks in CIDR notation, and matching addresses. */
#ifndef MAILSOCK_CIDR_H
#define MAILSOCK_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network, host bits cleared */
	unsigned prefix;     /* 0..32 or 0..128 */
};

/* Parse "a.b.c.d/n", "x::y/n" or a bare address (a host network). */
bool cidr_parse(const char *text, size_t len, struct cidr *out);

/* Is the textual address inside the network?  "::ffff:a.b.c.d" counts as
 * the IPv4 address a.b.c.d.  An unparsable address matches nothing. */
bool cidr_match(const struct cidr *net, const char *address);

/* Normalise an address in place: "::ffff:a.b.c.d" becomes "a.b.c.d". */
void address_unmap_v4(char *address, size_t size);

#endif
