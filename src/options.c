/*
 * options.c - one table of long and short options for every subcommand.
 */
#include "config.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

enum opt_kind { OPT_FLAG, OPT_STR };

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
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void
opt_set(struct options *o, const struct opt_def *d, const char *arg)
{
	char	*base = (char *)o + d->field;

	switch (d->kind) {
	case OPT_FLAG:
		*(int *)base = 1;
		break;
	case OPT_STR:
		*(const char **)base = arg;
		break;
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
				opt_set(o, &opt_table[i], optarg);
				break;
			}
		}
	}
	o->args = xcalloc((size_t)(argc - optind) + 1, sizeof *o->args);
	for (; optind < argc; optind++) {
		if (o->model == NULL)
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
