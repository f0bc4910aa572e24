/*
 * ops.h - the operations of a forward pass, in F32 activations.
 *
 * ops owns the parallelism: matmul splits rows (and token tiles) over
 * OpenMP threads and quantizes the activations once per call, shared by
 * all threads; attention splits heads and tokens.  The element-wise
 * operations are single-threaded: they are cheap next to the matmuls and
 * not worth a fork and join.
 */
#ifndef R1_OPS_H
#define R1_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

struct quant_panel;

/*
 * A 2-D weight matrix in any quant type: rows of cols elements, as
 * stored, or repacked into panels (quant.h's struct quant_panel: then
 * rows is a whole number of them, and data the first).
 */
struct ops_mat {
	uint32_t	 type;		/* enum ggml_type */
	int64_t		 rows;		/* ne[1] */
	int64_t		 cols;		/* ne[0], the row length */
	size_t		 row_size;	/* bytes per row */
	const void	*data;
	const struct quant_panel *panel; /* the repacked kernels, or NULL */
};

/*
 * Repacks w into panels at dst (ops_repack_size(w) bytes, 64-byte
 * aligned), on all threads, and points w at them.  Returns 0, or -1
 * (w untouched) when w's type has no panels on this path or w's shape
 * does not fit them.
 */
int ops_repack(struct ops_mat *w, void *dst);
/* The bytes ops_repack would write for w, or 0 when it would not take
 * w. */
size_t ops_repack_size(const struct ops_mat *w);

/*
 * Scratch space for matmul's quantized activations and attention's
 * scores, grown as needed and reused, so that no call allocates in steady
 * state.  Zero-initialise it before first use.
 */
struct ops_scratch {
	void	*buf;
	size_t	 size;
};

/* Frees what the scratch holds; it may be reused afterwards. */
void ops_scratch_free(struct ops_scratch *s);

/*
 * y[t * w->rows + r] = dot(row r of w, x[t * w->cols ...]) for t in
 * [0, n_tok).  x is n_tok rows of w->cols floats; y must not overlap x.
 * Returns 0, or -1 if w's type has no kernels (quant_traits is NULL), its
 * row length is not a whole number of blocks, or the scratch cannot grow.
 */
int ops_matmul(const struct ops_mat *w, const float *x, int n_tok, float *y,
    struct ops_scratch *scratch);

/*
 * ops_matmul of the nw matrices w[i] on the same x, into y[i]: for a
 * single token and at most OPS_MATMUL_MAX matrices, as ops_matmul_each.
 * Returns as ops_matmul.
 */
#define OPS_MATMUL_MAX 32
int ops_matmul_n(const struct ops_mat *const *w, int nw, const float *x,
    int n_tok, float *const *y, struct ops_scratch *scratch);

/*
 * y[i] = w[i] x[i] for i in [0, nw), one token each (x[i] is w[i]->cols
 * floats): at most OPS_MATMUL_MAX matrices in one parallel pass with no
 * barrier inside, each distinct activation row (the same x pointer, row
 * length and activation form) quantized once, with the bits separate
 * ops_matmul calls would give; more run one by one.  A mixture of
 * experts runs all its chosen experts' gates and ups in one pass, then
 * their downs in another.  Returns as ops_matmul.
 */
int ops_matmul_each(const struct ops_mat *const *w, int nw,
    const float *const *x, float *const *y, struct ops_scratch *scratch);

/* Sets the number of threads ops uses (OpenMP); n <= 0 means all cores. */
void ops_set_threads(int n);
int ops_threads(void);

/* The processors OpenMP may run on: the thread count by default. */
int ops_procs(void);

/*
 * out = x / sqrt(mean(x^2) + eps) * w (w may be NULL: no weight).  out
 * may be x.
 */
void ops_rmsnorm(float *out, const float *x, const float *w, int n,
    float eps);

/*
 * Rotary embedding of n_head heads of head_dim values at position pos, on
 * the first n_rot dimensions of each head.  neox pairs i with i + n_rot/2;
 * otherwise 2i with 2i+1.  Frequency i is base^(-2i/n_rot), divided by
 * freq_factors[i] when given (llama3's rope_freqs), computed as ggml does
 * so that results agree with llama.cpp to float rounding.
 */
void ops_rope(float *x, int n_head, int head_dim, int n_rot, int pos,
    float base, const float *freq_factors, int neox);

/*
 * RoPE with YaRN context extension, as ggml's rope_ext (DeepSeek-V2/V3).
 * ops_rope is this with freq_scale 1, ext_factor 0, attn_factor 1.
 */
struct ops_rope_yarn {
	float		 freq_scale;	/* 1 / scaling factor */
	float		 ext_factor;	/* 0: plain interpolation */
	float		 attn_factor;	/* magnitude scale (mscale) */
	float		 beta_fast;
	float		 beta_slow;
	int		 n_ctx_orig;	/* the training context */
};
void ops_rope_ext(float *x, int n_head, int head_dim, int n_rot, int pos,
    float base, const float *freq_factors, int neox,
    const struct ops_rope_yarn *yarn);

/*
 * x[i] = e^(x[i] - m) for i < n; returns their sum, added in double
 * (softmax's numerator and denominator).
 */
double ops_exp_sum(float *x, int n, float m);

/* x = softmax(x) over n values, in place. */
void ops_softmax(float *x, int n);

/* x = silu(x) * g, element-wise (SwiGLU). */
void ops_swiglu(float *x, const float *g, int n);

/* Returns sum of x[i] * y[i]: x IEEE half bits (a K cache row), y F32. */
float ops_dot_f16(const uint16_t *x, const float *y, int n);

/* y[i] += a * x[i]: x IEEE half bits (a V cache row). */
void ops_axpy_f16(float *y, float a, const uint16_t *x, int n);

/* y[i] = x[i] rounded to IEEE half (storing K and V in the cache). */
void ops_f32_to_f16(uint16_t *y, const float *x, int n);

/*
 * Multi-head attention with grouped key/value heads over an F16 cache.
 * Key row of position p, kv head h: k + p * k_stride + h * dim_k; value
 * row likewise with v_stride and dim_v.  Query head i uses kv head
 * i / (n_head / n_head_kv).
 */
struct ops_attn {
	int		 n_head;
	int		 n_head_kv;	/* divides n_head */
	int		 dim_k;		/* query and key head size */
	int		 dim_v;		/* value head size */
	size_t		 k_stride;	/* elements between positions */
	size_t		 v_stride;
	float		 scale;		/* applied to q.k, usually 1/sqrt(dim_k) */
	const uint16_t	*k;
	const uint16_t	*v;
};

/*
 * For each of n_tok query rows (n_head * dim_k floats each; token t at
 * position pos0 + t, seeing positions 0 .. pos0 + t, causal), out gets
 * n_head * dim_v floats: softmax(scale * q.k) weighted sum of v.  The
 * cache must already hold positions up to pos0 + n_tok - 1.  Returns 0, or
 * -1 if the scratch cannot grow.
 */
int ops_attention(const struct ops_attn *a, const float *q, int n_tok,
    int pos0, float *out, struct ops_scratch *scratch);

/*
 * Bytes of scratch ops_attention takes for up to n_ctx positions on nth
 * threads: what to give the scratch up front so that it never grows.
 */
size_t ops_attention_scratch(const struct ops_attn *a, int n_ctx, int nth);

#endif
