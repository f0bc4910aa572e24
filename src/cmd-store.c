/*
 * cmd-store.c - `r1chat list` (the models of ollama's store and of
 * r1chat's, as `ollama list` prints them, with their quantization) and
 * `r1chat rm NAME...` (from r1chat's store only).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "gguf.h"
#include "options.h"
#include "store.h"
#include "types.h"
#include "util.h"

static const char *const store_names[STORE_COUNT] = {
	[STORE_OLLAMA] = "ollama",
	[STORE_OWN] = "r1chat",
};

char *
cmd_bytes(uint64_t n)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	double			 v = (double)n;
	size_t			 u = 0;

	/* ollama's format.HumanBytes: powers of 1000, a decimal below 10 */
	while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1000;
		u++;
	}
	if (u == 0 || v >= 10)
		return xstrfmt("%.0f %s", v, units[u]);
	return xstrfmt("%.1f %s", v, units[u]);
}

/* How long ago t was, as `ollama list` says it: "3 days ago". */
static char *
ago(time_t t)
{
	static const struct {
		const char	*unit;
		double		 seconds;
	} units[] = {
		{ "year", 365.25 * 86400 }, { "month", 30.44 * 86400 },
		{ "week", 7 * 86400 }, { "day", 86400 }, { "hour", 3600 },
		{ "minute", 60 }, { "second", 1 },
	};
	double	d = difftime(time(NULL), t);
	size_t	i;
	long	k;

	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (d >= units[i].seconds) {
			k = (long)(d / units[i].seconds);
			return xstrfmt("%ld %s%s ago", k, units[i].unit,
			    k == 1 ? "" : "s");
		}
	}
	return xstrdup("Less than a second ago");
}

/* The quantization general.file_type names, or "?" (malloc'd). */
static char *
quant_of(const char *path)
{
	struct gguf_file	*g;
	const char		*name = NULL;
	char			*cause = NULL;
	uint32_t		 ft;

	if ((g = gguf_open(path, &cause)) == NULL) {
		free(cause);
		return xstrdup("?");
	}
	if (gguf_get_u32(g, "general.file_type", &ft) == 0)
		name = type_ftype_name(ft);
	gguf_close(g);
	return xstrdup(name != NULL ? name : "?");
}

#define LIST_COLS	5

int
cmd_list(struct options *o)
{
	static const char *const head[LIST_COLS] = {
		"NAME", "SIZE", "QUANT", "MODIFIED", "STORE"
	};
	struct store_model	*list;
	char			*(*rows)[LIST_COLS];
	size_t			 n, i, j, w[LIST_COLS];

	if (o->model != NULL) {
		cmd_error("list: %s: takes no argument", o->model);
		return 2;
	}
	store_list(&list, &n);
	rows = xcalloc(n, sizeof *rows);
	for (j = 0; j < LIST_COLS; j++)
		w[j] = strlen(head[j]);
	for (i = 0; i < n; i++) {
		rows[i][0] = xstrdup(list[i].name);
		rows[i][1] = cmd_bytes(list[i].size);
		rows[i][2] = quant_of(list[i].path);
		rows[i][3] = ago(list[i].mtime);
		rows[i][4] = xstrdup(store_names[list[i].store]);
		for (j = 0; j < LIST_COLS; j++) {
			if (strlen(rows[i][j]) > w[j])
				w[j] = strlen(rows[i][j]);
		}
	}
	for (i = 0; i <= n; i++) {
		for (j = 0; j < LIST_COLS; j++) {
			const char	*cell = i == 0 ? head[j] : rows[i - 1][j];

			if (j + 1 < LIST_COLS)
				printf("%-*s    ", (int)w[j], cell);
			else
				printf("%s\n", cell);
		}
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < LIST_COLS; j++)
			free(rows[i][j]);
	}
	free(rows);
	store_list_free(list, n);
	return 0;
}

int
cmd_rm(struct options *o)
{
	char	*cause = NULL;
	int	 i, rc = 0;

	for (i = -1; i < o->n_args; i++) {
		const char	*name = i < 0 ? o->model : o->args[i];

		if (store_remove(name, &cause) != 0) {
			cmd_error("rm: %s", cause);
			free(cause);
			cause = NULL;
			rc = 1;
		} else
			printf("deleted '%s'\n", name);
	}
	return rc;
}
