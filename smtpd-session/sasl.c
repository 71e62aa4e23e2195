/* sasl.c - the lines of an AUTH exchange decoded (see sasl.h).
 *
 * Decoded octets live in a buffer on the stack that is wiped before
 * returning: the only copy of a password left is the one the caller asked
 * for. */
#include "sasl.h"

#include <string.h>

/* Longest decoded answer: PLAIN's three fields and their two NULs. */
#define DECODED_MAX (3 * (SASL_FIELD_MAX - 1) + 2)

/* The value of a base64 character (RFC 4648 4), or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool sasl_base64_decode(const char *in, size_t len, unsigned char *out, size_t size,
                        size_t *out_len)
{
	size_t n = 0;

	*out_len = 0;
	if (len == 1 && in[0] == '=')
		return true;
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			/* "=" only in the last quantum, only at its end (RFC 4648 3.3) */
			if (c == '=' && i + 4 == len && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad || (v[k] = b64_value(c)) < 0)
				return false;
		}
		unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
		                (unsigned)v[3];
		size_t octets = 3 - pad;
		if (n + octets > size)
			return false;
		out[n++] = (unsigned char)(bits >> 16);
		if (octets > 1)
			out[n++] = (unsigned char)(bits >> 8);
		if (octets > 2)
			out[n++] = (unsigned char)bits;
	}
	*out_len = n;
	return true;
}

size_t sasl_base64_encode(const unsigned char *in, size_t len, char *out, size_t size)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;

	if ((len + 2) / 3 * 4 >= size)
		return 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0u) |
		             (i + 2 < len ? in[i + 2] : 0u);
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[n] = '\0';
	return n;
}

/* A field: 1 to 255 octets, no NUL. */
static bool take_field(char *dst, const unsigned char *src, size_t len)
{
	if (len == 0 || len >= SASL_FIELD_MAX || memchr(src, '\0', len))
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

/* RFC 4616 2: message = [authzid] NUL authcid NUL passwd. */
static enum sasl_result plain_triple(const unsigned char *d, size_t n, struct sasl_credentials *c)
{
	const unsigned char *nul1 = memchr(d, '\0', n);
	if (!nul1)
		return SASL_BAD_FORM;
	const unsigned char *authcid = nul1 + 1;
	const unsigned char *nul2 = memchr(authcid, '\0', n - (size_t)(authcid - d));
	if (!nul2)
		return SASL_BAD_FORM;
	const unsigned char *passwd = nul2 + 1;
	size_t authzid_len = (size_t)(nul1 - d);
	size_t authcid_len = (size_t)(nul2 - authcid);
	size_t passwd_len = n - (size_t)(passwd - d);

	if (!take_field(c->login, authcid, authcid_len) ||
	    !take_field(c->password, passwd, passwd_len))
		return SASL_BAD_FORM;
	/* acting for someone else is not offered: the authzid, if any, must be
	 * the login itself */
	if (authzid_len > 0 && (authzid_len != authcid_len || memcmp(d, authcid, authcid_len) != 0))
		return SASL_BAD_FORM;
	return SASL_OK;
}

static enum sasl_result decode_step(enum sasl_step step, const unsigned char *d, size_t n,
                                    struct sasl_credentials *c)
{
	switch (step) {
	case SASL_PLAIN:
		return plain_triple(d, n, c);
	case SASL_LOGIN_USER:
		return take_field(c->login, d, n) ? SASL_OK : SASL_BAD_FORM;
	case SASL_LOGIN_PASSWORD:
		return take_field(c->password, d, n) ? SASL_OK : SASL_BAD_FORM;
	}
	return SASL_BAD_FORM;
}

enum sasl_result sasl_decode(enum sasl_step step, const char *line, size_t len,
                             struct sasl_credentials *c)
{
	unsigned char decoded[DECODED_MAX];
	size_t n;
	enum sasl_result r;

	if (len == 1 && line[0] == '*')
		return SASL_CANCEL;
	/* (longer than three full fields cannot be a good answer either) */
	if (!sasl_base64_decode(line, len, decoded, sizeof decoded, &n))
		r = SASL_BAD_BASE64;
	else
		r = decode_step(step, decoded, n, c);
	explicit_bzero(decoded, sizeof decoded);
	return r;
}
