/*
 * serve.h - an OpenAI-compatible HTTP server on one chat: the front end
 * that `r1chat serve` runs (POST /v1/chat/completions, streamed or not,
 * GET /v1/models, /v1/models/ID and /health, /v1 optional), computing one
 * request at a time.
 */
#ifndef R1_SERVE_H
#define R1_SERVE_H

#include <stddef.h>

struct chat;

struct serve_config {
	const char	*model;		/* its id in /v1/models and answers */
	const char	*host;		/* an address to bind: 127.0.0.1 */
	int		 port;		/* 0: any free one */
	int		 queue;		/* requests waiting past the one
					   computed; more are refused (503) */
	size_t		 max_body;	/* bytes of a request; more: 413 */
	int		 max_tokens;	/* the most a request may generate */
	int		 inline_reasoning; /* the reasoning in content between
					   <think> tags, not in
					   reasoning_content */
	const char	*cors;		/* Access-Control-Allow-Origin and a
					   preflight's headers; NULL: none */
	const char	*api_key;	/* required as "Authorization: Bearer
					   KEY" but by /health; NULL: none */
	int		 quiet;		/* no access log */
};

/*
 * Serves c (its parameters are every request's defaults) until SIGINT or
 * SIGTERM, after saying on stderr where it listens (and warning when
 * anyone may use it: past loopback or with --cors '*', and no key); a
 * line on stderr a request unless sc->quiet.  An answer under way when
 * the signal comes ends with an error.  Returns 0, or -1 with *cause set
 * when the server cannot start.
 */
int serve_run(struct chat *c, const struct serve_config *sc, char **cause);

#endif
