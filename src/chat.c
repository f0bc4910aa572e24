/*
 * chat.c - the conversation and its turn loop.
 *
 * Each turn renders the whole conversation with the model's template,
 * tokenizes it, and evaluates only what differs from the tokens already in
 * the KV cache (earlier answers lose their reasoning in the rendering, so
 * the last answer is evaluated again without it).  Generated tokens go
 * through the streaming detokenizer and the <think> parser, which call
 * back with reasoning and answer text; those become events.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "backend.h"
#include "chat.h"
#include "gguf.h"
#include "model.h"
#include "params.h"
#include "residency.h"
#include "sampler.h"
#include "spec.h"
#include "template.h"
#include "think.h"
#include "tok.h"
#include "types.h"
#include "util.h"

#define DEFAULT_BATCH	512
#define SAVE_FORMAT	1

/* A notice's words: the REPL's, or one-shot's. */
#define WORDS(c, session, command)					\
	((c)->words == CHAT_WORDS_COMMAND ? (command) : (session))

/* What ended an answer before the model did. */
enum limit {
	LIMIT_NONE,
	LIMIT_PREDICT,		/* num_predict */
	LIMIT_CTX,		/* the context, told when it filled */
	LIMIT_SERVER		/* a server's own, unnamed ("length") */
};

struct text {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

struct ids {
	int32_t	*v;
	size_t	 n;
	size_t	 cap;
};

struct chat {
	char			*path;
	struct chat_params	 p;
	char			*system;
	enum chat_words		 words;
	int			 ctx_used;	/* chat_context's; -1: unknown */
	const struct backend_ops *be;		/* NULL: the local engine */
	void			*be_data;
	int			 n_threads;
	int			 n_batch;
	enum kv_type		 kv_type;	/* the cache's element type */

	struct gguf_file	*g;		/* metadata, tokenizer */
	struct model		*m;
	struct model_ctx	*ctx;		/* KV cache of p.num_ctx */
	struct tok		*tok;
	const struct template_family *tf;
	struct sampler		*smp;
	struct spec		*spec;		/* NULL: no speculation */
	struct think		*think;
	struct tok_stream	*stream;

	char			*bos_text;
	char			*eos_text;
	int32_t			 think_close;	/* "</think>" id, or -1 */
	int32_t			 stop_ids[4];	/* besides end of generation */
	int32_t			*control;	/* control tokens' ids, sorted */
	int32_t			 n_control;

	struct chat_message	*msgs;
	size_t			 n_msgs;
	size_t			 cap_msgs;

	struct ids		 cache;		/* the tokens in the KV cache */

	struct chat_info	 info;
	char			*info_name;
	char			*info_arch;
	char			*info_template;
	int64_t			 load_ns;
	int			 load_told;

	/* The turn under way. */
	chat_event_cb		 cb;
	void			*arg;
	struct chat_stats	 st;
	struct spec_stats	 draft_base;	/* the counts at the turn's start */
	int64_t			 t0;
	int64_t			 eval_t0;
	int			 stopped;
	enum limit		 limit;
	struct text		 reasoning;
};

/* --- small buffers ---------------------------------------------------------- */

static int
text_add(struct text *t, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (t->len + n + 1 > t->cap) {
		cap = (t->len + n + 1) * 2;
		if ((p = realloc(t->s, cap)) == NULL)
			return -1;
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
	return 0;
}

static int
ids_add(struct ids *a, const int32_t *v, size_t n)
{
	int32_t	*p;
	size_t	 cap;

	if (a->n + n > a->cap) {
		cap = (a->n + n) * 2 + 16;
		if ((p = realloc(a->v, cap * sizeof *p)) == NULL)
			return -1;
		a->v = p;
		a->cap = cap;
	}
	memcpy(a->v + a->n, v, n * sizeof *v);
	a->n += n;
	return 0;
}

/* --- events ------------------------------------------------------------------- */

static void
emit(struct chat *c, enum chat_event_type type, const char *text, size_t len)
{
	struct chat_event	ev;

	/* As ollama's: the turn that reports the load counts it in total. */
	c->st.total_ns = util_now_ns() - c->t0 + c->st.load_ns;
	if (c->eval_t0 != 0)
		c->st.eval_ns = util_now_ns() - c->eval_t0;
	ev.type = type;
	ev.text = text;
	ev.len = len;
	ev.stats = &c->st;
	if (c->cb(&ev, c->arg) != 0)
		c->stopped = 1;
}

static void
notice(struct chat *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
notice(struct chat *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	s = xvstrfmt(fmt, ap);
	va_end(ap);
	emit(c, CHAT_EVENT_NOTICE, s, strlen(s));
	free(s);
}

/* The context's size; a server's is what its model list says, if it does. */
static int
ctx_size(const struct chat *c)
{
	if (c->be != NULL)
		return c->info.ctx_train > 0 ? (int)c->info.ctx_train : -1;
	return c->p.num_ctx;
}

/* The context filled up during the answer; a server's is not ours to grow. */
static void
notice_full(struct chat *c)
{
	char	*size = ctx_size(c) > 0 ? xstrfmt(" (%d tokens)", ctx_size(c)) :
		    xstrdup("");

	notice(c, WORDS(c, "The context is full%s: the answer stops here.  "
	    "/clear starts afresh%s.", "the context is full%s: the answer "
	    "stops here%s"), size, c->be != NULL ? "" : WORDS(c,
	    "; /set parameter num_ctx makes it larger",
	    " (raise -c/--ctx-size)"));
	free(size);
}

/*
 * The answer ended inside its reasoning: whose doing it was.  A full
 * context was told already.
 */
static void
notice_open(struct chat *c)
{
	switch (c->limit) {
	case LIMIT_NONE:
		notice(c, WORDS(c, "The model never closed its reasoning: "
		    "there is no answer apart from it.", "the model never "
		    "closed its reasoning: there is no answer apart from it"));
		break;
	case LIMIT_PREDICT:
		notice(c, WORDS(c, "The answer was cut inside its reasoning: "
		    "%d token%s, the limit of num_predict.  /set parameter "
		    "num_predict -1 lifts it.", "the answer was cut inside its "
		    "reasoning: %d token%s, the limit of -n/--predict"),
		    c->p.num_predict, c->p.num_predict == 1 ? "" : "s");
		break;
	case LIMIT_SERVER:
		notice(c, WORDS(c, "The server cut the answer inside its "
		    "reasoning: a limit of its own (finish_reason \"length\").",
		    "the server cut the answer inside its reasoning: a limit "
		    "of its own (finish_reason \"length\")"));
		break;
	case LIMIT_CTX:
		break;
	}
}

/* The <think> parser's output: kept for the history, then shown. */
static void
on_think(enum think_kind kind, const char *text, size_t len, void *arg)
{
	struct chat	*c = arg;

	if (kind == THINK_REASONING) {
		c->st.phase = CHAT_PHASE_THINKING;
		if (text_add(&c->reasoning, text, len) != 0)
			return;
		emit(c, CHAT_EVENT_REASONING, text, len);
	} else {
		c->st.phase = CHAT_PHASE_ANSWERING;
		emit(c, CHAT_EVENT_ANSWER, text, len);
	}
}

/* --- parameters ----------------------------------------------------------------- */

/* A context of n_ctx positions, evaluating prompts n_batch at a time. */
static struct model_ctx *
ctx_new(const struct chat *c, int n_ctx, char **cause)
{
	struct model_ctx_params	cp;

	memset(&cp, 0, sizeof cp);
	cp.n_ctx = n_ctx;
	cp.n_batch = c->n_batch;
	cp.kv_type = c->kv_type;
	return model_ctx_new_ext(c->m, &cp, cause);
}

const struct chat_params *
chat_get_params(const struct chat *c)
{
	return &c->p;
}

int
chat_set_params(struct chat *c, const struct chat_params *p, char **cause)
{
	struct sampler_params	 sp;
	struct model_ctx	*ctx;
	char			*why;

	if (params_check(p, cause) != 0)
		return -1;
	if (c->be != NULL) {
		c->p = *p;
		return 0;
	}
	params_sampler(p, p->num_ctx, &sp);
	if (sampler_set_params(c->smp, &sp, cause) != 0)
		return -1;
	if (p->num_ctx != c->p.num_ctx) {
		if ((ctx = ctx_new(c, p->num_ctx, cause)) == NULL) {
			params_sampler(&c->p, c->p.num_ctx, &sp);
			sampler_set_params(c->smp, &sp, &why);
			return -1;
		}
		model_ctx_free(c->ctx);
		c->ctx = ctx;
		c->cache.n = 0;
	}
	c->p = *p;
	return 0;
}

const char *
chat_get_system(const struct chat *c)
{
	return c->system;
}

static int ctx_count(struct chat *);

void
chat_set_system(struct chat *c, const char *system)
{
	free(c->system);
	c->system = system != NULL && *system != '\0' ? xstrdup(system) : NULL;
	/* the conversation's count changes with it (unless unknown) */
	if (c->n_msgs > 0 && c->ctx_used >= 0)
		c->ctx_used = ctx_count(c);
}

/* --- history ----------------------------------------------------------------------- */

static void
msg_free(struct chat_message *m)
{
	free(m->content);
	free(m->reasoning);
}

static void
msgs_push(struct chat *c, enum chat_role role, char *content, char *reasoning)
{
	struct chat_message	*m;

	if (c->n_msgs == c->cap_msgs) {
		c->cap_msgs = c->cap_msgs == 0 ? 16 : c->cap_msgs * 2;
		c->msgs = xreallocarray(c->msgs, c->cap_msgs, sizeof *c->msgs);
	}
	m = &c->msgs[c->n_msgs++];
	m->role = role;
	m->content = content;
	m->reasoning = reasoning;
}

/* Forgets messages [0, n). */
static void
msgs_drop(struct chat *c, size_t n)
{
	size_t	i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		msg_free(&c->msgs[i]);
	memmove(c->msgs, c->msgs + n, (c->n_msgs - n) * sizeof *c->msgs);
	c->n_msgs -= n;
}

void
chat_clear(struct chat *c)
{
	msgs_drop(c, c->n_msgs);
	c->ctx_used = 0;
}

void
chat_context(const struct chat *c, int *used, int *size)
{
	*used = c->ctx_used;
	*size = ctx_size(c);
}

void
chat_set_messages(struct chat *c, const struct chat_message *msgs, size_t n)
{
	size_t	i;

	chat_clear(c);
	for (i = 0; i < n; i++)
		msgs_push(c, msgs[i].role, xstrdup(msgs[i].content),
		    msgs[i].reasoning != NULL ? xstrdup(msgs[i].reasoning) :
		    NULL);
	/* Counting would tokenize each serve request twice: the turn will. */
	c->ctx_used = n > 0 ? -1 : 0;
}

size_t
chat_n_messages(const struct chat *c)
{
	return c->n_msgs;
}

const struct chat_message *
chat_message(const struct chat *c, size_t i)
{
	return i < c->n_msgs ? &c->msgs[i] : NULL;
}

const struct chat_info *
chat_info(const struct chat *c)
{
	return &c->info;
}

/* --- the prompt -------------------------------------------------------------------- */

static int
id_cmp(const void *a, const void *b)
{
	int32_t	x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

static int
is_control(const struct chat *c, int32_t id)
{
	return bsearch(&id, c->control, (size_t)c->n_control, sizeof id,
	    id_cmp) != NULL;
}

/* Tokenizes a run of text with no control token in it, specials as text. */
static int
run_flush(struct chat *c, struct text *run, struct ids *out, char **cause)
{
	int32_t	*ids;
	size_t	 n;
	int	 rc;

	if (run->len == 0)
		return 0;
	if (tok_encode(c->tok, run->s, run->len, 0, 0, &ids, &n, cause) != 0)
		return -1;
	rc = ids_add(out, ids, n);
	free(ids);
	run->len = 0;
	if (rc != 0)
		*cause = xstrdup("out of memory");
	return rc;
}

/*
 * Tokenizes a rendered prompt as llama.cpp tokenizes the whole text with
 * specials parsed, except that message text is never a control token:
 * control tokens are looked for in the template's segments only, and the
 * text between two of them is pre-tokenized as one run, whichever
 * segments it spans.
 */
static int
prompt_tokenize(struct chat *c, const struct template_out *to,
    struct ids *out, char **cause)
{
	const struct template_seg	*sg;
	struct text			 run = { 0 };
	int32_t				*ids = NULL;
	size_t				 i, j, n, off, start;
	int				 k, rc = -1;

	out->n = 0;
	for (i = 0; i < to->n_segs; i++) {
		sg = &to->segs[i];
		if (sg->kind == TEMPLATE_SEG_CONTENT) {
			if (text_add(&run, to->text + sg->off, sg->len) != 0)
				goto nomem;
			continue;
		}
		if (tok_encode(c->tok, to->text + sg->off, sg->len, 0, 1, &ids,
		    &n, cause) != 0)
			goto out;
		for (j = 0, off = start = 0; j < n; j++) {
			if ((k = tok_piece(c->tok, ids[j], 1, NULL, 0)) < 0)
				k = 0;
			if (is_control(c, ids[j])) {
				if (text_add(&run, to->text + sg->off + start,
				    off - start) != 0)
					goto nomem;
				if (run_flush(c, &run, out, cause) != 0)
					goto out;
				if (ids_add(out, &ids[j], 1) != 0)
					goto nomem;
				start = off + (size_t)k;
			}
			off += (size_t)k;
		}
		if (start < sg->len && text_add(&run, to->text + sg->off + start,
		    sg->len - start) != 0)
			goto nomem;
		free(ids);
		ids = NULL;
	}
	rc = run_flush(c, &run, out, cause);
	goto out;
nomem:
	*cause = xstrdup("out of memory");
out:
	free(ids);
	free(run.s);
	return rc;
}

/*
 * Renders messages [first, n_msgs) (and the system prompt) with the
 * generation prompt, and with an empty reasoning block when thinking is
 * off, into tokens.
 */
static int
prompt_build(struct chat *c, size_t first, struct ids *out, char **cause)
{
	struct template_msg	*tm;
	struct template_opts	 o;
	struct template_out	 to;
	size_t			 i, n = 0, at;
	int			 rc;
	const char		*close;

	tm = xcalloc(c->n_msgs - first + 1, sizeof *tm);
	if (c->system != NULL) {
		tm[n].role = TEMPLATE_SYSTEM;
		tm[n++].content = c->system;
	}
	for (i = first; i < c->n_msgs; i++) {
		tm[n].role = c->msgs[i].role == CHAT_USER ? TEMPLATE_USER :
		    TEMPLATE_ASSISTANT;
		tm[n++].content = c->msgs[i].content;
	}
	memset(&o, 0, sizeof o);
	o.add_generation_prompt = 1;
	o.bos = c->bos_text;
	o.eos = c->eos_text;
	rc = template_render(c->tf, tm, n, &o, &to, cause);
	free(tm);
	if (rc != 0)
		return -1;
	if (!c->p.think) {
		/* The reasoning, opened or not by the template, is empty. */
		close = c->tf->opens_think ? "\n</think>\n\n" :
		    "<think>\n\n</think>\n\n";
		at = to.len;
		to.text = xreallocarray(to.text, to.len + strlen(close) + 1, 1);
		memcpy(to.text + to.len, close, strlen(close) + 1);
		to.len += strlen(close);
		if (to.n_segs > 0 &&
		    to.segs[to.n_segs - 1].kind == TEMPLATE_SEG_TEMPLATE)
			to.segs[to.n_segs - 1].len += strlen(close);
		else {
			to.segs = xreallocarray(to.segs, to.n_segs + 1,
			    sizeof *to.segs);
			to.segs[to.n_segs].kind = TEMPLATE_SEG_TEMPLATE;
			to.segs[to.n_segs].off = at;
			to.segs[to.n_segs++].len = strlen(close);
		}
	}
	rc = prompt_tokenize(c, &to, out, cause);
	template_out_free(&to);
	return rc;
}

/*
 * The tokens the conversation takes as the next turn renders it: 0 when
 * empty, -1 when it cannot be told (a server's tokenizer, an error).
 */
static int
ctx_count(struct chat *c)
{
	struct ids	 prompt = { 0 };
	char		*why = NULL;
	int		 n = -1;

	if (c->n_msgs == 0)
		return 0;
	if (c->be == NULL && prompt_build(c, 0, &prompt, &why) == 0)
		n = (int)prompt.n;
	free(why);
	free(prompt.v);
	return n;
}

/* --- opening ------------------------------------------------------------------------ */

/* The model's file name without directories and ".gguf". */
static char *
file_stem(const char *path)
{
	const char	*b = strrchr(path, '/');
	size_t		 n;

	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (n > 5 && strcmp(b + n - 5, ".gguf") == 0)
		n -= 5;
	return xstrndup(b, n);
}

/* Whether the vocabulary has token (template_guess's question). */
static int
has_token(const char *token, void *arg)
{
	return tok_find(arg, token) >= 0;
}

/*
 * The template: the one named, else the family of the model's Jinja,
 * else a guess from its vocabulary (with a warning); a warning too when
 * the vocabulary lacks one of its special tokens.
 */
static int
template_choose(struct chat *c, const char *name, char **warning,
    char **cause)
{
	char		*jinja = NULL, *names, *guess = NULL, *tmp;
	const char	*missing;

	if (gguf_get_str(c->g, "tokenizer.chat_template", &jinja) != 0)
		jinja = NULL;
	c->info_template = jinja;
	if (name != NULL) {
		if ((c->tf = template_find(name, cause)) == NULL)
			return -1;
	} else if (jinja == NULL || (c->tf = template_detect(jinja)) == NULL) {
		if ((c->tf = template_guess(has_token, c->tok)) == NULL) {
			names = template_names();
			*cause = xstrfmt("cannot tell the chat template: use "
			    "--template NAME (%s)", names);
			free(names);
			return -1;
		}
		guess = xstrfmt("%s: the model has %s chat template; using %s "
		    "(--template to choose)", c->info.name, jinja != NULL ?
		    "an unknown" : "no", c->tf->name);
	}
	if ((missing = template_missing(c->tf, has_token, c->tok)) != NULL) {
		tmp = xstrfmt("%s%s%s: the vocabulary has no %s token: "
		    "template %s's markers are tokenized as plain text",
		    guess != NULL ? guess : "", guess != NULL ? "; " : "",
		    c->info.name, missing, c->tf->name);
		free(guess);
		guess = tmp;
	}
	if (warning != NULL)
		*warning = guess;
	else
		free(guess);
	return 0;
}

static char *
special_text(const struct tok *t, int32_t id)
{
	const char	*s;

	if (id < 0 || (s = tok_text(t, id)) == NULL)
		return NULL;
	return xstrdup(s);
}

/* Ids that tok_piece writes only when asked for specials: control tokens. */
static void
control_list(struct chat *c)
{
	int32_t	id, n = tok_n_vocab(c->tok), k = 0, cap = 0;

	for (id = 0; id < n; id++) {
		if (tok_piece(c->tok, id, 0, NULL, 0) != 0 ||
		    tok_piece(c->tok, id, 1, NULL, 0) <= 0)
			continue;
		if (k == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			c->control = xreallocarray(c->control, (size_t)cap,
			    sizeof *c->control);
		}
		c->control[k++] = id;
	}
	c->control = xreallocarray(c->control, (size_t)k + 1,
	    sizeof *c->control);
	c->control[k] = INT32_MAX;
	c->n_control = k;
}

static void
info_fill(struct chat *c)
{
	struct chat_info	*in = &c->info;
	char			 key[128];
	uint32_t		 u;
	size_t			 i, j;
	static const char	*stops[] = {
		"<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
		"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
		"<\xef\xbd\x9c" "User\xef\xbd\x9c>",
		"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>",
	};

	in->path = c->path;
	in->name = c->info_name;
	if (gguf_get_str(c->g, "general.architecture", &c->info_arch) != 0)
		c->info_arch = xstrdup("unknown");
	in->arch = c->info_arch;
	in->n_params = gguf_n_elements(c->g);
	snprintf(key, sizeof key, "%s.context_length", in->arch);
	if (gguf_get_u32(c->g, key, &u) == 0)
		in->ctx_train = u;
	snprintf(key, sizeof key, "%s.embedding_length", in->arch);
	if (gguf_get_u32(c->g, key, &u) == 0)
		in->n_embd = u;
	if (gguf_get_u32(c->g, "general.file_type", &u) == 0)
		in->quant = type_ftype_name(u);
	in->template_name = c->tf->name;
	in->template_source = c->info_template;
	for (i = j = 0; i < sizeof stops / sizeof stops[0]; i++) {
		if (tok_find(c->tok, stops[i]) >= 0)
			in->stop[j++] = stops[i];
	}
}

/* A chat whose answers the backend be computes (backend.h). */
static struct chat *
chat_open_backend(const struct chat_config *cfg,
    const struct backend_ops *be, char **cause)
{
	struct chat	*c;

	c = xcalloc(1, sizeof *c);
	c->path = xstrdup(cfg->remote_url != NULL ? cfg->remote_url : "");
	c->p = cfg->params;
	c->words = cfg->words;
	chat_set_system(c, cfg->system);
	if ((c->be_data = be->open(cfg, &c->info, cause)) == NULL)
		goto fail;
	c->be = be;
	if (c->p.num_ctx <= 0)
		c->p.num_ctx = c->info.ctx_train >= PARAMS_MIN_CTX &&
		    c->info.ctx_train <= PARAMS_MAX_CTX ?
		    (int)c->info.ctx_train : PARAMS_MIN_CTX * 64;
	if (params_check(&c->p, cause) != 0)
		goto fail;
	c->think = think_new(THINK_START_DETECT, THINK_TRIM, on_think, c);
	return c;
fail:
	chat_free(c);
	return NULL;
}

/* Speculative decoding's guesses: --lookup, --draft. */
static int
spec_open(struct chat *c, const struct chat_config *cfg, char **cause)
{
	struct spec_config	sc;

	memset(&sc, 0, sizeof sc);
	sc.lookup = cfg->lookup;
	sc.draft_path = cfg->draft_path;
	sc.draft_max = cfg->draft_max;
	sc.n_batch = c->n_batch;
	sc.kv_type = c->kv_type;
	c->spec = spec_new(c->m, c->tok, &sc, cause);
	return c->spec != NULL ? 0 : -1;
}

struct chat *
chat_open(const struct chat_config *cfg, char **warning, char **cause)
{
	struct chat		*c;
	struct sampler_params	 sp;
	int64_t			 t0 = util_now_ns();
	size_t			 i;
	static const char	*stop_texts[] = {
		"<\xef\xbd\x9c" "User\xef\xbd\x9c>",
		"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>",
		"<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	};

	if (warning != NULL)
		*warning = NULL;
	if (cfg->backend != NULL)
		return chat_open_backend(cfg, cfg->backend, cause);
	c = xcalloc(1, sizeof *c);
	c->path = xstrdup(cfg->model_path);
	c->p = cfg->params;
	c->words = cfg->words;
	c->n_threads = cfg->n_threads;
	c->n_batch = cfg->n_batch > 0 ? cfg->n_batch : DEFAULT_BATCH;
	c->kv_type = KV_F16;
	chat_set_system(c, cfg->system);
	if (cfg->kv_type != NULL && kv_type_parse(cfg->kv_type,
	    &c->kv_type) != 0) {
		*cause = xstrfmt("--kv-type: %s: not f16 or f32", cfg->kv_type);
		goto fail;
	}

	if ((c->g = gguf_open(cfg->model_path, cause)) == NULL)
		goto fail;
	/* --mlock keeps the file's map: no copy of it beside */
	if (cfg->mlock && residency_lock(c->g, cause) != 0)
		goto fail;
	model_set_repack(!cfg->mlock);
	if ((c->tok = tok_open(c->g, NULL, cause)) == NULL)
		goto fail;
	if ((c->m = model_open(c->g, c->n_threads, cause)) == NULL)
		goto fail;
	if (c->p.num_ctx <= 0)
		c->p.num_ctx = model_default_ctx(c->m);
	if (params_check(&c->p, cause) != 0)
		goto fail;
	if ((c->ctx = ctx_new(c, c->p.num_ctx, cause)) == NULL)
		goto fail;
	control_list(c);
	if (gguf_get_str(c->g, "general.name", &c->info_name) != 0)
		c->info_name = file_stem(c->path);
	c->info.name = c->info_name;
	if (template_choose(c, cfg->template_name, warning, cause) != 0)
		goto fail;
	info_fill(c);
	params_sampler(&c->p, c->p.num_ctx, &sp);
	if ((c->smp = sampler_new(tok_n_vocab(c->tok), &sp, cause)) == NULL)
		goto fail;
	if ((cfg->lookup || cfg->draft_path != NULL) &&
	    spec_open(c, cfg, cause) != 0)
		goto fail;
	c->think = think_new(THINK_START_DETECT, THINK_TRIM, on_think, c);
	c->stream = tok_stream_new(c->tok);
	c->bos_text = special_text(c->tok, tok_bos(c->tok));
	c->eos_text = special_text(c->tok, tok_eos(c->tok));
	c->think_close = tok_find(c->tok, "</think>");
	for (i = 0; i < 4; i++)
		c->stop_ids[i] = i < 3 ? tok_find(c->tok, stop_texts[i]) : -1;
	c->load_ns = util_now_ns() - t0;
	return c;
fail:
	if (warning != NULL) {
		free(*warning);
		*warning = NULL;
	}
	chat_free(c);
	return NULL;
}

void
chat_free(struct chat *c)
{
	if (c == NULL)
		return;
	chat_clear(c);
	free(c->msgs);
	if (c->be != NULL)
		c->be->close(c->be_data);
	think_free(c->think);
	tok_stream_free(c->stream);
	sampler_free(c->smp);
	spec_free(c->spec);
	model_ctx_free(c->ctx);
	model_free(c->m);
	tok_free(c->tok);
	gguf_close(c->g);
	free(c->control);
	free(c->cache.v);
	free(c->reasoning.s);
	free(c->bos_text);
	free(c->eos_text);
	free(c->info_name);
	free(c->info_arch);
	free(c->info_template);
	free(c->system);
	free(c->path);
	free(c);
}

/* --- the turn ----------------------------------------------------------------------- */

static int
is_stop(const struct chat *c, int32_t id)
{
	size_t	i;

	if (tok_is_eog(c->tok, id))
		return 1;
	for (i = 0; i < sizeof c->stop_ids / sizeof c->stop_ids[0]; i++) {
		if (c->stop_ids[i] >= 0 && c->stop_ids[i] == id)
			return 1;
	}
	return 0;
}

/*
 * Builds the prompt, dropping the oldest turns while it leaves less than a
 * quarter of the context (or num_predict tokens) to answer in.  Returns 0
 * with the prompt in *prompt and the first message kept in *first, 1 when
 * the last message cannot fit even alone, -1 on error.
 */
static int
prompt_fit(struct chat *c, struct ids *prompt, size_t *first, char **cause)
{
	int	n_ctx = c->p.num_ctx, reserve = n_ctx / 4;
	size_t	i;

	if (c->p.num_predict >= 0 && c->p.num_predict < reserve)
		reserve = c->p.num_predict;
	if (reserve < 1)
		reserve = 1;
	*first = 0;
	for (;;) {
		if (prompt_build(c, *first, prompt, cause) != 0)
			return -1;
		if (prompt->n + (size_t)reserve <= (size_t)n_ctx)
			return 0;
		for (i = *first + 1; i + 1 < c->n_msgs &&
		    c->msgs[i].role != CHAT_USER; i++)
			;
		if (i + 1 >= c->n_msgs)
			break;
		*first = i;
	}
	return prompt->n < (size_t)n_ctx ? 0 : 1;
}

/* Gives the text of generated token id to the <think> parser. */
static int
push_token(struct chat *c, int32_t id, char **cause)
{
	const char	*s;
	size_t		 n;

	if (id == c->think_close) {
		s = tok_stream_flush(c->stream, &n);
		if (n > 0 && think_push(c->think, s, n, 0, cause) != 0)
			return -1;
		return think_push(c->think, "</think>", 8, 1, cause);
	}
	s = tok_stream_push(c->stream, id, &n);
	if (n > 0)
		return think_push(c->think, s, n, 0, cause);
	return 0;
}

static int
in_reasoning(const struct chat *c, enum think_start start)
{
	enum think_state	s = think_state(c->think);

	return s == THINK_STATE_REASONING ||
	    (s == THINK_STATE_START && start == THINK_START_REASONING);
}

/* Evaluates prompt tokens [from, n) in batches, with progress events. */
static const float *
prefill(struct chat *c, const struct ids *prompt, size_t from, char **cause)
{
	const float	*logits = NULL;
	int64_t		 t0 = util_now_ns();
	size_t		 i, nb;

	for (i = from; i < prompt->n; i += nb) {
		nb = prompt->n - i;
		if (nb > (size_t)c->n_batch)
			nb = (size_t)c->n_batch;
		logits = model_eval(c->ctx, prompt->v + i, (int)nb, (int)i,
		    cause);
		if (logits == NULL)
			return NULL;
		if (ids_add(&c->cache, prompt->v + i, nb) != 0) {
			*cause = xstrdup("out of memory");
			return NULL;
		}
		c->st.prompt_n += (int)nb;
		c->st.prompt_ns = util_now_ns() - t0;
		c->st.ctx_used = (int)c->cache.n;
		emit(c, CHAT_EVENT_PROGRESS, NULL, 0);
		if (c->stopped)
			return NULL;
	}
	return logits;
}

/* Where the model's output starts: in the reasoning, the answer, or unsure. */
static enum think_start
think_start_of(const struct chat *c)
{
	if (!c->p.think)
		return THINK_START_ANSWER;
	return c->tf->opens_think ? THINK_START_REASONING : THINK_START_DETECT;
}

/*
 * Evaluates the last token of the cache's list (n_gen generated so far):
 * with the guesses that may follow it, as far as the context and
 * num_predict leave room for.
 */
static const float *
next_logits(struct chat *c, int n_gen, char **cause)
{
	struct spec_stats	 ss;
	const float		*logits;
	size_t			 n = c->cache.n;
	int			 room = c->p.num_ctx - (int)n;

	if (c->spec == NULL)
		return model_eval(c->ctx, c->cache.v + n - 1, 1, (int)n - 1,
		    cause);
	if (c->p.num_predict >= 0 && c->p.num_predict - n_gen < room)
		room = c->p.num_predict - n_gen;
	logits = spec_eval(c->spec, c->ctx, c->cache.v, n, room, cause);
	spec_stats(c->spec, &ss);
	c->st.draft_n = (int)(ss.proposed - c->draft_base.proposed);
	c->st.draft_accepted = (int)(ss.accepted - c->draft_base.accepted);
	return logits;
}

/* Samples and evaluates the answer until it ends; the parser gets it all. */
static int
generate(struct chat *c, const float *logits, char **cause)
{
	static const char	 close[] = "\n</think>\n\n";
	enum think_start	 start;
	int32_t			*forced = NULL, id;
	size_t			 n_forced = 0, fpos = 0;
	int			 n_gen = 0, n_think = 0, closed = 0, rc = -1;

	start = think_start_of(c);
	c->st.phase = start == THINK_START_ANSWER ? CHAT_PHASE_ANSWERING :
	    CHAT_PHASE_THINKING;
	c->eval_t0 = util_now_ns();

	while (!c->stopped) {
		if (c->p.num_predict >= 0 && n_gen >= c->p.num_predict) {
			c->limit = LIMIT_PREDICT;
			break;
		}
		if (c->cache.n >= (size_t)c->p.num_ctx) {
			c->limit = LIMIT_CTX;
			notice_full(c);
			break;
		}
		if (c->p.think_budget >= 0 && !closed &&
		    in_reasoning(c, start) && n_think >= c->p.think_budget) {
			/* Out of budget: close the reasoning for the model. */
			if (tok_encode(c->tok, close, sizeof close - 1, 0, 1,
			    &forced, &n_forced, cause) != 0)
				goto out;
			fpos = 0;
			closed = 1;
		}
		if (fpos < n_forced)
			id = forced[fpos++];
		else if (c->spec == NULL || !spec_choose(c->spec, c->smp,
		    logits, &id))
			id = sampler_sample(c->smp, logits);
		sampler_accept(c->smp, id);
		if (fpos >= n_forced && is_stop(c, id))
			break;
		if (in_reasoning(c, start))
			n_think++;
		c->st.eval_n = ++n_gen;
		if (push_token(c, id, cause) != 0)
			goto out;
		if (c->stopped)
			break;
		if (ids_add(&c->cache, &id, 1) != 0) {
			*cause = xstrdup("out of memory");
			goto out;
		}
		logits = next_logits(c, n_gen, cause);
		if (logits == NULL) {
			c->cache.n--;
			goto out;
		}
		c->st.ctx_used = (int)c->cache.n;
		emit(c, CHAT_EVENT_PROGRESS, NULL, 0);
	}
	rc = 0;
out:
	free(forced);
	return rc;
}

/* Ends the parser's output and keeps the answer in the history. */
static int
answer_keep(struct chat *c, char **cause)
{
	const char	*s;
	size_t		 n;
	int		 open;

	if (c->stream != NULL) {
		s = tok_stream_flush(c->stream, &n);
		if (n > 0 && think_push(c->think, s, n, 0, cause) != 0)
			return -1;
	}
	if ((open = think_finish(c->think, cause)) < 0)
		return -1;
	s = think_answer(c->think, &n);
	/* A limit's cut: reasoning and no answer (a server's came apart). */
	if (!c->stopped && (c->limit == LIMIT_NONE ? open :
	    n == 0 && c->reasoning.len > 0))
		notice_open(c);
	msgs_push(c, CHAT_ASSISTANT, xstrndup(s, n),
	    c->reasoning.len > 0 ? xstrndup(c->reasoning.s, c->reasoning.len) :
	    NULL);
	return 0;
}

/* A backend's piece of the answer: reasoning apart or through the parser. */
static int
on_piece(enum backend_piece kind, const char *text, size_t len, void *arg)
{
	struct chat	*c = arg;
	char		*cause = NULL;

	if (kind != BACKEND_WAIT && c->eval_t0 == 0) {
		c->eval_t0 = util_now_ns();
		c->st.prompt_ns = c->eval_t0 - c->t0;
	}
	switch (kind) {
	case BACKEND_REASONING:
		on_think(THINK_REASONING, text, len, c);
		c->st.eval_n++;
		break;
	case BACKEND_TEXT:
		if (think_push(c->think, text, len, 0, &cause) != 0) {
			free(cause);
			return 1;
		}
		c->st.eval_n++;
		break;
	case BACKEND_WAIT:
		emit(c, CHAT_EVENT_PROGRESS, NULL, 0);
		break;
	}
	return c->stopped;
}

/*
 * A turn computed by the backend: the counts are the server's when it
 * says them (else the pieces received), the durations measured here.
 */
static int
backend_turn(struct chat *c, char **cause)
{
	struct backend_counts	 k;
	char			*ignored = NULL;
	int			 rc;

	memset(&k, 0, sizeof k);
	think_reset(c->think, THINK_START_DETECT);
	rc = c->be->turn(c->be_data, c->system, c->msgs, c->n_msgs, &c->p,
	    on_piece, c, &k, cause);
	if (k.known) {
		c->st.prompt_n = k.prompt_n;
		c->st.eval_n = k.eval_n;
	}
	c->st.source = k.source;
	c->ctx_used = c->st.ctx_used = k.ctx_used;
	/*
	 * "length": max_tokens when it was sent and reached; the context when
	 * the usage fills the length the server told; else the server's own
	 * limit (its default max_tokens, or a context it does not tell).
	 */
	if (k.cut && c->p.num_predict >= 0 && (!k.known ||
	    k.eval_n >= c->p.num_predict))
		c->limit = LIMIT_PREDICT;
	else if (k.cut)
		c->limit = k.ctx_used >= 0 && ctx_size(c) > 0 &&
		    k.ctx_used >= ctx_size(c) ? LIMIT_CTX : LIMIT_SERVER;
	if (rc == 0 && c->limit == LIMIT_CTX)
		notice_full(c);
	if (rc != 0) {
		if (c->eval_t0 == 0)
			msg_free(&c->msgs[--c->n_msgs]);
		else if (answer_keep(c, &ignored) != 0)
			free(ignored);
		return -1;
	}
	if (answer_keep(c, cause) != 0)
		return -1;
	c->st.phase = CHAT_PHASE_IDLE;
	emit(c, CHAT_EVENT_STATS, NULL, 0);
	return 0;
}

/* Speculation's start of a turn: the sampler's parameters, its counts. */
static int
spec_turn(struct chat *c, char **cause)
{
	struct sampler_params	sp;

	sampler_params(c->smp, &sp);
	if (spec_reset(c->spec, &sp, cause) != 0)
		return -1;
	spec_stats(c->spec, &c->draft_base);
	c->st.draft_on = 1;
	return 0;
}

int
chat_turn(struct chat *c, const char *msg, size_t len, chat_event_cb cb,
    void *arg, char **cause)
{
	struct ids	 prompt = { 0 };
	const float	*logits;
	char		*ignored = NULL;
	size_t		 first, k, i;
	int		 rc = -1, fit;

	c->cb = cb;
	c->arg = arg;
	c->t0 = util_now_ns();
	c->eval_t0 = 0;
	c->stopped = 0;
	c->limit = LIMIT_NONE;
	c->reasoning.len = 0;
	memset(&c->st, 0, sizeof c->st);
	c->st.phase = CHAT_PHASE_READING;
	c->st.ctx_size = ctx_size(c);
	c->st.ctx_used = c->ctx_used;
	if (!c->load_told) {
		c->st.load_ns = c->load_ns;
		c->load_told = 1;
	}

	msgs_push(c, CHAT_USER, xstrndup(msg, len), NULL);
	if (c->be != NULL)
		return backend_turn(c, cause);
	if ((fit = prompt_fit(c, &prompt, &first, cause)) != 0) {
		msg_free(&c->msgs[--c->n_msgs]);
		if (fit > 0) {
			notice(c, WORDS(c, "This message is too long: it takes "
			    "%zu tokens%s, and the context holds %d.  /set "
			    "parameter num_ctx makes it larger.", "the message "
			    "is too long: %zu tokens%s, the context holds %d "
			    "(raise -c/--ctx-size)"), prompt.n,
			    c->system != NULL ? " with the system prompt" : "",
			    c->p.num_ctx);
			rc = 0;
		}
		goto out;
	}
	if (first > 0) {
		msgs_drop(c, first);
		notice(c, "The conversation outgrew the context (%d tokens): "
		    "its %zu oldest messages were dropped.", c->p.num_ctx,
		    first);
	}

	/* What the cache holds already need not be evaluated again. */
	for (k = 0; k < c->cache.n && k < prompt.n &&
	    c->cache.v[k] == prompt.v[k]; k++)
		;
	if (k == prompt.n)
		k--;
	c->cache.n = k;
	sampler_reset(c->smp);
	for (i = 0; i < prompt.n; i++)
		sampler_accept(c->smp, prompt.v[i]);
	if (c->spec != NULL && spec_turn(c, cause) != 0) {
		msg_free(&c->msgs[--c->n_msgs]);
		goto out;
	}

	think_reset(c->think, think_start_of(c));
	tok_stream_free(c->stream);
	c->stream = tok_stream_new(c->tok);
	logits = prefill(c, &prompt, k, cause);
	if (logits == NULL && !c->stopped) {
		msg_free(&c->msgs[--c->n_msgs]);
		goto out;
	}
	if (logits != NULL && generate(c, logits, cause) != 0) {
		/* Keep what came before the error. */
		answer_keep(c, &ignored);
		free(ignored);
		goto out;
	}
	if (answer_keep(c, cause) != 0)
		goto out;
	c->st.phase = CHAT_PHASE_IDLE;
	emit(c, CHAT_EVENT_STATS, NULL, 0);
	rc = 0;
out:
	c->ctx_used = c->st.ctx_used;
	free(prompt.v);
	return rc;
}

/* --- save and load ------------------------------------------------------------------- */

json_t *
chat_json_text(const char *s)
{
	struct text	 t = { 0 };
	json_t		*j;
	size_t		 i = 0, n = strlen(s), k;
	const unsigned char *u = (const unsigned char *)s;

	if ((j = json_stringn(s, n)) != NULL)
		return j;
	while (i < n) {
		k = u[i] < 0x80 ? 1 : u[i] >= 0xc2 && u[i] <= 0xdf ? 2 :
		    u[i] >= 0xe0 && u[i] <= 0xef ? 3 :
		    u[i] >= 0xf0 && u[i] <= 0xf4 ? 4 : 0;
		/* jansson judges one character: valid UTF-8 or not. */
		if (k == 0 || i + k > n || (j = json_stringn(s + i, k)) == NULL) {
			text_add(&t, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		json_decref(j);
		text_add(&t, s + i, k);
		i += k;
	}
	j = json_stringn(t.s != NULL ? t.s : "", t.len);
	free(t.s);
	return j;
}

static json_t *
save_json(const struct chat *c)
{
	json_t			*root, *params, *msgs, *m;
	const struct param_def	*d;
	size_t			 i;

	root = json_object();
	json_object_set_new(root, "format", json_string("r1chat-conversation"));
	json_object_set_new(root, "version", json_integer(SAVE_FORMAT));
	json_object_set_new(root, "model", chat_json_text(c->path));
	json_object_set_new(root, "system", c->system != NULL ?
	    chat_json_text(c->system) : json_null());
	params = json_object();
	for (i = 0; (d = param_at(i)) != NULL; i++)
		json_object_set_new(params, d->save_key,
		    param_json(d, &c->p, 0));
	json_object_set_new(root, "parameters", params);
	msgs = json_array();
	for (i = 0; i < c->n_msgs; i++) {
		m = json_object();
		json_object_set_new(m, "role", json_string(
		    c->msgs[i].role == CHAT_USER ? "user" : "assistant"));
		json_object_set_new(m, "content",
		    chat_json_text(c->msgs[i].content));
		if (c->msgs[i].reasoning != NULL)
			json_object_set_new(m, "reasoning",
			    chat_json_text(c->msgs[i].reasoning));
		json_array_append_new(msgs, m);
	}
	json_object_set_new(root, "messages", msgs);
	return root;
}

int
chat_save(const struct chat *c, const char *path, char **cause)
{
	json_t	*root;
	char	*s, *tmp;
	size_t	 n, off = 0;
	ssize_t	 w;
	int	 fd;

	root = save_json(c);
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL) {
		*cause = xstrdup("out of memory");
		return -1;
	}
	n = strlen(s);
	tmp = xstrfmt("%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		goto fail;
	}
	while (off < n) {
		if ((w = write(fd, s + off, n - off)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	if (off < n || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	free(s);
	return 0;
fail:
	free(tmp);
	free(s);
	return -1;
}

/* Reads the parameters saved in j into p; -1 with *cause when malformed. */
static int
load_params(json_t *j, struct chat_params *p, char **cause)
{
	const struct param_def	*d;
	json_t			*v;
	size_t			 i;

	if (j == NULL)
		return 0;
	if (!json_is_object(j)) {
		*cause = xstrdup("\"parameters\" is not an object");
		return -1;
	}
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if ((v = json_object_get(j, d->save_key)) != NULL &&
		    param_from_json(d, d->save_key, v, p, cause) != 0)
			return -1;
	}
	return 0;
}

int
chat_load(struct chat *c, const char *path, char **cause)
{
	json_t			*root, *msgs, *m, *role, *content, *reas, *sys;
	json_error_t		 err;
	struct chat_params	 p = c->p;
	struct chat_message	*list = NULL;
	size_t			 i, n = 0;
	int			 rc = -1, e;
	FILE			*f;

	/* Opened here: jansson's words for it are "line -1" and the path. */
	if ((f = fopen(path, "r")) == NULL) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		return -1;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
	e = ferror(f) ? (errno != 0 ? errno : EIO) : 0;
	fclose(f);
	if (root == NULL && e != 0)
		*cause = xstrfmt("%s: %s", path, strerror(e));
	else if (root == NULL)
		*cause = xstrfmt("%s: line %d: %s", path, err.line, err.text);
	if (root == NULL)
		return -1;
	msgs = json_object_get(root, "messages");
	sys = json_object_get(root, "system");
	if (!json_is_object(root) || !json_is_array(msgs) ||
	    (sys != NULL && !json_is_null(sys) && !json_is_string(sys))) {
		*cause = xstrfmt("%s: not a saved conversation", path);
		goto out;
	}
	if (load_params(json_object_get(root, "parameters"), &p, cause) != 0)
		goto fail_named;
	list = xcalloc(json_array_size(msgs) + 1, sizeof *list);
	for (i = 0; i < json_array_size(msgs); i++) {
		m = json_array_get(msgs, i);
		role = json_object_get(m, "role");
		content = json_object_get(m, "content");
		reas = json_object_get(m, "reasoning");
		if (!json_is_object(m) || !json_is_string(role) ||
		    !json_is_string(content) ||
		    (reas != NULL && !json_is_string(reas)) ||
		    (strcmp(json_string_value(role), "user") != 0 &&
		    strcmp(json_string_value(role), "assistant") != 0)) {
			*cause = xstrfmt("%s: message %zu is malformed", path,
			    i + 1);
			goto out;
		}
		list[n].role = strcmp(json_string_value(role), "user") == 0 ?
		    CHAT_USER : CHAT_ASSISTANT;
		list[n].content = xstrdup(json_string_value(content));
		list[n++].reasoning = reas != NULL ?
		    xstrdup(json_string_value(reas)) : NULL;
	}
	if (chat_set_params(c, &p, cause) != 0)
		goto fail_named;
	chat_clear(c);
	for (i = 0; i < n; i++)
		msgs_push(c, list[i].role, list[i].content, list[i].reasoning);
	n = 0;
	chat_set_system(c, json_is_string(sys) ? json_string_value(sys) : NULL);
	rc = 0;
	goto out;
fail_named:
	{
		char	*why = *cause;

		*cause = xstrfmt("%s: %s", path, why);
		free(why);
	}
out:
	for (i = 0; i < n; i++)
		msg_free(&list[i]);
	free(list);
	json_decref(root);
	return rc;
}
