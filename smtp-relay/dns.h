/* dns.h - the few DNS questions smtp-relay asks, answered through ldns. */
#ifndef SMTP_RELAY_DNS_H
#define SMTP_RELAY_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "conn.h"          /* struct addr */

enum dns_status {
	DNS_OK,          /* records found */
	DNS_NODATA,      /* the name exists, no record of that type */
	DNS_NXDOMAIN,    /* the name does not exist: permanent */
	DNS_TEMP,        /* SERVFAIL, timeout, no answer: try later */
};

struct dns;
struct dns_cache;

struct mx_host {
	unsigned pref;
	char name[256];      /* without the trailing dot; "" for a null MX */
};

/* The resolver: cfg->nameservers, else cfg->resolv_conf or /etc/resolv.conf.
 * NULL with a reason in err. */
struct dns *dns_open(const struct config *cfg, char *err, size_t errlen);
void dns_close(struct dns *dns);

/* Keep answers in cache (dnscache.h) from now on; NULL: ask every time. */
void dns_use_cache(struct dns *dns, struct dns_cache *cache);

/* MX records of domain (following a CNAME chain), unsorted.  *hosts is
 * malloc'd; free it. */
enum dns_status dns_mx(struct dns *dns, const char *domain, struct mx_host **hosts, size_t *n);

/* AAAA then A addresses of host with port, appended to *addrs (realloc'd).
 * DNS_OK if at least one address was added. */
enum dns_status dns_addrs(struct dns *dns, const char *host, unsigned port,
                          struct addr **addrs, size_t *n);

#endif
