/* dns.c - MX and address lookups through ldns.
 *
 * A recursive server answers a CNAME together with the records of its
 * target; an authoritative one may answer with the CNAME only.  Both are
 * handled: records of the wanted type are taken from the answer wherever
 * they are, and when there are none but a CNAME, its target is asked.
 * With a cache (dns_use_cache), a question is asked once per TTL. */
#include "dns.h"
#include "dnscache.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CNAME_HOPS 8

struct dns {
	ldns_resolver *res;
	struct dns_cache *cache;    /* or NULL */
};

static ldns_rdf *address_rdf(const char *text)
{
	ldns_rdf *rdf = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, text);

	return rdf ? rdf : ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, text);
}

static ldns_resolver *configured_resolver(const struct config *cfg, char *err, size_t errlen)
{
	ldns_resolver *res = ldns_resolver_new();

	if (!res) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_nameservers; i++) {
		ldns_rdf *rdf = address_rdf(cfg->nameservers[i]);
		if (!rdf || ldns_resolver_push_nameserver(res, rdf) != LDNS_STATUS_OK) {
			snprintf(err, errlen, "nameserver %s: cannot use it", cfg->nameservers[i]);
			ldns_rdf_deep_free(rdf);
			ldns_resolver_deep_free(res);
			return NULL;
		}
		ldns_rdf_deep_free(rdf);
	}
	if (cfg->nameserver_port)
		ldns_resolver_set_port(res, (uint16_t)cfg->nameserver_port);
	return res;
}

struct dns *dns_open(const struct config *cfg, char *err, size_t errlen)
{
	ldns_resolver *res = NULL;

	if (cfg->n_nameservers > 0) {
		res = configured_resolver(cfg, err, errlen);
	} else {
		const char *file = cfg->resolv_conf[0] ? cfg->resolv_conf : NULL;
		ldns_status st = ldns_resolver_new_frm_file(&res, file);
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "%s: %s", file ? file : "/etc/resolv.conf",
			         ldns_get_errorstr_by_id(st));
			res = NULL;
		}
	}
	if (!res)
		return NULL;
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_defnames(res, false);
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_retry(res, 2);
	ldns_resolver_set_timeout(res, (struct timeval){ .tv_sec = 3 });
	struct dns *dns = malloc(sizeof *dns);
	if (!dns) {
		ldns_resolver_deep_free(res);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dns->res = res;
	dns->cache = NULL;
	return dns;
}

void dns_use_cache(struct dns *dns, struct dns_cache *cache)
{
	dns->cache = cache;
}

void dns_close(struct dns *dns)
{
	if (!dns)
		return;
	ldns_resolver_deep_free(dns->res);
	free(dns);
}

/* "name" -> "name." as text, then as an ldns name. */
static ldns_rdf *absolute_name(const char *name)
{
	char buf[260];
	size_t len = strlen(name);

	if (len == 0 || len > 253)
		return NULL;
	snprintf(buf, sizeof buf, "%s%s", name, name[len - 1] == '.' ? "" : ".");
	return ldns_dname_new_frm_str(buf);
}

/* Text of a domain name without the trailing dot. */
static void name_text(const ldns_rdf *rdf, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!rdf)                /* a record with empty rdata */
		return;
	char *s = ldns_rdf2str(rdf);
	if (!s)
		return;
	size_t len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	if (len < size)
		memcpy(buf, s, len + 1);
	free(s);
}

/* The server's answer to (name, type), from the cache when it has one;
 * NULL when there is none (timeout, network trouble). */
static ldns_pkt *query(struct dns *dns, const char *name, const ldns_rdf *qname,
                       ldns_rr_type type)
{
	ldns_pkt *pkt = NULL;

	if (dns->cache && dns_cache_get(dns->cache, name, type, &pkt) != CACHE_MISS)
		return pkt;
	ldns_status st = ldns_resolver_query_status(&pkt, dns->res, qname, type,
	                                            LDNS_RR_CLASS_IN, LDNS_RD);
	if (st != LDNS_STATUS_OK) {
		ldns_pkt_free(pkt);
		pkt = NULL;
	}
	if (dns->cache)
		dns_cache_put(dns->cache, name, type, pkt);
	return pkt;
}

/* Ask (name, type).  On DNS_OK *answer holds the records of that type; on
 * DNS_NODATA *cname may name a CNAME target to follow (else ""). */
static enum dns_status ask(struct dns *dns, const char *name, ldns_rr_type type,
                           ldns_rr_list **answer, char *cname, size_t cname_size)
{
	ldns_rdf *qname = absolute_name(name);
	enum dns_status rc = DNS_TEMP;

	*answer = NULL;
	cname[0] = '\0';
	if (!qname)
		return DNS_NXDOMAIN;
	ldns_pkt *pkt = query(dns, name, qname, type);
	ldns_rdf_deep_free(qname);
	if (!pkt)
		return DNS_TEMP;
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	if (rcode == LDNS_RCODE_NXDOMAIN) {
		rc = DNS_NXDOMAIN;
	} else if (rcode == LDNS_RCODE_NOERROR) {
		*answer = ldns_pkt_rr_list_by_type(pkt, type, LDNS_SECTION_ANSWER);
		rc = *answer ? DNS_OK : DNS_NODATA;
		if (rc == DNS_NODATA) {
			ldns_rr_list *cn = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_CNAME,
			                                            LDNS_SECTION_ANSWER);
			if (cn) {
				ldns_rr *last = ldns_rr_list_rr(cn, ldns_rr_list_rr_count(cn) - 1);
				name_text(ldns_rr_rdf(last, 0), cname, cname_size);
				ldns_rr_list_deep_free(cn);
			}
		}
	}
	ldns_pkt_free(pkt);
	return rc;
}

/* ask() that follows CNAMEs. */
static enum dns_status ask_follow(struct dns *dns, const char *name, ldns_rr_type type,
                                  ldns_rr_list **answer)
{
	char current[256], next[256];

	snprintf(current, sizeof current, "%s", name);
	for (int hop = 0; hop < CNAME_HOPS; hop++) {
		enum dns_status rc = ask(dns, current, type, answer, next, sizeof next);
		if (rc != DNS_NODATA || next[0] == '\0')
			return rc;
		memcpy(current, next, sizeof current);
	}
	return DNS_TEMP;      /* a CNAME loop or a very long chain */
}

enum dns_status dns_mx(struct dns *dns, const char *domain, struct mx_host **hosts, size_t *n)
{
	ldns_rr_list *list;
	enum dns_status rc = ask_follow(dns, domain, LDNS_RR_TYPE_MX, &list);

	*hosts = NULL;
	*n = 0;
	if (rc != DNS_OK)
		return rc;
	size_t count = ldns_rr_list_rr_count(list);
	*hosts = calloc(count ? count : 1, sizeof **hosts);
	if (!*hosts) {
		ldns_rr_list_deep_free(list);
		return DNS_TEMP;
	}
	for (size_t i = 0; i < count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rdf *pref = ldns_rr_mx_preference(rr), *exchange = ldns_rr_mx_exchange(rr);
		if (!pref || !exchange)
			continue;
		struct mx_host *h = &(*hosts)[*n];
		h->pref = ldns_rdf2native_int16(pref);
		if (ldns_dname_label_count(exchange) > 0) {     /* else a null MX: "" */
			name_text(exchange, h->name, sizeof h->name);
			if (h->name[0] == '\0')
				continue;      /* no usable text (too long escaped): skip it */
		}
		(*n)++;
	}
	ldns_rr_list_deep_free(list);
	return *n ? DNS_OK : DNS_NODATA;
}

static int append_addr(struct addr **addrs, size_t *n, const ldns_rdf *rdf, unsigned port)
{
	if (!rdf)                /* a record with empty rdata: no address */
		return 0;
	struct addr *a = realloc(*addrs, (*n + 1) * sizeof *a);

	if (!a)
		return -1;
	*addrs = a;
	a += *n;
	memset(a, 0, sizeof *a);
	if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rdf) == 16) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, ldns_rdf_data(rdf), 16);
		a->len = sizeof *s6;
	} else if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_A && ldns_rdf_size(rdf) == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, ldns_rdf_data(rdf), 4);
		a->len = sizeof *s4;
	} else {
		return 0;
	}
	(*n)++;
	return 0;
}

/* An address literal needs no DNS at all. */
static bool literal_addr(const char *host, unsigned port, struct addr **addrs, size_t *n)
{
	ldns_rdf *rdf = address_rdf(host);

	if (!rdf)
		return false;
	int rc = append_addr(addrs, n, rdf, port);
	ldns_rdf_deep_free(rdf);
	return rc == 0;
}

enum dns_status dns_addrs(struct dns *dns, const char *host, unsigned port,
                          struct addr **addrs, size_t *n)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_A };
	size_t before = *n;
	enum dns_status worst = DNS_NODATA;

	if (literal_addr(host, port, addrs, n))
		return DNS_OK;
	for (size_t t = 0; t < 2; t++) {
		ldns_rr_list *list;
		enum dns_status rc = ask_follow(dns, host, types[t], &list);
		if (rc == DNS_OK) {
			for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++)
				if (append_addr(addrs, n, ldns_rr_rdf(ldns_rr_list_rr(list, i), 0), port) < 0)
					break;
			ldns_rr_list_deep_free(list);
		} else if (rc == DNS_TEMP || (rc == DNS_NXDOMAIN && worst != DNS_TEMP)) {
			worst = rc;
		}
	}
	return *n > before ? DNS_OK : worst;
}
