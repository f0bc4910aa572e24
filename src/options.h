/*
 * options.h - the command line, parsed from one table shared by every
 * subcommand (llama.cpp's names where one exists, ollama's where it fits)
 * and, for the chat parameters, from params.c's table.  Each row says
 * which commands take it, the range or the set of values it must lie
 * in, and its line of --help.
 */
#ifndef R1_OPTIONS_H
#define R1_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "params.h"

struct opt_given;
struct store_model;

struct options {
	const char	*model;		/* -m or the first positional */
	const struct store_model *found; /* the model named, when one was */
	const char	*warning;	/* options_check's, for the TUI to show */
	char		**args;		/* the other positionals */
	int		 n_args;
	int		 verbose;	/* --verbose */
	int		 help;		/* -h, --help */
	int		 version;	/* --version */
	int		 ids;		/* tokenize --ids */
	int		 no_bos;	/* tokenize --no-bos */
	int		 no_special;	/* tokenize --no-special */

	/*
	 * The chat parameters, each under its option in params.c's table:
	 * one not given is "not given" (params_unset; params_merge copies
	 * the others).
	 */
	struct chat_params params;

	/* The engine and the chat.  A number option not given: OPT_UNSET. */
	int		 threads;	/* -t, --threads */
	int		 batch;		/* -b, --batch-size */
	const char	*system_prompt;	/* --system-prompt */
	int		 hidethinking;	/* --hidethinking */
	const char	*template_name;	/* --template */
	int		 no_tui;	/* --no-tui */
	int		 demo;		/* --demo */
	int		 resume;	/* --resume: the first positional a session */
	int		 no_history;	/* --no-history */
	int		 mlock;		/* --mlock: keep the weights in memory */
	const char	*draft;		/* --draft MODEL: speculative decoding */
	int		 draft_max;	/* --draft-max N */
	int		 lookup;	/* --lookup: n-gram speculation */

	/* an OpenAI-compatible server: --remote the client, serve the server */
	const char	*remote;	/* --remote URL */
	const char	*api_key_file;	/* --api-key-file */
	int		 timeout;	/* --timeout SECONDS */
	const char	*host;		/* serve --host */
	int		 port;		/* serve --port */
	const char	*reasoning_format; /* serve --reasoning-format */
	int		 queue;		/* serve --queue */
	int		 max_body;	/* serve --max-body BYTES */
	int		 max_tokens;	/* serve --max-tokens */
	const char	*alias;		/* serve --alias: the model's id */
	const char	*cors;		/* serve --cors ORIGIN */
	int		 quiet;		/* serve --quiet: no access log */

	/* the engine's own: perplexity, --raw */
	int		 raw;		/* --raw: completion, no template */
	const char	*file;		/* -f, --file */
	const char	*kv_type;	/* --kv-type f16|f32 (-ctk) */

	/* bench */
	int		 n_prompt;	/* -p, --n-prompt */
	int		 repetitions;	/* -r, --repetitions */
	int		 n_depth;	/* -d, --n-depth: tokens in the cache */
	int		 calibrate;	/* --calibrate: measure the kernels */

	/* pull */
	const char	*registry;	/* --registry URL */
	int		 connections;	/* --connections N */

	/* The options as options_parse found them, for options_check. */
	struct opt_given *given;
	int		 n_given;
};

/* What an int option not given holds. */
#define OPT_UNSET PARAM_UNSET

/* v, or def when it was not given. */
#define OPT_OR(v, def)	((v) != OPT_UNSET ? (v) : (def))

/*
 * Parses argv (argv[0] is the subcommand or program name) into o: the
 * options' names and the positionals; the flags and the text options are
 * set, the numbers and the check of every value left to options_check.
 * Returns 0, or -1 with *cause set (a usage error: exit status 2).
 */
int options_parse(int argc, char **argv, struct options *o, char **cause);

/*
 * Checks the options options_parse found against the command cmd (a
 * CMD_* bit, cmd.h; name is what messages call it, NULL for the chat)
 * and stores their values: each must be one of cmd's, a number in its
 * row's range, or one of its row's names.  Returns 0, with *warning set
 * to a sentence or NULL (more threads than processors), or -1 with
 * *cause set (a usage error), naming the option as its long name.
 */
int options_check(struct options *o, unsigned cmd, const char *name,
    char **warning, char **cause);

/* Prints the options cmd takes, one line each, grouped as r1chat(1). */
void options_help(FILE *f, unsigned cmd);

/*
 * The warning for a -c larger than the model's trained context (n_train,
 * 0 when unknown), malloc'd, or NULL when there is none.
 */
char *options_ctx_warning(const struct options *o, long n_train);

/* Frees what options_parse allocated. */
void options_free(struct options *o);

#endif
