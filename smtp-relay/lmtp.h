/* lmtp.h - the LMTP transport (RFC 2033): one message to the recipients
 * whose rcpt-via names one LMTP server. */
#ifndef SMTP_RELAY_LMTP_H
#define SMTP_RELAY_LMTP_H

#include "smtp.h"
#include "config.h"

/* Deliver job's message at the LMTP server spec ("unix:/PATH" or
 * "HOST:PORT"), with the relay's SMTP client in its LMTP mode: each
 * recipient's result is that server's reply for it (2xx delivered, 4xx
 * deferred, 5xx bounced), or a 4xx of ours when it cannot be reached.
 * cache may be NULL. */
void lmtp_deliver(const struct config *cfg, struct client_cache *cache, const char *spec,
                  struct job *job);

#endif
