/* bounce.c - build a delivery status notification (RFC 3464, RFC 6522
 * multipart/report) and store it where the sender will find it. */
#include "bounce.h"
#include "address.h"
#include "alias.h"
#include "fsutil.h"
#include "log.h"
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADERS_MAX (64 * 1024)

static void rfc5322_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	strftime(buf, size, "%a, %d %b %Y %H:%M:%S %z", localtime_r(&t, &tm));
}

/* True when s holds a control character (C0 or DEL). */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* s with each control character shown as "?": never a raw one in a DSN. */
static void put_printable(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void put_human_part(FILE *f, const struct config *cfg, const struct envelope *env,
                           const struct bounce_item *items, size_t n)
{
	fprintf(f, "Content-Description: Notification\n"
	           "Content-Type: text/plain; charset=utf-8\n\n"
	           "This is the mail system at host %s.\n\n"
	           "Your message %s could not be delivered to one or more recipients.\n"
	           "It is attached below (headers only).\n\n", cfg->hostname, env->id);
	for (size_t i = 0; i < n; i++) {
		const struct result *r = items[i].result;
		fputc('<', f);
		put_printable(f, items[i].rcpt);
		fputs(">: ", f);
		if (r->mta[0])
			fprintf(f, "host %s said: ", r->mta);
		fprintf(f, "%d %s %s\n", r->code, r->enh, r->text);
	}
	fputc('\n', f);
}

/* One UTF-8 character at p: its code point and length; a byte that starts
 * no valid sequence stands for itself. */
static size_t utf8_char(const unsigned char *p, unsigned *cp)
{
	size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2 :
	             p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	unsigned v = len == 1 ? p[0] : len == 2 ? p[0] & 0x1fu : len == 3 ? p[0] & 0x0fu : p[0] & 0x07u;

	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			len = 0;
			break;
		}
		v = (v << 6) | (p[i] & 0x3fu);
	}
	if (len == 0) {
		*cp = p[0];
		return 1;
	}
	*cp = v;
	return len;
}

/* RFC 6533 3: a non-ASCII address is "utf-8; " in utf-8-addr-xtext, the
 * form message/delivery-status allows (7-bit): every character outside
 * QCHAR as \x{HEX}. */
static void put_final_recipient(FILE *f, const char *address)
{
	if (string_is_ascii(address) && !has_control(address)) {
		fprintf(f, "Final-Recipient: rfc822; %s\n", address);
		return;
	}
	fputs("Final-Recipient: utf-8; ", f);
	for (const unsigned char *p = (const unsigned char *)address; *p;) {
		unsigned cp;
		p += utf8_char(p, &cp);
		if (cp >= 0x21 && cp <= 0x7e && cp != '+' && cp != '=' && cp != '\\')
			fputc((int)cp, f);
		else
			fprintf(f, "\\x{%X}", cp);
	}
	fputc('\n', f);
}

static void put_status_part(FILE *f, const struct config *cfg, const struct envelope *env,
                            const struct bounce_item *items, size_t n)
{
	char arrival[64], now[64];

	rfc5322_date(env->arrival, arrival, sizeof arrival);
	rfc5322_date(time(NULL), now, sizeof now);
	fprintf(f, "Content-Description: Delivery report\n"
	           "Content-Type: message/delivery-status\n\n"
	           "Reporting-MTA: dns; %s\n"
	           "X-Mailsock-Queue-ID: %s\n"
	           "Arrival-Date: %s\n", cfg->hostname, env->id, arrival);
	for (size_t i = 0; i < n; i++) {
		const struct result *r = items[i].result;
		fputc('\n', f);
		put_final_recipient(f, items[i].rcpt);
		fprintf(f, "Action: failed\n"
		           "Status: %s\n", r->enh);
		if (r->mta[0])
			fprintf(f, "Remote-MTA: dns; %s\n", r->mta);
		if (r->remote)       /* only what a remote MTA said (RFC 3464 2.3.6) */
			fprintf(f, "Diagnostic-Code: smtp; %d %s %s\n", r->code, r->enh, r->text);
		else if (r->command) /* the command's exit and words: X-Unix, as pipe(8) */
			fprintf(f, "Diagnostic-Code: x-unix; %s\n", r->text);
		fprintf(f, "Last-Attempt-Date: %s\n", now);
	}
	fputc('\n', f);
}

/* The original message's header section, without our Return-Path line. */
static int put_original_headers(FILE *f, int msgfd)
{
	char *buf = malloc(HEADERS_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -1;
	while (len < HEADERS_MAX) {
		ssize_t n = pread(msgfd, buf + len, HEADERS_MAX - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	char *end = strstr(buf, "\n\n");
	size_t hlen = end ? (size_t)(end - buf) + 1 : len;
	const char *start = buf;
	if (strncmp(start, "Return-Path:", 12) == 0) {
		const char *nl = memchr(start, '\n', hlen);
		start = nl ? nl + 1 : start + hlen;
	}
	fprintf(f, "Content-Description: Undelivered Message Headers\n"
	           "Content-Type: text/rfc822-headers\n\n");
	fwrite(start, 1, hlen - (size_t)(start - buf), f);
	free(buf);
	return 0;
}

static int write_dsn(FILE *f, const struct config *cfg, const struct envelope *env, int msgfd,
                     const char *id, const struct bounce_item *items, size_t n)
{
	char date[64], boundary[UNIQUE_ID_MAX + CONFIG_NAME_MAX + 8];

	rfc5322_date(time(NULL), date, sizeof date);
	snprintf(boundary, sizeof boundary, "%s/%s", id, cfg->hostname);
	fprintf(f, "Return-Path: <>\n"
	           "Date: %s\n"
	           "From: Mail Delivery System <%s>\n"
	           "To: <%s>\n"
	           "Subject: Undelivered Mail Returned to Sender\n"
	           "Message-ID: <%s@%s>\n"
	           "Auto-Submitted: auto-replied\n"
	           "MIME-Version: 1.0\n"
	           "Content-Type: multipart/report; report-type=delivery-status;\n"
	           "\tboundary=\"%s\"\n\n"
	           "This is a MIME-encapsulated message.\n\n--%s\n",
	        date, cfg->bounce_sender, env->sender, id, cfg->hostname, boundary, boundary);
	put_human_part(f, cfg, env, items, n);
	fprintf(f, "--%s\n", boundary);
	put_status_part(f, cfg, env, items, n);
	fprintf(f, "--%s\n", boundary);
	if (put_original_headers(f, msgfd) < 0)
		return -1;
	fprintf(f, "\n--%s--\n", boundary);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* A DSN's targets that are not Maildirs (an alias of the sender that
 * forwards, or names a command or LMTP server): one queue entry. */
static int queue_targets(const struct config *cfg, int queuefd, const char *path, int fd,
                         const char *id, const struct alias_target *t, size_t n)
{
	struct envelope dsn;
	int rc = envelope_init(&dsn, id, "local", cfg->hostname, "");
	size_t queued = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (t[i].kind == ALIAS_MAILDIR)
			continue;
		rc = envelope_add_rcpt(&dsn, RCPT_PENDING, t[i].address);
		if (rc == 0 && t[i].kind != ALIAS_FORWARD)
			rc = envelope_set_via(&dsn, t[i].kind == ALIAS_PIPE ? "pipe" : "lmtp", t[i].via);
		queued++;
	}
	dsn.body_8bit = true;
	if (rc == 0 && queued > 0)
		rc = queue_enqueue(queuefd, queuefd, path, fd, &dsn);
	int saved = errno;
	envelope_free(&dsn);
	errno = saved;
	return rc;
}

/* The sender's targets by the session's rule (alias.h: aliases, then the
 * Maildir, then the catch-all), or its domain's postmaster's when the
 * sender has none: a bounce is never lost. */
static int deliver_local(const struct config *cfg, int queuefd, const char *path, int fd,
                         const char *id, const char *sender, uint64_t size)
{
	static struct alias_target t[ALIAS_TARGETS_MAX];
	char postmaster[ADDRESS_MAX + 1];
	struct aliases *al = cfg->aliases[0] ? aliases_load(cfg->aliases) : NULL;
	int rootfd = open(cfg->mail_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = 0;
	int rc = -1;

	if (rootfd < 0 || (cfg->aliases[0] && !al))
		goto out;
	enum alias_verdict v = alias_resolve(al, cfg, rootfd, sender, t, ALIAS_TARGETS_MAX, &n);
	if (v == ALIAS_UNKNOWN || v == ALIAS_BAD_NAME || v == ALIAS_LOOP) {
		snprintf(postmaster, sizeof postmaster, "postmaster@%s", strrchr(sender, '@') + 1);
		v = alias_resolve(al, cfg, rootfd, postmaster, t, ALIAS_TARGETS_MAX, &n);
	}
	if (v != ALIAS_OK) {
		errno = v == ALIAS_TEMPFAIL ? EAGAIN : EINVAL;
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (t[i].kind == ALIAS_MAILDIR)
			rc = maildir_deliver(queuefd, path, fd, rootfd, t[i].dir, id, cfg->hostname, size);
	if (rc == 0)
		rc = queue_targets(cfg, queuefd, path, fd, id, t, n);
out:;
	int saved = errno;
	aliases_free(al);
	close_quietly(rootfd);
	errno = saved;
	return rc;
}

/* Any octet >= 0x80 in the file (the original headers and remote replies
 * may carry some): then its envelope must say BODY=8BITMIME. */
static bool file_is_8bit(int fd)
{
	unsigned char buf[8192];
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0;          /* unreadable: claiming 8-bit is the safe side */
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] >= 0x80)
				return true;
		off += n;
	}
}

/* A DSN for a foreign sender is a queue entry like the session's: the null
 * sender, one recipient (doc/queue.md).  For a local sender when
 * local_delivery names an LMTP server, the recipient gets that server's
 * rcpt-via line, as the session's would. */
static int deliver_queue(const struct config *cfg, int queuefd, const char *path, int fd,
                         const char *id, const char *sender, bool lmtp)
{
	struct envelope dsn;
	bool body_8bit = file_is_8bit(fd);
	int rc = envelope_init(&dsn, id, "local", cfg->hostname, "");

	dsn.body_8bit = body_8bit;
	dsn.smtputf8 = !string_is_ascii(sender);
	if (rc == 0)
		rc = envelope_add_rcpt(&dsn, RCPT_PENDING, sender);
	if (rc == 0 && lmtp) {
		size_t size = strlen("lmtp ") + strlen(cfg->local_delivery) + 1;
		char *via = malloc(size);
		if (via)
			snprintf(via, size, "lmtp %s", cfg->local_delivery);
		dsn.rcpts[0].via = via;
		rc = via ? 0 : -1;
	}
	if (rc == 0)
		rc = queue_enqueue(queuefd, queuefd, path, fd, &dsn);
	int saved = errno;
	envelope_free(&dsn);
	errno = saved;
	return rc;
}

static bool sender_is_local(const struct config *cfg, const char *sender)
{
	const char *at = strrchr(sender, '@');

	return at && config_is_local_domain(cfg, at + 1);
}

/* A stdio stream on a copy of fd (fd stays open for fsync and links). */
static FILE *stream_of(int fd)
{
	int copy = dup(fd);

	if (copy < 0)
		return NULL;
	FILE *f = fdopen(copy, "w");
	if (!f)
		close_quietly(copy);
	return f;
}

int bounce_send(const struct config *cfg, int queuefd, const struct envelope *env, int msgfd,
                const struct bounce_item *items, size_t n)
{
	char id[UNIQUE_ID_MAX], path[UNIQUE_ID_MAX + 16];
	struct stat st;

	unique_id(id, sizeof id);
	int fd = queue_create_tmp(queuefd, id, path, sizeof path);
	if (fd < 0)
		return -1;
	FILE *f = stream_of(fd);
	int rc = f ? write_dsn(f, cfg, env, msgfd, id, items, n) : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc == 0 && (fsync(fd) < 0 || fstat(fd, &st) < 0))
		rc = -1;
	bool local = sender_is_local(cfg, env->sender);
	if (rc == 0 && local && !cfg->local_delivery[0])
		rc = deliver_local(cfg, queuefd, path, fd, id, env->sender, (uint64_t)st.st_size);
	else if (rc == 0)
		rc = deliver_queue(cfg, queuefd, path, fd, id, env->sender, local);
	int saved = errno;
	close_quietly(fd);
	unlinkat(queuefd, path, 0);
	log_event(rc == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "bounce", "to", env->sender,
	          "dsn", id, "result", rc == 0 ? "stored" : strerror(saved), NULL);
	errno = saved;
	return rc;
}
