/* run.h - one run over the queue: deliver what is due, then exit. */
#ifndef SMTP_RELAY_RUN_H
#define SMTP_RELAY_RUN_H

#include <stdbool.h>

#include "config.h"

/* Deliver every due entry (every entry when flush).  0, or -1 on a fault
 * that stopped the run (message on stderr). */
int run_queue(const struct config *cfg, bool flush);

#endif
