/* fuzz_dns - smtp-relay's handling of DNS answers (dns.c) on packets built
 * from hostile wire bytes: truncated, inconsistent, empty rdata, CNAME
 * chains, records of the wrong type.
 *
 * dns.c is built with -Dldns_resolver_query_status=fuzz_query_status, so
 * each question it asks is answered by the next packet of the input:
 * packets are given as a 2-octet big-endian length and the wire bytes.
 *
 * Invariants: no crash or leak; dns_mx returns names terminated inside
 * their arrays; dns_addrs returns only IPv4 or IPv6 addresses with the
 * asked port. */
#include "fuzz.h"
#include "config.h"
#include "dns.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s\n", #c); abort(); } } while (0)

static const uint8_t *next_packet;
static size_t left;

ldns_status fuzz_query_status(ldns_pkt **pkt, ldns_resolver *r, const ldns_rdf *name,
                              ldns_rr_type t, ldns_rr_class c, uint16_t flags)
{
	(void)r; (void)name; (void)t; (void)c; (void)flags;
	*pkt = NULL;
	if (left < 2)
		return LDNS_STATUS_NETWORK_ERR;               /* no answer: a timeout */
	size_t len = (size_t)next_packet[0] << 8 | next_packet[1];
	if (len > left - 2)
		len = left - 2;
	ldns_status st = ldns_wire2pkt(pkt, next_packet + 2, len);
	next_packet += 2 + len;
	left -= 2 + len;
	return st;
}

static struct dns *open_dns(void)
{
	static struct config cfg;
	static struct dns *dns;
	char err[256];

	if (!dns) {
		config_init(&cfg);
		REQUIRE(config_set(&cfg, "nameservers=127.0.0.1", "fuzz", 0, err, sizeof err) == 0);
		config_finish(&cfg);
		dns = dns_open(&cfg, err, sizeof err);
		REQUIRE(dns);
	}
	return dns;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns *dns = open_dns();
	struct mx_host *hosts = NULL;
	struct addr *addrs = NULL;
	size_t n = 0, n_addrs = 0;

	next_packet = data;
	left = size;
	if (dns_mx(dns, "example.test", &hosts, &n) == DNS_OK)
		for (size_t i = 0; i < n; i++)
			REQUIRE(strnlen(hosts[i].name, sizeof hosts[i].name) < sizeof hosts[i].name);
	free(hosts);
	dns_addrs(dns, "mx.example.test", 2525, &addrs, &n_addrs);
	for (size_t i = 0; i < n_addrs; i++) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&addrs[i].sa;
		REQUIRE(addrs[i].sa.ss_family == AF_INET || addrs[i].sa.ss_family == AF_INET6);
		REQUIRE(ntohs(s4->sin_port) == 2525);      /* same offset in sockaddr_in6 */
	}
	free(addrs);
	return 0;
}
