/* alias.h - aliases(5): where mail for an address of a local domain goes
 * when the aliases key names a file.  The file is read once per session
 * (no newaliases: a change works at the next connection), its names kept
 * in a sorted array and found by binary search.  alias_resolve() is
 * local_maildir() with the aliases in front: both programs use it. */
#ifndef MAILSOCK_ALIAS_H
#define MAILSOCK_ALIAS_H

#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "config.h"
#include "local.h"

#define ALIAS_DEPTH_MAX 10       /* levels of aliases of aliases */
#define ALIAS_TARGETS_MAX 64     /* targets one address may expand to */

enum alias_kind {
	ALIAS_MAILDIR,       /* dir: a local user's Maildir */
	ALIAS_FORWARD,       /* address: a foreign address, through the queue */
	ALIAS_PIPE,          /* via: a command ("|command"), through the queue */
	ALIAS_LMTP,          /* via: an LMTP spec ("lmtp:..." without "lmtp:") */
};

struct alias_target {
	enum alias_kind kind;
	char address[ADDRESS_MAX + 1];   /* the user's or forward address; the alias for PIPE/LMTP */
	char dir[MAILDIR_NAME_MAX];      /* ALIAS_MAILDIR */
	const char *via;                 /* ALIAS_PIPE, ALIAS_LMTP: lives as long as the table */
};

enum alias_verdict {
	ALIAS_OK,            /* out[0 .. *n) */
	ALIAS_UNKNOWN,       /* 550 5.1.1: no alias, no user, no catch-all */
	ALIAS_BAD_NAME,      /* 553 5.1.3 */
	ALIAS_LOOP,          /* 554 5.4.6: a loop, or more than ALIAS_DEPTH_MAX levels */
	ALIAS_TEMPFAIL,      /* 451 4.3.0: a broken file, a target naming nobody, the mail root (logged) */
};

struct aliases;

/* Read path; NULL only on out of memory.  A file that cannot be read or
 * parsed gives a table that answers ALIAS_TEMPFAIL for every address,
 * after one log line naming the file and line. */
struct aliases *aliases_load(const char *path);
void aliases_free(struct aliases *al);

/* The targets of address ("local@domain", domain local): an alias
 * "local@domain", then "local" (in every local domain), then the user's
 * Maildir, then the catch-all "@domain".  al may be NULL (no aliases).
 * Each target once; *n of them. */
enum alias_verdict alias_resolve(const struct aliases *al, const struct config *cfg, int rootfd,
                                 const char *address, struct alias_target *out, size_t max,
                                 size_t *n);

#endif
