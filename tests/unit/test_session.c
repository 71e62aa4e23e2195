/* Unit tests for smtpd-session/session.c's command table and line mode,
 * built with SESSION_TEST_VERBS: its XLINE verb (five letters) takes the
 * next line in line mode, as AUTH's 334 exchange will, and echoes it. */
#include "check.h"
#include "config.h"
#include "log.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct config cfg;

/* Run one session on input; the replies go to out (NUL-terminated). */
static int run(const char *input, char *out, size_t size)
{
	int in = memfd_create("client", 0), rep = memfd_create("replies", 0);
	size_t len = strlen(input);

	if (in < 0 || rep < 0 || write(in, input, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) != 0)
		abort();
	int status = session_run(&cfg, in, rep);
	ssize_t n = pread(rep, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(in);
	close(rep);
	return status;
}

/* The replies after the greeting line. */
static const char *after_greeting(const char *out)
{
	const char *p = strstr(out, "\r\n");
	return p ? p + 2 : "";
}

int main(void)
{
	static char out[8192], input[2048];
	char err[256];

	unsetenv("TCPREMOTEIP");
	log_init("test_session", LOG_LEVEL_ERROR);
	config_init(&cfg);
	if (config_set(&cfg, "hostname=mx.example.org", "test", 0, err, sizeof err) < 0)
		abort();
	config_finish(&cfg);

	/* A verb of five letters is found; the line after it is not a command
	 * (QUIT does not quit), the one after that is again. */
	CHECK(run("XLINE\r\nQUIT\r\nNOOP\r\nQUIT\r\n", out, sizeof out) == 0);
	CHECK(strcmp(after_greeting(out), "334 Go ahead\r\n250 2.0.0 Line QUIT\r\n"
	             "250 2.0.0 Ok\r\n221 2.0.0 mx.example.org closing connection\r\n") == 0);

	/* A line too long in line mode ends it: the next line is a command. */
	snprintf(input, sizeof input, "xline\r\n%0600d\r\nNOOP\r\nQUIT\r\n", 0);
	CHECK(run(input, out, sizeof out) == 0);
	CHECK(strcmp(after_greeting(out), "334 Go ahead\r\n500 5.5.2 Line too long\r\n"
	             "250 2.0.0 Ok\r\n221 2.0.0 mx.example.org closing connection\r\n") == 0);

	/* Only the whole verb: a prefix or a longer word is unknown. */
	CHECK(run("XLIN\r\nXLINES\r\nNOOPX\r\nQUIT\r\n", out, sizeof out) == 0);
	CHECK(strcmp(after_greeting(out), "500 5.5.1 Command unrecognized\r\n"
	             "500 5.5.1 Command unrecognized\r\n500 5.5.1 Command unrecognized\r\n"
	             "221 2.0.0 mx.example.org closing connection\r\n") == 0);

	/* EOF in line mode is a clean end. */
	CHECK(run("XLINE\r\n", out, sizeof out) == 0);
	CHECK(strcmp(after_greeting(out), "334 Go ahead\r\n") == 0);
	return check_summary();
}
