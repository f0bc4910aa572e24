/*
 * options.c - one table of long and short options for every subcommand,
 * with params.c's for the chat parameters: which commands take each, the
 * range or the names its value must be among, and its line of --help.
 * options_parse reads the names, options_check the values, once, before
 * any command opens a model.
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "kv.h"
#include "ops.h"
#include "options.h"
#include "params.h"
#include "spec.h"
#include "template.h"
#include "util.h"

enum opt_kind { OPT_FLAG, OPT_STR, OPT_INT };

/* --help's groups, in the order and with the titles of r1chat(1)'s. */
enum opt_group {
	G_ENGINE, G_PARAMS, G_CHAT, G_REMOTE, G_SERVE, G_TOOLS, G_PULL,
	G_GENERAL, G_COUNT
};
static const char *const group_titles[G_COUNT] = {
	[G_ENGINE] = "The model and the engine",
	[G_PARAMS] = "Chat parameters (/set parameter)",
	[G_CHAT] = "The chat",
	[G_REMOTE] = "An OpenAI-compatible server (--remote)",
	[G_SERVE] = "serve",
	[G_TOOLS] = "tokenize, perplexity, bench",
	[G_PULL] = "pull",
	[G_GENERAL] = "General",
};

struct opt_def {
	const char	*name;
	int		 short_name;	/* 0 when it has none */
	enum opt_kind	 kind;
	size_t		 field;		/* offset in struct options */
	unsigned	 cmds;		/* CMD_* bits: the commands taking it */
	enum opt_group	 group;
	int		 min, max;	/* OPT_INT's range */
	const char	*(*choice)(size_t); /* OPT_STR's names; NULL: any */
	const char	*arg;		/* the value's name in --help */
	const char	*help;		/* NULL: an alias of the row above */
};

static const char *template_choice(size_t);
static const char *reasoning_choice(size_t);

#define F(f)	offsetof(struct options, f)
#define ENGINE	(CMD_CHAT | CMD_RAW | CMD_SERVE | CMD_PERPLEXITY)

static const struct opt_def opt_table[] = {
	/* the engine: llama.cpp's names */
	{ "model", 'm', OPT_STR, F(model), CMD_ALL & ~CMD_LIST, G_ENGINE,
	  .arg = "MODEL", .help = "the model (--remote: the server's model)" },
	{ "threads", 't', OPT_INT, F(threads), ENGINE | CMD_BENCH, G_ENGINE,
	  1, 1024, .arg = "N",
	  .help = "threads for the kernels (default: the processors)" },
	{ "batch-size", 'b', OPT_INT, F(batch), ENGINE, G_ENGINE,
	  1, PARAMS_MAX_CTX, .arg = "N",
	  .help = "prompt tokens per forward pass (default 512)" },
	{ "kv-type", 0, OPT_STR, F(kv_type), ENGINE, G_ENGINE,
	  .choice = kv_type_at,
	  .help = "the key/value cache's type (also --cache-type-k)" },
	{ "cache-type-k", 0, OPT_STR, F(kv_type), ENGINE, G_ENGINE,
	  .choice = kv_type_at },
	{ "mlock", 0, OPT_FLAG, F(mlock), CMD_CHAT | CMD_SERVE, G_ENGINE,
	  .help = "lock the model in memory" },
	{ "draft", 0, OPT_STR, F(draft), CMD_CHAT | CMD_SERVE | CMD_BENCH,
	  G_ENGINE, .arg = "MODEL",
	  .help = "guess tokens with MODEL (same vocabulary), check in batches" },
	{ "draft-max", 0, OPT_INT, F(draft_max),
	  CMD_CHAT | CMD_SERVE | CMD_BENCH, G_ENGINE, 1, SPEC_MAX_DRAFT,
	  .arg = "N", .help = "the most tokens guessed at once (default 8)" },
	{ "lookup", 0, OPT_FLAG, F(lookup), CMD_CHAT | CMD_SERVE | CMD_BENCH,
	  G_ENGINE, .help = "guess tokens from the context's repetitions" },

	/* the chat: ollama's names (its parameters' are in params.c) */
	{ "system-prompt", 0, OPT_STR, F(system_prompt), CMD_CHAT, G_CHAT,
	  .arg = "TEXT", .help = "the system prompt" },
	{ "template", 0, OPT_STR, F(template_name), CMD_CHAT | CMD_SERVE,
	  G_CHAT, .choice = template_choice, .arg = "NAME",
	  .help = "the chat template (default: the model's)" },
	{ "hidethinking", 0, OPT_FLAG, F(hidethinking), CMD_CHAT, G_CHAT,
	  .help = "do not show the reasoning" },
	{ "no-tui", 0, OPT_FLAG, F(no_tui), CMD_CHAT, G_CHAT,
	  .help = "answer one message, even on a terminal" },
	{ "demo", 0, OPT_FLAG, F(demo), CMD_CHAT, G_CHAT,
	  .help = "the chat on the small trained demo model" },
	{ "resume", 0, OPT_FLAG, F(resume), CMD_CHAT, G_CHAT,
	  .help = "continue the last conversation kept (or session NAME)" },
	{ "no-history", 0, OPT_FLAG, F(no_history), CMD_CHAT, G_CHAT,
	  .help = "keep neither the conversation nor the lines typed" },
	{ "raw", 0, OPT_FLAG, F(raw), CMD_CHAT | CMD_RAW, G_CHAT,
	  .help = "continue PROMPT as it is, no template" },

	/* an OpenAI-compatible server: --remote; serve's key too */
	{ "remote", 0, OPT_STR, F(remote), CMD_CHAT, G_REMOTE,
	  .arg = "URL", .help = "chat with the server at URL" },
	{ "api-key-file", 0, OPT_STR, F(api_key_file), CMD_CHAT | CMD_SERVE,
	  G_REMOTE, .arg = "FILE",
	  .help = "the API key, FILE's first line (serve: the one asked)" },
	{ "timeout", 0, OPT_INT, F(timeout), CMD_CHAT, G_REMOTE, 1, 86400,
	  .arg = "SECONDS",
	  .help = "give up on a server silent so long (default 300)" },

	/* serve: llama-server's names */
	{ "host", 0, OPT_STR, F(host), CMD_SERVE, G_SERVE,
	  .arg = "ADDRESS", .help = "listen on ADDRESS (default 127.0.0.1)" },
	{ "port", 0, OPT_INT, F(port), CMD_SERVE, G_SERVE, 0, 65535,
	  .arg = "N", .help = "listen on port N (default 11435; 0: any)" },
	{ "reasoning-format", 0, OPT_STR, F(reasoning_format), CMD_SERVE,
	  G_SERVE, .choice = reasoning_choice,
	  .help = "reasoning_content, or inline <think>" },
	{ "queue", 0, OPT_INT, F(queue), CMD_SERVE, G_SERVE, 0, 1024,
	  .arg = "N", .help = "requests that may wait (default 8)" },
	{ "max-body", 0, OPT_INT, F(max_body), CMD_SERVE, G_SERVE,
	  1024, 1 << 30, .arg = "BYTES",
	  .help = "the largest request (default 1048576)" },
	{ "max-tokens", 0, OPT_INT, F(max_tokens), CMD_SERVE, G_SERVE,
	  1, 1 << 20, .arg = "N",
	  .help = "the most tokens of an answer (default 8192)" },
	{ "alias", 0, OPT_STR, F(alias), CMD_SERVE, G_SERVE,
	  .arg = "NAME", .help = "the model's id (default: the file's name)" },
	{ "cors", 0, OPT_STR, F(cors), CMD_SERVE, G_SERVE,
	  .arg = "ORIGIN", .help = "let browser pages from ORIGIN (or *) call" },
	{ "quiet", 0, OPT_FLAG, F(quiet), CMD_SERVE, G_SERVE,
	  .help = "no access log line a request" },

	/* tokenize, perplexity, bench: llama.cpp's tools' names */
	{ "ids", 0, OPT_FLAG, F(ids), CMD_TOKENIZE | CMD_RAW, G_TOOLS,
	  .help = "print the token ids alone" },
	{ "no-bos", 0, OPT_FLAG, F(no_bos), CMD_TOKENIZE, G_TOOLS,
	  .help = "no BOS token" },
	{ "no-special", 0, OPT_FLAG, F(no_special), CMD_TOKENIZE, G_TOOLS,
	  .help = "special tokens' text is plain text" },
	{ "file", 'f', OPT_STR, F(file), CMD_PERPLEXITY, G_TOOLS,
	  .arg = "FILE", .help = "the text to measure" },
	{ "n-prompt", 'p', OPT_INT, F(n_prompt), CMD_BENCH, G_TOOLS,
	  0, 1 << 20, .arg = "N",
	  .help = "prompt tokens of the pp test (default 128)" },
	{ "repetitions", 'r', OPT_INT, F(repetitions), CMD_BENCH, G_TOOLS,
	  1, 1000, .arg = "N", .help = "runs of each test (default 3)" },
	{ "n-depth", 'd', OPT_INT, F(n_depth), CMD_BENCH, G_TOOLS,
	  0, 1 << 20, .arg = "N",
	  .help = "tokens in the cache before each test (default 0)" },
	{ "calibrate", 0, OPT_FLAG, F(calibrate), CMD_BENCH, G_TOOLS,
	  .help = "measure the kernel paths again, cache the fastest" },

	/* pull */
	{ "registry", 0, OPT_STR, F(registry), CMD_PULL, G_PULL,
	  .arg = "URL", .help = "ollama's registry at URL (default: the "
	  "name's host)" },
	{ "connections", 0, OPT_INT, F(connections), CMD_PULL, G_PULL,
	  1, 64, .arg = "N", .help = "connections a file (default 4)" },

	{ "verbose", 0, OPT_FLAG, F(verbose),
	  CMD_CHAT | CMD_RAW | CMD_SHOW | CMD_QUANTIZE, G_GENERAL,
	  .help = "timings after the answer; show: every key and tensor" },
	{ "help", 'h', OPT_FLAG, F(help), CMD_ALL, G_GENERAL,
	  .help = "print this help" },
	{ "version", 0, OPT_FLAG, F(version), CMD_ALL, G_GENERAL,
	  .help = "print the version" },
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

/*
 * An option of either table as the parser, the checks and --help see it:
 * view i is opt_table's row i, then params.c's rows with an option.
 */
struct opt_view {
	const char		*name;
	int			 short_name;
	int			 has_arg;
	unsigned		 cmds;
	enum opt_group		 group;
	const struct opt_def	*opt;	/* one of these two */
	const struct param_def	*param;
};

/* getopt_long's value of view i (+1: the --noNAME of a bool). */
#define VAL(i)	(256 + 2 * (int)(i))

/* An option given, for options_check. */
struct opt_given {
	size_t		 view;
	int		 neg;	/* --noNAME */
	const char	*arg;
};

static const char *
template_choice(size_t i)
{
	const struct template_family	*t = template_at(i);

	return t != NULL ? t->name : NULL;
}

/* --reasoning-format: llama-server's names (serve: "none" is inline). */
static const char *
reasoning_choice(size_t i)
{
	static const char *const names[] = { "deepseek", "none" };

	return i < sizeof names / sizeof names[0] ? names[i] : NULL;
}

/* Fills *v with view i; returns 0 past the last. */
static int
opt_view(size_t i, struct opt_view *v)
{
	const struct param_def	*d;
	size_t			 k;

	memset(v, 0, sizeof *v);
	if (i < N_OPTS) {
		v->opt = &opt_table[i];
		v->name = v->opt->name;
		v->short_name = v->opt->short_name;
		v->has_arg = v->opt->kind != OPT_FLAG;
		v->cmds = v->opt->cmds;
		v->group = v->opt->group;
		return 1;
	}
	for (i -= N_OPTS, k = 0; (d = param_at(k)) != NULL; k++) {
		if (d->option != NULL && i-- == 0)
			break;
	}
	if (d == NULL)
		return 0;
	v->param = d;
	v->name = d->option;
	v->short_name = d->short_option;
	v->has_arg = d->kind != PARAM_BOOL;
	v->cmds = d->commands;
	v->group = G_PARAMS;
	return 1;
}

/* The names choice gives, joined: "a, b or c" (sep ", ", last " or "). */
static char *
choices_join(const char *(*choice)(size_t), const char *sep,
    const char *last)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; choice(i) != NULL; i++) {
		t = xstrfmt("%s%s%s", s, i == 0 ? "" : choice(i + 1) == NULL ?
		    last : sep, choice(i));
		free(s);
		s = t;
	}
	return s;
}

/*
 * Reads text as a number (an integer when integer): 0 with *v, or -1 when
 * it is none.  An integer past long long's reads as +-HUGE_VAL, for the
 * range check to refuse, not to wrap around.
 */
static int
number_read(const char *text, int integer, double *v)
{
	char		*end;
	long long	 n;

	errno = 0;
	if (integer) {
		n = strtoll(text, &end, 10);
		*v = errno != ERANGE ? (double)n : n < 0 ? -HUGE_VAL : HUGE_VAL;
	} else {
		*v = strtod(text, &end);
		if (!isfinite(*v))
			return -1;
	}
	return end == text || *end != '\0' ? -1 : 0;
}

/* What a parameter's field can hold, whatever its row's range. */
static const double kind_max[] = {
	[PARAM_INT] = INT_MAX,
	[PARAM_INT64] = 9e18,
	[PARAM_FLOAT] = FLT_MAX,
	[PARAM_BOOL] = 1,
};

/*
 * Checks and stores the value of the option of view v (neg: --noNAME).
 * Returns 0, or -1 with *why set (the reason alone) or *cause (the whole
 * message).
 */
static int
opt_value(struct options *o, const struct opt_view *v, int neg,
    const char *arg, char **why, char **cause)
{
	const struct opt_def	*d = v->opt;
	const struct param_def	*p = v->param;
	char			*base, *list;
	double			 x, lo, hi;
	size_t			 i;

	if (p != NULL && p->kind == PARAM_BOOL) {
		x = param_get(p, &o->params);
		if (x != PARAM_UNSET && x != !neg) {
			*cause = xstrfmt("--%s and --no%s: choose one",
			    p->option, p->option);
			return -1;
		}
		param_set(p, &o->params, !neg);
		return 0;
	}
	if (p != NULL) {
		if (number_read(arg, p->kind != PARAM_FLOAT, &x) != 0) {
			*why = xstrdup("not a number");
			return -1;
		}
		lo = p->min;
		hi = p->max;
		if (fabs(x) > kind_max[p->kind]) {
			lo = fmax(lo, -kind_max[p->kind]);
			hi = fmin(hi, kind_max[p->kind]);
		}
		if (param_range(x, lo, hi, p->flags, why) != 0)
			return -1;
		/* a seed keeps its every bit */
		if (p->kind == PARAM_INT64)
			return param_parse(p, arg, &o->params, why);
		param_set(p, &o->params, x);
		return 0;
	}
	base = (char *)o + d->field;
	switch (d->kind) {
	case OPT_FLAG:
		*(int *)base = 1;
		break;
	case OPT_STR:
		for (i = 0; d->choice != NULL && d->choice(i) != NULL; i++) {
			if (strcmp(arg, d->choice(i)) == 0)
				break;
		}
		if (d->choice != NULL && d->choice(i) == NULL) {
			list = choices_join(d->choice, ", ", " or ");
			*why = xstrfmt("must be %s", list);
			free(list);
			return -1;
		}
		*(const char **)base = arg;
		break;
	case OPT_INT:
		if (number_read(arg, 1, &x) != 0) {
			*why = xstrdup("not a number");
			return -1;
		}
		if (param_range(x, d->min, d->max, 0, why) != 0)
			return -1;
		*(int *)base = (int)x;
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

/*
 * getopt_long's tables for every view: longs (a bool parameter twice,
 * --NAME then --noNAME, the names malloc'd into names[]) and shorts.
 */
static void
opt_tables(struct option *longs, char *shorts, char **names)
{
	struct opt_view	 v;
	size_t		 i, n = 0, ns = 0, k = 0;
	int		 neg;

	shorts[ns++] = ':';
	for (i = 0; opt_view(i, &v); i++) {
		for (neg = 0; neg < (v.param != NULL && !v.has_arg ? 2 : 1);
		    neg++) {
			names[k] = xstrfmt("%s%s", neg ? "no" : "", v.name);
			longs[n].name = names[k++];
			longs[n].has_arg = v.has_arg ? required_argument :
			    no_argument;
			longs[n].flag = NULL;
			longs[n++].val = VAL(i) + neg;
		}
		if (v.short_name != 0) {
			shorts[ns++] = (char)v.short_name;
			if (v.has_arg)
				shorts[ns++] = ':';
		}
	}
}

/* The view of getopt_long's value c (a long option's, or a short). */
static size_t
opt_view_of(int c, int *neg)
{
	struct opt_view	v;
	size_t		i;

	*neg = 0;
	if (c >= VAL(0)) {
		*neg = (c - VAL(0)) % 2;
		return (size_t)(c - VAL(0)) / 2;
	}
	for (i = 0; opt_view(i, &v) && v.short_name != c; i++)
		;
	return i;
}

int
options_parse(int argc, char **argv, struct options *o, char **cause)
{
	struct opt_view	 v;
	struct option	*longs;
	char		*shorts, **names;
	const char	*tok;
	size_t		 i, n = 0;
	int		 c, idx, neg, rc = -1;

	memset(o, 0, sizeof *o);
	opt_unset(o);
	params_unset(&o->params);
	while (opt_view(n, &v))
		n++;
	longs = xcalloc(2 * n + 1, sizeof *longs);
	shorts = xcalloc(2 * n + 2, 1);
	names = xcalloc(2 * n + 1, sizeof *names);
	o->given = xcalloc((size_t)argc + 1, sizeof *o->given);
	opt_tables(longs, shorts, names);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		if (c == '?' && optopt != 0 && optopt < VAL(0)) {
			*cause = xstrfmt("-%c: unknown option (text that "
			    "starts with '-' goes after --)", optopt);
			goto out;
		}
		tok = opt_token(argv, optind, optarg);
		if (c == '?' || c == ':') {
			*cause = xstrfmt("%.*s: %s", (int)strcspn(tok, "="), tok,
			    c == '?' ? "unknown option" : "missing argument");
			goto out;
		}
		/* No abbreviations: --api-key must not become --api-key-file. */
		if (strncmp(tok, "--", 2) == 0 &&
		    (strncmp(tok + 2, longs[idx].name, strlen(longs[idx].name))
		    != 0 || strcspn(tok + 2, "=") != strlen(longs[idx].name))) {
			*cause = xstrfmt("%.*s: unknown option (did you mean "
			    "--%s?)", (int)strcspn(tok, "="), tok,
			    longs[idx].name);
			goto out;
		}
		o->given[o->n_given].view = opt_view_of(c, &neg);
		o->given[o->n_given].neg = neg;
		o->given[o->n_given++].arg = optarg;
		/*
		 * Flags and text now: --help and --raw choose the command to
		 * check against, --remote what the positionals are.
		 */
		opt_view(o->given[o->n_given - 1].view, &v);
		if (v.opt != NULL && v.opt->kind == OPT_FLAG)
			*(int *)((char *)o + v.opt->field) = 1;
		else if (v.opt != NULL && v.opt->kind == OPT_STR)
			*(const char **)((char *)o + v.opt->field) = optarg;
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

int
options_check(struct options *o, unsigned cmd, const char *name,
    char **warning, char **cause)
{
	struct opt_given	*g;
	struct opt_view		 v;
	char			*why = NULL;
	int			 i;

	*warning = NULL;
	for (i = 0; i < o->n_given; i++) {
		g = &o->given[i];
		opt_view(g->view, &v);
		if ((v.cmds & cmd) == 0) {
			*cause = xstrfmt("%s%s--%s%s: not an option of %s",
			    name != NULL ? name : "", name != NULL ? ": " : "",
			    g->neg ? "no" : "", v.name,
			    name != NULL ? name : "the chat");
			return -1;
		}
		if (opt_value(o, &v, g->neg, g->arg, &why, cause) != 0) {
			if (why != NULL)
				*cause = xstrfmt("--%s: %s: %s", v.name, g->arg,
				    why);
			free(why);
			return -1;
		}
	}
	if (o->threads != OPT_UNSET && o->threads > ops_procs())
		*warning = xstrfmt("--threads: %d: more than the %d processors",
		    o->threads, ops_procs());
	return 0;
}

/* The value in view v's --help line: " N", " f16|f32", ", --noNAME". */
static char *
help_value(const struct opt_view *v)
{
	char	*list, *s;

	if (!v->has_arg)
		return v->param != NULL ? xstrfmt(", --no%s", v->name) :
		    xstrdup("");
	if (v->param != NULL)
		return xstrdup(v->param->kind == PARAM_FLOAT ? " F" : " N");
	if (v->opt->arg != NULL)
		return xstrfmt(" %s", v->opt->arg);
	list = choices_join(v->opt->choice, "|", "|");
	s = xstrfmt(" %s", list);
	free(list);
	return s;
}

/* Width of --help's first column. */
#define HELP_WIDTH	24

void
options_help(FILE *f, unsigned cmd)
{
	struct opt_view	 v;
	char		*value, *spec;
	const char	*help;
	size_t		 i;
	int		 g, shown;

	for (g = 0; g < G_COUNT; g++) {
		shown = 0;
		for (i = 0; opt_view(i, &v); i++) {
			help = v.opt != NULL ? v.opt->help : v.param->help;
			if (v.group != (enum opt_group)g || help == NULL ||
			    (v.cmds & cmd) == 0)
				continue;
			value = help_value(&v);
			if (v.short_name != 0)
				spec = xstrfmt("-%c, --%s%s", v.short_name,
				    v.name, value);
			else
				spec = xstrfmt("    --%s%s", v.name, value);
			if (shown++ == 0)
				fprintf(f, "\n%s:\n", group_titles[g]);
			fprintf(f, "  %-*s  %s\n", HELP_WIDTH, spec, help);
			free(spec);
			free(value);
		}
	}
}

char *
options_ctx_warning(const struct options *o, long n_train)
{
	if (o->params.num_ctx == PARAM_UNSET || n_train <= 0 ||
	    o->params.num_ctx <= n_train)
		return NULL;
	return xstrfmt("--ctx-size: %d: more than the model's trained "
	    "context, %ld tokens", o->params.num_ctx, n_train);
}

void
options_free(struct options *o)
{
	free(o->args);
	free(o->given);
	o->args = NULL;
	o->given = NULL;
}
