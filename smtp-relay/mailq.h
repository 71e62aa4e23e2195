/* mailq.h - "smtp-relay -l": the queue as mailq shows it. */
#ifndef SMTP_RELAY_MAILQ_H
#define SMTP_RELAY_MAILQ_H

#include <stdio.h>

#include "config.h"

/* Print the queue like mailq.  0 or -1. */
int list_queue(const struct config *cfg, FILE *out);

#endif
