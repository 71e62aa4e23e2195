/* tls.h - TLS over a common/stream with OpenSSL: the server's context
 * (STARTTLS, SMTPS), the relay's client context, and the backend that a
 * stream switches to after the handshake.
 *
 * Both sides: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers only (ECDHE
 * in TLS 1.2), no compression, no renegotiation, no session tickets and no
 * session cache (each session is its own process: a per-process ticket key
 * would make resumption useless anyway). */
#ifndef MAILSOCK_TLS_H
#define MAILSOCK_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct stream;
typedef struct ssl_ctx_st SSL_CTX;

/* A server context with the certificate chain and key of the PEM files.
 * NULL with a reason in err (an unreadable file, a key that does not
 * match). */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen);

/* A client context.  verify: the peer's chain must lead to a trusted CA
 * (ca_file, or the system's CAs when ca_file is NULL or "") and name the
 * host given to tls_start. */
SSL_CTX *tls_client_ctx(bool verify, const char *ca_file, char *err, size_t errlen);

void tls_ctx_free(SSL_CTX *ctx);

/* Handshake on the stream's fds, each wait bounded by its timeout; then
 * the stream reads and writes through TLS.  Input the stream had buffered
 * is thrown away first (CVE-2011-0411: nothing sent in clear counts after
 * it).  host (client side): sent as SNI when it is a name, and checked
 * against the certificate when ctx verifies.  -1 with a reason in err; the
 * stream is then unusable for TLS and plain text alike. */
int tls_start(struct stream *s, SSL_CTX *ctx, bool server, const char *host,
              char *err, size_t errlen);

/* "TLSv1.3" and "TLS_AES_256_GCM_SHA384" of a stream after tls_start;
 * NULL on a plain stream. */
const char *tls_version(const struct stream *s);
const char *tls_cipher(const struct stream *s);

#endif
