/* Unit tests for smtpd-session/sasl.c: base64 and the AUTH PLAIN / LOGIN
 * answers, good and bad. */
#include "sasl.h"
#include "check.h"

#include <string.h>

static enum sasl_result decode(enum sasl_step step, const char *line, struct sasl_credentials *c)
{
	memset(c, 'x', sizeof *c);
	return sasl_decode(step, line, strlen(line), c);
}

static void test_base64(void)
{
	unsigned char out[16];
	size_t n;

	CHECK(sasl_base64_decode("TWFu", 4, out, sizeof out, &n) && n == 3 && memcmp(out, "Man", 3) == 0);
	CHECK(sasl_base64_decode("TWE=", 4, out, sizeof out, &n) && n == 2 && memcmp(out, "Ma", 2) == 0);
	CHECK(sasl_base64_decode("TQ==", 4, out, sizeof out, &n) && n == 1 && out[0] == 'M');
	CHECK(sasl_base64_decode("=", 1, out, sizeof out, &n) && n == 0);
	CHECK(sasl_base64_decode("", 0, out, sizeof out, &n) && n == 0);
	CHECK(!sasl_base64_decode("TWF", 3, out, sizeof out, &n));         /* not a multiple of 4 */
	CHECK(!sasl_base64_decode("T=Fu", 4, out, sizeof out, &n));        /* padding inside */
	CHECK(!sasl_base64_decode("TQ==TWFu", 8, out, sizeof out, &n));    /* padding, then more */
	CHECK(!sasl_base64_decode("TQ=u", 4, out, sizeof out, &n));
	CHECK(!sasl_base64_decode("TW u", 4, out, sizeof out, &n));        /* outside the alphabet */
	CHECK(!sasl_base64_decode("TWFuTWFu", 8, out, 4, &n));             /* does not fit */
}

static void test_plain(void)
{
	struct sasl_credentials c;

	/* "\0alice@example.org\0secret" */
	CHECK(decode(SASL_PLAIN, "AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", &c) == SASL_OK);
	CHECK(strcmp(c.login, "alice@example.org") == 0 && strcmp(c.password, "secret") == 0);
	/* "alice@example.org\0alice@example.org\0secret": authzid = login */
	CHECK(decode(SASL_PLAIN, "YWxpY2VAZXhhbXBsZS5vcmcAYWxpY2VAZXhhbXBsZS5vcmcAc2VjcmV0", &c) == SASL_OK);
	CHECK(strcmp(c.login, "alice@example.org") == 0);
	/* "bob\0alice\0secret": acting for another is refused */
	CHECK(decode(SASL_PLAIN, "Ym9iAGFsaWNlAHNlY3JldA==", &c) == SASL_BAD_FORM);
	/* "\0alice" (one NUL), "\0\0secret" (no login), "\0alice\0" (no password) */
	CHECK(decode(SASL_PLAIN, "AGFsaWNl", &c) == SASL_BAD_FORM);
	CHECK(decode(SASL_PLAIN, "AABzZWNyZXQ=", &c) == SASL_BAD_FORM);
	CHECK(decode(SASL_PLAIN, "AGFsaWNlAA==", &c) == SASL_BAD_FORM);
	/* "\0alice\0se\0cret": a NUL inside the password */
	CHECK(decode(SASL_PLAIN, "AGFsaWNlAHNlAGNyZXQ=", &c) == SASL_BAD_FORM);
	CHECK(decode(SASL_PLAIN, "=", &c) == SASL_BAD_FORM);
	CHECK(decode(SASL_PLAIN, "*", &c) == SASL_CANCEL);
	CHECK(decode(SASL_PLAIN, "not base64!", &c) == SASL_BAD_BASE64);
}

static void test_login(void)
{
	struct sasl_credentials c;

	CHECK(decode(SASL_LOGIN_USER, "YWxpY2VAZXhhbXBsZS5vcmc=", &c) == SASL_OK);
	CHECK(strcmp(c.login, "alice@example.org") == 0);
	CHECK(decode(SASL_LOGIN_PASSWORD, "c2VjcmV0", &c) == SASL_OK);
	CHECK(strcmp(c.password, "secret") == 0);
	CHECK(decode(SASL_LOGIN_USER, "=", &c) == SASL_BAD_FORM);        /* empty */
	CHECK(decode(SASL_LOGIN_USER, "YQBi", &c) == SASL_BAD_FORM);     /* "a\0b" */
	CHECK(decode(SASL_LOGIN_PASSWORD, "*", &c) == SASL_CANCEL);
	CHECK(decode(SASL_LOGIN_PASSWORD, "c2VjcmV0=", &c) == SASL_BAD_BASE64);
	CHECK(decode(SASL_LOGIN_USER, "", &c) == SASL_BAD_FORM);

	/* 255 octets is the longest field; 256 is refused */
	char line[400];
	unsigned char field[256];
	memset(field, 'a', sizeof field);
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t len = 255; len <= 256; len++) {
		size_t n = 0;
		for (size_t i = 0; i < len; i += 3) {
			unsigned v = (unsigned)field[i] << 16 | (i + 1 < len ? (unsigned)field[i + 1] << 8 : 0) |
			             (i + 2 < len ? field[i + 2] : 0);
			line[n++] = b64[v >> 18 & 63];
			line[n++] = b64[v >> 12 & 63];
			line[n++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
			line[n++] = i + 2 < len ? b64[v & 63] : '=';
		}
		line[n] = '\0';
		CHECK(decode(SASL_LOGIN_USER, line, &c) == (len == 255 ? SASL_OK : SASL_BAD_FORM));
	}
}

int main(void)
{
	test_base64();
	test_plain();
	test_login();
	return check_summary();
}
