/*
 * model-int.h - internal to the model: the model and context structures
 * and the contract between model.c (loading, embedding, output, batches)
 * and the architecture rows (arch.c, one per family of layers).
 */
#ifndef R1_MODEL_INT_H
#define R1_MODEL_INT_H

#include "kv.h"
#include "model.h"
#include "ops.h"

/* One layer's weights; what an architecture does not use stays NULL. */
struct model_layer {
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

struct model;
struct model_ctx;
struct ds2_model;

/*
 * An architecture: how its layers are bound and run.  Loading reads the
 * common keys and the embedding/output tensors first (model.c), then
 * hparams (extra keys), bind_layer for each layer.  A context sizes its
 * cache with kv_width and gives layer_forward an arena of scratch_floats.
 */
struct arch {
	const char	*name;
	int		 rope_neox;	/* rope pairs i, i + n_rot/2 */
	int		 qkv_bias;	/* attn_{q,k,v}.bias required */
	int		 qk_norm;	/* attn_{q,k}_norm required */

	int	(*hparams)(struct model *m, char **cause);
	int	(*bind_layer)(struct model *m, int il, char **cause);
	void	(*kv_width)(const struct model *m, int il, int *k, int *v);
	size_t	(*scratch_floats)(const struct model *m, int n_batch);
	/* x (n_tok rows of n_embd) += the layer's attention and FFN */
	int	(*layer_forward)(struct model_ctx *c, int il, float *x,
		    int n_tok, int pos0, char **cause);
	/* frees what hparams and bind_layer allocated (NULL: nothing) */
	void	(*free)(struct model *m);
};

/* deepseek2: MLA attention and routed experts (arch-deepseek2.c). */
int ds2_hparams(struct model *m, char **cause);
int ds2_bind_layer(struct model *m, int il, char **cause);
void ds2_kv_width(const struct model *m, int il, int *k, int *v);
size_t ds2_scratch_floats(const struct model *m, int n_batch);
int ds2_layer_forward(struct model_ctx *c, int il, float *x, int n_tok,
    int pos0, char **cause);
void ds2_free(struct model *m);

/* The architectures, and the lookup by general.architecture. */
const struct arch *arch_find(const char *name);
const char *arch_list(void);

struct model {
	struct gguf_file	*owned;		/* closed with the model */
	const struct gguf_file	*g;
	const struct arch	*arch;
	struct model_hparams	 hp;
	int			 rope_scaled;	/* use yarn with ops_rope_ext */
	struct ops_rope_yarn	 yarn;		/* rope.scaling.* */
	const float		*rope_freqs;	/* [n_rot / 2] or NULL */
	struct ops_mat		 tok_embd;	/* n_vocab rows of n_embd */
	const float		*output_norm;	/* [n_embd] */
	struct ops_mat		 output;	/* tok_embd when tied */
	struct model_layer	*layers;
	struct ds2_model	*ds2;		/* deepseek2 (arch-deepseek2.c) */
	void			*panels;	/* repacked weights (a map) */
	size_t			 panels_size;
};

struct model_ctx {
	const struct model	*m;
	struct kv		*kv;
	int			 n_ctx;
	int			 n_batch;
	int			 pos;
	float			*x;		/* [n_batch][n_embd] residual */
	float			*xn;		/* [n_batch][n_embd] normed */
	float			*arena;		/* the architecture's scratch */
	float			*logits;	/* [n_vocab], the last token */
	float			*att_buf;	/* F32 cache attention */
	int			 att_threads;	/* att_buf is for this many */
	struct ops_scratch	 scratch;	/* matmul's */
	struct ops_scratch	 att_scratch;	/* F16 attention's, full size */
};

/*
 * Binding helpers for the architectures: a matrix of rows x cols
 * (ne[0] = cols), or an F32 vector of n.  The name is formatted.  A
 * missing tensor is an error when required, else leaves out empty.
 */
int model_bind_mat(struct model *m, struct ops_mat *out, int required,
    int64_t cols, int64_t rows, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
int model_bind_vec(struct model *m, const float **out, int required,
    int64_t n, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Key prefix helpers: "ARCH.suffix". */
int model_key_u32(const struct model *m, const char *suffix, uint32_t *out);
int model_key_f32(const struct model *m, const char *suffix, float *out);

/* Rotary embedding of n_head heads of x at pos, as the model says. */
void model_rope(const struct model *m, float *x, int n_head, int head_dim,
    int pos);

/* Attention over the context's cache for layer il (F16 or F32 cache). */
int model_attention(struct model_ctx *c, int il, const float *q, int n_tok,
    int pos0, float *out, char **cause);

#endif
