/*
 * session.c - where the full-screen chat keeps its conversations: the
 * state directory, a new session's file name, the oldest sessions
 * removed (and what a save killed midway left), one found by name or the
 * newest, and the model a saved one names.  The files are written by
 * chat_save, atomically.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "session.h"
#include "util.h"

#define SESSION_DIR	"sessions/"
#define SESSION_EXT	".json"

/* A session file and when it was last written. */
struct entry {
	char		*path;
	struct timespec	 mtime;
};

char *
session_state_path(const char *rel, char **cause)
{
	const char	*state = getenv("XDG_STATE_HOME");
	const char	*home = getenv("HOME");
	char		*path;

	if (state != NULL && state[0] == '/')
		path = xstrfmt("%s/r1chat/%s", state, rel);
	else if (home != NULL && home[0] != '\0')
		path = xstrfmt("%s/.local/state/r1chat/%s", home, rel);
	else {
		*cause = xstrdup("neither $XDG_STATE_HOME nor $HOME is set");
		return NULL;
	}
	if (util_mkdirs(path, 0700, cause) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* Newest first; the same time, by name, the later first. */
static int
entry_cmp(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return -strcmp(x->path, y->path);
}

/* The session files found so far. */
struct entries {
	struct entry	*v;
	size_t		 n;
	time_t		 now;
};

/*
 * One entry of the sessions' folder: a session file kept; the temporary
 * file of a save killed midway (chat_save's NAME.json.XXXXXX), a minute
 * old, removed.
 */
static int
entry_add(const char *dir, const char *name, void *arg)
{
	struct entries	*e = arg;
	struct stat	 st;
	size_t		 n = strlen(name), k = strlen(SESSION_EXT);
	char		*path;
	/* NAME.json, or NAME.json.XXXXXX (mkstemp's six characters) */
	int		 kept = n > k && strcmp(name + n - k, SESSION_EXT) == 0;
	int		 debris = n > k + 7 && name[n - 7] == '.' &&
			    strncmp(name + n - 7 - k, SESSION_EXT, k) == 0;

	if (!kept && !debris)
		return 0;
	path = xstrfmt("%s%s", dir, name);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return 0;
	}
	if (debris) {
		if (e->now - st.st_mtime > 60)
			unlink(path);
		free(path);
		return 0;
	}
	e->v = xreallocarray(e->v, e->n + 1, sizeof *e->v);
	e->v[e->n].path = path;
	e->v[e->n++].mtime = st.st_mtim;
	return 0;
}

/*
 * The session files of dir, newest first, in *list (*n of them; free
 * with entries_free); a killed save's leftovers removed.  Returns 0, or
 * -1 with *cause set.
 */
static int
entries_read(const char *dir, struct entry **list, size_t *n, char **cause)
{
	struct entries	e = { NULL, 0, time(NULL) };

	if (util_dir_each(dir, entry_add, &e) != 0) {
		*cause = xstrfmt("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (e.n > 0)
		qsort(e.v, e.n, sizeof *e.v, entry_cmp);
	*list = e.v;
	*n = e.n;
	return 0;
}

static void
entries_free(struct entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

char *
session_new(char **cause)
{
	struct entry	*v;
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		*dir, *path, stamp[32];
	size_t		 i, n;

	if ((dir = session_state_path(SESSION_DIR, cause)) == NULL)
		return NULL;
	if (entries_read(dir, &v, &n, cause) != 0) {
		free(dir);
		return NULL;
	}
	for (i = SESSION_KEEP - 1; i < n; i++)
		unlink(v[i].path);
	entries_free(v, n);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	path = xstrfmt("%s%s-%ld%s", dir, stamp, (long)getpid(), SESSION_EXT);
	free(dir);
	return path;
}

char *
session_find(const char *name, char **cause)
{
	struct entry	*v;
	char		*dir, *path;
	size_t		 n;

	if (name != NULL && strchr(name, '/') != NULL)
		return xstrdup(name);
	if ((dir = session_state_path(SESSION_DIR, cause)) == NULL)
		return NULL;
	if (name != NULL) {
		path = xstrfmt("%s%s", dir, name);
		if (access(path, F_OK) != 0) {
			free(path);
			path = xstrfmt("%s%s%s", dir, name, SESSION_EXT);
		}
		if (access(path, R_OK) != 0) {
			*cause = xstrfmt("%s: no such session in %s", name,
			    dir);
			free(path);
			path = NULL;
		}
		free(dir);
		return path;
	}
	path = NULL;
	if (entries_read(dir, &v, &n, cause) == 0) {
		if (n > 0)
			path = xstrdup(v[0].path);
		else
			*cause = xstrfmt("no session in %s", dir);
		entries_free(v, n);
	}
	free(dir);
	return path;
}

char *
session_model(const char *path, char **cause)
{
	json_t		*root, *model;
	json_error_t	 err;
	char		*s = NULL;

	if ((root = json_load_file(path, 0, &err)) == NULL) {
		if (access(path, R_OK) != 0)
			*cause = xstrfmt("%s: %s", path, strerror(errno));
		else
			*cause = xstrfmt("%s: line %d: %s", path, err.line,
			    err.text);
		return NULL;
	}
	model = json_object_get(root, "model");
	if (json_is_string(model) && json_string_length(model) > 0)
		s = xstrdup(json_string_value(model));
	else
		*cause = xstrfmt("%s: names no model", path);
	json_decref(root);
	return s;
}
