/* fsutil.h - small, EINTR-safe file helpers shared by both programs. */
#ifndef MAILSOCK_FSUTIL_H
#define MAILSOCK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write all of buf; retries on EINTR and short writes. 0 or -1 (errno). */
int write_all(int fd, const void *buf, size_t len);

/* fsync the directory dirfd/path (path may be "." ). 0 or -1 (errno). */
int fsync_dir_at(int dirfd, const char *path);

/* Is dirfd/path a directory (following symbolic links)? */
bool is_dir_at(int dirfd, const char *path);

/* mkdir dirfd/path with mode; an existing directory is success. */
int mkdir_at(int dirfd, const char *path, mode_t mode);

/* Copy the whole of src_fd (from offset 0) to dst_fd. 0 or -1 (errno). */
int copy_fd(int src_fd, int dst_fd);

/* Copy the string src into dst of size; false (dst untouched) if it does
 * not fit. */
bool string_copy(char *dst, size_t size, const char *src);

/* close(2) that keeps errno of an earlier failure. */
void close_quietly(int fd);

#endif
