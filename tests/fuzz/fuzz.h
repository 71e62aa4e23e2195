/* fuzz.h - the entry point every fuzz target defines (libFuzzer's), so
 * that a target builds with libFuzzer (tests/fuzz/run.sh) or with
 * replay.c, which runs the seed corpus in make check. */
#ifndef MAILSOCK_FUZZ_H
#define MAILSOCK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
