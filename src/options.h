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
};

/*
 * Parses argv (argv[0] is the subcommand or program name) into o.  Returns
 * 0, or -1 after printing a usage error on stderr (exit status 2).
 */
int options_parse(int argc, char **argv, struct options *o);

/* Frees what options_parse allocated. */
void options_free(struct options *o);

#endif
