/* fuzz_cidr - cidr_parse, cidr_match and address_unmap_v4.
 *
 * Input: "NETWORK\nADDRESS".  Invariants: a parsed prefix fits its family;
 * the network's own address (printed back) always matches it; unmapping
 * never grows the string. */
#include "fuzz.h"
#include "cidr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void check_net(const char *text, size_t len, const char *address)
{
	struct cidr net;
	char printed[INET6_ADDRSTRLEN];

	if (!cidr_parse(text, len, &net)) {
		return;
	}
	REQUIRE(net.family == AF_INET || net.family == AF_INET6);
	REQUIRE(net.prefix <= (net.family == AF_INET ? 32u : 128u));
	REQUIRE(inet_ntop(net.family, net.addr, printed, sizeof printed));
	REQUIRE(cidr_match(&net, printed));
	cidr_match(&net, address);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t net_len = nl ? (size_t)(nl - data) : size;
	size_t addr_len = nl ? size - net_len - 1 : 0;
	char *net = malloc(net_len + 1);
	char *address = malloc(addr_len + 1);

	memcpy(net, data, net_len);
	memcpy(address, nl ? nl + 1 : data, addr_len);
	address[addr_len] = '\0';
	check_net(net, net_len, address);

	size_t before = strlen(address);
	address_unmap_v4(address, addr_len + 1);
	REQUIRE(strlen(address) <= before);
	free(net);
	free(address);
	return 0;
}
