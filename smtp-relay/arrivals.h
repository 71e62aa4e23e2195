/* arrivals.h - entries queued while a run delivers, so that the run sends
 * them too instead of leaving them for the timer. */
#ifndef SMTP_RELAY_ARRIVALS_H
#define SMTP_RELAY_ARRIVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct arrivals;

/* Watch env/ (inotify) from now on, before the run lists it.  NULL when
 * the watch cannot be set up (logged): the timer's runs take what comes. */
struct arrivals *arrivals_watch(int queuefd);
void arrivals_free(struct arrivals *a);

/* ids (sorted, as queue_due_ids gives them, kept by the caller for the life
 * of the watch) are the entries the run has already. */
void arrivals_have(struct arrivals *a, char *const *ids, size_t n);

/* Wait up to timeout_ms for an entry to arrive. */
void arrivals_wait(struct arrivals *a, int timeout_ms);

/* Have the next arrivals_take list all of env/ again: every entry that is
 * due, except ids[handed..] of the run's listing (still to come from its
 * workers), whether the run had it or not.  A run kept going by a steady
 * stream of arrivals so still takes the retries that come due (an entry a
 * worker holds is skipped by its lock). */
void arrivals_relist(struct arrivals *a, size_t handed);

/* The entries renamed into env/ since the last call that are due, that the
 * run has not had yet and that no worker of the run wrote (mine(pid):
 * its own bounces wait for the next run, as before).  They count as had
 * from now on.  A malloc'd array of malloc'd names (NULL, *n 0: none). */
char **arrivals_take(struct arrivals *a, bool (*mine)(pid_t pid, void *arg), void *arg,
                     size_t *n);

#endif
