/* pipe.h - the pipe transport: recipients whose envelope line says
 * "rcpt-via pipe COMMAND" (alias targets "|command") are delivered by
 * running COMMAND, once per recipient (doc/delivery.md). */
#ifndef SMTP_RELAY_PIPE_H
#define SMTP_RELAY_PIPE_H

#include "smtp.h"
#include "config.h"
#include "queue.h"

/* Run the command of job's recipients (all share it) for each of them;
 * each one's result says what its run meant.  job->save is called after
 * each delivered run. */
void pipe_deliver(const struct config *cfg, const struct envelope *env, const char *command,
                  const struct job *job);

#endif
