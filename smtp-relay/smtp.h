/* smtp.h - SMTP client: one message, some recipients, a list of places
 * to try (RFC 5321 client side). */
#ifndef SMTP_RELAY_SMTP_H
#define SMTP_RELAY_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "route.h"
#include "queue.h"
#include "result.h"

struct message {
	const char *id;
	int fd;              /* msg/ID, read with pread from offset 0 */
	uint64_t size;
	const char *sender;  /* "" for <> */
	bool body_8bit;
	bool smtputf8;
};

/* One recipient on its way: the envelope's recipient and what this run
 * did with it. */
struct job_rcpt {
	struct envelope_rcpt *rcpt;   /* its address; the caller records its state */
	struct result result;   /* OUT_NONE before the first try */
	bool held;              /* the whole message went out but no reply came:
	                           maybe delivered, so tried nowhere else this run */
	bool tried;             /* offered at the current destination */
	bool sent;              /* named in the current transaction's RCPT commands */
	bool accepted;          /* and its RCPT got 2xx there */
};

/* One message for the recipients that share a route. */
struct job {
	const struct message *msg;
	struct job_rcpt **rcpts;
	size_t n;
	/* Called after each transaction that delivered to some of rcpts, to
	 * record them durably; -1 stops the delivery (NULL: not called). */
	int (*save)(void *arg, const struct job *job);
	void *save_arg;
	/* The server speaks LMTP (RFC 2033): LHLO, and after the final "." one
	 * reply per accepted recipient, in RCPT order. */
	bool lmtp;
};

/* Sessions kept open between messages to the same address (RSET, then the
 * next transaction), at most 16; closing it says QUIT to each. */
struct client_cache;
struct client_cache *client_cache_new(void);
void client_cache_close(struct client_cache *cache);

/* Try route's destinations in order until no recipient is left with
 * OUT_NONE or OUT_TEMP (and not held); each recipient's result is its last
 * outcome.
 * cache may be NULL (one session per call). */
void client_deliver(const struct config *cfg, struct client_cache *cache,
                    const struct route *route, const struct job *job);

#endif
