/*
 * think.h - the streaming <think> parser between the detokenizer and the
 * front ends.
 *
 * R1 models write their reasoning between <think> and </think>, then the
 * answer.  The parser is fed the generated text as it comes, in chunks of
 * any size (a chunk may be told to be exactly one special token), and
 * calls back with reasoning and answer text, so no front end ever looks
 * for the tags.  Splitting the same text into different chunks gives the
 * same text of each kind.
 */
#ifndef R1_THINK_H
#define R1_THINK_H

#include <stddef.h>

enum think_kind {
	THINK_REASONING,
	THINK_ANSWER
};

/* Where the output starts. */
enum think_start {
	THINK_START_DETECT,	/* an explicit <think> may come first */
	THINK_START_REASONING,	/* the prompt ended with <think> */
	THINK_START_ANSWER	/* no reasoning (the prompt closed it) */
};

/* What the parser is in now, for a status line. */
enum think_state {
	THINK_STATE_START,	/* nothing decided yet */
	THINK_STATE_REASONING,
	THINK_STATE_ANSWER
};

/*
 * Drop the whitespace around the reasoning and before the answer in the
 * events (the "\n" after <think>, the "\n\n" after </think>), for display.
 * think_answer() keeps the answer as generated either way.
 */
#define THINK_TRIM	0x1

/* Receives len bytes of text of one kind; len > 0. */
typedef void (*think_cb)(enum think_kind kind, const char *text, size_t len,
    void *arg);

struct think;

/*
 * Returns a parser starting as start says, calling cb(kind, text, len,
 * arg) for the text it gives out.  flags: THINK_TRIM or 0.
 */
struct think *think_new(enum think_start start, int flags, think_cb cb,
    void *arg);
void think_free(struct think *t);

/* Starts over for a new answer, keeping the callback and flags. */
void think_reset(struct think *t, enum think_start start);

/*
 * Feeds len bytes of generated text.  special: the chunk is exactly one
 * special token's text (a "</think>" token closes the reasoning even when
 * the model's vocabulary has it as one id; any other special token is
 * text).  A tag split over chunks is recognised: the bytes that may start
 * one are held back until the next chunk decides.  <think> is only a tag
 * at the very start (after whitespace) and </think> only inside the
 * reasoning; anywhere else they are plain text.  Returns 0, or -1 with
 * *cause set when memory runs out.
 */
int think_push(struct think *t, const char *text, size_t len, int special,
    char **cause);

/*
 * Ends the output: gives out what was held back.  Returns 1 when the
 * reasoning was never closed (all the text was reasoning: the caller says
 * so in a notice), 0 otherwise, -1 with *cause set when memory runs out.
 */
int think_finish(struct think *t, char **cause);

enum think_state think_state(const struct think *t);

/*
 * Returns the answer as generated, whitespace and all (only the text after
 * </think>; all the text when there was no reasoning; nothing when the
 * reasoning was never closed): what the conversation keeps for the next
 * turn.  Valid until the next push, reset or free; *len is its length.
 */
const char *think_answer(const struct think *t, size_t *len);

#endif
