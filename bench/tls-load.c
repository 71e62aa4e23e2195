/* tls-load.c — STARTTLS load client for bench/run (smtp-source has no TLS).
 *
 *   tls-load -s SESSIONS -m MESSAGES [-d PER_CONN] [-l BYTES] [-p] [-w MS] HOST:PORT
 *
 * Forks SESSIONS clients that share MESSAGES between them.  Each connection:
 * greeting, EHLO, STARTTLS (RFC 3207), a full TLS handshake (no session
 * reuse, certificate not verified), EHLO again, then PER_CONN messages
 * (default 1) of BYTES octets (default 1024) — MAIL, RCPT, DATA, body, "." —
 * each waiting for its reply (no PIPELINING), then QUIT.  -p: plaintext,
 * the same dialogue without STARTTLS (to see the client's own cost).
 * -w MS: wait MS milliseconds before each QUIT, so that bench/run can read
 * the session's memory in /proc while it is still there.
 * Exit 0 when every message got 250, 1 otherwise (the first failure on
 * stderr).  The client's CPU is the same for every server it is run
 * against, so the ratios of bench/run compare the servers.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t len, off;
};

static const char *who = "tls-load";
static long wait_ms;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", who);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;
		if (c->ssl) {
			int r = SSL_write(c->ssl, p, (int)n);
			if (r <= 0)
				die("SSL_write failed");
			w = r;
		} else {
			w = write(c->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("write: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
}

static void puts_(struct conn *c, const char *s) { put(c, s, strlen(s)); }

static int fill(struct conn *c)
{
	ssize_t r;
	do {
		if (c->ssl) {
			int n = SSL_read(c->ssl, c->buf, sizeof c->buf);
			r = n > 0 ? n : -1;
		} else {
			r = read(c->fd, c->buf, sizeof c->buf);
		}
	} while (r < 0 && !c->ssl && errno == EINTR);
	if (r <= 0)
		return -1;
	c->len = (size_t)r;
	c->off = 0;
	return 0;
}

/* One reply (RFC 5321 4.2: "ddd-" lines, then "ddd "): its code, or -1. */
static int reply(struct conn *c)
{
	char line[1024];
	for (;;) {
		size_t n = 0;
		for (;;) {
			if (c->off == c->len && fill(c) < 0)
				return -1;
			char ch = c->buf[c->off++];
			if (ch == '\n')
				break;
			if (n < sizeof line - 1)
				line[n++] = ch;
		}
		line[n] = '\0';
		if (n < 4 || line[3] != '-')
			return n >= 3 ? atoi(line) : -1;
	}
}

static void expect(struct conn *c, int want, const char *what)
{
	int code = reply(c);
	if (code != want)
		die("%s: got %d, want %d", what, code, want);
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("bad address %s", host);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		die("TCP_NODELAY: %s", strerror(errno));
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		if (errno != EINTR)
			die("connect: %s", strerror(errno));
	return fd;
}

static void session(SSL_CTX *ctx, const char *host, int port, int msgs, const char *body)
{
	struct conn c = { .fd = dial(host, port) };
	expect(&c, 220, "greeting");
	puts_(&c, "EHLO client.test\r\n");
	expect(&c, 250, "EHLO");
	if (ctx) {
		puts_(&c, "STARTTLS\r\n");
		expect(&c, 220, "STARTTLS");
		if (c.off != c.len)
			die("octets after 220 to STARTTLS");
		c.ssl = SSL_new(ctx);
		if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1 || SSL_connect(c.ssl) != 1) {
			ERR_print_errors_fp(stderr);
			die("TLS handshake failed");
		}
		puts_(&c, "EHLO client.test\r\n");   /* RFC 3207 4.2: state is reset */
		expect(&c, 250, "EHLO after STARTTLS");
	}
	for (int i = 0; i < msgs; i++) {
		puts_(&c, "MAIL FROM:<bench@client.test>\r\n");
		expect(&c, 250, "MAIL");
		puts_(&c, "RCPT TO:<bench@bench.test>\r\n");
		expect(&c, 250, "RCPT");
		puts_(&c, "DATA\r\n");
		expect(&c, 354, "DATA");
		puts_(&c, body);
		expect(&c, 250, "end of data");
	}
	if (wait_ms > 0) {
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	puts_(&c, "QUIT\r\n");
	expect(&c, 221, "QUIT");
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(c.fd);
}

static char *make_body(long bytes)
{
	const char *head = "From: <bench@client.test>\r\nTo: <bench@bench.test>\r\nSubject: tls bench\r\n\r\n";
	size_t cap = strlen(head) + (size_t)bytes + 160;
	char *b = malloc(cap);
	if (!b)
		die("out of memory");
	size_t n = strlen(head);
	memcpy(b, head, n);
	while ((long)n < bytes) {   /* 78 x's and CRLF: an 80-octet line */
		memset(b + n, 'x', 78);
		memcpy(b + n + 78, "\r\n", 2);
		n += 80;
	}
	memcpy(b + n, ".\r\n", 4);
	return b;
}

/* Client k of s: its share of m messages, per connections of d. */
static void client(int k, int s, int m, int d, SSL_CTX *ctx, const char *host, int port, const char *body)
{
	int mine = m / s + (k < m % s);
	while (mine > 0) {
		int n = mine < d ? mine : d;
		session(ctx, host, port, n, body);
		mine -= n;
	}
}

int main(int argc, char **argv)
{
	int s = 1, m = 1, d = 1, plain = 0, opt;
	long len = 1024;
	while ((opt = getopt(argc, argv, "s:m:d:l:pw:")) != -1) {
		switch (opt) {
		case 's': s = atoi(optarg); break;
		case 'm': m = atoi(optarg); break;
		case 'd': d = atoi(optarg); break;
		case 'l': len = atol(optarg); break;
		case 'p': plain = 1; break;
		case 'w': wait_ms = atol(optarg); break;
		default: die("usage: tls-load -s N -m N [-d N] [-l BYTES] [-p] [-w MS] HOST:PORT");
		}
	}
	if (optind != argc - 1 || s < 1 || m < 1 || d < 1 || len < 0)
		die("usage: tls-load -s N -m N [-d N] [-l BYTES] [-p] [-w MS] HOST:PORT");
	char *host = argv[optind], *colon = strrchr(host, ':');
	if (!colon)
		die("HOST:PORT expected");
	*colon = '\0';
	int port = atoi(colon + 1);
	char *body = make_body(len);

	SSL_CTX *ctx = NULL;
	if (!plain) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (!ctx)
			die("SSL_CTX_new failed");
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);   /* a bench cert */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	for (int k = 0; k < s; k++) {
		pid_t p = fork();
		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p == 0) {
			who = "tls-load client";
			client(k, s, m, d, ctx, host, port, body);
			_exit(0);
		}
	}
	int bad = 0, st;
	for (;;) {
		pid_t p = wait(&st);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	return bad;
}
