/* replay - run a fuzz target on inputs without libFuzzer, so that make
 * check replays the seed corpus with the ordinary compiler (and so under
 * --enable-sanitizers and valgrind too).
 *
 * usage: replay_TARGET [FILE|DIR]...   Without arguments it replays
 * $top_srcdir/tests/fuzz/corpus/TARGET.  A failed invariant aborts.
 * Files the target writes go to $FUZZ_SHM, else a private directory in
 * /dev/shm that is removed at the end. */
#define _XOPEN_SOURCE 700
#include "fuzz.h"

#include <dirent.h>
#include <ftw.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned replayed;

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	uint8_t *buf = malloc(cap);

	if (!f || !buf) {
		perror(path);
		exit(2);
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap && !(buf = realloc(buf, cap *= 2))) {
			perror(path);
			exit(2);
		}
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	replayed++;
}

static void replay(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char child[4096];
		snprintf(child, sizeof child, "%s/%s", path, e->d_name);
		replay(child);
	}
	if (d)
		closedir(d);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

int main(int argc, char **argv)
{
	static char shm[] = "/dev/shm/mailsock-replay.XXXXXX";
	bool own_shm = !getenv("FUZZ_SHM") && mkdtemp(shm);

	if (own_shm)
		setenv("FUZZ_SHM", shm, 1);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay(argv[i]);
	} else {
		/* replay_TARGET: the corpus of TARGET */
		const char *top = getenv("top_srcdir");
		const char *target = strchr(basename(argv[0]), '_');
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", top ? top : ".",
		         target ? target + 1 : "");
		replay(dir);
	}
	if (own_shm)
		nftw(shm, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("%s: %u inputs replayed, every invariant held\n", argv[0], replayed);
	return 0;
}
