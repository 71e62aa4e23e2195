/* Unit tests for sendmail/headers.c: the address lists of sendmail -t. */
#include "check.h"
#include "headers.h"

#include <string.h>

static char got[16][128];
static size_t n_got;

static void collect(const char *addr, void *arg)
{
	(void)arg;
	if (n_got < 16)
		snprintf(got[n_got++], sizeof got[0], "%s", addr);
}

/* The addresses of body, joined by spaces. */
static const char *list(const char *body)
{
	static char out[1024];
	size_t len = 0;

	n_got = 0;
	header_addresses(body, collect, NULL);
	out[0] = '\0';
	for (size_t i = 0; i < n_got; i++)
		len += (size_t)snprintf(out + len, sizeof out - len, i ? " %s" : "%s", got[i]);
	return out;
}

static void test_lists(void)
{
	CHECK(strcmp(list(" bob@example.org"), "bob@example.org") == 0);
	CHECK(strcmp(list(" Bob <bob@example.org>, carol@example.net"),
	             "bob@example.org carol@example.net") == 0);
	CHECK(strcmp(list(" \"Smith, John\" <js@example.org>"), "js@example.org") == 0);
	CHECK(strcmp(list(" bob@example.org (Bob, the boss), root"), "bob@example.org root") == 0);
	CHECK(strcmp(list(" (a (nested) comment) x@example.org"), "x@example.org") == 0);
	CHECK(strcmp(list(" undisclosed: a@x.example, B <b@y.example>;"), "a@x.example b@y.example") == 0);
	CHECK(strcmp(list(" undisclosed-recipients:;"), "") == 0);
	CHECK(strcmp(list(" g: a@x.example;, c@z.example"), "a@x.example c@z.example") == 0);
	CHECK(strcmp(list(" <@relay.example:a@x.example>"), "@relay.example:a@x.example") == 0);
	CHECK(strcmp(list(" \"john doe\"@example.org"), "\"john doe\"@example.org") == 0);
	CHECK(strcmp(list(" a@x.example,, ,b@y.example"), "a@x.example b@y.example") == 0);
	CHECK(strcmp(list(" a@x.example\tb"), "a@x.example b") == 0);   /* junk stays junk: refused later */
	CHECK(strcmp(list(" Bob Smith <b@y.example>"), "b@y.example") == 0);
	CHECK(strcmp(list(" < b@y.example > (c)"), "b@y.example") == 0);
}

static void test_names(void)
{
	const char *body;

	CHECK(header_is("To: a", "to", &body) && strcmp(body, " a") == 0);
	CHECK(header_is("BCC : a", "bcc", &body) && strcmp(body, " a") == 0);
	CHECK(!header_is("Bcc-Extra: a", "bcc", &body));
	CHECK(!header_is("Toast: a", "to", &body));
	CHECK(!header_is("Cc a", "cc", &body));
}

int main(void)
{
	test_lists();
	test_names();
	return check_summary();
}
