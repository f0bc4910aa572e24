/*
 * cmd-chat.c - `r1chat [OPTIONS] MODEL [PROMPT...]` and `r1chat --demo`:
 * the options made into chat parameters, then the full-screen chat on a
 * terminal, or one turn written out (a prompt given, stdin or stdout not a
 * terminal, or --no-tui).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "backend.h"
#include "chat.h"
#include "cmd.h"
#include "gguf.h"
#include "options.h"
#include "params.h"
#include "plain.h"
#include "repl.h"
#include "store.h"
#include "residency.h"
#include "session.h"
#include "spec.h"
#include "tui.h"
#include "util.h"

/* More than any context holds: past this, stdin is refused unread. */
#define STDIN_MAX	(64u << 20)

/*
 * The demo's settings, unless the options say otherwise: its longest
 * working is some 450 tokens, and at temperature 0 its
 * answers are the ones tests/demo.sh checks.
 */
#define DEMO_PREDICT		1024
#define DEMO_TEMP		0.0f
#define DEMO_PROMPT		"What is 238 + 475?"
#define DEMO_FILE		"r1chat-demo.gguf"

/* What the demo says first on a terminal: what it can do. */
#define DEMO_GREETING							\
	"This is r1chat's demo model, a tiny model trained by "		\
	"tools/train-demo to reason as DeepSeek-R1 does, on sums only: "	\
	"addition and subtraction of whole numbers up to 9999, "		\
	"multiplication of up to 3 digits by 1 or of up to 2 digits by 2, "	\
	"and word problems of them, in English or Chinese.  Try: What is "	\
	"4738 - 956?  or: "						\
	"小明有 23 个苹果，又得到了 48 个。小明现在有多少个苹果？"
#define DEMO_HINTS	"/? for the commands; /bye to leave."

/* Reads all of stdin into *out.  Returns 0, or -1 with *cause set. */
static int
read_stdin(char **out, size_t *len, char **cause)
{
	char	*buf = NULL, *p;
	size_t	 n = 0, cap = 0;
	ssize_t	 r;

	for (;;) {
		if (n == cap) {
			if (cap >= STDIN_MAX) {
				free(buf);
				*cause = xstrfmt("stdin: more than %u MiB",
				    STDIN_MAX >> 20);
				return -1;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if ((p = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				*cause = xstrdup("stdin: out of memory");
				return -1;
			}
			buf = p;
		}
		if ((r = read(STDIN_FILENO, buf + n, cap - n)) == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			*cause = xstrfmt("stdin: %s", strerror(errno));
			return -1;
		}
		n += (size_t)r;
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int
cmd_text(struct options *o, const char *what, int flags, char **out,
    size_t *len, char **cause)
{
	char	*text = NULL;
	size_t	 n = 0, k;
	int	 i;

	if (flags & CMD_TEXT_STDIN) {
		/* Not a silent wait on a terminal (r1chat M | cat). */
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "r1chat: reading the %s from the "
			    "terminal: end it with Ctrl-D, or give it as "
			    "arguments\n", what);
		if (read_stdin(&text, &n, cause) != 0)
			return -1;
		/* A trailing newline from echo is not part of a question. */
		while ((flags & CMD_TEXT_TRIM) && n > 0 &&
		    (text[n - 1] == '\n' || text[n - 1] == '\r'))
			n--;
	}
	for (i = 0; i < o->n_args; i++) {
		k = strlen(o->args[i]);
		text = xreallocarray(text, n + k + 2, 1);
		if (n > 0 || i > 0)
			text[n++] = ' ';
		memcpy(text + n, o->args[i], k);
		n += k;
	}
	if (text == NULL)
		text = xstrdup("");
	text[n] = '\0';
	*out = text;
	*len = n;
	return 0;
}

/*
 * The defaults a model found by name brings (store.c), as ollama takes
 * them: its params layer's values of the parameters r1chat has (a value
 * out of range is refused when the chat opens), its system layer as the
 * system prompt.  The options given override both.
 */
static void
found_defaults(const struct store_model *m, struct chat_config *cfg)
{
	const struct param_def	*d;
	json_t			*j, *v;
	const char		*key;
	char			*cause = NULL;

	if (m == NULL)
		return;
	cfg->system = m->system;
	if (m->params == NULL || (j = json_loads(m->params, 0, NULL)) == NULL)
		return;
	json_object_foreach(j, key, v) {
		if ((d = param_find(key, strlen(key))) != NULL &&
		    param_from_json(d, key, v, &cfg->params, &cause) != 0) {
			free(cause);
			cause = NULL;
		}
	}
	json_decref(j);
}

int
cmd_open_error(const struct chat_config *cfg, char *cause)
{
	char	*why = NULL;
	int	 rc = 1;

	if (cfg->remote_url != NULL)
		cmd_error("%s", cause);
	else if (cfg->draft_path != NULL && spec_vocab_check(cfg->model_path,
	    cfg->draft_path, &why) == 1) {
		cmd_error("%s", why);
		rc = 2;
	} else
		cmd_error("%s: %s", cfg->model_path, cause);
	free(why);
	free(cause);
	return rc;
}

void
cmd_chat_config(struct options *o, const char *model,
    struct chat_config *cfg)
{
	struct chat_params	*p = &cfg->params;

	memset(cfg, 0, sizeof *cfg);
	chat_params_default(p);
	cfg->model_path = model;
	cfg->template_name = o->template_name;
	if (model == o->model)
		found_defaults(o->found, cfg);
	if (o->system_prompt != NULL)
		cfg->system = o->system_prompt;
	cfg->n_threads = OPT_OR(o->threads, 0);
	cfg->n_batch = OPT_OR(o->batch, 0);
	cfg->mlock = o->mlock;
	cfg->kv_type = o->kv_type;
	cfg->lookup = o->lookup;
	cfg->draft_path = o->draft;
	cfg->draft_max = OPT_OR(o->draft_max, 0);
	params_merge(p, &o->params);
}

/*
 * What the model asks of memory: a summary for a mixture of experts (said
 * with --verbose, and in the TUI) and a warning when memory is short.
 */
static void
memory_notes(const char *path, char **summary, char **warning)
{
	struct gguf_file	*g;
	struct residency	 r;
	char			*cause = NULL;

	*summary = *warning = NULL;
	if ((g = gguf_open(path, &cause)) == NULL) {
		free(cause);
		return;
	}
	residency_measure(g, &r);
	gguf_close(g);
	*summary = residency_summary(&r);
	*warning = residency_warning(&r);
}

/* Joins the n lines of v that are not NULL; NULL when all are. */
static char *
lines_join(const char *const *v, int n)
{
	char	*all = NULL, *t;
	int	 i;

	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		t = all == NULL ? xstrdup(v[i]) : xstrfmt("%s\n%s", all, v[i]);
		free(all);
		all = t;
	}
	return all;
}

/*
 * Loads the saved conversation at path into c, the parameters of the
 * command line over its own.  Returns 0, or -1 with *cause set.
 */
static int
resume_load(struct chat *c, const struct options *o, const char *path,
    char **cause)
{
	struct chat_params	p;

	if (chat_load(c, path, cause) != 0)
		return -1;
	p = *chat_get_params(c);
	params_merge(&p, &o->params);
	return chat_set_params(c, &p, cause);
}

/*
 * The file the TUI keeps the conversation in: the resumed one, else a
 * new one; NULL with --no-history, or with *warning set when there is
 * nowhere to keep it.
 */
static char *
session_file(const struct options *o, const char *resume, char **warning)
{
	char	*path, *cause = NULL;

	*warning = NULL;
	if (o->no_history)
		return NULL;
	if (resume != NULL)
		return xstrdup(resume);
	if ((path = session_new(&cause)) == NULL) {
		*warning = xstrfmt("warning: this conversation is not kept: "
		    "%s", cause);
		free(cause);
	}
	return path;
}

int
cmd_chat_interactive(const struct options *o)
{
	return o->n_args == 0 && isatty(STDIN_FILENO) &&
	    isatty(STDOUT_FILENO) && !o->no_tui;
}

/*
 * Opens the chat on model and runs it; banner, when not NULL, is said
 * first, and deflt is the message when none is given (the demo's);
 * resume, when not NULL, is the saved conversation to continue.
 */
static int
chat_run(struct options *o, struct chat_config *cfg, const char *banner,
    const char *deflt, const char *resume)
{
	struct chat	*c;
	struct repl	 r;
	char		*msg = NULL, *cause = NULL, *warning = NULL, *all;
	char		*mem = NULL, *mem_warning = NULL, *ctx_warning;
	char		*session, *session_warning, *opt_warning;
	uint64_t	 faults;
	size_t		 len = 0;
	int		 rc, interactive;

	interactive = cmd_chat_interactive(o);
	cfg->words = interactive ? CHAT_WORDS_SESSION : CHAT_WORDS_COMMAND;
	if (!interactive) {
		/* stdin (when it is not a terminal), then the arguments,
		 * as ollama joins them */
		if (cmd_text(o, "message", CMD_TEXT_TRIM |
		    (!isatty(STDIN_FILENO) || o->n_args == 0 ?
		    CMD_TEXT_STDIN : 0), &msg, &len, &cause) != 0) {
			cmd_error("%s", cause);
			free(cause);
			return 1;
		}
		if (len == 0 && deflt != NULL) {
			free(msg);
			msg = xstrdup(deflt);
			len = strlen(msg);
		}
		if (len == 0) {
			cmd_error("no prompt: give one after the model, or on "
			    "stdin");
			free(msg);
			return 2;
		}
	}
	if ((c = chat_open(cfg, &warning, &cause)) == NULL) {
		free(msg);
		return cmd_open_error(cfg, cause);
	}
	if (resume != NULL && resume_load(c, o, resume, &cause) != 0) {
		cmd_error("%s", cause);
		free(cause);
		free(warning);
		free(msg);
		chat_free(c);
		return 1;
	}
	ctx_warning = options_ctx_warning(o, chat_info(c)->ctx_train);
	/* a remote model's memory is the server's business */
	if (cfg->remote_url == NULL)
		memory_notes(cfg->model_path, &mem, &mem_warning);
	if (!interactive) {
		if (banner != NULL)
			fprintf(stderr, "%s\n\n", banner);
		if (warning != NULL)
			cmd_error("warning: %s", warning);
		if (ctx_warning != NULL)
			cmd_error("warning: %s", ctx_warning);
		if (mem != NULL && o->verbose)
			cmd_error("%s: %s", cfg->model_path, mem);
		if (o->verbose && cfg->remote_url == NULL)
			cmd_kernels_say();
		if (mem_warning != NULL)
			cmd_error("warning: %s", mem_warning);
		faults = residency_faults();
		rc = plain_run(c, msg, len, o->hidethinking, o->verbose);
		/* a resumed conversation goes on being kept, as the TUI's */
		if (resume != NULL && !o->no_history &&
		    chat_n_messages(c) > 0 && chat_save(c, resume, &cause) != 0) {
			cmd_error("warning: session: %s", cause);
			free(cause);
			cause = NULL;
		}
		/* a mixture of experts: how much came from disk */
		if (mem != NULL && o->verbose)
			cmd_error("%s: %llu page faults read from disk",
			    cfg->model_path, (unsigned long long)
			    (residency_faults() - faults));
	} else {
		session = session_file(o, resume, &session_warning);
		repl_init(&r, c, NULL, NULL);
		r.verbose = o->verbose;
		r.hidethinking = o->hidethinking;
		r.session = session;
		r.nohistory = o->no_history;
		opt_warning = o->warning != NULL ? xstrfmt("warning: %s",
		    o->warning) : NULL;
		all = lines_join((const char *[]){ banner, opt_warning,
		    warning, ctx_warning, mem_warning != NULL ? mem_warning :
		    mem, session_warning }, 6);
		free(opt_warning);
		rc = tui_run(&r, all);
		free(all);
		repl_free(&r);
		free(session);
		free(session_warning);
	}
	free(warning);
	free(ctx_warning);
	free(mem);
	free(mem_warning);
	free(msg);
	chat_free(c);
	return rc;
}

/*
 * The demo model: the source tree's share/ (a build tree, where a
 * retrained model is tried at once), else the installed one.  Returns it
 * (malloc'd), or NULL with *cause set.
 */
static char *
demo_path(char **cause)
{
	const char	*dirs[] = { R1CHAT_SRCDIR "/share", R1CHAT_PKGDATADIR };
	char		*path;
	size_t		 i;

	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		path = xstrfmt("%s/%s", dirs[i], DEMO_FILE);
		if (access(path, R_OK) == 0)
			return path;
		free(path);
	}
	*cause = xstrfmt("no %s in %s/share or %s", DEMO_FILE, R1CHAT_SRCDIR,
	    R1CHAT_PKGDATADIR);
	return NULL;
}

static int
demo_run(struct options *o)
{
	struct chat_config	 cfg;
	char			*path, *cause = NULL, *banner = NULL;
	int			 rc;

	if (o->model != NULL) {
		/* The first positional is a prompt word here, not a model. */
		o->args = xreallocarray(o->args, (size_t)o->n_args + 2,
		    sizeof *o->args);
		memmove(o->args + 1, o->args, sizeof *o->args *
		    (size_t)o->n_args);
		o->args[0] = (char *)o->model;
		o->n_args++;
		o->model = NULL;
	}
	if ((path = demo_path(&cause)) == NULL) {
		cmd_error("demo: %s", cause);
		free(cause);
		return 1;
	}
	cmd_chat_config(o, path, &cfg);
	if (o->params.num_predict == PARAM_UNSET)
		cfg.params.num_predict = DEMO_PREDICT;
	if (isnan(o->params.temperature))
		cfg.params.temperature = DEMO_TEMP;
	/* Whoever types is greeted; a script gets the answer alone. */
	if (isatty(STDIN_FILENO)) {
		if (cmd_chat_interactive(o))
			banner = xstrdup(DEMO_GREETING "\n" DEMO_HINTS);
		else
			banner = xstrdup(DEMO_GREETING);
	}
	rc = chat_run(o, &cfg, banner, DEMO_PROMPT, NULL);
	free(banner);
	free(path);
	return rc;
}

int
cmd_key_read(const char *path, char **key, char **cause)
{
	FILE	*f;
	char	 line[4096];
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0) {
		*cause = xstrfmt("%s: no key on its first line", path);
		return -1;
	}
	*key = xstrndup(line, n);
	return 0;
}

/*
 * The API key: $OPENAI_API_KEY, or the first line of --api-key-file (never
 * an argument, which ps would show).  Returns 0 with *key (malloc'd, or
 * NULL for none), or -1 with *cause set.
 */
static int
api_key(const struct options *o, char **key, char **cause)
{
	*key = NULL;
	if (o->api_key_file != NULL)
		return cmd_key_read(o->api_key_file, key, cause);
	if (getenv("OPENAI_API_KEY") != NULL &&
	    *getenv("OPENAI_API_KEY") != '\0')
		*key = xstrdup(getenv("OPENAI_API_KEY"));
	return 0;
}

/* Whether url is one to fetch: http(s), or no scheme (curl's http). */
static int
url_ok(const char *url)
{
	static const char	*schemes[] = { "http://", "https://" };
	size_t			 i;

	if (strstr(url, "://") == NULL)
		return 1;
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
			return 1;
	}
	return 0;
}

/* `r1chat --remote URL [-m NAME]`: the chat on an OpenAI-compatible server. */
static int
remote_run(struct options *o)
{
	struct chat_config	 cfg;
	char			*key, *cause = NULL;
	int			 rc;

	if (!url_ok(o->remote)) {
		cmd_error("--remote: %s: only http:// and https:// URLs",
		    o->remote);
		return 2;
	}
	if (o->demo) {
		cmd_error("--remote and --demo: choose one");
		return 2;
	}
	if (api_key(o, &key, &cause) != 0) {
		cmd_error("%s", cause);
		free(cause);
		return 1;
	}
	cmd_chat_config(o, NULL, &cfg);
	cfg.backend = &backend_remote;
	cfg.remote_url = o->remote;
	cfg.remote_model = o->model;
	cfg.api_key = key;
	cfg.timeout = OPT_OR(o->timeout, 0);
	rc = chat_run(o, &cfg, NULL, NULL, NULL);
	free(key);
	return rc;
}

/*
 * `r1chat --resume [NAME] [PROMPT...]`: the conversation kept as NAME, or
 * the last one, continued on the model it was held with.
 */
static int
resume_run(struct options *o)
{
	struct chat_config	 cfg;
	char			*path, *model, *cause = NULL;
	int			 rc;

	if (o->remote != NULL || o->demo) {
		cmd_error("--resume continues a local conversation: not with "
		    "--%s", o->remote != NULL ? "remote" : "demo");
		return 2;
	}
	if ((path = session_find(o->model, &cause)) == NULL ||
	    (model = session_model(path, &cause)) == NULL) {
		cmd_error("--resume: %s", cause);
		free(cause);
		free(path);
		return 1;
	}
	cmd_chat_config(o, model, &cfg);
	rc = chat_run(o, &cfg, NULL, NULL, path);
	free(model);
	free(path);
	return rc;
}

int
cmd_chat(struct options *o)
{
	struct chat_config	cfg;

	if (o->resume)
		return resume_run(o);
	if (o->remote != NULL)
		return remote_run(o);
	if (o->demo)
		return demo_run(o);
	if (o->model == NULL) {
		cmd_error("no model given: r1chat [OPTIONS] MODEL "
		    "[PROMPT...], or r1chat --demo");
		return 2;
	}
	cmd_chat_config(o, o->model, &cfg);
	return chat_run(o, &cfg, NULL, NULL, NULL);
}
