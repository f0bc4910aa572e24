/*
 * openai.c - the JSON of the OpenAI chat completions API.
 *
 * Servers differ in small ways, and the reader takes them all: reasoning
 * as "reasoning_content" (vLLM, SGLang, llama-server, DeepSeek) or
 * "reasoning" (newer vLLM, ollama), a chunk's text under "delta" or, in a
 * whole response, "message", error bodies in four shapes, and the
 * context length under vLLM's or llama-server's name.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "openai.h"
#include "params.h"
#include "util.h"

/* --- the client's side ------------------------------------------------------ */

char *
openai_request_build(const char *model, const char *system,
    const struct chat_message *msgs, size_t n, const struct chat_params *p)
{
	const struct param_def	*d;
	json_t			*root, *list, *m, *opts;
	char			*s;
	size_t			 i;

	root = json_object();
	json_object_set_new(root, "model", chat_json_text(model));
	list = json_array();
	if (system != NULL) {
		m = json_object();
		json_object_set_new(m, "role", json_string("system"));
		json_object_set_new(m, "content", chat_json_text(system));
		json_array_append_new(list, m);
	}
	for (i = 0; i < n; i++) {
		m = json_object();
		json_object_set_new(m, "role", json_string(
		    msgs[i].role == CHAT_USER ? "user" : "assistant"));
		json_object_set_new(m, "content",
		    chat_json_text(msgs[i].content));
		json_array_append_new(list, m);
	}
	json_object_set_new(root, "messages", list);
	json_object_set_new(root, "stream", json_true());
	opts = json_object();
	json_object_set_new(opts, "include_usage", json_true());
	json_object_set_new(root, "stream_options", opts);
	/* Not every server takes every field: those not in use stay out. */
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if (d->request != NULL && param_get(d, p) != d->request_off)
			json_object_set_new(root, d->request,
			    param_json(d, p, 1));
	}
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL)
		abort();
	return s;
}

/* The string under key in o, with its length; NULL when not a string. */
static const char *
str_get(json_t *o, const char *key, size_t *len)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

static int64_t
int_get(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_number(v) ? (int64_t)json_number_value(v) : 0;
}

static const char *reasoning_keys[] = { "reasoning_content", "reasoning" };

int
openai_delta_parse(const char *data, size_t len, struct openai_delta *d,
    char **cause)
{
	json_error_t	 err;
	json_t		*root, *choice, *delta, *usage, *tm, *e;
	size_t		 i, n;

	memset(d, 0, sizeof *d);
	if ((root = json_loadb(data, len, 0, &err)) == NULL ||
	    !json_is_object(root)) {
		*cause = xstrfmt("the server sent a chunk that is not a JSON "
		    "object: %s", root == NULL ? err.text : "not an object");
		json_decref(root);
		return -1;
	}
	d->root = root;
	if ((e = json_object_get(root, "error")) != NULL) {
		if (json_is_object(e))
			d->error = str_get(e, "message", &n);
		else if (json_is_string(e))
			d->error = json_string_value(e);
		if (d->error == NULL)
			d->error = "an error with no message";
	}
	choice = json_array_get(json_object_get(root, "choices"), 0);
	if ((delta = json_object_get(choice, "delta")) == NULL)
		delta = json_object_get(choice, "message");
	if (json_is_object(delta)) {
		d->content = str_get(delta, "content", &d->content_len);
		for (i = 0; i < 2 && d->reasoning == NULL; i++)
			d->reasoning = str_get(delta, reasoning_keys[i],
			    &d->reasoning_len);
	}
	d->finish = str_get(choice, "finish_reason", &n);
	/* json_is_object evaluates its argument twice: no call in it */
	usage = json_object_get(root, "usage");
	tm = json_object_get(root, "timings");
	if (json_is_object(usage)) {
		d->has_usage = 1;
		d->prompt_tokens = int_get(usage, "prompt_tokens");
		d->completion_tokens = int_get(usage, "completion_tokens");
	}
	if (json_is_object(tm)) {
		d->has_timings = 1;
		d->timings_prompt_n = int_get(tm, "prompt_n");
		d->timings_predicted_n = int_get(tm, "predicted_n");
	}
	return 0;
}

void
openai_delta_free(struct openai_delta *d)
{
	json_decref(d->root);
	memset(d, 0, sizeof *d);
}

char *
openai_error_message(const char *body, size_t len)
{
	json_t		*root, *e;
	const char	*s = NULL;
	char		*out = NULL;
	size_t		 n = 0;

	if ((root = json_loadb(body, len, 0, NULL)) == NULL)
		return NULL;
	e = json_object_get(root, "error");
	if (json_is_object(e))
		s = str_get(e, "message", &n);
	else if (json_is_string(e))
		s = str_get(root, "error", &n);
	if (s == NULL)
		s = str_get(root, "message", &n);
	if (s == NULL)
		s = str_get(root, "detail", &n);
	if (s != NULL)
		out = xstrndup(s, n);
	json_decref(root);
	return out;
}

int
openai_models_find(const char *body, size_t len, const char *want,
    struct openai_model *m, char **cause)
{
	json_t		*root, *list, *o, *meta;
	const char	*id;
	size_t		 i, n;
	int64_t		 ctx;

	memset(m, 0, sizeof m[0]);
	root = json_loadb(body, len, 0, NULL);
	list = json_object_get(root, "data");
	if (!json_is_array(list)) {
		*cause = xstrdup("the server's model list is not one "
		    "(/v1/models has no \"data\" array)");
		json_decref(root);
		return -1;
	}
	for (i = 0; i < json_array_size(list); i++) {
		o = json_array_get(list, i);
		if ((id = str_get(o, "id", &n)) == NULL)
			continue;
		if (want != NULL && strcmp(id, want) != 0)
			continue;
		m->id = xstrndup(id, n);
		if ((id = str_get(o, "owned_by", &n)) != NULL)
			m->owned_by = xstrndup(id, n);
		meta = json_object_get(o, "meta");
		ctx = int_get(o, "max_model_len");
		m->ctx = ctx != 0 ? ctx : int_get(meta, "n_ctx_train");
		m->n_params = int_get(meta, "n_params");
		json_decref(root);
		return 0;
	}
	*cause = want != NULL ? xstrfmt("the server has no model %s", want) :
	    xstrdup("the server lists no model");
	json_decref(root);
	return -1;
}

void
openai_model_free(struct openai_model *m)
{
	free(m->id);
	free(m->owned_by);
	memset(m, 0, sizeof *m);
}

/* --- the server's side ------------------------------------------------------ */

/* The text of a message's content: a string or an array of text parts. */
static int
content_text(json_t *c, char **out, char **cause)
{
	json_t		*part;
	const char	*t;
	char		*s = xstrdup("");
	size_t		 i, n, len = 0;

	if (json_is_string(c) || json_is_null(c)) {
		free(s);
		*out = xstrdup(json_is_string(c) ? json_string_value(c) : "");
		return 0;
	}
	if (!json_is_array(c)) {
		free(s);
		*cause = xstrdup("a message's \"content\" must be a string or "
		    "an array of text parts");
		return -1;
	}
	json_array_foreach(c, i, part) {
		if ((t = str_get(part, "text", &n)) == NULL) {
			free(s);
			*cause = xstrdup("only text parts are understood in a "
			    "message's \"content\"");
			return -1;
		}
		s = xreallocarray(s, len + n + 1, 1);
		memcpy(s + len, t, n);
		s[len += n] = '\0';
	}
	*out = s;
	return 0;
}

/* How much of a client's word a message echoes, at most. */
#define SHOWN_MAX	32

/* Makes s one line: each control character becomes '?'.  Returns s. */
static char *
one_line(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return s;
}

/*
 * s as a 400 answer may quote it: one line of at most SHOWN_MAX bytes,
 * cut between characters, "..." after a cut.  Writes it into buf
 * (SHOWN_MAX + 4 bytes).
 */
static const char *
shown(const char *s, char *buf)
{
	size_t	n = strlen(s), k = n;

	if (k > SHOWN_MAX) {
		k = SHOWN_MAX;
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
	}
	memcpy(buf, s, k);
	memcpy(buf + k, k < n ? "..." : "", k < n ? 4 : 1);
	return one_line(buf);
}

static int
messages_parse(json_t *list, struct openai_request *r, char **cause)
{
	char		 buf[SHOWN_MAX + 4];
	json_t		*m;
	const char	*role;
	char		*text, *joined;
	size_t		 i, n;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		*cause = xstrdup("\"messages\" must be a non-empty array");
		return -1;
	}
	r->msgs = xcalloc(json_array_size(list), sizeof *r->msgs);
	json_array_foreach(list, i, m) {
		if ((role = str_get(m, "role", &n)) == NULL) {
			*cause = xstrfmt("message %zu has no \"role\"", i + 1);
			return -1;
		}
		if (content_text(json_object_get(m, "content"), &text,
		    cause) != 0)
			return -1;
		if (strcmp(role, "system") == 0 ||
		    strcmp(role, "developer") == 0) {
			joined = r->system == NULL ? text :
			    xstrfmt("%s\n\n%s", r->system, text);
			if (joined != text)
				free(text);
			free(r->system);
			r->system = joined;
			continue;
		}
		if (strcmp(role, "user") != 0 &&
		    strcmp(role, "assistant") != 0) {
			free(text);
			*cause = xstrfmt("message %zu: role \"%s\" is not "
			    "understood (system, user, assistant)", i + 1,
			    shown(role, buf));
			return -1;
		}
		r->msgs[r->n_msgs].role = strcmp(role, "user") == 0 ?
		    CHAT_USER : CHAT_ASSISTANT;
		r->msgs[r->n_msgs++].content = text;
	}
	if (r->n_msgs == 0 || r->msgs[r->n_msgs - 1].role != CHAT_USER) {
		*cause = xstrdup("the last message must be the user's");
		return -1;
	}
	return 0;
}

int
openai_request_parse(const char *body, size_t len, struct openai_request *r,
    struct chat_params *p, char **cause)
{
	const struct param_def	*d;
	json_error_t		 err;
	json_t			*root, *v;
	struct chat_params	 q = *p;
	size_t			 i, n, k;
	const char		*s, *key;
	int			 rc = -1;

	memset(r, 0, sizeof *r);
	if ((root = json_loadb(body, len, 0, &err)) == NULL) {
		/* jansson's words quote the body, control characters too. */
		*cause = one_line(xstrfmt("the body is not JSON: line %d: %s",
		    err.line, err.text));
		return -1;
	}
	if (!json_is_object(root)) {
		*cause = xstrdup("the body is not a JSON object");
		goto out;
	}
	if ((s = str_get(root, "model", &n)) != NULL)
		r->model = xstrndup(s, n);
	if (messages_parse(json_object_get(root, "messages"), r, cause) != 0)
		goto out;
	/* One choice is all the worker makes: more is refused, not dropped. */
	if ((v = json_object_get(root, "n")) != NULL && !json_is_null(v) &&
	    (!json_is_integer(v) || json_integer_value(v) != 1)) {
		*cause = xstrdup("n must be 1: r1chat serve gives one choice "
		    "per request");
		goto out;
	}
	r->stream = json_is_true(json_object_get(root, "stream"));
	r->include_usage = json_is_true(json_object_get(json_object_get(root,
	    "stream_options"), "include_usage"));
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		for (k = 0; k < 2; k++) {
			key = k == 0 ? d->request : d->request_alias;
			if (key == NULL || (v = json_object_get(root, key)) ==
			    NULL || json_is_null(v))
				continue;
			if (param_from_json(d, key, v, &q, cause) != 0 ||
			    param_check(d, &q, cause) != 0)
				goto out;
		}
	}
	*p = q;
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		openai_request_free(r);
	return rc;
}

void
openai_request_free(struct openai_request *r)
{
	size_t	i;

	for (i = 0; i < r->n_msgs; i++)
		free(r->msgs[i].content);
	free(r->msgs);
	free(r->model);
	free(r->system);
	memset(r, 0, sizeof *r);
}

static char *
dump(json_t *root)
{
	char	*s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(root);
	if (s == NULL)
		abort();
	return s;
}

static json_t *
text_json(const char *s, size_t n)
{
	char	*t = xstrndup(s, n);
	json_t	*j = chat_json_text(t);

	free(t);
	return j;
}

static json_t *
usage_json(const struct openai_usage *u)
{
	json_t	*o = json_object();

	json_object_set_new(o, "prompt_tokens", json_integer(u->prompt_tokens));
	json_object_set_new(o, "completion_tokens",
	    json_integer(u->completion_tokens));
	json_object_set_new(o, "total_tokens",
	    json_integer(u->prompt_tokens + u->completion_tokens));
	return o;
}

/* The fields every chunk and response begins with. */
static json_t *
head_json(const struct openai_chunk *k, const char *object)
{
	json_t	*root = json_object();

	json_object_set_new(root, "id", json_string(k->id));
	json_object_set_new(root, "object", json_string(object));
	json_object_set_new(root, "created", json_integer(k->created));
	json_object_set_new(root, "model", chat_json_text(k->model));
	return root;
}

/* A choice: the message (or delta) and its finish reason. */
static json_t *
choice_json(const struct openai_chunk *k, const char *key)
{
	json_t	*choices = json_array(), *c = json_object(), *d = json_object();

	if (k->role)
		json_object_set_new(d, "role", json_string("assistant"));
	if (k->content != NULL)
		json_object_set_new(d, "content", text_json(k->content,
		    k->content_len));
	if (k->reasoning != NULL)
		json_object_set_new(d, "reasoning_content",
		    text_json(k->reasoning, k->reasoning_len));
	json_object_set_new(c, "index", json_integer(0));
	json_object_set_new(c, key, d);
	json_object_set_new(c, "finish_reason", k->finish != NULL ?
	    json_string(k->finish) : json_null());
	json_array_append_new(choices, c);
	return choices;
}

char *
openai_chunk_build(const struct openai_chunk *k)
{
	json_t	*root = head_json(k, "chat.completion.chunk");

	if (k->usage != NULL) {
		json_object_set_new(root, "choices", json_array());
		json_object_set_new(root, "usage", usage_json(k->usage));
	} else
		json_object_set_new(root, "choices", choice_json(k, "delta"));
	return dump(root);
}

char *
openai_response_build(const struct openai_chunk *k)
{
	json_t	*root = head_json(k, "chat.completion");

	json_object_set_new(root, "choices", choice_json(k, "message"));
	if (k->usage != NULL)
		json_object_set_new(root, "usage", usage_json(k->usage));
	return dump(root);
}

char *
openai_error_build(int code, const char *type, const char *message)
{
	json_t	*root = json_object(), *e = json_object();

	json_object_set_new(e, "message", chat_json_text(message));
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(root, "error", e);
	return dump(root);
}

static json_t *
model_json(const char *id, int64_t created, int ctx)
{
	json_t	*m = json_object();

	json_object_set_new(m, "id", chat_json_text(id));
	json_object_set_new(m, "object", json_string("model"));
	json_object_set_new(m, "created", json_integer(created));
	json_object_set_new(m, "owned_by", json_string("r1chat"));
	json_object_set_new(m, "max_model_len", json_integer(ctx));
	return m;
}

char *
openai_models_build(const char *id, int64_t created, int ctx)
{
	json_t	*root = json_object(), *list = json_array();

	json_array_append_new(list, model_json(id, created, ctx));
	json_object_set_new(root, "object", json_string("list"));
	json_object_set_new(root, "data", list);
	return dump(root);
}

char *
openai_model_build(const char *id, int64_t created, int ctx)
{
	return dump(model_json(id, created, ctx));
}
