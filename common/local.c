/* local.c - the address -> Maildir rule (local.h). */
#include "local.h"
#include "fsutil.h"
#include "maildir.h"

#include <string.h>

bool local_user(const char *local, bool quoted, char *user, size_t size)
{
	size_t n = strcspn(local, "+");

	if (quoted || n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = local[i];
		user[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	user[n] = '\0';
	if (strcmp(user, ".") == 0 || strcmp(user, "..") == 0 || user[0] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		if (*p == '/' || *p == '%' || *p == '!' || *p == '@' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* "domain/user" into dir, the domain lower-cased; false if it does not fit
 * or the local part names no user. */
static bool maildir_name(const char *address, char *dir, size_t size, char *user, size_t usize)
{
	const char *at = NULL;
	char local[LOCAL_PART_MAX + 1];

	/* the last '@'; a loop, not strrchr(): binding one more libc symbol
	 * costs each session more than this (callgrind) */
	for (const char *p = address; *p; p++)
		if (*p == '@')
			at = p;
	if (!at || (size_t)(at - address) > LOCAL_PART_MAX)
		return false;
	memcpy(local, address, (size_t)(at - address));
	local[at - address] = '\0';
	/* a quoted local part keeps its quotes, and only a quoted one starts with one */
	if (!local_user(local, local[0] == '"', user, usize))
		return false;
	size_t d = strlen(at + 1), u = strlen(user);
	if (d + 1 + u + 1 > size)
		return false;
	for (size_t i = 0; i < d; i++) {
		char c = at[1 + i];
		dir[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	dir[d] = '/';
	memcpy(dir + d + 1, user, u + 1);
	return true;
}

bool local_address_ok(const char *address)
{
	char dir[MAILDIR_NAME_MAX], user[LOCAL_PART_MAX + 1];

	return maildir_name(address, dir, sizeof dir, user, sizeof user);
}

enum local_verdict local_maildir(int rootfd, const char *address, char *dir, size_t size)
{
	char user[LOCAL_PART_MAX + 1];

	if (!maildir_name(address, dir, size, user, sizeof user))
		return LOCAL_BAD_NAME;
	if (rootfd < 0)
		return LOCAL_ERROR;
	if (maildir_exists(rootfd, dir))
		return LOCAL_OK;
	if (strcmp(user, "postmaster") == 0)                /* RFC 5321 4.5.1 */
		return maildir_create(rootfd, dir) == 0 ? LOCAL_OK : LOCAL_ERROR;
	return is_dir_at(rootfd, dir) ? LOCAL_NOT_MAILDIR : LOCAL_UNKNOWN;
}
