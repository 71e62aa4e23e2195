/* config.c - mailsock.conf: one "key = value" file for both programs.
 *
 * Each key is one row of keys[]: its name, the kind of its value, the field
 * of struct config it fills, its bounds and its default.  A new key of a
 * known kind is one row; a value with a syntax of its own (a list of
 * domains, networks or nameservers, a host and port) has its parser named
 * in its row.  An unknown key or a bad value is an error that names the
 * file, the line and the key. */
#include "config.h"
#include "address.h"
#include "fsutil.h"
#include "lmtp_spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The kinds of value a key may take.  A number is decimal digits with one
 * of its kind's unit suffixes, within the row's bounds. */
enum kind {
	KIND_COUNT,      /* unsigned: a plain number */
	KIND_SECONDS,    /* unsigned: a number with s, m, h or d */
	KIND_BYTES,      /* uint64_t: a number with K, M or G (powers of 1024) */
	KIND_PATH,       /* char[]: an absolute path */
	KIND_YES_NO,     /* bool */
	KIND_OWN,        /* the row's parse function */
};

typedef const char *parse_fn(struct config *cfg, const char *value);

/* One key.  config_init sets def_number into the field of a number or
 * yes/no key, and gives def_text to a path or KIND_OWN key as if read from
 * the file (NULL: the field stays zero, or config_init or config_finish
 * fills it). */
struct key {
	const char *name;
	size_t offset, size;            /* the field in struct config */
	enum kind kind;
	uint64_t min, max;              /* numbers: the accepted range */
	uint64_t def_number;
	const char *def_text;
	parse_fn *parse;                /* KIND_OWN */
};

/* A row of keys[] per kind; the key is named as its field in struct
 * config.  A field of a type other than the one its kind stores is a
 * compile error. */
#define FIELD(type, name) #name, \
	_Generic(((struct config *)0)->name, type: offsetof(struct config, name)), \
	sizeof ((struct config *)0)->name
#define COUNT(name, min, max, def)   { FIELD(unsigned, name), KIND_COUNT, min, max, def, NULL, NULL }
#define SECONDS(name, min, max, def) { FIELD(unsigned, name), KIND_SECONDS, min, max, def, NULL, NULL }
#define BYTES(name, min, max, def)   { FIELD(uint64_t, name), KIND_BYTES, min, max, def, NULL, NULL }
#define PATH(name, def)              { FIELD(char *, name), KIND_PATH, 0, 0, 0, def, NULL }
#define YES_NO(name, def)            { FIELD(bool, name), KIND_YES_NO, 0, 1, def, NULL, NULL }
#define OWN(name, parse, def) \
	{ #name, offsetof(struct config, name), sizeof ((struct config *)0)->name, \
	  KIND_OWN, 0, 0, 0, def, parse }

#define DAY (24u * 3600u)

/* A plain number in [min, max], as ports are (not a key of its own). */
static const struct key port_number = { "port", 0, 0, KIND_COUNT, 1, 65535, 0, NULL, NULL };

/* "n" with the largest of the units d, h, m, s that divides it. */
static void format_seconds(char *buf, size_t size, uint64_t n)
{
	static const struct { unsigned factor; char unit; } units[] = {
		{ DAY, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t i = 0;

	while (n % units[i].factor != 0)
		i++;
	snprintf(buf, size, "%" PRIu64 "%c", n / units[i].factor, units[i].unit);
}

/* Why a number is refused: the row's range in the row's units.  The text
 * lives in a static buffer until the next call. */
static const char *out_of_range(const struct key *k)
{
	static char why[80];
	char min[24], max[24];

	if (k->kind == KIND_SECONDS) {
		format_seconds(min, sizeof min, k->min);
		format_seconds(max, sizeof max, k->max);
	} else {
		snprintf(min, sizeof min, "%" PRIu64, k->min);
		snprintf(max, sizeof max, "%" PRIu64, k->max);
	}
	if (k->max == UINT64_MAX)
		snprintf(why, sizeof why, "must be at least %s", min);
	else
		snprintf(why, sizeof why, "must be between %s and %s", min, max);
	return why;
}

/* An unsigned decimal number with a unit suffix of the row's kind, within
 * the row's bounds. */
static const char *parse_number(const struct key *k, const char *value, uint64_t *out)
{
	static const uint64_t seconds[] = { 1, 60, 3600, DAY };
	static const uint64_t bytes[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	const char *units = k->kind == KIND_SECONDS ? "smhd" : k->kind == KIND_BYTES ? "KMG" : "";
	const uint64_t *factors = k->kind == KIND_SECONDS ? seconds : bytes;
	char *end;

	if (*value < '0' || *value > '9')
		return "expected a number";
	errno = 0;
	unsigned long long n = strtoull(value, &end, 10);
	if (errno == ERANGE)
		return "number too large";
	uint64_t factor = 1;
	if (*end != '\0') {
		const char *u = strchr(units, *end);
		if (!u || end[1] != '\0')
			return "bad number or unit";
		factor = factors[u - units];
	}
	if (n > UINT64_MAX / factor)
		return "number too large";
	n *= factor;
	if (n < k->min || n > k->max)
		return out_of_range(k);
	*out = (uint64_t)n;
	return NULL;
}

static const char *parse_hostname(struct config *cfg, const char *value)
{
	if (!domain_is_valid(value, strlen(value), false))
		return "not a valid host name";
	string_copy(cfg->hostname, sizeof cfg->hostname, value);
	return NULL;
}

static const char *parse_domains(struct config *cfg, const char *value)
{
	size_t n = 0;
	const char *p = value;

	while (*p) {
		size_t len = strcspn(p, " \t");
		if (len > 0) {
			if (n == CONFIG_MAX_DOMAINS)
				return "too many domains";
			if (!domain_is_valid(p, len, false))
				return "not a valid domain";
			memcpy(cfg->domains[n], p, len);
			cfg->domains[n][len] = '\0';
			n++;
		}
		p += len;
		p += strspn(p, " \t");
	}
	if (n == 0)
		return "needs at least one domain";
	cfg->n_domains = n;
	return NULL;
}

static const char *parse_path(char *dst, size_t size, const char *value)
{
	if (value[0] != '/')
		return "must be an absolute path";
	if (!string_copy(dst, size, value))
		return "path too long";
	return NULL;
}

static const char *parse_relay_networks(struct config *cfg, const char *value)
{
	size_t n = 0;
	const char *p = value + strspn(value, " \t");

	while (*p) {
		size_t len = strcspn(p, " \t");
		if (n == CONFIG_MAX_NETWORKS)
			return "too many networks";
		if (!cidr_parse(p, len, &cfg->relay_networks[n]))
			return "not a network in CIDR notation";
		n++;
		p += len;
		p += strspn(p, " \t");
	}
	cfg->n_relay_networks = n;     /* empty: nobody but local sessions relays */
	return NULL;
}

static const char *parse_log_level(struct config *cfg, const char *value)
{
	static const char *const names[] = { "error", "info", "debug" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(value, names[i]) == 0) {
			cfg->log_level = (enum log_level)i;
			return NULL;
		}
	return "must be error, info or debug";
}

/* ---- smtp-relay keys ---------------------------------------------------- */

/* A port number, 1 to 65535. */
static const char *parse_port(const char *value, unsigned *out)
{
	uint64_t n;
	const char *why = parse_number(&port_number, value, &n);

	if (!why)
		*out = (unsigned)n;
	return why;
}

static bool is_ip_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* One "ADDR[@PORT]" of nameservers into cfg; *port is its port or 0. */
static const char *parse_nameserver(struct config *cfg, const char *item, size_t len,
                                    unsigned *port)
{
	char buf[CONFIG_ADDR_MAX + 8];

	if (len >= sizeof buf)
		return "nameserver address too long";
	memcpy(buf, item, len);
	buf[len] = '\0';
	char *at = strchr(buf, '@');
	*port = 0;
	if (at) {
		*at = '\0';
		const char *why = parse_port(at + 1, port);
		if (why)
			return why;
	}
	if (!is_ip_address(buf))
		return "nameservers must be IP addresses, optionally with @PORT";
	string_copy(cfg->nameservers[cfg->n_nameservers++], CONFIG_ADDR_MAX, buf);
	return NULL;
}

/* Addresses, or the path of a resolv.conf file.  ldns has one port per
 * resolver, so all nameservers share one port. */
static const char *parse_nameservers(struct config *cfg, const char *value)
{
	const char *p = value + strspn(value, " \t");

	cfg->n_nameservers = 0;
	cfg->nameserver_port = 0;
	cfg->resolv_conf[0] = '\0';
	if (*p == '/')
		return parse_path(cfg->resolv_conf, sizeof cfg->resolv_conf, p);
	while (*p) {
		size_t len = strcspn(p, " \t");
		unsigned port;
		if (cfg->n_nameservers == CONFIG_MAX_NAMESERVERS)
			return "too many nameservers";
		const char *why = parse_nameserver(cfg, p, len, &port);
		if (why)
			return why;
		if (cfg->n_nameservers > 1 && port != cfg->nameserver_port)
			return "all nameservers must use the same port";
		cfg->nameserver_port = port;
		p += len;
		p += strspn(p, " \t");
	}
	return NULL;     /* empty: from /etc/resolv.conf */
}

/* "HOST", "HOST:PORT", "[ADDR]" or "[ADDR]:PORT" (ADDR IPv4 or IPv6). */
static const char *parse_smarthost(struct config *cfg, const char *value)
{
	char host[CONFIG_NAME_MAX];
	const char *end, *port = NULL;

	if (*value == '\0') {
		cfg->smarthost[0] = '\0';
		return NULL;
	}
	if (*value == '[') {
		end = strchr(value, ']');
		if (!end || (end[1] != '\0' && end[1] != ':'))
			return "expected [ADDRESS] or [ADDRESS]:PORT";
		port = end[1] == ':' ? end + 2 : NULL;
		value++;
	} else {
		end = strchr(value, ':');
		port = end ? end + 1 : NULL;
		if (!end)
			end = value + strlen(value);
	}
	if ((size_t)(end - value) >= sizeof host)
		return "host name too long";
	memcpy(host, value, (size_t)(end - value));
	host[end - value] = '\0';
	if (!is_ip_address(host) && !domain_is_valid(host, strlen(host), false))
		return "not a host name or IP address";
	unsigned n = 25;
	const char *why = port ? parse_port(port, &n) : NULL;
	if (why)
		return why;
	string_copy(cfg->smarthost, sizeof cfg->smarthost, host);
	cfg->smarthost_port = n;
	return NULL;
}

static const char *parse_bounce_sender(struct config *cfg, const char *value)
{
	const char *at = strrchr(value, '@');

	if (!at || at == value || (size_t)(at - value) > LOCAL_PART_MAX ||
	    strcspn(value, " \t<>\"\\") != strlen(value) ||
	    !domain_is_valid(at + 1, strlen(at + 1), false))
		return "expected local@domain";
	if (!string_copy(cfg->bounce_sender, sizeof cfg->bounce_sender, value))
		return "address too long";
	return NULL;
}

static const char *parse_relay_tls(struct config *cfg, const char *value)
{
	static const char *const names[] = { "none", "may", "encrypt", "verify" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(value, names[i]) == 0) {
			cfg->relay_tls = (enum relay_tls)i;
			return NULL;
		}
	return "must be none, may, encrypt or verify";
}

static const char *parse_smarthost_tls(struct config *cfg, const char *value)
{
	if (strcmp(value, "starttls") != 0 && strcmp(value, "wrapper") != 0)
		return "must be starttls or wrapper";
	cfg->smarthost_tls = value[0] == 'w' ? SMARTHOST_WRAPPER : SMARTHOST_STARTTLS;
	return NULL;
}

/* ---- smtpd-session keys --------------------------------------------------- */

/* A user name as useradd(8) takes them: no path or shell tricks. */
static const char *parse_user(struct config *cfg, const char *value)
{
	size_t len = strlen(value);

	if (len == 0) {
		cfg->user[0] = '\0';
		return NULL;
	}
	if (len >= sizeof cfg->user)
		return "user name too long";
	if (value[0] == '-' || strspn(value, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return "not a valid user name";
	string_copy(cfg->user, sizeof cfg->user, value);
	return NULL;
}

/* A path, or "" for none. */
static const char *parse_aliases(struct config *cfg, const char *value)
{
	cfg->aliases[0] = '\0';
	return value[0] ? parse_path(cfg->aliases, sizeof cfg->aliases, value) : NULL;
}

static const char *parse_capture(struct config *cfg, const char *value)
{
	cfg->capture[0] = '\0';
	if (!value[0])
		return NULL;
	if (strlen(value) < 2 || strlen(value) > 300)   /* it is a Maildir name in the session */
		return "expected an absolute path of 2 to 300 characters";
	return parse_path(cfg->capture, sizeof cfg->capture, value);
}

/* A shell command line, "" for none: one line of printable text. */
static const char *parse_message_command(struct config *cfg, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 && *p != '\t')
			return "control character in command";
	if (!string_copy(cfg->message_command, sizeof cfg->message_command, value))
		return "command too long";
	return NULL;
}

/* "maildir" (stored as "") or "lmtp:" and an LMTP spec (stored without
 * "lmtp:"). */
static const char *parse_local_delivery(struct config *cfg, const char *value)
{
	if (strcmp(value, "maildir") == 0) {
		cfg->local_delivery[0] = '\0';
		return NULL;
	}
	if (strncmp(value, "lmtp:", 5) != 0)
		return "expected maildir, lmtp:unix:/PATH or lmtp:HOST:PORT";
	const char *why = lmtp_spec_check(value + 5);
	if (why)
		return why;
	if (!string_copy(cfg->local_delivery, sizeof cfg->local_delivery, value + 5))
		return "too long";
	return NULL;
}

/* Every key.  Defaults that depend on the machine or on other keys:
 * hostname (the host's name: config_init), domains (the hostname) and
 * bounce_sender (MAILER-DAEMON@hostname): config_finish. */
static const struct key keys[] = {
	OWN(hostname, parse_hostname, NULL),
	OWN(domains, parse_domains, NULL),
	PATH(mail_root, "/var/mail/mailsock"),
	PATH(queue_dir, "/var/spool/mailsock"),
	OWN(relay_networks, parse_relay_networks, "127.0.0.0/8 ::1/128"),
	BYTES(max_message_size, 1024, UINT64_MAX, 33554432),
	COUNT(max_recipients, 100, 100000, 100),
	SECONDS(timeout, 1, 365 * DAY, 300),
	COUNT(max_errors, 10, 100000, 20),
	OWN(log_level, parse_log_level, "info"),
	OWN(user, parse_user, NULL),
	COUNT(max_connections, 1, 100000, 200),
	COUNT(max_connections_per_source, 1, 100000, 20),
	PATH(tls_cert, NULL),
	PATH(tls_key, NULL),
	YES_NO(tls_wrapper, false),
	YES_NO(require_tls, false),
	OWN(aliases, parse_aliases, NULL),
	OWN(message_command, parse_message_command, NULL),
	SECONDS(message_command_timeout, 1, 365 * DAY, 60),
	OWN(capture, parse_capture, NULL),
	PATH(auth_users, NULL),
	PATH(auth_dovecot, NULL),
	YES_NO(auth_require_tls, true),
	YES_NO(submission, false),
	OWN(local_delivery, parse_local_delivery, "maildir"),
	/* smtp-relay */
	OWN(nameservers, parse_nameservers, NULL),
	COUNT(smtp_port, 1, 65535, 25),
	OWN(smarthost, parse_smarthost, NULL),
	SECONDS(queue_lifetime, 1, 365 * DAY, 5 * DAY),    /* RFC 5321 4.5.4.1: 4-5 days */
	SECONDS(retry_min, 1, 365 * DAY, 300),
	SECONDS(retry_max, 1, 365 * DAY, 4 * 3600),
	OWN(bounce_sender, parse_bounce_sender, NULL),
	COUNT(max_parallel, 1, 64, 4),
	SECONDS(connect_timeout, 1, 365 * DAY, 30),
	SECONDS(greeting_timeout, 1, 365 * DAY, 300),       /* RFC 5321 4.5.3.2.1 */
	SECONDS(command_timeout, 1, 365 * DAY, 300),        /* 4.5.3.2.2-3: MAIL, RCPT */
	SECONDS(data_timeout, 1, 365 * DAY, 600),           /* 4.5.3.2.6: the final "." */
	YES_NO(allow_loopback_mx, false),
	OWN(relay_tls, parse_relay_tls, "may"),
	OWN(smarthost_tls, parse_smarthost_tls, NULL),
	PATH(smarthost_auth, NULL),
	PATH(tls_ca_file, NULL),
};

/* Put value (already checked) into k's field of cfg. */
static void store_number(struct config *cfg, const struct key *k, uint64_t value)
{
	char *field = (char *)cfg + k->offset;

	if (k->kind == KIND_BYTES) {
		memcpy(field, &value, sizeof value);
	} else if (k->kind == KIND_YES_NO) {
		bool b = value != 0;
		memcpy(field, &b, sizeof b);
	} else {
		unsigned u = (unsigned)value;
		memcpy(field, &u, sizeof u);
	}
}

/* Parse value into k's field of cfg: NULL, or why not. */
static const char *set_key(struct config *cfg, const struct key *k, const char *value)
{
	uint64_t n;
	const char *why;

	switch (k->kind) {
	case KIND_PATH:
		return parse_path((char *)cfg + k->offset, k->size, value);
	case KIND_YES_NO:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return "expected yes or no";
		store_number(cfg, k, value[0] == 'y');
		return NULL;
	case KIND_OWN:
		return k->parse(cfg, value);
	case KIND_COUNT:
	case KIND_SECONDS:
	case KIND_BYTES:
		break;
	}
	why = parse_number(k, value, &n);
	if (!why)
		store_number(cfg, k, n);
	return why;
}

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (const struct key *k = keys; k < keys + sizeof keys / sizeof keys[0]; k++) {
		if (k->kind == KIND_PATH || k->kind == KIND_OWN) {
			if (k->def_text)
				set_key(cfg, k, k->def_text);
		} else {
			store_number(cfg, k, k->def_number);
		}
	}
	if (gethostname(cfg->hostname, sizeof cfg->hostname - 1) < 0 ||
	    !domain_is_valid(cfg->hostname, strlen(cfg->hostname), false))
		string_copy(cfg->hostname, sizeof cfg->hostname, "localhost");
}

void config_finish(struct config *cfg)
{
	if (cfg->n_domains == 0) {
		string_copy(cfg->domains[0], CONFIG_NAME_MAX, cfg->hostname);
		cfg->n_domains = 1;
	}
	if (cfg->bounce_sender[0] == '\0')
		snprintf(cfg->bounce_sender, sizeof cfg->bounce_sender, "MAILER-DAEMON@%s",
		         cfg->hostname);
	if (cfg->retry_max < cfg->retry_min)
		cfg->retry_max = cfg->retry_min;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	return s;
}

/* The start of every message about a line: "FILE:LINE", or origin alone
 * for a -o option (line 0). */
static const char *where(char *buf, size_t size, const char *origin, unsigned line)
{
	if (line > 0)
		snprintf(buf, size, "%s:%u", origin, line);
	else
		snprintf(buf, size, "%s", origin);
	return buf;
}

static const struct key *find_key(const char *name)
{
	for (const struct key *k = keys; k < keys + sizeof keys / sizeof keys[0]; k++)
		if (strcmp(name, k->name) == 0)
			return k;
	return NULL;
}

int config_set(struct config *cfg, const char *key_value, const char *origin,
               unsigned line, char *err, size_t errlen)
{
	char buf[4096];
	char at[CONFIG_PATH_MAX + 32];

	if (!string_copy(buf, sizeof buf, key_value)) {
		snprintf(err, errlen, "%s: line too long", where(at, sizeof at, origin, line));
		return -1;
	}
	char *eq = strchr(buf, '=');
	if (!eq) {
		snprintf(err, errlen, "%s: expected \"key = value\"", where(at, sizeof at, origin, line));
		return -1;
	}
	*eq = '\0';
	char *key = trim(buf);
	char *value = trim(eq + 1);
	const struct key *k = find_key(key);
	if (!k) {
		snprintf(err, errlen, "%s: unknown key \"%.64s\"", where(at, sizeof at, origin, line), key);
		return -1;
	}
	const char *why = set_key(cfg, k, value);
	if (why) {
		snprintf(err, errlen, "%s: %s: %s", where(at, sizeof at, origin, line), key, why);
		return -1;
	}
	return 0;
}

int config_load_file(struct config *cfg, const char *path, bool must_exist,
                     char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}

	char line[4096];
	unsigned lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		rc = config_set(cfg, s, path, lineno, err, errlen);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

bool config_is_local_domain(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->n_domains; i++)
		if (strcasecmp(cfg->domains[i], domain) == 0)
			return true;
	return false;
}
