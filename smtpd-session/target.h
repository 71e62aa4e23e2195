/* target.h - where a recipient's copy goes.  One step picks a target per
 * recipient: a Maildir for local domains, the queue for relayed mail, and
 * the queue with "rcpt-via lmtp" for local domains when local_delivery
 * names an LMTP server. */
#ifndef MAILSOCK_TARGET_H
#define MAILSOCK_TARGET_H

#include <stdbool.h>

#include "address.h"
#include "config.h"
#include "local.h"
#include "lmtp_check.h"

enum target_kind { TARGET_MAILDIR, TARGET_QUEUE };

struct target {
	enum target_kind kind;
	char dir[MAILDIR_NAME_MAX];                   /* Maildir: "domain/user" */
	char address[ADDRESS_MAX + 1];               /* "local@domain" as given */
	bool lmtp;              /* queue: for cfg->local_delivery's LMTP server */
};

enum target_verdict {
	TARGET_OK,
	TARGET_UNKNOWN_USER,    /* 550 5.1.1 */
	TARGET_BAD_LOCAL,       /* 553 5.1.3: could escape the Maildir root */
	TARGET_RELAY_DENIED,    /* 554 5.7.1 */
	TARGET_ROUTE_DENIED,    /* 554 5.7.1: source route from a non-relay peer */
	TARGET_TEMPFAIL,        /* 451 4.3.0: the mail root is in trouble */
	TARGET_LMTP_DOWN,       /* 451 4.4.1: the LMTP server cannot be asked */
};

/* The open mail root and queue, opened on first use (not at start-up). */
struct stores {
	const struct config *cfg;
	int rootfd;
	int queuefd;
	struct lmtp_check *lmtp;   /* the RCPT-time connection, or NULL */
};

void stores_init(struct stores *st, const struct config *cfg);
int stores_root(struct stores *st);     /* -1 with errno */
int stores_queue(struct stores *st);    /* -1 with errno */
void stores_close(struct stores *st);

/* Pick the target of one recipient; may_relay from the peer. */
enum target_verdict target_resolve(struct stores *st, bool may_relay,
                                   const struct mailbox *mb, struct target *out);

/* The target for a bare "<postmaster>" (RFC 5321 4.1.1.3): the first
 * local domain's postmaster. */
enum target_verdict target_postmaster(struct stores *st, struct target *out);

bool target_same(const struct target *a, const struct target *b);

#endif
