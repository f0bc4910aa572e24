/*
 * ops-impl.h - internal to ops: the contract between ops.c, which
 * schedules, and the SIMD kernels it hands the work to (ops-x86.c),
 * found through a table indexed by kernel path (ops_kernels).
 */
#ifndef R1_OPS_IMPL_H
#define R1_OPS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "quant.h"

/* Positions whose scores are summed together (one vector of them). */
#define ATTN_TILE 8

/* The most query heads an attention values kernel takes at once. */
#define ATTN_VB_MAX 8

/*
 * A unit of ops_attention: query heads [h0, h0 + nh) of one token, all of
 * one kv head, against positions [0, n_kv).  q and out are the token's
 * rows; ws is the thread's workspace (ops_attention_scratch): nh rows of
 * ss scores, then ATTN_TILE rows of dim_k floats, then dim_v floats.
 */
struct attn_unit {
	const float	*q;
	float		*out;
	int		 h0, nh, n_kv;
	size_t		 ss;
	float		*ws;
};

/*
 * out (nb heads' rows, dim_v apart) = inv[i] times the sum over the
 * unit's positions of score row i of sc (ss apart) times the value row
 * of v, for the unit's heads from the one out starts at.
 */
typedef void (*attn_values_fn)(const struct ops_attn *a,
    const struct attn_unit *w, const uint16_t *v, const float *sc,
    const float *inv, float *out);

/*
 * The attention kernels of one vector width: scores writes the unit's
 * score rows (each dot times a->scale) into its workspace, keys from k;
 * values[nb] sums the values for nb <= vb heads at once.  They take rows
 * with dim_k a multiple of dk_mult and dim_v of dv_mult.
 */
struct attn_kernels {
	void		(*scores)(const struct ops_attn *a,
			    const struct attn_unit *w, const uint16_t *k);
	attn_values_fn	  values[ATTN_VB_MAX + 1];
	int		  vb;
	int		  dk_mult, dv_mult;
};

/*
 * A path's SIMD forms of ops' loops, each as ops.h's function of the same
 * name says; exp_sum and swiglu do a prefix of their range (the whole
 * vectors) and return where they stopped, ops.c does the rest.  attn:
 * the attention kernels to try in turn, the first whose row sizes fit
 * the model (NULL after the last).
 */
struct ops_kernels {
	float	(*dot_f16)(const uint16_t *x, const float *y, int n);
	void	(*axpy_f16)(float *y, float a, const uint16_t *x, int n);
	void	(*f32_to_f16)(uint16_t *y, const float *x, int n);
	int	(*exp_sum)(float *x, int n, float m, double *sum);
	int	(*swiglu)(float *x, const float *g, int i0, int i1);
	const struct attn_kernels *attn[2];
};

/* Each kernel path's kernels, or NULL where ops.c's plain loops run. */
extern const struct ops_kernels *const ops_kernels[QUANT_ISA_COUNT];

#endif
