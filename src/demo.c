/*
 * demo.c - writes test-chat's model: a qwen2-shaped network with random
 * weights, the R1 distills' chat template and special tokens, and a
 * byte-level BPE vocabulary learned here, at generation time, from a text
 * of our own.  Everything comes from a fixed seed, so the file is the same
 * on every machine, and it is made once and kept in the cache.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "gguf.h"
#include "types.h"
#include "util.h"

#define DEMO_VERSION	1
#define DEMO_NAME	"r1chat demo (random weights)"
#define DEMO_MERGES	400
#define DEMO_SEED	0x5eed0fdeaULL

/* The shape: DeepSeek-R1-Distill-Qwen's layout, shrunk. */
static const struct {
	int	layers, embd, ff, heads, kv_heads, ctx;
} demo_shape = { 2, 128, 256, 4, 2, 4096 };

/* The text the merges are learned from. */
static const char demo_corpus[] =
    "The user asks a question, and the model thinks about it before it "
    "answers. First it reads the question again, then it tries an idea, "
    "checks the idea, and when the idea is wrong it tries another one. "
    "This is the reasoning: it is shown apart from the answer, in its own "
    "pane, and it is not kept for the next turn. When the reasoning is "
    "over, the model writes the answer, which is what the user wanted. "
    "Let me think. The question is about a number, so I should count. "
    "One, two, three, four, five, six, seven, eight, nine, ten. "
    "Wait, that is not right. Let me check it again. Hmm, so the answer "
    "should be the sum of the first and the last. I think that is it. "
    "So the answer is that there are many ways to see it, and here is "
    "one of them, step by step. Okay, so the user wants to know how this "
    "works. I need to explain it in simple words, without too much "
    "detail, and then give an example. Maybe I should also say what "
    "could go wrong. A model with random weights cannot think at all: "
    "every word it writes is drawn by chance, so what you read here is "
    "noise that only looks like text because its tokens are pieces of "
    "words. Real models, trained on a great deal of text, write real "
    "reasoning and real answers in the same two panes.\n";

/* R1's special tokens: U+FF5C for the bars, U+2581 for the spaces. */
#define BAR "\xef\xbd\x9c"
#define SP "\xe2\x96\x81"

enum { TT_NORMAL = 1, TT_CONTROL = 3, TT_USER_DEFINED = 4 };

static const struct {
	const char	*text;
	int		 type;
} demo_specials[] = {
	{ "<" BAR "end" SP "of" SP "sentence" BAR ">", TT_CONTROL },
	{ "<" BAR "User" BAR ">", TT_CONTROL },
	{ "<" BAR "Assistant" BAR ">", TT_CONTROL },
	{ "<" BAR "begin" SP "of" SP "sentence" BAR ">", TT_CONTROL },
	{ "<|EOT|>", TT_CONTROL },
	{ "<think>", TT_USER_DEFINED },
	{ "</think>", TT_USER_DEFINED },
};
#define N_SPECIALS (sizeof demo_specials / sizeof demo_specials[0])
#define SPECIAL_EOS 0
#define SPECIAL_BOS 3

/*
 * A chat template of our own that renders what the R1 distills' does
 * (the system prompt first, earlier answers without their reasoning, the
 * prompt ending inside <think>).
 */
static const char demo_template[] =
    "{{ bos_token }}"
    "{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ m['content'] }}{% endif %}{% endfor %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}<" BAR "User" BAR ">{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}<" BAR "Assistant" BAR ">"
    "{{ m['content'].split('</think>')[-1] }}"
    "<" BAR "end" SP "of" SP "sentence" BAR ">{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<" BAR "Assistant" BAR "><think>\n"
    "{% endif %}";

/* --- the vocabulary ------------------------------------------------------ */

struct vocab {
	char		**tok;		/* byte-level encoded texts */
	int		 n_tok;
	char		**merges;	/* "left right" */
	int		 n_merges;
};

/*
 * Appends byte b as GPT-2's byte-level encoding writes it: printable
 * Latin-1 bytes stand for themselves, the others for U+0100 onwards.
 */
static size_t
byte_encode(unsigned char b, char *out)
{
	unsigned	cp, k = 0, i;

	if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae)
		cp = b;
	else {
		/* The bytes left out above, in order, from U+0100. */
		for (i = 0; i < b; i++) {
			if (!((i >= '!' && i <= '~') || (i >= 0xa1 &&
			    i <= 0xac) || i >= 0xae))
				k++;
		}
		cp = 0x100 + k;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	out[0] = (char)(0xc0 | (cp >> 6));
	out[1] = (char)(0x80 | (cp & 0x3f));
	return 2;
}

/* A pre-token of the corpus as a list of token ids. */
struct word {
	int	*ids;
	int	 n;
};

/* Cuts the corpus roughly as the Qwen pre-tokenizer does. */
static struct word *
corpus_words(int *n_words)
{
	const char	*p = demo_corpus, *start;
	struct word	*w = NULL;
	int		 n = 0, i;

	while (*p != '\0') {
		start = p;
		if (*p == ' ')
			p++;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
			while ((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z'))
				p++;
		} else if (p == start)
			p++;
		w = xreallocarray(w, (size_t)n + 1, sizeof *w);
		w[n].n = (int)(p - start);
		w[n].ids = xcalloc((size_t)w[n].n, sizeof *w[n].ids);
		for (i = 0; i < w[n].n; i++)
			w[n].ids[i] = (unsigned char)start[i];
		n++;
	}
	*n_words = n;
	return w;
}

/*
 * Learns merges as BPE does: join the most frequent adjacent pair (the
 * lowest ids on a tie), again and again.
 */
static void
vocab_build(struct vocab *v)
{
	struct word	*w;
	int		 n_words, i, j, k, a, b, best, ba = 0, bb = 0, *count, id;
	char		 buf[8], *joined;
	size_t		 n;

	v->tok = xcalloc(256 + DEMO_MERGES + N_SPECIALS, sizeof *v->tok);
	v->merges = xcalloc(DEMO_MERGES, sizeof *v->merges);
	for (i = 0; i < 256; i++) {
		n = byte_encode((unsigned char)i, buf);
		v->tok[i] = xstrndup(buf, n);
	}
	v->n_tok = 256;
	w = corpus_words(&n_words);
	count = xcalloc((size_t)(256 + DEMO_MERGES) * (256 + DEMO_MERGES),
	    sizeof *count);
	for (k = 0; k < DEMO_MERGES; k++) {
		memset(count, 0, sizeof *count * (size_t)v->n_tok *
		    (size_t)v->n_tok);
		best = 1;
		for (i = 0; i < n_words; i++) {
			for (j = 0; j + 1 < w[i].n; j++) {
				a = w[i].ids[j];
				b = w[i].ids[j + 1];
				if (++count[a * v->n_tok + b] > best ||
				    (count[a * v->n_tok + b] == best &&
				    (a < ba || (a == ba && b < bb)))) {
					best = count[a * v->n_tok + b];
					ba = a;
					bb = b;
				}
			}
		}
		if (best < 2)
			break;
		v->merges[v->n_merges++] = xstrfmt("%s %s", v->tok[ba],
		    v->tok[bb]);
		joined = xstrfmt("%s%s", v->tok[ba], v->tok[bb]);
		/* Two merges may spell one token ("a bc", "ab c"): keep one. */
		for (id = 0; id < v->n_tok; id++) {
			if (strcmp(v->tok[id], joined) == 0)
				break;
		}
		if (id == v->n_tok)
			v->tok[v->n_tok++] = joined;
		else
			free(joined);
		for (i = 0; i < n_words; i++) {
			for (j = 0; j + 1 < w[i].n; j++) {
				if (w[i].ids[j] != ba || w[i].ids[j + 1] != bb)
					continue;
				w[i].ids[j] = id;
				memmove(&w[i].ids[j + 1], &w[i].ids[j + 2],
				    sizeof *w[i].ids * (size_t)(w[i].n - j - 2));
				w[i].n--;
			}
		}
		best = 1;
		ba = bb = 0;
	}
	for (i = 0; i < n_words; i++)
		free(w[i].ids);
	free(w);
	free(count);
	for (i = 0; i < (int)N_SPECIALS; i++)
		v->tok[v->n_tok++] = xstrdup(demo_specials[i].text);
}

static void
vocab_free(struct vocab *v)
{
	int	i;

	for (i = 0; i < v->n_tok; i++)
		free(v->tok[i]);
	for (i = 0; i < v->n_merges; i++)
		free(v->merges[i]);
	free(v->tok);
	free(v->merges);
}

/* --- the weights ------------------------------------------------------------ */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Roughly normal (a sum of four uniforms), mean 0, deviation 1. */
static float
rng_normal(uint64_t *s)
{
	double	sum = 0;
	int	i;

	for (i = 0; i < 4; i++)
		sum += (double)(rng_next(s) >> 11) / 9007199254740992.0;
	return (float)((sum - 2.0) * 1.7320508075688772);
}

struct weights {
	struct gguf_writer	 *w;
	float			**bufs;
	int			  n_bufs;
	uint64_t		  rng;
};

/*
 * 1 when token id may be drawn by the noise: not a special (which would
 * end the answer or start a turn), not a byte that is no text alone.
 */
static int
demo_drawable(int64_t id, int n_normal)
{
	if (id >= n_normal)
		return 0;
	return id >= 256 || id == '\n' || (id >= ' ' && id <= '~');
}

/*
 * Adds a tensor of rows x cols F32 values: mean + std * noise.  With
 * n_normal > 0 it is the output matrix, whose rows for tokens the noise
 * should not draw are zero: their logits stay 0 among larger ones.
 */
static void
weights_add(struct weights *wt, const char *name, int64_t cols, int64_t rows,
    float mean, float std, int n_normal)
{
	int64_t	 ne[2] = { cols, rows }, i;
	float	*f = xcalloc((size_t)(cols * rows), sizeof *f);

	for (i = 0; i < cols * rows; i++)
		f[i] = n_normal > 0 && !demo_drawable(i / cols, n_normal) ?
		    0.0f : mean + std * rng_normal(&wt->rng);
	gguf_writer_add_tensor(wt->w, name, GGML_TYPE_F32, rows == 1 ? 1 : 2,
	    ne, f);
	wt->bufs = xreallocarray(wt->bufs, (size_t)wt->n_bufs + 1,
	    sizeof *wt->bufs);
	wt->bufs[wt->n_bufs++] = f;
}

static float
inv_sqrt(int n)
{
	return 1.0f / sqrtf((float)n);
}

static void
demo_tensors(struct weights *wt, int n_vocab, int n_normal)
{
	int	 e = demo_shape.embd, ff = demo_shape.ff;
	int	 kv = demo_shape.kv_heads * (e / demo_shape.heads), l;
	char	 name[64];

	weights_add(wt, "token_embd.weight", e, n_vocab, 0, 1.0f, 0);
	for (l = 0; l < demo_shape.layers; l++) {
#define T(s) (snprintf(name, sizeof name, "blk.%d." s, l), name)
		weights_add(wt, T("attn_norm.weight"), e, 1, 1, 0.1f, 0);
		weights_add(wt, T("attn_q.weight"), e, e, 0, inv_sqrt(e), 0);
		weights_add(wt, T("attn_k.weight"), e, kv, 0, inv_sqrt(e), 0);
		weights_add(wt, T("attn_v.weight"), e, kv, 0, inv_sqrt(e), 0);
		weights_add(wt, T("attn_q.bias"), e, 1, 0, 0.1f, 0);
		weights_add(wt, T("attn_k.bias"), kv, 1, 0, 0.1f, 0);
		weights_add(wt, T("attn_v.bias"), kv, 1, 0, 0.1f, 0);
		weights_add(wt, T("attn_output.weight"), e, e, 0, inv_sqrt(e), 0);
		weights_add(wt, T("ffn_norm.weight"), e, 1, 1, 0.1f, 0);
		weights_add(wt, T("ffn_gate.weight"), e, ff, 0, inv_sqrt(e), 0);
		weights_add(wt, T("ffn_up.weight"), e, ff, 0, inv_sqrt(e), 0);
		weights_add(wt, T("ffn_down.weight"), ff, e, 0, inv_sqrt(ff), 0);
#undef T
	}
	weights_add(wt, "output_norm.weight", e, 1, 1, 0.1f, 0);
	/* Large output weights: peaked distributions, word-like noise. */
	weights_add(wt, "output.weight", e, n_vocab, 0, 4 * inv_sqrt(e),
	    n_normal);
}

/* --- the file ------------------------------------------------------------------ */

static int
demo_write(const char *path, char **cause)
{
	struct vocab	 v;
	struct weights	 wt;
	int32_t		*types;
	int		 i, rc, n_normal;
	char		 key[64];

	memset(&v, 0, sizeof v);
	vocab_build(&v);
	n_normal = v.n_tok - (int)N_SPECIALS;
	types = xcalloc((size_t)v.n_tok, sizeof *types);
	for (i = 0; i < v.n_tok; i++)
		types[i] = i < n_normal ? TT_NORMAL :
		    demo_specials[i - n_normal].type;

	memset(&wt, 0, sizeof wt);
	wt.w = gguf_writer_new();
	wt.rng = DEMO_SEED;
	gguf_writer_set_str(wt.w, "general.architecture", "qwen2");
	gguf_writer_set_str(wt.w, "general.name", DEMO_NAME);
	gguf_writer_set_u32(wt.w, "general.file_type", 0);
	gguf_writer_set_u32(wt.w, "r1chat.demo_version", DEMO_VERSION);
#define K(s) (snprintf(key, sizeof key, "qwen2." s), key)
	gguf_writer_set_u32(wt.w, K("context_length"), demo_shape.ctx);
	gguf_writer_set_u32(wt.w, K("embedding_length"), demo_shape.embd);
	gguf_writer_set_u32(wt.w, K("block_count"), demo_shape.layers);
	gguf_writer_set_u32(wt.w, K("feed_forward_length"), demo_shape.ff);
	gguf_writer_set_u32(wt.w, K("attention.head_count"), demo_shape.heads);
	gguf_writer_set_u32(wt.w, K("attention.head_count_kv"),
	    demo_shape.kv_heads);
	gguf_writer_set_u32(wt.w, K("rope.dimension_count"),
	    demo_shape.embd / demo_shape.heads);
	gguf_writer_set_f32(wt.w, K("rope.freq_base"), 10000.0f);
	gguf_writer_set_f32(wt.w, K("attention.layer_norm_rms_epsilon"), 1e-6f);
	gguf_writer_set_u32(wt.w, K("vocab_size"), (uint32_t)v.n_tok);
#undef K
	gguf_writer_set_str(wt.w, "tokenizer.ggml.model", "gpt2");
	gguf_writer_set_str(wt.w, "tokenizer.ggml.pre", "deepseek-r1-qwen");
	gguf_writer_set_str_arr(wt.w, "tokenizer.ggml.tokens",
	    (const char *const *)v.tok, (uint64_t)v.n_tok);
	gguf_writer_set_arr(wt.w, "tokenizer.ggml.token_type", GGUF_I32, types,
	    (uint64_t)v.n_tok);
	gguf_writer_set_str_arr(wt.w, "tokenizer.ggml.merges",
	    (const char *const *)v.merges, (uint64_t)v.n_merges);
	gguf_writer_set_u32(wt.w, "tokenizer.ggml.bos_token_id",
	    (uint32_t)(n_normal + SPECIAL_BOS));
	gguf_writer_set_u32(wt.w, "tokenizer.ggml.eos_token_id",
	    (uint32_t)(n_normal + SPECIAL_EOS));
	gguf_writer_set_u32(wt.w, "tokenizer.ggml.padding_token_id",
	    (uint32_t)(n_normal + SPECIAL_EOS));
	gguf_writer_set_bool(wt.w, "tokenizer.ggml.add_bos_token", 1);
	gguf_writer_set_bool(wt.w, "tokenizer.ggml.add_eos_token", 0);
	gguf_writer_set_str(wt.w, "tokenizer.chat_template", demo_template);
	demo_tensors(&wt, v.n_tok, n_normal);

	rc = gguf_writer_write(wt.w, path, cause);
	gguf_writer_free(wt.w);
	for (i = 0; i < wt.n_bufs; i++)
		free(wt.bufs[i]);
	free(wt.bufs);
	free(types);
	vocab_free(&v);
	return rc;
}

/* 1 when path holds this version's demo model. */
static int
demo_valid(const char *path)
{
	struct gguf_file	*g;
	char			*cause = NULL;
	uint32_t		 version;
	int			 ok;

	if ((g = gguf_open(path, &cause)) == NULL) {
		free(cause);
		return 0;
	}
	ok = gguf_get_u32(g, "r1chat.demo_version", &version) == 0 &&
	    version == DEMO_VERSION;
	gguf_close(g);
	return ok;
}

char *
demo_model(char **cause)
{
	char	*name, *path;

	name = xstrfmt("demo-%d.gguf", DEMO_VERSION);
	path = util_cache_path(name);
	free(name);
	if (path == NULL) {
		*cause = xstrdup("no cache directory: set XDG_CACHE_HOME or "
		    "HOME");
		return NULL;
	}
	if (demo_valid(path))
		return path;
	if (util_mkdirs(path, 0755, cause) != 0 ||
	    demo_write(path, cause) != 0) {
		free(path);
		return NULL;
	}
	return path;
}
