/* sasl.h - the lines of an AUTH exchange (RFC 4954) decoded: base64
 * (RFC 4648 4), PLAIN's triple (RFC 4616) and LOGIN's two steps.  Pure
 * functions over a buffer: no I/O, no state, fuzzed (tests/fuzz/fuzz_auth.c). */
#ifndef MAILSOCK_SASL_H
#define MAILSOCK_SASL_H

#include <stdbool.h>
#include <stddef.h>

#define SASL_FIELD_MAX 256        /* RFC 4616 2: 255 octets, and the NUL */

/* What a line answers. */
enum sasl_step {
	SASL_PLAIN,          /* base64 of "authzid NUL authcid NUL password" */
	SASL_LOGIN_USER,     /* base64 of the login */
	SASL_LOGIN_PASSWORD, /* base64 of the password */
};

enum sasl_result {
	SASL_OK,             /* the step's field(s) are filled */
	SASL_CANCEL,         /* "*": the client gives up (RFC 4954 4) */
	SASL_BAD_BASE64,     /* not base64 */
	SASL_BAD_FORM,       /* base64, but not what the step needs */
};

struct sasl_credentials {
	char login[SASL_FIELD_MAX];
	char password[SASL_FIELD_MAX];
};

/* Decode base64 in[0..len) into out (at most size octets).  Returns false
 * on a character outside the alphabet, bad padding, a length that is not a
 * multiple of 4, or an output that does not fit.  "=" alone is the empty
 * string (RFC 4954 4: an empty initial response). */
bool sasl_base64_decode(const char *in, size_t len, unsigned char *out, size_t size,
                        size_t *out_len);

/* Encode in[0..len) as base64 into out, NUL-terminated; returns its
 * length, or 0 when out (size octets) is too small. */
size_t sasl_base64_encode(const unsigned char *in, size_t len, char *out, size_t size);

/* One line of the exchange, for step.  PLAIN fills login and password; an
 * authorization identity other than the login is refused (SASL_BAD_FORM:
 * no proxy logins here).  LOGIN_USER fills login, LOGIN_PASSWORD fills
 * password.  A field is never empty and never holds a NUL. */
enum sasl_result sasl_decode(enum sasl_step step, const char *line, size_t len,
                             struct sasl_credentials *c);

#endif
