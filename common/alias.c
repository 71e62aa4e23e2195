/* alias.c - aliases(5) (alias.h).
 *
 * Lookup: the file is parsed once per session into an array of entries
 * sorted by name (qsort), and each name is found by bsearch: O(log n) per
 * lookup, a few lookups per RCPT.  10 000 aliases: see doc/delivery.md. */
#include "alias.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct entry {
	char *name;          /* "local", "local@domain" or "@domain", lower case */
	char **targets;
	size_t n;
	unsigned line;
};

struct aliases {
	char path[CONFIG_PATH_MAX];
	struct entry *e;
	size_t n, cap;
	bool broken;         /* answers ALIAS_TEMPFAIL for every address */
};

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool broken(struct aliases *al, unsigned line, const char *why)
{
	char where[32];

	snprintf(where, sizeof where, "%u", line);
	log_event(LOG_LEVEL_ERROR, "trouble", "path", al->path, "line", where, "error", why, NULL);
	al->broken = true;
	return false;
}

/* A name: "local", "local@domain" or "@domain". */
static bool name_ok(const char *name)
{
	const char *at = strchr(name, '@');
	char user[LOCAL_PART_MAX + 1];
	size_t local = at ? (size_t)(at - name) : strlen(name);

	if (at && (strchr(at + 1, '@') || !domain_is_valid(at + 1, strlen(at + 1), true)))
		return false;
	if (local == 0)
		return at != NULL;
	if (local > LOCAL_PART_MAX)
		return false;
	char copy[LOCAL_PART_MAX + 1];
	memcpy(copy, name, local);
	copy[local] = '\0';
	return local_user(copy, false, user, sizeof user) && strcmp(user, copy) == 0;
}

/* A target, as written: "|command", "lmtp:SPEC", "\user", "user" or
 * "local@domain". */
static const char *target_problem(const char *t)
{
	if (t[0] == '|')
		return t[1] ? NULL : "empty command";
	if (strncmp(t, "lmtp:", 5) == 0)
		return (strncmp(t + 5, "unix:/", 6) == 0 || (strchr(t + 5, ':') && t[5] != ':'))
		       ? NULL : "expected lmtp:unix:/PATH or lmtp:HOST:PORT";
	const char *s = t[0] == '\\' ? t + 1 : t;
	const char *at = strrchr(s, '@');
	if (strpbrk(s, " \t\"<>,") || (at && (at == s || !domain_is_valid(at + 1, strlen(at + 1), true))))
		return "not an address, |command or lmtp:";
	if (!at && !name_ok(s))
		return "not a user name";
	return *s ? NULL : "empty target";
}

static bool add_target(struct entry *e, const char *t)
{
	char **v = realloc(e->targets, (e->n + 1) * sizeof *v);

	if (!v)
		return false;
	e->targets = v;
	v[e->n] = strdup(t);
	if (!v[e->n])
		return false;
	e->n++;
	return true;
}

/* "t1, t2, \"|cmd, with comma\"" into e. */
static bool parse_targets(struct aliases *al, struct entry *e, char *list)
{
	char *p = list;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		char *start = p, *end;
		if (*p == '"') {
			start = ++p;
			end = strchr(p, '"');
			if (!end)
				return broken(al, e->line, "unterminated quote");
			*end = '\0';
			p = end + 1;
		} else {
			end = p + strcspn(p, ",");
			p = *end ? end + 1 : end;
			*end = '\0';
		}
		char *t = trim(start);
		const char *why = target_problem(t);
		if (why)
			return broken(al, e->line, why);
		if (t[0] != '|' && strncmp(t, "lmtp:", 5) != 0)
			lower(t);
		if (!add_target(e, t))
			return broken(al, e->line, "out of memory");
	}
	return e->n > 0 || broken(al, e->line, "no target");
}

static bool add_entry(struct aliases *al, char *text, unsigned line)
{
	char *colon = strchr(text, ':');

	if (!colon)
		return broken(al, line, "expected name: target, ...");
	*colon = '\0';
	char *name = trim(text);
	lower(name);
	if (!name_ok(name))
		return broken(al, line, "not a name, name@domain or @domain");
	if (al->n == al->cap) {
		size_t cap = al->cap ? 2 * al->cap : 64;
		struct entry *e = realloc(al->e, cap * sizeof *e);
		if (!e)
			return broken(al, line, "out of memory");
		al->e = e;
		al->cap = cap;
	}
	struct entry *e = &al->e[al->n];
	*e = (struct entry){ .name = strdup(name), .line = line };
	if (!e->name)
		return broken(al, line, "out of memory");
	al->n++;
	return parse_targets(al, e, colon + 1);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Lines of the file, continuation lines (starting with white space)
 * joined to the one before. */
static void parse_file(struct aliases *al, FILE *f)
{
	char *line = NULL, *logical = NULL;
	size_t cap = 0, len = 0;
	unsigned lineno = 0, start = 0;
	ssize_t got;

	while (!al->broken && (got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (got > 0 && line[got - 1] == '\n')
			line[--got] = '\0';
		if (line[0] == '#')
			continue;
		if ((line[0] == ' ' || line[0] == '\t') && logical) {
			if (*trim(line) == '\0')
				continue;
			char *more = realloc(logical, len + (size_t)got + 2);
			if (!more) {
				broken(al, lineno, "out of memory");
				break;
			}
			logical = more;
			logical[len++] = ' ';
			memcpy(logical + len, line, (size_t)got + 1);
			len += (size_t)got;
			continue;
		}
		if (logical)
			add_entry(al, logical, start);
		free(logical);
		logical = NULL;
		if (*trim(line) == '\0')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			broken(al, lineno, "continuation line without a line before");
			break;
		}
		logical = strdup(line);
		len = (size_t)got;
		start = lineno;
	}
	if (logical && !al->broken)
		add_entry(al, logical, start);
	free(logical);
	free(line);
}

struct aliases *aliases_load(const char *path)
{
	struct aliases *al = calloc(1, sizeof *al);

	if (!al)
		return NULL;
	snprintf(al->path, sizeof al->path, "%s", path);
	FILE *f = fopen(path, "re");
	if (!f) {
		log_event(LOG_LEVEL_ERROR, "trouble", "path", path, "line", "0",
		          "error", strerror(errno), NULL);
		al->broken = true;
		return al;
	}
	parse_file(al, f);
	if (ferror(f))
		broken(al, 0, strerror(errno));
	fclose(f);
	if (al->broken)
		return al;
	qsort(al->e, al->n, sizeof *al->e, by_name);
	for (size_t i = 1; i < al->n; i++)
		if (strcmp(al->e[i].name, al->e[i - 1].name) == 0) {
			broken(al, al->e[i].line > al->e[i - 1].line ? al->e[i].line : al->e[i - 1].line,
			       "name defined twice");
			break;
		}
	return al;
}

void aliases_free(struct aliases *al)
{
	if (!al)
		return;
	for (size_t i = 0; i < al->n; i++) {
		for (size_t k = 0; k < al->e[i].n; k++)
			free(al->e[i].targets[k]);
		free(al->e[i].targets);
		free(al->e[i].name);
	}
	free(al->e);
	free(al);
}

static const struct entry *lookup(const struct aliases *al, const char *name)
{
	struct entry key = { .name = (char *)name };

	return al && al->n ? bsearch(&key, al->e, al->n, sizeof key, by_name) : NULL;
}

/* ---- resolving -------------------------------------------------------- */

struct walk {
	const struct aliases *al;
	const struct config *cfg;
	int rootfd;
	struct alias_target *out;
	size_t max, n;
	const struct entry *stack[ALIAS_DEPTH_MAX + 1];
	size_t depth;
};

static bool same_target(const struct alias_target *a, const struct alias_target *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == ALIAS_MAILDIR)
		return strcmp(a->dir, b->dir) == 0;
	if (a->kind == ALIAS_FORWARD)
		return strcasecmp(a->address, b->address) == 0;
	return strcmp(a->via, b->via) == 0;
}

static enum alias_verdict push(struct walk *w, const struct alias_target *t)
{
	for (size_t i = 0; i < w->n; i++)
		if (same_target(&w->out[i], t))
			return ALIAS_OK;
	if (w->n == w->max) {
		log_event(LOG_LEVEL_ERROR, "trouble", "path", w->al->path, "address", t->address,
		          "error", "too many targets", NULL);
		return ALIAS_TEMPFAIL;
	}
	w->out[w->n++] = *t;
	return ALIAS_OK;
}

static enum alias_verdict maildir_target(struct walk *w, const char *address)
{
	struct alias_target t = { .kind = ALIAS_MAILDIR };

	snprintf(t.address, sizeof t.address, "%s", address);
	switch (local_maildir(w->rootfd, address, t.dir, sizeof t.dir)) {
	case LOCAL_OK:
		return push(w, &t);
	case LOCAL_UNKNOWN:
		return ALIAS_UNKNOWN;
	case LOCAL_BAD_NAME:
		return ALIAS_BAD_NAME;
	case LOCAL_NOT_MAILDIR:
		log_event(LOG_LEVEL_ERROR, "trouble", "path", t.dir,
		          "error", "not a Maildir: tmp, new or cur missing", NULL);
		return ALIAS_TEMPFAIL;
	case LOCAL_ERROR:
		if (w->rootfd >= 0)
			log_event(LOG_LEVEL_ERROR, "trouble", "path", t.dir, "error", strerror(errno), NULL);
		return ALIAS_TEMPFAIL;
	}
	return ALIAS_TEMPFAIL;
}

static enum alias_verdict resolve(struct walk *w, const char *address);

/* The targets of entry e, reached for address (whose domain a bare name
 * takes). */
static enum alias_verdict expand(struct walk *w, const struct entry *e, const char *address)
{
	const char *domain = strrchr(address, '@') + 1;

	for (size_t i = 0; i < w->depth; i++)
		if (w->stack[i] == e)
			return ALIAS_LOOP;
	if (w->depth == ALIAS_DEPTH_MAX)
		return ALIAS_LOOP;
	w->stack[w->depth++] = e;
	enum alias_verdict v = ALIAS_OK;
	for (size_t i = 0; i < e->n && v == ALIAS_OK; i++) {
		const char *t = e->targets[i];
		struct alias_target out = { 0 };
		snprintf(out.address, sizeof out.address, "%s", address);
		if (t[0] == '|' || strncmp(t, "lmtp:", 5) == 0) {
			out.kind = t[0] == '|' ? ALIAS_PIPE : ALIAS_LMTP;
			out.via = t[0] == '|' ? t + 1 : t + 5;
			v = push(w, &out);
			continue;
		}
		char full[ADDRESS_MAX + 1];
		const char *name = t[0] == '\\' ? t + 1 : t;
		if (snprintf(full, sizeof full, strchr(name, '@') ? "%s" : "%s@%s", name, domain) >=
		    (int)sizeof full) {
			v = ALIAS_TEMPFAIL;
			break;
		}
		const char *at = strrchr(full, '@');
		if (!config_is_local_domain(w->cfg, at + 1)) {
			out.kind = ALIAS_FORWARD;
			snprintf(out.address, sizeof out.address, "%s", full);
			v = push(w, &out);
		} else if (t[0] == '\\' || strcasecmp(full, address) == 0) {
			v = maildir_target(w, full);     /* "\user" or itself: the mailbox */
		} else {
			v = resolve(w, full);
		}
		if (v == ALIAS_UNKNOWN || v == ALIAS_BAD_NAME) {
			char where[16];
			snprintf(where, sizeof where, "%u", e->line);
			log_event(LOG_LEVEL_ERROR, "trouble", "path", w->al->path, "line", where,
			          "error", "target names no user", "target", full, NULL);
			v = ALIAS_TEMPFAIL;
		}
	}
	w->depth--;
	return v;
}

/* address through the aliases, its Maildir, the catch-all (alias.h). */
static enum alias_verdict resolve(struct walk *w, const char *address)
{
	char user[LOCAL_PART_MAX + 1], key[ADDRESS_MAX + 2];
	const char *at = strrchr(address, '@');
	size_t local = (size_t)(at - address);
	const struct entry *e = NULL;

	if (local <= LOCAL_PART_MAX) {
		char copy[LOCAL_PART_MAX + 1];
		memcpy(copy, address, local);
		copy[local] = '\0';
		if (copy[0] != '"' && local_user(copy, false, user, sizeof user)) {
			snprintf(key, sizeof key, "%s@%s", user, at + 1);
			lower(key);
			e = lookup(w->al, key);
			if (!e)
				e = lookup(w->al, user);
		}
	}
	if (e)
		return expand(w, e, address);
	enum alias_verdict v = maildir_target(w, address);
	if (v != ALIAS_UNKNOWN)
		return v;
	snprintf(key, sizeof key, "@%s", at + 1);
	lower(key);
	e = lookup(w->al, key);
	return e ? expand(w, e, address) : ALIAS_UNKNOWN;
}

enum alias_verdict alias_resolve(const struct aliases *al, const struct config *cfg, int rootfd,
                                 const char *address, struct alias_target *out, size_t max,
                                 size_t *n)
{
	struct walk w = { .al = al, .cfg = cfg, .rootfd = rootfd, .out = out, .max = max };

	*n = 0;
	if (!strrchr(address, '@'))
		return ALIAS_BAD_NAME;
	if (al && al->broken)
		return ALIAS_TEMPFAIL;
	enum alias_verdict v = resolve(&w, address);
	*n = v == ALIAS_OK ? w.n : 0;
	return v;
}
