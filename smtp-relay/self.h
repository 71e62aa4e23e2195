/* self.h - is an address this host itself?  (RFC 5321 5.1: an MX that is
 * this host means a mail loop.) */
#ifndef SMTP_RELAY_SELF_H
#define SMTP_RELAY_SELF_H

#include <stdbool.h>

#include "dns.h"

/* 127.0.0.1, ::1, or an address of one of this host's non-loopback
 * interfaces.  Other loopback addresses (127.0.0.2, ...) are not counted:
 * they are how a host runs several services, and how the tests run MX
 * hosts. */
bool addr_is_self(const struct addr *a);

#endif
