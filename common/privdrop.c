/* privdrop.c - never handle mail as root: switch to the configured user. */
#include "privdrop.h"

#include <errno.h>
#include <fcntl.h>
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

#define FILES_GROUPS_MAX 64
#define FILES_MAX (256 * 1024)

/* The whole of a small file, NUL-terminated; NULL when missing or too large. */
static char *slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			if (n < 0)
				return NULL;
			break;
		}
		len += (size_t)n;
		if (len == size - 1) {             /* too large for us: let NSS read it */
			close(fd);
			return NULL;
		}
	}
	buf[len] = '\0';
	return buf;
}

/* Field i (from 0) of a ':'-separated line [line, end): its start and length. */
static bool field(const char *line, const char *end, int i, const char **f, size_t *len)
{
	const char *p = line;

	for (; i > 0; i--) {
		p = memchr(p, ':', (size_t)(end - p));
		if (!p)
			return false;
		p++;
	}
	const char *q = memchr(p, ':', (size_t)(end - p));
	*f = p;
	*len = (size_t)((q ? q : end) - p);
	return true;
}

static bool number(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 0xfffffffeUL)
		return false;
	*out = v;
	return true;
}

/* Does the comma-separated member list [s, s+len) name user? */
static bool member(const char *s, size_t len, const char *user, size_t ulen)
{
	const char *end = s + len;

	while (s < end) {
		const char *c = memchr(s, ',', (size_t)(end - s));
		const char *e = c ? c : end;
		if ((size_t)(e - s) == ulen && memcmp(s, user, ulen) == 0)
			return true;
		s = e + 1;
	}
	return false;
}

/* The user as /etc/passwd and /etc/group have it, read directly.
 * getpwnam() and initgroups() go through NSS, which dlopen()s the modules
 * named in nsswitch.conf (on Debian libnss_systemd with libcap and libm)
 * in every process: measured 0.48 M of the 0.92 M instructions of a whole
 * 1 KiB session (fgetpwent/fgetgrent still cost 0.07 M: stdio, seeks).
 * Returns false when the user is not in /etc/passwd, a line of it does
 * not parse, the user has more groups than we keep, or a file cannot be
 * read: then NSS decides, as before. */
static bool files_user(const char *user, uid_t *uid, gid_t *gid, gid_t *groups, size_t *ngroups)
{
	static char buf[FILES_MAX];
	size_t ulen = strlen(user);
	const char *f, *line, *end;
	size_t len;
	unsigned long v;
	bool found = false;

	if (ulen == 0 || !slurp("/etc/passwd", buf, sizeof buf))
		return false;
	for (line = buf; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if ((size_t)(end - line) <= ulen || memcmp(line, user, ulen) != 0 || line[ulen] != ':')
			continue;
		if (!field(line, end, 2, &f, &len) || !number(f, len, &v))
			return false;
		*uid = (uid_t)v;
		if (!field(line, end, 3, &f, &len) || !number(f, len, &v))
			return false;
		*gid = (gid_t)v;
		found = true;
		break;
	}
	if (!found || !slurp("/etc/group", buf, sizeof buf))
		return false;

	size_t n = 0;
	groups[n++] = *gid;
	for (line = buf; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (line[0] == '#' || !field(line, end, 3, &f, &len) || !member(f, len, user, ulen))
			continue;
		const char *g;
		size_t glen;
		if (!field(line, end, 2, &g, &glen) || !number(g, glen, &v))
			continue;
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup = dup || groups[i] == (gid_t)v;
		if (dup)
			continue;
		if (n == FILES_GROUPS_MAX)
			return false;
		groups[n++] = (gid_t)v;
	}
	*ngroups = n;
	return true;
}

enum privdrop_result privdrop(const char *user, char *err, size_t errlen)
{
	if (geteuid() != 0 && getuid() != 0)
		return PRIVDROP_UNPRIVILEGED;
	if (!root_is_real())
		return PRIVDROP_UNPRIVILEGED;
	if (user[0] == '\0')
		return PRIVDROP_STILL_ROOT;

	uid_t uid;
	gid_t gid;
	gid_t groups[FILES_GROUPS_MAX];
	size_t ngroups = 0;
	bool from_files = files_user(user, &uid, &gid, groups, &ngroups);
	if (!from_files) {
		errno = 0;
		struct passwd *pw = getpwnam(user);
		if (!pw)
			return failed(err, errlen, "no such user", user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (uid == 0 || gid == 0) {
		errno = 0;
		return failed(err, errlen, "has uid or gid 0", user);
	}
	if (from_files ? setgroups(ngroups, groups) < 0 : initgroups(user, gid) < 0)
		return failed(err, errlen, from_files ? "setgroups" : "initgroups", user);
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

bool privdrop_is_root(void)
{
	return (geteuid() == 0 || getuid() == 0) && root_is_real();
}
