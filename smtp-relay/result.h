/* result.h - what happened to one recipient on one attempt. */
#ifndef SMTP_RELAY_RESULT_H
#define SMTP_RELAY_RESULT_H

#include <stdbool.h>
#include <stddef.h>

enum outcome {
	OUT_NONE,        /* not tried yet */
	OUT_OK,          /* 2xx: delivered */
	OUT_TEMP,        /* 4xx or trouble: retry later */
	OUT_PERM,        /* 5xx: bounce */
};

struct result {
	enum outcome outcome;
	int code;            /* SMTP reply code, ours when no server said it */
	char enh[16];        /* enhanced status code "5.1.1" */
	char mta[256];       /* the remote host that said it, or "" */
	char addr[64];       /* its address, or "" */
	char text[512];      /* its words */
	bool remote;         /* code and text are a remote SMTP server's reply */
	char tls[16];        /* "TLSv1.3" when the transaction went under TLS, else "none" */
	bool command;        /* text is a delivery command's verdict (pipe transport) */
};

/* Set r to our own verdict (no remote MTA). */
void result_set(struct result *r, enum outcome o, int code, const char *enh, const char *text);

/* "550 5.1.1 host text" (the envelope's rcpt-error and error format). */
void result_format(const struct result *r, char *buf, size_t size);

#endif
