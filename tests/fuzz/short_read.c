/* short_read.c - a stream backend of short reads for the fuzz targets. */
#include "short_read.h"

#include <unistd.h>

static unsigned state;

void short_read_seed(unsigned seed)
{
	state = seed;
}

static ssize_t short_read(struct stream *s, void *buf, size_t len)
{
	state = state * 1103515245u + 12345u;
	size_t cap = 1 + (state >> 16) % 64;
	return read(s->in, buf, len > cap ? cap : len);
}

const struct stream_backend short_read_backend = {
	.read = short_read,
	/* write, pending, close: the plain fd's */
};
