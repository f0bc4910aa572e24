/*
 * mkmodel - writes a test model: the tensor layout and metadata llama.cpp
 * expects for an architecture, pseudo-random weights from a seed, the
 * tokenizer of a real vocabulary-only GGUF.
 *
 *   mkmodel --arch qwen2|llama|qwen3|ds2-lite|ds2-v3 --type TYPE --seed N
 *       -o OUT.gguf
 *       [--vocab VOCAB.gguf] [--n-vocab N] [--preset tiny|r1-qwen-1.5b]
 *       [--layers N] [--embd N] [--ff N] [--heads N] [--kv-heads N]
 *       [--head-dim N] [--ctx N] [--rope-base F] [--tied | --untied]
 *       [--no-rope-freqs] [--arch-name NAME] [--drop TENSOR]
 *       [--mla-split | --mla-stacked] [--experts N] [--experts-used N]
 *       [--ff-exp N] [--endless]
 *
 * The weights do not depend on TYPE: every tensor's values come from its
 * own stream (seed and name), so the F32 and Q4_0 files of one seed hold
 * the same model at two precisions.  The generator uses integer
 * arithmetic, + - * / and sqrt only (all correctly rounded in IEEE 754;
 * no log or cos), so the same seed gives the same bytes on any machine.
 *
 * --n-vocab N keeps the first N ordinary tokens of the vocabulary (plus
 * every control and user-defined token, renumbered after them) and the
 * merges among the kept tokens: a smaller but self-consistent BPE, which
 * keeps test models a few MB.  0 keeps the whole vocabulary.
 *
 * ds2-lite is shaped like DeepSeek-V2-Lite (no q_lora, softmax routing,
 * the stacked attn_kv_b of older conversions), ds2-v3 like V3/R1 (q_lora,
 * sigmoid routing over expert groups with exp_probs_b, attn_k_b and
 * attn_v_b); both have a leading dense layer, shared experts and YaRN.
 * --mla-split and --mla-stacked choose the attention tensors' form;
 * --experts, --experts-used and --ff-exp resize the routed experts.
 *
 * --endless zeroes the output row of every token that is not ordinary
 * text (end of sentence, <think>, every control token): its logit is 0
 * while the largest of the others is well above, so greedy decoding never
 * ends a turn by itself, on any kernel.  For the tests of answers stopped
 * midway (Ctrl-C, signals), which must not depend on what a model says.
 *
 * For the tests of bad input: --arch-name writes another
 * general.architecture (and key prefix) over the layout of --arch, and
 * --drop leaves one tensor out.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gguf.h"
#include "quant.h"
#include "quantmix.h"
#include "types.h"
#include "util.h"

/* Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type). */
#define TOKEN_NORMAL 1

/*
 * deepseek2's extra shape: MLA ranks and head parts, the experts and
 * their routing, YaRN.  split writes attn_k_b/attn_v_b (newer
 * conversions), else attn_kv_b.
 */
struct ds2_desc {
	int	 q_lora;	/* 0: plain attn_q, no q_lora_rank key (V2-Lite) */
	int	 kv_lora, nope, rope, v;
	int	 n_dense;	/* leading dense layers */
	int	 n_expert, n_used, n_shared, ff_exp;
	int	 n_group, n_group_used;	/* 0: no keys */
	int	 gating;	/* 0: no key (softmax), 1 softmax, 2 sigmoid */
	int	 norm;
	int	 probs_b;	/* exp_probs_b.bias tensors */
	float	 scale;
	float	 yarn_factor;	/* 0: no rope scaling */
	int	 yarn_orig;
	float	 yarn_log_mul;	/* as the converter writes it: 0.1 * mscale_all_dim */
	int	 split;
	float	 qk_spread;	/* query and key weights' std, times 1/sqrt(cols) */
	float	 exp_spread;	/* the same for the routed experts' down */
};

static const struct ds2_desc ds2_lite = {
	.kv_lora = 256, .nope = 64, .rope = 32, .v = 64, .n_dense = 1,
	.n_expert = 4, .n_used = 2, .n_shared = 2, .ff_exp = 128,
	.scale = 1.0f, .yarn_factor = 40, .yarn_orig = 4096,
	.yarn_log_mul = 0.0707f, .qk_spread = 1, .exp_spread = 0.5f,
};

static const struct ds2_desc ds2_v3 = {
	.q_lora = 256, .kv_lora = 256, .nope = 64, .rope = 32, .v = 64,
	.n_dense = 1, .n_expert = 16, .n_used = 4, .n_shared = 1,
	.ff_exp = 128, .n_group = 4, .n_group_used = 2, .gating = 2,
	.norm = 1, .probs_b = 1, .scale = 2.5f, .yarn_factor = 4,
	.yarn_orig = 1024, .yarn_log_mul = 0.1f, .split = 1, .qk_spread = 1.5f,
	.exp_spread = 0.5f,
};

struct arch_desc {
	const char	*name;
	const char	*gguf_arch;	/* general.architecture, if not name */
	const struct ds2_desc *ds2;
	int		 layers;	/* 0: the preset's */
	int		 heads;
	const char	*vocab;		/* default vocabulary, in $R1CHAT_TESTDATA/vocab */
	int		 qkv_bias;	/* attn_{q,k,v}.bias (qwen2) */
	int		 qk_norm;	/* attn_{q,k}_norm (qwen3) */
	int		 rope_freqs;	/* llama3-style rope_freqs.weight */
	int		 tied;		/* no output.weight by default */
	int		 head_dim;	/* 0: embd / heads */
	float		 rope_base;
	float		 eps;
};

static const struct arch_desc arch_table[] = {
	{ .name = "qwen2", .vocab = "deepseek-r1-qwen.gguf", .qkv_bias = 1,
	  .rope_base = 10000.0f, .eps = 1e-6f },
	{ .name = "llama", .vocab = "llama-bpe.gguf", .rope_freqs = 1,
	  .rope_base = 500000.0f, .eps = 1e-5f },
	{ .name = "qwen3", .vocab = "deepseek-r1-qwen.gguf", .qk_norm = 1,
	  .tied = 1, .head_dim = 128, .rope_base = 1000000.0f, .eps = 1e-6f },
	/* V2-Lite's 27 layers: llama.cpp wants q_lora_rank unless 26 or 27 */
	{ .name = "ds2-lite", .gguf_arch = "deepseek2", .ds2 = &ds2_lite,
	  .layers = 27, .heads = 2, .vocab = "deepseek-r1.gguf",
	  .rope_base = 10000.0f, .eps = 1e-6f },
	{ .name = "ds2-v3", .gguf_arch = "deepseek2", .ds2 = &ds2_v3,
	  .layers = 4, .heads = 4, .vocab = "deepseek-r1.gguf",
	  .rope_base = 10000.0f, .eps = 1e-6f },
};

struct shape {
	int	layers, embd, ff, heads, kv_heads, head_dim, ctx, n_vocab;
};

/* Shapes: tiny for tests (row lengths multiples of 256 for the K-quants). */
static const struct {
	const char	*name;
	struct shape	 s;
} preset_table[] = {
	{ "tiny", { .layers = 2, .embd = 256, .ff = 512, .heads = 4,
	    .kv_heads = 2, .ctx = 4096, .n_vocab = 4096 } },
	{ "r1-qwen-1.5b", { .layers = 28, .embd = 1536, .ff = 8960,
	    .heads = 12, .kv_heads = 2, .head_dim = 128, .ctx = 131072,
	    .n_vocab = 0 } },
};

/*
 * --type: a ggml type makes every matrix that type ("pure"); a mixture
 * name asks llama.cpp's per-tensor rules (mix 1), or, for UD-*, the
 * Unsloth-style rules of ud_type (mix 2).  ftype is general.file_type.
 */
#define MIX_LLAMA 1
#define MIX_UD 2
struct type_desc {
	const char	*name;
	enum ggml_type	 type;
	uint32_t	 ftype;
	int		 mix;
};

static const struct type_desc type_table[] = {
	{ "F32", GGML_TYPE_F32, 0, 0 },
	{ "F16", GGML_TYPE_F16, 1, 0 },
	{ "BF16", GGML_TYPE_BF16, 32, 0 },
	{ "Q8_0", GGML_TYPE_Q8_0, 7, 0 },
	{ "Q4_0", GGML_TYPE_Q4_0, 2, 0 },
	{ "Q4_1", GGML_TYPE_Q4_1, 3, 0 },
	{ "Q5_0", GGML_TYPE_Q5_0, 8, 0 },
	{ "Q5_1", GGML_TYPE_Q5_1, 9, 0 },
	{ "Q2_K", GGML_TYPE_Q2_K, 10, 0 },
	{ "Q3_K", GGML_TYPE_Q3_K, 12, 0 },
	{ "Q4_K", GGML_TYPE_Q4_K, 15, 0 },
	{ "Q5_K", GGML_TYPE_Q5_K, 17, 0 },
	{ "Q6_K", GGML_TYPE_Q6_K, 18, 0 },
	{ "Q3_K_S", GGML_TYPE_Q3_K, 11, 1 },
	{ "Q3_K_M", GGML_TYPE_Q3_K, 12, 1 },
	{ "Q3_K_L", GGML_TYPE_Q3_K, 13, 1 },
	{ "Q4_K_S", GGML_TYPE_Q4_K, 14, 1 },
	{ "Q4_K_M", GGML_TYPE_Q4_K, 15, 1 },
	{ "Q5_K_S", GGML_TYPE_Q5_K, 16, 1 },
	{ "Q5_K_M", GGML_TYPE_Q5_K, 17, 1 },
	{ "IQ4_NL", GGML_TYPE_IQ4_NL, 25, 1 },
	{ "IQ4_XS", GGML_TYPE_IQ4_XS, 30, 1 },
	/* No quantizer: random valid blocks (see random_blocks). */
	{ "IQ1_S", GGML_TYPE_IQ1_S, 24, 0 },
	{ "IQ1_M", GGML_TYPE_IQ1_M, 31, 0 },
	{ "IQ2_XXS", GGML_TYPE_IQ2_XXS, 19, 0 },
	{ "IQ2_XS", GGML_TYPE_IQ2_XS, 20, 0 },
	{ "IQ2_S", GGML_TYPE_IQ2_S, 28, 0 },
	{ "IQ3_XXS", GGML_TYPE_IQ3_XXS, 23, 0 },
	{ "IQ3_S", GGML_TYPE_IQ3_S, 26, 0 },
	{ "UD-IQ1_S", GGML_TYPE_IQ1_S, 24, MIX_UD },
	{ "UD-IQ1_M", GGML_TYPE_IQ1_M, 31, MIX_UD },
	{ "UD-IQ2_XXS", GGML_TYPE_IQ2_XXS, 19, MIX_UD },
	{ "UD-IQ2_XS", GGML_TYPE_IQ2_XS, 20, MIX_UD },
	{ "UD-IQ2_S", GGML_TYPE_IQ2_S, 28, MIX_UD },
	{ "UD-IQ3_XXS", GGML_TYPE_IQ3_XXS, 23, MIX_UD },
	{ "UD-IQ3_S", GGML_TYPE_IQ3_S, 26, MIX_UD },
};

/*
 * Unsloth's dynamic quants keep the low-bit type for the big FFN
 * matrices and give what is small or sensitive more bits: ffn_down one
 * step up, attention Q2_K-Q6_K, the embeddings Q4_K and the output Q6_K.
 */
static const struct {
	enum ggml_type	base, down, qk;
} ud_rules[] = {
	{ GGML_TYPE_IQ1_S, GGML_TYPE_IQ2_XXS, GGML_TYPE_Q2_K },
	{ GGML_TYPE_IQ1_M, GGML_TYPE_IQ2_XXS, GGML_TYPE_Q2_K },
	{ GGML_TYPE_IQ2_XXS, GGML_TYPE_IQ3_XXS, GGML_TYPE_Q3_K },
	{ GGML_TYPE_IQ2_XS, GGML_TYPE_IQ3_XXS, GGML_TYPE_Q3_K },
	{ GGML_TYPE_IQ2_S, GGML_TYPE_IQ3_S, GGML_TYPE_Q3_K },
	{ GGML_TYPE_IQ3_XXS, GGML_TYPE_IQ4_XS, GGML_TYPE_Q4_K },
	{ GGML_TYPE_IQ3_S, GGML_TYPE_IQ4_XS, GGML_TYPE_Q4_K },
};

static const struct {
	const char	*frag;
	enum ggml_type	 type;	/* when which is 0 */
	int		 which;	/* 0 this type, 1 the rule's down, 2 its qk */
} ud_tensors[] = {
	{ "attn_output.weight", GGML_TYPE_Q5_K, 0 },	/* before output */
	{ "token_embd.weight", GGML_TYPE_Q4_K, 0 },
	{ "output.weight", GGML_TYPE_Q6_K, 0 },
	{ "attn_v.weight", GGML_TYPE_Q6_K, 0 },
	{ "attn_q.weight", GGML_TYPE_COUNT, 2 },
	{ "attn_k.weight", GGML_TYPE_COUNT, 2 },
	{ "ffn_down.weight", GGML_TYPE_COUNT, 1 },
};

static enum ggml_type
ud_type(enum ggml_type base, const char *name)
{
	size_t	i, k;

	for (k = 0; ud_rules[k].base != base; k++)
		;
	for (i = 0; i < sizeof ud_tensors / sizeof ud_tensors[0]; i++) {
		if (strstr(name, ud_tensors[i].frag) == NULL)
			continue;
		return ud_tensors[i].which == 0 ? ud_tensors[i].type :
		    ud_tensors[i].which == 1 ? ud_rules[k].down :
		    ud_rules[k].qk;
	}
	return base;
}

struct gen {
	const struct arch_desc	*arch;
	const struct type_desc	*type;
	struct shape		 s;
	uint64_t		 seed;
	int			 tied;
	int			 rope_freqs;
	float			 rope_base;
	struct gguf_writer	*w;
	void			**bufs;		/* tensor data, freed after writing */
	int			 n_bufs;
	/* the mixture rules see every tensor name first (collect pass) */
	int			 collect;
	const char		*arch_name;	/* general.architecture */
	const char		*drop;		/* a tensor left out */
	char			**names;
	size_t			 n_names;
	struct quantmix		 qm;
	int			 split;		/* deepseek2: attn_k_b/attn_v_b */
	struct ds2_desc		 ds2;		/* deepseek2: the arch's, overridden */
	int			 endless;	/* --endless */
	uint8_t			*special;	/* n_vocab flags: not TOKEN_NORMAL */
};

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("mkmodel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* splitmix64: a small PRNG with a good spread from any seed. */
static uint64_t
rng_next(uint64_t *st)
{
	uint64_t	z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * A unit-variance, zero-mean value: the sum of four uniforms (Irwin-Hall),
 * centred and scaled by sqrt(3).  Close enough to normal, and no libm.
 */
static float
rng_normal(uint64_t *st)
{
	uint64_t	r = rng_next(st);
	double		sum = 0;
	int		i;

	for (i = 0; i < 4; i++)
		sum += (double)((r >> (16 * i)) & 0xffff) / 65536.0;
	return (float)((sum - 2.0) * 1.7320508075688772);
}

static float
isqrt(int64_t n)
{
	return (float)sqrt((double)n);
}

static uint64_t
name_hash(const char *s)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

/* Picks the type of one tensor: pure, or the mixture's rule. */
static enum ggml_type
pick_type(struct gen *g, const char *name, uint32_t n_dims,
    const int64_t *ne)
{
	enum ggml_type	t = g->type->type;
	int64_t		cols = ne[0];

	if (g->type->mix == MIX_LLAMA)
		return (enum ggml_type)quantmix_type(&g->qm, name, n_dims, ne,
		    GGML_TYPE_F32);
	/* the router stays F32, as llama.cpp's quantizer leaves it */
	if (n_dims == 1 || strstr(name, "ffn_gate_inp") != NULL)
		return GGML_TYPE_F32;
	if (g->type->mix == MIX_UD)
		t = ud_type(t, name);
	if (cols % type_info(t)->blck != 0) {
		/* llama.cpp's fallback for rows the K-quants cannot cover */
		switch (t) {
		case GGML_TYPE_Q2_K:
		case GGML_TYPE_Q3_K:
			t = GGML_TYPE_Q4_0;
			break;
		case GGML_TYPE_Q4_K:
			t = GGML_TYPE_Q5_0;
			break;
		case GGML_TYPE_Q5_K:
			t = GGML_TYPE_Q5_1;
			break;
		case GGML_TYPE_IQ1_S:
		case GGML_TYPE_IQ1_M:
		case GGML_TYPE_IQ2_XXS:
		case GGML_TYPE_IQ2_XS:
		case GGML_TYPE_IQ2_S:
		case GGML_TYPE_IQ3_XXS:
		case GGML_TYPE_IQ3_S:
		case GGML_TYPE_IQ4_XS:
			t = GGML_TYPE_IQ4_NL;
			break;
		default:
			t = GGML_TYPE_Q8_0;
			break;
		}
		if (cols % type_info(t)->blck != 0)
			t = GGML_TYPE_F16;
	}
	return t;
}

/* Sets the F16 super-scale of one block of an i-quant (IQ1_M: nibbles). */
static void
set_block_scale(enum ggml_type t, uint8_t *b, float d)
{
	ggml_half	h = quant_f32_to_f16(d);
	uint16_t	sc[4];
	int		k;

	if (t != GGML_TYPE_IQ1_M) {
		memcpy(b, &h, sizeof h);
		return;
	}
	/* The top nibble of each of the 4 scale words, low bits first. */
	memcpy(sc, b + 48, sizeof sc);
	for (k = 0; k < 4; k++)
		sc[k] = (uint16_t)((sc[k] & 0x0fff) | ((h >> 4 * k) & 0xf) << 12);
	memcpy(b + 48, sc, sizeof sc);
}

/*
 * A row of cols weights of type t (which has no quantizer: the 1-3-bit
 * i-quants need an importance matrix to quantize well) as random valid
 * blocks: random codebook indices, signs and group scales, with each
 * block's super-scale set so that its RMS is std.
 */
static void
random_blocks(enum ggml_type t, uint8_t *row, int64_t cols, float std,
    uint64_t *st)
{
	const struct quant_traits	*qt = quant_traits(t);
	float				 y[256];
	double				 ms;
	uint64_t			 r = 0;
	size_t				 i;
	int64_t				 b;
	int				 k;

	for (b = 0; b < cols / qt->blck; b++) {
		uint8_t	*p = row + (size_t)b * qt->size;

		for (i = 0; i < qt->size; i++) {
			if (i % 8 == 0)
				r = rng_next(st);
			p[i] = (uint8_t)(r >> 8 * (i % 8));
		}
		set_block_scale(t, p, 1.0f);
		qt->to_float(p, y, qt->blck);
		for (ms = 0, k = 0; k < qt->blck; k++)
			ms += (double)y[k] * y[k];
		ms /= qt->blck;
		set_block_scale(t, p, ms > 0 ? std / (float)sqrt(ms) : 0);
	}
}

/*
 * Adds tensor name of n_mat matrices of rows x cols (rows 1: a vector)
 * filled with mean + std * N(0,1) from the tensor's own stream, quantized
 * row by row.
 */
static void
add_tensor3(struct gen *g, const char *name, int64_t cols, int64_t rows,
    int64_t n_mat, float mean, float std)
{
	const struct quant_traits	*qt;
	enum ggml_type			 t;
	uint64_t			 st;
	int64_t				 r, c, ne[3] = { cols, rows, n_mat };
	size_t				 rs;
	uint32_t			 nd = n_mat > 1 ? 3 : rows == 1 ? 1 : 2;
	float				*row;
	uint8_t				*data;
	int				 mute = g->endless && strcmp(name,
	    g->tied ? "token_embd.weight" : "output.weight") == 0;

	if (g->drop != NULL && strcmp(name, g->drop) == 0)
		return;
	if (g->collect) {
		g->names = xreallocarray(g->names, g->n_names + 1,
		    sizeof *g->names);
		g->names[g->n_names++] = xstrdup(name);
		return;
	}
	t = pick_type(g, name, nd, ne);
	rs = type_row_size(t, cols);
	if (rs == 0)
		die("%s: %lld columns do not fit type %s", name,
		    (long long)cols, type_info(t)->name);
	rows *= n_mat;
	data = malloc(rs * (size_t)rows);
	row = malloc(sizeof *row * (size_t)cols);
	if (data == NULL || row == NULL)
		die("%s: out of memory", name);
	qt = quant_traits(t);
	if (t != GGML_TYPE_F32 && qt == NULL)
		die("%s: no kernels for %s", name, type_info(t)->name);
	st = g->seed * 0x2545f4914f6cdd1dULL ^ name_hash(name);
	for (r = 0; r < rows; r++) {
		if (t != GGML_TYPE_F32 && qt->from_float_ref == NULL) {
			if (mute)
				die("--endless: %s cannot be written as %s",
				    name, type_info(t)->name);
			random_blocks(t, data + rs * (size_t)r, cols, std, &st);
			continue;
		}
		for (c = 0; c < cols; c++)
			row[c] = mean + std * rng_normal(&st);
		if (mute && g->special[r])
			memset(row, 0, sizeof *row * (size_t)cols);
		if (t == GGML_TYPE_F32)
			memcpy(data + rs * (size_t)r, row, rs);
		else
			qt->from_float_ref(row, data + rs * (size_t)r, cols);
	}
	free(row);
	gguf_writer_add_tensor(g->w, name, t, nd, ne, data);
	g->bufs = xreallocarray(g->bufs, (size_t)g->n_bufs + 1,
	    sizeof *g->bufs);
	g->bufs[g->n_bufs++] = data;
}

static void
add_tensor(struct gen *g, const char *name, int64_t cols, int64_t rows,
    float mean, float std)
{
	add_tensor3(g, name, cols, rows, 1, mean, std);
}

/*
 * llama3's rope_freqs: frequency divisors, 1 for short wavelengths, the
 * factor for long ones, a smooth ramp between (Meta's
 * apply_scaling with factor 8, low 1, high 4, original context 8192).
 * The wavelength test needs 2*pi*base^(2i/n): computed by repeated
 * multiplication, to stay off libm.
 */
static void
add_rope_freqs(struct gen *g, int n_rot)
{
	const double	 factor = 8, lo = 1, hi = 4, orig = 8192;
	const double	 lo_wl = orig / lo, hi_wl = orig / hi;
	int64_t		 ne[1] = { n_rot / 2 };
	float		*f;
	double		 step, wl, smooth;
	int		 i, k;

	if (g->collect) {
		g->names = xreallocarray(g->names, g->n_names + 1,
		    sizeof *g->names);
		g->names[g->n_names++] = xstrdup("rope_freqs.weight");
		return;
	}
	if (g->type->mix == MIX_LLAMA) {
		/* keep the rules' count in step; rope_freqs stays F32 */
		quantmix_type(&g->qm, "rope_freqs.weight", 1, ne,
		    GGML_TYPE_F32);
	}

	/* step = base^(2/n_rot) by bisection on step^(n_rot/2) = base */
	{
		double	a = 1, b = g->rope_base, m, p;

		for (k = 0; k < 200; k++) {
			m = (a + b) / 2;
			p = 1;
			for (i = 0; i < n_rot / 2; i++)
				p *= m;
			if (p < g->rope_base)
				a = m;
			else
				b = m;
		}
		step = (a + b) / 2;
	}
	f = xcalloc((size_t)n_rot / 2, sizeof *f);
	wl = 2 * 3.14159265358979323846;
	for (i = 0; i < n_rot / 2; i++) {
		if (wl < hi_wl)
			f[i] = 1;
		else if (wl > lo_wl)
			f[i] = (float)factor;
		else {
			smooth = (orig / wl - lo) / (hi - lo);
			f[i] = (float)(1 / ((1 - smooth) / factor + smooth));
		}
		wl *= step;
	}
	gguf_writer_add_tensor(g->w, "rope_freqs.weight", GGML_TYPE_F32, 1, ne,
	    f);
	g->bufs = xreallocarray(g->bufs, (size_t)g->n_bufs + 1,
	    sizeof *g->bufs);
	g->bufs[g->n_bufs++] = f;
}

/* A set of byte strings (the kept tokens), open addressing. */
struct strset {
	const char	**ptr;
	uint64_t	 *len;
	size_t		  cap;
};

static uint64_t
bytes_hash(const char *p, uint64_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ (uint8_t)*p++) * 0x100000001b3ULL;
	return h;
}

static int
strset_has(const struct strset *s, const char *p, uint64_t n)
{
	size_t	i = bytes_hash(p, n) & (s->cap - 1);

	for (; s->ptr[i] != NULL; i = (i + 1) & (s->cap - 1)) {
		if (s->len[i] == n && memcmp(s->ptr[i], p, n) == 0)
			return 1;
	}
	return 0;
}

static void
strset_add(struct strset *s, const char *p, uint64_t n)
{
	size_t	i = bytes_hash(p, n) & (s->cap - 1);

	while (s->ptr[i] != NULL)
		i = (i + 1) & (s->cap - 1);
	s->ptr[i] = p;
	s->len[i] = n;
}

/* Item i of a string array through its gguf_arr_index table. */
static const char *
str_at(const uint8_t **idx, uint64_t i, uint64_t *len)
{
	uint64_t	n = 0;
	int		b;

	for (b = 7; b >= 0; b--)
		n = n << 8 | idx[i][b];
	*len = n;
	return (const char *)idx[i] + 8;
}

/*
 * Copies the tokenizer.* metadata of vocab into the writer, cut down to
 * n_keep ordinary tokens when n_keep > 0.  Returns the vocabulary size.
 */
static int64_t
copy_vocab(struct gen *g, const struct gguf_file *v, int n_keep)
{
	const struct gguf_kv	*toks, *types, *merges;
	struct gguf_value	 it;
	struct strset		 set;
	const char		**names;
	int32_t			*newtype, *map;
	int64_t			 n, i, n_new = 0, n_merges = 0;
	uint64_t		 k;
	char			**keep_merges, *buf;
	const char		*sp, *tp;
	const uint8_t		**tidx, **midx;
	uint64_t		 tl;

	toks = gguf_find(v, "tokenizer.ggml.tokens");
	types = gguf_find(v, "tokenizer.ggml.token_type");
	merges = gguf_find(v, "tokenizer.ggml.merges");
	if (toks == NULL || toks->v.type != GGUF_ARRAY ||
	    toks->v.arr.type != GGUF_STRING)
		die("vocabulary has no tokenizer.ggml.tokens");
	n = (int64_t)toks->v.arr.n;
	g->special = xcalloc((size_t)n, 1);
	if (n_keep <= 0 || types == NULL || merges == NULL || n_keep >= n) {
		for (k = 0; k < v->n_kv; k++) {
			if (strncmp(v->kv[k].key, "tokenizer.", 10) == 0)
				gguf_writer_copy_kv(g->w, &v->kv[k]);
		}
		for (i = 0; types != NULL && i < n; i++)
			g->special[i] = gguf_arr_item(&types->v, (uint64_t)i,
			    &it) == 0 && it.i != TOKEN_NORMAL;
		return n;
	}

	tidx = gguf_arr_index(&toks->v);
	midx = gguf_arr_index(&merges->v);
	if (tidx == NULL || midx == NULL)
		die("vocabulary: cannot index the tokens or merges");
	names = xcalloc((size_t)n, sizeof *names);
	newtype = xcalloc((size_t)n, sizeof *newtype);
	map = xcalloc((size_t)n, sizeof *map);
	set.cap = 1;
	while (set.cap < 4 * (size_t)n)
		set.cap <<= 1;
	set.ptr = xcalloc(set.cap, sizeof *set.ptr);
	set.len = xcalloc(set.cap, sizeof *set.len);

	/* ordinary tokens below n_keep first, then the special ones */
	for (i = 0; i < n; i++)
		map[i] = -1;
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			int32_t	type = TOKEN_NORMAL;

			if (gguf_arr_item(&types->v, (uint64_t)i, &it) == 0)
				type = (int32_t)it.i;
			if (pass == 0 && (type != TOKEN_NORMAL || i >= n_keep))
				continue;
			if (pass == 1 && type == TOKEN_NORMAL)
				continue;
			tp = str_at(tidx, (uint64_t)i, &tl);
			names[n_new] = xstrndup(tp, tl);
			newtype[n_new] = type;
			g->special[n_new] = type != TOKEN_NORMAL;
			strset_add(&set, names[n_new], tl);
			map[i] = (int32_t)n_new++;
		}
	}

	/* merges whose parts and result all survive */
	keep_merges = xcalloc(merges->v.arr.n, sizeof *keep_merges);
	for (k = 0; k < merges->v.arr.n; k++) {
		it.s.ptr = str_at(midx, k, &it.s.len);
		sp = memchr(it.s.ptr, ' ', it.s.len);
		if (sp == NULL)
			continue;
		buf = xstrndup(it.s.ptr, it.s.len);
		memmove(buf + (sp - it.s.ptr), buf + (sp - it.s.ptr) + 1,
		    it.s.len - (uint64_t)(sp - it.s.ptr));
		if (strset_has(&set, it.s.ptr, (uint64_t)(sp - it.s.ptr)) &&
		    strset_has(&set, sp + 1,
		    it.s.len - (uint64_t)(sp - it.s.ptr) - 1) &&
		    strset_has(&set, buf, it.s.len - 1)) {
			free(buf);
			keep_merges[n_merges++] = xstrndup(it.s.ptr, it.s.len);
		} else
			free(buf);
	}

	for (k = 0; k < v->n_kv; k++) {
		const struct gguf_kv	*kv = &v->kv[k];
		size_t			 kl = strlen(kv->key);
		uint64_t		 id;

		if (strncmp(kv->key, "tokenizer.", 10) != 0 || kv == toks ||
		    kv == types || kv == merges)
			continue;
		if (kl > 9 && strcmp(kv->key + kl - 9, "_token_id") == 0) {
			if (gguf_get_u64(v, kv->key, &id) != 0 ||
			    id >= (uint64_t)n || map[id] < 0)
				continue;
			gguf_writer_set_u32(g->w, kv->key, (uint32_t)map[id]);
			continue;
		}
		gguf_writer_copy_kv(g->w, kv);
	}
	gguf_writer_set_str_arr(g->w, "tokenizer.ggml.tokens", names,
	    (uint64_t)n_new);
	gguf_writer_set_arr(g->w, "tokenizer.ggml.token_type", GGUF_I32,
	    newtype, (uint64_t)n_new);
	gguf_writer_set_str_arr(g->w, "tokenizer.ggml.merges",
	    (const char *const *)keep_merges, (uint64_t)n_merges);

	for (i = 0; i < n_new; i++)
		free((char *)names[i]);
	for (i = 0; i < n_merges; i++)
		free(keep_merges[i]);
	free(keep_merges);
	free(names);
	free(tidx);
	free(midx);
	free(newtype);
	free(map);
	free(set.ptr);
	free(set.len);
	return n_new;
}

static void
set_key(struct gen *g, const char *suffix, uint32_t v)
{
	char	*key = xstrfmt("%s.%s", g->arch_name, suffix);

	gguf_writer_set_u32(g->w, key, v);
	free(key);
}

static void
set_keyf(struct gen *g, const char *suffix, float v)
{
	char	*key = xstrfmt("%s.%s", g->arch_name, suffix);

	gguf_writer_set_f32(g->w, key, v);
	free(key);
}

static void
add_layer(struct gen *g, int il)
{
	const struct shape	*s = &g->s;
	int64_t			 q = (int64_t)s->heads * s->head_dim;
	int64_t			 kv = (int64_t)s->kv_heads * s->head_dim;
	char			 name[96];

#define T(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, il), name)
	add_tensor(g, T("attn_norm.weight"), s->embd, 1, 1.0f, 0.1f);
	add_tensor(g, T("attn_q.weight"), s->embd, q, 0, 1 / isqrt(s->embd));
	add_tensor(g, T("attn_k.weight"), s->embd, kv, 0, 1 / isqrt(s->embd));
	add_tensor(g, T("attn_v.weight"), s->embd, kv, 0, 1 / isqrt(s->embd));
	if (g->arch->qkv_bias) {
		add_tensor(g, T("attn_q.bias"), q, 1, 0, 0.1f);
		add_tensor(g, T("attn_k.bias"), kv, 1, 0, 0.1f);
		add_tensor(g, T("attn_v.bias"), kv, 1, 0, 0.1f);
	}
	if (g->arch->qk_norm) {
		add_tensor(g, T("attn_q_norm.weight"), s->head_dim, 1, 1.0f,
		    0.1f);
		add_tensor(g, T("attn_k_norm.weight"), s->head_dim, 1, 1.0f,
		    0.1f);
	}
	add_tensor(g, T("attn_output.weight"), q, s->embd, 0, 1 / isqrt(q));
	add_tensor(g, T("ffn_norm.weight"), s->embd, 1, 1.0f, 0.1f);
	add_tensor(g, T("ffn_gate.weight"), s->embd, s->ff, 0,
	    1 / isqrt(s->embd));
	add_tensor(g, T("ffn_up.weight"), s->embd, s->ff, 0,
	    1 / isqrt(s->embd));
	add_tensor(g, T("ffn_down.weight"), s->ff, s->embd, 0,
	    1 / isqrt(s->ff));
#undef T
}

static void
add_ds2_layer(struct gen *g, int il)
{
	const struct shape	*s = &g->s;
	const struct ds2_desc	*d = &g->ds2;
	int64_t			 e = s->embd, nh = s->heads;
	int64_t			 dk = d->nope + d->rope, sh;
	char			 name[96];

#define T(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, il), name)
	/*
	 * V3's queries and keys have twice the usual spread: attention sharp
	 * enough that its scale (YaRN's mscale) shows in the perplexity.
	 * Not the 27 layers of ds2-lite: that deep, sharp attention turns
	 * chaotic (rounding the cache to F16 moves the perplexity by %).
	 */
	add_tensor(g, T("attn_norm.weight"), e, 1, 1.0f, 0.1f);
	if (d->q_lora > 0) {
		add_tensor(g, T("attn_q_a.weight"), e, d->q_lora, 0,
		    1 / isqrt(e));
		add_tensor(g, T("attn_q_a_norm.weight"), d->q_lora, 1, 1.0f,
		    0.1f);
		add_tensor(g, T("attn_q_b.weight"), d->q_lora, nh * dk, 0,
		    d->qk_spread / isqrt(d->q_lora));
	} else
		add_tensor(g, T("attn_q.weight"), e, nh * dk, 0,
		    d->qk_spread / isqrt(e));
	add_tensor(g, T("attn_kv_a_mqa.weight"), e, d->kv_lora + d->rope, 0,
	    1 / isqrt(e));
	add_tensor(g, T("attn_kv_a_norm.weight"), d->kv_lora, 1, 1.0f, 0.1f);
	if (g->split) {
		add_tensor3(g, T("attn_k_b.weight"), d->nope, d->kv_lora, nh,
		    0, d->qk_spread / isqrt(d->kv_lora));
		add_tensor3(g, T("attn_v_b.weight"), d->kv_lora, d->v, nh, 0,
		    1 / isqrt(d->kv_lora));
	} else
		add_tensor(g, T("attn_kv_b.weight"), d->kv_lora,
		    nh * (d->nope + d->v), 0,
		    d->qk_spread / isqrt(d->kv_lora));
	add_tensor(g, T("attn_output.weight"), nh * d->v, e, 0,
	    1 / isqrt(nh * d->v));
	add_tensor(g, T("ffn_norm.weight"), e, 1, 1.0f, 0.1f);
	if (il < d->n_dense) {
		add_tensor(g, T("ffn_gate.weight"), e, s->ff, 0, 1 / isqrt(e));
		add_tensor(g, T("ffn_up.weight"), e, s->ff, 0, 1 / isqrt(e));
		add_tensor(g, T("ffn_down.weight"), s->ff, e, 0,
		    1 / isqrt(s->ff));
		return;
	}
	/* a wide router spread: decisive choices, few near-ties */
	add_tensor(g, T("ffn_gate_inp.weight"), e, d->n_expert, 0,
	    2 / isqrt(e));
	if (d->probs_b)
		add_tensor(g, T("exp_probs_b.bias"), d->n_expert, 1, 0, 0.5f);
	add_tensor3(g, T("ffn_gate_exps.weight"), e, d->ff_exp, d->n_expert,
	    0, 1 / isqrt(e));
	add_tensor3(g, T("ffn_up_exps.weight"), e, d->ff_exp, d->n_expert, 0,
	    1 / isqrt(e));
	add_tensor3(g, T("ffn_down_exps.weight"), d->ff_exp, e, d->n_expert,
	    0, d->exp_spread / isqrt(d->ff_exp));
	sh = (int64_t)d->ff_exp * d->n_shared;
	if (sh > 0) {
		add_tensor(g, T("ffn_gate_shexp.weight"), e, sh, 0,
		    1 / isqrt(e));
		add_tensor(g, T("ffn_up_shexp.weight"), e, sh, 0, 1 / isqrt(e));
		add_tensor(g, T("ffn_down_shexp.weight"), sh, e, 0,
		    1 / isqrt(sh));
	}
#undef T
}

/* deepseek2's keys, as llama.cpp's converter writes them. */
static void
set_ds2_keys(struct gen *g)
{
	const struct ds2_desc	*d = &g->ds2;
	char			*key;

	set_key(g, "leading_dense_block_count", (uint32_t)d->n_dense);
	if (d->q_lora > 0)
		set_key(g, "attention.q_lora_rank", (uint32_t)d->q_lora);
	set_key(g, "attention.kv_lora_rank", (uint32_t)d->kv_lora);
	if (g->split) {
		/* MLA as MQA: one key head of latent + rope */
		set_key(g, "attention.head_count_kv", 1);
		set_key(g, "attention.key_length",
		    (uint32_t)(d->kv_lora + d->rope));
		set_key(g, "attention.value_length", (uint32_t)d->kv_lora);
		set_key(g, "attention.key_length_mla",
		    (uint32_t)(d->nope + d->rope));
		set_key(g, "attention.value_length_mla", (uint32_t)d->v);
	} else {
		set_key(g, "attention.head_count_kv", (uint32_t)g->s.heads);
		set_key(g, "attention.key_length",
		    (uint32_t)(d->nope + d->rope));
		set_key(g, "attention.value_length", (uint32_t)d->v);
	}
	set_key(g, "rope.dimension_count", (uint32_t)d->rope);
	set_key(g, "expert_feed_forward_length", (uint32_t)d->ff_exp);
	set_key(g, "expert_count", (uint32_t)d->n_expert);
	set_key(g, "expert_used_count", (uint32_t)d->n_used);
	set_key(g, "expert_shared_count", (uint32_t)d->n_shared);
	set_keyf(g, "expert_weights_scale", d->scale);
	key = xstrfmt("%s.expert_weights_norm", g->arch_name);
	gguf_writer_set_bool(g->w, key, d->norm);
	free(key);
	if (d->gating != 0)
		set_key(g, "expert_gating_func", (uint32_t)d->gating);
	if (d->n_group > 0) {
		set_key(g, "expert_group_count", (uint32_t)d->n_group);
		set_key(g, "expert_group_used_count",
		    (uint32_t)d->n_group_used);
	}
	if (d->yarn_factor > 0) {
		key = xstrfmt("%s.rope.scaling.type", g->arch_name);
		gguf_writer_set_str(g->w, key, "yarn");
		free(key);
		set_keyf(g, "rope.scaling.factor", d->yarn_factor);
		set_key(g, "rope.scaling.original_context_length",
		    (uint32_t)d->yarn_orig);
		set_keyf(g, "rope.scaling.yarn_log_multiplier",
		    d->yarn_log_mul);
	}
}

/* Every tensor, in file order. */
static void
add_all(struct gen *g, int64_t n_vocab)
{
	int	i;

	add_tensor(g, "token_embd.weight", g->s.embd, n_vocab, 0,
	    2 / isqrt(g->s.embd));
	if (g->rope_freqs)
		add_rope_freqs(g, g->s.head_dim);
	for (i = 0; i < g->s.layers; i++) {
		if (g->arch->ds2 != NULL)
			add_ds2_layer(g, i);
		else
			add_layer(g, i);
	}
	add_tensor(g, "output_norm.weight", g->s.embd, 1, 1.0f, 0.1f);
	if (!g->tied)
		add_tensor(g, "output.weight", g->s.embd, n_vocab, 0,
		    2 / isqrt(g->s.embd));
}

static void
usage(void)
{
	fprintf(stderr, "usage: mkmodel --arch qwen2|llama|qwen3|ds2-lite|ds2-v3 "
	    "--type TYPE --seed N -o OUT.gguf\n"
	    "    [--vocab VOCAB.gguf] [--n-vocab N] [--preset tiny|"
	    "r1-qwen-1.5b]\n"
	    "    [--layers N] [--embd N] [--ff N] [--heads N] [--kv-heads N]"
	    " [--head-dim N]\n"
	    "    [--ctx N] [--rope-base F] [--tied | --untied] "
	    "[--no-rope-freqs]\n"
	    "    [--arch-name NAME] [--drop TENSOR] [--mla-split | "
	    "--mla-stacked]\n"
	    "    [--experts N] [--experts-used N] [--ff-exp N] [--endless]\n");
	exit(2);
}

static long
num_arg(const char *opt, const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > (1L << 30))
		die("%s: bad number: %s", opt, s);
	return v;
}

int
main(int argc, char **argv)
{
	struct gen		 g;
	struct gguf_file	*voc;
	const char		*arch = NULL, *type = "F32", *out = NULL;
	const char		*vocab = NULL, *preset = "tiny", *td;
	char			*cause, *vpath = NULL, *name;
	int			 i, tied = -1, no_freqs = 0, split = -1;
	long			 set[8], ds2_set[3] = { 0, 0, 0 };
	float			 base = 0;
	int64_t			 n_vocab;
	size_t			 k;

	memset(&g, 0, sizeof g);
	for (k = 0; k < 8; k++)
		set[k] = -1;
	for (i = 1; i < argc; i++) {
		const char	*a = argv[i];
		static const char *const shape_opts[] = { "--layers", "--embd",
		    "--ff", "--heads", "--kv-heads", "--head-dim", "--ctx",
		    "--n-vocab" };

		if (strcmp(a, "--tied") == 0) {
			tied = 1;
			continue;
		}
		if (strcmp(a, "--untied") == 0) {
			tied = 0;
			continue;
		}
		if (strcmp(a, "--no-rope-freqs") == 0) {
			no_freqs = 1;
			continue;
		}
		if (strcmp(a, "--endless") == 0) {
			g.endless = 1;
			continue;
		}
		if (strcmp(a, "--mla-split") == 0 ||
		    strcmp(a, "--mla-stacked") == 0) {
			split = a[6] == 's' && a[7] == 'p';
			continue;
		}
		if (i + 1 >= argc)
			usage();
		for (k = 0; k < 8; k++) {
			if (strcmp(a, shape_opts[k]) == 0)
				break;
		}
		if (k < 8)
			set[k] = num_arg(a, argv[++i]);
		else if (strcmp(a, "--experts") == 0)
			ds2_set[0] = num_arg(a, argv[++i]);
		else if (strcmp(a, "--experts-used") == 0)
			ds2_set[1] = num_arg(a, argv[++i]);
		else if (strcmp(a, "--ff-exp") == 0)
			ds2_set[2] = num_arg(a, argv[++i]);
		else if (strcmp(a, "--arch") == 0)
			arch = argv[++i];
		else if (strcmp(a, "--type") == 0)
			type = argv[++i];
		else if (strcmp(a, "--seed") == 0)
			g.seed = (uint64_t)num_arg(a, argv[++i]);
		else if (strcmp(a, "--vocab") == 0)
			vocab = argv[++i];
		else if (strcmp(a, "--arch-name") == 0)
			g.arch_name = argv[++i];
		else if (strcmp(a, "--drop") == 0)
			g.drop = argv[++i];
		else if (strcmp(a, "--preset") == 0)
			preset = argv[++i];
		else if (strcmp(a, "--rope-base") == 0)
			base = strtof(argv[++i], NULL);
		else if (strcmp(a, "-o") == 0)
			out = argv[++i];
		else
			usage();
	}
	if (arch == NULL || out == NULL)
		usage();
	for (k = 0; k < sizeof arch_table / sizeof arch_table[0]; k++) {
		if (strcmp(arch, arch_table[k].name) == 0)
			g.arch = &arch_table[k];
	}
	if (g.arch == NULL)
		die("unknown architecture: %s", arch);
	if (g.arch_name == NULL)
		g.arch_name = g.arch->gguf_arch != NULL ? g.arch->gguf_arch :
		    g.arch->name;
	for (k = 0; k < sizeof type_table / sizeof type_table[0]; k++) {
		if (strcasecmp(type, type_table[k].name) == 0)
			g.type = &type_table[k];
	}
	if (g.type == NULL)
		die("unknown type: %s", type);
	for (k = 0; k < sizeof preset_table / sizeof preset_table[0]; k++) {
		if (strcmp(preset, preset_table[k].name) == 0)
			g.s = preset_table[k].s;
	}
	if (g.s.layers == 0)
		die("unknown preset: %s", preset);
	if (g.s.head_dim == 0)
		g.s.head_dim = g.arch->head_dim;
	if (g.arch->layers > 0)
		g.s.layers = g.arch->layers;
	if (g.arch->heads > 0)
		g.s.heads = g.s.kv_heads = g.arch->heads;
	{
		int	*f[8] = { &g.s.layers, &g.s.embd, &g.s.ff, &g.s.heads,
		    &g.s.kv_heads, &g.s.head_dim, &g.s.ctx, &g.s.n_vocab };

		for (k = 0; k < 8; k++) {
			if (set[k] >= 0)
				*f[k] = (int)set[k];
		}
	}
	if (g.s.head_dim == 0 && g.s.heads > 0)
		g.s.head_dim = g.s.embd / g.s.heads;
	if (g.s.layers < 1 || g.s.embd < 1 || g.s.ff < 1 || g.s.heads < 1 ||
	    g.s.kv_heads < 1 || g.s.heads % g.s.kv_heads != 0 ||
	    g.s.head_dim < 2 || g.s.head_dim % 2 != 0 || g.s.ctx < 1)
		die("inconsistent shape");
	g.tied = tied >= 0 ? tied : g.arch->tied;
	g.rope_freqs = g.arch->rope_freqs && !no_freqs;
	if (g.arch->ds2 != NULL) {
		int	*f[3] = { &g.ds2.n_expert, &g.ds2.n_used,
		    &g.ds2.ff_exp };

		g.ds2 = *g.arch->ds2;
		g.split = split >= 0 ? split : g.ds2.split;
		for (k = 0; k < 3; k++) {
			if (ds2_set[k] > 0)
				*f[k] = (int)ds2_set[k];
		}
		if (g.ds2.n_used > g.ds2.n_expert || (g.ds2.n_group > 0 &&
		    g.ds2.n_expert % g.ds2.n_group != 0))
			die("inconsistent experts");
	}
	g.rope_base = base > 0 ? base : g.arch->rope_base;

	if (quant_init(&cause) != 0)
		die("%s", cause);
	if (vocab == NULL) {
		td = getenv("R1CHAT_TESTDATA");
		if (td == NULL)
			die("no --vocab and R1CHAT_TESTDATA is not set");
		vpath = xstrfmt("%s/vocab/%s", td, g.arch->vocab);
		vocab = vpath;
	}
	if ((voc = gguf_open(vocab, &cause)) == NULL)
		die("%s: %s", vocab, cause);

	g.w = gguf_writer_new();
	gguf_writer_set_str(g.w, "general.architecture", g.arch_name);
	name = xstrfmt("mkmodel %s %s seed %llu", g.arch->name, g.type->name,
	    (unsigned long long)g.seed);
	gguf_writer_set_str(g.w, "general.name", name);
	free(name);
	gguf_writer_set_u32(g.w, "general.file_type", g.type->ftype);
	if (g.type->type != GGML_TYPE_F32 && g.type->type != GGML_TYPE_F16 &&
	    g.type->type != GGML_TYPE_BF16)
		gguf_writer_set_u32(g.w, "general.quantization_version", 2);
	set_key(&g, "context_length", (uint32_t)g.s.ctx);
	set_key(&g, "embedding_length", (uint32_t)g.s.embd);
	set_key(&g, "block_count", (uint32_t)g.s.layers);
	set_key(&g, "feed_forward_length", (uint32_t)g.s.ff);
	set_key(&g, "attention.head_count", (uint32_t)g.s.heads);
	if (g.arch->ds2 != NULL)
		set_ds2_keys(&g);
	else {
		set_key(&g, "attention.head_count_kv",
		    (uint32_t)g.s.kv_heads);
		if (g.s.head_dim * g.s.heads != g.s.embd ||
		    g.arch->head_dim != 0) {
			set_key(&g, "attention.key_length",
			    (uint32_t)g.s.head_dim);
			set_key(&g, "attention.value_length",
			    (uint32_t)g.s.head_dim);
		}
		set_key(&g, "rope.dimension_count", (uint32_t)g.s.head_dim);
	}
	set_keyf(&g, "rope.freq_base", g.rope_base);
	set_keyf(&g, "attention.layer_norm_rms_epsilon", g.arch->eps);
	n_vocab = copy_vocab(&g, voc, g.s.n_vocab);
	set_key(&g, "vocab_size", (uint32_t)n_vocab);

	if (g.type->mix == MIX_LLAMA) {
		struct quantmix_model	qmm = {
			.arch = g.arch->gguf_arch != NULL ?
			    g.arch->gguf_arch : g.arch->name,
			.n_layer = g.s.layers,
			.n_head = g.s.heads,
			.n_head_kv = g.arch->ds2 != NULL && g.split ?
			    1 : g.s.kv_heads,
			.n_expert = g.arch->ds2 != NULL ? g.ds2.n_expert : 0,
		};

		g.collect = 1;
		add_all(&g, n_vocab);
		g.collect = 0;
		quantmix_init(&g.qm, g.type->ftype, &qmm,
		    (const char *const *)g.names, g.n_names);
	}
	add_all(&g, n_vocab);

	if (gguf_writer_write(g.w, out, &cause) != 0)
		die("%s: %s", out, cause);
	gguf_writer_free(g.w);
	for (i = 0; i < g.n_bufs; i++)
		free(g.bufs[i]);
	free(g.bufs);
	for (k = 0; k < g.n_names; k++)
		free(g.names[k]);
	free(g.names);
	free(g.special);
	gguf_close(voc);
	free(vpath);
	return 0;
}
