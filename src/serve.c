/*
 * serve.c - the OpenAI-compatible HTTP server.
 *
 * libmicrohttpd runs a thread per connection; one worker thread owns the
 * chat and computes the requests in the order they came.  A request that
 * finds the worker busy and the queue full is refused at once with 503.
 * A streamed answer is written by the worker into its job's buffer and
 * read from there by the connection's thread, so a slow client never
 * holds the model; a client gone away stops its answer at the next event.
 * One lock and one condition guard the queue and every job.
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
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "chat.h"
#include "openai.h"
#include "serve.h"
#include "util.h"

#define CONN_TIMEOUT	600	/* seconds a connection may stay silent */

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
	int			 refs;		/* the connection, the worker */
	struct openai_request	 req;
	struct chat_params	 p;
	char			 id[48];
	int64_t			 created;

	int			 started;	/* the first chunk went out */
	int			 think_open;	/* inline: <think> written */
	int			 think_closed;
	int			 got_stats;
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
	const char			*model;
	pthread_mutex_t			 lock;
	pthread_cond_t			 cond;
	struct job			*head, *tail;
	int				 n_waiting;
	int				 busy;
	int				 quit;
	unsigned long			 next_id;
};

/* What a connection has read of its request. */
struct conn {
	struct buf	 body;
	int		 too_large;
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
	k->model = j->srv->model;
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
	pthread_mutex_unlock(&srv->lock);
	return stop;
}

/* Ends the job's output: the last chunks, or the whole response; locked. */
static void
job_finish(struct job *j, int status, const char *error)
{
	struct openai_chunk	k;
	struct openai_usage	u;

	chunk_init(j, &k);
	/* The whole prompt, not only what the cache did not hold. */
	u.prompt_tokens = j->st.ctx_used - j->st.eval_n > j->st.prompt_n ?
	    j->st.ctx_used - j->st.eval_n : j->st.prompt_n;
	u.completion_tokens = j->st.eval_n;
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
	if (rc == 0 && !j->got_stats && !j->cancelled && !srv->quit) {
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

static enum MHD_Result
respond(struct MHD_Connection *conn, unsigned int status, char *body,
    const char *type)
{
	struct MHD_Response	*r;
	enum MHD_Result		 rc;

	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
respond_error(struct MHD_Connection *conn, unsigned int status,
    const char *type, const char *message)
{
	return respond(conn, status, openai_error_build((int)status, type,
	    message), "application/json");
}

/* The streamed answer, read by the connection's thread. */
static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct job	*j = cls;
	struct server	*srv = j->srv;
	size_t		 n;

	pthread_mutex_lock(&srv->lock);
	while (j->sent == j->out.len && !j->finished && !srv->quit)
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
		j->refs = 2;
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
chat_completions(struct server *srv, struct MHD_Connection *conn,
    struct conn *cn)
{
	struct MHD_Response	*r;
	struct job		*j;
	char			*cause = NULL, *why;
	enum MHD_Result		 rc;

	if (cn->too_large) {
		why = xstrfmt("the request is larger than %zu bytes",
		    srv->sc->max_body);
		rc = respond_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
		    "invalid_request_error", why);
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
		rc = respond_error(conn, MHD_HTTP_BAD_REQUEST,
		    "invalid_request_error", cause);
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
		return respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "server_busy", "the server is busy: its queue is full, "
		    "try again later");
	}
	if (j->req.stream) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
		    stream_read, j, stream_free);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/event-stream");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-cache");
		rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return rc;
	}
	/* Not streamed: this connection's thread waits for the answer. */
	pthread_mutex_lock(&srv->lock);
	while (!j->finished)
		pthread_cond_wait(&srv->cond, &srv->lock);
	why = j->out.p;
	j->out.p = NULL;
	j->cancelled = 1;
	rc = respond(conn, (unsigned int)j->status, why, "application/json");
	job_unref(j);
	pthread_mutex_unlock(&srv->lock);
	return rc;
}

static enum MHD_Result
route_models(struct server *srv, struct MHD_Connection *conn,
    struct conn *cn)
{
	return respond(conn, MHD_HTTP_OK, openai_models_build(srv->model,
	    (int64_t)time(NULL), srv->base.num_ctx), "application/json");
}

static enum MHD_Result
route_health(struct server *srv, struct MHD_Connection *conn,
    struct conn *cn)
{
	return respond(conn, MHD_HTTP_OK, xstrdup("{\"status\":\"ok\"}"),
	    "application/json");
}

static const struct {
	const char	*method;
	const char	*path;
	enum MHD_Result	(*fn)(struct server *, struct MHD_Connection *,
			    struct conn *);
} routes[] = {
	{ "POST", "/v1/chat/completions", chat_completions },
	{ "GET", "/v1/models", route_models },
	{ "GET", "/health", route_health },
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct server	*srv = cls;
	struct conn	*cn = *con_cls;
	const char	*len;
	size_t		 i;
	int		 path_known = 0;

	if (cn == NULL) {
		cn = *con_cls = xcalloc(1, sizeof *cn);
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
	for (i = 0; i < N_ROUTES; i++) {
		if (strcmp(url, routes[i].path) != 0)
			continue;
		path_known = 1;
		if (strcmp(method, routes[i].method) == 0)
			return routes[i].fn(srv, conn, cn);
	}
	if (path_known)
		return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "invalid_request_error", "method not allowed");
	return respond_error(conn, MHD_HTTP_NOT_FOUND, "invalid_request_error",
	    "no such endpoint (/v1/chat/completions, /v1/models, /health)");
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn	*cn = *con_cls;

	if (cn == NULL)
		return;
	free(cn->body.p);
	free(cn);
	*con_cls = NULL;
}

/* A socket listening on host:port; *port gets the port bound. */
static int
listen_on(const char *host, int *port, int *family, char **cause)
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
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
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

	memset(&srv, 0, sizeof srv);
	srv.chat = c;
	srv.sc = sc;
	srv.base = *chat_get_params(c);
	srv.model = chat_info(c)->name;
	pthread_mutex_init(&srv.lock, NULL);
	pthread_cond_init(&srv.cond, NULL);
	if ((fd = listen_on(sc->host, &port, &family, cause)) == -1)
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
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_END);
	if (d == NULL) {
		*cause = xstrdup("cannot start the HTTP server");
		close(fd);
	} else {
		fprintf(stderr, "r1chat serve: %s on http://%s%s%s:%d/v1\n",
		    srv.model, family == AF_INET6 ? "[" : "", sc->host,
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
	if (d != NULL)
		MHD_stop_daemon(d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_destroy(&srv.lock);
	pthread_cond_destroy(&srv.cond);
	return d != NULL ? 0 : -1;
}
