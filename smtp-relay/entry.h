/* entry.h - the work on one locked queue entry. */
#ifndef SMTP_RELAY_ENTRY_H
#define SMTP_RELAY_ENTRY_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "dns.h"

struct runner {
	const struct config *cfg;
	int queuefd;
	struct dns *dns;
	struct client_cache *cache;
	bool flush;
};

/* Lock msg/ID, and when the entry is still there and due, deliver it and
 * update or remove it.  Entries that another run holds are skipped. */
void entry_process(struct runner *rn, const char *id);

#endif
