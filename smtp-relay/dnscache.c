/* dnscache.c - the DNS answers of one run, shared by its workers.
 *
 * A run over 200 messages to two domains used to ask MX, AAAA and A again
 * for every message: 600 questions, enough for a server's response rate
 * limiting to drop most of them.  Here each answer is kept in memory shared
 * with the forked workers, in wire form, for as long as its TTL says:
 * positive answers for the smallest TTL in the answer section, negative ones
 * (NXDOMAIN, NODATA) for the SOA's TTL capped by its MINIMUM field
 * (RFC 2308 5), and not at all without a SOA (RFC 2308 5: SHOULD NOT).  A
 * server failure or a timeout is kept FAIL_TTL seconds (RFC 2308 7: at most
 * five minutes), so that a dead server costs one timeout per run, not one
 * per message.  While one worker asks, the others wait for its answer. */
#include "dnscache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 128
#define WIRE_MAX 4096       /* larger answers are not kept */
#define TTL_MAX 3600        /* a long run still asks again hourly */
#define FAIL_TTL 60
#define ASK_WAIT 15         /* longer than ldns's retries: the asker is gone */

enum slot_state { SLOT_EMPTY, SLOT_ASKING, SLOT_READY };

struct slot {
	enum slot_state state;
	ldns_rr_type type;
	char name[256];
	pid_t asker;            /* SLOT_ASKING: the worker that asks */
	time_t expires;         /* SLOT_READY, monotonic seconds */
	unsigned long stored;   /* order of storing: the oldest is replaced first */
	size_t len;             /* 0: the server failed */
	uint8_t wire[WIRE_MAX];
};

struct dns_cache {
	pthread_mutex_t mutex;
	pthread_cond_t answered;
	unsigned long stores;
	struct slot slots[SLOTS];
};

static time_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct dns_cache *dns_cache_new(void)
{
	struct dns_cache *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE,
	                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;

	if (c == MAP_FAILED)
		return NULL;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);   /* a worker may die */
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	bool ok = pthread_mutex_init(&c->mutex, &ma) == 0 && pthread_cond_init(&c->answered, &ca) == 0;
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_destroy(&ca);
	if (!ok) {
		munmap(c, sizeof *c);
		return NULL;
	}
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (c)
		munmap(c, sizeof *c);
}

static void lock(struct dns_cache *c)
{
	if (pthread_mutex_lock(&c->mutex) == EOWNERDEAD)
		pthread_mutex_consistent(&c->mutex);
}

static void wait_answer(struct dns_cache *c)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	if (pthread_cond_timedwait(&c->answered, &c->mutex, &until) == EOWNERDEAD)
		pthread_mutex_consistent(&c->mutex);
}

static struct slot *find(struct dns_cache *c, const char *name, ldns_rr_type type)
{
	for (size_t i = 0; i < SLOTS; i++) {
		struct slot *s = &c->slots[i];
		if (s->state != SLOT_EMPTY && s->type == type && strcasecmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* An empty slot, else an expired one, else the oldest answer; never one
 * that a worker is asking for (NULL when all are). */
static struct slot *victim(struct dns_cache *c, time_t now)
{
	struct slot *best = NULL;

	for (size_t i = 0; i < SLOTS; i++) {
		struct slot *s = &c->slots[i];
		if (s->state == SLOT_EMPTY || (s->state == SLOT_READY && s->expires <= now))
			return s;
		if (s->state == SLOT_READY && (!best || s->stored < best->stored))
			best = s;
	}
	return best;
}

static enum cache_answer answer_of(const struct slot *s, ldns_pkt **pkt)
{
	*pkt = NULL;
	if (s->len == 0 || ldns_wire2pkt(pkt, s->wire, s->len) != LDNS_STATUS_OK) {
		ldns_pkt_free(*pkt);
		*pkt = NULL;
		return CACHE_FAILED;
	}
	return CACHE_HIT;
}

enum cache_answer dns_cache_get(struct dns_cache *c, const char *name, ldns_rr_type type,
                                ldns_pkt **pkt)
{
	*pkt = NULL;
	if (strlen(name) >= sizeof c->slots[0].name)
		return CACHE_MISS;
	lock(c);
	time_t now = now_mono(), give_up = now + ASK_WAIT;
	struct slot *s;
	while ((s = find(c, name, type)) && s->state == SLOT_ASKING && s->asker != getpid() &&
	       now < give_up) {
		wait_answer(c);
		now = now_mono();
	}
	if (s && s->state == SLOT_READY && s->expires > now) {
		enum cache_answer a = answer_of(s, pkt);
		pthread_mutex_unlock(&c->mutex);
		return a;
	}
	if (s || (s = victim(c, now))) {         /* ours to ask: the others wait */
		s->state = SLOT_ASKING;
		s->type = type;
		memcpy(s->name, name, strlen(name) + 1);
		s->asker = getpid();
	}
	pthread_mutex_unlock(&c->mutex);
	return CACHE_MISS;
}

static uint32_t min_ttl(const ldns_rr_list *list)
{
	uint32_t ttl = UINT32_MAX;

	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		uint32_t t = ldns_rr_ttl(ldns_rr_list_rr(list, i));
		ttl = t < ttl ? t : ttl;
	}
	return ttl;
}

/* RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM); 0 without SOA. */
static uint32_t negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const ldns_rdf *minimum = ldns_rr_rdf(rr, 6);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || !minimum ||
		    ldns_rdf_size(minimum) != 4)
			continue;
		uint32_t ttl = ldns_rr_ttl(rr), min = ldns_rdf2native_int32(minimum);
		return ttl < min ? ttl : min;
	}
	return 0;
}

/* How long pkt may be kept, in seconds (0: not at all). */
static uint32_t lifetime(const ldns_pkt *pkt)
{
	if (!pkt)
		return FAIL_TTL;
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	uint32_t ttl;
	if (rcode == LDNS_RCODE_NOERROR && ldns_pkt_ancount(pkt) > 0)
		ttl = min_ttl(ldns_pkt_answer(pkt));
	else if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN)
		ttl = negative_ttl(pkt);
	else
		ttl = FAIL_TTL;       /* SERVFAIL, REFUSED, ...: RFC 2308 7.1 */
	return ttl < TTL_MAX ? ttl : TTL_MAX;
}

void dns_cache_put(struct dns_cache *c, const char *name, ldns_rr_type type, const ldns_pkt *pkt)
{
	uint8_t *wire = NULL;
	size_t len = 0;
	uint32_t ttl = lifetime(pkt);

	if (pkt && ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK)
		ttl = 0;
	if (pkt && len == 0)
		ttl = 0;              /* an empty wire form would read as a failure */
	if (len > WIRE_MAX)
		ttl = 0;
	lock(c);
	struct slot *s = find(c, name, type);
	if (s && s->state == SLOT_ASKING && s->asker == getpid()) {
		if (ttl == 0) {
			s->state = SLOT_EMPTY;    /* not kept: a waiting worker asks itself */
		} else {
			s->state = SLOT_READY;
			s->expires = now_mono() + (time_t)ttl;
			s->stored = ++c->stores;
			s->len = len;
			if (len)
				memcpy(s->wire, wire, len);
		}
		pthread_cond_broadcast(&c->answered);
	}
	pthread_mutex_unlock(&c->mutex);
	free(wire);
}
