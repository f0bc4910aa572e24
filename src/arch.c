/*
 * arch.c - the table of the architectures r1chat runs (each file exports
 * its row), and the rows and the layer of the dense decoder family
 * (llama, qwen2, qwen3): pre-norm attention with grouped key/value heads
 * and rotary positions, then a SwiGLU FFN.  The members of the family
 * differ in their flags (struct dense_flags: qwen2 adds q/k/v biases,
 * qwen3 RMS-normalises each q and k head) and in struct arch's
 * rope_neox (llama pairs rope dimensions 2i, 2i+1, the Qwens i,
 * i + n_rot/2).  Their state is the layers' weights.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "model-int.h"
#include "ops.h"
#include "util.h"

/* One layer's weights; what the architecture does not use stays NULL. */
struct dense_layer {
	const float	*attn_norm;		/* [n_embd] */
	struct ops_mat	 wq;			/* n_embd -> n_head * head_dim_k */
	struct ops_mat	 wk;			/* n_embd -> n_head_kv * head_dim_k */
	struct ops_mat	 wv;			/* n_embd -> n_head_kv * head_dim_v */
	struct ops_mat	 wo;			/* n_head * head_dim_v -> n_embd */
	const float	*bq, *bk, *bv;		/* qwen2 biases */
	const float	*q_norm, *k_norm;	/* [head_dim_k], qwen3 */
	const float	*ffn_norm;		/* [n_embd] */
	struct ops_mat	 w_gate;		/* n_embd -> n_ff */
	struct ops_mat	 w_up;			/* n_embd -> n_ff */
	struct ops_mat	 w_down;		/* n_ff -> n_embd */
};

/* What tells the members of the family apart: struct arch's consts. */
struct dense_flags {
	int	qkv_bias;	/* attn_{q,k,v}.bias required */
	int	qk_norm;	/* attn_{q,k}_norm required */
};

/* m->arch_state: the n_layer layers. */
static int
dense_init(struct model *m, char **cause)
{
	(void)cause;
	m->arch_state = xcalloc((size_t)m->hp.n_layer,
	    sizeof (struct dense_layer));
	return 0;
}

static void
dense_free(struct model *m)
{
	free(m->arch_state);
	m->arch_state = NULL;
}

static int
dense_bind_layer(struct model *m, int il, char **cause)
{
	const struct model_hparams	*hp = &m->hp;
	const struct dense_flags	*a = m->arch->consts;
	struct dense_layer		*l = (struct dense_layer *)
					    m->arch_state + il;
	int64_t				 e = hp->n_embd;
	int64_t				 q = (int64_t)hp->n_head * hp->head_dim_k;
	int64_t				 k = (int64_t)hp->n_head_kv *
					     hp->head_dim_k;
	int64_t				 v = (int64_t)hp->n_head_kv *
					     hp->head_dim_v;
	int64_t				 o = (int64_t)hp->n_head *
					     hp->head_dim_v;

	if (model_bind_vec(m, &l->attn_norm, 1, e, cause,
	    "blk.%d.attn_norm.weight", il) != 0 ||
	    model_bind_mat(m, &l->wq, 1, e, q, cause,
	    "blk.%d.attn_q.weight", il) != 0 ||
	    model_bind_mat(m, &l->wk, 1, e, k, cause,
	    "blk.%d.attn_k.weight", il) != 0 ||
	    model_bind_mat(m, &l->wv, 1, e, v, cause,
	    "blk.%d.attn_v.weight", il) != 0 ||
	    model_bind_mat(m, &l->wo, 1, o, e, cause,
	    "blk.%d.attn_output.weight", il) != 0 ||
	    model_bind_vec(m, &l->bq, a->qkv_bias, q, cause,
	    "blk.%d.attn_q.bias", il) != 0 ||
	    model_bind_vec(m, &l->bk, a->qkv_bias, k, cause,
	    "blk.%d.attn_k.bias", il) != 0 ||
	    model_bind_vec(m, &l->bv, a->qkv_bias, v, cause,
	    "blk.%d.attn_v.bias", il) != 0 ||
	    model_bind_vec(m, &l->q_norm, a->qk_norm, hp->head_dim_k, cause,
	    "blk.%d.attn_q_norm.weight", il) != 0 ||
	    model_bind_vec(m, &l->k_norm, a->qk_norm, hp->head_dim_k, cause,
	    "blk.%d.attn_k_norm.weight", il) != 0 ||
	    model_bind_vec(m, &l->ffn_norm, 1, e, cause,
	    "blk.%d.ffn_norm.weight", il) != 0 ||
	    model_bind_mat(m, &l->w_gate, 1, e, hp->n_ff, cause,
	    "blk.%d.ffn_gate.weight", il) != 0 ||
	    model_bind_mat(m, &l->w_up, 1, e, hp->n_ff, cause,
	    "blk.%d.ffn_up.weight", il) != 0 ||
	    model_bind_mat(m, &l->w_down, 1, hp->n_ff, e, cause,
	    "blk.%d.ffn_down.weight", il) != 0)
		return -1;
	return 0;
}

/* Every matrix: all only multiplied. */
static int
dense_layer_mats(struct model *m, int il, struct arch_mat *out)
{
	struct dense_layer	*l = (struct dense_layer *)m->arch_state + il;
	struct ops_mat		*w[] = { &l->wq, &l->wk, &l->wv, &l->wo,
				    &l->w_gate, &l->w_up, &l->w_down };
	size_t			 i;

	for (i = 0; i < sizeof w / sizeof w[0]; i++) {
		out[i].bound = w[i];
		out[i].repack = 1;
	}
	return (int)i;
}

static void
dense_kv_width(const struct model *m, int il, int *k, int *v)
{
	(void)il;
	*k = m->hp.n_head_kv * m->hp.head_dim_k;
	*v = m->hp.n_head_kv * m->hp.head_dim_v;
}

/* The arena: q, k, v, attention out, FFN gate and up, a residual delta. */
struct dense_bufs {
	float	*q, *k, *v, *att, *gate, *up, *delta;
};

static size_t
dense_carve(const struct model *m, int n_batch, float *base,
    struct dense_bufs *b)
{
	const struct model_hparams	*hp = &m->hp;
	size_t				 nb = (size_t)n_batch, off = 0;
	size_t				 sz[7];
	float				**dst[7] = { &b->q, &b->k, &b->v, &b->att,
					    &b->gate, &b->up, &b->delta };
	int				 i;

	sz[0] = nb * hp->n_head * hp->head_dim_k;
	sz[1] = nb * hp->n_head_kv * hp->head_dim_k;
	sz[2] = nb * hp->n_head_kv * hp->head_dim_v;
	sz[3] = nb * hp->n_head * hp->head_dim_v;
	sz[4] = nb * hp->n_ff;
	sz[5] = nb * hp->n_ff;
	sz[6] = nb * hp->n_embd;
	for (i = 0; i < 7; i++) {
		if (base != NULL)
			*dst[i] = base + off;
		/* 16 floats: every buffer starts on a cache line */
		off += (sz[i] + 15) & ~(size_t)15;
	}
	return off;
}

static size_t
dense_scratch_floats(const struct model *m, int n_batch)
{
	struct dense_bufs	b;

	return dense_carve(m, n_batch, NULL, &b);
}

static void
add_rows(float *x, const float *b, int n_rows, int n)
{
	int	t, i;

	for (t = 0; t < n_rows; t++, x += n) {
		for (i = 0; i < n; i++)
			x[i] += b[i];
	}
}

/* Two or three matrices (wc NULL: two) on c->xn, in one pass. */
static int
matmul3(struct model_ctx *c, const struct ops_mat *wa,
    const struct ops_mat *wb, const struct ops_mat *wc, int n, float *ya,
    float *yb, float *yc, int il, const char *what, char **cause)
{
	const struct ops_mat	*w[3] = { wa, wb, wc };
	float			*y[3] = { ya, yb, yc };

	if (ops_matmul_n(w, wc != NULL ? 3 : 2, c->xn, n, y,
	    &c->scratch) != 0) {
		*cause = xstrfmt("blk.%d.%s: matmul failed", il, what);
		return -1;
	}
	return 0;
}

static int
dense_layer_forward(struct model_ctx *c, int il, float *x, int n, int pos0,
    char **cause)
{
	const struct model		*m = c->m;
	const struct model_hparams	*hp = &m->hp;
	const struct dense_layer	*l = (const struct dense_layer *)
					    m->arch_state + il;
	struct dense_bufs		 b;
	int				 e = hp->n_embd, t, h;
	int				 qd = hp->n_head * hp->head_dim_k;
	int				 kd = hp->n_head_kv * hp->head_dim_k;
	int				 vd = hp->n_head_kv * hp->head_dim_v;

	dense_carve(m, c->n_batch, c->arena, &b);

	/* attention */
	for (t = 0; t < n; t++)
		ops_rmsnorm(c->xn + (size_t)t * e, x + (size_t)t * e,
		    l->attn_norm, e, hp->eps);
	if (matmul3(c, &l->wq, &l->wk, &l->wv, n, b.q, b.k, b.v, il,
	    "attn_q/k/v", cause) != 0)
		return -1;
	if (l->bq != NULL) {
		add_rows(b.q, l->bq, n, qd);
		add_rows(b.k, l->bk, n, kd);
		add_rows(b.v, l->bv, n, vd);
	}
	if (l->q_norm != NULL) {
		for (t = 0; t < n * hp->n_head; t++)
			ops_rmsnorm(b.q + (size_t)t * hp->head_dim_k,
			    b.q + (size_t)t * hp->head_dim_k, l->q_norm,
			    hp->head_dim_k, hp->eps);
		for (h = 0; h < n * hp->n_head_kv; h++)
			ops_rmsnorm(b.k + (size_t)h * hp->head_dim_k,
			    b.k + (size_t)h * hp->head_dim_k, l->k_norm,
			    hp->head_dim_k, hp->eps);
	}
	for (t = 0; t < n; t++) {
		model_rope(m, b.q + (size_t)t * qd, hp->n_head,
		    hp->head_dim_k, pos0 + t);
		model_rope(m, b.k + (size_t)t * kd, hp->n_head_kv,
		    hp->head_dim_k, pos0 + t);
	}
	kv_store(c->kv, il, pos0, n, b.k, b.v);
	if (model_attention(c, il, b.q, n, pos0, b.att, cause) != 0)
		return -1;
	if (model_matmul(c, &l->wo, b.att, n, b.delta, il, "attn_output",
	    cause) != 0)
		return -1;
	add_rows(x, b.delta, 1, n * e);

	/* feed-forward */
	for (t = 0; t < n; t++)
		ops_rmsnorm(c->xn + (size_t)t * e, x + (size_t)t * e,
		    l->ffn_norm, e, hp->eps);
	if (matmul3(c, &l->w_gate, &l->w_up, NULL, n, b.gate, b.up, NULL, il,
	    "ffn_gate/up", cause) != 0)
		return -1;
	ops_swiglu(b.gate, b.up, n * hp->n_ff);
	if (model_matmul(c, &l->w_down, b.gate, n, b.delta, il, "ffn_down",
	    cause) != 0)
		return -1;
	add_rows(x, b.delta, 1, n * e);
	return 0;
}

#define DENSE_OPS \
	.init = dense_init, \
	.bind_layer = dense_bind_layer, \
	.layer_mats = dense_layer_mats, \
	.kv_width = dense_kv_width, \
	.scratch_floats = dense_scratch_floats, \
	.layer_forward = dense_layer_forward, \
	.free = dense_free

static const struct dense_flags qwen2_flags = { .qkv_bias = 1 };
static const struct dense_flags llama_flags = { 0 };
static const struct dense_flags qwen3_flags = { .qk_norm = 1 };

const struct arch arch_qwen2 = {
	.name = "qwen2", .rope_neox = 1, .consts = &qwen2_flags, DENSE_OPS
};
const struct arch arch_llama = {
	.name = "llama", .rope_neox = 0, .consts = &llama_flags, DENSE_OPS
};
const struct arch arch_qwen3 = {
	.name = "qwen3", .rope_neox = 1, .consts = &qwen3_flags, DENSE_OPS
};

/* The order of arch_list, and of the messages naming them. */
static const struct arch *const arch_table[] = {
	&arch_qwen2, &arch_llama, &arch_qwen3, &arch_deepseek2,
};
#define N_ARCH (sizeof arch_table / sizeof arch_table[0])

const struct arch *
arch_find(const char *name)
{
	size_t	i;

	for (i = 0; i < N_ARCH; i++) {
		if (strcmp(name, arch_table[i]->name) == 0)
			return arch_table[i];
	}
	return NULL;
}

const char *
arch_list(void)
{
	static char	buf[256];
	size_t		i, len = 0;

	for (i = 0; i < N_ARCH && len < sizeof buf; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
		    i > 0 ? ", " : "", arch_table[i]->name);
	return buf;
}
