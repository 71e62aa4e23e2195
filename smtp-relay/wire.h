/* wire.h - a stored message (LF line ends, see doc/queue.md) as SMTP DATA:
 * CR LF line ends, dot-stuffing, and the final "." line. */
#ifndef SMTP_RELAY_WIRE_H
#define SMTP_RELAY_WIRE_H

#include <stdbool.h>
#include <stddef.h>

struct wire {
	bool line_start;     /* the next octet starts a line */
	bool cr;             /* a CR is pending: line end, whether LF follows or not */
};

/* Room wire_encode needs for len input octets (worst case: CR then "."). */
#define WIRE_MAX(len) (4 * (len))

void wire_init(struct wire *w);

/* Encode len octets into out (room for WIRE_MAX(len)); returns the count. */
size_t wire_encode(struct wire *w, const char *in, size_t len, char *out);

/* The end: a line end if the message lacks one, then ".\r\n" (at most 5). */
size_t wire_finish(struct wire *w, char *out);

/* Octets of a leading "Return-Path:" line (with its LF) in buf, else 0. */
size_t wire_skip_return_path(const char *buf, size_t len);

#endif
