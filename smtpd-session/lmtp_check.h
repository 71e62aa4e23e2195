/* lmtp_check.h - ask the LMTP server of local_delivery at RCPT time
 * whether it takes a recipient, on one connection kept for the session. */
#ifndef SMTPD_SESSION_LMTP_CHECK_H
#define SMTPD_SESSION_LMTP_CHECK_H

#include "config.h"

struct lmtp_check;

enum lmtp_answer {
	LMTP_TAKES,          /* 2xx to RCPT */
	LMTP_REFUSES,        /* 5xx to RCPT: no such user */
	LMTP_UNREACHABLE,    /* 4xx, or no server to ask */
};

/* Ask cfg->local_delivery's server about address; *check holds the
 * connection between calls (NULL at first). */
enum lmtp_answer lmtp_check_rcpt(struct lmtp_check **check, const struct config *cfg,
                                 const char *address);

/* QUIT and close. */
void lmtp_check_close(struct lmtp_check **check);

#endif
