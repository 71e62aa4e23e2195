/* target.h - where a recipient's copy goes.  One step picks the targets of
 * a recipient: a Maildir for local users, the queue for relayed mail, and
 * through aliases several of them, forwards, commands and LMTP servers
 * (queued with their rcpt-via: smtp-relay runs them, doc/delivery.md);
 * with local_delivery = lmtp:..., the queue with "rcpt-via lmtp" for every
 * local recipient. */
#ifndef MAILSOCK_TARGET_H
#define MAILSOCK_TARGET_H

#include <stdbool.h>

#include "address.h"
#include "alias.h"
#include "config.h"
#include "local.h"
#include "queue.h"
#include "lmtp_check.h"

/* How a queued target is delivered: its rcpt-via line (doc/queue.md). */
enum target_via { VIA_SMTP, VIA_PIPE, VIA_LMTP };

enum target_kind {
	TARGET_MAILDIR,      /* dir under the mail root (with capture: under "/") */
	TARGET_QUEUE,        /* relayed, forwarded, or a command / LMTP by rcpt-via */
	TARGET_COMMAND,      /* message_command: handed over at the final dot */
};

struct target {
	enum target_kind kind;
	char dir[MAILDIR_NAME_MAX];                   /* Maildir: "domain/user" */
	char address[ADDRESS_MAX + 1];               /* "local@domain" as given, or the forward */
	char alias[ADDRESS_MAX + 1];                 /* the recipient whose alias led here, or "" */
	enum target_via via;                         /* queue, from an alias: SMTP, pipe or LMTP */
	const char *via_value;                       /* the command or LMTP spec (the alias table's) */
	bool lmtp;              /* queue: for cfg->local_delivery's LMTP server */
};

enum target_verdict {
	TARGET_OK,
	TARGET_UNKNOWN_USER,    /* 550 5.1.1 */
	TARGET_BAD_LOCAL,       /* 553 5.1.3: could escape the Maildir root */
	TARGET_RELAY_DENIED,    /* 554 5.7.1 */
	TARGET_ROUTE_DENIED,    /* 554 5.7.1: source route from a non-relay peer */
	TARGET_TEMPFAIL,        /* 451 4.3.0: the mail root or the aliases file is in trouble */
	TARGET_LOOP,            /* 554 5.4.6: an alias loop, or too deep */
	TARGET_LMTP_DOWN,       /* 451 4.4.1: the LMTP server cannot be asked */
};

/* The open mail root and queue, opened on first use (not at start-up),
 * and the aliases file, read at the first local recipient. */
struct stores {
	const struct config *cfg;
	int rootfd;
	int queuefd;
	struct aliases *aliases;
	bool aliases_read;
	struct lmtp_check *lmtp;   /* the RCPT-time connection, or NULL */
};

void stores_init(struct stores *st, const struct config *cfg);
int stores_root(struct stores *st);     /* -1 with errno */
int stores_queue(struct stores *st);    /* -1 with errno */
void stores_close(struct stores *st);

/* Pick the targets of one recipient (at most ALIAS_TARGETS_MAX, *n of
 * them); may_relay from the peer. */
enum target_verdict target_resolve(struct stores *st, bool may_relay,
                                   const struct mailbox *mb, struct target *out, size_t *n);

/* The target for a bare "<postmaster>" (RFC 5321 4.1.1.3): the first
 * local domain's postmaster. */
enum target_verdict target_postmaster(struct stores *st, struct target *out, size_t *n);

bool target_same(const struct target *a, const struct target *b);

/* capture = MAILDIR: a developer's mail catcher, where every message goes;
 * with it any AUTH login succeeds (session.c asks this). */
bool target_capture_mode(const struct config *cfg);

/* message_command is set and capture is not: the final dot runs it. */
bool target_command_mode(const struct config *cfg);

#endif
