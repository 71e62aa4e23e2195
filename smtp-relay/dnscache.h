/* dnscache.h - DNS answers shared by the workers of one run, kept as long
 * as their TTLs allow (RFC 2308 for negative answers). */
#ifndef SMTP_RELAY_DNSCACHE_H
#define SMTP_RELAY_DNSCACHE_H

#include <ldns/ldns.h>

struct dns_cache;

/* A cache in shared memory: make it before forking the workers.  NULL on
 * failure (the run then asks the server every time). */
struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache *cache);

enum cache_answer {
	CACHE_MISS,      /* not known: ask, then dns_cache_put the answer */
	CACHE_HIT,       /* *pkt is the answer (ldns_pkt_free it) */
	CACHE_FAILED,    /* the server failed on it lately: a temporary failure */
};

/* The answer to (name, type).  While one worker asks, the others wait for
 * its answer instead of asking too. */
enum cache_answer dns_cache_get(struct dns_cache *cache, const char *name, ldns_rr_type type,
                                ldns_pkt **pkt);

/* Store the answer to a question that dns_cache_get missed: pkt, or NULL
 * when there was none (timeout, network trouble).  Must follow every miss. */
void dns_cache_put(struct dns_cache *cache, const char *name, ldns_rr_type type,
                   const ldns_pkt *pkt);

#endif
