/*
 * model.h - a model bound from GGUF (hyper-parameters and weights, which
 * stay in the map) and contexts that run it: a KV cache, scratch, and
 * forward passes over batches of tokens.
 *
 * A model is read-only once open; each context is used by one thread at a
 * time (the kernels below parallelise each call).
 */
#ifndef R1_MODEL_H
#define R1_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

struct gguf_file;
struct model;
struct model_ctx;

/*
 * What the architecture's keys say (the common ones), as the file says
 * them: a deepseek2 file in the split layout gives its MLA cache as one
 * key head (head_dim_k = kv_lora_rank + rope dimensions), its per-head
 * sizes in keys of its own.
 */
struct model_hparams {
	int	 n_layer;
	int	 n_embd;
	int	 n_ff;
	int	 n_head;
	int	 n_head_kv;
	int	 head_dim_k;	/* attention.key_length */
	int	 head_dim_v;	/* attention.value_length */
	int	 n_rot;		/* rope.dimension_count */
	int	 n_ctx_train;	/* context_length */
	int	 n_vocab;	/* token_embd rows */
	float	 rope_base;
	float	 rope_scale;	/* rope.scaling.factor, 1 for none */
	float	 eps;		/* attention.layer_norm_rms_epsilon */
};

/*
 * Binds the model in an open file; the model borrows g, which must
 * outlive it.  The matrices the architecture only multiplies, of a type
 * the kernels have panels for on this path (ops_repack_size: Q8_0 and
 * Q4_K on the amx path), are repacked into memory of the model's own,
 * unless model_set_repack(0) or R1CHAT_REPACK=0, and the file's pages
 * they were read from let go.  Returns NULL with *cause set: for an
 * architecture r1chat does not run (naming it and the supported ones), a
 * missing key, inconsistent hyper-parameters, a missing tensor or one of
 * the wrong shape or type (naming it).
 */
struct model *model_load(const struct gguf_file *g, char **cause);

/*
 * model_load, after setting the kernels' thread count to n_threads (<= 0:
 * leave it as it is).
 */
struct model *model_open(const struct gguf_file *g, int n_threads,
    char **cause);

/* Opens the GGUF file at path (split shards too) and binds it; the model
 * owns the file then. */
struct model *model_open_file(const char *path, char **cause);

/* Whether model_load repacks (1, the default) or leaves every weight in
 * the file's map (0: --mlock, which locks that map). */
void model_set_repack(int on);

/* Frees the model (and the file, if model_open_file opened it). */
void model_free(struct model *m);

/* The default context: min(context_length, 8192). */
int model_default_ctx(const struct model *m);

const struct gguf_file *model_gguf(const struct model *m);
const struct model_hparams *model_hparams(const struct model *m);
const char *model_arch_name(const struct model *m);

struct model_ctx_params {
	int		 n_ctx;		/* 0: min(context_length, 8192) */
	int		 n_batch;	/* tokens per forward pass; 0: 512;
					 * at most n_ctx */
	enum kv_type	 kv_type;
};

/*
 * Creates a context with an empty cache.  The buffers a forward pass
 * needs are allocated here, but for matmul's scratch, which reaches its
 * size with the first batch (deepseek2's attention shares it, growing it
 * with the context).  Returns NULL with *cause set when memory is short
 * or n_ctx is over 2^24.
 */
struct model_ctx *model_ctx_new_ext(const struct model *m,
    const struct model_ctx_params *p, char **cause);

/* model_ctx_new_ext with n_ctx, the default batch and an F16 cache. */
struct model_ctx *model_ctx_new(const struct model *m, int n_ctx,
    char **cause);
void model_ctx_free(struct model_ctx *c);

int model_ctx_n_ctx(const struct model_ctx *c);

/* The bytes of m's key/value cache for n_ctx tokens of type t, what
 * model_ctx_new_ext would allocate for it. */
uint64_t model_kv_bytes(const struct model *m, int n_ctx, enum kv_type t);
size_t model_ctx_kv_bytes(const struct model_ctx *c);

/* Positions filled so far (the next token goes there). */
int model_ctx_pos(const struct model_ctx *c);

/* Forgets positions >= pos (0 empties the cache); a pos outside
 * [0, model_ctx_pos) changes nothing. */
void model_ctx_rewind(struct model_ctx *c, int pos);

/*
 * Runs n tokens through the model at the next positions, in batches of
 * n_batch.  When logits is not NULL it receives n rows of n_vocab logits,
 * one per token; the last token's row is always kept (model_logits).
 * Returns 0, or -1 with *cause set when the tokens do not fit the context
 * (nothing is evaluated then), an id is out of range, or a kernel fails.
 */
int model_decode(struct model_ctx *c, const int32_t *ids, int n,
    float *logits, char **cause);

/* The logits after the last token decoded (n_vocab floats). */
const float *model_logits(const struct model_ctx *c);

/*
 * The chat's form: forgets the cache from position pos on, decodes the n
 * tokens there and returns the last one's logits (valid until the next
 * call), or NULL with *cause set: as model_decode's, or for a pos past
 * model_ctx_pos.
 */
const float *model_eval(struct model_ctx *c, const int32_t *ids, int n,
    int pos, char **cause);

#endif
