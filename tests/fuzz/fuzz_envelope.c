/* fuzz_envelope - envelope_read on hostile queue files, and a round trip.
 *
 * Invariants: an accepted envelope has an id that is a safe file name
 * (it names msg/ID and env/ID), a sender and at least one recipient;
 * writing it with envelope_write and reading it back gives the same
 * envelope (CR in values becomes a space on the way out). */
#include "fuzz.h"
#include "queue.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static int queuefd = -1;

static void open_queue(void)
{
	const char *shm = getenv("FUZZ_SHM");
	char dir[512];

	if (queuefd >= 0)
		return;
	snprintf(dir, sizeof dir, "%s/fuzz-envelope-XXXXXX", shm ? shm : "/dev/shm");
	REQUIRE(mkdtemp(dir));
	queuefd = queue_open(dir);
	REQUIRE(queuefd >= 0);
}

static bool same_text(const char *written, const char *read)
{
	if (!written || !read)
		return written == read;
	for (; *written && *read; written++, read++)
		if ((*written == '\r' ? ' ' : *written) != *read)
			return false;
	return *written == *read;
}

static bool safe_name(const char *id)
{
	if (!id[0] || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	return strpbrk(id, "/ \t") == NULL;
}

static void round_trip(const struct envelope *env)
{
	char path[UNIQUE_ID_MAX + 8];
	struct envelope back;

	REQUIRE(envelope_write(queuefd, env) == 0);
	snprintf(path, sizeof path, "env/%s", env->id);
	int fd = openat(queuefd, path, O_RDONLY);
	REQUIRE(fd >= 0);
	FILE *f = fdopen(fd, "r");
	REQUIRE(f && envelope_read(f, &back) == 0);
	fclose(f);
	unlinkat(queuefd, path, 0);
	REQUIRE(strcmp(env->id, back.id) == 0 && env->arrival == back.arrival);
	REQUIRE(same_text(env->peer, back.peer) && same_text(env->helo, back.helo));
	REQUIRE(same_text(env->session, back.session));
	REQUIRE(same_text(env->sender, back.sender) && same_text(env->error, back.error));
	REQUIRE(env->body_8bit == back.body_8bit && env->smtputf8 == back.smtputf8);
	REQUIRE(env->attempts == back.attempts && env->next_attempt == back.next_attempt);
	REQUIRE(env->n_rcpts == back.n_rcpts);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		REQUIRE(env->rcpts[i].state == back.rcpts[i].state);
		REQUIRE(same_text(env->rcpts[i].address, back.rcpts[i].address));
		REQUIRE(same_text(env->rcpts[i].error, back.rcpts[i].error));
		/* a transport is never lost on the way: no silent fall back to SMTP */
		REQUIRE(same_text(env->rcpts[i].via, back.rcpts[i].via));
	}
	envelope_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env = { 0 };

	open_queue();
	FILE *f = fmemopen((void *)data, size ? size : 1, "r");
	REQUIRE(f);
	if (size > 0 && envelope_read(f, &env) == 0) {
		REQUIRE(safe_name(env.id));
		REQUIRE(env.sender && env.n_rcpts > 0);
		round_trip(&env);
	}
	fclose(f);
	envelope_free(&env);
	return 0;
}
