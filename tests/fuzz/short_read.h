/* short_read.h - a stream backend for the fuzz targets whose reads return
 * 1 to 64 octets at a time, as a slow network delivers them; the sizes
 * come from a seed, so a run replays. */
#ifndef MAILSOCK_SHORT_READ_H
#define MAILSOCK_SHORT_READ_H

#include "stream.h"

extern const struct stream_backend short_read_backend;

void short_read_seed(unsigned seed);

#endif
