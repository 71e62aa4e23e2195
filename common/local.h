/* local.h - where mail for an address of a local domain is stored: the one
 * address -> Maildir rule of both programs (smtpd-session's recipients and
 * smtp-relay's bounces to local senders).  Aliases will plug in here. */
#ifndef MAILSOCK_LOCAL_H
#define MAILSOCK_LOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "address.h"

/* "domain/user", relative to the mail root. */
#define MAILDIR_NAME_MAX (DOMAIN_MAX + 1 + LOCAL_PART_MAX + 1)

enum local_verdict {
	LOCAL_OK,            /* dir is a Maildir (postmaster's is created on first use) */
	LOCAL_UNKNOWN,       /* no such user */
	LOCAL_BAD_NAME,      /* the local part cannot name a Maildir */
	LOCAL_NOT_MAILDIR,   /* dir is a directory without tmp/, new/ or cur/ */
	LOCAL_ERROR,         /* the mail root is in trouble (errno) */
};

/* The Maildir "domain/user" of address ("local@domain", domain local) under
 * the mail root rootfd: domain and user lower-cased, "+detail" dropped;
 * "postmaster" always exists (RFC 5321 4.5.1).  The address is judged
 * before the file system is asked, so rootfd may be -1 (the mail root could
 * not be opened: LOCAL_ERROR for a well-formed address). */
enum local_verdict local_maildir(int rootfd, const char *address, char *dir, size_t size);

/* The Maildir user that local part delivers to: lower case, without its
 * "+detail".  False when it is quoted, empty, too long for size, ".",
 * "..", starts with a dot, or holds '/', '%', '!', '@' or a control
 * character: nothing that could leave the Maildir root or play a relay
 * trick. */
bool local_user(const char *local, bool quoted, char *user, size_t size);

/* True when address ("local@domain") has a local part local_user() takes:
 * the name rules for any local recipient, Maildir or LMTP. */
bool local_address_ok(const char *address);

#endif
