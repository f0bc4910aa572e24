/*
 * main.c - r1chat's entry: dispatches the subcommands from a table.
 */
#include "config.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gguf.h"
#include "options.h"
#include "quant.h"
#include "store.h"

struct cmd_entry {
	const char	*name;		/* argv[1]; the chat's: NULL */
	int		(*fn)(struct options *);
	unsigned	 bit;		/* CMD_*: its options (options.c) */
	const char	*usage;		/* after "r1chat ", lines */
	const char	*help;		/* in the chat's --help */
	int		 arg;		/* its first positional: an ARG_* */
};

/* What a command's first positional is. */
enum {
	ARG_MODEL,	/* a MODEL: a path or a name (store.c) */
	ARG_NAME,	/* a model's name, as the user wrote it */
	ARG_NONE,	/* nothing required */
};

static const struct cmd_entry cmd_table[] = {
	{ "show", cmd_show, CMD_SHOW, "show MODEL [-c N] [--verbose]",
	  "what the model is, as ollama show says it", ARG_MODEL },
	{ "quantize", cmd_quantize, CMD_QUANTIZE,
	  "quantize MODEL OUT.gguf TYPE",
	  "an F32, F16 or BF16 model converted to TYPE", ARG_MODEL },
	{ "perplexity", cmd_perplexity, CMD_PERPLEXITY,
	  "perplexity MODEL -f FILE [-c 512] [-b N] [-t N]",
	  "llama-perplexity's measure of the model on a text", ARG_MODEL },
	{ "bench", cmd_bench, CMD_BENCH,
	  "bench MODEL [-p 128] [-n 64] [-r 3] [-d 0] [-t N]\n"
	  "bench --calibrate [MODEL ...]",
	  "prompt and generation speed, as llama-bench measures them",
	  ARG_MODEL },
	{ "serve", cmd_serve, CMD_SERVE,
	  "serve MODEL [--host 127.0.0.1] [--port 11435] [OPTIONS]",
	  "an OpenAI-compatible HTTP server on the model", ARG_MODEL },
	{ "tokenize", cmd_tokenize, CMD_TOKENIZE,
	  "tokenize MODEL TEXT [--ids] [--no-bos] [--no-special]",
	  "the token ids of TEXT", ARG_MODEL },
	{ "pull", cmd_pull, CMD_PULL,
	  "pull NAME [--registry URL] [--connections N]",
	  "a model fetched into r1chat's store", ARG_NAME },
	{ "list", cmd_list, CMD_LIST, "list",
	  "the models of ollama's store and r1chat's", ARG_NONE },
	{ "rm", cmd_rm, CMD_RM, "rm NAME...",
	  "models removed from r1chat's store", ARG_NAME },
};
#define N_CMDS (sizeof cmd_table / sizeof cmd_table[0])

/* No command: the chat, or --raw's completion. */
static const struct cmd_entry chat_entry = {
	NULL, cmd_chat, CMD_CHAT,
	"[OPTIONS] MODEL [PROMPT...]\n"
	"--demo [OPTIONS] [PROMPT...]\n"
	"--remote URL [-m NAME] [OPTIONS] [PROMPT...]", NULL, ARG_MODEL
};
static const struct cmd_entry raw_entry = {
	"--raw", cmd_raw, CMD_RAW, "--raw [OPTIONS] MODEL PROMPT", NULL,
	ARG_MODEL
};

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

void
cmd_kernels_say(void)
{
	char	*s = quant_choice_summary();

	cmd_error("kernels: %s", s);
	free(s);
}

void
cmd_ctx_warn(const struct options *o, long n_train)
{
	char	*warning;

	if ((warning = options_ctx_warning(o, n_train)) != NULL)
		cmd_error("warning: %s", warning);
	free(warning);
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

/* Prints e's usage lines, the first after "usage: ". */
static void
usage_lines(FILE *f, const struct cmd_entry *e, int first)
{
	const char	*p, *nl;

	for (p = e->usage; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		fprintf(f, "%s r1chat %.*s\n", first ? "usage:" : "      ",
		    (int)(nl - p), p);
		first = 0;
	}
}

/* The usage error: every command's usage lines. */
static void
usage(FILE *f)
{
	size_t	i;

	usage_lines(f, &chat_entry, 1);
	usage_lines(f, &raw_entry, 0);
	for (i = 0; i < N_CMDS; i++)
		usage_lines(f, &cmd_table[i], 0);
	fprintf(f, "r1chat --help, r1chat help COMMAND: the options\n");
}

/*
 * --help: e's usage and options; for the chat's, the commands too.
 * Returns the exit status, 0.
 */
static int
help(const struct cmd_entry *e)
{
	size_t	i;

	usage_lines(stdout, e, 1);
	if (e == &chat_entry)
		usage_lines(stdout, &raw_entry, 0);
	options_help(stdout, e->bit);
	if (e == &chat_entry) {
		printf("\nCommands (r1chat help COMMAND: its options):\n");
		for (i = 0; i < N_CMDS; i++)
			printf("  %-12s %s\n", cmd_table[i].name,
			    cmd_table[i].help);
	}
	printf("\nSee r1chat(1).\n");
	return 0;
}

/* `r1chat help [COMMAND]`: COMMAND --help.  Returns the exit status. */
static int
help_command(int argc, char **argv)
{
	size_t	i;

	if (argc == 2)
		return help(&chat_entry);
	if (argc == 3 && (strcmp(argv[2], raw_entry.name) == 0 ||
	    strcmp(argv[2], raw_entry.name + 2) == 0))
		return help(&raw_entry);	/* --raw, or raw */
	for (i = 0; argc == 3 && i < N_CMDS; i++) {
		if (strcmp(argv[2], cmd_table[i].name) == 0)
			return help(&cmd_table[i]);
	}
	if (argc == 3)
		cmd_error("help: %s: not a command (r1chat --help lists them)",
		    argv[2]);
	else
		cmd_error("help: one command at most");
	return 2;
}

/*
 * A command's MODEL, a path or a name (the chat's with neither --remote,
 * whose -m names the server's model, nor --demo, whose words are the
 * prompt): o->model becomes the file to open, o->found what was found.
 * A name not here is pulled first when the full-screen chat's user says
 * so.  Returns 0, or -1 with *rc set (and *cause, unless said).
 */
static int
model_resolve(const struct cmd_entry *c, struct options *o,
    struct store_model *found, int *rc, char **cause)
{
	int	k;

	memset(found, 0, sizeof *found);
	if (c->arg != ARG_MODEL || o->model == NULL || o->remote != NULL ||
	    o->demo)
		return 0;
	k = store_resolve(o->model, found, cause);
	if (k == 1 && c == &chat_entry && cmd_chat_interactive(o)) {
		k = cmd_pull_ask(o, *cause) == 0 ? 0 : -1;
		free(*cause);
		*cause = NULL;
		if (k == 0)
			k = store_resolve(o->model, found, cause);
	}
	if (k != 0) {
		*rc = 1;
		return -1;
	}
	o->model = found->path;
	o->found = found;
	return 0;
}

/*
 * SIGBUS in a model's map: the file shrank under r1chat (truncated, or
 * rewritten in place).  One line naming it, and an error's exit status,
 * not a crash and its core; any other SIGBUS is left to the default.
 */
static void
on_bus(int sig, siginfo_t *info, void *ctx)
{
	static const char	 why[] = ": the file was truncated while in use\n";
	static char		 line[PATH_MAX + 64];
	const char		*path = gguf_map_owner(info->si_addr);
	size_t			 n, k;
	ssize_t			 rc;

	if (path == NULL) {
		signal(sig, SIG_DFL);
		return;		/* the access faults again, the default */
	}
	n = strlen("r1chat: ");
	memcpy(line, "r1chat: ", n);
	k = strlen(path);
	if (k > PATH_MAX)
		k = PATH_MAX;
	memcpy(line + n, path, k);
	n += k;
	memcpy(line + n, why, sizeof why - 1);
	n += sizeof why - 1;
	rc = write(STDERR_FILENO, line, n);
	(void)rc;
	(void)ctx;
	_exit(1);
}

static void
bus_guard(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
}

int
main(int argc, char **argv)
{
	const struct cmd_entry	*c = NULL;
	struct options		 o;
	struct store_model	 found;
	size_t			 i;
	int			 rc = 2, skip;
	char			*cause = NULL, *warning = NULL;

	omp_wait_tune(argv);
	bus_guard();
	if (argc > 1 && strcmp(argv[1], "help") == 0)
		return help_command(argc, argv);
	for (i = 0; argc > 1 && i < N_CMDS; i++) {
		if (strcmp(argv[1], cmd_table[i].name) == 0)
			c = &cmd_table[i];
	}
	if (c == NULL && argc < 2) {
		usage(stderr);
		return 2;
	}
	/* a command's options start after its name */
	skip = c != NULL;
	if (options_parse(argc - skip, argv + skip, &o, &cause) != 0)
		goto out;
	if (c == NULL)
		c = o.raw ? &raw_entry : &chat_entry;
	if (o.help) {
		rc = help(c);
		goto out;
	}
	if (o.version) {
		printf("%s\n", PACKAGE_STRING);
		rc = 0;
		goto out;
	}
	/* R1CHAT_ISA and the options are checked here, once, for all. */
	if (quant_init(&cause) != 0 ||
	    options_check(&o, c->bit, c->name, &warning, &cause) != 0)
		goto out;
	/* the full-screen chat shows it in its pane, else it would go unseen */
	o.warning = warning;
	if (warning != NULL && !(c == &chat_entry && cmd_chat_interactive(&o)))
		cmd_error("warning: %s", warning);
	/* bench --calibrate measures the kernels, with or without one */
	if (skip && o.model == NULL && c->arg != ARG_NONE && !o.calibrate)
		cmd_error("%s: no model given", c->name);
	else if (model_resolve(c, &o, &found, &rc, &cause) == 0) {
		rc = c->fn(&o);
		store_model_free(&found);
	}
out:
	if (cause != NULL)
		cmd_error("%s", cause);
	free(cause);
	free(warning);
	options_free(&o);
	return rc;
}
