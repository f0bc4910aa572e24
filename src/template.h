/*
 * template.h - chat templates: built-in renderers that produce, byte for
 * byte, what each model family's Jinja chat template renders.
 *
 * The rendered prompt comes back cut into segments.  TEMPLATE segments are
 * the template's own text (role markers, BOS, fixed phrases) and are to be
 * tokenized with special tokens parsed; CONTENT segments are message text
 * (system prompt, user input, earlier answers) and must be tokenized with
 * special tokens NOT parsed, so that a user typing "<｜User｜>" or
 * "<|im_end|>" gets plain text, never a control token.  Concatenated, the
 * segments are exactly the Jinja output.
 *
 * A tokenizer that pre-tokenizes each segment on its own can differ from
 * one that sees the whole text where non-special text crosses a segment
 * boundary (chatml's "user\n" followed by content starting with a newline):
 * to match llama.cpp exactly, cut the text at the special tokens found in
 * TEMPLATE segments only and pre-tokenize the runs between them whole.
 */
#ifndef R1_TEMPLATE_H
#define R1_TEMPLATE_H

#include <stddef.h>

enum template_role {
	TEMPLATE_SYSTEM,
	TEMPLATE_USER,
	TEMPLATE_ASSISTANT
};

struct template_msg {
	enum template_role	 role;
	const char		*content;	/* UTF-8, NUL-terminated */
};

struct template_opts {
	int		 add_generation_prompt;
	const char	*bos;	/* the model's BOS text; NULL: none */
	const char	*eos;	/* the model's EOS text; NULL: none */
	const char	*date;	/* llama3's "Today Date"; NULL: the
				   template's default, "26 Jul 2024" */
	int		 nothink;	/* end the generation prompt with an
					   empty reasoning block (--nothink):
					   the answer comes first */
};

enum template_seg_kind {
	TEMPLATE_SEG_TEMPLATE,	/* parse special tokens */
	TEMPLATE_SEG_CONTENT	/* plain text, specials not parsed */
};

struct template_seg {
	enum template_seg_kind	 kind;
	size_t			 off;	/* into template_out.text */
	size_t			 len;
};

struct template_out {
	char			*text;	/* all segments, NUL-terminated */
	size_t			 len;
	struct template_seg	*segs;	/* adjacent segments differ in kind */
	size_t			 n_segs;
};

struct template_buf;
struct template_family;
typedef void (*template_render_fn)(struct template_buf *,
    const struct template_family *, const struct template_msg *, size_t,
    const struct template_opts *);

/* The special tokens a family's text may have, at most. */
#define TEMPLATE_TOKENS		4

/* Behaviours the DeepSeek templates differ by. */
#define TEMPLATE_STRIP_THINK	0x1	/* earlier answers: text after the
					   last </think> only */
#define TEMPLATE_JOIN_SYSTEM	0x2	/* all system messages, joined by a
					   blank line; else the last one */

struct template_family {
	const char		*name;		/* for --template */
	const char		*markers[2];	/* all found in the Jinja */
	const char		*guess_token;	/* a vocabulary with this
						   token and no known Jinja
						   is taken for the family;
						   NULL: never guessed */
	const char		*tokens[TEMPLATE_TOKENS]; /* the special
						   tokens its text has;
						   the rest NULL */
	int			 opens_think;	/* generation prompt ends
						   inside <think> */
	int			 flags;
	const char		*gen_prompt;	/* after the last message */
	const char		*nothink;	/* after gen_prompt, for an
						   empty reasoning */
	template_render_fn	 render;
};

/*
 * Returns the family named name ("deepseek-r1", "deepseek-v3", "chatml",
 * "llama3", "deepseek-r1-legacy"), or NULL with *cause set (listing the
 * known names).
 */
const struct template_family *template_find(const char *name, char **cause);

/*
 * Returns the family whose markers all occur in the model's
 * tokenizer.chat_template text, the first in table order, or NULL when
 * none matches (the caller then needs --template).
 */
const struct template_family *template_detect(const char *jinja);

/*
 * For a model whose Jinja is missing or unknown: returns the first family
 * (in table order) whose guess token the vocabulary has, as has(token,
 * arg) says (nonzero: it has), or NULL when none.
 */
const struct template_family *template_guess(int (*has)(const char *token,
    void *arg), void *arg);

/*
 * Returns the first of f's special tokens the vocabulary lacks, as
 * has(token, arg) says (nonzero: it has), or NULL when it has them all.
 * A token it lacks is tokenized as plain text: the model never sees the
 * marker it was trained on.
 */
const char *template_missing(const struct template_family *f,
    int (*has)(const char *token, void *arg), void *arg);

/* The families' names, comma-separated, malloc'd: for messages. */
char *template_names(void);

/* Returns the i-th family of the table, or NULL past its end. */
const struct template_family *template_at(size_t i);

/*
 * Renders the n messages msgs as family f's Jinja template does (system
 * messages, user and assistant turns; tool calls are not supported) into
 * *out, which template_out_free releases.  Returns 0, or -1 with *cause
 * set when memory runs out.
 */
int template_render(const struct template_family *f,
    const struct template_msg *msgs, size_t n,
    const struct template_opts *opts, struct template_out *out,
    char **cause);

void template_out_free(struct template_out *out);

/*
 * Returns the offset in text (len bytes) just after its last "</think>",
 * or 0 when there is none: what DeepSeek-R1's template keeps of an earlier
 * answer is text + that offset.
 */
size_t template_answer_offset(const char *text, size_t len);

#endif
