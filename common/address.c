/* address.c - RFC 5321 paths, mailboxes, domains and ESMTP parameters. */
#include "address.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* atext of RFC 5322 3.2.3 */
static bool is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Length of one UTF-8 sequence at s, 0 if it is not well-formed. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
	size_t need;
	unsigned min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { need = 2; min = 0x80; }
	else if ((s[0] & 0xf0) == 0xe0) { need = 3; min = 0x800; }
	else if ((s[0] & 0xf8) == 0xf0) { need = 4; min = 0x10000; }
	else return 0;
	if (len < need)
		return 0;
	unsigned cp = s[0] & (0x7f >> need);
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* Length of one character usable in an atom or label at s: ASCII by the
 * predicate, or a UTF-8 sequence when allowed.  0 if none. */
static size_t word_char(const char *s, size_t len, bool allow_utf8, bool (*ascii)(unsigned char))
{
	unsigned char c = (unsigned char)s[0];

	if (c < 0x80)
		return ascii(c) ? 1 : 0;
	return allow_utf8 ? utf8_sequence((const unsigned char *)s, len) : 0;
}

static bool is_let_dig_hyph(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '-'; }

bool domain_is_valid(const char *s, size_t len, bool allow_utf8)
{
	if (len == 0 || len > DOMAIN_MAX)
		return false;
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && s[i] != '.') {
			size_t n = word_char(s + i, len - i, allow_utf8, is_let_dig_hyph);
			if (n == 0)
				return false;
			i += n;
		}
		size_t label = i - start;
		/* sub-domain = Let-dig [Ldh-str]: no leading or trailing hyphen */
		if (label == 0 || label > 63 || s[start] == '-' || s[i - 1] == '-')
			return false;
		if (i < len)
			i++;             /* the dot */
		if (i == len && s[len - 1] == '.')
			return false;    /* trailing dot */
	}
	return true;
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 / tag ":" dcontent ) "]" */
static bool literal_is_valid(const char *s, size_t len)
{
	char buf[64];

	if (len < 3 || s[0] != '[' || s[len - 1] != ']' || len - 2 >= sizeof buf)
		return false;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	unsigned char v6[16];
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, v6) == 1;
	if (inet_pton(AF_INET, buf, v6) == 1)
		return true;
	const char *colon = strchr(buf, ':');
	if (!colon || colon == buf)
		return false;
	for (const char *p = buf; p < colon; p++)
		if (!is_let_dig_hyph((unsigned char)*p))
			return false;
	for (const char *p = colon + 1; *p; p++)    /* dcontent %d33-90 / %d94-126 */
		if (*p < 33 || *p > 126 || *p == '[' || *p == '\\' || *p == ']')
			return false;
	return colon[1] != '\0';
}

/* Dot-string = Atom *("." Atom); returns its length, 0 if none. */
static size_t scan_dot_string(const char *s, size_t len, bool allow_utf8)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		while (i < len) {
			size_t n = word_char(s + i, len - i, allow_utf8, is_atext);
			if (n == 0)
				break;
			i += n;
		}
		if (i == start)
			return 0;            /* empty atom: leading, trailing or double dot */
		if (i < len && s[i] == '.' && i + 1 < len && s[i + 1] != '@') {
			i++;
			continue;
		}
		if (i < len && s[i] == '.')
			return 0;
		return i;
	}
}

/* Quoted-string (RFC 5321 4.1.2); returns its length with quotes, 0 if none. */
static size_t scan_quoted_string(const char *s, size_t len, bool allow_utf8)
{
	size_t i = 1;

	while (i < len && s[i] != '"') {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 1 >= len || s[i + 1] < 32 || s[i + 1] > 126)
				return 0;
			i += 2;
		} else if (c >= 0x80) {
			size_t n = allow_utf8 ? utf8_sequence((const unsigned char *)s + i, len - i) : 0;
			if (n == 0)
				return 0;
			i += n;
		} else if (c < 32 || c > 126) {
			return 0;
		} else {
			i++;
		}
	}
	return i < len ? i + 1 : 0;
}

static bool has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* A-d-l = At-domain *( "," At-domain ) ":" ; returns its length, 0 if none. */
static size_t scan_source_route(const char *s, size_t len, bool allow_utf8)
{
	size_t i = 0;

	while (i < len && s[i] == '@') {
		size_t start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':' && s[i] != '>')
			i++;
		if (!domain_is_valid(s + start, i - start, allow_utf8))
			return 0;
		if (i < len && s[i] == ':')
			return i + 1;
		if (i >= len || s[i] != ',')
			return 0;
		i++;
	}
	return 0;
}

enum addr_status path_parse(const char *s, size_t len, bool allow_utf8,
                            struct mailbox *mb, size_t *used)
{
	memset(mb, 0, sizeof *mb);
	if (len < 2 || s[0] != '<')
		return ADDR_SYNTAX;
	/* a quoted local part may itself contain '>': find the real end */
	size_t end = 1;
	bool in_quote = false;
	for (; end < len; end++) {
		if (in_quote && s[end] == '\\' && end + 1 < len) { end++; continue; }
		if (s[end] == '"') in_quote = !in_quote;
		else if (!in_quote && s[end] == '>') break;
		else if (s[end] == '\0' || s[end] == '\r' || s[end] == '\n') return ADDR_SYNTAX;
	}
	if (end >= len)
		return ADDR_SYNTAX;
	*used = end + 1;
	if (end + 1 > PATH_MAX_OCTETS)
		return ADDR_SYNTAX;
	if (end == 1)
		return ADDR_NULL;

	const char *p = s + 1;
	size_t plen = end - 1;
	if (!allow_utf8 && has_8bit(p, plen))
		return ADDR_NEEDS_UTF8;

	if (p[0] == '@') {
		size_t route = scan_source_route(p, plen, allow_utf8);
		if (route == 0)
			return ADDR_SYNTAX;
		mb->source_route = true;
		p += route;
		plen -= route;
	}

	size_t local_len;
	if (plen > 0 && p[0] == '"') {
		local_len = scan_quoted_string(p, plen, allow_utf8);
		mb->quoted = true;
	} else {
		local_len = scan_dot_string(p, plen, allow_utf8);
	}
	if (local_len == 0 || local_len >= plen || p[local_len] != '@')
		return ADDR_BAD_LOCAL;
	if (local_len > LOCAL_PART_MAX)
		return ADDR_LOCAL_TOO_LONG;
	memcpy(mb->local, p, local_len);

	const char *dom = p + local_len + 1;
	size_t dom_len = plen - local_len - 1;
	if (dom_len > 0 && dom[0] == '[') {
		if (!literal_is_valid(dom, dom_len))
			return ADDR_BAD_DOMAIN;
		mb->literal = true;
	} else if (!domain_is_valid(dom, dom_len, allow_utf8)) {
		return ADDR_BAD_DOMAIN;
	}
	memcpy(mb->domain, dom, dom_len);
	return ADDR_OK;
}

bool mailbox_format(const struct mailbox *mb, char *buf, size_t size)
{
	size_t l = strlen(mb->local), d = strlen(mb->domain);

	if (l + 1 + d + 1 > size)
		return false;
	memcpy(buf, mb->local, l);
	buf[l] = '@';
	memcpy(buf + l + 1, mb->domain, d + 1);
	return true;
}

static bool is_param_key_char(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '-'; }

/* esmtp-param = esmtp-keyword ["=" esmtp-value]; esmtp-value = 1*(%d33-60 / %d62-126)
 * (RFC 5321 4.1.2; RFC 6531 widens the value to UTF-8, which no parameter
 * we know needs). */
bool param_next(const char **cursor, const char *end, struct param *p, bool *bad)
{
	const char *s = *cursor;

	*bad = false;
	while (s < end && *s == ' ')
		s++;
	if (s == end) {
		*cursor = s;
		return false;
	}
	p->key = s;
	while (s < end && is_param_key_char((unsigned char)*s))
		s++;
	p->key_len = (size_t)(s - p->key);
	p->value = NULL;
	p->value_len = 0;
	if (p->key_len == 0 || !is_alpha((unsigned char)p->key[0]))
		goto syntax;
	if (s < end && *s == '=') {
		p->value = ++s;
		while (s < end && *s >= 33 && *s <= 126 && *s != '=')
			s++;
		p->value_len = (size_t)(s - p->value);
		if (p->value_len == 0)
			goto syntax;
	}
	if (s < end && *s != ' ')
		goto syntax;
	*cursor = s;
	return true;
syntax:
	*bad = true;
	*cursor = end;
	return false;
}

bool string_is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}
