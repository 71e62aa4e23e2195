/* tls.c - TLS over a common/stream with OpenSSL (see tls.h). */
#include "tls.h"
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <openssl/opensslv.h>

/* ---- OpenSSL, loaded at first need ----------------------------------------
 *
 * Linking libssl would make every process load libssl and libcrypto and
 * relocate them: 3.2 M instructions, 13 times a whole plaintext session
 * (callgrind).  So the functions below are looked up in libssl.so.3 (which
 * brings libcrypto) by dlopen(3) when TLS is first needed: at STARTTLS, at
 * connect with tls_wrapper, once in the listening parent before it forks,
 * or when the relay first meets a server that offers STARTTLS.  Each name
 * below then stands for the pointer found (OpenSSL's own macros, such as
 * SSL_CTX_set_min_proto_version, expand to SSL_CTX_ctrl and so to it). */
_Static_assert(OPENSSL_VERSION_MAJOR == 3, "libssl.so.3 is the library these headers describe");
#define LIBSSL_SONAME "libssl.so.3"

#define OPENSSL_FUNCTIONS(X) \
	X(ERR_clear_error) \
	X(ERR_error_string_n) \
	X(ERR_peek_last_error) \
	X(SSL_CIPHER_get_name) \
	X(SSL_CTX_check_private_key) \
	X(SSL_CTX_ctrl) \
	X(SSL_CTX_free) \
	X(SSL_CTX_load_verify_locations) \
	X(SSL_CTX_new) \
	X(SSL_CTX_set_cipher_list) \
	X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_num_tickets) \
	X(SSL_CTX_set_options) \
	X(SSL_CTX_set_verify) \
	X(SSL_CTX_use_PrivateKey_file) \
	X(SSL_CTX_use_certificate_chain_file) \
	X(SSL_accept) \
	X(SSL_connect) \
	X(SSL_ctrl) \
	X(SSL_free) \
	X(SSL_get0_param) \
	X(SSL_get_current_cipher) \
	X(SSL_get_error) \
	X(SSL_get_verify_result) \
	X(SSL_get_version) \
	X(SSL_is_init_finished) \
	X(SSL_new) \
	X(SSL_pending) \
	X(SSL_read_ex) \
	X(SSL_set1_host) \
	X(SSL_set_rfd) \
	X(SSL_set_wfd) \
	X(SSL_shutdown) \
	X(SSL_write_ex) \
	X(TLS_client_method) \
	X(TLS_server_method) \
	X(X509_VERIFY_PARAM_set1_ip_asc) \
	X(X509_verify_cert_error_string)

#define DECLARE(f) static __typeof__(&f) dl_##f;
OPENSSL_FUNCTIONS(DECLARE)
#undef DECLARE

#define ERR_clear_error (*dl_ERR_clear_error)
#define ERR_error_string_n (*dl_ERR_error_string_n)
#define ERR_peek_last_error (*dl_ERR_peek_last_error)
#define SSL_CIPHER_get_name (*dl_SSL_CIPHER_get_name)
#define SSL_CTX_check_private_key (*dl_SSL_CTX_check_private_key)
#define SSL_CTX_ctrl (*dl_SSL_CTX_ctrl)
#define SSL_CTX_free (*dl_SSL_CTX_free)
#define SSL_CTX_load_verify_locations (*dl_SSL_CTX_load_verify_locations)
#define SSL_CTX_new (*dl_SSL_CTX_new)
#define SSL_CTX_set_cipher_list (*dl_SSL_CTX_set_cipher_list)
#define SSL_CTX_set_default_verify_paths (*dl_SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_num_tickets (*dl_SSL_CTX_set_num_tickets)
#define SSL_CTX_set_options (*dl_SSL_CTX_set_options)
#define SSL_CTX_set_verify (*dl_SSL_CTX_set_verify)
#define SSL_CTX_use_PrivateKey_file (*dl_SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate_chain_file (*dl_SSL_CTX_use_certificate_chain_file)
#define SSL_accept (*dl_SSL_accept)
#define SSL_connect (*dl_SSL_connect)
#define SSL_ctrl (*dl_SSL_ctrl)
#define SSL_free (*dl_SSL_free)
#define SSL_get0_param (*dl_SSL_get0_param)
#define SSL_get_current_cipher (*dl_SSL_get_current_cipher)
#define SSL_get_error (*dl_SSL_get_error)
#define SSL_get_verify_result (*dl_SSL_get_verify_result)
#define SSL_get_version (*dl_SSL_get_version)
#define SSL_is_init_finished (*dl_SSL_is_init_finished)
#define SSL_new (*dl_SSL_new)
#define SSL_pending (*dl_SSL_pending)
#define SSL_read_ex (*dl_SSL_read_ex)
#define SSL_set1_host (*dl_SSL_set1_host)
#define SSL_set_rfd (*dl_SSL_set_rfd)
#define SSL_set_wfd (*dl_SSL_set_wfd)
#define SSL_shutdown (*dl_SSL_shutdown)
#define SSL_write_ex (*dl_SSL_write_ex)
#define TLS_client_method (*dl_TLS_client_method)
#define TLS_server_method (*dl_TLS_server_method)
#define X509_VERIFY_PARAM_set1_ip_asc (*dl_X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string (*dl_X509_verify_cert_error_string)

/* 0 once every function is found; -1 with the reason in err. */
static int openssl_load(char *err, size_t errlen)
{
	static bool loaded;

	if (loaded)
		return 0;
	void *lib = dlopen(LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, errlen, "cannot load OpenSSL: %s", dlerror());
		return -1;
	}
#define RESOLVE(f) \
	if (!(*(void **)&dl_##f = dlsym(lib, #f))) { \
		snprintf(err, errlen, "cannot load OpenSSL: no %s in " LIBSSL_SONAME, #f); \
		return -1; \
	}
	OPENSSL_FUNCTIONS(RESOLVE)
#undef RESOLVE
	loaded = true;
	return 0;
}

/* TLS 1.2: ephemeral ECDH and AEAD only (forward secrecy; no CBC, no RSA
 * key exchange).  TLS 1.3 suites are all forward-secret and AEAD. */
#define CIPHERS_TLS12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

/* The reason of the last OpenSSL error (or what), into err. */
static void ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof buf);
		snprintf(err, errlen, "%s: %s", what, buf);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

/* What both sides share: the versions, ciphers and options. */
static SSL_CTX *ctx_new(bool server, char *err, size_t errlen)
{
	if (openssl_load(err, errlen) < 0)
		return NULL;
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx) {
		ssl_error(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, CIPHERS_TLS12)) {
		ssl_error(err, errlen, "cannot set TLS versions or ciphers");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* A peer that closes without close_notify is an EOF, not an error. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                    SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	return ctx;
}

SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_new(true, err, errlen);

	if (!ctx)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);          /* TLS 1.3: no tickets either */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ssl_error(err, errlen, "cannot load tls_cert");
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, "cannot load tls_key");
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "tls_key does not match tls_cert");
	} else {
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx(bool verify, const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_new(false, err, errlen);

	if (!ctx || !verify)
		return ctx;
	int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                             : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		ssl_error(err, errlen, "cannot load the trusted CAs");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	if (ctx)                          /* a context means OpenSSL is loaded */
		SSL_CTX_free(ctx);
}

/* ---- the backend ---------------------------------------------------------- */

/* An OpenSSL result as read(2)/write(2) would give it: WANT_READ and
 * WANT_WRITE are EAGAIN (the stream polls), a clean close is 0. */
static ssize_t as_syscall(SSL *ssl, int ok, size_t n)
{
	if (ok > 0)
		return (ssize_t)n;
	switch (SSL_get_error(ssl, ok)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = EPIPE;
		ERR_clear_error();
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static ssize_t tls_read(struct stream *s, void *buf, size_t len)
{
	size_t n = 0;

	errno = 0;
	int ok = SSL_read_ex(s->ctx, buf, len, &n);
	return as_syscall(s->ctx, ok, n);
}

static ssize_t tls_write(struct stream *s, const void *buf, size_t len)
{
	size_t n = 0;

	errno = 0;
	int ok = SSL_write_ex(s->ctx, buf, len, &n);
	return as_syscall(s->ctx, ok, n);
}

static size_t tls_pending(const struct stream *s)
{
	return (size_t)SSL_pending(s->ctx);
}

/* Say close_notify if the socket takes it now; never wait for the peer's. */
static int tls_close(struct stream *s)
{
	SSL *ssl = s->ctx;

	if (SSL_is_init_finished(ssl))
		(void)SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	s->ctx = NULL;
	return 0;
}

static const struct stream_backend stream_tls = {
	tls_read, tls_write, tls_pending, tls_close,
};

/* ---- the handshake -------------------------------------------------------- */

static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n;
}

static void set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0 && !(flags & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static bool is_address(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* SNI (RFC 6066 3: names only) and, when ctx verifies, the name or
 * address the certificate must carry (RFC 6125). */
static int client_names(SSL *ssl, const char *host)
{
	if (!host || !*host)
		return 1;
	if (is_address(host))
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	return SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
}

/* SSL_accept or SSL_connect until done, waiting in poll(2). */
static int handshake(struct stream *s, SSL *ssl, bool server, char *err, size_t errlen)
{
	for (;;) {
		errno = 0;
		int r = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(ssl, r);
		int w = e == SSL_ERROR_WANT_READ ? wait_fd(s->in, POLLIN, s->timeout_ms)
		      : e == SSL_ERROR_WANT_WRITE ? wait_fd(s->out, POLLOUT, s->timeout_ms)
		      : -2;
		if (w > 0)
			continue;
		if (w == 0) {
			snprintf(err, errlen, "handshake timeout");
		} else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
			snprintf(err, errlen, "handshake: %s",
			         errno ? strerror(errno) : "connection closed by peer");
			ERR_clear_error();
		} else if (!server && SSL_get_verify_result(ssl) != X509_V_OK) {
			snprintf(err, errlen, "certificate: %s",
			         X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
			ERR_clear_error();
		} else {
			ssl_error(err, errlen, "handshake failed");
		}
		return -1;
	}
}

int tls_start(struct stream *s, SSL_CTX *ctx, bool server, const char *host,
              char *err, size_t errlen)
{
	SSL *ssl = SSL_new(ctx);

	stream_discard_input(s);
	if (!ssl) {
		ssl_error(err, errlen, "cannot start TLS");
		return -1;
	}
	set_nonblocking(s->in);
	set_nonblocking(s->out);
	if (SSL_set_rfd(ssl, s->in) != 1 || SSL_set_wfd(ssl, s->out) != 1 ||
	    (!server && client_names(ssl, host) != 1)) {
		ssl_error(err, errlen, "cannot start TLS");
		SSL_free(ssl);
		return -1;
	}
	if (handshake(s, ssl, server, err, errlen) < 0) {
		SSL_free(ssl);
		return -1;
	}
	s->backend = &stream_tls;
	s->ctx = ssl;
	return 0;
}

const char *tls_version(const struct stream *s)
{
	return s->backend == &stream_tls ? SSL_get_version(s->ctx) : NULL;
}

const char *tls_cipher(const struct stream *s)
{
	return s->backend == &stream_tls ? SSL_CIPHER_get_name(SSL_get_current_cipher(s->ctx)) : NULL;
}
