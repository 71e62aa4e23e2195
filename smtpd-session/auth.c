/* auth.c - the back ends of AUTH (RFC 4954): a file of crypt(3) hashes, or
 * Dovecot's auth-client socket (its "auth protocol", version 1).
 *
 * Timing: a login that is not in the file still costs one crypt(3) of the
 * password, with the settings (scheme, cost, salt length) of the file's
 * first hash, so that an unknown login and a wrong password take about
 * the same time.  Hashes are compared in constant time.  Every buffer that
 * held a password is wiped before it is given back. */
#include "auth.h"
#include "log.h"
#include "sasl.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DOVECOT_TIMEOUT 15         /* seconds for each read or write */
#define DOVECOT_LINE_MAX 4096

/* Hashed when the file has no usable hash to copy the settings of. */
static const char fallback_setting[] = "$y$j9T$mailsock.dummy.salt";

bool auth_configured(const struct config *cfg)
{
	return cfg->auth_users[0] != '\0' || cfg->auth_dovecot[0] != '\0';
}

/* ---- auth_users: login:hash lines ------------------------------------- */

/* Equal strings of the same length, in a time that depends on len only. */
static bool equal_constant_time(const char *a, const char *b, size_t len)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Does password hash to hash?  A hash crypt(3) cannot use (a locked "!"
 * or "*" entry, an unknown scheme) matches nothing. */
static bool hash_matches(const char *password, const char *hash)
{
	static struct crypt_data data;      /* 32 KiB: not on the stack */
	size_t len = strlen(hash);
	bool ok = false;

	memset(&data, 0, sizeof data);
	/* crypt_rn: libxcrypt's, NULL on failure; and not crypt_r, whose
	 * AddressSanitizer interceptor calls a null pointer on Debian 12 */
	const char *out = crypt_rn(password, hash, &data, (int)sizeof data);
	if (out && out[0] == '$' && strlen(out) == len)
		ok = equal_constant_time(out, hash, len);
	explicit_bzero(&data, sizeof data);
	return ok;
}

/* Split "login:hash" (newline removed); false for comments and junk. */
static bool users_line(char *line, char **login, char **hash)
{
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '#' || line[0] == '\0')
		return false;
	char *colon = strchr(line, ':');
	if (!colon || colon == line)
		return false;
	*colon = '\0';
	*login = line;
	*hash = colon + 1;
	(*hash)[strcspn(*hash, ":")] = '\0';    /* passwd-style trailing fields */
	return true;
}

static enum auth_verdict check_users_file(const char *path, const char *login, const char *password)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		log_event(LOG_LEVEL_ERROR, "auth-unavailable", "path", path, "error", strerror(errno), NULL);
		return AUTH_UNAVAILABLE;
	}
	char *line = NULL, *hash = NULL, *l, *h;
	char setting[256] = "";
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		if (!users_line(line, &l, &h))
			continue;
		if (setting[0] == '\0' && h[0] == '$' && strlen(h) < sizeof setting)
			memcpy(setting, h, strlen(h) + 1);
		if (strcmp(l, login) == 0) {
			hash = strdup(h);
			break;
		}
	}
	bool read_error = ferror(f);
	fclose(f);
	free(line);
	if (read_error) {
		free(hash);
		log_event(LOG_LEVEL_ERROR, "auth-unavailable", "path", path, "error", "read error", NULL);
		return AUTH_UNAVAILABLE;
	}
	if (!hash) {
		/* the same work as for a known login, and no match */
		hash_matches(password, setting[0] ? setting : fallback_setting);
		return AUTH_DENIED;
	}
	bool ok = hash_matches(password, hash);
	free(hash);
	return ok ? AUTH_GRANTED : AUTH_DENIED;
}

/* ---- auth_dovecot: Dovecot's auth-client protocol ---------------------- */

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

struct reader {
	int fd;
	char buf[DOVECOT_LINE_MAX];
	size_t len;
};

/* The next line (without LF) into line; false on EOF, error or timeout. */
static bool read_line(struct reader *r, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			if (n >= size)
				return false;
			memcpy(line, r->buf, n);
			line[n] = '\0';
			r->len -= n + 1;
			memmove(r->buf, nl + 1, r->len);
			return true;
		}
		if (r->len == sizeof r->buf)
			return false;
		ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		r->len += (size_t)got;
	}
}

static int dovecot_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = DOVECOT_TIMEOUT };

	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		goto fail;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		if (errno != EINTR)
			goto fail;
	}
fail:;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* The handshake: our VERSION and CPID; the server's lines up to DONE. */
static bool dovecot_handshake(struct reader *r)
{
	char line[DOVECOT_LINE_MAX];
	int n = snprintf(line, sizeof line, "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());

	if (!write_all(r->fd, line, (size_t)n))
		return false;
	bool version_ok = false;
	while (read_line(r, line, sizeof line)) {
		if (strncmp(line, "VERSION\t1\t", 10) == 0)
			version_ok = true;
		else if (strcmp(line, "DONE") == 0)
			return version_ok;
	}
	return false;
}

/* Dovecot's OK parameters: "nologin" (the account may not log in),
 * "proxy" or "host=" (it lives on another server) are no login here. */
static bool ok_allows_login(const char *params)
{
	for (const char *p = params; *p;) {
		size_t len = strcspn(p, "\t");
		if ((len == 7 && strncmp(p, "nologin", 7) == 0) ||
		    (len == 5 && strncmp(p, "proxy", 5) == 0) || strncmp(p, "proxy=", 6) == 0 ||
		    strncmp(p, "host=", 5) == 0)
			return false;
		p += len + (p[len] == '\t');
	}
	return true;
}

/* "AUTH id PLAIN service=smtp [secured] rip=ADDR resp=BASE64", one answer. */
static enum auth_verdict dovecot_ask(struct reader *r, const char *login, const char *password,
                                     bool secured, const char *peer)
{
	unsigned char triple[2 * SASL_FIELD_MAX + 2];
	char resp[sizeof triple / 3 * 4 + 8];
	char line[DOVECOT_LINE_MAX];
	size_t ll = strlen(login), pl = strlen(password);
	enum auth_verdict v = AUTH_UNAVAILABLE;

	triple[0] = '\0';                                /* no authzid */
	memcpy(triple + 1, login, ll + 1);               /* its NUL separates */
	memcpy(triple + 2 + ll, password, pl);
	size_t rl = sasl_base64_encode(triple, ll + pl + 2, resp, sizeof resp);
	bool remote = strcmp(peer, "local") != 0;
	int n = snprintf(line, sizeof line, "AUTH\t1\tPLAIN\tservice=smtp\t%s%s%s%sresp=%s\n",
	                 secured ? "secured\t" : "", remote ? "rip=" : "", remote ? peer : "",
	                 remote ? "\t" : "", resp);
	if (rl > 0 && n > 0 && (size_t)n < sizeof line && write_all(r->fd, line, (size_t)n) &&
	    read_line(r, line, sizeof line)) {
		if (strncmp(line, "OK\t1\t", 5) == 0 || strcmp(line, "OK\t1") == 0)
			v = ok_allows_login(line + 4) ? AUTH_GRANTED : AUTH_DENIED;
		else if (strncmp(line, "FAIL\t1", 6) == 0 && !strstr(line, "\ttemp"))
			v = AUTH_DENIED;
	}
	explicit_bzero(triple, sizeof triple);
	explicit_bzero(resp, sizeof resp);
	explicit_bzero(line, sizeof line);
	return v;
}

static enum auth_verdict check_dovecot(const char *path, const char *login, const char *password,
                                       bool secured, const char *peer)
{
	static struct reader r;
	enum auth_verdict v = AUTH_UNAVAILABLE;

	r.len = 0;
	r.fd = dovecot_connect(path);
	if (r.fd < 0) {
		log_event(LOG_LEVEL_ERROR, "auth-unavailable", "path", path, "error", strerror(errno), NULL);
		return v;
	}
	if (dovecot_handshake(&r))
		v = dovecot_ask(&r, login, password, secured, peer);
	if (v == AUTH_UNAVAILABLE)
		log_event(LOG_LEVEL_ERROR, "auth-unavailable", "path", path, "error",
		          "no answer from Dovecot", NULL);
	close(r.fd);
	explicit_bzero(r.buf, sizeof r.buf);
	return v;
}

enum auth_verdict auth_check(const struct config *cfg, const char *login, const char *password,
                             bool secured, const char *peer)
{
	if (cfg->auth_users[0])
		return check_users_file(cfg->auth_users, login, password);
	if (cfg->auth_dovecot[0])
		return check_dovecot(cfg->auth_dovecot, login, password, secured, peer);
	return AUTH_UNAVAILABLE;
}
