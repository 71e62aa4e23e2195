/* check.h - the smallest test harness: CHECK(cond), then check_summary(). */
#ifndef MAILSOCK_CHECK_H
#define MAILSOCK_CHECK_H

#include <stdio.h>

static int checks_passed, checks_failed;

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (cond) {                                                     \
			checks_passed++;                                        \
		} else {                                                        \
			checks_failed++;                                        \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
		}                                                               \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", checks_passed, checks_failed);
	return checks_failed ? 1 : 0;
}

#endif
