/*
 * remote.c - the chat's answers from an OpenAI-compatible server (vLLM,
 * SGLang, llama-server, ollama, DeepSeek's API) through libcurl: a
 * streamed POST to /chat/completions read as Server-Sent Events, and
 * /models for what /show info tells.
 *
 * Every failure becomes one sentence: the host not resolved or the
 * connection refused (in curl's words, as strerror's are kept), the server
 * silent for longer than the timeout, an HTTP error with the message of
 * its body, a stream that stops before its end.  Whatever text came
 * before the failure has been handed on already.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "backend.h"
#include "openai.h"
#include "sse.h"
#include "util.h"

#define DEFAULT_TIMEOUT	300	/* seconds without a byte */
#define MAX_BODY	(16u << 20)	/* of a response that is not a stream */
#define WAIT_NS		100000000	/* between two BACKEND_WAIT */

struct remote {
	char			*base;		/* ".../v1", no final '/' */
	char			*auth;		/* "Authorization: Bearer ..." */
	long			 timeout;
	struct openai_model	 model;
	char			*arch;
};

/* One transfer under way. */
struct xfer {
	struct remote		*r;
	CURL			*curl;
	struct sse		*sse;
	backend_cb		 cb;
	void			*arg;
	struct backend_counts	*counts;
	long			 status;	/* 0 until the headers came */
	int			 is_stream;	/* text/event-stream */
	char			*body;		/* an error or a whole response */
	size_t			 body_len;
	int			 done;		/* [DONE] came */
	int			 finished;	/* a finish_reason came */
	int			 stopped;	/* cb said stop */
	char			*error;		/* why the transfer failed */
	int64_t			 last_wait;
};

/* --- one HTTP request ----------------------------------------------------- */

static void
body_add(struct xfer *x, const char *p, size_t n)
{
	if (x->body_len + n > MAX_BODY)
		n = MAX_BODY - x->body_len;
	x->body = xreallocarray(x->body, x->body_len + n + 1, 1);
	memcpy(x->body + x->body_len, p, n);
	x->body_len += n;
	x->body[x->body_len] = '\0';
}

static const char timings_source[] = "counts from llama-server's timings";

/* Failures before the server had the request: curl's words say which. */
static const CURLcode connect_errors[] = {
	CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST,
	CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR,
	CURLE_PEER_FAILED_VERIFICATION,
};

static int
is_connect_error(CURLcode cc)
{
	size_t	i;

	for (i = 0; i < sizeof connect_errors / sizeof connect_errors[0]; i++) {
		if (connect_errors[i] == cc)
			return 1;
	}
	return 0;
}

/* Hands one chunk's text on, and the counts it has. */
static int
delta_give(struct xfer *x, const struct openai_delta *d)
{
	int	rc = 0;

	if (d->error != NULL) {
		x->error = xstrfmt("the server says: %s", d->error);
		return 1;
	}
	if (d->reasoning != NULL && d->reasoning_len > 0)
		rc = x->cb(BACKEND_REASONING, d->reasoning, d->reasoning_len,
		    x->arg);
	if (rc == 0 && d->content != NULL && d->content_len > 0)
		rc = x->cb(BACKEND_TEXT, d->content, d->content_len, x->arg);
	if (d->has_timings) {
		/* llama-server's: the prompt tokens it evaluated, not cached. */
		x->counts->known = 1;
		x->counts->source = timings_source;
		x->counts->prompt_n = (int)d->timings_prompt_n;
		x->counts->eval_n = (int)d->timings_predicted_n;
	} else if (d->has_usage && x->counts->source != timings_source) {
		x->counts->known = 1;
		x->counts->source = "counts from the server's usage";
		x->counts->prompt_n = (int)d->prompt_tokens;
		x->counts->eval_n = (int)d->completion_tokens;
	}
	if (d->has_usage)
		x->counts->ctx_used = (int)(d->prompt_tokens +
		    d->completion_tokens);
	if (d->finish != NULL) {
		x->finished = 1;
		x->counts->cut = strcmp(d->finish, "length") == 0;
	}
	if (rc != 0)
		x->stopped = 1;
	return rc;
}

static int
on_event(const char *type, const char *data, size_t len, void *arg)
{
	struct xfer		*x = arg;
	struct openai_delta	 d;
	char			*cause = NULL;
	int			 rc;

	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		x->done = 1;
		return 1;
	}
	if (openai_delta_parse(data, len, &d, &cause) != 0) {
		x->error = cause;
		return 1;
	}
	if (strcmp(type, "error") == 0 && d.error == NULL)
		d.error = data;
	rc = delta_give(x, &d);
	openai_delta_free(&d);
	return rc;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	static const char ct[] = "content-type:";
	char		*line;

	if (n > sizeof ct && strncasecmp(p, ct, sizeof ct - 1) == 0) {
		line = xstrndup(p, n);
		x->is_stream = strstr(line, "event-stream") != NULL;
		free(line);
	}
	return size * n;
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	char		*cause = NULL;
	int		 rc;

	if (x->status == 0)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->done || x->stopped || x->error != NULL)
		return 0;
	if (x->status >= 300 || !x->is_stream) {
		body_add(x, p, n);
		return n;
	}
	if ((rc = sse_push(x->sse, p, n, &cause)) < 0) {
		x->error = xstrfmt("the server's stream is malformed: %s",
		    cause);
		free(cause);
		return 0;
	}
	return rc == 0 ? n : 0;
}

/* Called by curl while it waits: gives the caller a chance to stop. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct xfer	*x = arg;
	int64_t		 now = util_now_ns();

	if (x->cb == NULL || now - x->last_wait < WAIT_NS)
		return 0;
	x->last_wait = now;
	if (x->cb(BACKEND_WAIT, NULL, 0, x->arg) != 0) {
		x->stopped = 1;
		return 1;
	}
	return 0;
}

/* The body of an HTTP error, as short as a message must be. */
static char *
status_message(struct xfer *x)
{
	char	*msg = NULL, *nl;

	if (x->body != NULL &&
	    (msg = openai_error_message(x->body, x->body_len)) == NULL) {
		msg = xstrndup(x->body, 200);
		if ((nl = strpbrk(msg, "\r\n")) != NULL)
			*nl = '\0';
	}
	if (msg == NULL || *msg == '\0') {
		free(msg);
		return xstrfmt("HTTP %ld", x->status);
	}
	nl = xstrfmt("HTTP %ld: %s", x->status, msg);
	free(msg);
	return nl;
}

/*
 * Performs a request to base/path: a POST of body when not NULL, else a
 * GET.  Returns 0 (the transfer done, stopped, or a whole body in
 * x->body), or -1 with *cause set.
 */
static int
request(struct xfer *x, const char *path, const char *body, char **cause)
{
	struct curl_slist	*h = NULL;
	char			 err[CURL_ERROR_SIZE] = "";
	char			*url, *msg;
	CURLcode		 cc;

	url = xstrfmt("%s%s", x->r->base, path);
	x->curl = curl_easy_init();
	if (x->curl == NULL) {
		free(url);
		*cause = xstrdup("cannot start libcurl");
		return -1;
	}
	if (x->r->auth != NULL)
		h = curl_slist_append(h, x->r->auth);
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: text/event-stream");
		curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT, x->r->timeout);
	curl_easy_setopt(x->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->curl, CURLOPT_LOW_SPEED_TIME, x->r->timeout);
	curl_easy_setopt(x->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->curl, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->curl, CURLOPT_USERAGENT, PACKAGE_STRING);
	cc = curl_easy_perform(x->curl);
	if (x->status == 0)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(x->curl);
	x->curl = NULL;

	if (x->error != NULL)
		*cause = xstrfmt("%s: %s", url, x->error);
	else if (x->stopped || x->done || x->finished)
		goto ok;
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		*cause = xstrfmt("%s: the server sent nothing for %ld seconds",
		    url, x->r->timeout);
	else if (is_connect_error(cc))
		*cause = xstrfmt("%s: cannot connect: %s", url,
		    *err != '\0' ? err : curl_easy_strerror(cc));
	else if (x->status >= 300) {
		msg = status_message(x);
		*cause = xstrfmt("%s: %s", url, msg);
		free(msg);
	} else if (cc != CURLE_OK)
		*cause = xstrfmt("%s: the stream was cut: %s", url,
		    *err != '\0' ? err : curl_easy_strerror(cc));
	else if (x->is_stream && body != NULL)
		*cause = xstrfmt("%s: the stream ended before the answer did",
		    url);
	else
		goto ok;
	free(url);
	return -1;
ok:
	free(url);
	return 0;
}

/* --- the backend ---------------------------------------------------------- */

/* The API's base: the URL as given, or with "/v1" when it has no path. */
static char *
base_url(const char *url)
{
	const char	*p = strstr(url, "://");
	size_t		 n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	p = p != NULL ? strchr(p + 3, '/') : NULL;
	if (p == NULL || p >= url + n)
		return xstrfmt("%.*s/v1", (int)n, url);
	return xstrndup(url, n);
}

static void
remote_close(void *b)
{
	struct remote	*r = b;

	if (r == NULL)
		return;
	free(r->base);
	free(r->auth);
	free(r->arch);
	openai_model_free(&r->model);
	free(r);
}

static void *
remote_open(const struct chat_config *cfg, struct chat_info *info,
    char **cause)
{
	struct remote		*r;
	struct xfer		 x;
	struct backend_counts	 k;
	int			 rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		*cause = xstrdup("cannot start libcurl");
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->base = base_url(cfg->remote_url);
	r->timeout = cfg->timeout > 0 ? cfg->timeout : DEFAULT_TIMEOUT;
	if (cfg->api_key != NULL)
		r->auth = xstrfmt("Authorization: Bearer %s", cfg->api_key);

	memset(&x, 0, sizeof x);
	x.r = r;
	x.counts = &k;
	rc = request(&x, "/models", NULL, cause);
	if (rc == 0 && openai_models_find(x.body != NULL ? x.body : "",
	    x.body_len, cfg->remote_model, &r->model, cause) != 0)
		rc = -1;
	free(x.body);
	if (rc != 0) {
		remote_close(r);
		return NULL;
	}
	r->arch = r->model.owned_by != NULL ?
	    xstrfmt("remote (%s)", r->model.owned_by) : xstrdup("remote");
	memset(info, 0, sizeof *info);
	info->path = r->base;
	info->name = r->model.id;
	info->arch = r->arch;
	info->n_params = (uint64_t)r->model.n_params;
	info->ctx_train = (uint32_t)r->model.ctx;
	info->template_name = "the server's";
	return r;
}

static int
remote_turn(void *b, const char *system, const struct chat_message *msgs,
    size_t n, const struct chat_params *p, backend_cb cb, void *arg,
    struct backend_counts *counts, char **cause)
{
	struct remote		*r = b;
	struct xfer		 x;
	struct openai_delta	 d;
	char			*body;
	int			 rc;

	memset(&x, 0, sizeof x);
	x.r = r;
	x.cb = cb;
	x.arg = arg;
	x.counts = counts;
	x.sse = sse_new(on_event, &x);
	memset(counts, 0, sizeof *counts);
	counts->source = "counts are the pieces received (the server sent "
	    "no usage)";
	counts->ctx_used = -1;
	body = openai_request_build(r->model.id, system, msgs, n, p);
	rc = request(&x, "/chat/completions", body, cause);
	if (rc == 0 && !x.is_stream && !x.stopped && x.body != NULL) {
		/* A server that does not stream: one whole response. */
		if ((rc = openai_delta_parse(x.body, x.body_len, &d,
		    cause)) == 0) {
			delta_give(&x, &d);
			openai_delta_free(&d);
		}
		if (x.error != NULL) {
			*cause = x.error;
			x.error = NULL;
			rc = -1;
		}
	}
	free(x.error);
	free(x.body);
	free(body);
	sse_free(x.sse);
	return rc;
}

const struct backend_ops backend_remote = {
	.open = remote_open,
	.turn = remote_turn,
	.close = remote_close,
};
