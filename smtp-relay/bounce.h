/* bounce.h - RFC 3464 delivery status notifications to the sender. */
#ifndef SMTP_RELAY_BOUNCE_H
#define SMTP_RELAY_BOUNCE_H

#include <stddef.h>

#include "config.h"
#include "queue.h"
#include "result.h"

struct bounce_item {
	const char *rcpt;
	const struct result *result;
};

/* One DSN for items (failed recipients of env) from bounce_sender to the
 * envelope sender, with null return path: into the sender's Maildir when
 * the sender's domain is local, else into the queue.  Never call this for a
 * null sender.  0 once the DSN is stored durably, -1 otherwise. */
int bounce_send(const struct config *cfg, int queuefd, const struct envelope *env, int msgfd,
                const struct bounce_item *items, size_t n);

#endif
