/* headers.h - what mailsock-sendmail reads in a message's header section:
 * the recipients of -t (To, Cc, Bcc: RFC 5322 3.4 address lists, with
 * groups, comments and display names) and the Bcc field it removes. */
#ifndef MAILSOCK_SENDMAIL_HEADERS_H
#define MAILSOCK_SENDMAIL_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

/* Is the (unfolded) field named name ("to", any case)?  Then *body points
 * after its colon. */
bool header_is(const char *field, const char *name, const char **body);

/* Call each() with every address of an address-list field body, as
 * written (comments, display names and group names dropped).  Returns
 * the number of addresses. */
size_t header_addresses(const char *body, void (*each)(const char *addr, void *arg), void *arg);

#endif
