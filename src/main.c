/*
 * main.c - r1chat's entry: dispatches the subcommands from a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "options.h"

struct cmd_entry {
	const char	*name;
	int		(*fn)(struct options *);
	const char	*usage;
};

static const struct cmd_entry cmd_table[] = {
	{ "show", cmd_show, "show MODEL.gguf [--verbose]" },
	{ "quantize", cmd_quantize, "quantize IN.gguf OUT.gguf TYPE" },
	{ "perplexity", cmd_perplexity,
	    "perplexity MODEL.gguf -f FILE [-c 512] [-b N] [-t N]" },
	{ "serve", cmd_serve,
	  "serve MODEL.gguf [--host 127.0.0.1] [--port 11435]" },
	{ "tokenize", cmd_tokenize,
	  "tokenize MODEL.gguf TEXT [--ids] [--no-bos] [--no-special]" },
};
#define N_CMDS (sizeof cmd_table / sizeof cmd_table[0])

void
cmd_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("r1chat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: r1chat [OPTIONS] MODEL.gguf [PROMPT...]\n");
	fprintf(f, "       r1chat --demo\n");
	fprintf(f, "       r1chat --remote URL [-m NAME] [PROMPT...]\n");
	for (i = 0; i < N_CMDS; i++)
		fprintf(f, "       r1chat %s\n", cmd_table[i].usage);
	fprintf(f, "See r1chat(1) for the options.\n");
}

int
main(int argc, char **argv)
{
	const struct cmd_entry	*c = NULL;
	struct options		 o;
	size_t			 i;
	int			 rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("%s\n", PACKAGE_STRING);
		return 0;
	}
	for (i = 0; argc > 1 && i < N_CMDS; i++) {
		if (strcmp(argv[1], cmd_table[i].name) == 0)
			c = &cmd_table[i];
	}
	if (c == NULL) {
		/* No subcommand: the chat, which finds its model itself. */
		if (argc < 2) {
			usage(stderr);
			return 2;
		}
		if (options_parse(argc, argv, &o) != 0)
			return 2;
		rc = o.raw ? cmd_raw(&o) : cmd_chat(&o);
		options_free(&o);
		return rc;
	}
	if (options_parse(argc - 1, argv + 1, &o) != 0)
		return 2;
	if (o.model == NULL) {
		cmd_error("%s: no model given", c->name);
		options_free(&o);
		return 2;
	}
	rc = c->fn(&o);
	options_free(&o);
	return rc;
}
