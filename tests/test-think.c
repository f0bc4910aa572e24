/*
 * test-think.c - the <think> parser under every way of cutting its input.
 *
 * Three checks: worked examples of each rule (an opened template, an
 * explicit <think>, </think> as a special token or as text, empty and
 * unclosed reasoning, tags inside the answer); every split of short
 * inputs into chunks (all 2^(n-1)) giving what the unsplit input gives;
 * and long random inputs, split at random, against a plain non-streaming
 * statement of the same rules.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "think.h"

#define MAXTEXT	4096

/* What a run gave out, per kind, and whether it saw an empty event. */
struct result {
	char	reasoning[MAXTEXT];
	size_t	n_reasoning;
	char	answer[MAXTEXT];
	size_t	n_answer;
	char	history[MAXTEXT];
	size_t	n_history;
	int	unclosed;
	int	bad_event;
};

static void
collect(enum think_kind kind, const char *text, size_t len, void *arg)
{
	struct result	*r = arg;
	char		*buf = kind == THINK_REASONING ? r->reasoning :
			    r->answer;
	size_t		*n = kind == THINK_REASONING ? &r->n_reasoning :
			    &r->n_answer;

	if (len == 0 || *n + len >= MAXTEXT) {
		r->bad_event = 1;
		return;
	}
	memcpy(buf + *n, text, len);
	*n += len;
	buf[*n] = '\0';
}

static int
same(const struct result *a, const struct result *b)
{
	return a->n_reasoning == b->n_reasoning &&
	    memcmp(a->reasoning, b->reasoning, a->n_reasoning) == 0 &&
	    a->n_answer == b->n_answer &&
	    memcmp(a->answer, b->answer, a->n_answer) == 0 &&
	    a->n_history == b->n_history &&
	    memcmp(a->history, b->history, a->n_history) == 0 &&
	    a->unclosed == b->unclosed && !a->bad_event && !b->bad_event;
}

/* Text made printable on one line, in one of four rotating buffers. */
static const char *
esc(const char *s, size_t len)
{
	static char	bufs[4][MAXTEXT * 2];
	static int	which;
	char		*b = bufs[which++ % 4], *o = b;
	size_t		 i;

	for (i = 0; i < len && o < b + sizeof bufs[0] - 5; i++) {
		if (s[i] == '\n')
			o += sprintf(o, "\\n");
		else if (s[i] == '\t')
			o += sprintf(o, "\\t");
		else if ((unsigned char)s[i] < 0x20)
			o += sprintf(o, "\\x%02x", (unsigned char)s[i]);
		else
			*o++ = s[i];
	}
	*o = '\0';
	return b;
}

static void
show(const char *what, const struct result *r)
{
	diag("%s: reasoning [%s] answer [%s] history [%s] unclosed %d",
	    what, esc(r->reasoning, r->n_reasoning),
	    esc(r->answer, r->n_answer), esc(r->history, r->n_history),
	    r->unclosed);
}

/*
 * A chunk list: text cut at the given offsets; a chunk whose text is
 * "\x01" followed by a tag is that tag as one special token.
 */
struct chunk {
	const char	*p;
	size_t		 len;
	int		 special;
};

static void
run(struct think *t, enum think_start start, const struct chunk *c,
    size_t n, struct result *r)
{
	const char	*h;
	char		*cause = NULL;
	size_t		 i;

	memset(r, 0, sizeof *r);
	think_reset(t, start);
	for (i = 0; i < n; i++) {
		if (think_push(t, c[i].p, c[i].len, c[i].special, &cause) != 0) {
			r->bad_event = 1;
			free(cause);
		}
	}
	r->unclosed = think_finish(t, &cause);
	h = think_answer(t, &r->n_history);
	memcpy(r->history, h, r->n_history);
}

/* The parsers share one result, selected through the callback arg. */
static struct result	*cur;

static void
collect_cur(enum think_kind kind, const char *text, size_t len, void *arg)
{
	collect(kind, text, len, cur);
}

static struct think *
parser(int flags)
{
	return think_new(THINK_START_DETECT, flags, collect_cur, NULL);
}

static void
run_into(struct think *t, enum think_start start, const struct chunk *c,
    size_t n, struct result *r)
{
	cur = r;
	run(t, start, c, n, r);
}

/* Splits a text into chunks where the bits of mask say (bit i: cut after
 * byte i). */
static size_t
split(const char *s, size_t len, uint64_t mask, struct chunk *c)
{
	size_t	i, n = 0, from = 0;

	for (i = 0; i + 1 < len; i++) {
		if (mask & ((uint64_t)1 << i)) {
			c[n++] = (struct chunk){ s + from, i + 1 - from, 0 };
			from = i + 1;
		}
	}
	if (from < len)
		c[n++] = (struct chunk){ s + from, len - from, 0 };
	return n;
}

static const char *const start_names[] = {
	[THINK_START_DETECT] = "detect",
	[THINK_START_REASONING] = "opened",
	[THINK_START_ANSWER] = "answer",
};

/* Worked examples: text (one chunk, or cut at '|' with '#' for a special
 * </think> and '@' for a special <think>), start, and what must come out
 * without and with THINK_TRIM. */
static const struct {
	const char		*in;
	enum think_start	 start;
	const char		*reasoning, *answer;
	const char		*t_reasoning, *t_answer;
	const char		*history;
	int			 unclosed;
} examples[] = {
	/* The template opened <think>: only </think> comes. */
	{ "\nHmm.\n</think>\n\nIt is 2.", THINK_START_REASONING,
	    "\nHmm.\n", "\n\nIt is 2.", "Hmm.", "It is 2.",
	    "\n\nIt is 2.", 0 },
	/* An explicit <think>, after whitespace. */
	{ " \n<think>\nx\n</think>\n\ny", THINK_START_DETECT,
	    "\nx\n", "\n\ny", "x", "y", "\n\ny", 0 },
	{ "<think>x</think>y", THINK_START_DETECT, "x", "y", "x", "y", "y",
	    0 },
	/* No reasoning at all. */
	{ "  Hello", THINK_START_DETECT, "", "  Hello", "", "Hello",
	    "  Hello", 0 },
	{ "<thin>k", THINK_START_DETECT, "", "<thin>k", "", "<thin>k",
	    "<thin>k", 0 },
	{ "<thi", THINK_START_DETECT, "", "<thi", "", "<thi", "<thi", 0 },
	{ "", THINK_START_DETECT, "", "", "", "", "", 0 },
	{ " \n", THINK_START_DETECT, "", " \n", "", "", " \n", 0 },
	{ "a<think>b</think>c", THINK_START_DETECT, "", "a<think>b</think>c",
	    "", "a<think>b</think>c", "a<think>b</think>c", 0 },
	/* Empty reasoning. */
	{ "<think>\n\n</think>\n\nA", THINK_START_DETECT, "\n\n", "\n\nA",
	    "", "A", "\n\nA", 0 },
	{ "</think>A", THINK_START_REASONING, "", "A", "", "A", "A", 0 },
	/* Never closed. */
	{ "\nstill thinking </thin", THINK_START_REASONING,
	    "\nstill thinking </thin", "", "still thinking </thin", "", "",
	    1 },
	{ "<think>abc", THINK_START_DETECT, "abc", "", "abc", "", "", 1 },
	{ "", THINK_START_REASONING, "", "", "", "", "", 1 },
	/* Tags later on are text. */
	{ "r</think>a<think>b</think>c", THINK_START_REASONING, "r",
	    "a<think>b</think>c", "r", "a<think>b</think>c",
	    "a<think>b</think>c", 0 },
	{ "x <think> y", THINK_START_REASONING, "x <think> y", "",
	    "x <think> y", "", "", 1 },
	{ "<</</think>z", THINK_START_REASONING, "<</", "z", "<</", "z", "z",
	    0 },
	{ "</think>", THINK_START_ANSWER, "", "</think>", "", "</think>",
	    "</think>", 0 },
	/* Special tokens. */
	{ "\nr\n|#|\n\na", THINK_START_REASONING, "\nr\n", "\n\na", "r",
	    "a", "\n\na", 0 },
	{ "r</th|#|a", THINK_START_REASONING, "r</th", "a", "r</th", "a",
	    "a", 0 },
	{ "@|x|#|y", THINK_START_DETECT, "x", "y", "x", "y", "y", 0 },
	{ " |#|y", THINK_START_DETECT, "", "y", "", "y", "y", 0 },
	{ "<th|@|x", THINK_START_DETECT, "", "<th<think>x", "",
	    "<th<think>x", "<th<think>x", 0 },
	{ "a|#|b", THINK_START_ANSWER, "", "a</think>b", "", "a</think>b",
	    "a</think>b", 0 },
	{ "a|@|b|#|c", THINK_START_REASONING, "a<think>b", "c", "a<think>b",
	    "c", "c", 0 },
	/* A special token's text never begins a tag ('~' is "</th"). */
	{ "r|~|ink>a", THINK_START_REASONING, "r</think>a", "",
	    "r</think>a", "", "", 1 },
	{ "x\n \t|#|\n", THINK_START_REASONING, "x\n \t", "\n", "x", "",
	    "\n", 0 },
};

/* Cuts an example at '|'; '#', '@' and '~' stand for special tokens. */
static size_t
example_chunks(const char *in, struct chunk *c)
{
	size_t	n = 0;

	if (strchr(in, '|') == NULL) {
		c[0] = (struct chunk){ in, strlen(in), 0 };
		return 1;
	}
	while (*in != '\0') {
		size_t	len = strcspn(in, "|");

		if (len == 1 && *in == '#')
			c[n++] = (struct chunk){ "</think>", 8, 1 };
		else if (len == 1 && *in == '@')
			c[n++] = (struct chunk){ "<think>", 7, 1 };
		else if (len == 1 && *in == '~')
			c[n++] = (struct chunk){ "</th", 4, 1 };
		else
			c[n++] = (struct chunk){ in, len, 0 };
		in += len;
		if (*in == '|')
			in++;
	}
	return n;
}

static int
is(const char *got, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(got, want, n) == 0;
}

static void
test_examples(void)
{
	struct think	*raw = parser(0), *trim = parser(THINK_TRIM);
	struct result	 r, tr;
	struct chunk	 c[16];
	size_t		 i, n;

	for (i = 0; i < sizeof examples / sizeof examples[0]; i++) {
		n = example_chunks(examples[i].in, c);
		run_into(raw, examples[i].start, c, n, &r);
		run_into(trim, examples[i].start, c, n, &tr);
		if (!ok(is(r.reasoning, r.n_reasoning, examples[i].reasoning) &&
		    is(r.answer, r.n_answer, examples[i].answer) &&
		    is(r.history, r.n_history, examples[i].history) &&
		    r.unclosed == examples[i].unclosed && !r.bad_event,
		    "example %zu (%s)", i, start_names[examples[i].start]))
			show("raw", &r);
		if (!ok(is(tr.reasoning, tr.n_reasoning,
		    examples[i].t_reasoning) &&
		    is(tr.answer, tr.n_answer, examples[i].t_answer) &&
		    is(tr.history, tr.n_history, examples[i].history) &&
		    tr.unclosed == examples[i].unclosed && !tr.bad_event,
		    "example %zu trimmed", i))
			show("trim", &tr);
	}
	think_free(raw);
	think_free(trim);
}

/* Inputs of at most 16 bytes, for every split. */
static const char *const short_inputs[] = {
	"<think>a</think>b",
	"\n<think></think>",
	" <think>\n</think>\n",
	"x</think>\n\ny",
	"</think></think>",
	"<<think>></think",
	"</th</think>ok",
	"a<think>b",
	"\n\n<thin<think>",
	"<think><think>x",
	"r </ think> s",
	" \t\n <think>e",
	"\xe4\xbd\xa0</think>\xe5\xa5\xbd",
	"<</think>>",
};

static void
test_all_splits(void)
{
	struct think		*p[2] = { parser(0), parser(THINK_TRIM) };
	struct result		 whole, part;
	struct chunk		 c[64], one;
	enum think_start	 start;
	uint64_t		 mask, n_masks;
	size_t			 i, n, len, bad, total = 0;
	int			 f;

	for (i = 0; i < sizeof short_inputs / sizeof short_inputs[0]; i++) {
		len = strlen(short_inputs[i]);
		n_masks = len > 1 ? (uint64_t)1 << (len - 1) : 1;
		for (start = 0; start <= THINK_START_ANSWER; start++) {
			for (f = 0; f < 2; f++) {
				one = (struct chunk){ short_inputs[i], len, 0 };
				run_into(p[f], start, &one, 1, &whole);
				bad = 0;
				for (mask = 0; mask < n_masks; mask++) {
					n = split(short_inputs[i], len, mask, c);
					run_into(p[f], start, c, n, &part);
					if (!same(&whole, &part) && bad++ == 0) {
						show("whole", &whole);
						show("split", &part);
					}
					total++;
				}
				ok(bad == 0, "all %llu splits of \"%s\" (%s%s)",
				    (unsigned long long)n_masks,
				    esc(short_inputs[i], len), start_names[start],
				    f ? ", trimmed" : "");
			}
		}
	}
	diag("%zu split runs", total);
	think_free(p[0]);
	think_free(p[1]);
}

/*
 * The same splits around special tokens: the text parts are cut every way,
 * the special chunks stay whole.
 */
static void
test_special_splits(void)
{
	static const struct {
		const char	*before, *after;
		const char	*tag;
	} cases[] = {
		{ "\nabc </th", "\n\nxy<z", "</think>" },
		{ " \n", "r</think>s", "<think>" },
		{ "<thi", "k>q</think>", "<think>" },
		{ "a</thin", "</think>b", "</think>" },
	};
	struct think		*p[2] = { parser(0), parser(THINK_TRIM) };
	struct result		 whole, part;
	struct chunk		 c[64], w[3];
	enum think_start	 start;
	size_t			 i, n, lb, la, bad;
	uint64_t		 mb, ma;
	int			 f;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		lb = strlen(cases[i].before);
		la = strlen(cases[i].after);
		w[0] = (struct chunk){ cases[i].before, lb, 0 };
		w[1] = (struct chunk){ cases[i].tag, strlen(cases[i].tag), 1 };
		w[2] = (struct chunk){ cases[i].after, la, 0 };
		for (start = 0; start <= THINK_START_ANSWER; start++) {
			for (f = 0; f < 2; f++) {
				run_into(p[f], start, w, 3, &whole);
				bad = 0;
				for (mb = 0; mb < (uint64_t)1 << (lb - 1); mb++)
				for (ma = 0; ma < (uint64_t)1 << (la - 1); ma++) {
					n = split(cases[i].before, lb, mb, c);
					c[n++] = w[1];
					n += split(cases[i].after, la, ma, c + n);
					run_into(p[f], start, c, n, &part);
					if (!same(&whole, &part) && bad++ == 0) {
						show("whole", &whole);
						show("split", &part);
					}
				}
				ok(bad == 0, "splits around special %s in "
				    "case %zu (%s%s)", cases[i].tag, i,
				    start_names[start], f ? ", trimmed" : "");
			}
		}
	}
	think_free(p[0]);
	think_free(p[1]);
}

/* The rules stated plainly, on a whole text without special tokens. */
static void
reference(const char *s, size_t len, enum think_start start, int trim,
    struct result *r)
{
	const char	*body = s, *end = s + len, *close;
	size_t		 k;

	memset(r, 0, sizeof *r);
	if (start == THINK_START_DETECT) {
		k = 0;
		while (k < len && strchr(" \t\n\v\f\r", s[k]) != NULL)
			k++;
		if (len - k >= 7 && memcmp(s + k, "<think>", 7) == 0) {
			body = s + k + 7;
			start = THINK_START_REASONING;
		} else
			start = THINK_START_ANSWER;
	}
	if (start == THINK_START_REASONING) {
		close = NULL;
		for (k = 0; body + k + 8 <= end; k++) {
			if (memcmp(body + k, "</think>", 8) == 0) {
				close = body + k;
				break;
			}
		}
		if (close == NULL) {
			memcpy(r->reasoning, body, end - body);
			r->n_reasoning = end - body;
			r->unclosed = 1;
			body = end;
		} else {
			memcpy(r->reasoning, body, close - body);
			r->n_reasoning = close - body;
			body = close + 8;
		}
	}
	memcpy(r->history, body, end - body);
	r->n_history = end - body;
	memcpy(r->answer, body, end - body);
	r->n_answer = end - body;
	if (trim) {
		/* Both ends of the reasoning, the start of the answer. */
		char	*p = r->reasoning;

		while (r->n_reasoning > 0 &&
		    strchr(" \t\n\v\f\r", p[r->n_reasoning - 1]) != NULL)
			r->n_reasoning--;
		k = 0;
		while (k < r->n_reasoning && strchr(" \t\n\v\f\r", p[k]) != NULL)
			k++;
		memmove(p, p + k, r->n_reasoning - k);
		r->n_reasoning -= k;
		k = 0;
		while (k < r->n_answer &&
		    strchr(" \t\n\v\f\r", r->answer[k]) != NULL)
			k++;
		memmove(r->answer, r->answer + k, r->n_answer - k);
		r->n_answer -= k;
	}
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_random(void)
{
	static const char *const pieces[] = {
		"<think>", "</think>", "<", "</", "</th", "<th", "think", ">",
		"/", " ", "\n", "\n\n", "\t", "a", "xyz", "\xc3\xa9",
		"\xf0\x9f\x98\x80", "</think", "<think",
	};
	struct think		*p[2] = { parser(0), parser(THINK_TRIM) };
	struct result		 want, got;
	struct chunk		 c[600];
	enum think_start	 start;
	char			 text[600];
	size_t			 len, n, i, k, bad = 0, runs = 0;
	int			 f, round;

	for (round = 0; round < 3000; round++) {
		len = 0;
		k = next_rand() % 40;
		for (i = 0; i < k; i++) {
			const char	*s = pieces[next_rand() % (sizeof pieces /
					    sizeof pieces[0])];

			memcpy(text + len, s, strlen(s));
			len += strlen(s);
		}
		start = next_rand() % 3;
		f = next_rand() % 2;
		reference(text, len, start, f, &want);
		for (i = 0; i < 20; i++) {
			/* Chunks of 1..8 bytes, cut at random. */
			size_t	at = 0;

			n = 0;
			while (at < len) {
				size_t	step = 1 + next_rand() % 8;

				if (step > len - at)
					step = len - at;
				c[n++] = (struct chunk){ text + at, step, 0 };
				at += step;
			}
			run_into(p[f], start, c, n, &got);
			runs++;
			if (!same(&want, &got) && bad++ == 0) {
				diag("input [%s] %s%s", esc(text, len),
				    start_names[start], f ? " trimmed" : "");
				show("want", &want);
				show("got", &got);
			}
		}
	}
	ok(bad == 0, "%zu random long inputs, split at random, follow the "
	    "rules (%zu wrong)", runs, bad);
	think_free(p[0]);
	think_free(p[1]);
}

static void
test_state(void)
{
	struct result	 r;
	struct think	*t = parser(0);
	char		*cause = NULL;

	cur = &r;
	memset(&r, 0, sizeof r);
	think_reset(t, THINK_START_DETECT);
	ok(think_state(t) == THINK_STATE_START, "starts undecided");
	think_push(t, "  <thi", 6, 0, &cause);
	ok(think_state(t) == THINK_STATE_START && r.n_answer == 0 &&
	    r.n_reasoning == 0, "holds back a possible <think>");
	think_push(t, "nk>", 3, 0, &cause);
	ok(think_state(t) == THINK_STATE_REASONING, "then reasons");
	think_push(t, "ab</thi", 7, 0, &cause);
	ok(r.n_reasoning == 2 && memcmp(r.reasoning, "ab", 2) == 0,
	    "gives out reasoning at once, holds a partial </think>");
	think_push(t, "nk>\n\nok", 7, 0, &cause);
	ok(think_state(t) == THINK_STATE_ANSWER && r.n_answer == 4,
	    "then answers");
	think_free(t);
}

int
main(void)
{
	test_examples();
	test_all_splits();
	test_special_splits();
	test_random();
	test_state();
	return done_testing();
}
