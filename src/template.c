/*
 * template.c - built-in chat template renderers, one table row a family.
 *
 * Running the models' Jinja would need a Jinja interpreter; the handful of
 * templates DeepSeek-R1 GGUFs carry are short, so each is written out here
 * and checked byte for byte against what Jinja renders (tests/
 * test-template.c, ../shared/testdata/templates).  Only the branches for
 * system, user and assistant messages are rendered: the tool-call and
 * tool-output branches of the templates are left out, since r1chat has no
 * tools.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

/* The rendered text and its segments, growing; failed on out of memory. */
struct template_buf {
	char			*text;
	size_t			 len;
	size_t			 cap;
	struct template_seg	*segs;
	size_t			 n_segs;
	size_t			 cap_segs;
	int			 failed;
};

static void render_deepseek(struct template_buf *,
    const struct template_family *, const struct template_msg *, size_t,
    const struct template_opts *);
static void render_chatml(struct template_buf *,
    const struct template_family *, const struct template_msg *, size_t,
    const struct template_opts *);
static void render_llama3(struct template_buf *,
    const struct template_family *, const struct template_msg *, size_t,
    const struct template_opts *);

/* DeepSeek's markers: U+FF5C FULLWIDTH VERTICAL LINE, U+2581 for spaces. */
#define DS_USER		"<\xef\xbd\x9cUser\xef\xbd\x9c>"
#define DS_ASSISTANT	"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"
#define DS_EOS		"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81" \
			"sentence\xef\xbd\x9c>"

/*
 * Detection tries the rows in order, so the rows with more markers come
 * before the rows whose markers are a subset of theirs.
 */
static const struct template_family families[] = {
	/* R1 and its distills since early 2025: the prompt opens <think>. */
	{
		.name = "deepseek-r1",
		.markers = { DS_ASSISTANT, "<think>" },
		.guess_token = DS_USER,
		.tokens = { DS_USER, DS_ASSISTANT, DS_EOS, "<think>" },
		.opens_think = 1,
		.flags = TEMPLATE_STRIP_THINK,
		.gen_prompt = DS_ASSISTANT "<think>\n",
		.nothink = "\n</think>\n\n",
		.render = render_deepseek,
	},
	/* Earlier R1 GGUFs: the same, but the model writes <think> itself. */
	{
		.name = "deepseek-r1-legacy",
		.markers = { DS_ASSISTANT, "</think>" },
		.tokens = { DS_USER, DS_ASSISTANT, DS_EOS },
		.opens_think = 0,
		.flags = TEMPLATE_STRIP_THINK,
		.gen_prompt = DS_ASSISTANT,
		.nothink = "<think>\n\n</think>\n\n",
		.render = render_deepseek,
	},
	{
		.name = "deepseek-v3",
		.markers = { DS_ASSISTANT, NULL },
		.tokens = { DS_USER, DS_ASSISTANT, DS_EOS },
		.opens_think = 0,
		.flags = TEMPLATE_JOIN_SYSTEM,
		.gen_prompt = DS_ASSISTANT,
		.nothink = "<think>\n\n</think>\n\n",
		.render = render_deepseek,
	},
	/* Qwen 2.5. */
	{
		.name = "chatml",
		.markers = { "<|im_start|>", NULL },
		.guess_token = "<|im_start|>",
		.tokens = { "<|im_start|>", "<|im_end|>" },
		.opens_think = 0,
		.gen_prompt = "<|im_start|>assistant\n",
		.nothink = "<think>\n\n</think>\n\n",
		.render = render_chatml,
	},
	/* Llama 3.1. */
	{
		.name = "llama3",
		.markers = { "<|start_header_id|>", NULL },
		.guess_token = "<|start_header_id|>",
		.tokens = { "<|start_header_id|>", "<|end_header_id|>",
		    "<|eot_id|>" },
		.opens_think = 0,
		.gen_prompt = "<|start_header_id|>assistant<|end_header_id|>\n\n",
		.nothink = "<think>\n\n</think>\n\n",
		.render = render_llama3,
	},
};
#define N_FAMILIES (sizeof families / sizeof families[0])

const struct template_family *
template_at(size_t i)
{
	return i < N_FAMILIES ? &families[i] : NULL;
}

char *
template_names(void)
{
	char	*names = NULL, *tmp;
	size_t	 i;

	for (i = 0; i < N_FAMILIES; i++) {
		tmp = names;
		names = xstrfmt("%s%s%s", tmp ? tmp : "", tmp ? ", " : "",
		    families[i].name);
		free(tmp);
	}
	return names;
}

const struct template_family *
template_find(const char *name, char **cause)
{
	char	*names;
	size_t	 i;

	for (i = 0; i < N_FAMILIES; i++) {
		if (strcmp(families[i].name, name) == 0)
			return &families[i];
	}
	names = template_names();
	*cause = xstrfmt("unknown template '%s' (known: %s)", name, names);
	free(names);
	return NULL;
}

const struct template_family *
template_guess(int (*has)(const char *token, void *arg), void *arg)
{
	size_t	i;

	for (i = 0; i < N_FAMILIES; i++) {
		if (families[i].guess_token != NULL &&
		    has(families[i].guess_token, arg))
			return &families[i];
	}
	return NULL;
}

const char *
template_missing(const struct template_family *f,
    int (*has)(const char *token, void *arg), void *arg)
{
	size_t	i;

	for (i = 0; i < TEMPLATE_TOKENS && f->tokens[i] != NULL; i++) {
		if (!has(f->tokens[i], arg))
			return f->tokens[i];
	}
	return NULL;
}

const struct template_family *
template_detect(const char *jinja)
{
	size_t	i, j;

	if (jinja == NULL)
		return NULL;
	for (i = 0; i < N_FAMILIES; i++) {
		for (j = 0; j < 2; j++) {
			if (families[i].markers[j] != NULL &&
			    strstr(jinja, families[i].markers[j]) == NULL)
				break;
		}
		if (j == 2)
			return &families[i];
	}
	return NULL;
}

/* Makes room for more bytes of text; sets failed when memory runs out. */
static int
buf_grow(struct template_buf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->failed)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	if (more > SIZE_MAX / 4 - b->len) {
		b->failed = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((p = realloc(b->text, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->text = p;
	b->cap = cap;
	return 0;
}

/* Appends len bytes of kind, merging with the last segment when alike. */
static void
buf_put(struct template_buf *b, enum template_seg_kind kind, const char *s,
    size_t len)
{
	struct template_seg	*seg;

	if (len == 0 || buf_grow(b, len) != 0)
		return;
	if (b->n_segs == 0 || b->segs[b->n_segs - 1].kind != kind) {
		if (b->n_segs == b->cap_segs) {
			size_t	 cap = b->cap_segs ? b->cap_segs * 2 : 16;

			seg = reallocarray(b->segs, cap, sizeof *seg);
			if (seg == NULL) {
				b->failed = 1;
				return;
			}
			b->segs = seg;
			b->cap_segs = cap;
		}
		seg = &b->segs[b->n_segs++];
		seg->kind = kind;
		seg->off = b->len;
		seg->len = 0;
	}
	memcpy(b->text + b->len, s, len);
	b->len += len;
	b->text[b->len] = '\0';
	b->segs[b->n_segs - 1].len += len;
}

static void
put_template(struct template_buf *b, const char *s)
{
	if (s != NULL)
		buf_put(b, TEMPLATE_SEG_TEMPLATE, s, strlen(s));
}

static void
put_content(struct template_buf *b, const char *s, size_t len)
{
	buf_put(b, TEMPLATE_SEG_CONTENT, s, len);
}

size_t
template_answer_offset(const char *text, size_t len)
{
	static const char	 tag[] = "</think>";
	size_t			 n = sizeof tag - 1, i, off = 0;

	for (i = 0; i + n <= len; i++) {
		if (memcmp(text + i, tag, n) == 0)
			off = i + n;
	}
	return off;
}

/* The generation prompt, closing an empty reasoning when asked. */
static void
gen_prompt(struct template_buf *b, const struct template_family *f,
    const struct template_opts *opts)
{
	if (!opts->add_generation_prompt)
		return;
	put_template(b, f->gen_prompt);
	if (opts->nothink)
		put_template(b, f->nothink);
}

/*
 * DeepSeek R1 and V3: BOS, the system prompt, then <｜User｜>text and
 * <｜Assistant｜>text<｜end▁of▁sentence｜> for each turn.  R1 keeps the last
 * system message and only the answer part of earlier replies (Jinja's
 * content.split('</think>')[-1]); V3 joins all system messages with a
 * blank line and keeps replies whole.
 */
static void
render_deepseek(struct template_buf *b, const struct template_family *f,
    const struct template_msg *msgs, size_t n,
    const struct template_opts *opts)
{
	const char	*last_system = NULL;
	size_t		 i, off, len, n_system = 0;

	put_template(b, opts->bos);
	for (i = 0; i < n; i++) {
		if (msgs[i].role != TEMPLATE_SYSTEM)
			continue;
		if (f->flags & TEMPLATE_JOIN_SYSTEM) {
			/* The joining blank line is the template's text. */
			if (n_system++ > 0)
				put_template(b, "\n\n");
			put_content(b, msgs[i].content,
			    strlen(msgs[i].content));
		} else
			last_system = msgs[i].content;
	}
	if (last_system != NULL)
		put_content(b, last_system, strlen(last_system));

	for (i = 0; i < n; i++) {
		switch (msgs[i].role) {
		case TEMPLATE_SYSTEM:
			break;
		case TEMPLATE_USER:
			put_template(b, DS_USER);
			put_content(b, msgs[i].content,
			    strlen(msgs[i].content));
			break;
		case TEMPLATE_ASSISTANT:
			len = strlen(msgs[i].content);
			off = 0;
			if (f->flags & TEMPLATE_STRIP_THINK)
				off = template_answer_offset(msgs[i].content,
				    len);
			put_template(b, DS_ASSISTANT);
			put_content(b, msgs[i].content + off, len - off);
			put_template(b, DS_EOS);
			break;
		}
	}
	gen_prompt(b, f, opts);
}

/*
 * Qwen 2.5's ChatML: a system turn always (Qwen's own text when the
 * conversation has none first), then <|im_start|>ROLE\ntext<|im_end|>\n
 * for every message; a system message that is not the first is a turn
 * like the others.
 */
static void
render_chatml(struct template_buf *b, const struct template_family *f,
    const struct template_msg *msgs, size_t n,
    const struct template_opts *opts)
{
	static const char *const roles[] = {
		[TEMPLATE_SYSTEM] = "<|im_start|>system\n",
		[TEMPLATE_USER] = "<|im_start|>user\n",
		[TEMPLATE_ASSISTANT] = "<|im_start|>assistant\n",
	};
	size_t	i = 0;

	if (n > 0 && msgs[0].role == TEMPLATE_SYSTEM) {
		put_template(b, roles[TEMPLATE_SYSTEM]);
		put_content(b, msgs[0].content, strlen(msgs[0].content));
		put_template(b, "<|im_end|>\n");
		i = 1;
	} else
		put_template(b, "<|im_start|>system\nYou are Qwen, created by "
		    "Alibaba Cloud. You are a helpful assistant.<|im_end|>\n");
	for (; i < n; i++) {
		put_template(b, roles[msgs[i].role]);
		put_content(b, msgs[i].content, strlen(msgs[i].content));
		put_template(b, "<|im_end|>\n");
	}
	gen_prompt(b, f, opts);
}

/*
 * Returns the length of the UTF-8 character at s (n bytes left) when it is
 * one Python's str.isspace() accepts (what Jinja's trim strips), else 0.
 */
static size_t
space_at(const unsigned char *s, size_t n)
{
	unsigned	c;

	if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) ||
	    (s[0] >= 0x1c && s[0] <= 0x20)))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && (s[0] == 0xe1 || s[0] == 0xe2 || s[0] == 0xe3) &&
	    (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		c = (s[0] & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		if (c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
		    c == 0x2028 || c == 0x2029 || c == 0x202f ||
		    c == 0x205f || c == 0x3000)
			return 3;
	}
	return 0;
}

/* Jinja's |trim (Python's str.strip()): *off and *len of what remains. */
static void
trim(const char *text, size_t *off, size_t *len)
{
	const unsigned char	*s = (const unsigned char *)text;
	size_t			 start = 0, end = strlen(text), k, i;

	while (start < end && (k = space_at(s + start, end - start)) != 0)
		start += k;
	/* Spaces are at most 3 bytes: look back that far for each. */
	for (;;) {
		k = 0;
		for (i = 1; i <= 3 && i <= end - start; i++) {
			if (space_at(s + end - i, i) == i) {
				k = i;
				break;
			}
		}
		if (k == 0)
			break;
		end -= k;
	}
	*off = start;
	*len = end - start;
}

/*
 * Llama 3.1: BOS, a system header with the knowledge and today's dates and
 * the first system message (trimmed), then a header and trimmed text for
 * each message.  The template's default date is kept unless the caller
 * gives one, as Hugging Face renders it without date_string.
 */
static void
render_llama3(struct template_buf *b, const struct template_family *f,
    const struct template_msg *msgs, size_t n,
    const struct template_opts *opts)
{
	static const char *const headers[] = {
		[TEMPLATE_SYSTEM] =
		    "<|start_header_id|>system<|end_header_id|>\n\n",
		[TEMPLATE_USER] =
		    "<|start_header_id|>user<|end_header_id|>\n\n",
		[TEMPLATE_ASSISTANT] =
		    "<|start_header_id|>assistant<|end_header_id|>\n\n",
	};
	size_t	i = 0, off, len;

	put_template(b, opts->bos);
	put_template(b, headers[TEMPLATE_SYSTEM]);
	put_template(b, "Cutting Knowledge Date: December 2023\nToday Date: ");
	put_template(b, opts->date != NULL ? opts->date : "26 Jul 2024");
	put_template(b, "\n\n");
	if (n > 0 && msgs[0].role == TEMPLATE_SYSTEM) {
		trim(msgs[0].content, &off, &len);
		put_content(b, msgs[0].content + off, len);
		i = 1;
	}
	put_template(b, "<|eot_id|>");
	for (; i < n; i++) {
		put_template(b, headers[msgs[i].role]);
		trim(msgs[i].content, &off, &len);
		put_content(b, msgs[i].content + off, len);
		put_template(b, "<|eot_id|>");
	}
	gen_prompt(b, f, opts);
}

int
template_render(const struct template_family *f,
    const struct template_msg *msgs, size_t n,
    const struct template_opts *opts, struct template_out *out,
    char **cause)
{
	struct template_buf	b;
	size_t			i;

	memset(&b, 0, sizeof b);
	memset(out, 0, sizeof *out);
	for (i = 0; i < n; i++) {
		if ((unsigned)msgs[i].role > TEMPLATE_ASSISTANT ||
		    msgs[i].content == NULL) {
			*cause = xstrfmt("message %zu has no role or content",
			    i);
			return -1;
		}
	}
	f->render(&b, f, msgs, n, opts);
	/* An empty rendering still gives a NUL-terminated text. */
	buf_grow(&b, 0);
	if (b.failed) {
		free(b.text);
		free(b.segs);
		*cause = xstrfmt("out of memory rendering the %s template",
		    f->name);
		return -1;
	}
	b.text[b.len] = '\0';
	out->text = b.text;
	out->len = b.len;
	out->segs = b.segs;
	out->n_segs = b.n_segs;
	return 0;
}

void
template_out_free(struct template_out *out)
{
	free(out->text);
	free(out->segs);
	memset(out, 0, sizeof *out);
}
