/*
 * params.h - the one table of chat parameters.  Each row is one field of
 * struct chat_params with every name it goes by (the command line, /set
 * parameter, a saved conversation, an OpenAI request), its kind, the
 * range it must lie in, its default and a line of help.  The command line
 * (options.c), the REPL (repl.c), /save and /load (chat.c), the OpenAI
 * requests both ways (openai.c: --remote and serve) and --raw (cmd-raw.c)
 * all iterate it, and param_check is the one range check they share.
 *
 * Adding a parameter: a field in struct chat_params, a row in params.c,
 * and the code that uses it (for a sampling knob: sampler.c and
 * params_sampler).
 */
#ifndef R1_PARAMS_H
#define R1_PARAMS_H

#include <stddef.h>

#include <jansson.h>

#include "chat.h"

struct sampler_params;

/* num_ctx's range; its default, 0, is the model's own context length. */
#define PARAMS_MIN_CTX	64
#define PARAMS_MAX_CTX	(1 << 20)

enum param_kind {
	PARAM_INT,	/* int */
	PARAM_INT64,	/* int64_t */
	PARAM_FLOAT,	/* float */
	PARAM_BOOL	/* int, 0 or 1 */
};

/* Row flags. */
#define PARAM_ABOVE_MIN	0x1	/* the range excludes min itself */

struct param_def {
	const char	*name;		/* /set parameter, /show */
	const char	*save_key;	/* in a saved conversation */
	const char	*option;	/* --OPTION (a bool: --OPTION and
					   --noOPTION); NULL: none */
	int		 short_option;	/* -X; 0: none */
	unsigned	 commands;	/* CMD_* bits (cmd.h): whose command
					   line takes the option */
	const char	*request;	/* in a request; NULL: none */
	const char	*request_alias;	/* also read, never written */
	double		 request_off;	/* a value not sent */
	enum param_kind	 kind;
	size_t		 field;		/* in struct chat_params */
	double		 min, max;	/* the range (HUGE_VAL: none) */
	int		 flags;
	double		 def;		/* the default */
	const char	*help;		/* /show, --help */
};

/* Row i of the table, NULL past its end. */
const struct param_def *param_at(size_t i);

/* The row whose /set name is the n bytes of name, or NULL. */
const struct param_def *param_find(const char *name, size_t n);

/* The value of d's field in p, as a double (a seed may lose bits). */
double param_get(const struct param_def *d, const struct chat_params *p);

/* Sets d's field in p to v (converted to the field's kind). */
void param_set(const struct param_def *d, struct chat_params *p, double v);

/*
 * The range check: returns 0 when d's field in p may be used, else -1
 * with *cause set to a sentence naming the parameter and its range.
 */
int param_check(const struct param_def *d, const struct chat_params *p,
    char **cause);

/*
 * Whether v lies in [min, max] (above min with PARAM_ABOVE_MIN in flags;
 * HUGE_VAL: no bound): 0, or -1 with *cause set to the range's words,
 * "must be between 0 and 1", "must be -1 or more", "must be more than 0".
 */
int param_range(double v, double min, double max, int flags, char **cause);

/* param_check over every row: 0, or -1 with *cause for the first bad one. */
int params_check(const struct chat_params *p, char **cause);

/*
 * Parses text (a /set or command-line value: a number, or for a bool
 * true, false, 1 or 0) into d's field of p.  Checks the kind, not the
 * range.  Returns 0, or -1 with *cause set.
 */
int param_parse(const struct param_def *d, const char *text,
    struct chat_params *p, char **cause);

/* d's field of p as /show parameters prints it, malloc'd. */
char *param_format(const struct param_def *d, const struct chat_params *p);

/*
 * d's field of p as JSON: a bool as true or false when bool_json, else
 * as 0 or 1 (a saved conversation's way).
 */
json_t *param_json(const struct param_def *d, const struct chat_params *p,
    int bool_json);

/*
 * Reads JSON v (named key, for the error) into d's field of p: any number
 * for a float, an integer in the field's range of values for an int, an
 * integer 0 or 1 or true or false for a bool.  Checks the kind, not the
 * range.  Returns 0, or -1 with *cause set.
 */
int param_from_json(const struct param_def *d, const char *key, json_t *v,
    struct chat_params *p, char **cause);

/*
 * Puts every field of p at "not given" (NaN for a float, PARAM_UNSET
 * otherwise), for a command line to fill.
 */
void params_unset(struct chat_params *p);
#define PARAM_UNSET	INT32_MIN

/* Whether d's field of p was given (is not "not given"). */
int param_given(const struct param_def *d, const struct chat_params *p);

/* Copies into p the fields given in given. */
void params_merge(struct chat_params *p, const struct chat_params *given);

/*
 * The sampler's parameters for p in a context of n_ctx tokens
 * (repeat_last_n -1 is the whole context, a seed below 0 a random one).
 */
void params_sampler(const struct chat_params *p, int n_ctx,
    struct sampler_params *sp);

#endif
