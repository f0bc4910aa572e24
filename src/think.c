/*
 * think.c - the streaming <think> parser.
 *
 * One byte at a time through a small state machine, so that where the
 * detokenizer cut the text cannot matter: a tag split over chunks is held
 * back byte by byte until it completes or fails.  What is given out is
 * gathered in a small buffer and handed to the callback once per push (or
 * when the kind changes), not once per byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "think.h"
#include "util.h"

static const char open_tag[] = "<think>";
static const char close_tag[] = "</think>";
#define OPEN_LEN	(sizeof open_tag - 1)
#define CLOSE_LEN	(sizeof close_tag - 1)

/* Bytes that grow with the input; failed when memory ran out. */
struct bytes {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

struct think {
	enum think_state	 state;
	int			 flags;
	think_cb		 cb;
	void			*arg;

	size_t			 tag;	/* bytes of the awaited tag seen */
	int			 lead;	/* THINK_TRIM: nothing given out yet
					   in this part */
	/*
	 * At the start, the whitespace before a possible <think>; in the
	 * reasoning with THINK_TRIM, whitespace that may turn out to be
	 * trailing.
	 */
	struct bytes		 pend;
	struct bytes		 answer;	/* as generated, for history */
	int			 failed;

	char			 out[256];	/* gathered for the callback */
	size_t			 out_len;
	enum think_kind		 out_kind;
};

static int
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static void
bytes_add(struct think *t, struct bytes *b, const char *p, size_t n)
{
	size_t	 cap;
	char	*q;

	if (t->failed || n == 0)
		return;
	if (b->len + n > b->cap) {
		if (n > SIZE_MAX / 4 - b->len) {
			t->failed = 1;
			return;
		}
		cap = b->cap ? b->cap : 64;
		while (cap < b->len + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			t->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
flush_out(struct think *t)
{
	if (t->out_len > 0)
		t->cb(t->out_kind, t->out, t->out_len, t->arg);
	t->out_len = 0;
}

/* Gives out n bytes of one kind, gathering them first. */
static void
emit(struct think *t, enum think_kind kind, const char *p, size_t n)
{
	size_t	k;

	if (t->out_len > 0 && t->out_kind != kind)
		flush_out(t);
	t->out_kind = kind;
	while (n > 0) {
		if (t->out_len == sizeof t->out)
			flush_out(t);
		k = sizeof t->out - t->out_len;
		if (k > n)
			k = n;
		memcpy(t->out + t->out_len, p, k);
		t->out_len += k;
		p += k;
		n -= k;
	}
}

/* Reasoning text; with THINK_TRIM, its edges' whitespace is dropped. */
static void
reason_out(struct think *t, const char *p, size_t n)
{
	size_t	i;

	if (!(t->flags & THINK_TRIM)) {
		emit(t, THINK_REASONING, p, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (is_space(p[i])) {
			if (!t->lead)
				bytes_add(t, &t->pend, p + i, 1);
			continue;
		}
		if (t->pend.len > 0)
			emit(t, THINK_REASONING, t->pend.p, t->pend.len);
		t->pend.len = 0;
		emit(t, THINK_REASONING, p + i, 1);
		t->lead = 0;
	}
}

/* Answer text: kept whole for history, given out trimmed if asked. */
static void
answer_out(struct think *t, const char *p, size_t n)
{
	bytes_add(t, &t->answer, p, n);
	if (t->flags & THINK_TRIM) {
		while (t->lead && n > 0 && is_space(*p)) {
			p++;
			n--;
		}
		if (n == 0)
			return;
		t->lead = 0;
	}
	emit(t, THINK_ANSWER, p, n);
}

static void
enter(struct think *t, enum think_state state)
{
	t->state = state;
	t->tag = 0;
	t->lead = 1;
	t->pend.len = 0;
}

/* The start was not a <think>: what was held is the answer's beginning. */
static void
start_answer(struct think *t)
{
	size_t	tag = t->tag;

	/* pend is about to be cleared: give it out first. */
	answer_out(t, t->pend.p, t->pend.len);
	answer_out(t, open_tag, tag);
	t->state = THINK_STATE_ANSWER;
	t->tag = 0;
	t->pend.len = 0;
}

/* The reasoning ends; THINK_TRIM drops its trailing whitespace. */
static void
end_reasoning(struct think *t)
{
	enter(t, THINK_STATE_ANSWER);
}

static void
feed_byte(struct think *t, char c)
{
	switch (t->state) {
	case THINK_STATE_START:
		if (t->tag == 0 && is_space(c)) {
			bytes_add(t, &t->pend, &c, 1);
			return;
		}
		if (c == open_tag[t->tag]) {
			if (++t->tag == OPEN_LEN)
				enter(t, THINK_STATE_REASONING);
			return;
		}
		start_answer(t);
		answer_out(t, &c, 1);
		return;
	case THINK_STATE_REASONING:
		if (c == close_tag[t->tag]) {
			if (++t->tag == CLOSE_LEN)
				end_reasoning(t);
			return;
		}
		/*
		 * A failed partial tag is reasoning; the byte that broke it
		 * may begin a new one, and only '<' can (the tag has no
		 * other '<').
		 */
		if (t->tag > 0) {
			reason_out(t, close_tag, t->tag);
			t->tag = 0;
			if (c == close_tag[0]) {
				t->tag = 1;
				return;
			}
		}
		reason_out(t, &c, 1);
		return;
	case THINK_STATE_ANSWER:
		answer_out(t, &c, 1);
		return;
	}
}

/* A partial tag cannot go on across a special token: it is text. */
static void
drop_partial(struct think *t)
{
	if (t->tag == 0)
		return;
	if (t->state == THINK_STATE_START)
		start_answer(t);
	else if (t->state == THINK_STATE_REASONING) {
		reason_out(t, close_tag, t->tag);
		t->tag = 0;
	}
}

static int
check_failed(struct think *t, char **cause)
{
	if (!t->failed)
		return 0;
	*cause = xstrdup("out of memory in the <think> parser");
	return -1;
}

struct think *
think_new(enum think_start start, int flags, think_cb cb, void *arg)
{
	struct think	*t = xcalloc(1, sizeof *t);

	t->flags = flags;
	t->cb = cb;
	t->arg = arg;
	think_reset(t, start);
	return t;
}

void
think_free(struct think *t)
{
	if (t == NULL)
		return;
	free(t->pend.p);
	free(t->answer.p);
	free(t);
}

void
think_reset(struct think *t, enum think_start start)
{
	static const enum think_state states[] = {
		[THINK_START_DETECT] = THINK_STATE_START,
		[THINK_START_REASONING] = THINK_STATE_REASONING,
		[THINK_START_ANSWER] = THINK_STATE_ANSWER,
	};

	enter(t, states[start]);
	t->answer.len = 0;
	t->out_len = 0;
	t->failed = 0;
}

int
think_push(struct think *t, const char *text, size_t len, int special,
    char **cause)
{
	size_t	i;

	if (special) {
		drop_partial(t);
		/*
		 * A </think> token before anything but whitespace: the model
		 * took the reasoning as opened, and it was empty.
		 */
		if (t->state == THINK_STATE_START && len == CLOSE_LEN &&
		    memcmp(text, close_tag, len) == 0) {
			end_reasoning(t);
			flush_out(t);
			return check_failed(t, cause);
		}
	}
	for (i = 0; i < len; i++)
		feed_byte(t, text[i]);
	if (special)
		drop_partial(t);
	flush_out(t);
	return check_failed(t, cause);
}

int
think_finish(struct think *t, char **cause)
{
	int	unclosed = 0;

	switch (t->state) {
	case THINK_STATE_START:
		start_answer(t);
		break;
	case THINK_STATE_REASONING:
		drop_partial(t);
		t->pend.len = 0;
		unclosed = 1;
		break;
	case THINK_STATE_ANSWER:
		break;
	}
	flush_out(t);
	if (check_failed(t, cause) != 0)
		return -1;
	return unclosed;
}

enum think_state
think_state(const struct think *t)
{
	return t->state;
}

const char *
think_answer(const struct think *t, size_t *len)
{
	*len = t->answer.len;
	return t->answer.len > 0 ? t->answer.p : "";
}
