/* log.c - one line per event, "key=value", the session id first. */
#include "log.h"
#include "fsutil.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#define LINE_MAX_OCTETS 2048
#define MAX_FIELDS 24

enum sink { SINK_STDERR, SINK_JOURNAL, SINK_SYSLOG };

static struct {
	const char *program;
	enum log_level level;
	enum sink sink;
	int (*journal_sendv)(const struct iovec *iov, int n);
	char context_key[32];
	char context_value[64];
} logger = { "mailsock", LOG_LEVEL_INFO, SINK_STDERR, NULL, "", "" };

/* systemd sets JOURNAL_STREAM=dev:inode of the stream it connected to our
 * stderr; only when that still is our stderr do we talk to the journal. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

static bool stderr_is_client_socket(void)
{
	struct stat in, err;

	if (fstat(0, &in) < 0 || fstat(2, &err) < 0)
		return false;
	return S_ISSOCK(err.st_mode) && in.st_dev == err.st_dev && in.st_ino == err.st_ino;
}

void log_early_error(const char *program, const char *message)
{
	if (stderr_is_client_socket()) {
		openlog(program, LOG_PID, LOG_MAIL);
		syslog(LOG_ERR, "%s", message);
		closelog();
	} else {
		fprintf(stderr, "%s: %s\n", program, message);
	}
}

static bool open_journal(void)
{
	void *lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return false;
	*(void **)&logger.journal_sendv = dlsym(lib, "sd_journal_sendv");
	return logger.journal_sendv != NULL;
}

void log_init(const char *program, enum log_level level)
{
	logger.program = program;
	logger.level = level;
	if (stderr_is_journal() && open_journal()) {
		logger.sink = SINK_JOURNAL;
	} else if (stderr_is_client_socket()) {
		logger.sink = SINK_SYSLOG;
		openlog(program, LOG_PID, LOG_MAIL);
	} else {
		logger.sink = SINK_STDERR;
	}
}

static void copy_bounded(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void log_set_context(const char *key, const char *value)
{
	copy_bounded(logger.context_key, sizeof logger.context_key, key);
	copy_bounded(logger.context_value, sizeof logger.context_value, value);
}

struct line {
	char buf[LINE_MAX_OCTETS];
	size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof l->buf - 1 - l->len)
		n = sizeof l->buf - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static bool needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '=')
			return true;
	return false;
}

/* Append v with '"', '\\', control characters and non-ASCII octets escaped:
 * no CR, LF or control character from a client is ever written raw. */
static void put_escaped(struct line *l, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char esc[5];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else if (*p < ' ' || *p >= 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
			put(l, esc, 4);
		} else {
			put(l, (const char *)p, 1);
		}
	}
}

/* A value, in quotes when it is empty or holds a space, '=' or escapes. */
static void put_value(struct line *l, const char *v)
{
	if (!needs_quotes(v)) {
		put(l, v, strlen(v));
		return;
	}
	put(l, "\"", 1);
	put_escaped(l, v);
	put(l, "\"", 1);
}

static void put_pair(struct line *l, const char *key, const char *value)
{
	if (l->len > 0)
		put(l, " ", 1);
	put(l, key, strlen(key));
	put(l, "=", 1);
	put_value(l, value);
}

/* Journal field name of a log key: upper case, with two well-known names. */
static void field_name(const char *key, char *out, size_t size)
{
	if (strcmp(key, "session") == 0)
		key = "session_id";
	else if (strcmp(key, "msgid") == 0)
		key = "message_id";
	size_t i = 0;
	for (; key[i] && i + 1 < size; i++)
		out[i] = (key[i] >= 'a' && key[i] <= 'z') ? (char)(key[i] - 32) : key[i];
	out[i] = '\0';
}

struct fields {
	struct line text[MAX_FIELDS];
	struct iovec iov[MAX_FIELDS];
	int n;
};

static void add_field(struct fields *f, const char *key, const char *value)
{
	if (f->n >= MAX_FIELDS)
		return;
	struct line *l = &f->text[f->n];
	char name[64];
	field_name(key, name, sizeof name);
	l->len = 0;
	put(l, name, strlen(name));
	put(l, "=", 1);
	put_escaped(l, value);
	f->iov[f->n].iov_base = l->buf;
	f->iov[f->n].iov_len = l->len;
	f->n++;
}

static int syslog_priority(enum log_level level)
{
	return level == LOG_LEVEL_ERROR ? LOG_ERR : level == LOG_LEVEL_INFO ? LOG_INFO : LOG_DEBUG;
}

static void send_journal(enum log_level level, const struct line *line, struct fields *f)
{
	char priority[16];

	snprintf(priority, sizeof priority, "%d", syslog_priority(level));
	add_field(f, "priority", priority);
	add_field(f, "syslog_identifier", logger.program);
	char message[LINE_MAX_OCTETS + 16];
	snprintf(message, sizeof message, "MESSAGE=%.*s", (int)line->len, line->buf);
	if (f->n < MAX_FIELDS) {
		f->iov[f->n].iov_base = message;
		f->iov[f->n].iov_len = strlen(message);
		f->n++;
	}
	logger.journal_sendv(f->iov, f->n);
}

void log_event(enum log_level level, const char *event, ...)
{
	static struct fields fields;     /* large: keep it off the stack */
	struct line line = { .len = 0 };
	va_list ap;

	if (level > logger.level)
		return;
	fields.n = 0;
	if (logger.context_key[0]) {
		put_pair(&line, logger.context_key, logger.context_value);
		add_field(&fields, logger.context_key, logger.context_value);
	}
	put_pair(&line, "event", event);
	add_field(&fields, "event", event);
	va_start(ap, event);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		const char *value = va_arg(ap, const char *);
		put_pair(&line, key, value ? value : "");
		add_field(&fields, key, value ? value : "");
	}
	va_end(ap);
	line.buf[line.len] = '\0';

	switch (logger.sink) {
	case SINK_JOURNAL:
		send_journal(level, &line, &fields);
		break;
	case SINK_SYSLOG:
		syslog(syslog_priority(level), "%s", line.buf);
		break;
	case SINK_STDERR: {
		char out[LINE_MAX_OCTETS + 64];
		int n = snprintf(out, sizeof out, "%s: %s\n", logger.program, line.buf);
		if (n > 0)
			(void)write_all(2, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
		break;
	}
	}
}
