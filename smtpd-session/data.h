/* data.h - the DATA phase: a small byte state machine (RFC 5321 4.1.1.4).
 *
 * Only <CRLF>.<CRLF> ends the data.  A bare CR or a bare LF never ends a
 * line, never ends the message and never starts a second one (SMTP
 * smuggling); it is noted, and the session refuses such a message.
 * Lines are stored with LF endings and dot-unstuffed (RFC 5321 4.5.2). */
#ifndef MAILSOCK_DATA_H
#define MAILSOCK_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum data_state {
	DATA_BOL,      /* at the start of a line: after CR LF */
	DATA_TEXT,     /* inside a line */
	DATA_CR,       /* a CR inside a line: a line end if LF follows */
	DATA_DOT,      /* "." at the start of a line */
	DATA_DOT_CR,   /* ".\r" at the start of a line: the end if LF follows */
};

struct data_machine {
	enum data_state state;
	bool bare_cr, bare_lf;      /* seen a CR or LF not part of CR LF */
	bool in_headers;            /* before the first empty line */
	size_t line_len;            /* octets stored of the current line */
	char prefix[9];             /* first octets of a header line */
	unsigned received_headers;  /* "Received:" fields: the hop count */
	uint64_t octets;            /* octets taken from the client */
};

typedef void (*data_sink)(void *ctx, const char *bytes, size_t len);

void data_init(struct data_machine *m);

/* Take bytes from the client; stored content goes to sink.  Returns how
 * many bytes were consumed; *done is set when <CRLF>.<CRLF> was consumed
 * (the bytes after it are the client's next commands). */
size_t data_feed(struct data_machine *m, const char *buf, size_t len, bool *done,
                 data_sink sink, void *ctx);

#endif
