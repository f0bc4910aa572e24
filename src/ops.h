/*
 * ops.h - the operations of a forward pass, in F32 activations.
 *
 * ops owns the parallelism: matmul splits rows (and token tiles) over
 * OpenMP threads and quantizes the activations once per call, shared by
 * all threads.  The element-wise operations are single-threaded: they are
 * cheap next to the matmuls.
 */
#ifndef R1_OPS_H
#define R1_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* A 2-D weight matrix in any quant type: rows of cols elements. */
struct ops_mat {
	uint32_t	 type;		/* enum ggml_type */
	int64_t		 rows;		/* ne[1] */
	int64_t		 cols;		/* ne[0], the row length */
	size_t		 row_size;	/* bytes per row */
	const void	*data;
};

/*
 * Scratch space for matmul's quantized activations, grown as needed and
 * reused, so that no call allocates in steady state.
 */
struct ops_scratch {
	void	*buf;
	size_t	 size;
};

/* Frees what the scratch holds. */
void ops_scratch_free(struct ops_scratch *s);

/*
 * y[t * w->rows + r] = dot(row r of w, x[t * w->cols ...]) for t in
 * [0, n_tok).  x is n_tok rows of w->cols floats.  Returns 0, or -1 if w's
 * type has no kernels (quant_traits is NULL).
 */
int ops_matmul(const struct ops_mat *w, const float *x, int n_tok, float *y,
    struct ops_scratch *scratch);

/* Sets the number of threads ops uses (OpenMP); n <= 0 means all cores. */
void ops_set_threads(int n);
int ops_threads(void);

/* out = x / sqrt(mean(x^2) + eps) * w (w may be NULL: no weight). */
void ops_rmsnorm(float *out, const float *x, const float *w, int n,
    float eps);

/*
 * Rotary embedding of n_head heads of head_dim values at position pos, on
 * the first n_rot dimensions of each head.  neox pairs i with i + n_rot/2;
 * otherwise 2i with 2i+1.  freq_factors (may be NULL) divides each
 * frequency (llama3's rope_freqs).
 */
void ops_rope(float *x, int n_head, int head_dim, int n_rot, int pos,
    float base, const float *freq_factors, int neox);

/* x = softmax(x) over n values, in place. */
void ops_softmax(float *x, int n);

/* x = silu(x) * g, element-wise (SwiGLU). */
void ops_swiglu(float *x, const float *g, int n);

#endif
