/* fuzz_auth - the AUTH line decoder (smtpd-session/sasl.c) against a
 * reference.
 *
 * The first octet picks the step; the rest is tried twice: as the line
 * the client sent (anything may come), and base64-encoded here first, so
 * that the decoded octets are the input itself.  Invariants:
 *  - a decoded field is 1 to 255 octets, NUL-terminated, without a NUL;
 *  - encoded here, the line is never refused as bad base64, and PLAIN
 *    gives exactly the fields split on the two NULs (authzid empty or the
 *    login), LOGIN the input itself; everything else is SASL_BAD_FORM;
 *  - "*" is a cancel, whatever the step. */
#include "fuzz.h"
#include "sasl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t encode(const uint8_t *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0u) |
		             (i + 2 < len ? in[i + 2] : 0u);
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	return n;
}

static bool field_ok(const char *f, const uint8_t *want, size_t len)
{
	return len > 0 && len < SASL_FIELD_MAX && !memchr(want, 0, len) && memcmp(f, want, len) == 0 &&
	       f[len] == '\0';
}

static void check_field(const char *f)
{
	size_t n = strnlen(f, SASL_FIELD_MAX);
	REQUIRE(n > 0 && n < SASL_FIELD_MAX);
}

/* What PLAIN must make of the decoded octets d[0..n). */
static void check_plain(const uint8_t *d, size_t n, enum sasl_result r, const struct sasl_credentials *c)
{
	const uint8_t *nul1 = memchr(d, 0, n);
	const uint8_t *nul2 = nul1 ? memchr(nul1 + 1, 0, n - (size_t)(nul1 + 1 - d)) : NULL;
	if (!nul2) {
		REQUIRE(r == SASL_BAD_FORM);
		return;
	}
	size_t zlen = (size_t)(nul1 - d), llen = (size_t)(nul2 - nul1 - 1);
	size_t plen = n - (size_t)(nul2 + 1 - d);
	bool good = llen > 0 && llen < SASL_FIELD_MAX && plen > 0 && plen < SASL_FIELD_MAX &&
	            !memchr(nul2 + 1, 0, plen) &&
	            (zlen == 0 || (zlen == llen && memcmp(d, nul1 + 1, llen) == 0));
	REQUIRE(good == (r == SASL_OK));
	if (good)
		REQUIRE(field_ok(c->login, nul1 + 1, llen) && field_ok(c->password, nul2 + 1, plen));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1024)
		return 0;
	enum sasl_step step = (enum sasl_step)(data[0] % 3);
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	struct sasl_credentials c;

	/* as sent */
	memset(&c, 0, sizeof c);
	enum sasl_result r = sasl_decode(step, (const char *)in, len, &c);
	if (len == 1 && in[0] == '*')
		REQUIRE(r == SASL_CANCEL);
	if (r == SASL_OK) {
		if (step != SASL_LOGIN_PASSWORD)
			check_field(c.login);
		if (step != SASL_LOGIN_USER)
			check_field(c.password);
	}

	/* encoded here first */
	char *line = malloc(len / 3 * 4 + 8);
	REQUIRE(line);
	size_t n = encode(in, len, line);
	if (n == 0)
		line[n++] = '=';                 /* the empty answer */
	memset(&c, 0, sizeof c);
	r = sasl_decode(step, line, n, &c);
	if (len <= 3 * (SASL_FIELD_MAX - 1) + 2) {
		REQUIRE(r != SASL_BAD_BASE64 && r != SASL_CANCEL);
		if (step == SASL_PLAIN)
			check_plain(in, len, r, &c);
		else
			REQUIRE((r == SASL_OK) ==
			        field_ok(step == SASL_LOGIN_USER ? c.login : c.password, in, len));
	}
	free(line);
	return 0;
}
