/* pipe.c - the pipe transport (pipe.h). */
#include "pipe.h"
#include "command.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* What the run means for the recipient, with the command's own enhanced
 * code when its first output line starts with one (as Postfix's pipe(8)). */
static void judge(const struct command_result *cr, struct result *r)
{
	char verdict = command_verdict(cr), enh[16], text[400];
	const char *said = "";

	if (verdict == 'D') {
		result_set(r, OUT_OK, 250, "2.0.0", "delivered to command");
		return;
	}
	if (cr->end == COMMAND_TIMEOUT)
		snprintf(text, sizeof text, "command timed out");
	else if (cr->end == COMMAND_SIGNALED)
		snprintf(text, sizeof text, "command killed by signal %d", cr->status);
	else if (cr->end == COMMAND_REFUSED)
		snprintf(text, sizeof text, "command not run: %s", cr->why);
	else
		snprintf(text, sizeof text, "command exited %d", cr->status);
	bool temp = verdict == 'T';
	if (command_enhanced(cr, temp ? '4' : '5', enh, sizeof enh, &said)) {
		char both[sizeof r->text];
		snprintf(both, sizeof both, "%s: %s", text, said);
		result_set(r, temp ? OUT_TEMP : OUT_PERM, temp ? 451 : 554, enh, both);
	} else {
		result_set(r, temp ? OUT_TEMP : OUT_PERM, temp ? 451 : 554, temp ? "4.3.0" : "5.3.0",
		           text);
	}
	r->command = true;
}

void pipe_deliver(const struct config *cfg, const struct envelope *env, const char *command,
                  const struct job *job)
{
	for (size_t i = 0; i < job->n; i++) {
		struct job_rcpt *j = job->rcpts[i];
		struct command_var vars[] = {
			{ "SENDER", env->sender }, { "RECIPIENT", j->rcpt->address },
			{ "PEER", strcmp(env->peer, "local") == 0 ? "" : env->peer },
			{ "HELO", env->helo }, { "SESSION_ID", env->session }, { "MESSAGE_ID", env->id },
		};
		struct command_result cr;
		command_run(command, vars, sizeof vars / sizeof vars[0], job->msg->fd,
		            cfg->message_command_timeout, cfg->user, &cr);
		judge(&cr, &j->result);
		if (j->result.outcome == OUT_OK && job->save) {
			struct job one = *job;
			one.rcpts = &job->rcpts[i];
			one.n = 1;
			if (job->save(job->save_arg, &one) < 0)
				return;
		}
	}
}
