/* stream_deadline.c - the stream's deadline and its clock.
 *
 * Apart from stream.c so that only a program that sets a deadline (the
 * relay) links clock_gettime: its symbol version (GLIBC_2.17) is one the
 * session needs nowhere else, and checking it costs every session's
 * dynamic loader about 900 instructions. */
#include "stream.h"

#include <time.h>

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void stream_set_deadline(struct stream *s, unsigned seconds)
{
	s->clock_ms = monotonic_ms;
	s->deadline = seconds ? monotonic_ms() + (long long)seconds * 1000 : 0;
}
