/*
 * main.c - r1chat's entry: dispatches the subcommands from a table.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "options.h"
#include "quant.h"

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
	{ "bench", cmd_bench, "bench MODEL.gguf [-p 128] [-n 64] [-r 3] [-t N]" },
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

/*
 * The kernels' threads wait for each other hundreds of times a token, and
 * libgomp spins 300000 times before it sleeps: on a machine busy with
 * other work, a waiting thread burns the time slice its partner needs and
 * generation slows several times over (measured: 0.4 against 2.9 t/s on a
 * loaded 2-core machine).  Unless the user chose (OMP_WAIT_POLICY,
 * GOMP_SPINCOUNT), r1chat spins for some tens of microseconds, about what
 * threads of one matmul wait for each other, then sleeps.  libgomp reads
 * the variable when it loads, hence one re-execution; when that fails
 * (no /proc) libgomp's default stays.  It executes the binary by its own
 * path, not /proc/self/exe, for the kernel names a process after the file
 * it executed: ps and pgrep -x r1chat would see "exe".
 */
#define OMP_SPINCOUNT "3000"

static void
omp_wait_tune(char **argv)
{
#ifdef _OPENMP
	char	path[PATH_MAX];
	ssize_t	n;

	if (getenv("OMP_WAIT_POLICY") != NULL ||
	    getenv("GOMP_SPINCOUNT") != NULL ||
	    (n = readlink("/proc/self/exe", path, sizeof path - 1)) <= 0 ||
	    (size_t)n >= sizeof path - 1 ||
	    setenv("GOMP_SPINCOUNT", OMP_SPINCOUNT, 1) != 0)
		return;
	path[n] = '\0';
	execv(path, argv);
	unsetenv("GOMP_SPINCOUNT");	/* not re-executed: as the user had it */
#else
	(void)argv;
#endif
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
	char			*cause;

	omp_wait_tune(argv);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("%s\n", PACKAGE_STRING);
		return 0;
	}
	/* R1CHAT_ISA is checked here, once, for every command. */
	if (quant_init(&cause) != 0) {
		cmd_error("%s", cause);
		free(cause);
		return 2;
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
