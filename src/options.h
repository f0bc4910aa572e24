/*
 * options.h - the command line, parsed from one table shared by every
 * subcommand (llama.cpp's names where one exists, ollama's where it fits)
 * and, for the chat parameters, from params.c's table.
 */
#ifndef R1_OPTIONS_H
#define R1_OPTIONS_H

#include <stdint.h>

#include "params.h"

struct options {
	const char	*model;		/* -m or the first positional */
	char		**args;		/* the other positionals */
	int		 n_args;
	int		 verbose;	/* --verbose */
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
	int		 mlock;		/* --mlock: keep the weights in memory */

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
};

/* What an int option not given holds. */
#define OPT_UNSET PARAM_UNSET

/*
 * Parses argv (argv[0] is the subcommand or program name) into o.  Returns
 * 0, or -1 after printing a usage error on stderr (exit status 2).
 */
int options_parse(int argc, char **argv, struct options *o);

/* Frees what options_parse allocated. */
void options_free(struct options *o);

#endif
