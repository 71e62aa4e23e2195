/* result.c - per-recipient outcomes and their text form. */
#include "result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void result_set(struct result *r, enum outcome o, int code, const char *enh, const char *text)
{
	r->outcome = o;
	r->code = code;
	snprintf(r->enh, sizeof r->enh, "%s", enh);
	r->mta[0] = '\0';
	r->addr[0] = '\0';
	snprintf(r->text, sizeof r->text, "%s", text);
	r->remote = false;
}

void result_format(const struct result *r, char *buf, size_t size)
{
	snprintf(buf, size, "%d %s %s %s", r->code, r->enh, r->mta[0] ? r->mta : "-", r->text);
	for (char *p = buf; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}

/* Copy the next space-separated word of *s into buf. */
static void word(const char **s, char *buf, size_t size)
{
	size_t len = strcspn(*s, " ");

	snprintf(buf, size, "%.*s", (int)len, *s);
	*s += len;
	*s += strspn(*s, " ");
}

void result_parse(struct result *r, const char *text)
{
	char code[8];

	memset(r, 0, sizeof *r);
	word(&text, code, sizeof code);
	r->code = atoi(code);
	word(&text, r->enh, sizeof r->enh);
	word(&text, r->mta, sizeof r->mta);
	if (strcmp(r->mta, "-") == 0)
		r->mta[0] = '\0';
	snprintf(r->text, sizeof r->text, "%s", text);
	r->outcome = r->code >= 500 ? OUT_PERM : OUT_TEMP;
}
