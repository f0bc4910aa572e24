/*
 * serve.c - the OpenAI-compatible HTTP server.
 *
 * libmicrohttpd runs a thread per connection; one worker thread owns the
 * chat and computes the requests in the order they came.  A request that
 * finds the worker busy and the queue full is refused at once with 503.
 * A streamed answer is written by the worker into its job's buffer and
 * read from there by the connection's thread, so a slow client never
 * holds the model; a client gone away stops its answer at the next event.
 * One lock and one condition guard the queue and every job.  On SIGINT or
 * SIGTERM the answer under way ends with an error, the queued ones are
 * refused, and what they wrote reaches the clients before the server
 * stops.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "chat.h"
#include "openai.h"
#include "serve.h"
#include "util.h"

#define CONN_TIMEOUT	600	/* seconds a connection may stay silent */
#define DRAIN_TIMEOUT	5	/* seconds the answers have to go out at stop */

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

struct server;

/* One chat completion request, from admission to its last byte sent. */
struct job {
	struct server		*srv;
	struct job		*next;		/* in the queue */
	int			 refs;		/* the request, the worker, a
						   stream's response */
	struct openai_request	 req;
	struct chat_params	 p;
	char			 id[48];
	int64_t			 created;

	int			 started;	/* the first chunk went out */
	int			 think_open;	/* inline: <think> written */
	int			 think_closed;
	int			 got_stats;
	int			 cut;		/* stopped: the server stops */
	struct chat_stats	 st;
	char			*refusal;	/* a notice that refused it */
	struct buf		 reasoning;	/* not streamed: the message */
	struct buf		 content;

	struct buf		 out;		/* bytes for the client */
	size_t			 sent;
	int			 status;	/* not streamed: the HTTP status */
	int			 finished;	/* out is complete */
	int			 cancelled;	/* the client went away */
};

struct server {
	struct chat			*chat;
	const struct serve_config	*sc;
	struct chat_params		 base;	/* every request's defaults */
	pthread_mutex_t			 lock;
	pthread_cond_t			 cond;
	struct job			*head, *tail;
	int				 n_waiting;
	int				 busy;
	int				 quit;
	int				 n_requests;	/* not yet completed */
	unsigned long			 next_id;
};

/* One request, from its headers to its last byte sent. */
struct conn {
	struct server		*srv;
	struct MHD_Connection	*mhd;
	struct buf		 body;
	int			 too_large;
	struct job		*job;		/* a chat completion's, held */
	unsigned int		 status;	/* 0 until one is queued */
	int64_t			 t0;
	char			 method[16];	/* printable, for the log */
	char			 path[128];
};

static void
buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* --- jobs ------------------------------------------------------------------ */

static void
job_unref(struct job *j)
{
	if (--j->refs > 0)
		return;
	openai_request_free(&j->req);
	free(j->refusal);
	free(j->reasoning.p);
	free(j->content.p);
	free(j->out.p);
	free(j);
}

/* Appends one SSE event of data s (freed) to the job's output; locked. */
static void
sse_out(struct job *j, char *s)
{
	buf_str(&j->out, "data: ");
	buf_str(&j->out, s);
	buf_str(&j->out, "\n\n");
	free(s);
	pthread_cond_broadcast(&j->srv->cond);
}

static void
chunk_init(struct job *j, struct openai_chunk *k)
{
	memset(k, 0, sizeof *k);
	k->id = j->id;
	k->model = j->srv->sc->model;
	k->created = j->created;
}

/* Gives out text of one kind, streamed or kept for the message; locked. */
static void
job_text(struct job *j, int reasoning, const char *s, size_t n)
{
	struct openai_chunk	k;

	if (!j->req.stream) {
		buf_add(reasoning ? &j->reasoning : &j->content, s, n);
		return;
	}
	chunk_init(j, &k);
	k.role = !j->started;
	j->started = 1;
	if (reasoning) {
		k.reasoning = s;
		k.reasoning_len = n;
	} else {
		k.content = s;
		k.content_len = n;
	}
	sse_out(j, openai_chunk_build(&k));
}

/* The model's output, in reasoning_content or inline between tags. */
static void
job_output(struct job *j, const struct chat_event *ev)
{
	int	inline_r = j->srv->sc->inline_reasoning;

	if (ev->type == CHAT_EVENT_REASONING) {
		if (inline_r && !j->think_open) {
			job_text(j, 0, "<think>\n", 8);
			j->think_open = 1;
		}
		job_text(j, !inline_r, ev->text, ev->len);
		return;
	}
	if (j->think_open && !j->think_closed) {
		job_text(j, 0, "\n</think>\n\n", 11);
		j->think_closed = 1;
	}
	if (ev->type == CHAT_EVENT_ANSWER)
		job_text(j, 0, ev->text, ev->len);
}

static int
on_event(const struct chat_event *ev, void *arg)
{
	struct job	*j = arg;
	struct server	*srv = j->srv;
	int		 stop;

	pthread_mutex_lock(&srv->lock);
	switch (ev->type) {
	case CHAT_EVENT_REASONING:
	case CHAT_EVENT_ANSWER:
		job_output(j, ev);
		break;
	case CHAT_EVENT_STATS:
		job_output(j, ev);
		j->got_stats = 1;
		j->st = *ev->stats;
		break;
	case CHAT_EVENT_NOTICE:
		free(j->refusal);
		j->refusal = xstrndup(ev->text, ev->len);
		break;
	case CHAT_EVENT_PROGRESS:
		break;
	}
	stop = j->cancelled || srv->quit;
	if (srv->quit && ev->type != CHAT_EVENT_STATS)
		j->cut = 1;
	pthread_mutex_unlock(&srv->lock);
	return stop;
}

/* The job's counts: the whole prompt, not only what the cache did not hold. */
static void
job_usage(const struct job *j, struct openai_usage *u)
{
	u->prompt_tokens = j->st.ctx_used - j->st.eval_n > j->st.prompt_n ?
	    j->st.ctx_used - j->st.eval_n : j->st.prompt_n;
	u->completion_tokens = j->st.eval_n;
}

/* Ends the job's output: the last chunks, or the whole response; locked. */
static void
job_finish(struct job *j, int status, const char *error)
{
	struct openai_chunk	k;
	struct openai_usage	u;

	chunk_init(j, &k);
	job_usage(j, &u);
	k.finish = j->p.num_predict >= 0 && j->st.eval_n >= j->p.num_predict ?
	    "length" : "stop";
	if (error != NULL && !j->req.stream) {
		free(j->out.p);
		j->out.p = openai_error_build(status, status >= 500 ?
		    "server_error" : "invalid_request_error", error);
		j->out.len = strlen(j->out.p);
		j->status = status;
	} else if (error != NULL) {
		sse_out(j, openai_error_build(status, "server_error", error));
	} else if (!j->req.stream) {
		k.role = 1;
		k.content = j->content.p != NULL ? j->content.p : "";
		k.content_len = j->content.len;
		k.reasoning = j->reasoning.p;
		k.reasoning_len = j->reasoning.len;
		k.usage = &u;
		j->out.p = openai_response_build(&k);
		j->out.len = strlen(j->out.p);
		j->status = 200;
	} else {
		k.role = !j->started;
		sse_out(j, openai_chunk_build(&k));
		if (j->req.include_usage) {
			k.usage = &u;
			sse_out(j, openai_chunk_build(&k));
		}
	}
	if (j->req.stream)
		buf_str(&j->out, "data: [DONE]\n\n");
	j->finished = 1;
	pthread_cond_broadcast(&j->srv->cond);
}

/* Computes one job with the chat (the worker alone touches it). */
static void
job_run(struct server *srv, struct job *j)
{
	struct chat			*c = srv->chat;
	const struct chat_message	*last;
	char				*cause = NULL;
	int				 rc, status = 400;

	chat_set_system(c, j->req.system);
	chat_set_messages(c, j->req.msgs, j->req.n_msgs - 1);
	last = &j->req.msgs[j->req.n_msgs - 1];
	if ((rc = chat_set_params(c, &j->p, &cause)) == 0) {
		status = 500;
		rc = chat_turn(c, last->content, strlen(last->content),
		    on_event, j, &cause);
	}
	pthread_mutex_lock(&srv->lock);
	if (rc == 0 && j->cut) {
		/* Not a whole answer: a client must not take it for one. */
		status = 503;
		cause = xstrdup("the server is stopping: the answer is cut "
		    "short");
	} else if (rc == 0 && !j->got_stats && !j->cancelled) {
		status = 400;
		cause = xstrdup(j->refusal != NULL ? j->refusal :
		    "the request was refused");
	}
	job_finish(j, status, cause);
	pthread_mutex_unlock(&srv->lock);
	free(cause);
}

static void *
worker(void *arg)
{
	struct server	*srv = arg;
	struct job	*j;

	pthread_mutex_lock(&srv->lock);
	for (;;) {
		while (srv->head == NULL && !srv->quit)
			pthread_cond_wait(&srv->cond, &srv->lock);
		if (srv->quit)
			break;
		j = srv->head;
		if ((srv->head = j->next) == NULL)
			srv->tail = NULL;
		srv->n_waiting--;
		srv->busy = 1;
		if (!j->cancelled) {
			pthread_mutex_unlock(&srv->lock);
			job_run(srv, j);
			pthread_mutex_lock(&srv->lock);
		}
		srv->busy = 0;
		job_unref(j);
	}
	/* Stopping: the jobs still queued end without an answer. */
	while ((j = srv->head) != NULL) {
		srv->head = j->next;
		job_finish(j, 503, "the server is stopping");
		job_unref(j);
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* --- HTTP ------------------------------------------------------------------ */

/* What a preflight is told with --cors, besides the methods. */
static const struct {
	const char	*name;
	const char	*value;
} cors_headers[] = {
	{ "Access-Control-Allow-Headers", "Authorization, Content-Type" },
	{ "Access-Control-Max-Age", "86400" },
};
#define N_CORS_HEADERS (sizeof cors_headers / sizeof cors_headers[0])

/* Queues r with the headers every response has, noting its status. */
static enum MHD_Result
respond_with(struct conn *cn, unsigned int status, struct MHD_Response *r)
{
	enum MHD_Result	rc;

	if (cn->srv->sc->cors != NULL)
		MHD_add_response_header(r,
		    MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN,
		    cn->srv->sc->cors);
	cn->status = status;
	rc = MHD_queue_response(cn->mhd, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* A response of JSON, body freed with it. */
static struct MHD_Response *
json_response(char *body)
{
	struct MHD_Response	*r;

	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	return r;
}

static enum MHD_Result
respond(struct conn *cn, unsigned int status, char *body)
{
	return respond_with(cn, status, json_response(body));
}

/* An OpenAI error, with the header name: value unless name is NULL. */
static enum MHD_Result
respond_error(struct conn *cn, unsigned int status, const char *type,
    const char *message, const char *name, const char *value)
{
	struct MHD_Response	*r;

	r = json_response(openai_error_build((int)status, type, message));
	if (name != NULL)
		MHD_add_response_header(r, name, value);
	return respond_with(cn, status, r);
}

/* The streamed answer, read by the connection's thread. */
static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct job	*j = cls;
	struct server	*srv = j->srv;
	size_t		 n;

	/* The worker finishes every job, at stop too (job_run, worker). */
	pthread_mutex_lock(&srv->lock);
	while (j->sent == j->out.len && !j->finished)
		pthread_cond_wait(&srv->cond, &srv->lock);
	if (j->sent == j->out.len) {
		pthread_mutex_unlock(&srv->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = j->out.len - j->sent;
	if (n > max)
		n = max;
	memcpy(out, j->out.p + j->sent, n);
	j->sent += n;
	if (j->sent == j->out.len)
		j->sent = j->out.len = 0;
	pthread_mutex_unlock(&srv->lock);
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct job	*j = cls;
	struct server	*srv = j->srv;

	pthread_mutex_lock(&srv->lock);
	j->cancelled = 1;
	job_unref(j);
	pthread_mutex_unlock(&srv->lock);
}

/* Queues j unless the queue is full.  Returns 0, or -1 (refused). */
static int
job_admit(struct server *srv, struct job *j)
{
	int	rc = -1;

	pthread_mutex_lock(&srv->lock);
	if (!srv->quit && srv->busy + srv->n_waiting <= srv->sc->queue) {
		j->refs = j->req.stream ? 3 : 2;
		snprintf(j->id, sizeof j->id, "chatcmpl-r1chat-%lu",
		    ++srv->next_id);
		if (srv->tail != NULL)
			srv->tail->next = j;
		else
			srv->head = j;
		srv->tail = j;
		srv->n_waiting++;
		if (j->req.stream)
			buf_str(&j->out, ": queued\n\n");
		pthread_cond_broadcast(&srv->cond);
		rc = 0;
	}
	pthread_mutex_unlock(&srv->lock);
	return rc;
}

static enum MHD_Result
route_chat(struct conn *cn, const char *rest)
{
	struct server		*srv = cn->srv;
	struct MHD_Response	*r;
	struct job		*j;
	char			*cause = NULL, *why;
	enum MHD_Result		 rc;

	if (cn->too_large) {
		why = xstrfmt("the request is larger than %zu bytes",
		    srv->sc->max_body);
		rc = respond_error(cn, MHD_HTTP_CONTENT_TOO_LARGE,
		    "invalid_request_error", why, NULL, NULL);
		free(why);
		return rc;
	}
	j = xcalloc(1, sizeof *j);
	j->srv = srv;
	j->p = srv->base;
	j->created = (int64_t)time(NULL);
	if (openai_request_parse(cn->body.p != NULL ? cn->body.p : "",
	    cn->body.len, &j->req, &j->p, &cause) != 0) {
		free(j);
		rc = respond_error(cn, MHD_HTTP_BAD_REQUEST,
		    "invalid_request_error", cause, NULL, NULL);
		free(cause);
		return rc;
	}
	/* The request's max_tokens, else -n, capped by --max-tokens. */
	if (j->p.num_predict < 0 || j->p.num_predict > srv->sc->max_tokens)
		j->p.num_predict = srv->sc->max_tokens;
	if (job_admit(srv, j) != 0) {
		openai_request_free(&j->req);
		free(j->out.p);
		free(j);
		return respond_error(cn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "server_busy", "the server is busy: its queue is full, "
		    "try again later", NULL, NULL);
	}
	cn->job = j;
	if (j->req.stream) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
		    stream_read, j, stream_free);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/event-stream");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-cache");
		return respond_with(cn, MHD_HTTP_OK, r);
	}
	/* Not streamed: this connection's thread waits for the answer. */
	pthread_mutex_lock(&srv->lock);
	while (!j->finished)
		pthread_cond_wait(&srv->cond, &srv->lock);
	why = j->out.p;
	j->out.p = NULL;
	pthread_mutex_unlock(&srv->lock);
	return respond(cn, (unsigned int)j->status, why);
}

static enum MHD_Result
route_models(struct conn *cn, const char *rest)
{
	return respond(cn, MHD_HTTP_OK, openai_models_build(cn->srv->sc->model,
	    (int64_t)time(NULL), cn->srv->base.num_ctx));
}

static enum MHD_Result
route_model(struct conn *cn, const char *id)
{
	char		*why;
	enum MHD_Result	 rc;

	if (strcmp(id, cn->srv->sc->model) == 0)
		return respond(cn, MHD_HTTP_OK, openai_model_build(id,
		    (int64_t)time(NULL), cn->srv->base.num_ctx));
	why = xstrfmt("the model %s does not exist", id);
	rc = respond_error(cn, MHD_HTTP_NOT_FOUND, "invalid_request_error",
	    why, NULL, NULL);
	free(why);
	return rc;
}

static enum MHD_Result
route_health(struct conn *cn, const char *rest)
{
	return respond(cn, MHD_HTTP_OK, xstrdup("{\"status\":\"ok\"}"));
}

#define ROUTE_ID	0x1	/* the path is followed by an id */
#define ROUTE_OPEN	0x2	/* no key needed */

/* llama-server's paths: each may also start with /v1. */
static const struct route {
	const char	*method;
	const char	*path;
	int		 flags;
	enum MHD_Result	(*fn)(struct conn *, const char *);
} routes[] = {
	{ "POST", "/chat/completions", 0, route_chat },
	{ "GET", "/models", 0, route_models },
	{ "GET", "/models/", ROUTE_ID, route_model },
	{ "GET", "/health", ROUTE_OPEN, route_health },
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

/*
 * Whether the request carries the key, if one is needed, as
 * "Authorization: Bearer KEY"; compared in a time that does not tell where
 * a guess went wrong.
 */
static int
authorized(struct conn *cn)
{
	const char	*key = cn->srv->sc->api_key, *h;
	size_t		 i, n;
	unsigned int	 diff;

	if (key == NULL)
		return 1;
	h = MHD_lookup_connection_value(cn->mhd, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	n = strlen(h);
	diff = n != strlen(key);
	for (i = 0; key[i] != '\0'; i++)
		diff |= (unsigned char)key[i] ^
		    (unsigned char)(i < n ? h[i] : 0);
	return diff == 0;
}

/* OPTIONS: the path's methods, and with --cors what a preflight asks. */
static enum MHD_Result
preflight(struct conn *cn, const char *allow)
{
	struct MHD_Response	*r;
	size_t			 i;

	r = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (cn->srv->sc->cors != NULL) {
		MHD_add_response_header(r,
		    MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, allow);
		for (i = 0; i < N_CORS_HEADERS; i++)
			MHD_add_response_header(r, cors_headers[i].name,
			    cors_headers[i].value);
	}
	return respond_with(cn, MHD_HTTP_NO_CONTENT, r);
}

/* Answers a whole request by the route its method and path name. */
static enum MHD_Result
route(struct conn *cn, const char *url, const char *method)
{
	const struct route	*rt, *found = NULL;
	const char		*path;
	char			 allow[64];
	size_t			 i, n, off = 0;

	path = strncmp(url, "/v1/", 4) == 0 ? url + 3 : url;
	for (i = 0; i < N_ROUTES; i++) {
		rt = &routes[i];
		n = strlen(rt->path);
		if (strncmp(path, rt->path, n) != 0 ||
		    (path[n] != '\0') != ((rt->flags & ROUTE_ID) != 0))
			continue;
		if (strcmp(method, rt->method) == 0)
			found = rt;
		off += (size_t)snprintf(allow + off, sizeof allow - off,
		    "%s, ", rt->method);
	}
	if (off == 0)
		return respond_error(cn, MHD_HTTP_NOT_FOUND,
		    "invalid_request_error", "no such endpoint "
		    "(/v1/chat/completions, /v1/models, /health)", NULL, NULL);
	snprintf(allow + off, sizeof allow - off, "OPTIONS");
	if (strcmp(method, "OPTIONS") == 0)
		return preflight(cn, allow);
	if (found == NULL)
		return respond_error(cn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "invalid_request_error", "method not allowed",
		    MHD_HTTP_HEADER_ALLOW, allow);
	if (!(found->flags & ROUTE_OPEN) && !authorized(cn))
		return respond_error(cn, MHD_HTTP_UNAUTHORIZED,
		    "invalid_request_error", "a valid API key is needed "
		    "(Authorization: Bearer KEY)",
		    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	return found->fn(cn, path + strlen(found->path));
}

/* s into dst of size bytes, for the log: printable ASCII, the rest '?'. */
static void
log_copy(char *dst, size_t size, const char *s)
{
	size_t	i;

	for (i = 0; i + 1 < size && s[i] != '\0'; i++)
		dst[i] = s[i] > ' ' && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct server	*srv = cls;
	struct conn	*cn = *con_cls;
	const char	*len;

	if (cn == NULL) {
		cn = *con_cls = xcalloc(1, sizeof *cn);
		cn->srv = srv;
		cn->mhd = conn;
		cn->t0 = util_now_ns();
		log_copy(cn->method, sizeof cn->method, method);
		log_copy(cn->path, sizeof cn->path, url);
		pthread_mutex_lock(&srv->lock);
		srv->n_requests++;
		pthread_mutex_unlock(&srv->lock);
		len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (len != NULL && strtoull(len, NULL, 10) > srv->sc->max_body)
			cn->too_large = 1;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!cn->too_large &&
		    cn->body.len + *upload_size <= srv->sc->max_body)
			buf_add(&cn->body, upload, *upload_size);
		else
			cn->too_large = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return route(cn, url, method);
}

/*
 * The access log's line: method, path, status (0: no response), the
 * prompt+answer tokens of a chat completion (else -), milliseconds.
 */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct server		*srv = cls;
	struct conn		*cn = *con_cls;
	struct openai_usage	 u;
	char			 tokens[32] = "-";

	if (cn == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	if (cn->job != NULL) {
		if (cn->job->got_stats) {
			job_usage(cn->job, &u);
			snprintf(tokens, sizeof tokens, "%d+%d",
			    u.prompt_tokens, u.completion_tokens);
		}
		cn->job->cancelled = 1;
		job_unref(cn->job);
	}
	srv->n_requests--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	if (!srv->sc->quiet)
		fprintf(stderr, "r1chat serve: %s %s %u %s %lldms\n",
		    cn->method, cn->path, cn->status, tokens,
		    (long long)((util_now_ns() - cn->t0) / 1000000));
	free(cn->body.p);
	free(cn);
	*con_cls = NULL;
}

/* Whether ss is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
static int
is_loopback(const struct sockaddr_storage *ss)
{
	const struct in6_addr	*a6;

	if (ss->ss_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr)
		    >> 24 == 127;
	a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a6) ||
	    (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

/*
 * A socket listening on host:port; *port gets the port bound, *loopback
 * whether only this machine can reach it.
 */
static int
listen_on(const char *host, int *port, int *family, int *loopback,
    char **cause)
{
	struct addrinfo		 hints, *ai, *a;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof ss;
	char			 serv[16];
	int			 fd = -1, one = 1, e;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof serv, "%d", *port);
	if ((e = getaddrinfo(host, serv, &hints, &ai)) != 0) {
		*cause = xstrfmt("%s: %s", host, gai_strerror(e));
		return -1;
	}
	for (a = ai; a != NULL && fd == -1; a = a->ai_next) {
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
		    a->ai_protocol)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
		    listen(fd, 128) != 0) {
			e = errno;
			close(fd);
			fd = -1;
			errno = e;
			continue;
		}
		*family = a->ai_family;
	}
	freeaddrinfo(ai);
	if (fd == -1) {
		*cause = xstrfmt("%s port %d: %s", host, *port, strerror(errno));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		*port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		*loopback = is_loopback(&ss);
	}
	return fd;
}

/* Says who may use a server that asks no key, beyond this machine's users. */
static void
warn_open(const struct serve_config *sc, int loopback)
{
	if (sc->api_key != NULL)
		return;
	if (!loopback)
		fprintf(stderr, "r1chat serve: warning: %s is not loopback and "
		    "there is no --api-key-file: whoever reaches it can use "
		    "the model\n", sc->host);
	if (sc->cors != NULL && strcmp(sc->cors, "*") == 0)
		fprintf(stderr, "r1chat serve: warning: --cors '*' and no "
		    "--api-key-file: any web page open in a browser here can "
		    "use the model\n");
}

/* Lets the answers under way reach their clients, DRAIN_TIMEOUT at most. */
static void
drain(struct server *srv)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += DRAIN_TIMEOUT;
	pthread_mutex_lock(&srv->lock);
	while (srv->n_requests > 0 &&
	    pthread_cond_timedwait(&srv->cond, &srv->lock, &ts) == 0)
		;
	pthread_mutex_unlock(&srv->lock);
}

int
serve_run(struct chat *c, const struct serve_config *sc, char **cause)
{
	struct server		 srv;
	struct MHD_Daemon	*d;
	pthread_t		 th;
	sigset_t		 set, old;
	unsigned int		 flags;
	int			 fd, port = sc->port, family = AF_INET, sig;
	int			 loopback = 0;

	memset(&srv, 0, sizeof srv);
	srv.chat = c;
	srv.sc = sc;
	srv.base = *chat_get_params(c);
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cond, NULL);
	if ((fd = listen_on(sc->host, &port, &family, &loopback,
	    cause)) == -1)
		return -1;

	/* The threads started from here leave the signals to sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (pthread_create(&th, NULL, worker, &srv) != 0) {
		close(fd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		*cause = xstrdup("cannot start the worker thread");
		return -1;
	}
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(sc->queue + 1) * 2 + 64,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
	    MHD_OPTION_END);
	if (d == NULL) {
		*cause = xstrdup("cannot start the HTTP server");
		close(fd);
	} else {
		warn_open(sc, loopback);
		fprintf(stderr, "r1chat serve: %s on http://%s%s%s:%d/v1\n",
		    sc->model, family == AF_INET6 ? "[" : "", sc->host,
		    family == AF_INET6 ? "]" : "", port);
		sigdelset(&set, SIGPIPE);
		sigwait(&set, &sig);
		fprintf(stderr, "r1chat serve: stopping\n");
	}
	pthread_mutex_lock(&srv.lock);
	srv.quit = 1;
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
	pthread_join(th, NULL);
	if (d != NULL) {
		drain(&srv);
		MHD_stop_daemon(d);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_destroy(&srv.lock);
	pthread_cond_destroy(&srv.cond);
	return d != NULL ? 0 : -1;
}
