/*
 * options.c - one table of long and short options for every subcommand.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

enum opt_kind { OPT_FLAG, OPT_STR, OPT_INT, OPT_FLOAT, OPT_I64 };

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

	/* the engine and the chat: llama.cpp's names, then ollama's */
	{ "threads",       't', OPT_INT,   F(threads) },
	{ "ctx-size",      'c', OPT_INT,   F(ctx_size) },
	{ "batch-size",    'b', OPT_INT,   F(batch) },
	{ "predict",       'n', OPT_INT,   F(n_predict) },
	{ "temp",           0,  OPT_FLOAT, F(temp) },
	{ "top-k",          0,  OPT_INT,   F(top_k) },
	{ "top-p",          0,  OPT_FLOAT, F(top_p) },
	{ "min-p",          0,  OPT_FLOAT, F(min_p) },
	{ "repeat-penalty", 0,  OPT_FLOAT, F(repeat_penalty) },
	{ "repeat-last-n",  0,  OPT_INT,   F(repeat_last_n) },
	{ "seed",          's', OPT_I64,   F(seed) },
	{ "system-prompt",  0,  OPT_STR,   F(system_prompt) },
	{ "hidethinking",   0,  OPT_FLAG,  F(hidethinking) },
	{ "think",          0,  OPT_FLAG,  F(think) },
	{ "nothink",        0,  OPT_FLAG,  F(nothink) },
	{ "think-budget",   0,  OPT_INT,   F(think_budget) },
	{ "template",       0,  OPT_STR,   F(template_name) },
	{ "no-tui",         0,  OPT_FLAG,  F(no_tui) },
	{ "demo",           0,  OPT_FLAG,  F(demo) },

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

	/* the engine's own */
	{ "raw",            0,  OPT_FLAG,  F(raw) },
	{ "file",          'f', OPT_STR,   F(file) },
	{ "kv-type",        0,  OPT_STR,   F(kv_type) },
	{ "cache-type-k",   0,  OPT_STR,   F(kv_type) },
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

/* Stores what d's option means into o.  Returns 0, or -1 for a bad number. */
static int
opt_set(struct options *o, const struct opt_def *d, const char *arg)
{
	char		*base = (char *)o + d->field, *end;
	long long	 v = 0;
	double		 f = 0;

	errno = 0;
	if (d->kind == OPT_INT || d->kind == OPT_I64)
		v = strtoll(arg, &end, 10);
	else if (d->kind == OPT_FLOAT)
		f = strtod(arg, &end);
	switch (d->kind) {
	case OPT_FLAG:
		*(int *)base = 1;
		break;
	case OPT_STR:
		*(const char **)base = arg;
		break;
	case OPT_INT:
	case OPT_I64:
		if (end == arg || *end != '\0' || errno != 0 ||
		    (d->kind == OPT_INT && (v <= INT_MIN || v > INT_MAX)))
			return -1;
		if (d->kind == OPT_INT)
			*(int *)base = (int)v;
		else
			*(int64_t *)base = v;
		break;
	case OPT_FLOAT:
		if (end == arg || *end != '\0' || errno != 0 || isnan(f))
			return -1;
		*(float *)base = (float)f;
		break;
	}
	return 0;
}

/* Puts every number option at its "not given" value. */
static void
opt_unset(struct options *o)
{
	size_t	 i;
	char	*base;

	for (i = 0; i < N_OPTS; i++) {
		base = (char *)o + opt_table[i].field;
		switch (opt_table[i].kind) {
		case OPT_INT:
			*(int *)base = OPT_UNSET;
			break;
		case OPT_I64:
			*(int64_t *)base = OPT_UNSET;
			break;
		case OPT_FLOAT:
			*(float *)base = NAN;
			break;
		case OPT_FLAG:
		case OPT_STR:
			break;
		}
	}
}

int
options_parse(int argc, char **argv, struct options *o)
{
	struct option	 longs[N_OPTS + 1];
	char		 shorts[2 * N_OPTS + 2];
	size_t		 i, ns = 0;
	int		 c, idx;

	memset(o, 0, sizeof *o);
	opt_unset(o);
	shorts[ns++] = ':';
	for (i = 0; i < N_OPTS; i++) {
		longs[i].name = opt_table[i].name;
		longs[i].has_arg = opt_table[i].kind == OPT_FLAG ?
		    no_argument : required_argument;
		longs[i].flag = NULL;
		longs[i].val = 256 + (int)i;
		if (opt_table[i].short_name != 0) {
			shorts[ns++] = (char)opt_table[i].short_name;
			if (opt_table[i].kind != OPT_FLAG)
				shorts[ns++] = ':';
		}
	}
	memset(&longs[N_OPTS], 0, sizeof longs[N_OPTS]);
	shorts[ns] = '\0';

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		if (c == '?' || c == ':') {
			fprintf(stderr, "r1chat: %s: %s\n", argv[optind - 1],
			    c == '?' ? "unknown option" : "missing argument");
			return -1;
		}
		for (i = 0; i < N_OPTS; i++) {
			if (c == 256 + (int)i || c == opt_table[i].short_name) {
				if (opt_set(o, &opt_table[i], optarg) != 0) {
					fprintf(stderr, "r1chat: --%s: not a "
					    "number: %s\n", opt_table[i].name,
					    optarg);
					return -1;
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
	return 0;
}

void
options_free(struct options *o)
{
	free(o->args);
	o->args = NULL;
}
