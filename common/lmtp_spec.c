/* lmtp_spec.c - "unix:/PATH" or "HOST:PORT": where an LMTP server listens. */
#include "lmtp_spec.h"
#include "address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define UNIX_PREFIX "unix:"

static bool is_ip_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Split "HOST:PORT" or "[ADDR]:PORT" into host and port. */
static const char *split_host_port(const char *spec, char *host, size_t size, unsigned *port)
{
	const char *end, *colon;

	if (*spec == '[') {
		end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return "expected [ADDRESS]:PORT";
		colon = end + 1;
		spec++;
	} else {
		colon = end = strrchr(spec, ':');
		if (!end)
			return "expected unix:/PATH or HOST:PORT";
	}
	if (end == spec || (size_t)(end - spec) >= size)
		return "bad host";
	memcpy(host, spec, (size_t)(end - spec));
	host[end - spec] = '\0';
	char *stop;
	unsigned long n = strtoul(colon + 1, &stop, 10);
	if (colon[1] < '0' || colon[1] > '9' || *stop != '\0' || n == 0 || n > 65535)
		return "bad port: expected 1 to 65535";
	*port = (unsigned)n;
	return NULL;
}

const char *lmtp_spec_check(const char *spec)
{
	char host[256];
	unsigned port;

	if (strncmp(spec, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
		const char *path = spec + strlen(UNIX_PREFIX);
		if (path[0] != '/')
			return "expected unix:/ABSOLUTE/PATH";
		if (strlen(path) >= sizeof ((struct sockaddr_un *)0)->sun_path)
			return "socket path too long";
		return NULL;
	}
	const char *why = split_host_port(spec, host, sizeof host, &port);
	if (why)
		return why;
	if (!is_ip_address(host) && !domain_is_valid(host, strlen(host), false))
		return "not a host name or IP address";
	return NULL;
}

static int unix_addr(const char *path, struct sockaddr_storage *sa, socklen_t *len)
{
	struct sockaddr_un *un = (struct sockaddr_un *)sa;

	memset(sa, 0, sizeof *sa);
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof un->sun_path, "%s", path);
	*len = (socklen_t)sizeof *un;
	return 0;
}

int lmtp_spec_addr(const char *spec, struct sockaddr_storage *sa, socklen_t *len,
                   const char **why)
{
	char host[256], service[8];
	unsigned port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;

	*why = lmtp_spec_check(spec);
	if (*why)
		return -1;
	if (strncmp(spec, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
		return unix_addr(spec + strlen(UNIX_PREFIX), sa, len);
	split_host_port(spec, host, sizeof host, &port);
	snprintf(service, sizeof service, "%u", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		*why = gai_strerror(rc);
		return -1;
	}
	memset(sa, 0, sizeof *sa);
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
