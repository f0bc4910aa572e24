/*
 * repl.c - the session commands, one table for the commands and one for
 * each command's words, as ollama's interactive mode has them.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "params.h"
#include "repl.h"
#include "util.h"

#define MAX_WORDS 8

/* What """ is collecting. */
enum { ML_NONE, ML_MESSAGE, ML_SYSTEM };

static const char ml_quote[] = "\"\"\"";

struct word {
	const char	*s;
	size_t		 n;
};

struct args {
	const char	*line;
	struct word	 w[MAX_WORDS];
	int		 n;
};

struct repl_cmd {
	const char		*name;
	enum repl_action	(*fn)(struct repl *, const struct args *);
	const char		*usage;
	const char		*help;
};

static void
repl_printf(struct repl *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
repl_printf(struct repl *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	s = xvstrfmt(fmt, ap);
	va_end(ap);
	r->print(r->arg, s, strlen(s));
	free(s);
}

static int
word_is(const struct word *w, const char *s)
{
	return strlen(s) == w->n && memcmp(w->s, s, w->n) == 0;
}

static char *
word_dup(const struct word *w)
{
	return xstrndup(w->s, w->n);
}

/* The text after word i, leading blanks skipped, trailing ones cut. */
static char *
args_rest(const struct args *a, int i)
{
	const char	*p = a->w[i].s + a->w[i].n;
	size_t		 n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return xstrndup(p, n);
}

static void
args_split(struct args *a, const char *line)
{
	const char	*p = line;

	a->line = line;
	a->n = 0;
	while (a->n < MAX_WORDS) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		a->w[a->n].s = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		a->w[a->n].n = (size_t)(p - a->w[a->n].s);
		a->n++;
	}
}

/* --- /set parameter -------------------------------------------------- */

static const char *param_kind_arg[] = {
	[PARAM_INT] = "<int>",
	[PARAM_INT64] = "<int>",
	[PARAM_FLOAT] = "<float>",
	[PARAM_BOOL] = "<bool>",
};

static void
param_help(struct repl *r)
{
	const struct param_def	*d;
	size_t			 i;

	repl_printf(r, "Available Parameters:\n");
	for (i = 0; (d = param_at(i)) != NULL; i++)
		repl_printf(r, "  /set parameter %-15s %-8s %s\n", d->name,
		    param_kind_arg[d->kind], d->help);
	repl_printf(r, "\n");
}

static enum repl_action
set_parameter(struct repl *r, const struct args *a)
{
	const struct param_def	*d;
	struct chat_params	 p;
	char			*name, *value, *cause = NULL;

	if (a->n < 4) {
		param_help(r);
		return REPL_NONE;
	}
	if ((d = param_find(a->w[2].s, a->w[2].n)) == NULL) {
		name = word_dup(&a->w[2]);
		repl_printf(r, "Unknown parameter '%s'\n", name);
		free(name);
		param_help(r);
		return REPL_NONE;
	}
	value = args_rest(a, 2);
	p = *chat_get_params(r->chat);
	if (param_parse(d, value, &p, &cause) != 0 ||
	    chat_set_params(r->chat, &p, &cause) != 0) {
		repl_printf(r, "Couldn't set parameter '%s': %s\n", d->name,
		    cause);
		free(cause);
	} else
		repl_printf(r, "Set parameter '%s' to '%s'\n", d->name, value);
	free(value);
	return REPL_NONE;
}

/* --- /set ------------------------------------------------------------- */

static void
set_system_text(struct repl *r, const char *text)
{
	chat_set_system(r->chat, text);
	repl_printf(r, "Set system message.\n");
}

static void ml_start(struct repl *, int, const char *, size_t);

static enum repl_action
set_system(struct repl *r, const struct args *a)
{
	char	*text, *end;
	size_t	 n;

	text = a->n > 2 ? args_rest(a, 1) : xstrdup("");
	n = strlen(text);
	if (strncmp(text, ml_quote, 3) == 0 &&
	    (n < 6 || strcmp(text + n - 3, ml_quote) != 0)) {
		ml_start(r, ML_SYSTEM, text + 3, n - 3);
		free(text);
		return REPL_MORE;
	}
	if (strncmp(text, ml_quote, 3) == 0) {
		end = text + n - 3;
		*end = '\0';
		set_system_text(r, text + 3);
	} else
		set_system_text(r, text);
	free(text);
	return REPL_NONE;
}

static void
set_think(struct repl *r, int on)
{
	struct chat_params	 p = *chat_get_params(r->chat);
	char			*cause = NULL;

	p.think = on;
	if (chat_set_params(r->chat, &p, &cause) != 0) {
		repl_printf(r, "Couldn't set think mode: %s\n", cause);
		free(cause);
	}
}

enum set_flag {
	SET_VERBOSE, SET_QUIET, SET_THINK, SET_NOTHINK, SET_HIDETHINKING,
	SET_SHOWTHINKING
};

static enum repl_action
set_flag(struct repl *r, enum set_flag f)
{
	static const char *names[] = {
		[SET_VERBOSE] = "verbose",
		[SET_QUIET] = "quiet",
		[SET_THINK] = "think",
		[SET_NOTHINK] = "nothink",
		[SET_HIDETHINKING] = "hidethinking",
		[SET_SHOWTHINKING] = "showthinking",
	};

	switch (f) {
	case SET_VERBOSE:
	case SET_QUIET:
		r->verbose = f == SET_VERBOSE;
		break;
	case SET_THINK:
	case SET_NOTHINK:
		set_think(r, f == SET_THINK);
		break;
	case SET_HIDETHINKING:
	case SET_SHOWTHINKING:
		r->hidethinking = f == SET_HIDETHINKING;
		break;
	}
	repl_printf(r, "Set '%s' mode.\n", names[f]);
	return REPL_NONE;
}

#define SET_FLAG_FN(fn, f)						\
	static enum repl_action						\
	fn(struct repl *r, const struct args *a)			\
	{								\
		return set_flag(r, f);					\
	}
SET_FLAG_FN(set_verbose, SET_VERBOSE)
SET_FLAG_FN(set_quiet, SET_QUIET)
SET_FLAG_FN(set_thinkon, SET_THINK)
SET_FLAG_FN(set_nothink, SET_NOTHINK)
SET_FLAG_FN(set_hidethinking, SET_HIDETHINKING)
SET_FLAG_FN(set_showthinking, SET_SHOWTHINKING)

static const struct repl_cmd set_table[] = {
	{ "parameter", set_parameter, "/set parameter ...",
	  "set a sampling or context parameter" },
	{ "system", set_system, "/set system <string>",
	  "set the system prompt (\"\"\" for several lines)" },
	{ "verbose", set_verbose, "/set verbose",
	  "show timings after each answer" },
	{ "quiet", set_quiet, "/set quiet", "do not show timings" },
	{ "think", set_thinkon, "/set think", "let the model reason first" },
	{ "nothink", set_nothink, "/set nothink",
	  "answer without reasoning" },
	{ "hidethinking", set_hidethinking, "/set hidethinking",
	  "hide the reasoning" },
	{ "showthinking", set_showthinking, "/set showthinking",
	  "show the reasoning" },
};

static void
table_help(struct repl *r, const struct repl_cmd *t, size_t n)
{
	size_t	i;

	repl_printf(r, "Available Commands:\n");
	for (i = 0; i < n; i++)
		repl_printf(r, "  %-22s %s\n", t[i].usage, t[i].help);
	repl_printf(r, "\n");
}

static enum repl_action
table_run(struct repl *r, const struct args *a, const struct repl_cmd *t,
    size_t n)
{
	size_t	i;

	if (a->n >= 2) {
		for (i = 0; i < n; i++) {
			if (word_is(&a->w[1], t[i].name))
				return t[i].fn(r, a);
		}
	}
	table_help(r, t, n);
	return REPL_NONE;
}

static enum repl_action
cmd_set(struct repl *r, const struct args *a)
{
	return table_run(r, a, set_table,
	    sizeof set_table / sizeof set_table[0]);
}

/* --- /show ------------------------------------------------------------ */

static enum repl_action
show_info(struct repl *r, const struct args *a)
{
	const struct chat_info	*in = chat_info(r->chat);
	const struct chat_params *p = chat_get_params(r->chat);
	char			*np;
	size_t			 i;

	np = util_human_number(in->n_params);
	repl_printf(r, "  Model\n");
	repl_printf(r, "    %-19s %s\n", "name", in->name);
	repl_printf(r, "    %-19s %s\n", "architecture", in->arch);
	/* A remote model may not say these. */
	if (in->n_params > 0)
		repl_printf(r, "    %-19s %s\n", "parameters", np);
	if (in->ctx_train > 0)
		repl_printf(r, "    %-19s %u\n", "context length",
		    in->ctx_train);
	if (in->n_embd > 0)
		repl_printf(r, "    %-19s %u\n", "embedding length",
		    in->n_embd);
	if (in->quant != NULL)
		repl_printf(r, "    %-19s %s\n", "quantization", in->quant);
	repl_printf(r, "    %-19s %s\n", "template", in->template_name);
	repl_printf(r, "    %-19s %d\n", "context in use", p->num_ctx);
	repl_printf(r, "\n  Capabilities\n    completion\n    thinking\n");
	if (in->stop[0] != NULL) {
		repl_printf(r, "\n  Parameters\n");
		for (i = 0; i < 4 && in->stop[i] != NULL; i++)
			repl_printf(r, "    %-19s \"%s\"\n", "stop", in->stop[i]);
	}
	repl_printf(r, "\n");
	free(np);
	return REPL_NONE;
}

static enum repl_action
show_parameters(struct repl *r, const struct args *a)
{
	const struct chat_params	*p = chat_get_params(r->chat);
	const struct param_def		*d;
	char				*v;
	size_t				 i;

	repl_printf(r, "Parameters:\n");
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		v = param_format(d, p);
		repl_printf(r, "%-30s %s\n", d->name, v);
		free(v);
	}
	repl_printf(r, "\n");
	return REPL_NONE;
}

static enum repl_action
show_system(struct repl *r, const struct args *a)
{
	const char	*s = chat_get_system(r->chat);

	if (s == NULL)
		repl_printf(r, "No system message was specified for this "
		    "model.\n");
	else
		repl_printf(r, "%s\n", s);
	return REPL_NONE;
}

static enum repl_action
show_template(struct repl *r, const struct args *a)
{
	const struct chat_info	*in = chat_info(r->chat);

	repl_printf(r, "Built-in renderer: %s\n", in->template_name);
	if (in->template_source != NULL)
		repl_printf(r, "The model's template:\n%s\n",
		    in->template_source);
	else
		repl_printf(r, "The model has no template of its own.\n");
	return REPL_NONE;
}

static const struct repl_cmd show_table[] = {
	{ "info", show_info, "/show info", "show details of this model" },
	{ "parameters", show_parameters, "/show parameters",
	  "show the parameters in force" },
	{ "system", show_system, "/show system", "show the system prompt" },
	{ "template", show_template, "/show template",
	  "show the prompt template" },
};

static enum repl_action
cmd_show(struct repl *r, const struct args *a)
{
	return table_run(r, a, show_table,
	    sizeof show_table / sizeof show_table[0]);
}

/* --- the other commands ------------------------------------------------ */

static enum repl_action
cmd_clear(struct repl *r, const struct args *a)
{
	chat_clear(r->chat);
	repl_printf(r, "Cleared session context\n");
	return REPL_RESET;
}

static enum repl_action
cmd_file(struct repl *r, const struct args *a, int save)
{
	char	*path, *cause = NULL;
	int	 rc;

	if (a->n < 2) {
		repl_printf(r, "Usage:\n  /%s <file>\n", save ? "save" : "load");
		return REPL_NONE;
	}
	path = args_rest(a, 0);
	if (save)
		rc = chat_save(r->chat, path, &cause);
	else
		rc = chat_load(r->chat, path, &cause);
	if (rc != 0) {
		repl_printf(r, "r1chat: /%s: %s\n", save ? "save" : "load",
		    cause);
		free(cause);
		free(path);
		return REPL_NONE;
	}
	repl_printf(r, save ? "Saved the conversation to '%s'\n" :
	    "Loaded the conversation from '%s'\n", path);
	free(path);
	return save ? REPL_NONE : REPL_RESET;
}

static enum repl_action
cmd_save(struct repl *r, const struct args *a)
{
	return cmd_file(r, a, 1);
}

static enum repl_action
cmd_load(struct repl *r, const struct args *a)
{
	return cmd_file(r, a, 0);
}

static enum repl_action
cmd_bye(struct repl *r, const struct args *a)
{
	return REPL_QUIT;
}

static enum repl_action cmd_help(struct repl *, const struct args *);

static const struct repl_cmd cmd_table[] = {
	{ "/set", cmd_set, "/set", "set session variables" },
	{ "/show", cmd_show, "/show", "show model information" },
	{ "/load", cmd_load, "/load <file>", "load a saved conversation" },
	{ "/save", cmd_save, "/save <file>", "save this conversation" },
	{ "/clear", cmd_clear, "/clear", "forget this conversation" },
	{ "/bye", cmd_bye, "/bye", "exit" },
	{ "/?", cmd_help, "/?, /help", "help for a command" },
	{ "/help", cmd_help, NULL, NULL },
};
#define N_CMDS (sizeof cmd_table / sizeof cmd_table[0])

static enum repl_action
cmd_help(struct repl *r, const struct args *a)
{
	size_t	i;

	if (a->n >= 2 && (word_is(&a->w[1], "set") ||
	    word_is(&a->w[1], "/set"))) {
		table_help(r, set_table, sizeof set_table / sizeof set_table[0]);
		return REPL_NONE;
	}
	if (a->n >= 2 && (word_is(&a->w[1], "show") ||
	    word_is(&a->w[1], "/show"))) {
		table_help(r, show_table,
		    sizeof show_table / sizeof show_table[0]);
		return REPL_NONE;
	}
	repl_printf(r, "Available Commands:\n");
	for (i = 0; i < N_CMDS; i++) {
		if (cmd_table[i].usage != NULL)
			repl_printf(r, "  %-15s %s\n", cmd_table[i].usage,
			    cmd_table[i].help);
	}
	repl_printf(r, "\nUse \"\"\" to begin a multi-line message.\n");
	repl_printf(r, "PgUp/PgDn scroll the answers, Shift+PgUp/PgDn (or "
	    "Ctrl, or Alt) the reasoning.\n\n");
	return REPL_NONE;
}

/* --- lines ------------------------------------------------------------- */

static void
buf_add(struct repl *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->buf = xreallocarray(r->buf, r->cap, 1);
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

static void
ml_start(struct repl *r, int what, const char *s, size_t n)
{
	r->multiline = what;
	r->len = 0;
	buf_add(r, s, n);
	buf_add(r, "\n", 1);
}

static enum repl_action
send(struct repl *r, const char *s, size_t n)
{
	free(r->msg);
	r->msg = xstrndup(s, n);
	r->msg_len = n;
	return REPL_SEND;
}

/* A line inside """: the message ends with the line ending in """. */
static enum repl_action
ml_line(struct repl *r, const char *line)
{
	size_t	n = strlen(line);
	int	what = r->multiline;

	if (n < 3 || strcmp(line + n - 3, ml_quote) != 0) {
		buf_add(r, line, n);
		buf_add(r, "\n", 1);
		return REPL_MORE;
	}
	buf_add(r, line, n - 3);
	r->multiline = ML_NONE;
	if (what == ML_SYSTEM) {
		set_system_text(r, r->buf);
		return REPL_NONE;
	}
	if (r->len == 0)
		return REPL_NONE;
	return send(r, r->buf, r->len);
}

void
repl_init(struct repl *r, struct chat *c, repl_print_cb print, void *arg)
{
	memset(r, 0, sizeof *r);
	r->chat = c;
	r->print = print;
	r->arg = arg;
}

void
repl_free(struct repl *r)
{
	free(r->buf);
	free(r->msg);
	r->buf = r->msg = NULL;
}

enum repl_action
repl_line(struct repl *r, const char *line)
{
	struct args	 a;
	char		*name;
	size_t		 i, n;

	if (r->multiline != ML_NONE)
		return ml_line(r, line);
	n = strlen(line);
	if (strncmp(line, ml_quote, 3) == 0) {
		if (n >= 6 && strcmp(line + n - 3, ml_quote) == 0)
			return n == 6 ? REPL_NONE : send(r, line + 3, n - 6);
		ml_start(r, ML_MESSAGE, line + 3, n - 3);
		return REPL_MORE;
	}
	args_split(&a, line);
	if (a.n == 0)
		return REPL_NONE;
	if (line[strspn(line, " \t")] == '/') {
		for (i = 0; i < N_CMDS; i++) {
			if (word_is(&a.w[0], cmd_table[i].name))
				return cmd_table[i].fn(r, &a);
		}
		name = word_dup(&a.w[0]);
		repl_printf(r, "Unknown command '%s'. Type /? for help\n",
		    name);
		free(name);
		return REPL_NONE;
	}
	return send(r, line, n);
}

const char *
repl_message(const struct repl *r, size_t *len)
{
	*len = r->msg_len;
	return r->msg;
}

int
repl_interrupt(struct repl *r)
{
	int	had = r->multiline != ML_NONE;

	r->multiline = ML_NONE;
	r->len = 0;
	return had;
}

const char *
repl_prompt(const struct repl *r)
{
	return r->multiline != ML_NONE ? "... " : ">>> ";
}

const char *
repl_placeholder(const struct repl *r)
{
	return r->multiline != ML_NONE ? "" : "Send a message (/? for help)";
}
