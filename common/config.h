/* config.h - mailsock.conf: one "key = value" file for both programs. */
#ifndef MAILSOCK_CONFIG_H
#define MAILSOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_NETWORKS 64
#define CONFIG_NAME_MAX 256     /* a domain name, with room for the NUL */
#define CONFIG_PATH_MAX 1024
#define CONFIG_MAX_NAMESERVERS 8
#define CONFIG_ADDR_MAX 64        /* an IPv4 or IPv6 address as text */
#define CONFIG_USER_MAX 33         /* a user name, with room for the NUL */

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* smtp-relay's STARTTLS policy (relay_tls). */
enum relay_tls { RELAY_TLS_NONE, RELAY_TLS_MAY, RELAY_TLS_ENCRYPT, RELAY_TLS_VERIFY };
/* How the smarthost speaks TLS (smarthost_tls): STARTTLS, or TLS from the
 * first octet (implicit TLS, port 465, RFC 8314). */
enum smarthost_tls { SMARTHOST_STARTTLS, SMARTHOST_WRAPPER };

struct config {
	char hostname[CONFIG_NAME_MAX];
	char domains[CONFIG_MAX_DOMAINS][CONFIG_NAME_MAX];
	size_t n_domains;
	char mail_root[CONFIG_PATH_MAX];
	char queue_dir[CONFIG_PATH_MAX];
	struct cidr relay_networks[CONFIG_MAX_NETWORKS];
	size_t n_relay_networks;
	uint64_t max_message_size;
	unsigned max_recipients;
	unsigned timeout;               /* seconds */
	unsigned max_errors;
	enum log_level log_level;
	char user[CONFIG_USER_MAX];     /* switch to it when started as root; "" none */
	unsigned max_connections;       /* listening mode: sessions at once */
	unsigned max_connections_per_source;   /* listening mode: per client address */
	char tls_cert[CONFIG_PATH_MAX];  /* "": no STARTTLS */
	char tls_key[CONFIG_PATH_MAX];
	bool tls_wrapper;               /* TLS from the first octet (SMTPS) */
	bool require_tls;               /* MAIL before STARTTLS: 530 */
	char auth_users[CONFIG_PATH_MAX];   /* "" none: a file of login:crypt(3) hash */
	char auth_dovecot[CONFIG_PATH_MAX]; /* "" none: Dovecot's auth-client socket */
	bool auth_require_tls;          /* AUTH only over TLS */
	bool submission;                /* RFC 6409: MAIL needs AUTH; AUTH may relay */
	char local_delivery[CONFIG_PATH_MAX];  /* "" Maildirs, else an LMTP spec (lmtp_spec.h) */

	/* where mail goes (doc/delivery.md) */
	char aliases[CONFIG_PATH_MAX];  /* aliases(5) file, "" none */
	char message_command[CONFIG_PATH_MAX]; /* process_message, "" none */
	unsigned message_command_timeout;      /* seconds, also for "|command" targets */
	char capture[CONFIG_PATH_MAX];  /* the catch-all Maildir, "" none */

	/* smtp-relay */
	char nameservers[CONFIG_MAX_NAMESERVERS][CONFIG_ADDR_MAX];
	size_t n_nameservers;           /* 0: from resolv_conf */
	char resolv_conf[CONFIG_PATH_MAX]; /* "" for /etc/resolv.conf */
	unsigned nameserver_port;       /* 0: the resolver's default (53) */
	unsigned smtp_port;             /* port of MX hosts */
	char smarthost[CONFIG_NAME_MAX]; /* "" for none: host name or address */
	unsigned smarthost_port;
	unsigned queue_lifetime;        /* seconds */
	unsigned retry_min, retry_max;  /* seconds */
	char bounce_sender[CONFIG_NAME_MAX + 64]; /* "" until config_finish */
	unsigned max_parallel;
	unsigned connect_timeout, greeting_timeout, command_timeout, data_timeout;
	bool allow_loopback_mx;         /* 127.0.0.2 and up are other hosts */
	enum relay_tls relay_tls;
	enum smarthost_tls smarthost_tls;
	char smarthost_auth[CONFIG_PATH_MAX]; /* "login:password" file; "": no AUTH */
	char tls_ca_file[CONFIG_PATH_MAX];   /* trusted CAs for verify; "": the system's */
};

/* Defaults of every key (hostname from gethostname(2), no DNS). */
void config_init(struct config *cfg);

/* Read FILE.  When must_exist is false a missing file means "all defaults".
 * On error: -1 and a message "FILE:LINE: key: reason" in err. */
int config_load_file(struct config *cfg, const char *path, bool must_exist,
                     char *err, size_t errlen);

/* Apply one "key=value" (a -o option).  origin names it in messages. */
int config_set(struct config *cfg, const char *key_value, const char *origin,
               unsigned line, char *err, size_t errlen);

/* Fill the defaults that depend on other keys (domains = hostname). */
void config_finish(struct config *cfg);

/* Is domain (any case) one of the local domains? */
bool config_is_local_domain(const struct config *cfg, const char *domain);

#endif
