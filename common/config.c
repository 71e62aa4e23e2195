/* config.c - mailsock.conf: one "key = value" file for both programs.
 *
 * Each key is one row of a table: its name, how to parse its value, and
 * where the value goes.  An unknown key or a bad value is an error that
 * names the file, the line and the key. */
#include "config.h"
#include "address.h"
#include "fsutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef const char *(*parse_fn)(struct config *cfg, const char *value);

struct key {
	const char *name;
	parse_fn parse;
};

/* An unsigned decimal number with an optional unit suffix. */
static const char *parse_number(const char *value, const char *units,
                                const uint64_t *factors, uint64_t *out)
{
	char *end;

	if (*value < '0' || *value > '9')
		return "expected a number";
	errno = 0;
	unsigned long long n = strtoull(value, &end, 10);
	if (errno == ERANGE)
		return "number too large";
	uint64_t factor = 1;
	if (*end != '\0') {
		const char *u = units ? strchr(units, *end) : NULL;
		if (!u || *end == '\0' || end[1] != '\0')
			return "bad number or unit";
		factor = factors[u - units];
	}
	if (factor != 0 && n > UINT64_MAX / factor)
		return "number too large";
	*out = (uint64_t)n * factor;
	return NULL;
}

static const char *parse_uint(const char *value, unsigned min, unsigned max, unsigned *out)
{
	uint64_t n;
	const char *why = parse_number(value, NULL, NULL, &n);

	if (why)
		return why;
	static char why_range[64];
	if (n < min || n > max) {
		snprintf(why_range, sizeof why_range, "must be between %u and %u", min, max);
		return why_range;
	}
	*out = (unsigned)n;
	return NULL;
}

/* Seconds, with optional s, m, h or d. */
static const char *parse_duration(const char *value, unsigned *out)
{
	static const uint64_t factors[] = { 1, 60, 3600, 86400 };
	uint64_t n;
	const char *why = parse_number(value, "smhd", factors, &n);

	if (why)
		return why;
	if (n == 0 || n > 365u * 86400u)
		return "must be between 1s and 365d";
	*out = (unsigned)n;
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

static const char *parse_path(char *dst, const char *value)
{
	if (value[0] != '/')
		return "must be an absolute path";
	if (!string_copy(dst, CONFIG_PATH_MAX, value))
		return "path too long";
	return NULL;
}

static const char *parse_mail_root(struct config *cfg, const char *value)
{
	return parse_path(cfg->mail_root, value);
}

static const char *parse_queue_dir(struct config *cfg, const char *value)
{
	return parse_path(cfg->queue_dir, value);
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

static const char *parse_max_message_size(struct config *cfg, const char *value)
{
	static const uint64_t factors[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	uint64_t n;
	const char *why = parse_number(value, "KMG", factors, &n);

	if (why)
		return why;
	if (n < 1024)
		return "must be at least 1024";
	cfg->max_message_size = n;
	return NULL;
}

static const char *parse_max_recipients(struct config *cfg, const char *value)
{
	return parse_uint(value, 100, 100000, &cfg->max_recipients);
}

static const char *parse_timeout(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->timeout);
}

static const char *parse_max_errors(struct config *cfg, const char *value)
{
	return parse_uint(value, 10, 100000, &cfg->max_errors);
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

static const char *parse_port(const char *value, unsigned *out)
{
	return parse_uint(value, 1, 65535, out);
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
		return parse_path(cfg->resolv_conf, p);
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

static const char *parse_smtp_port(struct config *cfg, const char *value)
{
	return parse_port(value, &cfg->smtp_port);
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

static const char *parse_queue_lifetime(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->queue_lifetime);
}

static const char *parse_retry_min(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->retry_min);
}

static const char *parse_retry_max(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->retry_max);
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

static const char *parse_max_parallel(struct config *cfg, const char *value)
{
	return parse_uint(value, 1, 64, &cfg->max_parallel);
}

static const char *parse_connect_timeout(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->connect_timeout);
}

static const char *parse_greeting_timeout(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->greeting_timeout);
}

static const char *parse_command_timeout(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->command_timeout);
}

static const char *parse_data_timeout(struct config *cfg, const char *value)
{
	return parse_duration(value, &cfg->data_timeout);
}

static const char *parse_allow_loopback_mx(struct config *cfg, const char *value)
{
	if (strcmp(value, "yes") == 0)
		cfg->allow_loopback_mx = true;
	else if (strcmp(value, "no") == 0)
		cfg->allow_loopback_mx = false;
	else
		return "expected yes or no";
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

static const char *parse_max_connections(struct config *cfg, const char *value)
{
	return parse_uint(value, 1, 100000, &cfg->max_connections);
}

static const char *parse_max_connections_per_source(struct config *cfg, const char *value)
{
	return parse_uint(value, 1, 100000, &cfg->max_connections_per_source);
}

static const struct key keys[] = {
	{ "hostname", parse_hostname },
	{ "domains", parse_domains },
	{ "mail_root", parse_mail_root },
	{ "queue_dir", parse_queue_dir },
	{ "relay_networks", parse_relay_networks },
	{ "max_message_size", parse_max_message_size },
	{ "max_recipients", parse_max_recipients },
	{ "timeout", parse_timeout },
	{ "max_errors", parse_max_errors },
	{ "log_level", parse_log_level },
	{ "nameservers", parse_nameservers },
	{ "smtp_port", parse_smtp_port },
	{ "smarthost", parse_smarthost },
	{ "queue_lifetime", parse_queue_lifetime },
	{ "retry_min", parse_retry_min },
	{ "retry_max", parse_retry_max },
	{ "bounce_sender", parse_bounce_sender },
	{ "max_parallel", parse_max_parallel },
	{ "connect_timeout", parse_connect_timeout },
	{ "greeting_timeout", parse_greeting_timeout },
	{ "command_timeout", parse_command_timeout },
	{ "data_timeout", parse_data_timeout },
	{ "allow_loopback_mx", parse_allow_loopback_mx },
	{ "user", parse_user },
	{ "max_connections", parse_max_connections },
	{ "max_connections_per_source", parse_max_connections_per_source },
};

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	if (gethostname(cfg->hostname, sizeof cfg->hostname - 1) < 0 ||
	    !domain_is_valid(cfg->hostname, strlen(cfg->hostname), false))
		string_copy(cfg->hostname, sizeof cfg->hostname, "localhost");
	string_copy(cfg->mail_root, sizeof cfg->mail_root, "/var/mail/mailsock");
	string_copy(cfg->queue_dir, sizeof cfg->queue_dir, "/var/spool/mailsock");
	parse_relay_networks(cfg, "127.0.0.0/8 ::1/128");
	cfg->max_message_size = 33554432;
	cfg->max_recipients = 100;
	cfg->timeout = 300;
	cfg->max_errors = 20;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->smtp_port = 25;
	cfg->queue_lifetime = 5 * 86400;        /* RFC 5321 4.5.4.1: 4-5 days */
	cfg->retry_min = 300;
	cfg->retry_max = 4 * 3600;
	cfg->max_parallel = 4;
	cfg->connect_timeout = 30;
	cfg->greeting_timeout = 300;            /* RFC 5321 4.5.3.2.1 */
	cfg->command_timeout = 300;             /* 4.5.3.2.2-3: MAIL, RCPT */
	cfg->data_timeout = 600;                /* 4.5.3.2.6: the final "." */
	cfg->max_connections = 200;
	cfg->max_connections_per_source = 20;
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

int config_set(struct config *cfg, const char *key_value, const char *origin,
               unsigned line, char *err, size_t errlen)
{
	char buf[4096];
	char where[CONFIG_PATH_MAX + 32];

	if (line > 0)
		snprintf(where, sizeof where, "%s:%u", origin, line);
	else
		snprintf(where, sizeof where, "%s", origin);

	if (!string_copy(buf, sizeof buf, key_value)) {
		snprintf(err, errlen, "%s: line too long", where);
		return -1;
	}
	char *eq = strchr(buf, '=');
	if (!eq) {
		snprintf(err, errlen, "%s: expected \"key = value\"", where);
		return -1;
	}
	*eq = '\0';
	char *key = trim(buf);
	char *value = trim(eq + 1);

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(key, keys[i].name) != 0)
			continue;
		const char *why = keys[i].parse(cfg, value);
		if (why) {
			snprintf(err, errlen, "%s: %s: %s", where, key, why);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: unknown key \"%.64s\"", where, key);
	return -1;
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
