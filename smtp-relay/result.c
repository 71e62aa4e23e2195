/* result.c - per-recipient outcomes and their text form. */
#include "result.h"

#include <stdio.h>
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
	r->command = false;
}

void result_format(const struct result *r, char *buf, size_t size)
{
	snprintf(buf, size, "%d %s %s %s", r->code, r->enh, r->mta[0] ? r->mta : "-", r->text);
	for (char *p = buf; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}
