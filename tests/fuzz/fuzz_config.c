/* fuzz_config - config_set (a -o option) and config_load_file (a whole
 * file) on hostile bytes.
 *
 * Invariants: whatever is accepted leaves a sane configuration (strings
 * terminated inside their arrays, counts within bounds, domains valid,
 * paths absolute, limits within their documented ranges); a refusal
 * always comes with a message. */
#include "fuzz.h"
#include "address.h"
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static void check_sane(const struct config *cfg)
{
	REQUIRE(strnlen(cfg->hostname, sizeof cfg->hostname) < sizeof cfg->hostname);
	REQUIRE(domain_is_valid(cfg->hostname, strlen(cfg->hostname), false));
	REQUIRE(cfg->n_domains <= CONFIG_MAX_DOMAINS);
	for (size_t i = 0; i < cfg->n_domains; i++) {
		REQUIRE(strnlen(cfg->domains[i], CONFIG_NAME_MAX) < CONFIG_NAME_MAX);
		REQUIRE(domain_is_valid(cfg->domains[i], strlen(cfg->domains[i]), false));
	}
	REQUIRE(cfg->mail_root[0] == '/' && strnlen(cfg->mail_root, CONFIG_PATH_MAX) < CONFIG_PATH_MAX);
	REQUIRE(cfg->queue_dir[0] == '/' && strnlen(cfg->queue_dir, CONFIG_PATH_MAX) < CONFIG_PATH_MAX);
	REQUIRE(cfg->n_relay_networks <= CONFIG_MAX_NETWORKS);
	REQUIRE(cfg->max_message_size >= 1024);
	REQUIRE(cfg->max_recipients >= 100 && cfg->max_errors >= 10 && cfg->timeout >= 1);
	REQUIRE(cfg->log_level <= LOG_LEVEL_DEBUG);
}

static void fuzz_option(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char err[1200] = "";
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	config_init(&cfg);
	if (config_set(&cfg, s, "-o", 0, err, sizeof err) < 0)
		REQUIRE(err[0] != '\0');
	config_finish(&cfg);
	check_sane(&cfg);
	free(s);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int fd = -1;
	char path[64], err[1200] = "";

	if (fd < 0)
		fd = memfd_create("fuzz-config", 0);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 0) == 0);
	REQUIRE(pwrite(fd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	config_init(&cfg);
	if (config_load_file(&cfg, path, true, err, sizeof err) < 0)
		REQUIRE(strncmp(err, path, strlen(path)) == 0);   /* names the file */
	config_finish(&cfg);
	check_sane(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_file(data + 1, size - 1);
	else
		fuzz_option(data + 1, size - 1);
	return 0;
}
