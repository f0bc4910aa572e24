/*
 * serve.h - an OpenAI-compatible HTTP server on one chat: the front end
 * that `r1chat serve` runs (POST /v1/chat/completions, streamed or not,
 * GET /v1/models and /health), computing one request at a time.
 */
#ifndef R1_SERVE_H
#define R1_SERVE_H

#include <stddef.h>

struct chat;

struct serve_config {
	const char	*host;		/* an address to bind: 127.0.0.1 */
	int		 port;		/* 0: any free one */
	int		 queue;		/* requests waiting past the one
					   computed; more are refused (503) */
	size_t		 max_body;	/* bytes of a request; more: 413 */
	int		 max_tokens;	/* the most a request may generate */
	int		 inline_reasoning; /* the reasoning in content between
					   <think> tags, not in
					   reasoning_content */
};

/*
 * Serves c (its parameters are every request's defaults) until SIGINT or
 * SIGTERM, after saying on stderr where it listens.  Returns 0, or -1
 * with *cause set when the server cannot start.
 */
int serve_run(struct chat *c, const struct serve_config *sc, char **cause);

#endif
