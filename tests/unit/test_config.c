/* Unit tests for common/config.c: keys, values, files and errors. */
#include "config.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[1200];

static int set(struct config *cfg, const char *kv)
{
	return config_set(cfg, kv, "-o", 0, err, sizeof err);
}

static void test_defaults(void)
{
	struct config cfg;

	config_init(&cfg);
	config_finish(&cfg);
	CHECK(cfg.max_message_size == 33554432);
	CHECK(cfg.max_recipients == 100 && cfg.timeout == 300 && cfg.max_errors == 20);
	CHECK(strcmp(cfg.mail_root, "/var/mail/mailsock") == 0);
	CHECK(strcmp(cfg.queue_dir, "/var/spool/mailsock") == 0);
	CHECK(cfg.n_domains == 1 && strcmp(cfg.domains[0], cfg.hostname) == 0);
	CHECK(cfg.n_relay_networks == 2 && cfg.log_level == LOG_LEVEL_INFO);
}

static void test_values(void)
{
	struct config cfg;

	config_init(&cfg);
	CHECK(set(&cfg, "hostname=mx.example.org") == 0);
	CHECK(set(&cfg, "domains =  example.org   Example.NET ") == 0 && cfg.n_domains == 2);
	CHECK(config_is_local_domain(&cfg, "EXAMPLE.org") && config_is_local_domain(&cfg, "example.net"));
	CHECK(!config_is_local_domain(&cfg, "sub.example.org"));
	CHECK(set(&cfg, "max_message_size = 10M") == 0 && cfg.max_message_size == 10485760);
	CHECK(set(&cfg, "timeout = 2m") == 0 && cfg.timeout == 120);
	CHECK(set(&cfg, "relay_networks =") == 0 && cfg.n_relay_networks == 0);
	CHECK(set(&cfg, "relay_networks = 10.0.0.0/8 fd00::/8") == 0 && cfg.n_relay_networks == 2);
	CHECK(set(&cfg, "log_level = debug") == 0 && cfg.log_level == LOG_LEVEL_DEBUG);
}

static void test_errors(void)
{
	struct config cfg;

	config_init(&cfg);
	CHECK(set(&cfg, "nonsense = 1") < 0 && strstr(err, "unknown key \"nonsense\""));
	CHECK(set(&cfg, "no equals sign") < 0 && strstr(err, "key = value"));
	CHECK(set(&cfg, "max_recipients = 99") < 0 && strstr(err, "max_recipients"));
	CHECK(set(&cfg, "max_errors = 9") < 0);
	CHECK(set(&cfg, "max_message_size = 12Q") < 0);
	CHECK(set(&cfg, "max_message_size = -1") < 0);
	CHECK(set(&cfg, "max_message_size = 99999999999999999999999") < 0);
	CHECK(set(&cfg, "timeout = 0") < 0);
	CHECK(set(&cfg, "mail_root = relative/path") < 0 && strstr(err, "absolute"));
	CHECK(set(&cfg, "relay_networks = 10.0.0.0/40") < 0);
	CHECK(set(&cfg, "hostname = bad_host") < 0);
	CHECK(set(&cfg, "domains = a/b") < 0);
	CHECK(set(&cfg, "log_level = loud") < 0);
}

static void test_relay_keys(void)
{
	struct config cfg;

	config_init(&cfg);
	CHECK(set(&cfg, "hostname = mx.example.org") == 0);
	config_finish(&cfg);
	CHECK(cfg.smtp_port == 25 && cfg.queue_lifetime == 5 * 86400 && cfg.max_parallel == 4);
	CHECK(cfg.retry_min == 300 && cfg.retry_max == 4 * 3600 && cfg.n_nameservers == 0);
	CHECK(cfg.smarthost[0] == '\0' && strcmp(cfg.bounce_sender, "MAILER-DAEMON@mx.example.org") == 0);
	CHECK(cfg.greeting_timeout == 300 && cfg.command_timeout == 300 && cfg.data_timeout == 600);
	CHECK(set(&cfg, "nameservers = 127.0.0.1@5353 ::1@5353") == 0 && cfg.n_nameservers == 2);
	CHECK(cfg.nameserver_port == 5353 && strcmp(cfg.nameservers[1], "::1") == 0);
	CHECK(set(&cfg, "nameservers = 192.0.2.1") == 0 && cfg.nameserver_port == 0);
	CHECK(set(&cfg, "nameservers = 127.0.0.1@53 ::1@54") < 0 && strstr(err, "same port"));
	CHECK(set(&cfg, "nameservers = ns.example.org") < 0);
	CHECK(!cfg.allow_loopback_mx && set(&cfg, "allow_loopback_mx = yes") == 0 && cfg.allow_loopback_mx);
	CHECK(set(&cfg, "allow_loopback_mx = maybe") < 0);
	CHECK(set(&cfg, "nameservers = /etc/mailsock/resolv.conf") == 0 && cfg.n_nameservers == 0);
	CHECK(strcmp(cfg.resolv_conf, "/etc/mailsock/resolv.conf") == 0);
	CHECK(set(&cfg, "nameservers =") == 0 && cfg.resolv_conf[0] == '\0');
	CHECK(set(&cfg, "nameservers = 127.0.0.1@0") < 0);
	CHECK(set(&cfg, "smarthost = relay.example.net:587") == 0);
	CHECK(strcmp(cfg.smarthost, "relay.example.net") == 0 && cfg.smarthost_port == 587);
	CHECK(set(&cfg, "smarthost = [::1]:2525") == 0 && strcmp(cfg.smarthost, "::1") == 0);
	CHECK(set(&cfg, "smarthost = 192.0.2.7") == 0 && cfg.smarthost_port == 25);
	CHECK(set(&cfg, "smarthost = [::1") < 0 && set(&cfg, "smarthost = a_b:25") < 0);
	CHECK(set(&cfg, "smarthost = host:99999") < 0);
	CHECK(set(&cfg, "smarthost =") == 0 && cfg.smarthost[0] == '\0');
	CHECK(set(&cfg, "smtp_port = 2525") == 0 && cfg.smtp_port == 2525);
	CHECK(set(&cfg, "smtp_port = 0") < 0 && set(&cfg, "smtp_port = 65536") < 0);
	CHECK(set(&cfg, "queue_lifetime = 3d") == 0 && cfg.queue_lifetime == 3 * 86400);
	CHECK(set(&cfg, "retry_min = 1m") == 0 && set(&cfg, "retry_max = 2h") == 0);
	CHECK(cfg.retry_min == 60 && cfg.retry_max == 7200);
	CHECK(set(&cfg, "bounce_sender = bounces@example.org") == 0);
	CHECK(set(&cfg, "bounce_sender = nobody") < 0 && set(&cfg, "bounce_sender = <a@b>") < 0);
	CHECK(set(&cfg, "max_parallel = 0") < 0 && set(&cfg, "max_parallel = 8") == 0);
	CHECK(set(&cfg, "connect_timeout = 10s") == 0 && cfg.connect_timeout == 10);
	CHECK(set(&cfg, "data_timeout = 0") < 0);
}

/* The messages a user reads, word for word, and the session keys that had
 * no test. */
/* local_delivery: maildir, or lmtp: and a spec (common/lmtp_spec.c). */
static void test_local_delivery(void)
{
	struct config cfg;

	config_init(&cfg);
	CHECK(cfg.local_delivery[0] == '\0');
	CHECK(set(&cfg, "local_delivery = lmtp:unix:/run/dovecot/lmtp") == 0);
	CHECK(strcmp(cfg.local_delivery, "unix:/run/dovecot/lmtp") == 0);
	CHECK(set(&cfg, "local_delivery = lmtp:127.0.0.1:8024") == 0);
	CHECK(strcmp(cfg.local_delivery, "127.0.0.1:8024") == 0);
	CHECK(set(&cfg, "local_delivery = lmtp:[::1]:24") == 0 && strcmp(cfg.local_delivery, "[::1]:24") == 0);
	CHECK(set(&cfg, "local_delivery = lmtp:lists.example.org:24") == 0);
	CHECK(set(&cfg, "local_delivery = lmtp:unix:run/lmtp") < 0 && strstr(err, "ABSOLUTE"));
	CHECK(set(&cfg, "local_delivery = lmtp:127.0.0.1") < 0);
	CHECK(set(&cfg, "local_delivery = lmtp:127.0.0.1:0") < 0);
	CHECK(set(&cfg, "local_delivery = lmtp:127.0.0.1:65536") < 0);
	CHECK(set(&cfg, "local_delivery = lmtp:a_b:24") < 0);
	CHECK(set(&cfg, "local_delivery = lmtp:[::1:24") < 0);
	CHECK(set(&cfg, "local_delivery = mbox") < 0 && strstr(err, "expected maildir"));
	/* a refused value changes nothing */
	CHECK(strcmp(cfg.local_delivery, "lists.example.org:24") == 0);
	CHECK(set(&cfg, "local_delivery = maildir") == 0 && cfg.local_delivery[0] == '\0');
}

static void test_messages(void)
{
	struct config cfg;

	config_init(&cfg);
	CHECK(cfg.user[0] == '\0' && cfg.max_connections == 200 && cfg.max_connections_per_source == 20);
	CHECK(set(&cfg, "timeout = 366d") < 0 && strcmp(err, "-o: timeout: must be between 1s and 365d") == 0);
	CHECK(set(&cfg, "max_message_size = 1023") < 0 &&
	      strcmp(err, "-o: max_message_size: must be at least 1024") == 0);
	CHECK(set(&cfg, "max_message_size = 1k") < 0 &&
	      strcmp(err, "-o: max_message_size: bad number or unit") == 0);
	CHECK(set(&cfg, "max_recipients = 100001") < 0 &&
	      strcmp(err, "-o: max_recipients: must be between 100 and 100000") == 0);
	CHECK(set(&cfg, "smtp_port = x") < 0 && strcmp(err, "-o: smtp_port: expected a number") == 0);
	CHECK(set(&cfg, "retry_max = 99999999999999999999") < 0 &&
	      strcmp(err, "-o: retry_max: number too large") == 0);
	CHECK(set(&cfg, "smarthost = h:0") < 0 &&
	      strcmp(err, "-o: smarthost: must be between 1 and 65535") == 0);
	CHECK(set(&cfg, "allow_loopback_mx = maybe") < 0 &&
	      strcmp(err, "-o: allow_loopback_mx: expected yes or no") == 0);
	CHECK(config_set(&cfg, "max_parallel = 65", "/etc/m.conf", 3, err, sizeof err) < 0 &&
	      strcmp(err, "/etc/m.conf:3: max_parallel: must be between 1 and 64") == 0);
	CHECK(set(&cfg, "max_connections = 0") < 0 && set(&cfg, "max_connections = 100001") < 0);
	CHECK(set(&cfg, "max_connections = 100000") == 0 && cfg.max_connections == 100000);
	CHECK(set(&cfg, "max_connections_per_source = 1") == 0 && cfg.max_connections_per_source == 1);
	CHECK(set(&cfg, "user = mail") == 0 && strcmp(cfg.user, "mail") == 0);
	CHECK(set(&cfg, "user = -x") < 0 && strcmp(err, "-o: user: not a valid user name") == 0);
	CHECK(set(&cfg, "user = ../x") < 0 && set(&cfg, "user =") == 0 && cfg.user[0] == '\0');
	CHECK(set(&cfg, "allow_loopback_mx = yes") == 0 && cfg.allow_loopback_mx);
	CHECK(set(&cfg, "allow_loopback_mx = no") == 0 && !cfg.allow_loopback_mx);
}

static void test_file(void)
{
	char path[] = "/tmp/mailsock-config-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "# a comment\n\nhostname = mx.example.org\n  domains=example.org\nbogus = 1\n";
	struct config cfg;

	CHECK(fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
	close(fd);
	config_init(&cfg);
	CHECK(config_load_file(&cfg, path, true, err, sizeof err) < 0);
	CHECK(strstr(err, ":5: unknown key \"bogus\"") != NULL);
	CHECK(strcmp(cfg.hostname, "mx.example.org") == 0);
	unlink(path);
	config_init(&cfg);
	CHECK(config_load_file(&cfg, path, false, err, sizeof err) == 0);   /* default path may be absent */
	CHECK(config_load_file(&cfg, path, true, err, sizeof err) < 0);     /* -c FILE must exist */
}

int main(void)
{
	test_defaults();
	test_values();
	test_errors();
	test_relay_keys();
	test_local_delivery();
	test_messages();
	test_file();
	return check_summary();
}
