/* maildir.c - Maildir names and layout. */
#include "maildir.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

void unique_id(char *buf, size_t size)
{
	static unsigned counter;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(buf, size, "%lld.M%06ldP%ldQ%u", (long long)tv.tv_sec, (long)tv.tv_usec,
	         (long)getpid(), ++counter);
}

bool maildir_exists(int rootfd, const char *dir)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char path[1200];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subdirs[i]);
		if (!is_dir_at(rootfd, path))
			return false;
	}
	return true;
}

int maildir_create(int rootfd, const char *dir)
{
	static const char *const subdirs[] = { "tmp", "new", "cur" };
	char path[1200];

	/* dir is "domain/user": make the domain first */
	for (const char *p = dir; *p; p++)
		if (*p == '/') {
			snprintf(path, sizeof path, "%.*s", (int)(p - dir), dir);
			if (mkdir_at(rootfd, path, 0700) < 0)
				return -1;
		}
	if (mkdir_at(rootfd, dir, 0700) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subdirs[i]);
		if (mkdir_at(rootfd, path, 0700) < 0)
			return -1;
	}
	return fsync_dir_at(rootfd, dir);
}

/* Copy src_fd into dir/tmp/name, fsync it and rename it to dir/new/name. */
static int deliver_by_copy(int src_fd, int rootfd, const char *dir, const char *name)
{
	char tmp[1200], new[1200];

	snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name);
	snprintf(new, sizeof new, "%s/new/%s", dir, name);
	int fd = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (copy_fd(src_fd, fd) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		close_quietly(fd);
		unlinkat(rootfd, tmp, 0);
		return -1;
	}
	if (renameat(rootfd, tmp, rootfd, new) < 0) {
		unlinkat(rootfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* "<id>.<host>,S=<size>": the file name of a delivered message. */
static void message_name(char *buf, size_t len, const char *id, const char *host, uint64_t size)
{
	snprintf(buf, len, "%s.%s,S=%llu", id, host, (unsigned long long)size);
}

int maildir_deliver(int src_dirfd, const char *src_path, int src_fd,
                    int rootfd, const char *dir, const char *id,
                    const char *host, uint64_t size)
{
	char name[UNIQUE_ID_MAX + 300], new[1600], newdir[1200];

	message_name(name, sizeof name, id, host, size);
	snprintf(new, sizeof new, "%s/new/%s", dir, name);
	snprintf(newdir, sizeof newdir, "%s/new", dir);
	if (linkat(src_dirfd, src_path, rootfd, new, 0) < 0) {
		if (errno != EXDEV && errno != EPERM && errno != EMLINK)
			return -1;
		if (deliver_by_copy(src_fd, rootfd, dir, name) < 0)
			return -1;
	}
	return fsync_dir_at(rootfd, newdir);
}

void maildir_withdraw(int rootfd, const char *dir, const char *id, const char *host,
                      uint64_t size)
{
	char name[UNIQUE_ID_MAX + 300], new[1600];

	message_name(name, sizeof name, id, host, size);
	snprintf(new, sizeof new, "%s/new/%s", dir, name);
	unlinkat(rootfd, new, 0);
}
