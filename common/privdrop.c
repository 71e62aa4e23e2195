/* privdrop.c - never handle mail as root: switch to the configured user. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static enum privdrop_result failed(char *err, size_t errlen, const char *what, const char *user)
{
	if (errno)
		snprintf(err, errlen, "user %s: %s: %s", user, what, strerror(errno));
	else
		snprintf(err, errlen, "user %s: %s", user, what);
	return PRIVDROP_FAILED;
}

/* Root of the host, not root of a user namespace mapped to someone else
 * (unshare --map-root-user): only the former holds privilege to give up. */
static bool root_is_real(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long inside, outside, count;
	bool real = false;

	if (!f)
		return true;           /* cannot tell: assume the worst */
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (inside == 0 && outside == 0)
			real = true;
	fclose(f);
	return real;
}

enum privdrop_result privdrop(const char *user, char *err, size_t errlen)
{
	if (geteuid() != 0 && getuid() != 0)
		return PRIVDROP_UNPRIVILEGED;
	if (!root_is_real())
		return PRIVDROP_UNPRIVILEGED;
	if (user[0] == '\0')
		return PRIVDROP_STILL_ROOT;

	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return failed(err, errlen, "no such user", user);
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		errno = 0;
		return failed(err, errlen, "has uid or gid 0", user);
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (initgroups(user, gid) < 0)
		return failed(err, errlen, "initgroups", user);
	if (setresgid(gid, gid, gid) < 0)
		return failed(err, errlen, "setresgid", user);
	if (setresuid(uid, uid, uid) < 0)
		return failed(err, errlen, "setresuid", user);
	if (setuid(0) == 0 || geteuid() == 0 || getegid() == 0) {
		errno = 0;
		return failed(err, errlen, "root could be regained", user);
	}
	return PRIVDROP_SWITCHED;
}
