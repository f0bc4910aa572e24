/*
 * fuzz-think.c - libFuzzer target for the <think> parser (`make fuzz`).
 *
 * The input: a byte choosing the start, THINK_TRIM and which "</think>"s
 * are the special token (every other one), four bytes seeding the cuts,
 * then the text.  The text between the special tokens is fed cut as the
 * seed says to one parser, whole to another.  Both must give the same
 * text of each kind, never reasoning after answer, and without THINK_TRIM
 * the reasoning and the answer are the input less its tags, in order.
 */
#define _GNU_SOURCE	/* memmem */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-split.h"
#include "think.h"

#define HEAD	5

/* What a parser gave out: the reasoning, then the answer. */
struct got {
	char	*text[2];
	size_t	 len[2];
	int	 disorder;	/* reasoning came after answer */
};

static void
on_text(enum think_kind kind, const char *text, size_t len, void *arg)
{
	struct got	*g = arg;
	int		 k = kind == THINK_ANSWER;

	if (len == 0 || text == NULL)
		abort();
	if (!k && g->len[1] > 0)
		g->disorder = 1;
	if ((g->text[k] = realloc(g->text[k], g->len[k] + len)) == NULL)
		abort();
	memcpy(g->text[k] + g->len[k], text, len);
	g->len[k] += len;
}

/* memcmp for n bytes, of which a may be NULL when n is 0. */
static int
same(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Whether s (n bytes) is r then the tag ("</think>" or none) then a. */
static int
joined(const char *s, size_t n, const struct got *g)
{
	static const char	close[] = "</think>";
	size_t			r = g->len[0], a = g->len[1], c;

	for (c = 0; c <= 8; c += 8) {
		if (r + c + a != n || !same(s, g->text[0], r) ||
		    !same(s + r + c, g->text[1], a))
			continue;
		if (c == 0 || memcmp(s + r, close, c) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether the parser's text is the input less its tags: the leading
 * whitespace (kept, or dropped when the reasoning opens), an opening
 * "<think>" after it, and one "</think>".
 */
static int
tags_only(const char *s, size_t n, const struct got *g)
{
	size_t	ws = 0;
	char	*t;
	int	 ok;

	while (ws < n && is_space((unsigned char)s[ws]))
		ws++;
	if (joined(s, n, g) || joined(s + ws, n - ws, g))
		return 1;
	if (n - ws < 7 || memcmp(s + ws, "<think>", 7) != 0)
		return 0;
	if (joined(s + ws + 7, n - ws - 7, g))
		return 1;
	if ((t = malloc(n)) == NULL)
		abort();
	memcpy(t, s, ws);
	memcpy(t + ws, s + ws + 7, n - ws - 7);
	ok = joined(t, n - 7, g);
	free(t);
	return ok;
}

/*
 * The end of the text to feed before the next "</think>" to be sent as
 * the special token, from off: every other one, starting with the first
 * when odd is set.
 */
static size_t
next_special(const char *s, size_t n, size_t off, int *nth, int odd)
{
	const char	*p;

	while (off + 8 <= n && (p = memmem(s + off, n - off, "</think>", 8))
	    != NULL) {
		off = (size_t)(p - s);
		if ((++*nth + odd) & 1)
			return off;
		off += 8;
	}
	return n;
}

/*
 * Feeds the n bytes of s to a new parser: each "</think>" next_special
 * picks as the special token, the text between whole (sp NULL) or cut
 * as sp says.
 */
static void
run(const char *s, size_t n, enum think_start start, int flags, int odd,
    struct split *sp, struct got *g)
{
	struct think	*t = think_new(start, flags, on_text, g);
	char		*cause = NULL;
	size_t		 off = 0, end, k;
	int		 nth = 0;

	if (t == NULL)
		abort();
	while (off < n) {
		end = next_special(s, n, off, &nth, odd);
		while (off < end) {
			k = sp != NULL ? split_next(sp, end - off) : end - off;
			if (think_push(t, s + off, k, 0, &cause) != 0)
				abort();
			off += k;
		}
		if (end < n) {
			if (think_push(t, s + off, 8, 1, &cause) != 0)
				abort();
			off += 8;
		}
	}
	if (think_finish(t, &cause) < 0)
		abort();
	think_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum think_start	 starts[] = { THINK_START_DETECT,
	    THINK_START_REASONING, THINK_START_ANSWER };
	struct got			 cut = { 0 }, whole = { 0 };
	struct split			 sp;
	const char			*s = (const char *)data + HEAD;
	enum think_start		 start;
	size_t				 n, k;
	int				 flags, odd;

	if (size < HEAD)
		return 0;
	start = starts[data[0] % 3];
	flags = data[0] & 0x10 ? THINK_TRIM : 0;
	n = size - HEAD;
	split_init(&sp, data + 1, HEAD - 1);
	odd = (data[0] & 0x20) != 0;
	run(s, n, start, flags, odd, &sp, &cut);
	run(s, n, start, flags, odd, NULL, &whole);
	if (cut.disorder || whole.disorder)
		abort();
	for (k = 0; k < 2; k++) {
		if (cut.len[k] != whole.len[k] ||
		    !same(cut.text[k], whole.text[k], cut.len[k]))
			abort();
	}
	if (!flags && !tags_only(s, n, &cut))
		abort();
	for (k = 0; k < 2; k++) {
		free(cut.text[k]);
		free(whole.text[k]);
	}
	return 0;
}
