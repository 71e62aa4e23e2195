/* address.h - RFC 5321 paths, mailboxes, domains and ESMTP parameters.
 * The one place where addresses from the network are parsed. */
#ifndef MAILSOCK_ADDRESS_H
#define MAILSOCK_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define LOCAL_PART_MAX 64    /* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX 255       /* RFC 5321 4.5.3.1.2 */
#define PATH_MAX_OCTETS 256  /* RFC 5321 4.5.3.1.3, with the brackets */
#define ADDRESS_MAX (LOCAL_PART_MAX + 1 + DOMAIN_MAX)   /* "local@domain" */

enum addr_status {
	ADDR_OK,
	ADDR_NULL,           /* "<>" */
	ADDR_SYNTAX,         /* not a path at all */
	ADDR_BAD_LOCAL,      /* local part syntax */
	ADDR_LOCAL_TOO_LONG, /* local part over 64 octets */
	ADDR_BAD_DOMAIN,     /* domain syntax (includes "..", "/", controls) */
	ADDR_NEEDS_UTF8,     /* non-ASCII without SMTPUTF8 (RFC 6531) */
};

struct mailbox {
	char local[LOCAL_PART_MAX + 1];   /* as sent; a quoted one with its quotes */
	char domain[DOMAIN_MAX + 1];      /* as sent, e.g. "Example.ORG" or "[1.2.3.4]" */
	bool quoted;                      /* local part was a quoted string */
	bool literal;                     /* domain is an address literal */
	bool source_route;                /* "@a,@b:" was given (and dropped) */
};

/* Parse a path "<...>" at the start of s.  allow_utf8 permits non-ASCII
 * (UTF-8) local parts and domains.  *used is set to the octets consumed. */
enum addr_status path_parse(const char *s, size_t len, bool allow_utf8,
                            struct mailbox *mb, size_t *used);

/* A domain name: dot-separated labels of letters, digits and hyphens
 * (RFC 5321 4.1.2), no trailing dot; UTF-8 labels if allow_utf8. */
bool domain_is_valid(const char *s, size_t len, bool allow_utf8);

/* "local@domain" into buf; returns false if it does not fit. */
bool mailbox_format(const struct mailbox *mb, char *buf, size_t size);

/* ESMTP parameters after a path: " KEY=VALUE KEY ...".  Each call yields
 * the next one; returns false at the end.  *bad is set on a syntax error. */
struct param {
	const char *key;
	size_t key_len;
	const char *value;      /* NULL when there is no "=" */
	size_t value_len;
};
bool param_next(const char **cursor, const char *end, struct param *p, bool *bad);

/* Does the string hold only ASCII octets? */
bool string_is_ascii(const char *s);

#endif
