/* privdrop.h - never handle mail as root: switch to the configured user. */
#ifndef MAILSOCK_PRIVDROP_H
#define MAILSOCK_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

enum privdrop_result {
	PRIVDROP_UNPRIVILEGED,   /* not root (or root of a mapped user namespace) */
	PRIVDROP_SWITCHED,       /* was root, now runs as user for good */
	PRIVDROP_STILL_ROOT,     /* root and no user configured: caller decides */
	PRIVDROP_FAILED,         /* err says why; the process must not go on */
};

/* When running as root and user is not empty, become user (its uid, gid
 * and supplementary groups), and check that root cannot be regained. */
enum privdrop_result privdrop(const char *user, char *err, size_t errlen);

/* Is this process root of the host (what privdrop() would switch away
 * from), not root of a mapped user namespace? */
bool privdrop_is_root(void);

#endif
