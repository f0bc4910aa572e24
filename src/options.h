/*
 * options.h - the command line, parsed from one table shared by every
 * subcommand (llama.cpp's names where one exists, ollama's where it fits).
 */
#ifndef R1_OPTIONS_H
#define R1_OPTIONS_H

#include <stdint.h>

struct options {
	const char	*model;		/* -m or the first positional */
	char		**args;		/* the other positionals */
	int		 n_args;
	int		 verbose;	/* --verbose */
	int		 ids;		/* tokenize --ids */
	int		 no_bos;	/* tokenize --no-bos */
	int		 no_special;	/* tokenize --no-special */

	/*
	 * The engine and the chat.  A number option not given holds
	 * OPT_UNSET (ints) or NaN (floats: test with isnan).
	 */
	int		 threads;	/* -t, --threads */
	int		 ctx_size;	/* -c, --ctx-size */
	int		 batch;		/* -b, --batch-size */
	int		 n_predict;	/* -n, --predict */
	float		 temp;		/* --temp */
	int		 top_k;		/* --top-k */
	float		 top_p;		/* --top-p */
	float		 min_p;		/* --min-p */
	float		 repeat_penalty; /* --repeat-penalty */
	int		 repeat_last_n;	/* --repeat-last-n */
	int64_t		 seed;		/* -s, --seed */
	const char	*system_prompt;	/* --system-prompt */
	int		 hidethinking;	/* --hidethinking */
	int		 think;		/* --think */
	int		 nothink;	/* --nothink */
	int		 think_budget;	/* --think-budget */
	const char	*template_name;	/* --template */
	int		 no_tui;	/* --no-tui */
	int		 demo;		/* --demo */

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

	/* the engine's own: perplexity, --raw */
	int		 raw;		/* --raw: completion, no template */
	const char	*file;		/* -f, --file */
	const char	*kv_type;	/* --kv-type f16|f32 (-ctk) */
};

/* What an int option not given holds. */
#define OPT_UNSET INT32_MIN

/*
 * Parses argv (argv[0] is the subcommand or program name) into o.  Returns
 * 0, or -1 after printing a usage error on stderr (exit status 2).
 */
int options_parse(int argc, char **argv, struct options *o);

/* Frees what options_parse allocated. */
void options_free(struct options *o);

#endif
