/*
 * chat.h - a conversation with a model: the history, the template that
 * renders it, and the turn loop that turns one user message into a stream
 * of events (reasoning text, answer text, progress, stats, notices) handed
 * to a callback.  Front ends only render events; none parses <think>.
 */
#ifndef R1_CHAT_H
#define R1_CHAT_H

#include <stddef.h>
#include <stdint.h>

struct backend_ops;
struct chat;
struct json_t;

/*
 * What the user may change during a session (/set parameter).  Every
 * field is a row of params.c's table, which holds its names, range and
 * default.
 */
struct chat_params {
	float		 temperature;	/* 0: greedy */
	int		 top_k;		/* 0: off */
	float		 top_p;		/* 1: off */
	float		 min_p;		/* 0: off */
	float		 repeat_penalty; /* 1: off */
	int		 repeat_last_n;	/* tokens looked back; -1: the context */
	int64_t		 seed;		/* -1: a new random seed per session */
	int		 num_predict;	/* tokens per answer; -1: no limit */
	int		 num_ctx;	/* context size in tokens */
	int		 think;		/* 0: start the answer with an empty
					   reasoning block */
	int		 think_budget;	/* reasoning tokens before </think> is
					   forced; -1: no budget */
};

/* How notices word their advice: the same facts either way. */
enum chat_words {
	CHAT_WORDS_SESSION,	/* sentences naming /commands (the REPL) */
	CHAT_WORDS_COMMAND	/* one clause for "r1chat: ", naming options
				   (one-shot) */
};

struct chat_config {
	const char		*model_path;
	const char		*template_name;	/* NULL: from the model */
	const char		*system;	/* NULL: none */
	int			 n_threads;	/* 0: the machine's cores */
	int			 n_batch;	/* prompt tokens per forward; 0: default */
	int			 mlock;		/* lock the weights in memory */
	const char		*kv_type;	/* "f16" or "f32"; NULL: f16 */
	int			 lookup;	/* guess tokens from the context */
	const char		*draft_path;	/* guess with this model; NULL: none */
	int			 draft_max;	/* guesses a pass; 0: 8 */
	struct chat_params	 params;
	enum chat_words		 words;

	/*
	 * What computes the answers (backend.h): NULL for the model at
	 * model_path in this process; the front end hands in another (an
	 * OpenAI-compatible server: backend_remote, which reads the fields
	 * below).
	 */
	const struct backend_ops *backend;
	const char		*remote_url;	/* the server's base URL */
	const char		*remote_model;	/* NULL: the server's first */
	const char		*api_key;	/* NULL: none */
	int			 timeout;	/* seconds of silence; 0: default */
};

/* Fills p with the defaults of params.c's table. */
void chat_params_default(struct chat_params *p);

enum chat_event_type {
	CHAT_EVENT_REASONING,	/* text inside <think> ... </think> */
	CHAT_EVENT_ANSWER,	/* the answer's text */
	CHAT_EVENT_PROGRESS,	/* counters moved (a prompt batch, a token) */
	CHAT_EVENT_STATS,	/* the turn is over: its final counters */
	CHAT_EVENT_NOTICE	/* a sentence for the user (turns dropped,
				   reasoning never closed, context full) */
};

enum chat_phase {
	CHAT_PHASE_IDLE,
	CHAT_PHASE_READING,	/* evaluating the prompt */
	CHAT_PHASE_THINKING,
	CHAT_PHASE_ANSWERING
};

struct chat_stats {
	enum chat_phase	 phase;
	int64_t		 total_ns;	/* since chat_turn was called */
	int64_t		 load_ns;	/* loading the model: first turn only */
	int64_t		 prompt_ns;
	int64_t		 eval_ns;	/* since the first generated token */
	int		 prompt_n;	/* prompt tokens evaluated this turn */
	int		 eval_n;	/* tokens generated this turn */
	int		 ctx_used;	/* -1: unknown (a server's, untold) */
	int		 ctx_size;	/* -1: unknown (a server's, untold) */
	const char	*source;	/* NULL: all measured here; else where
					   the counts came from */
	int		 draft_on;	/* speculating: the two counts below */
	int		 draft_n;	/* tokens guessed this turn */
	int		 draft_accepted; /* of them, taken */
};

struct chat_event {
	enum chat_event_type	 type;
	const char		*text;	/* REASONING, ANSWER, NOTICE */
	size_t			 len;
	const struct chat_stats	*stats;	/* always */
};

/* Returns nonzero to stop the turn (what was generated is kept). */
typedef int (*chat_event_cb)(const struct chat_event *ev, void *arg);

/*
 * Loads the model, its tokenizer and template, and allocates the context.
 * Returns NULL with *cause set when any of it fails (and *warning NULL).
 * A warning (the template guessed, an unknown pre-tokenizer) goes to
 * *warning (malloc'd) when warning is not NULL.
 */
struct chat *chat_open(const struct chat_config *cfg, char **warning,
    char **cause);

/* Frees the chat, its model and its history; NULL is ignored. */
void chat_free(struct chat *c);

/*
 * Runs one turn: appends the user message of len bytes to the history,
 * evaluates what the model has not seen yet and generates the answer,
 * calling cb for each event.  Old turns are dropped (with a notice) when
 * the conversation outgrows the context; a message that cannot fit alone
 * is refused with a notice and leaves the history as it was.  Returns 0
 * when the turn ended (finished, stopped by cb, or refused), -1 with
 * *cause set on an error that ends it.
 */
int chat_turn(struct chat *c, const char *msg, size_t len, chat_event_cb cb,
    void *arg, char **cause);

/* The parameters in force. */
const struct chat_params *chat_get_params(const struct chat *c);

/*
 * Replaces the parameters after checking them (num_ctx may reallocate the
 * context, which forgets nothing of the history).  Returns 0, or -1 with
 * *cause set and the old parameters kept.
 */
int chat_set_params(struct chat *c, const struct chat_params *p,
    char **cause);

/* The system prompt, NULL for none. */
const char *chat_get_system(const struct chat *c);

/*
 * Sets the system prompt (copied); NULL or "" removes it.  The context
 * counted as used (chat_context) is counted again with it.
 */
void chat_set_system(struct chat *c, const char *system);

/* Forgets the conversation (the system prompt stays). */
void chat_clear(struct chat *c);

/*
 * The context as a status line tells it: the tokens the conversation
 * takes in it and the context's size, each -1 when unknown (a server that
 * sent no usage, or does not say its context length).
 */
void chat_context(const struct chat *c, int *used, int *size);

enum chat_role { CHAT_USER, CHAT_ASSISTANT };

struct chat_message {
	enum chat_role	 role;
	char		*content;	/* an answer: the text after </think> */
	char		*reasoning;	/* an answer's reasoning, or NULL */
};

/* Replaces the conversation with copies of messages [0, n). */
void chat_set_messages(struct chat *c, const struct chat_message *msgs,
    size_t n);

/* The number of messages in the history, oldest first. */
size_t chat_n_messages(const struct chat *c);

/* Message i of the history (valid until the next turn), NULL past its end. */
const struct chat_message *chat_message(const struct chat *c, size_t i);

/*
 * Writes the conversation (model, system prompt, parameters, messages) as
 * JSON to path, through a temporary file renamed over it so that a failed
 * write leaves the old file whole.  Returns 0, or -1 with *cause set.
 */
int chat_save(const struct chat *c, const char *path, char **cause);

/*
 * Replaces the conversation, system prompt and parameters with those saved
 * in path.  Returns 0, or -1 with *cause set and nothing changed.
 */
int chat_load(struct chat *c, const char *path, char **cause);

/* What /show info tells about the model. */
struct chat_info {
	const char	*path;
	const char	*name;		/* general.name or the file's name */
	const char	*arch;
	uint64_t	 n_params;
	uint32_t	 ctx_train;
	uint32_t	 n_embd;
	const char	*quant;		/* "Q4_K_M"; NULL when unknown */
	const char	*template_name;
	const char	*template_source; /* the model's Jinja, or NULL */
	const char	*stop[4];	/* texts that end an answer, NULL-ended */
};

/* The model's facts, valid as long as c. */
const struct chat_info *chat_info(const struct chat *c);

/* A JSON string of s (jansson's), its invalid UTF-8 replaced by U+FFFD. */
struct json_t *chat_json_text(const char *s);

#endif
