/* pickup.h - take local submissions out of QUEUE_DIR/maildrop/ (written
 * by mailsock-postdrop for mailsock-sendmail) into the Maildirs and the
 * queue, at the start of every run. */
#ifndef SMTP_RELAY_PICKUP_H
#define SMTP_RELAY_PICKUP_H

#include "config.h"

/* Each complete file of maildrop/: the message gets its trace field
 * naming the submitting uid (the file's owner) and the fields RFC 6409 8
 * asks for, then is stored for every recipient; only then is the file
 * removed.  A file that fails stays for the next run. */
void pickup_maildrop(const struct config *cfg, int queuefd);

#endif
