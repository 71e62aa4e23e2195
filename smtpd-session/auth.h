/* auth.h - is this login's password right?  The back ends of AUTH: a file
 * of crypt(3) hashes (auth_users) or Dovecot's auth socket (auth_dovecot). */
#ifndef MAILSOCK_AUTH_H
#define MAILSOCK_AUTH_H

#include <stdbool.h>

#include "config.h"

enum auth_verdict {
	AUTH_GRANTED,
	AUTH_DENIED,         /* unknown login or wrong password: no telling which */
	AUTH_UNAVAILABLE,    /* the back end could not answer: try again later */
};

/* Is any back end configured? */
bool auth_configured(const struct config *cfg);

/* Check login and password with auth_users when it is set, else with
 * auth_dovecot.  secured: the session is over TLS; peer: the client's
 * address (or "local"), for Dovecot's own penalties.  An unknown login
 * costs a hash computation like a known one. */
enum auth_verdict auth_check(const struct config *cfg, const char *login, const char *password,
                             bool secured, const char *peer);

#endif
