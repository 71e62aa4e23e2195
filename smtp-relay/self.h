/* self.h - is an address this host itself?  (RFC 5321 5.1: an MX that is
 * this host means a mail loop.) */
#ifndef SMTP_RELAY_SELF_H
#define SMTP_RELAY_SELF_H

#include <stdbool.h>

#include "dns.h"

/* 0.0.0.0/8, 127.0.0.0/8, ::, ::1, those as IPv4-mapped IPv6 addresses, or
 * an address of one of this host's non-loopback interfaces.  loopback_mx
 * (the allow_loopback_mx key) makes 127.0.0.2 and up other hosts: how a
 * host runs several mail servers, and how the tests run MX hosts. */
bool addr_is_self(const struct addr *a, bool loopback_mx);

#endif
