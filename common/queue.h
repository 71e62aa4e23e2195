/* queue.h - the outgoing queue that smtpd-session writes and smtp-relay
 * reads.  The layout and the envelope format are described in doc/queue.md;
 * in short:
 *
 *   QUEUE_DIR/tmp/        files being written (reaped when old)
 *   QUEUE_DIR/msg/ID      the message, as it would be stored in a Maildir
 *   QUEUE_DIR/env/ID      the envelope; an entry exists iff this file does
 *   QUEUE_DIR/corrupt/    entries whose envelope cannot be parsed
 *
 * The envelope is written last, by rename, so a crash leaves either a
 * complete entry or none.  This file owns the protocol: every step on these
 * files, in its order, is here, and the programs spell no queue path. */
#ifndef MAILSOCK_QUEUE_H
#define MAILSOCK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "maildir.h"

enum rcpt_state { RCPT_PENDING = 'P', RCPT_DELIVERED = 'D', RCPT_FAILED = 'F' };

struct envelope_rcpt {
	enum rcpt_state state;
	char *address;          /* "local@domain" */
	char *error;            /* last reply or trouble for it, or NULL */
	char *via;              /* "KIND VALUE" of its rcpt-via line ("lmtp unix:/PATH"),
	                           or NULL: delivered by SMTP */
};

struct envelope {
	char id[UNIQUE_ID_MAX];
	time_t arrival;
	char peer[64];           /* client address, or "local" */
	char helo[256];
	char session[64];        /* the session that accepted it, or "" */
	char *sender;            /* "" for the null sender <> */
	bool body_8bit;          /* BODY=8BITMIME */
	bool smtputf8;           /* SMTPUTF8 was given */
	unsigned attempts;
	time_t next_attempt;
	char *error;             /* last trouble for the entry as a whole, or NULL */
	struct envelope_rcpt *rcpts;
	size_t n_rcpts;
};

/* Open (creating if needed) QUEUE_DIR and its tmp/, msg/ and env/. */
int queue_open(const char *queue_dir);

/* Open QUEUE_DIR as it is, creating nothing (-1, errno ENOENT: no queue). */
int queue_open_existing(const char *queue_dir);

/* ---- writing an entry (the session, and the relay's bounces) ---------- */

/* Create tmp/ID for a new message (O_EXCL, mode 0600), its name into path
 * (relative to queuefd).  The open fd, or -1 with errno. */
int queue_create_tmp(int queuefd, const char *id, char *path, size_t size);

/* A new entry's envelope: id, peer, helo and sender copied, arrival and
 * next attempt now, no recipient yet (envelope_add_rcpt them, then
 * envelope_free it in every case).  -1 on out of memory. */
int envelope_init(struct envelope *env, const char *id, const char *peer, const char *helo,
                  const char *sender);

/* Make env an entry, in the order that keeps a crash safe (doc/queue.md):
 *   1. the complete, fsynced file src_dirfd/src_path (open as src_fd) becomes
 *      msg/ID by a hard link (by a copy through tmp/, fsynced, across file
 *      systems), then msg/ is fsynced;
 *   2. the envelope is written to tmp/ID.env, fsynced, renamed to env/ID,
 *      then env/ is fsynced.
 * On failure msg/ID is taken back and -1 returned with errno: no entry. */
int queue_enqueue(int queuefd, int src_dirfd, const char *src_path, int src_fd,
                  const struct envelope *env);

/* Write env durably: tmp/ID.env, fsync, rename to env/ID, fsync env/. */
int envelope_write(int queuefd, const struct envelope *env);

/* ---- reading and finishing entries (the relay) ------------------------ */

/* Read an envelope file.  -1 on a malformed file (errno EINVAL) or I/O. */
int envelope_read(FILE *f, struct envelope *env);

/* Add a recipient (the string is copied).  -1 on out of memory. */
int envelope_add_rcpt(struct envelope *env, enum rcpt_state state, const char *address);

/* Give the last recipient added the transport "KIND VALUE" ("pipe",
 * "lmtp"; value copied, without a newline).  -1 on out of memory. */
int envelope_set_via(struct envelope *env, const char *kind, const char *value);

void envelope_free(struct envelope *env);

/* Read env/ID into env (zeroed first; envelope_free it in every case).
 * 1 when read, 0 when there is no such entry, -1 on I/O trouble (errno),
 * -2 when the file is malformed (errno EINVAL). */
int envelope_load(int queuefd, const char *id, struct envelope *env);

/* Is there an envelope env/ID (an entry)? */
bool queue_has_envelope(int queuefd, const char *id);

/* Open msg/ID and take its flock (LOCK_EX | LOCK_NB): the entry is ours
 * until the fd is closed.  The fd, or -1 with errno (EWOULDBLOCK: another
 * run holds it; ENOENT: no message). */
int queue_lock(int queuefd, const char *id);

/* The size of msg/ID in octets, or -1. */
long long queue_message_size(int queuefd, const char *id);

/* Remove a finished entry: env/ID first (then env/ is fsynced), msg/ID
 * last.  0; 1 when the entry is gone but msg/ID stays (debris, reaped
 * later); -1 with errno when env/ID could not be removed (the entry stays). */
int queue_remove(int queuefd, const char *id);

/* Move an entry whose envelope cannot be parsed to corrupt/: msg/ID to
 * corrupt/ID.msg first, then env/ID to corrupt/ID.env, each directory
 * fsynced.  0, or -1 with errno. */
int queue_quarantine(int queuefd, const char *id);

/* Remove what a crash left, older than age seconds: files in tmp/ and
 * messages in msg/ without an envelope.  Each removal is logged.  Done at
 * most once an hour (QUEUE_DIR/reaped holds the time); else one fstatat. */
void queue_reap(int queuefd, time_t age);

/* The names in QUEUE_DIR/SUB ("env", "msg", "tmp"), sorted, so oldest id
 * first; none (NULL, *n 0) when the directory cannot be read. */
char **queue_ids(int queuefd, const char *sub, size_t *n);

/* Append a copy of name to the list *names of *n names (as queue_ids
 * returns them); -1 on out of memory. */
int queue_names_add(char ***names, size_t *n, const char *name);
void queue_ids_free(char **ids, size_t n);

/* The entries whose due index (env/ID's mtime, the next attempt) is not
 * later than now, sorted; no envelope is opened.  The envelope still
 * decides: the index only spares opening those that are not due. */
char **queue_due_ids(int queuefd, time_t now, size_t *n);

/* Is env/ID there and due by its index?  (Only the index: no open.) */
bool queue_is_due(int queuefd, const char *id, time_t now);

/* Add env/ to the inotify instance inotifyfd for mask (IN_MOVED_TO: the
 * envelopes renamed in).  The watch descriptor, or -1 with errno. */
int queue_watch_env(int queuefd, int inotifyfd, uint32_t mask);

#endif
