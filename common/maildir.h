/* maildir.h - Maildir names and layout (https://cr.yp.to/proto/maildir.html).
 * Paths are relative to an open directory (the mail root or the queue). */
#ifndef MAILSOCK_MAILDIR_H
#define MAILSOCK_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNIQUE_ID_MAX 64

/* A name unique across processes on this host: "<sec>.M<usec>P<pid>Q<n>".
 * It is the queue id of a message and the start of its Maildir names. */
void unique_id(char *buf, size_t size);

/* Is rootfd/dir a Maildir (has tmp/, new/ and cur/)? */
bool maildir_exists(int rootfd, const char *dir);

/* Create rootfd/dir with tmp/, new/ and cur/ (and its parent), mode 0700. */
int maildir_create(int rootfd, const char *dir);

/* Put the complete, fsynced file src_dirfd/src_path into rootfd/dir/new/
 * as "<id>.<host>,S=<size>": a hard link when both are on one file system,
 * else a copy through dir/tmp/ (fsynced).  The new/ directory is fsynced
 * before this returns 0.  -1 with errno on failure. */
int maildir_deliver(int src_dirfd, const char *src_path, int src_fd,
                    int rootfd, const char *dir, const char *id,
                    const char *host, uint64_t size);

/* Take back what maildir_deliver put into rootfd/dir/new/ (best effort:
 * a reader may already have moved it), when the message as a whole failed. */
void maildir_withdraw(int rootfd, const char *dir, const char *id, const char *host,
                      uint64_t size);

#endif
