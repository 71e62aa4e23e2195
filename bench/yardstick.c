/*
 * yardstick: the smallest per-connection SMTP server that does the work
 * mailsock's smtpd-session must do, so that the benchmark can show how
 * close a server comes to the physical limit of fork+exec+fsync.
 *
 * One session on fd 0/1, then exit. Speaks only what smtp-source sends:
 * greeting, HELO/EHLO, MAIL, RCPT, DATA (only CRLF.CRLF ends it), RSET,
 * NOOP, QUIT. Each message is written once (LF line endings, dot-unstuffed,
 * Return-Path and Received headers) to MAIL_ROOT/<domain>/<user>/tmp of the
 * first recipient, fsynced, linked into new/ of every recipient, and each
 * new/ directory fsynced before the 250. A recipient whose Maildir does not
 * exist gets 550. No configuration, no logging, no limits beyond buffers.
 *
 * usage: yardstick MAIL_ROOT [HOSTNAME]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAXRCPT 100
#define PATHLEN 512

static const char *root, *host = "yardstick";
static char inbuf[65536], outbuf[4096];
static size_t inpos, inlen, outlen;
static char from[PATHLEN], rcpt[MAXRCPT][PATHLEN];
static int nrcpt, helo;
static unsigned counter;

static void flush(void)
{
	size_t off = 0;
	while (off < outlen) {
		ssize_t n = write(1, outbuf + off, outlen - off);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			_exit(1);
		}
		off += (size_t)n;
	}
	outlen = 0;
}

static void out(const char *s)
{
	size_t n = strlen(s);
	if (outlen + n > sizeof outbuf)
		flush();
	memcpy(outbuf + outlen, s, n);
	outlen += n;
}

static int getbyte(void)
{
	if (inpos == inlen) {
		ssize_t n;
		flush(); /* about to wait for the client: send what we have */
		do
			n = read(0, inbuf, sizeof inbuf);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return -1;
		inpos = 0;
		inlen = (size_t)n;
	}
	return (unsigned char)inbuf[inpos++];
}

/* a command line without its CRLF; 0 when too long, -1 at EOF */
static int getline_(char *line, size_t size)
{
	size_t n = 0;
	int c, ok = 1;
	while ((c = getbyte()) != '\n') {
		if (c < 0)
			return -1;
		if (n + 1 < size)
			line[n++] = (char)c;
		else
			ok = 0;
	}
	if (n && line[n - 1] == '\r')
		n--;
	line[n] = 0;
	return ok;
}

/* the address inside <...> after "MAIL FROM:" or "RCPT TO:" */
static int address(const char *arg, char *dst)
{
	const char *lt = strchr(arg, '<'), *gt;
	if (!lt || !(gt = strchr(lt, '>')) || gt - lt - 1 >= PATHLEN)
		return 0;
	memcpy(dst, lt + 1, (size_t)(gt - lt - 1));
	dst[gt - lt - 1] = 0;
	return 1;
}

/* MAIL_ROOT/domain/user for user@domain, lower-cased; 0 if no Maildir */
static int maildir(const char *addr, char *dir)
{
	char a[PATHLEN], *at, *p;
	struct stat st;
	snprintf(a, sizeof a, "%s", addr);
	for (p = a; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	at = strrchr(a, '@');
	if (!at || at == a || strchr(a, '/') || a[0] == '.' || strstr(a, ".."))
		return 0;
	*at = 0;
	if (snprintf(dir, PATHLEN, "%s/%s/%s", root, at + 1, a) >= PATHLEN)
		return 0;
	char nd[PATHLEN + 8];
	snprintf(nd, sizeof nd, "%s/new", dir);
	return stat(nd, &st) == 0 && S_ISDIR(st.st_mode);
}

static int fsyncdir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), r;
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* the body until CRLF.CRLF, into fd; 1 ok, 0 write error, -1 EOF */
static int body(int fd)
{
	static char buf[65536];
	size_t n = 0;
	int c, bol = 1, ok = 1;
	/* states: bol = at start of line; after '.', CR at bol: check end */
	for (;;) {
		if ((c = getbyte()) < 0)
			return -1;
		if (bol && c == '.') {
			if ((c = getbyte()) < 0)
				return -1;
			if (c == '\r') { /* "\r\n.\r" : end if "\n" follows */
				if ((c = getbyte()) < 0)
					return -1;
				if (c == '\n')
					break;
				/* ".\rX": keep the CR as data */
				buf[n++] = '\r';
			}
			/* "." + other: the dot was stuffing (or a lone dot) */
		}
		bol = 0;
		if (c == '\r') {
			int d = getbyte();
			if (d < 0)
				return -1;
			if (d == '\n') {
				c = '\n';
				bol = 1;
			} else {
				buf[n++] = '\r';
				inpos--; /* look at d again */
				continue;
			}
		}
		buf[n++] = (char)c;
		if (n >= sizeof buf - 4) {
			if (ok && write(fd, buf, n) != (ssize_t)n)
				ok = 0;
			n = 0;
		}
	}
	if (n && ok && write(fd, buf, n) != (ssize_t)n)
		ok = 0;
	return ok;
}

static void data(void)
{
	char dirs[MAXRCPT][PATHLEN], tmp[PATHLEN + 96], name[80], hdr[PATHLEN * 2];
	struct timeval tv;
	int i, fd, r, ok = 1;

	for (i = 0; i < nrcpt; i++)
		if (!maildir(rcpt[i], dirs[i]))
			ok = 0;
	gettimeofday(&tv, 0);
	snprintf(name, sizeof name, "%ld.M%ldP%dQ%u.%s", (long)tv.tv_sec,
		 (long)tv.tv_usec, (int)getpid(), ++counter, host);
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", dirs[0], name);
	fd = ok ? open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
	out("354 go ahead\r\n");
	if (fd >= 0) {
		int hl = snprintf(hdr, sizeof hdr,
				  "Return-Path: <%s>\nReceived: from client by %s "
				  "with SMTP; %ld\n",
				  from, host, (long)tv.tv_sec);
		if (write(fd, hdr, (size_t)hl) != hl)
			ok = 0;
	}
	r = body(fd);
	if (r < 0)
		_exit(0);
	if (fd < 0 || !r || !ok || fsync(fd) || close(fd)) {
		if (fd >= 0)
			unlink(tmp);
		out("451 local error\r\n");
		return;
	}
	for (i = 0; i < nrcpt; i++) {
		char dst[PATHLEN + 96];
		snprintf(dst, sizeof dst, "%s/new/%s", dirs[i], name);
		if (link(tmp, dst) && errno != EEXIST)
			ok = 0;
	}
	unlink(tmp);
	for (i = 0; i < nrcpt && ok; i++) {
		char nd[PATHLEN + 8];
		int j, seen = 0;
		for (j = 0; j < i; j++)
			if (!strcmp(dirs[i], dirs[j]))
				seen = 1;
		snprintf(nd, sizeof nd, "%s/new", dirs[i]);
		if (!seen && fsyncdir(nd))
			ok = 0;
	}
	out(ok ? "250 ok\r\n" : "451 local error\r\n");
}

int main(int argc, char **argv)
{
	char line[1024], greet[300];

	if (argc < 2) {
		fprintf(stderr, "usage: yardstick MAIL_ROOT [HOSTNAME]\n");
		return 2;
	}
	root = argv[1];
	if (argc > 2)
		host = argv[2];
	snprintf(greet, sizeof greet, "220 %s ESMTP\r\n", host);
	out(greet);
	for (;;) {
		int r = getline_(line, sizeof line);
		if (r < 0)
			break;
		if (r == 0) {
			out("500 line too long\r\n");
		} else if (!strncasecmp(line, "HELO", 4) || !strncasecmp(line, "EHLO", 4)) {
			helo = 1;
			nrcpt = 0;
			from[0] = 0;
			snprintf(greet, sizeof greet, "250 %s\r\n", host);
			out(greet);
		} else if (!strncasecmp(line, "MAIL FROM:", 10)) {
			if (!helo)
				out("503 HELO first\r\n");
			else if (!address(line + 10, from))
				out("501 syntax\r\n");
			else {
				nrcpt = 0;
				out("250 ok\r\n");
			}
		} else if (!strncasecmp(line, "RCPT TO:", 8)) {
			char dir[PATHLEN];
			if (nrcpt >= MAXRCPT)
				out("452 too many recipients\r\n");
			else if (!address(line + 8, rcpt[nrcpt]))
				out("501 syntax\r\n");
			else if (!maildir(rcpt[nrcpt], dir))
				out("550 no such user\r\n");
			else {
				nrcpt++;
				out("250 ok\r\n");
			}
		} else if (!strcasecmp(line, "DATA")) {
			if (!nrcpt)
				out("503 RCPT first\r\n");
			else
				data();
			nrcpt = 0;
		} else if (!strcasecmp(line, "RSET")) {
			nrcpt = 0;
			out("250 ok\r\n");
		} else if (!strcasecmp(line, "NOOP")) {
			out("250 ok\r\n");
		} else if (!strcasecmp(line, "QUIT")) {
			out("221 bye\r\n");
			break;
		} else {
			out("502 unknown command\r\n");
		}
	}
	flush();
	return 0;
}
