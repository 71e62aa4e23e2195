/* headers.c - RFC 5322 address lists, enough for sendmail -t. */
#include "headers.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool header_is(const char *field, const char *name, const char **body)
{
	size_t n = strlen(name);
	const char *p = field + n;

	if (strncasecmp(field, name, n) != 0)
		return false;
	while (*p == ' ' || *p == '\t')   /* RFC 822 allowed blanks before the colon */
		p++;
	if (*p != ':')
		return false;
	*body = p + 1;
	return true;
}

struct list_state {
	char *plain, *angle;           /* the text outside and inside <> */
	size_t n_plain, n_angle;
	bool has_angle;
	void (*each)(const char *, void *);
	void *arg;
	size_t count;
};

/* One element ends (at ',', ';' or the end): an angle-addr wins over the
 * text around it (the display name); a bare addr-spec is the text. */
static void element_end(struct list_state *st)
{
	char *addr = st->has_angle ? st->angle : st->plain;
	size_t n = st->has_angle ? st->n_angle : st->n_plain;

	addr[n] = '\0';
	if (n > 0) {
		st->each(addr, st->arg);
		st->count++;
	}
	st->n_plain = st->n_angle = 0;
	st->has_angle = false;
}

/* Past a comment (RFC 5322 3.2.2: nested, with quoted-pairs) at p. */
static const char *skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

size_t header_addresses(const char *body, void (*each)(const char *addr, void *arg), void *arg)
{
	size_t len = strlen(body);
	struct list_state st = { .plain = malloc(len + 1), .angle = malloc(len + 1),
	                         .each = each, .arg = arg };
	bool in_angle = false, in_quote = false, space = false;

	if (!st.plain || !st.angle) {
		free(st.plain);
		free(st.angle);
		return 0;
	}
	for (const char *p = body; *p;) {
		char c = *p;
		if (!in_quote && c == '(') {
			p = skip_comment(p);
			continue;
		}
		if (c == '"')
			in_quote = !in_quote;
		else if (!in_quote && c == '<') {
			in_angle = true;
			st.n_angle = 0;
			p++;
			continue;
		} else if (!in_quote && c == '>') {
			in_angle = false;
			st.has_angle = true;
			p++;
			continue;
		} else if (!in_quote && !in_angle && (c == ',' || c == ';')) {
			element_end(&st);
			space = false;
			p++;
			continue;
		} else if (!in_quote && !in_angle && c == ':') {
			st.n_plain = 0;        /* "group name:" (RFC 5322 3.4) */
			space = false;
			p++;
			continue;
		} else if (!in_quote && isspace((unsigned char)c)) {
			space = !in_angle;   /* between words it stays: "a@b c" is no address */
			p++;
			continue;
		}
		if (space && !in_angle && st.n_plain > 0)
			st.plain[st.n_plain++] = ' ';
		space = false;
		if (in_quote && c == '\\' && p[1]) {   /* keep a quoted-pair whole */
			if (in_angle)
				st.angle[st.n_angle++] = *p++;
			else
				st.plain[st.n_plain++] = *p++;
		}
		if (in_angle)
			st.angle[st.n_angle++] = *p;
		else
			st.plain[st.n_plain++] = *p;
		p++;
	}
	element_end(&st);
	free(st.plain);
	free(st.angle);
	return st.count;
}
