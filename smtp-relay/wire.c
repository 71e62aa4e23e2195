/* wire.c - the outbound half of the DATA state machine.
 *
 * The stored message has LF line ends.  Each LF becomes CR LF.  A CR is held
 * back: followed by LF it is that line end; followed by anything else it is
 * a line end of its own (a bare CR never reaches the wire, RFC 5321 2.3.8).
 * A line that starts with "." gets one more (4.5.2).  Lines are never split. */
#include "wire.h"

#include <string.h>
#include <strings.h>

void wire_init(struct wire *w)
{
	w->line_start = true;
	w->cr = false;
}

static size_t line_end(struct wire *w, char *out)
{
	out[0] = '\r';
	out[1] = '\n';
	w->line_start = true;
	return 2;
}

size_t wire_encode(struct wire *w, const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (w->cr && ch != '\n')          /* \r x: the CR ended a line */
			n += line_end(w, out + n);
		w->cr = ch == '\r';
		if (w->cr)                        /* wait: \r\n or bare \r */
			continue;
		if (ch == '\n') {                 /* \n (or \r\n): CR LF */
			n += line_end(w, out + n);
			continue;
		}
		if (w->line_start && ch == '.')   /* .x at a line start: ..x */
			out[n++] = '.';
		w->line_start = false;
		out[n++] = ch;
	}
	return n;
}

size_t wire_finish(struct wire *w, char *out)
{
	size_t n = 0;

	if (w->cr || !w->line_start)          /* the last line had no line end */
		n += line_end(w, out);
	w->cr = false;
	memcpy(out + n, ".\r\n", 3);
	return n + 3;
}

size_t wire_skip_return_path(const char *buf, size_t len)
{
	if (len < 12 || strncasecmp(buf, "Return-Path:", 12) != 0)
		return 0;
	const char *nl = memchr(buf, '\n', len);
	return nl ? (size_t)(nl - buf) + 1 : 0;
}
