/*
 * quantmix.c - llama.cpp's per-tensor type rules for each file type
 * (src/llama-quant.cpp: tensor_allows_quantization, tensor_get_category,
 * llama_tensor_get_type_impl, tensor_type_fallback), for the file types
 * r1chat can make.  Of the IQ file types only IQ4_NL and IQ4_XS are here
 * (the others need an importance matrix); imatrix and overrides are not.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "quantmix.h"

/* llama_ftype values (gguf-py constants.py). */
enum {
	FT_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7,
	FT_Q5_0 = 8, FT_Q5_1 = 9, FT_Q2_K = 10, FT_Q3_K_S = 11,
	FT_Q3_K_M = 12, FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15,
	FT_Q5_K_S = 16, FT_Q5_K_M = 17, FT_Q6_K = 18, FT_IQ4_NL = 25,
	FT_IQ4_XS = 30, FT_BF16 = 32,
};

/* The file types, with the type most tensors get (the "default type"). */
static const struct {
	const char	*name;
	uint32_t	 ftype;
	enum ggml_type	 type;
} quantmix_ftypes[] = {
	{ "Q4_0", FT_Q4_0, GGML_TYPE_Q4_0 },
	{ "Q4_1", FT_Q4_1, GGML_TYPE_Q4_1 },
	{ "Q5_0", FT_Q5_0, GGML_TYPE_Q5_0 },
	{ "Q5_1", FT_Q5_1, GGML_TYPE_Q5_1 },
	{ "Q8_0", FT_Q8_0, GGML_TYPE_Q8_0 },
	{ "Q2_K", FT_Q2_K, GGML_TYPE_Q2_K },
	{ "Q3_K_S", FT_Q3_K_S, GGML_TYPE_Q3_K },
	{ "Q3_K_M", FT_Q3_K_M, GGML_TYPE_Q3_K },
	{ "Q3_K", FT_Q3_K_M, GGML_TYPE_Q3_K },
	{ "Q3_K_L", FT_Q3_K_L, GGML_TYPE_Q3_K },
	{ "Q4_K_S", FT_Q4_K_S, GGML_TYPE_Q4_K },
	{ "Q4_K_M", FT_Q4_K_M, GGML_TYPE_Q4_K },
	{ "Q4_K", FT_Q4_K_M, GGML_TYPE_Q4_K },
	{ "Q5_K_S", FT_Q5_K_S, GGML_TYPE_Q5_K },
	{ "Q5_K_M", FT_Q5_K_M, GGML_TYPE_Q5_K },
	{ "Q5_K", FT_Q5_K_M, GGML_TYPE_Q5_K },
	{ "Q6_K", FT_Q6_K, GGML_TYPE_Q6_K },
	{ "IQ4_NL", FT_IQ4_NL, GGML_TYPE_IQ4_NL },
	{ "IQ4_XS", FT_IQ4_XS, GGML_TYPE_IQ4_XS },
	{ "F16", FT_F16, GGML_TYPE_F16 },
	{ "BF16", FT_BF16, GGML_TYPE_BF16 },
	{ "F32", FT_F32, GGML_TYPE_F32 },
};
#define N_FTYPES (sizeof quantmix_ftypes / sizeof quantmix_ftypes[0])

/*
 * Name fragments of 2-D weights that stay as they are: norms, MoE
 * routers, small or positional tables.
 */
static const char *quantmix_keep[] = {
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight",
	"altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
	"shortconv.conv.weight", "indexer.k_proj.weight",
	"indexer.q_proj.weight", "time_mix_first.weight",
	"time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
	"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
	"time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
	"time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
	"time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd",
	"sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd",
	".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
};

enum category {
	CAT_OTHER, CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_V, CAT_ATTN_K,
	CAT_ATTN_Q, CAT_ATTN_OUTPUT, CAT_FFN_UP, CAT_FFN_GATE, CAT_FFN_DOWN,
};

/*
 * First match wins, as in tensor_get_category; attn_qkv and attn_kv_b
 * count as attn_v (llama.cpp tests "is attn_v-like" before anything that
 * would treat them apart).
 */
static const struct {
	const char	*frag;
	int		 exact;
	enum category	 cat;
} quantmix_cats[] = {
	{ "output.weight", 1, CAT_OUTPUT },
	{ "token_embd.weight", 1, CAT_TOKEN_EMBD },
	{ "per_layer_token_embd.weight", 1, CAT_TOKEN_EMBD },
	{ "attn_qkv.weight", 0, CAT_ATTN_V },
	{ "attn_kv_b.weight", 0, CAT_ATTN_V },
	{ "attn_v.weight", 0, CAT_ATTN_V },
	{ "attn_k.weight", 0, CAT_ATTN_K },
	{ "attn_q.weight", 0, CAT_ATTN_Q },
	{ "attn_output.weight", 0, CAT_ATTN_OUTPUT },
	{ "ffn_up", 0, CAT_FFN_UP },
	{ "ffn_gate", 0, CAT_FFN_GATE },
	{ "ffn_down", 0, CAT_FFN_DOWN },
};

/* A 256-block type that does not fit a row falls back to a 32-block one. */
static const enum ggml_type quantmix_fallback[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q2_K] = GGML_TYPE_Q4_0,
	[GGML_TYPE_Q3_K] = GGML_TYPE_Q4_0,
	[GGML_TYPE_Q4_K] = GGML_TYPE_Q5_0,
	[GGML_TYPE_Q5_K] = GGML_TYPE_Q5_1,
	[GGML_TYPE_Q6_K] = GGML_TYPE_Q8_0,
	[GGML_TYPE_IQ4_XS] = GGML_TYPE_IQ4_NL,
};

int
quantmix_ftype(const char *name, uint32_t *ftype)
{
	size_t	i;

	for (i = 0; i < N_FTYPES; i++) {
		if (strcasecmp(name, quantmix_ftypes[i].name) == 0) {
			*ftype = quantmix_ftypes[i].ftype;
			return 0;
		}
	}
	return -1;
}

const char *
quantmix_ftype_names(void)
{
	static char	buf[256];
	size_t		i, len = 0;

	if (buf[0] != '\0')
		return buf;
	for (i = 0; i < N_FTYPES && len < sizeof buf; i++) {
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
		    i ? ", " : "", quantmix_ftypes[i].name);
	}
	return buf;
}

static enum category
category_of(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof quantmix_cats / sizeof quantmix_cats[0]; i++) {
		if (quantmix_cats[i].exact ?
		    strcmp(name, quantmix_cats[i].frag) == 0 :
		    strstr(name, quantmix_cats[i].frag) != NULL)
			return quantmix_cats[i].cat;
	}
	return CAT_OTHER;
}

/* ggml_is_quantized: the block types (not F32, F16, BF16, integers). */
static int
is_quantized(enum ggml_type t)
{
	const struct type_info	*ti = type_info(t);

	return ti != NULL && ti->blck > 1;
}

void
quantmix_init(struct quantmix *q, uint32_t ftype,
    const struct quantmix_model *m, const char *const *names, size_t n)
{
	size_t	i;
	int	n_head_kv;

	memset(q, 0, sizeof *q);
	q->ftype = ftype;
	q->default_type = GGML_TYPE_F32;
	for (i = 0; i < N_FTYPES; i++) {
		if (quantmix_ftypes[i].ftype == ftype)
			q->default_type = quantmix_ftypes[i].type;
	}
	q->n_layer = m->n_layer;
	n_head_kv = m->n_head_kv > 0 ? m->n_head_kv : m->n_head;
	q->n_gqa = n_head_kv > 0 ? m->n_head / n_head_kv : 0;
	q->n_expert = m->n_expert;
	/* llama.cpp's LLM_TYPE_70B: the only model size its rules use. */
	q->is_70b = m->arch != NULL && m->n_layer == 80 &&
	    ((strcmp(m->arch, "llama") == 0 && m->n_head != n_head_kv) ||
	    strcmp(m->arch, "qwen2") == 0);
	q->falcon = m->arch != NULL && strcmp(m->arch, "falcon") == 0;
	q->tied_embeddings = 1;
	for (i = 0; i < n; i++) {
		switch (category_of(names[i])) {
		case CAT_ATTN_V:
			q->n_attn_v++;
			break;
		case CAT_OUTPUT:
			q->tied_embeddings = 0;
			break;
		default:
			break;
		}
	}
}

/* llama.cpp's "more bits" layers: the first and last eighth, every third. */
static int
use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* tensor_allows_quantization, for the default parameters. */
static int
allows_quantization(const char *name, uint32_t n_dims, const int64_t *ne)
{
	size_t	i, len = strlen(name);
	int	dims = 0;

	/* ggml_n_dims: trailing dimensions of 1 do not count. */
	for (i = 0; i < n_dims; i++) {
		if (ne[i] > 1)
			dims = (int)i + 1;
	}
	if (dims < 2)
		return 0;
	if (len < 6 || strcmp(name + len - 6, "weight") != 0)
		return 0;
	if (strcmp(name, "position_embd.weight") == 0 ||
	    strcmp(name, "token_types.weight") == 0)
		return 0;
	for (i = 0; i < sizeof quantmix_keep / sizeof quantmix_keep[0]; i++) {
		if (strstr(name, quantmix_keep[i]) != NULL)
			return 0;
	}
	return 1;
}

/* The layer of an expert tensor, from its name (experts are not in order). */
static int
layer_of(const struct quantmix *q, const char *name, int counter)
{
	int	i;

	if (q->n_expert > 1 && sscanf(name, "blk.%d.", &i) == 1 && i >= 0 &&
	    i < q->n_layer)
		return i;
	return counter;
}

static enum ggml_type
rule_output(struct quantmix *q, enum ggml_type t, const int64_t *ne)
{
	if (q->falcon || ne[0] % type_info(t)->blck != 0)
		return GGML_TYPE_Q8_0;
	if (t != GGML_TYPE_Q8_0)
		return GGML_TYPE_Q6_K;
	return t;
}

static enum ggml_type
rule_attn_v(struct quantmix *q, enum ggml_type t)
{
	switch (q->ftype) {
	case FT_Q2_K:
		t = q->n_gqa >= 4 ? GGML_TYPE_Q4_K : GGML_TYPE_Q3_K;
		break;
	case FT_Q3_K_M:
		t = q->i_attn_v < 2 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
		break;
	case FT_Q3_K_L:
		t = GGML_TYPE_Q5_K;
		break;
	case FT_Q4_K_M:
	case FT_Q5_K_M:
		if (use_more_bits(q->i_attn_v, q->n_attn_v))
			t = GGML_TYPE_Q6_K;
		break;
	case FT_Q4_K_S:
		if (q->i_attn_v < 4)
			t = GGML_TYPE_Q5_K;
		break;
	case FT_IQ4_NL:
	case FT_IQ4_XS:
		if (q->n_gqa >= 4)
			t = GGML_TYPE_Q5_K;
		break;
	}
	/*
	 * 70B models share each attn_v among 8 heads: it is small, and
	 * more bits there are nearly free.
	 */
	if (q->is_70b && (t == GGML_TYPE_Q3_K || t == GGML_TYPE_Q4_K))
		t = GGML_TYPE_Q5_K;
	if (q->n_expert == 8)
		t = GGML_TYPE_Q8_0;
	q->i_attn_v++;
	return t;
}

static enum ggml_type
rule_ffn_down(struct quantmix *q, enum ggml_type t, const char *name)
{
	int	i = layer_of(q, name, q->i_ffn_down), n = q->n_layer;
	int	falcon = q->falcon;

	switch (q->ftype) {
	case FT_Q2_K:
		t = GGML_TYPE_Q3_K;
		break;
	case FT_Q3_K_M:
		if (i < n / 16)
			t = GGML_TYPE_Q5_K;
		else if (!falcon || use_more_bits(i, n))
			t = GGML_TYPE_Q4_K;
		else
			t = GGML_TYPE_Q3_K;
		break;
	case FT_Q3_K_L:
		t = falcon ? GGML_TYPE_Q4_K : GGML_TYPE_Q5_K;
		break;
	case FT_Q4_K_M:
		if (falcon)
			t = i < n / 16 ? GGML_TYPE_Q6_K : use_more_bits(i, n) ?
			    GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
		else if (use_more_bits(i, n))
			t = GGML_TYPE_Q6_K;
		break;
	case FT_Q5_K_M:
		if (use_more_bits(i, n))
			t = GGML_TYPE_Q6_K;
		break;
	case FT_Q4_K_S:
		if (!falcon && i < n / 8)
			t = GGML_TYPE_Q5_K;
		break;
	case FT_IQ4_NL:
	case FT_IQ4_XS:
		if (i < n / 8)
			t = GGML_TYPE_Q5_K;
		break;
	}
	q->i_ffn_down++;
	return t;
}

static enum ggml_type
rule_attn_output(struct quantmix *q, enum ggml_type t)
{
	if (q->falcon)
		return q->ftype == FT_Q3_K_L ? GGML_TYPE_Q4_K : t;
	if (q->n_expert == 8) {
		switch (q->ftype) {
		case FT_Q2_K:
		case FT_Q3_K_S:
		case FT_Q3_K_M:
		case FT_Q4_K_S:
		case FT_Q4_K_M:
		case FT_IQ4_NL:
		case FT_IQ4_XS:
			return GGML_TYPE_Q5_K;
		}
		return t;
	}
	switch (q->ftype) {
	case FT_Q2_K:
		return GGML_TYPE_Q3_K;
	case FT_Q3_K_M:
		return GGML_TYPE_Q4_K;
	case FT_Q3_K_L:
		return GGML_TYPE_Q5_K;
	}
	return t;
}

uint32_t
quantmix_type(struct quantmix *q, const char *name, uint32_t n_dims,
    const int64_t *ne, uint32_t cur)
{
	enum ggml_type	t = q->default_type, fb;
	enum category	cat = category_of(name);

	if (!allows_quantization(name, n_dims, ne))
		return cur;
	if (!is_quantized(t))
		return t;

	switch (cat) {
	case CAT_OUTPUT:
		t = rule_output(q, t, ne);
		break;
	case CAT_TOKEN_EMBD:
		/* Tied: the one matrix is also the output projection. */
		if (q->tied_embeddings)
			t = rule_output(q, t, ne);
		break;
	case CAT_ATTN_V:
		t = rule_attn_v(q, t);
		break;
	case CAT_ATTN_K:
		if (q->n_expert == 8)
			t = GGML_TYPE_Q8_0;
		break;
	case CAT_FFN_DOWN:
		t = rule_ffn_down(q, t, name);
		break;
	case CAT_ATTN_OUTPUT:
		t = rule_attn_output(q, t);
		break;
	case CAT_FFN_GATE:
		q->i_ffn_gate++;	/* its rules are for IQ3_XS only */
		break;
	case CAT_FFN_UP:
		q->i_ffn_up++;
		break;
	default:
		break;
	}

	/* A row that is not whole blocks of t: a smaller block, else F16. */
	if (ne[0] % type_info(t)->blck != 0) {
		q->n_fallback++;
		fb = quantmix_fallback[t] ? quantmix_fallback[t] : t;
		t = ne[0] % type_info(fb)->blck == 0 ? fb : GGML_TYPE_F16;
	}
	return t;
}
