/*
 * openai.h - the JSON of the OpenAI chat completions API, both ways: the
 * requests r1chat --remote sends and the chunks it reads back, the
 * requests r1chat serve reads and the chunks and responses it writes.
 * Only JSON here: no I/O, no HTTP.
 */
#ifndef R1_OPENAI_H
#define R1_OPENAI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chat.h"

/* --- the client's side ------------------------------------------------------ */

/*
 * The body of a streamed chat completion request for model: the system
 * prompt (NULL for none), messages [0, n) (answers without their
 * reasoning) and the parameters of p that have a request name in
 * params.c's table and are in use.  Returns a malloc'd string.
 */
char *openai_request_build(const char *model, const char *system,
    const struct chat_message *msgs, size_t n, const struct chat_params *p);

/* What one streamed chunk (or a whole response) says; fields may be absent. */
struct openai_delta {
	const char	*content;	/* NULL: none */
	size_t		 content_len;
	const char	*reasoning;	/* reasoning_content or reasoning */
	size_t		 reasoning_len;
	const char	*finish;	/* finish_reason, NULL while going */
	const char	*error;		/* an error object's message */
	int		 has_usage;
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
	int		 has_timings;	/* llama-server's */
	int64_t		 timings_prompt_n;
	int64_t		 timings_predicted_n;
	json_t		*root;		/* owns the strings above */
};

/*
 * Parses the JSON of one chunk (data of len bytes) into d, whose strings
 * stay valid until openai_delta_free.  Returns 0, or -1 with *cause set
 * when it is not JSON or not an object.
 */
int openai_delta_parse(const char *data, size_t len, struct openai_delta *d,
    char **cause);
void openai_delta_free(struct openai_delta *d);

/*
 * The message of an error body ({"error": {"message": ...}}, {"error":
 * "..."}, {"message": ...} or {"detail": ...}), malloc'd, or NULL when
 * body is none of those.
 */
char *openai_error_message(const char *body, size_t len);

/* A model as /v1/models lists it. */
struct openai_model {
	char		*id;
	char		*owned_by;	/* NULL: not said */
	int64_t		 ctx;		/* max_model_len or n_ctx_train; 0 */
	int64_t		 n_params;	/* llama-server's meta; 0 */
};

/*
 * Finds the model named want (NULL: the first) in a /v1/models body.
 * Returns 0 with *m filled (free with openai_model_free), or -1 with
 * *cause set when the body is malformed or the model is not listed.
 */
int openai_models_find(const char *body, size_t len, const char *want,
    struct openai_model *m, char **cause);
void openai_model_free(struct openai_model *m);

/* --- the server's side ------------------------------------------------------ */

/* A chat completion request as serve reads it. */
struct openai_request {
	char			*model;		/* NULL: not given */
	char			*system;	/* system messages joined */
	struct chat_message	*msgs;		/* the last one is the user's */
	size_t			 n_msgs;
	int			 stream;
	int			 include_usage;	/* stream_options */
};

/*
 * Parses a request body into r, and its fields that are chat parameters
 * (params.c's request names) over the parameters in *p.  Returns 0, or -1
 * with *cause set (a sentence for a 400 answer) when the body is
 * malformed, a parameter is out of its range (param_check), n is not 1 or
 * the last message is not the user's.
 */
int openai_request_parse(const char *body, size_t len,
    struct openai_request *r, struct chat_params *p, char **cause);
void openai_request_free(struct openai_request *r);

/* Counts for "usage". */
struct openai_usage {
	int	prompt_tokens;
	int	completion_tokens;
};

/* What a chunk or a response says. */
struct openai_chunk {
	const char			*id;
	const char			*model;
	int64_t				 created;
	int				 role;
	const char			*reasoning;
	size_t				 reasoning_len;
	const char			*content;
	size_t				 content_len;
	const char			*finish;
	const struct openai_usage	*usage;
};
/*
 * One streamed chunk: the role when k->role (the first chunk), reasoning
 * as reasoning_content and content (each left out when NULL), finish
 * (null while going); with k->usage, a chunk with no choices and the
 * usage (the last of stream_options.include_usage).  Returns malloc'd
 * JSON.
 */
char *openai_chunk_build(const struct openai_chunk *k);

/* A whole (not streamed) response: the chunk's fields as one message. */
char *openai_response_build(const struct openai_chunk *k);

/* {"error": {"message", "type", "code"}}, malloc'd. */
char *openai_error_build(int code, const char *type, const char *message);

/* The /v1/models list of one model, malloc'd. */
char *openai_models_build(const char *id, int64_t created, int ctx);

/* That model's object alone (/v1/models/ID), malloc'd. */
char *openai_model_build(const char *id, int64_t created, int ctx);

#endif
