/*
 * options.c - one table of long and short options for every subcommand.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "params.h"
#include "util.h"

enum opt_kind { OPT_FLAG, OPT_STR, OPT_INT };

/* getopt_long's values: opt_table's rows, then params.c's (two a bool). */
#define VAL_OPT		256
#define VAL_PARAM	1024

struct opt_def {
	const char	*name;
	int		 short_name;	/* 0 when it has none */
	enum opt_kind	 kind;
	size_t		 field;		/* offset in struct options */
};

#define F(f) offsetof(struct options, f)

static const struct opt_def opt_table[] = {
	{ "model",      'm', OPT_STR,  F(model) },
	{ "verbose",     0,  OPT_FLAG, F(verbose) },
	{ "ids",         0,  OPT_FLAG, F(ids) },
	{ "no-bos",      0,  OPT_FLAG, F(no_bos) },
	{ "no-special",  0,  OPT_FLAG, F(no_special) },

	/*
	 * the engine and the chat: llama.cpp's names, then ollama's (the
	 * chat parameters' are in params.c's table)
	 */
	{ "threads",       't', OPT_INT,   F(threads) },
	{ "batch-size",    'b', OPT_INT,   F(batch) },
	{ "system-prompt",  0,  OPT_STR,   F(system_prompt) },
	{ "hidethinking",   0,  OPT_FLAG,  F(hidethinking) },
	{ "template",       0,  OPT_STR,   F(template_name) },
	{ "no-tui",         0,  OPT_FLAG,  F(no_tui) },
	{ "demo",           0,  OPT_FLAG,  F(demo) },
	{ "mlock",          0,  OPT_FLAG,  F(mlock) },

	/* an OpenAI-compatible server: --remote, serve */
	{ "remote",           0, OPT_STR, F(remote) },
	{ "api-key-file",     0, OPT_STR, F(api_key_file) },
	{ "timeout",          0, OPT_INT, F(timeout) },
	{ "host",             0, OPT_STR, F(host) },
	{ "port",             0, OPT_INT, F(port) },
	{ "reasoning-format", 0, OPT_STR, F(reasoning_format) },
	{ "queue",            0, OPT_INT, F(queue) },
	{ "max-body",         0, OPT_INT, F(max_body) },
	{ "max-tokens",       0, OPT_INT, F(max_tokens) },
	{ "alias",            0, OPT_STR, F(alias) },
	{ "cors",             0, OPT_STR, F(cors) },
	{ "quiet",            0, OPT_FLAG, F(quiet) },

	/* the engine's own */
	{ "raw",            0,  OPT_FLAG,  F(raw) },
	{ "file",          'f', OPT_STR,   F(file) },
	{ "kv-type",        0,  OPT_STR,   F(kv_type) },
	{ "cache-type-k",   0,  OPT_STR,   F(kv_type) },

	/* bench: llama-bench's names */
	{ "n-prompt",      'p', OPT_INT,   F(n_prompt) },
	{ "repetitions",   'r', OPT_INT,   F(repetitions) },
	{ "n-depth",       'd', OPT_INT,   F(n_depth) },
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

/* Stores what d's option means into o.  Returns 0, or -1 for a bad number. */
static int
opt_set(struct options *o, const struct opt_def *d, const char *arg)
{
	char		*base = (char *)o + d->field, *end;
	long long	 v;

	switch (d->kind) {
	case OPT_FLAG:
		*(int *)base = 1;
		break;
	case OPT_STR:
		*(const char **)base = arg;
		break;
	case OPT_INT:
		errno = 0;
		v = strtoll(arg, &end, 10);
		if (end == arg || *end != '\0' || errno != 0 || v <= INT_MIN ||
		    v > INT_MAX)
			return -1;
		*(int *)base = (int)v;
		break;
	}
	return 0;
}

/* Puts every number option at its "not given" value. */
static void
opt_unset(struct options *o)
{
	size_t	i;

	for (i = 0; i < N_OPTS; i++) {
		if (opt_table[i].kind == OPT_INT)
			*(int *)((char *)o + opt_table[i].field) = OPT_UNSET;
	}
}

/*
 * Adds the options of params.c's table to longs[*n...] (a bool row twice:
 * --NAME, then --noNAME) and their short names to shorts[*ns...].  The
 * names are malloc'd into names[].
 */
static void
param_options(struct option *longs, size_t *n, char *shorts, size_t *ns,
    char **names)
{
	const struct param_def	*d;
	size_t			 i, k = 0;
	int			 neg;

	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if (d->option == NULL)
			continue;
		for (neg = 0; neg < (d->kind == PARAM_BOOL ? 2 : 1); neg++) {
			names[k] = xstrfmt("%s%s", neg ? "no" : "", d->option);
			longs[*n].name = names[k++];
			longs[*n].has_arg = d->kind == PARAM_BOOL ?
			    no_argument : required_argument;
			longs[*n].flag = NULL;
			longs[*n].val = VAL_PARAM + 2 * (int)i + neg;
			(*n)++;
		}
		if (d->short_option != 0) {
			shorts[(*ns)++] = (char)d->short_option;
			if (d->kind != PARAM_BOOL)
				shorts[(*ns)++] = ':';
		}
	}
}

/* The row of params.c's table option c (getopt_long's value) stands for. */
static const struct param_def *
param_of(int c, int *neg)
{
	const struct param_def	*d;
	size_t			 i;

	*neg = 0;
	if (c >= VAL_PARAM) {
		*neg = (c - VAL_PARAM) % 2;
		return param_at((size_t)(c - VAL_PARAM) / 2);
	}
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if (d->short_option != 0 && d->short_option == c)
			return d;
	}
	return NULL;
}

/*
 * Stores the chat parameter option d (negated: --noNAME) into o.
 * Returns 0, or -1 after a usage error.
 */
static int
param_option(struct options *o, const struct param_def *d, int neg,
    const char *arg)
{
	char	*cause = NULL;
	int	 was;

	if (d->kind != PARAM_BOOL) {
		if (param_parse(d, arg, &o->params, &cause) == 0)
			return 0;
		free(cause);
		fprintf(stderr, "r1chat: --%s: not a number: %s\n", d->option,
		    arg);
		return -1;
	}
	was = (int)param_get(d, &o->params);
	if (was != PARAM_UNSET && was != !neg) {
		fprintf(stderr, "r1chat: --%s and --no%s: choose one\n",
		    d->option, d->option);
		return -1;
	}
	param_set(d, &o->params, !neg);
	return 0;
}

/*
 * The argument that held the option getopt_long just returned: the one
 * before optind, or the one before that when its value was apart.
 */
static const char *
opt_token(char **argv, int ind, const char *arg)
{
	if (arg != NULL && arg == argv[ind - 1] && ind >= 2)
		return argv[ind - 2];
	return argv[ind - 1];
}

int
options_parse(int argc, char **argv, struct options *o)
{
	const struct param_def	*d;
	struct option		*longs;
	char			*shorts, **names;
	const char		*tok;
	size_t			 i, n = 0, ns = 0, np = 0;
	int			 c, idx, neg, rc = -1;

	memset(o, 0, sizeof *o);
	opt_unset(o);
	params_unset(&o->params);
	while (param_at(np) != NULL)
		np++;
	longs = xcalloc(N_OPTS + 2 * np + 1, sizeof *longs);
	shorts = xcalloc(2 * (N_OPTS + np) + 2, 1);
	names = xcalloc(2 * np + 1, sizeof *names);
	shorts[ns++] = ':';
	for (i = 0; i < N_OPTS; i++) {
		longs[n].name = opt_table[i].name;
		longs[n].has_arg = opt_table[i].kind == OPT_FLAG ?
		    no_argument : required_argument;
		longs[n].flag = NULL;
		longs[n++].val = VAL_OPT + (int)i;
		if (opt_table[i].short_name != 0) {
			shorts[ns++] = (char)opt_table[i].short_name;
			if (opt_table[i].kind != OPT_FLAG)
				shorts[ns++] = ':';
		}
	}
	param_options(longs, &n, shorts, &ns, names);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		if (c == '?' && optopt != 0 && optopt < VAL_OPT) {
			fprintf(stderr, "r1chat: -%c: unknown option (text "
			    "that starts with '-' goes after --)\n", optopt);
			goto out;
		}
		tok = opt_token(argv, optind, optarg);
		if (c == '?' || c == ':') {
			fprintf(stderr, "r1chat: %.*s: %s\n",
			    (int)strcspn(tok, "="), tok,
			    c == '?' ? "unknown option" : "missing argument");
			goto out;
		}
		/* No abbreviations: --api-key must not become --api-key-file. */
		if (strncmp(tok, "--", 2) == 0 &&
		    (strncmp(tok + 2, longs[idx].name, strlen(longs[idx].name))
		    != 0 || strcspn(tok + 2, "=") != strlen(longs[idx].name))) {
			fprintf(stderr, "r1chat: %.*s: unknown option (did you "
			    "mean --%s?)\n", (int)strcspn(tok, "="), tok,
			    longs[idx].name);
			goto out;
		}
		if ((d = param_of(c, &neg)) != NULL) {
			if (param_option(o, d, neg, optarg) != 0)
				goto out;
			continue;
		}
		for (i = 0; i < N_OPTS; i++) {
			if (c == VAL_OPT + (int)i ||
			    c == opt_table[i].short_name) {
				if (opt_set(o, &opt_table[i], optarg) != 0) {
					fprintf(stderr, "r1chat: --%s: not a "
					    "number: %s\n", opt_table[i].name,
					    optarg);
					goto out;
				}
				break;
			}
		}
	}
	o->args = xcalloc((size_t)(argc - optind) + 1, sizeof *o->args);
	for (; optind < argc; optind++) {
		/* With --remote, -m names the server's model: no positional. */
		if (o->model == NULL && o->remote == NULL)
			o->model = argv[optind];
		else
			o->args[o->n_args++] = argv[optind];
	}
	rc = 0;
out:
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
	free(shorts);
	free(longs);
	return rc;
}

void
options_free(struct options *o)
{
	free(o->args);
	o->args = NULL;
}
