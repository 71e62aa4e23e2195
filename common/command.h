/* command.h - run a delivery command: the message on its stdin, the
 * envelope in its environment (never on its command line: the values come
 * from the network), its output to the log, a timeout that kills its whole
 * process group, never as root.  Used by smtp-relay's pipe transport
 * (alias targets "|command") and smtpd-session's message_command. */
#ifndef MAILSOCK_COMMAND_H
#define MAILSOCK_COMMAND_H

#include <stddef.h>

enum command_end {
	COMMAND_EXITED,      /* status is the exit code */
	COMMAND_SIGNALED,    /* status is the signal */
	COMMAND_TIMEOUT,     /* killed (the process group) after the timeout */
	COMMAND_REFUSED,     /* not started: root without a user, fork, pipe (why says) */
};

struct command_result {
	enum command_end end;
	int status;
	char first[256];     /* the first line of its output, "" when none */
	char why[128];       /* COMMAND_REFUSED: the reason */
};

/* One variable of the command's environment. */
struct command_var {
	const char *name;
	const char *value;
};

/* Run "/bin/sh -c command" with the variables vars (and PATH, HOME),
 * stdin the file msgfd from offset 0 (read with pread), for at most
 * timeout seconds.  Started as root, the command runs as user, and not at
 * all when user is "".  Each line of its stdout and stderr is logged
 * (event=command-output).  out says how it ended. */
void command_run(const char *command, const struct command_var *vars, size_t n_vars, int msgfd,
                 unsigned timeout, const char *user, struct command_result *out);

/* What an exit means (sysexits.h; as Postfix's pipe(8)): 0 delivered;
 * 75 (EX_TEMPFAIL), 71 (EX_OSERR), a signal, the timeout or a refusal: try
 * later; any other exit: a permanent failure.  'D', 'T' or 'P'. */
char command_verdict(const struct command_result *r);

/* An enhanced status code (RFC 3463) of class cls ('4' or '5') at the start
 * of the command's first output line: copied to enh, the rest of the line
 * in *text.  False when there is none. */
int command_enhanced(const struct command_result *r, char cls, char *enh, size_t size,
                     const char **text);

#endif
