/*
 * backend.h - what computes a chat's answers: the model in this process
 * (chat.c's own engine, the default) or another one behind this table of
 * operations (remote.c: an OpenAI-compatible server), which the front
 * end hands in as chat_config.backend: chat.c itself links no backend.
 * chat.c keeps the history, the parameters, the <think> parser and the
 * events either way, so the front ends cannot tell one from the other.
 */
#ifndef R1_BACKEND_H
#define R1_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"

/* What a backend hands back as the answer comes. */
enum backend_piece {
	BACKEND_REASONING,	/* reasoning given apart from the answer */
	BACKEND_TEXT,		/* the model's text: reasoning in <think>
				   tags, if any, then the answer */
	BACKEND_WAIT		/* nothing, but time passed (to stop) */
};

/* Receives one piece (len 0 for BACKEND_WAIT); nonzero stops the turn. */
typedef int (*backend_cb)(enum backend_piece kind, const char *text,
    size_t len, void *arg);

/* A turn's counts, as far as the backend knows them. */
struct backend_counts {
	int		 known;		/* the server said (usage, timings) */
	const char	*source;	/* where they came from, for --verbose */
	int		 prompt_n;
	int		 eval_n;
	int		 ctx_used;	/* usage's prompt + completion tokens;
					   -1: no usage came */
	int		 cut;		/* finish_reason "length": a limit
					   (max_tokens, the context) cut it */
};

struct backend_ops {
	/*
	 * Connects as cfg says and fills *info (its strings owned by the
	 * backend, valid until close).  Returns the backend's state, or
	 * NULL with *cause set.
	 */
	void	*(*open)(const struct chat_config *cfg, struct chat_info *info,
		    char **cause);

	/*
	 * Computes the answer to the conversation: the system prompt (NULL
	 * for none) and messages [0, n), the last one the user's, with the
	 * parameters p, calling cb as the answer comes.  Returns 0 when the
	 * answer ended or cb stopped it, -1 with *cause set on an error (what
	 * came before it was given to cb already).
	 */
	int	 (*turn)(void *b, const char *system,
		    const struct chat_message *msgs, size_t n,
		    const struct chat_params *p, backend_cb cb, void *arg,
		    struct backend_counts *counts, char **cause);

	void	 (*close)(void *b);
};

/* An OpenAI-compatible server over HTTP(S) (remote.c). */
extern const struct backend_ops backend_remote;

#endif
