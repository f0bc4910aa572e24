/*
 * arch-deepseek2.c - DeepSeek-V2/V3/R1 (GGUF architecture deepseek2):
 * multi-head latent attention and routed experts.
 *
 * MLA: each token's keys and values are a compressed latent (kv_lora_rank
 * values, RMS-normed) plus one rotary key shared by all heads, and only
 * those go into the cache.  A head's key is K_h * latent and its value
 * V_h * latent; instead of expanding them, the query's no-rope part is
 * multiplied by K_h^T ("absorbed"), attention runs against the latent
 * rows directly (one shared key head of kv_lora_rank + rope values, the
 * latent doubling as the value), and V_h is applied to the result.
 * Newer conversions store K_h^T and V_h per head (attn_k_b, attn_v_b);
 * older ones the stacked [K_h; V_h] (attn_kv_b), whose K part is applied
 * transposed here.
 *
 * FFN: the first leading_dense_block_count layers are dense SwiGLU; the
 * others route each token to expert_used_count experts (moe.c) and add
 * the shared experts.
 *
 * Its own keys and the layers' weights are a struct ds2_model, behind
 * model->arch_state.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gguf.h"
#include "kv.h"
#include "model-int.h"
#include "moe.h"
#include "ops.h"
#include "quant.h"
#include "util.h"

#define DS2_MAX_EXPERTS	4096

struct ds2_layer {
	const float		*attn_norm;	/* [n_embd] */
	struct ops_mat		 wq_a;		/* n_embd -> q_lora */
	const float		*q_a_norm;	/* [q_lora] */
	struct ops_mat		 wq_b;		/* q_lora -> n_head * dk */
	struct ops_mat		 wq;		/* n_embd -> n_head * dk (no q_lora) */
	struct ops_mat		 wkv_a;		/* n_embd -> kv_lora + rope */
	const float		*kv_a_norm;	/* [kv_lora] */
	struct moe_experts	 wk_b;		/* per head: nope -> kv_lora */
	struct moe_experts	 wv_b;		/* per head: kv_lora -> dv */
	struct ops_mat		 wkv_b;		/* kv_lora -> n_head * (nope + dv) */
	struct ops_mat		 wo;		/* n_head * dv -> n_embd */
	const float		*ffn_norm;	/* [n_embd] */
	struct ops_mat		 w_gate;	/* dense FFN, or shared experts */
	struct ops_mat		 w_up;
	struct ops_mat		 w_down;
	int			 n_ff;		/* of w_gate: 0 for none */
	struct ops_mat		 gate_inp;	/* n_embd -> n_expert (router) */
	const float		*exp_probs_b;	/* [n_expert] or NULL */
	struct moe_ffn		 moe;		/* routed experts, or n_ff 0 */
};

struct ds2_model {
	int			 q_lora;	/* 0: plain attn_q */
	int			 kv_lora;
	int			 nope;		/* query/key dims without rope */
	int			 rope;
	int			 dk;		/* nope + rope */
	int			 dv;		/* value head size */
	int			 n_dense;	/* leading dense layers */
	int			 n_ff_exp;
	int			 n_shared;
	int			 max_ff;	/* widest dense/shared FFN */
	struct moe_router	 router;
	float			 kq_scale;
	struct ds2_layer	*layers;
};

static int
key_u32(const struct model *m, const char *suffix, int required,
    uint32_t max, int *out, char **cause)
{
	uint32_t	u;

	if (model_key_u32(m, suffix, &u) != 0) {
		if (!required)
			return 0;
		*cause = xstrfmt("key %s.%s: missing", m->arch->name, suffix);
		return -1;
	}
	if (u > max) {
		*cause = xstrfmt("key %s.%s: %u is out of range", m->arch->name,
		    suffix, u);
		return -1;
	}
	*out = (int)u;
	return 0;
}

/*
 * YaRN as DeepSeek scales it: the rotary magnitude cancels out and the
 * softmax scale grows by mscale^2, mscale = 1 + 0.1 * L * ln(factor),
 * where L (mscale_all_dim) is the file's yarn_log_multiplier / 0.1 (the
 * converter writes 0.1 * mscale_all_dim).  Without L, llama.cpp's general
 * YaRN magnitude 1 + 0.1 ln(factor) is kept on the rotation and the scale.
 */
static void
ds2_yarn(struct model *m, struct ds2_model *d)
{
	float	f = m->hp.rope_scale, lf, yaf = 1.0f, log_mul = 0.0f, org, ms;

	if (model_key_f32(m, "rope.scaling.yarn_log_multiplier", &log_mul) == 0)
		log_mul /= 0.1f;
	lf = f > 0 ? logf(f) : 0.0f;
	if (m->rope_scaled && m->yarn.ext_factor != 0.0f) {
		/* mscale == mscale_all_dim for DeepSeek: their ratio is 1 */
		yaf = log_mul != 0.0f || f <= 1.0f ? 1.0f : 1.0f + 0.1f * lf;
		yaf *= 1.0f / (1.0f + 0.1f * lf);
		m->yarn.attn_factor = yaf;
	}
	org = yaf * (1.0f + 0.1f * lf);
	ms = org * (1.0f + 0.1f * log_mul * lf);
	d->kq_scale = ms * ms / sqrtf((float)d->dk);
}

static int
ds2_init(struct model *m, char **cause)
{
	const struct model_hparams	*hp = &m->hp;
	struct ds2_model		*d;
	struct moe_router		*r;
	int				 gating = 0, norm = 0, dk = 0, dv = 0;
	char				*key;

	d = m->arch_state = xcalloc(1, sizeof *d);
	r = &d->router;
	if (key_u32(m, "leading_dense_block_count", 0, (uint32_t)hp->n_layer,
	    &d->n_dense, cause) != 0 ||
	    key_u32(m, "attention.q_lora_rank", 0, 1 << 20, &d->q_lora,
	    cause) != 0 ||
	    key_u32(m, "attention.kv_lora_rank", 1, 1 << 20, &d->kv_lora,
	    cause) != 0 ||
	    key_u32(m, "attention.key_length_mla", 0, 1 << 20, &dk,
	    cause) != 0 ||
	    key_u32(m, "attention.value_length_mla", 0, 1 << 20, &dv,
	    cause) != 0)
		return -1;
	if (d->n_dense < hp->n_layer && (
	    key_u32(m, "expert_count", 1, DS2_MAX_EXPERTS, &r->n_expert,
	    cause) != 0 ||
	    key_u32(m, "expert_used_count", 1, DS2_MAX_EXPERTS, &r->n_used,
	    cause) != 0 ||
	    key_u32(m, "expert_feed_forward_length", 1, 1 << 20,
	    &d->n_ff_exp, cause) != 0 ||
	    key_u32(m, "expert_shared_count", 0, 64, &d->n_shared,
	    cause) != 0 ||
	    key_u32(m, "expert_gating_func", 0, 2, &gating, cause) != 0 ||
	    key_u32(m, "expert_group_count", 0, 64, &r->n_group, cause) != 0 ||
	    key_u32(m, "expert_group_used_count", 0, 64, &r->n_group_used,
	    cause) != 0))
		return -1;
	/* no gating key: the DeepSeek-V2 files, softmax */
	r->gating = gating == MOE_GATING_SIGMOID ? MOE_GATING_SIGMOID :
	    MOE_GATING_SOFTMAX;
	key = xstrfmt("%s.expert_weights_norm", m->arch->name);
	if (gguf_get_bool(m->g, key, &norm) == 0)
		r->norm = norm != 0;
	free(key);
	model_key_f32(m, "expert_weights_scale", &r->scale);

	/* split k_b/v_b files say the per-head sizes in the _mla keys */
	d->dk = dk > 0 && dv > 0 ? dk : hp->head_dim_k;
	d->dv = dk > 0 && dv > 0 ? dv : hp->head_dim_v;
	d->rope = hp->n_rot;
	d->nope = d->dk - d->rope;
	if (d->nope < 1 || d->dv < 1 || (r->n_expert > 0 &&
	    (r->n_used < 1 || r->n_used > r->n_expert || (r->n_group > 1 &&
	    (r->n_expert % r->n_group != 0 || r->n_group_used < 1 ||
	    r->n_group_used > r->n_group ||
	    r->n_used > r->n_group_used * (r->n_expert / r->n_group))))) ||
	    !(r->scale >= 0)) {
		*cause = xstrfmt("inconsistent deepseek2 hyper-parameters: head "
		    "size %d/%d with %d rope dimensions, %d experts (%d used, "
		    "%d groups, %d used)", d->dk, d->dv, d->rope, r->n_expert,
		    r->n_used, r->n_group, r->n_group_used);
		return -1;
	}
	d->max_ff = hp->n_ff > d->n_ff_exp * d->n_shared ? hp->n_ff :
	    d->n_ff_exp * d->n_shared;
	ds2_yarn(m, d);
	d->layers = xcalloc((size_t)hp->n_layer, sizeof *d->layers);
	return 0;
}

static int
bind_attention(struct model *m, int il, char **cause)
{
	const struct model_hparams	*hp = &m->hp;
	struct ds2_model		*d = m->arch_state;
	struct ds2_layer		*l = &d->layers[il];
	int64_t				 e = hp->n_embd, nh = hp->n_head;

	if (model_bind_vec(m, &l->attn_norm, 1, e, cause,
	    "blk.%d.attn_norm.weight", il) != 0)
		return -1;
	if (d->q_lora > 0) {
		if (model_bind_mat(m, &l->wq_a, 1, e, d->q_lora, cause,
		    "blk.%d.attn_q_a.weight", il) != 0 ||
		    model_bind_vec(m, &l->q_a_norm, 1, d->q_lora, cause,
		    "blk.%d.attn_q_a_norm.weight", il) != 0 ||
		    model_bind_mat(m, &l->wq_b, 1, d->q_lora, nh * d->dk, cause,
		    "blk.%d.attn_q_b.weight", il) != 0)
			return -1;
	} else if (model_bind_mat(m, &l->wq, 1, e, nh * d->dk, cause,
	    "blk.%d.attn_q.weight", il) != 0)
		return -1;
	if (model_bind_mat(m, &l->wkv_a, 1, e, d->kv_lora + d->rope, cause,
	    "blk.%d.attn_kv_a_mqa.weight", il) != 0 ||
	    model_bind_vec(m, &l->kv_a_norm, 1, d->kv_lora, cause,
	    "blk.%d.attn_kv_a_norm.weight", il) != 0 ||
	    model_bind_mat(m, &l->wo, 1, nh * d->dv, e, cause,
	    "blk.%d.attn_output.weight", il) != 0)
		return -1;
	/* the split form when the file has it, else the stacked one */
	if (model_bind_experts(m, &l->wk_b, 0, d->nope, d->kv_lora, nh,
	    cause, "blk.%d.attn_k_b.weight", il) != 0)
		return -1;
	if (l->wk_b.n > 0)
		return model_bind_experts(m, &l->wv_b, 1, d->kv_lora, d->dv,
		    nh, cause, "blk.%d.attn_v_b.weight", il);
	return model_bind_mat(m, &l->wkv_b, 1, d->kv_lora,
	    nh * (d->nope + d->dv), cause, "blk.%d.attn_kv_b.weight", il);
}

static int
bind_ffn(struct model *m, int il, char **cause)
{
	const struct model_hparams	*hp = &m->hp;
	struct ds2_model		*d = m->arch_state;
	struct ds2_layer		*l = &d->layers[il];
	const struct moe_router		*r = &d->router;
	int64_t				 e = hp->n_embd, ff;
	const char			*sfx;

	if (model_bind_vec(m, &l->ffn_norm, 1, e, cause,
	    "blk.%d.ffn_norm.weight", il) != 0)
		return -1;
	sfx = il < d->n_dense ? "" : "_shexp";
	ff = il < d->n_dense ? hp->n_ff : (int64_t)d->n_ff_exp * d->n_shared;
	l->n_ff = (int)ff;
	if (ff > 0 && (model_bind_mat(m, &l->w_gate, 1, e, ff, cause,
	    "blk.%d.ffn_gate%s.weight", il, sfx) != 0 ||
	    model_bind_mat(m, &l->w_up, 1, e, ff, cause,
	    "blk.%d.ffn_up%s.weight", il, sfx) != 0 ||
	    model_bind_mat(m, &l->w_down, 1, ff, e, cause,
	    "blk.%d.ffn_down%s.weight", il, sfx) != 0))
		return -1;
	if (il < d->n_dense)
		return 0;
	l->moe.n_embd = (int)e;
	l->moe.n_ff = d->n_ff_exp;
	return model_bind_mat(m, &l->gate_inp, 1, e, r->n_expert, cause,
	    "blk.%d.ffn_gate_inp.weight", il) != 0 ||
	    model_bind_vec(m, &l->exp_probs_b, 0, r->n_expert, cause,
	    "blk.%d.exp_probs_b.bias", il) != 0 ||
	    model_bind_experts(m, &l->moe.gate, 1, e, d->n_ff_exp,
	    r->n_expert, cause, "blk.%d.ffn_gate_exps.weight", il) != 0 ||
	    model_bind_experts(m, &l->moe.up, 1, e, d->n_ff_exp, r->n_expert,
	    cause, "blk.%d.ffn_up_exps.weight", il) != 0 ||
	    model_bind_experts(m, &l->moe.down, 1, d->n_ff_exp, e,
	    r->n_expert, cause, "blk.%d.ffn_down_exps.weight", il) != 0 ?
	    -1 : 0;
}

static int
ds2_bind_layer(struct model *m, int il, char **cause)
{
	if (bind_attention(m, il, cause) != 0 || bind_ffn(m, il, cause) != 0)
		return -1;
	return 0;
}

static void
ds2_free(struct model *m)
{
	struct ds2_model	*d = m->arch_state;

	if (d != NULL)
		free(d->layers);
	free(d);
	m->arch_state = NULL;
}

/*
 * Layer il's matrices: the stacked attn_kv_b is read row by row
 * (absorb_q) and as views of some rows (expand_v), attn_k_b and attn_v_b
 * as views of one head each, the experts as views of one expert each;
 * the rest is only multiplied, and could be repacked, but none is: the
 * panels were built and measured on the dense models only, and a MoE
 * model's time goes to the experts, which stay as stored anyway.
 */
static int
ds2_layer_mats(struct model *m, int il, struct arch_mat *out)
{
	struct ds2_model	*d = m->arch_state;
	struct ds2_layer	*l = &d->layers[il];
	struct arch_mat		 all[] = {
		{ &l->wq_a, 0 }, { &l->wq_b, 0 }, { &l->wq, 0 },
		{ &l->wkv_a, 0 }, { &l->wo, 0 },
		{ &l->w_gate, 0 }, { &l->w_up, 0 }, { &l->w_down, 0 },
		{ &l->gate_inp, 0 }, { &l->wkv_b, 0 },
	};
	struct moe_experts	*x[] = { &l->wk_b, &l->wv_b, &l->moe.gate,
				    &l->moe.up, &l->moe.down };
	size_t			 i;
	int			 n = 0;

	/* what the file has of them: the bound ones */
	for (i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (((struct ops_mat *)all[i].bound)->data != NULL)
			out[n++] = all[i];
	}
	for (i = 0; i < sizeof x / sizeof x[0]; i++) {
		if (x[i]->n > 0) {
			out[n].bound = x[i];
			out[n++].repack = 0;
		}
	}
	return n;
}

static void
ds2_kv_width(const struct model *m, int il, int *k, int *v)
{
	const struct ds2_model	*d = m->arch_state;

	(void)il;
	/* the latent and the shared rotary key; the latent is the value */
	*k = d->kv_lora + d->rope;
	*v = 0;
}

/* The arena of a layer's forward pass. */
struct ds2_bufs {
	float	*q;		/* [n][n_head * dk] */
	float	*qa;		/* [n][q_lora] */
	float	*kv;		/* [n][kv_lora + rope], the cache rows */
	float	*qc;		/* [n][n_head][kv_lora + rope], absorbed */
	float	*att;		/* [n][n_head][kv_lora] */
	float	*hv;		/* [n][n_head * dv] */
	float	*gx, *gy;	/* one head's rows, gathered */
	float	*row;		/* [kv_lora], a dequantized row */
	float	*delta;		/* [n][n_embd] */
	float	*gate, *up;	/* [n][max_ff] */
	float	*logits;	/* [n][n_expert] */
	float	*rtmp;		/* [2 * n_expert] */
	float	*w;		/* [n][n_used] */
	int	*sel;		/* [n][n_used] */
	float	*moe;		/* moe_scratch_floats */
};

static size_t
ds2_carve(const struct model *m, int n_batch, float *base, struct ds2_bufs *b)
{
	const struct ds2_model	*d = m->arch_state;
	const struct moe_router	*r = &d->router;
	size_t			 n = (size_t)n_batch, nh = (size_t)m->hp.n_head;
	size_t			 g = (size_t)(d->kv_lora > d->nope ? d->kv_lora :
				    d->nope), off = 0, sz[16], moe = 0;
	float			**dst[16] = { &b->q, &b->qa, &b->kv, &b->qc,
				    &b->att, &b->hv, &b->gx, &b->gy, &b->row,
				    &b->delta, &b->gate, &b->up, &b->logits,
				    &b->rtmp, &b->w, (float **)&b->sel };
	int			 i;

	if (g < (size_t)d->dv)
		g = (size_t)d->dv;
	sz[0] = n * nh * d->dk;
	sz[1] = n * d->q_lora;
	sz[2] = n * (d->kv_lora + d->rope);
	sz[3] = n * nh * (d->kv_lora + d->rope);
	sz[4] = n * nh * d->kv_lora;
	sz[5] = n * nh * d->dv;
	sz[6] = n * g;
	sz[7] = n * g;
	sz[8] = d->kv_lora;
	sz[9] = n * m->hp.n_embd;
	sz[10] = n * d->max_ff;
	sz[11] = n * d->max_ff;
	sz[12] = n * r->n_expert;
	sz[13] = 2 * (size_t)r->n_expert;
	sz[14] = n * r->n_used;
	sz[15] = n * r->n_used;
	for (i = 0; i < 16; i++) {
		if (base != NULL)
			*dst[i] = base + off;
		off += (sz[i] + 15) & ~(size_t)15;
	}
	if (r->n_expert > 0) {
		/* the layers are not bound yet when the context is sized */
		struct moe_ffn	f = { .gate.n = r->n_expert,
				    .n_embd = m->hp.n_embd,
				    .n_ff = d->n_ff_exp };

		moe = moe_scratch_floats(&f, n_batch, r->n_used);
	}
	if (base != NULL)
		b->moe = base + off;
	return off + moe;
}

static size_t
ds2_scratch_floats(const struct model *m, int n_batch)
{
	struct ds2_bufs	b;

	return ds2_carve(m, n_batch, NULL, &b);
}

/* Copies n rows of w floats, src_stride apart, to dst_stride apart. */
static void
copy_rows(float *dst, size_t dst_stride, const float *src, size_t src_stride,
    int n, int w)
{
	int	t;

	for (t = 0; t < n; t++)
		memcpy(dst + t * dst_stride, src + t * src_stride,
		    (size_t)w * sizeof *dst);
}

/*
 * qc[t][h][0 .. kv_lora) = K_h^T q_nope[t][h]: per head a matmul with the
 * split attn_k_b, or, with the stacked attn_kv_b, the sum of K_h's rows
 * weighted by q_nope, each row dequantized once for all tokens.
 */
static int
absorb_q(struct model_ctx *c, const struct ds2_layer *l, struct ds2_bufs *b,
    int n, int il, char **cause)
{
	const struct ds2_model		*d = c->m->arch_state;
	const struct quant_traits	*qt;
	size_t				 qs = (size_t)c->m->hp.n_head * d->dk;
	size_t				 cw = (size_t)d->kv_lora + d->rope;
	int				 nh = c->m->hp.n_head, h, i, t, j;
	struct ops_mat			 kb;

	for (h = 0; h < nh; h++) {
		float	*qc = b->qc + (size_t)h * cw;
		float	*qn = b->q + (size_t)h * d->dk;

		if (l->wk_b.n > 0) {
			copy_rows(b->gx, d->nope, qn, qs, n, d->nope);
			kb = moe_expert(&l->wk_b, h);
			if (model_matmul(c, &kb, b->gx, n, b->gy, il,
			    "attn_k_b", cause) != 0)
				return -1;
			copy_rows(qc, nh * cw, b->gy, d->kv_lora, n,
			    d->kv_lora);
			continue;
		}
		qt = quant_traits(l->wkv_b.type);
		for (t = 0; t < n; t++)
			memset(qc + t * nh * cw, 0, d->kv_lora * sizeof *qc);
		for (i = 0; i < d->nope; i++) {
			qt->to_float((const char *)l->wkv_b.data +
			    ((size_t)h * (d->nope + d->dv) + i) *
			    l->wkv_b.row_size, b->row, d->kv_lora);
			for (t = 0; t < n; t++) {
				float	*o = qc + t * nh * cw;
				float	 a = qn[t * qs + i];

				for (j = 0; j < d->kv_lora; j++)
					o[j] += a * b->row[j];
			}
		}
	}
	return 0;
}

/* hv[t][h] = V_h att[t][h], per head. */
static int
expand_v(struct model_ctx *c, const struct ds2_layer *l, struct ds2_bufs *b,
    int n, int il, char **cause)
{
	const struct ds2_model	*d = c->m->arch_state;
	int			 nh = c->m->hp.n_head, h;
	struct ops_mat		 vb;

	for (h = 0; h < nh; h++) {
		if (l->wv_b.n > 0)
			vb = moe_expert(&l->wv_b, h);
		else {
			vb = l->wkv_b;
			vb.rows = d->dv;
			vb.data = (const char *)l->wkv_b.data +
			    ((size_t)h * (d->nope + d->dv) + d->nope) *
			    l->wkv_b.row_size;
		}
		copy_rows(b->gx, d->kv_lora, b->att + (size_t)h * d->kv_lora,
		    (size_t)nh * d->kv_lora, n, d->kv_lora);
		if (model_matmul(c, &vb, b->gx, n, b->gy, il, "attn_v_b",
		    cause) != 0)
			return -1;
		copy_rows(b->hv + (size_t)h * d->dv, (size_t)nh * d->dv, b->gy,
		    d->dv, n, d->dv);
	}
	return 0;
}

/* One head of one token against an F32 latent cache. */
static void
mla_head_f32(const float *cache, int cw, int kvr, const float *q, int n_kv,
    float scale, float *sc, float *out)
{
	float	max = -INFINITY, s, inv;
	double	sum;
	int	p, i;

	for (p = 0; p < n_kv; p++) {
		const float	*k = cache + (size_t)p * cw;

		s = 0;
		for (i = 0; i < cw; i++)
			s += k[i] * q[i];
		sc[p] = s * scale;
		max = sc[p] > max ? sc[p] : max;
	}
	sum = ops_exp_sum(sc, n_kv, max);
	memset(out, 0, (size_t)kvr * sizeof *out);
	for (p = 0; p < n_kv; p++) {
		const float	*v = cache + (size_t)p * cw;

		for (i = 0; i < kvr; i++)
			out[i] += sc[p] * v[i];
	}
	inv = (float)(1.0 / sum);
	for (i = 0; i < kvr; i++)
		out[i] *= inv;
}

/* att = softmax(scale * qc . cache) . latent, every head of every token. */
static int
mla_attention(struct model_ctx *c, int il, struct ds2_bufs *b, int n,
    int pos0, char **cause)
{
	const struct ds2_model	*d = c->m->arch_state;
	struct ops_attn		 a;
	int			 nh = c->m->hp.n_head, cw = d->kv_lora + d->rope;
	int			 nth, u;

	if (kv_type(c->kv) == KV_F16) {
		memset(&a, 0, sizeof a);
		a.n_head = nh;
		a.n_head_kv = 1;
		a.dim_k = cw;
		a.dim_v = d->kv_lora;
		a.k_stride = a.v_stride = (size_t)cw;
		a.scale = d->kq_scale;
		a.k = a.v = kv_keys(c->kv, il);
		if (ops_attention(&a, b->qc, n, pos0, b->att,
		    &c->scratch) != 0) {
			*cause = xstrdup("out of memory for attention");
			return -1;
		}
		return 0;
	}
	nth = ops_threads() < c->att_threads ? ops_threads() : c->att_threads;
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static, 1)
	for (u = 0; u < n * nh; u++) {
		int	me = 0;

#ifdef _OPENMP
		me = omp_get_thread_num();
#endif
		mla_head_f32(kv_keys(c->kv, il), cw, d->kv_lora,
		    b->qc + (size_t)u * cw, pos0 + u / nh + 1, d->kq_scale,
		    c->att_buf + (size_t)me * c->n_ctx,
		    b->att + (size_t)u * d->kv_lora);
	}
	return 0;
}

static int
attention(struct model_ctx *c, int il, float *x, int n, int pos0,
    struct ds2_bufs *b, char **cause)
{
	const struct model		*m = c->m;
	const struct model_hparams	*hp = &m->hp;
	const struct ds2_model		*d = m->arch_state;
	const struct ds2_layer		*l = &d->layers[il];
	int				 e = hp->n_embd, nh = hp->n_head, t, h;
	size_t				 qs = (size_t)nh * d->dk;
	size_t				 cw = (size_t)d->kv_lora + d->rope;

	for (t = 0; t < n; t++)
		ops_rmsnorm(c->xn + (size_t)t * e, x + (size_t)t * e,
		    l->attn_norm, e, hp->eps);
	if (d->q_lora > 0) {
		if (model_matmul(c, &l->wq_a, c->xn, n, b->qa, il, "attn_q_a",
		    cause) != 0)
			return -1;
		for (t = 0; t < n; t++)
			ops_rmsnorm(b->qa + (size_t)t * d->q_lora,
			    b->qa + (size_t)t * d->q_lora, l->q_a_norm,
			    d->q_lora, hp->eps);
		if (model_matmul(c, &l->wq_b, b->qa, n, b->q, il, "attn_q_b",
		    cause) != 0)
			return -1;
	} else if (model_matmul(c, &l->wq, c->xn, n, b->q, il, "attn_q",
	    cause) != 0)
		return -1;
	if (model_matmul(c, &l->wkv_a, c->xn, n, b->kv, il, "attn_kv_a_mqa",
	    cause) != 0)
		return -1;

	for (t = 0; t < n; t++) {
		float	*kv = b->kv + t * cw, *q = b->q + t * qs;

		ops_rmsnorm(kv, kv, l->kv_a_norm, d->kv_lora, hp->eps);
		model_rope(m, kv + d->kv_lora, 1, d->rope, pos0 + t);
		/* each head's rope part sits after its nope part */
		model_rope(m, q + d->nope, nh, d->dk, pos0 + t);
	}
	kv_store(c->kv, il, pos0, n, b->kv, NULL);

	if (absorb_q(c, l, b, n, il, cause) != 0)
		return -1;
	for (t = 0; t < n; t++) {
		for (h = 0; h < nh; h++)
			memcpy(b->qc + ((size_t)t * nh + h) * cw + d->kv_lora,
			    b->q + t * qs + (size_t)h * d->dk + d->nope,
			    (size_t)d->rope * sizeof *b->qc);
	}
	if (mla_attention(c, il, b, n, pos0, cause) != 0 ||
	    expand_v(c, l, b, n, il, cause) != 0 ||
	    model_matmul(c, &l->wo, b->hv, n, b->delta, il, "attn_output",
	    cause) != 0)
		return -1;
	for (t = 0; t < n * e; t++)
		x[t] += b->delta[t];
	return 0;
}

/* A MoE layer's FFN for one token (xn normed): experts and shared at once. */
static int
ffn_token(struct model_ctx *c, int il, float *x, struct ds2_bufs *b,
    char **cause)
{
	const struct model		*m = c->m;
	const struct ds2_model		*d = m->arch_state;
	const struct ds2_layer		*l = &d->layers[il];
	const struct moe_router		*r = &d->router;
	struct moe_shared		 sh = { &l->w_gate, &l->w_up,
					    &l->w_down, l->n_ff, b->gate,
					    b->up };
	int				 t;

	if (model_matmul(c, &l->gate_inp, c->xn, 1, b->logits, il,
	    "ffn_gate_inp", cause) != 0)
		return -1;
	moe_route(r, b->logits, l->exp_probs_b, b->rtmp, b->sel, b->w);
	if (moe_ffn_token(&l->moe, &sh, c->xn, b->sel, b->w, r->n_used,
	    b->delta, b->moe, &c->scratch) != 0) {
		*cause = xstrfmt("blk.%d.ffn_*: matmul failed", il);
		return -1;
	}
	for (t = 0; t < m->hp.n_embd; t++)
		x[t] += b->delta[t];
	return 0;
}

static int
ffn(struct model_ctx *c, int il, float *x, int n, struct ds2_bufs *b,
    char **cause)
{
	const struct model		*m = c->m;
	const struct model_hparams	*hp = &m->hp;
	const struct ds2_model		*d = m->arch_state;
	const struct ds2_layer		*l = &d->layers[il];
	const struct moe_router		*r = &d->router;
	int				 e = hp->n_embd, t;

	for (t = 0; t < n; t++)
		ops_rmsnorm(c->xn + (size_t)t * e, x + (size_t)t * e,
		    l->ffn_norm, e, hp->eps);
	if (n == 1 && l->moe.n_ff > 0)
		return ffn_token(c, il, x, b, cause);
	if (l->n_ff > 0) {
		if (model_matmul(c, &l->w_gate, c->xn, n, b->gate, il,
		    "ffn_gate", cause) != 0 ||
		    model_matmul(c, &l->w_up, c->xn, n, b->up, il, "ffn_up",
		    cause) != 0)
			return -1;
		ops_swiglu(b->gate, b->up, n * l->n_ff);
		if (model_matmul(c, &l->w_down, b->gate, n, b->delta, il,
		    "ffn_down", cause) != 0)
			return -1;
	} else
		memset(b->delta, 0, (size_t)n * e * sizeof *b->delta);

	if (l->moe.n_ff > 0) {
		if (model_matmul(c, &l->gate_inp, c->xn, n, b->logits, il,
		    "ffn_gate_inp", cause) != 0)
			return -1;
		for (t = 0; t < n; t++)
			moe_route(r, b->logits + (size_t)t * r->n_expert,
			    l->exp_probs_b, b->rtmp, b->sel + t * r->n_used,
			    b->w + t * r->n_used);
		if (moe_ffn_forward(&l->moe, c->xn, n, b->sel, b->w,
		    r->n_used, b->delta, b->moe, &c->scratch) != 0) {
			*cause = xstrfmt("blk.%d.ffn_*_exps: matmul failed",
			    il);
			return -1;
		}
	}
	for (t = 0; t < n * e; t++)
		x[t] += b->delta[t];
	return 0;
}

static int
ds2_layer_forward(struct model_ctx *c, int il, float *x, int n, int pos0,
    char **cause)
{
	struct ds2_bufs	b;

	ds2_carve(c->m, c->n_batch, c->arena, &b);
	if (attention(c, il, x, n, pos0, &b, cause) != 0 ||
	    ffn(c, il, x, n, &b, cause) != 0)
		return -1;
	return 0;
}

const struct arch arch_deepseek2 = {
	.name = "deepseek2",
	.rope_neox = 0,
	.init = ds2_init,
	.bind_layer = ds2_bind_layer,
	.layer_mats = ds2_layer_mats,
	.kv_width = ds2_kv_width,
	.scratch_floats = ds2_scratch_floats,
	.layer_forward = ds2_layer_forward,
	.free = ds2_free,
};
