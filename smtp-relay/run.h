/* run.h - one run over the queue: deliver what is due, then exit. */
#ifndef SMTP_RELAY_RUN_H
#define SMTP_RELAY_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

/* Deliver every due entry (every entry when flush).  0, or -1 on a fault
 * that stopped the run (message on stderr). */
int run_queue(const struct config *cfg, bool flush);

/* Print the queue like mailq.  0 or -1. */
int list_queue(const struct config *cfg, FILE *out);

/* Delay before attempt number attempts + 1 (attempts >= 1). */
unsigned retry_delay(const struct config *cfg, unsigned attempts);

#endif
