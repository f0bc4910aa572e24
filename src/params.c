/*
 * params.c - the table of chat parameters and what every front end does
 * with a row: parse it, print it, check its range, read and write it as
 * JSON, take it from the command line, hand it to the sampler.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "params.h"
#include "sampler.h"
#include "util.h"

#define P(f)	offsetof(struct chat_params, f)
#define NONE	HUGE_VAL

/*
 * Whose command lines take a row's option: the chat's and serve's (their
 * requests' defaults), and --raw's too for the sampler and the context.
 */
#define CHAT	(CMD_CHAT | CMD_SERVE)
#define SAMPLER	(CHAT | CMD_RAW)

/*
 * The order is /set parameter's and /show parameters' (ollama's, then
 * r1chat's own).  The defaults are DeepSeek's advice for R1 (temperature
 * 0.6, top_p 0.95) and llama.cpp's for the rest.  Request names are the
 * OpenAI API's where it has one (vLLM's repetition_penalty, top_k and
 * min_p), else r1chat's own, which serve reads and --remote sends only
 * when they differ from request_off; num_ctx has none: a server's
 * context is its own, allocated once.
 */
static const struct param_def table[] = {
	{ .name = "seed", .save_key = "seed", .option = "seed",
	  .short_option = 's', .commands = SAMPLER,
	  .request = "seed", .request_off = -1,
	  .kind = PARAM_INT64, .field = P(seed), .min = -NONE, .max = NONE,
	  .def = -1,
	  .help = "seed of the random numbers (-1: a new one)" },
	{ .name = "num_predict", .save_key = "num_predict", .option = "predict",
	  .short_option = 'n', .commands = SAMPLER | CMD_BENCH,
	  .request = "max_tokens", .request_alias = "max_completion_tokens",
	  .request_off = -1,
	  .kind = PARAM_INT, .field = P(num_predict), .min = -1, .max = NONE,
	  .def = -1, .help = "most tokens to generate (-1: no limit)" },
	{ .name = "top_k", .save_key = "top_k", .option = "top-k",
	  .commands = SAMPLER, .request = "top_k", .request_off = 0,
	  .kind = PARAM_INT, .field = P(top_k), .min = 0, .max = NONE,
	  .def = 40,
	  .help = "sample among the k likeliest tokens (0: all)" },
	{ .name = "top_p", .save_key = "top_p", .option = "top-p",
	  .commands = SAMPLER, .request = "top_p", .request_off = 1,
	  .kind = PARAM_FLOAT, .field = P(top_p), .min = 0, .max = 1,
	  .def = 0.95,
	  .help = "sample among the likeliest tokens summing to p" },
	{ .name = "min_p", .save_key = "min_p", .option = "min-p",
	  .commands = SAMPLER, .request = "min_p", .request_off = 0,
	  .kind = PARAM_FLOAT, .field = P(min_p), .min = 0, .max = 1,
	  .def = 0.05,
	  .help = "drop tokens less likely than p times the likeliest" },
	{ .name = "num_ctx", .save_key = "num_ctx", .option = "ctx-size",
	  .short_option = 'c', .commands = SAMPLER | CMD_PERPLEXITY | CMD_SHOW,
	  .kind = PARAM_INT, .field = P(num_ctx), .min = PARAMS_MIN_CTX,
	  .max = PARAMS_MAX_CTX, .def = 0,
	  .help = "context size in tokens" },
	{ .name = "temperature", .save_key = "temperature", .option = "temp",
	  .commands = SAMPLER, .request = "temperature", .request_off = -1,
	  .kind = PARAM_FLOAT, .field = P(temperature), .min = 0, .max = NONE,
	  .def = 0.6,
	  .help = "higher is more random, 0 always takes the likeliest" },
	{ .name = "repeat_penalty", .save_key = "repeat_penalty",
	  .option = "repeat-penalty", .commands = SAMPLER,
	  .request = "repetition_penalty", .request_off = 1,
	  .kind = PARAM_FLOAT, .field = P(repeat_penalty), .min = 0,
	  .max = NONE, .flags = PARAM_ABOVE_MIN, .def = 1,
	  .help = "how much to penalize repeated tokens (1: not at all)" },
	{ .name = "repeat_last_n", .save_key = "repeat_last_n",
	  .option = "repeat-last-n", .commands = SAMPLER,
	  .request = "repeat_last_n", .request_off = 64,
	  .kind = PARAM_INT, .field = P(repeat_last_n), .min = -1, .max = NONE,
	  .def = 64,
	  .help = "how many tokens back to look for repeats (-1: all)" },
	{ .name = "think", .save_key = "think", .option = "think",
	  .commands = CHAT, .request = "think", .request_off = 1,
	  .kind = PARAM_BOOL, .field = P(think), .min = 0, .max = 1, .def = 1,
	  .help = "reason before answering (false: answer at once)" },
	{ .name = "think_budget", .save_key = "think_budget",
	  .option = "think-budget", .commands = CHAT,
	  .request = "think_budget", .request_off = -1,
	  .kind = PARAM_INT, .field = P(think_budget), .min = -1, .max = NONE,
	  .def = -1,
	  .help = "close the reasoning after N tokens (-1: never)" },
};
#define N_PARAMS (sizeof table / sizeof table[0])

const struct param_def *
param_at(size_t i)
{
	return i < N_PARAMS ? &table[i] : NULL;
}

const struct param_def *
param_find(const char *name, size_t n)
{
	size_t	i;

	for (i = 0; i < N_PARAMS; i++) {
		if (strlen(table[i].name) == n &&
		    memcmp(table[i].name, name, n) == 0)
			return &table[i];
	}
	return NULL;
}

double
param_get(const struct param_def *d, const struct chat_params *p)
{
	const char	*base = (const char *)p + d->field;

	switch (d->kind) {
	case PARAM_INT:
	case PARAM_BOOL:
		return *(const int *)base;
	case PARAM_INT64:
		return (double)*(const int64_t *)base;
	case PARAM_FLOAT:
		break;
	}
	return *(const float *)base;
}

void
param_set(const struct param_def *d, struct chat_params *p, double v)
{
	char	*base = (char *)p + d->field;

	switch (d->kind) {
	case PARAM_INT:
	case PARAM_BOOL:
		*(int *)base = (int)v;
		break;
	case PARAM_INT64:
		*(int64_t *)base = (int64_t)v;
		break;
	case PARAM_FLOAT:
		*(float *)base = (float)v;
		break;
	}
}

int
param_range(double v, double min, double max, int flags, char **cause)
{
	int	above = (flags & PARAM_ABOVE_MIN) != 0;

	if ((above ? v > min : v >= min) && v <= max)
		return 0;
	if (max != NONE)
		*cause = xstrfmt("must be between %.15g and %.15g", min, max);
	else if (above)
		*cause = xstrfmt("must be more than %.15g", min);
	else
		*cause = xstrfmt("must be %.15g or more", min);
	return -1;
}

int
param_check(const struct param_def *d, const struct chat_params *p,
    char **cause)
{
	double	 v = param_get(d, p);
	char	*why;

	if (d->kind == PARAM_FLOAT && !isfinite(v)) {
		*cause = xstrfmt("%s must be a number", d->name);
		return -1;
	}
	if (param_range(v, d->min, d->max, d->flags, &why) == 0)
		return 0;
	*cause = xstrfmt("%s %s", d->name, why);
	free(why);
	return -1;
}

int
params_check(const struct chat_params *p, char **cause)
{
	size_t	i;

	for (i = 0; i < N_PARAMS; i++) {
		if (param_check(&table[i], p, cause) != 0)
			return -1;
	}
	return 0;
}

/* The words a bool is written with, false first. */
static const char *bool_words[2][2] = {
	{ "false", "0" },
	{ "true", "1" },
};

int
param_parse(const struct param_def *d, const char *text,
    struct chat_params *p, char **cause)
{
	char		*end, *base = (char *)p + d->field;
	long long	 v;
	float		 f;
	int		 b;

	errno = 0;
	switch (d->kind) {
	case PARAM_INT:
	case PARAM_INT64:
		v = strtoll(text, &end, 10);
		if (end == text || *end != '\0' || errno != 0 ||
		    (d->kind == PARAM_INT && (v <= INT_MIN || v > INT_MAX)))
			break;
		if (d->kind == PARAM_INT64)
			*(int64_t *)base = v;
		else
			*(int *)base = (int)v;
		return 0;
	case PARAM_FLOAT:
		f = strtof(text, &end);
		if (end == text || *end != '\0' || errno != 0 || isnan(f))
			break;
		*(float *)base = f;
		return 0;
	case PARAM_BOOL:
		for (b = 0; b < 2; b++) {
			if (strcmp(text, bool_words[b][0]) == 0 ||
			    strcmp(text, bool_words[b][1]) == 0) {
				*(int *)base = b;
				return 0;
			}
		}
		*cause = xstrfmt("invalid bool value [%s]", text);
		return -1;
	}
	*cause = xstrfmt("invalid %s value [%s]", d->kind == PARAM_FLOAT ?
	    "float" : "int", text);
	return -1;
}

char *
param_format(const struct param_def *d, const struct chat_params *p)
{
	const char	*base = (const char *)p + d->field;

	switch (d->kind) {
	case PARAM_INT:
		return xstrfmt("%d", *(const int *)base);
	case PARAM_INT64:
		return xstrfmt("%" PRId64, *(const int64_t *)base);
	case PARAM_BOOL:
		return xstrdup(bool_words[*(const int *)base != 0][0]);
	case PARAM_FLOAT:
		break;
	}
	return xstrfmt("%g", (double)*(const float *)base);
}

json_t *
param_json(const struct param_def *d, const struct chat_params *p,
    int bool_json)
{
	const char	*base = (const char *)p + d->field;

	switch (d->kind) {
	case PARAM_BOOL:
		if (bool_json)
			return json_boolean(*(const int *)base);
		/* FALLTHROUGH */
	case PARAM_INT:
		return json_integer(*(const int *)base);
	case PARAM_INT64:
		return json_integer(*(const int64_t *)base);
	case PARAM_FLOAT:
		break;
	}
	return json_real(*(const float *)base);
}

int
param_from_json(const struct param_def *d, const char *key, json_t *v,
    struct chat_params *p, char **cause)
{
	char		*base = (char *)p + d->field;
	json_int_t	 n;

	if (d->kind == PARAM_FLOAT && json_is_number(v)) {
		*(float *)base = (float)json_number_value(v);
		return 0;
	}
	if (d->kind == PARAM_BOOL && json_is_boolean(v)) {
		*(int *)base = json_is_true(v);
		return 0;
	}
	if (!json_is_integer(v)) {
		*cause = xstrfmt("\"%s\" must be %s", key,
		    d->kind == PARAM_BOOL ? "true or false" : "a number");
		return -1;
	}
	n = json_integer_value(v);
	if (d->kind == PARAM_INT64) {
		*(int64_t *)base = n;
		return 0;
	}
	if (n <= INT_MIN || n > INT_MAX || (d->kind == PARAM_BOOL &&
	    n != 0 && n != 1)) {
		*cause = xstrfmt("\"%s\" is out of range", key);
		return -1;
	}
	*(int *)base = (int)n;
	return 0;
}

void
chat_params_default(struct chat_params *p)
{
	size_t	i;

	memset(p, 0, sizeof *p);
	for (i = 0; i < N_PARAMS; i++)
		param_set(&table[i], p, table[i].def);
}

void
params_unset(struct chat_params *p)
{
	size_t	i;

	memset(p, 0, sizeof *p);
	for (i = 0; i < N_PARAMS; i++)
		param_set(&table[i], p, table[i].kind == PARAM_FLOAT ? NAN :
		    PARAM_UNSET);
}

int
param_given(const struct param_def *d, const struct chat_params *p)
{
	double	v = param_get(d, p);

	return d->kind == PARAM_FLOAT ? !isnan(v) : v != PARAM_UNSET;
}

void
params_merge(struct chat_params *p, const struct chat_params *given)
{
	size_t	 i;
	size_t	 size[] = {
		[PARAM_INT] = sizeof(int),
		[PARAM_INT64] = sizeof(int64_t),
		[PARAM_FLOAT] = sizeof(float),
		[PARAM_BOOL] = sizeof(int),
	};

	for (i = 0; i < N_PARAMS; i++) {
		if (param_given(&table[i], given))
			memcpy((char *)p + table[i].field,
			    (const char *)given + table[i].field,
			    size[table[i].kind]);
	}
}

void
params_sampler(const struct chat_params *p, int n_ctx,
    struct sampler_params *sp)
{
	memset(sp, 0, sizeof *sp);
	sp->temp = p->temperature;
	sp->top_k = p->top_k;
	sp->top_p = p->top_p;
	sp->min_p = p->min_p;
	sp->repeat_penalty = p->repeat_penalty;
	sp->repeat_last_n = p->repeat_last_n < 0 ? n_ctx : p->repeat_last_n;
	sp->seed = p->seed < 0 ? SAMPLER_SEED_RANDOM : (uint64_t)p->seed;
}
