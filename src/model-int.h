/*
 * model-int.h - internal to the model: the model and context structures
 * and the contract between model.c (loading, embedding, output, batches,
 * repacking) and the architectures (struct arch).  Each architecture's
 * file exports its struct arch and keeps its layers' weights and its own
 * keys behind model->arch_state: what is here, all of them share.
 */
#ifndef R1_MODEL_INT_H
#define R1_MODEL_INT_H

#include "kv.h"
#include "model.h"
#include "moe.h"
#include "ops.h"

struct model;
struct model_ctx;

/*
 * A matrix an architecture bound (model_bind_mat's struct ops_mat, or
 * model_bind_experts's struct moe_experts), as layer_mats lists it.
 * repack: a struct ops_mat read through ops_matmul and nothing else, so
 * model_load may repack it into panels; 0 for one read any other way
 * (row by row, as views of some of its rows, as experts): it stays as
 * stored.
 */
struct arch_mat {
	void	*bound;
	int	 repack;
};

/* The most matrices a layer may have. */
#define ARCH_MAX_MATS	16

/*
 * An architecture: how its layers are bound and run.  Loading reads the
 * common keys and the embedding/output tensors first (model.c), then
 * calls init (its own keys; allocates m->arch_state), bind_layer for each
 * layer, and layer_mats for each layer: every matrix bind_layer bound
 * must be listed once, or model_load fails naming the one left out (a
 * matrix left out could not be repacked).  A context sizes its cache
 * with kv_width and gives layer_forward an arena of scratch_floats.
 * free releases m->arch_state, after a failed init or bind_layer too.
 * Every hook is required but scratch_floats and free (NULL: none).
 */
struct arch {
	const char	*name;
	int		 rope_neox;	/* rope pairs i, i + n_rot/2 */
	const void	*consts;	/* the architecture's own, or NULL */

	int	(*init)(struct model *m, char **cause);
	int	(*bind_layer)(struct model *m, int il, char **cause);
	/* layer il's matrices into out (ARCH_MAX_MATS at most): how many */
	int	(*layer_mats)(struct model *m, int il, struct arch_mat *out);
	void	(*kv_width)(const struct model *m, int il, int *k, int *v);
	size_t	(*scratch_floats)(const struct model *m, int n_batch);
	/* x (n_tok rows of n_embd) += the layer's attention and FFN */
	int	(*layer_forward)(struct model_ctx *c, int il, float *x,
		    int n_tok, int pos0, char **cause);
	void	(*free)(struct model *m);
};

/* The architectures (arch.c's table lists them), each in its file. */
extern const struct arch arch_qwen2;		/* arch.c */
extern const struct arch arch_llama;		/* arch.c */
extern const struct arch arch_qwen3;		/* arch.c */
extern const struct arch arch_deepseek2;	/* arch-deepseek2.c */

/* The lookup by general.architecture, and the names for messages. */
const struct arch *arch_find(const char *name);
const char *arch_list(void);

/* A matrix bound while loading, and its tensor's name. */
struct model_bound {
	const void	*mat;
	const char	*name;
};

struct model {
	struct gguf_file	*owned;		/* closed with the model */
	const struct gguf_file	*g;
	const struct arch	*arch;
	void			*arch_state;	/* the architecture's */
	struct model_hparams	 hp;
	int			 rope_scaled;	/* use yarn with ops_rope_ext */
	struct ops_rope_yarn	 yarn;		/* rope.scaling.* */
	const float		*rope_freqs;	/* [n_rot / 2] or NULL */
	struct ops_mat		 tok_embd;	/* n_vocab rows of n_embd */
	const float		*output_norm;	/* [n_embd] */
	struct ops_mat		 output;	/* tok_embd when tied */
	struct model_bound	*bound;		/* while loading */
	size_t			 n_bound;
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
 * (ne[0] = cols), a stack of n of them (experts, heads), or an F32
 * vector of n.  The name is formatted.  A missing tensor is an error
 * when required, else leaves out empty (data NULL, n 0).  A matrix bound
 * is noted for layer_mats' check.
 */
int model_bind_mat(struct model *m, struct ops_mat *out, int required,
    int64_t cols, int64_t rows, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
int model_bind_experts(struct model *m, struct moe_experts *out,
    int required, int64_t cols, int64_t rows, int64_t n, char **cause,
    const char *fmt, ...) __attribute__((format(printf, 8, 9)));
int model_bind_vec(struct model *m, const float **out, int required,
    int64_t n, char **cause, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Key prefix helpers: "ARCH.suffix"; 0, or -1 when the key is missing
 * or its value does not fit (gguf_get_u32, gguf_get_f32). */
int model_key_u32(const struct model *m, const char *suffix, uint32_t *out);
int model_key_f32(const struct model *m, const char *suffix, float *out);

/* Rotary embedding of n_head heads of x at pos, as the model says. */
void model_rope(const struct model *m, float *x, int n_head, int head_dim,
    int pos);

/*
 * y = w x for n rows of x (ops_matmul with the context's scratch).
 * Returns 0, or -1 with *cause naming blk.IL.WHAT.
 */
int model_matmul(struct model_ctx *c, const struct ops_mat *w, const float *x,
    int n, float *y, int il, const char *what, char **cause);

/*
 * Attention of n_tok tokens' queries q (n_head heads of head_dim_k each)
 * at pos0.. over the context's cache for layer il (F16 or F32), into out
 * (n_head heads of head_dim_v).  Returns 0, or -1 with *cause set when
 * memory is short.
 */
int model_attention(struct model_ctx *c, int il, const float *q, int n_tok,
    int pos0, float *out, char **cause);

#endif
