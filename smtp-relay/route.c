/* route.c - from a domain to an ordered list of addresses.
 *
 * MX hosts by preference, random order among equal preferences, each host's
 * addresses IPv6 first; no MX means the domain itself (implicit MX); a null
 * MX (RFC 7505) or NXDOMAIN fails for good; when this host is listed (by
 * name or address), only better MX hosts are used (RFC 5321 5.1), and none
 * means a loop. */
#include "route.h"
#include "self.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* A hostile zone can list hundreds of MX hosts with hundreds of addresses
 * each: at most this many are looked up and tried per domain (like
 * Postfix's smtp_mx_address_limit). */
#define MX_HOSTS_MAX 5
#define MX_ADDRS_MAX 10

static unsigned random_below(unsigned n)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
		r = (unsigned)rand();
	return n ? r % n : 0;
}

static int by_pref(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* Sort by preference, then shuffle each run of equal preference. */
static void order_hosts(struct mx_host *h, size_t n)
{
	qsort(h, n, sizeof *h, by_pref);
	for (size_t start = 0; start < n;) {
		size_t end = start;
		while (end < n && h[end].pref == h[start].pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + random_below((unsigned)(i - start + 1));
			struct mx_host t = h[i];
			h[i] = h[j];
			h[j] = t;
		}
		start = end;
	}
}

static bool is_null_mx(const struct mx_host *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].name[0] == '\0')
			return true;
	return false;
}

/* Drop ourselves and every host not better than us.  Returns the new n. */
static size_t drop_self(const struct config *cfg, const struct mx_host *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, cfg->hostname) == 0) {
			size_t keep = 0;
			while (keep < n && h[keep].pref < h[i].pref)
				keep++;
			return keep;
		}
	return n;
}

/* Append host's addresses to route, except our own (*self is set), up to
 * MX_ADDRS_MAX in all. */
static int add_host(struct dns *dns, const struct config *cfg, const char *host,
                    struct route *route, bool *temp, bool *self)
{
	struct addr *addrs = NULL;
	size_t n = 0;
	enum dns_status st = dns_addrs(dns, host, cfg->smtp_port, &addrs, &n);

	if (st == DNS_TEMP)
		*temp = true;
	if (n == 0)
		return 0;
	struct dest *d = realloc(route->dests, (route->n + n) * sizeof *d);
	if (!d) {
		free(addrs);
		return -1;
	}
	route->dests = d;
	for (size_t i = 0; i < n && route->n < MX_ADDRS_MAX; i++) {
		if (addr_is_self(&addrs[i], cfg->allow_loopback_mx)) {
			*self = true;
			continue;
		}
		struct dest *x = &d[route->n++];
		snprintf(x->host, sizeof x->host, "%s", host);
		x->addr = addrs[i];
	}
	free(addrs);
	return 0;
}

/* The usable hosts' addresses, best first.  When an address is this host,
 * that host and every host not better than it are dropped (RFC 5321 5.1,
 * as drop_self does for our name); so is a DNS failure among them. */
static void add_hosts(struct dns *dns, const struct config *cfg, const struct mx_host *list,
                      size_t usable, struct route *route, bool *temp, bool *self)
{
	size_t level_start = 0;
	bool level_temp = false;

	for (size_t i = 0; i < usable && i < MX_HOSTS_MAX && route->n < MX_ADDRS_MAX; i++) {
		if (i == 0 || list[i].pref != list[i - 1].pref) {
			level_start = route->n;
			level_temp = *temp;
		}
		if (add_host(dns, cfg, list[i].name, route, temp, self) < 0)
			return;
		if (*self) {
			route->n = level_start;
			*temp = level_temp;
			return;
		}
	}
}

static int smarthost_route(struct dns *dns, const struct config *cfg, struct route *route,
                           struct result *why)
{
	struct addr *addrs = NULL;
	size_t n = 0;
	enum dns_status st = dns_addrs(dns, cfg->smarthost, cfg->smarthost_port, &addrs, &n);

	if (n == 0) {
		free(addrs);
		result_set(why, OUT_TEMP, 451, "4.4.3",
		           st == DNS_TEMP ? "smarthost: DNS lookup failed" : "smarthost has no address");
		return -1;
	}
	route->dests = calloc(n, sizeof *route->dests);
	if (!route->dests) {
		free(addrs);
		result_set(why, OUT_TEMP, 451, "4.3.0", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(route->dests[i].host, sizeof route->dests[i].host, "%s", cfg->smarthost);
		route->dests[i].addr = addrs[i];
	}
	route->n = n;
	free(addrs);
	return 0;
}

static int mx_failure(enum dns_status st, const char *domain, struct result *why)
{
	char text[400];

	if (st == DNS_NXDOMAIN) {
		snprintf(text, sizeof text, "domain %s does not exist", domain);
		result_set(why, OUT_PERM, 550, "5.1.2", text);
	} else {
		snprintf(text, sizeof text, "DNS lookup for %s failed", domain);
		result_set(why, OUT_TEMP, 451, "4.4.3", text);
	}
	return -1;
}

int route_find(struct dns *dns, const struct config *cfg, const char *domain,
               struct route *route, struct result *why)
{
	struct mx_host *hosts = NULL, implicit = { 0, "" };
	size_t n = 0;
	bool temp = false, self = false;

	route->dests = NULL;
	route->n = 0;
	if (cfg->smarthost[0])
		return smarthost_route(dns, cfg, route, why);
	enum dns_status st = dns_mx(dns, domain, &hosts, &n);
	if (st == DNS_NXDOMAIN || st == DNS_TEMP) {
		free(hosts);
		return mx_failure(st, domain, why);
	}
	if (st == DNS_NODATA) {          /* RFC 5321 5.1: the domain is its own MX */
		snprintf(implicit.name, sizeof implicit.name, "%s", domain);
		hosts = NULL;
		n = 1;
	}
	struct mx_host *list = hosts ? hosts : &implicit;
	if (hosts && is_null_mx(hosts, n)) {
		free(hosts);
		result_set(why, OUT_PERM, 556, "5.1.10", "domain does not accept mail (null MX)");
		return -1;
	}
	order_hosts(list, n);
	size_t usable = drop_self(cfg, list, n);
	if (usable == 0) {
		free(hosts);
		result_set(why, OUT_PERM, 554, "5.4.6", "mail for this domain loops back to myself");
		return -1;
	}
	add_hosts(dns, cfg, list, usable, route, &temp, &self);
	free(hosts);
	if (route->n > 0)
		return 0;
	route_free(route);
	if (temp)          /* a better host may be reachable once DNS answers */
		result_set(why, OUT_TEMP, 451, "4.4.3", "DNS lookup of the mail exchangers failed");
	else if (self)
		result_set(why, OUT_PERM, 554, "5.4.6", "mail for this domain loops back to myself");
	else if (st == DNS_NODATA)
		result_set(why, OUT_PERM, 550, "5.1.2", "domain has no MX and no address");
	else
		result_set(why, OUT_TEMP, 451, "4.4.4", "no mail exchanger has an address");
	return -1;
}

void route_free(struct route *route)
{
	free(route->dests);
	route->dests = NULL;
	route->n = 0;
}
