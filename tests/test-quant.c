/*
 * test-quant.c - the block formats and their kernels, on every kernel
 * path this CPU runs (R1CHAT_ISA set to each of quant_isa_name's names
 * in turn).
 *
 * (a) dequantizing every T.q of testdata/quant/blocks.gguf gives T.f32
 *     bit for bit (those files were made by GGML's own dequantizers);
 * (b) quantize -> dequantize of Gaussian data stays under a per-type RMSE
 *     bound derived from the format's step size;
 * (c) each vec_dot agrees with the F32 dot of the dequantized operands
 *     (tightly), with the scalar kernel, and with the true dot of the
 *     unquantized data (loosely, a statistical bound);
 * (d) each path's activation quantizers match the reference ones;
 * and the F16/BF16 conversions are exact IEEE.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "quant-impl.h"
#include "quant.h"
#include "rng.h"
#include "tap.h"
#include "util.h"

#define ROW 4096		/* elements per test row: 16 K-blocks */
#define NROWS 16		/* rows per round-trip measurement */

/* --- data ---------------------------------------------------------------- */

static void
fill_gauss(float *x, int64_t n, double sigma, double mean)
{
	int64_t	i;

	for (i = 0; i < n; i++)
		x[i] = (float)(mean + sigma * rng_gauss());
}

static void *
xalloc(size_t n)
{
	void	*p = malloc(n);

	if (p == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	return p;
}

/* The types with weights (a vec_dot), in the order reported. */
static const enum ggml_type weight_types[] = {
	GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q4_0,
	GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0,
	GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K,
	GGML_TYPE_Q6_K,
};
#define N_WEIGHT (sizeof weight_types / sizeof weight_types[0])

/* The scalar kernels, whatever path quant_init chose. */
static const struct {
	quant_vec_dot_fn	 dot;
	quant_from_float_fn	 ref;
} scalar[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = { vec_dot_f32_f32, quantize_row_f32 },
	[GGML_TYPE_F16] = { vec_dot_f16_f32, quantize_row_f16_ref },
	[GGML_TYPE_BF16] = { vec_dot_bf16_f32, quantize_row_bf16_ref },
	[GGML_TYPE_Q4_0] = { vec_dot_q4_0_q8_0, quantize_row_q4_0_ref },
	[GGML_TYPE_Q4_1] = { vec_dot_q4_1_q8_1, quantize_row_q4_1_ref },
	[GGML_TYPE_Q5_0] = { vec_dot_q5_0_q8_0, quantize_row_q5_0_ref },
	[GGML_TYPE_Q5_1] = { vec_dot_q5_1_q8_1, quantize_row_q5_1_ref },
	[GGML_TYPE_Q8_0] = { vec_dot_q8_0_q8_0, quantize_row_q8_0_ref },
	[GGML_TYPE_Q8_1] = { NULL, quantize_row_q8_1_ref },
	[GGML_TYPE_Q2_K] = { vec_dot_q2_K_q8_K, quantize_row_q2_K_ref },
	[GGML_TYPE_Q3_K] = { vec_dot_q3_K_q8_K, quantize_row_q3_K_ref },
	[GGML_TYPE_Q4_K] = { vec_dot_q4_K_q8_K, quantize_row_q4_K_ref },
	[GGML_TYPE_Q5_K] = { vec_dot_q5_K_q8_K, quantize_row_q5_K_ref },
	[GGML_TYPE_Q6_K] = { vec_dot_q6_K_q8_K, quantize_row_q6_K_ref },
	[GGML_TYPE_Q8_K] = { NULL, quantize_row_q8_K_ref },
};

/* --- (a) blocks.gguf ----------------------------------------------------- */

static const char *block_types[] = {
	"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0",
	"q2_k", "q3_k", "q4_k", "q5_k", "q6_k",
};

static void
test_blocks(const struct gguf_file *g, const char *isa)
{
	const struct gguf_tensor	*q, *f;
	const struct quant_traits	*tr;
	char				 name[GGUF_MAX_NAME + 1];
	float				*y;
	int64_t				 n, r;
	size_t				 i, rs;
	int				 same;

	for (i = 0; i < sizeof block_types / sizeof block_types[0]; i++) {
		snprintf(name, sizeof name, "%s.q", block_types[i]);
		q = gguf_tensor_find(g, name);
		snprintf(name, sizeof name, "%s.f32", block_types[i]);
		f = gguf_tensor_find(g, name);
		if (q == NULL || f == NULL || f->type != GGML_TYPE_F32 ||
		    q->ne[0] != f->ne[0] || q->ne[1] != f->ne[1]) {
			ok(0, "%s: blocks.gguf has %s.q and %s.f32", isa,
			    block_types[i], block_types[i]);
			continue;
		}
		tr = quant_traits(q->type);
		if (tr == NULL) {
			ok(0, "%s: %s has traits", isa, block_types[i]);
			continue;
		}
		n = q->ne[0];
		rs = type_row_size(q->type, n);
		y = xalloc((size_t)n * sizeof *y);
		same = 1;
		for (r = 0; r < q->ne[1]; r++) {
			tr->to_float((const uint8_t *)q->data + r * rs, y, n);
			if (memcmp(y, (const float *)f->data + r * n,
			    (size_t)n * sizeof *y) != 0)
				same = 0;
		}
		free(y);
		ok(same, "%s: dequantize %s.q == %s.f32 bit for bit", isa,
		    block_types[i], block_types[i]);
	}
}

/*
 * Every type the traits table has weights of (a vec_dot) has its blocks
 * in blocks.gguf, so that a type added to the table without its fixture
 * fails here (test_blocks and test-quant-iq check the bits).
 */
static void
test_fixture_covers(const struct gguf_file *g)
{
	const struct quant_traits	*tr;
	char				 name[GGUF_MAX_NAME + 1];
	size_t				 i;
	int				 t, missing = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if ((tr = quant_traits(t)) == NULL || tr->vec_dot == NULL)
			continue;
		for (i = 0; tr->name[i] != '\0' && i + 3 < sizeof name; i++)
			name[i] = (char)tolower((unsigned char)tr->name[i]);
		memcpy(name + i, ".q", 3);
		if (gguf_tensor_find(g, name) == NULL) {
			diag("blocks.gguf has no %s", name);
			missing++;
		}
	}
	ok(missing == 0, "blocks.gguf has the blocks of every weight type "
	    "in the traits table");
}

/* --- (b) round trips ----------------------------------------------------- */

/*
 * RMSE bounds for N(0, 1) data.  A uniform quantizer with step D makes an
 * RMS error of D / sqrt(12).  D comes from the block's extreme values: over
 * 16, 32 Gaussian samples the RMS of max|x| is 2.13, 2.39 and of the range
 * (max - min) 3.61, 4.20 (measured with 200,000 draws).  The bound is that
 * step's D / sqrt(12) plus 10% for what the model leaves out (the value at
 * +max clipped one level in the symmetric types, scales rounded to F16 or
 * 6 bits); the K-quants' searches only lower their error below it.
 *   Q4_0  D = amax32 / 8                 2.39/8/3.464     = 0.0863
 *   Q4_1  D = range32 / 15               4.20/15/3.464    = 0.0808
 *   Q5_0  D = amax32 / 16                                  = 0.0431
 *   Q5_1  D = range32 / 31                                 = 0.0391
 *   Q8_0  D = amax32 / 127                                 = 0.00543
 *   Q2_K  D = range16 / 3 (groups of 16) 3.61/3/3.464     = 0.347
 *   Q3_K  D = amax16 / 4                 2.13/4/3.464     = 0.154
 *   Q4_K  D = range32 / 15                                 = 0.0808
 *   Q5_K  D = range32 / 31                                 = 0.0391
 *   Q6_K  D = amax16 / 32                                  = 0.0192
 * F16 and BF16 round to nearest with 11 and 8 significant bits: the error
 * is uniform in half an ulp, and ulp(x) <= |x| 2^-10 (2^-7), so the RMSE is
 * at most rms(x) 2^-10 / sqrt(12) = 2.82e-4 (2.26e-3 for BF16).  F32 is a
 * copy: 0.
 */
static const double rmse_step[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = 0,
	[GGML_TYPE_F16] = 2.82e-4 / 1.1,
	[GGML_TYPE_BF16] = 2.26e-3 / 1.1,
	[GGML_TYPE_Q4_0] = 0.0863,
	[GGML_TYPE_Q4_1] = 0.0808,
	[GGML_TYPE_Q5_0] = 0.0431,
	[GGML_TYPE_Q5_1] = 0.0391,
	[GGML_TYPE_Q8_0] = 0.00543,
	[GGML_TYPE_Q2_K] = 0.347,
	[GGML_TYPE_Q3_K] = 0.154,
	[GGML_TYPE_Q4_K] = 0.0808,
	[GGML_TYPE_Q5_K] = 0.0391,
	[GGML_TYPE_Q6_K] = 0.0192,
};

/* Quantizes n values of x with tr's reference quantizer and back. */
static double
round_trip(const struct quant_traits *tr, const float *x, float *y,
    int64_t n)
{
	void	*q = xalloc((size_t)(n / tr->blck) * tr->size);
	double	 e = 0;
	int64_t	 i;

	tr->from_float_ref(x, q, n);
	tr->to_float(q, y, n);
	free(q);
	for (i = 0; i < n; i++)
		e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
	return sqrt(e / n);
}

static void
test_round_trips(void)
{
	const struct quant_traits	*tr;
	float				*x, *y;
	double				 rmse, bound;
	size_t				 i;
	int64_t				 n = (int64_t)NROWS * ROW;

	x = xalloc((size_t)n * sizeof *x);
	y = xalloc((size_t)n * sizeof *y);
	fill_gauss(x, n, 1, 0);
	for (i = 0; i < N_WEIGHT; i++) {
		tr = quant_traits(weight_types[i]);
		rmse = round_trip(tr, x, y, n);
		bound = rmse_step[weight_types[i]] * 1.1;
		ok(rmse <= bound, "round trip %s: rmse %.6f <= %.6f",
		    tr->name, rmse, bound);
	}

	/*
	 * Degenerate blocks: zeros come back as zeros, a constant block
	 * within its step, and no NaN appears from 0/0 in the searches.
	 */
	for (i = 0; i < N_WEIGHT; i++) {
		int64_t	k, bad = 0;

		tr = quant_traits(weight_types[i]);
		/*
		 * -0.03, not smaller: Q6_K's F16 super-scale is the value
		 * / 4096, and below about 1.2e-4 it would underflow to
		 * zero (in ggml too).
		 */
		for (k = 0; k < ROW; k++)
			x[k] = (k / 256) % 3 == 0 ? 0.0f :
			    (k / 256) % 3 == 1 ? 0.75f : -0.03f;
		round_trip(tr, x, y, ROW);
		for (k = 0; k < ROW; k++) {
			if (isnan(y[k]) || fabsf(y[k] - x[k]) >
			    0.02f * fabsf(x[k]))
				bad++;
		}
		ok(bad == 0, "round trip %s: zero and constant blocks (%lld "
		    "off)", tr->name, (long long)bad);
	}
	free(x);
	free(y);
}

/* --- (c) dots ------------------------------------------------------------ */

/*
 * Q4_1 and Q5_1 use the activation block's s = fp16(d sum q): its rounding
 * (at most half an F16 ulp, |s| 2^-11) times the weight block's m is an
 * error the dequantized dot does not have.  Returns its bound.
 */
static double
q8_1_s_slack(enum ggml_type t, const void *w, const void *a, int n)
{
	const struct block_q8_1	*y = a;
	double			 slack = 0, m;
	int			 b;

	if (t != GGML_TYPE_Q4_1 && t != GGML_TYPE_Q5_1)
		return 0;
	for (b = 0; b < n / 32; b++) {
		m = t == GGML_TYPE_Q4_1 ?
		    quant_h2f(((const struct block_q4_1 *)w)[b].m) :
		    quant_h2f(((const struct block_q5_1 *)w)[b].m);
		slack += fabs(m) * fabs(quant_h2f(y[b].s)) * 0x1p-11;
	}
	return slack;
}

static void
test_dots(const char *isa)
{
	const struct quant_traits	*tr, *at;
	float				*x, *a, *xd, *ad;
	void				*wq, *aq, *aref;
	double				 exact, deq, mag, slack;
	double				 ew, ea, nw, na;
	float				 s, s_scalar;
	size_t				 i;
	int				 k, n = ROW;

	x = xalloc(n * sizeof *x);
	a = xalloc(n * sizeof *a);
	xd = xalloc(n * sizeof *xd);
	ad = xalloc(n * sizeof *ad);
	wq = xalloc(n * 4);
	aq = xalloc(n * 4 + 1024);
	aref = xalloc(n * 4 + 1024);
	for (i = 0; i < N_WEIGHT; i++) {
		tr = quant_traits(weight_types[i]);
		at = quant_traits(tr->vec_dot_type);
		/* Weights N(0, 1) with an offset, activations N(0.1, 2). */
		fill_gauss(x, n, 1, 0.05 * (double)i);
		fill_gauss(a, n, 2, 0.1);
		tr->from_float_ref(x, wq, n);
		tr->to_float(wq, xd, n);
		at->from_float(a, aq, n);
		at->to_float(aq, ad, n);
		tr->vec_dot(n, &s, wq, aq);

		exact = deq = mag = ew = ea = nw = na = 0;
		for (k = 0; k < n; k++) {
			deq += (double)xd[k] * ad[k];
			mag += fabs((double)xd[k] * ad[k]);
			exact += (double)x[k] * a[k];
			ew += ((double)xd[k] - x[k]) * ((double)xd[k] - x[k]);
			ea += ((double)ad[k] - a[k]) * ((double)ad[k] - a[k]);
			nw += (double)x[k] * x[k];
			na += (double)a[k] * a[k];
		}
		/*
		 * Tight: the integer part of each block is exact; only the
		 * float accumulation of 4096 products (and Q8_1's rounded
		 * s) may differ, well inside 1e-5 of the sum of |terms|.
		 */
		slack = q8_1_s_slack(weight_types[i], wq, aq, n);
		ok(fabs(s - deq) <= 1e-5 * mag + slack,
		    "%s: vec_dot %s == dot of dequantized (%.7g vs %.7g)",
		    isa, tr->name, s, deq);

		/*
		 * The same against the scalar kernel, on the reference
		 * activations: the SIMD kernels' agreement, relative to the
		 * sum of |terms| (a relative error on the result itself
		 * would be unbounded where the dot cancels to near zero).
		 */
		scalar[tr->vec_dot_type].ref(a, aref, n);
		tr->vec_dot(n, &s, wq, aref);
		scalar[weight_types[i]].dot(n, &s_scalar, wq, aref);
		ok(fabs(s - s_scalar) <= 1e-5 * mag,
		    "%s: vec_dot %s == scalar (%.7g vs %.7g)", isa, tr->name,
		    s, s_scalar);

		/*
		 * Loose: against the dot of the data before quantization.
		 * sum (w' a' - w a) ~ sum e_w a + sum w e_a, sums of 4096
		 * nearly independent zero-mean terms with standard
		 * deviations |e_w| |a| and |w| |e_a|: allow 6 of them,
		 * plus the tight tolerance.
		 */
		tr->vec_dot(n, &s, wq, aq);
		ok(fabs(s - exact) <= 6 * (sqrt(ew * na) + sqrt(nw * ea)) +
		    1e-5 * mag + slack + 1e-6,
		    "%s: vec_dot %s ~ true dot (%.7g vs %.7g)", isa, tr->name,
		    s, exact);
	}
	free(x);
	free(a);
	free(xd);
	free(ad);
	free(wq);
	free(aq);
	free(aref);
}

/* --- (d) activation quantizers ------------------------------------------- */

/*
 * A path's quantizer must give the reference's bytes, except that a value
 * whose scaled magnitude lies within a rounding error of k + 0.5 may round
 * either way (one level): ggml's own SIMD computes the inverse scale as
 * 127 / amax rather than 1 / (amax / 127) and rounds ties to even.
 * Scales must be identical; the sums (Q8_1's s, Q8_K's bsums) must be
 * those of the path's own values.
 */
static int
check_q8_block(enum ggml_type t, const float *x, const uint8_t *pb,
    const uint8_t *rb, int *near)
{
	const struct block_q8_K	*pk = (const void *)pb;
	const struct block_q8_K	*rk = (const void *)rb;
	const struct block_q8_1	*p1 = (const void *)pb;
	const int8_t		*pq, *rq;
	float			 amax = 0, d;
	int			 bad = 0, n, j, g, sum;
	double			 v, frac;

	if (t == GGML_TYPE_Q8_K) {
		n = QK_K;
		if (memcmp(&pk->d, &rk->d, sizeof pk->d) != 0)
			bad++;
		pq = pk->qs;
		rq = rk->qs;
		for (g = 0; g < QK_K / 16; g++) {
			for (sum = 0, j = 0; j < 16; j++)
				sum += pq[g * 16 + j];
			bad += sum != pk->bsums[g];
		}
	} else {
		n = 32;
		if (memcmp(pb, rb, sizeof(ggml_half)) != 0)
			bad++;
		pq = (const int8_t *)pb + (t == GGML_TYPE_Q8_1 ? 4 : 2);
		rq = (const int8_t *)rb + (t == GGML_TYPE_Q8_1 ? 4 : 2);
	}
	for (j = 0; j < n; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	d = amax / 127;		/* the unrounded scale both used */
	if (t == GGML_TYPE_Q8_1) {
		for (sum = 0, j = 0; j < 32; j++)
			sum += p1->qs[j];
		bad += p1->s != quant_f2h(sum * d);
	}
	for (j = 0; j < n; j++) {
		if (pq[j] == rq[j])
			continue;
		v = d != 0 ? fabs(x[j] / d) : 0;
		frac = v - floor(v);
		if (abs(pq[j] - rq[j]) == 1 && fabs(frac - 0.5) < 1e-4)
			(*near)++;
		else
			bad++;
	}
	return bad;
}

static void
test_activations(const char *isa)
{
	static const enum ggml_type types[] = {
		GGML_TYPE_Q8_0, GGML_TYPE_Q8_1, GGML_TYPE_Q8_K,
	};
	const struct quant_traits	*tr;
	uint8_t				*p, *r;
	float				*x, *xr, amax;
	size_t				 i;
	int				 n = ROW, b, j, bad, far, near;

	x = xalloc(n * sizeof *x);
	xr = xalloc(n * sizeof *xr);
	p = xalloc(n * 2);
	r = xalloc(n * 2);
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		tr = quant_traits(types[i]);
		fill_gauss(x, n, 3, 0.2);
		/* A zero block, then a block with one non-zero value. */
		memset(x, 0, 512 * sizeof *x);
		x[300] = -1.5f;
		tr->from_float(x, p, n);
		scalar[types[i]].ref(x, r, n);
		tr->to_float(p, xr, n);
		bad = far = near = 0;
		for (b = 0; b < n / tr->blck; b++) {
			bad += check_q8_block(types[i], x + b * tr->blck,
			    p + b * tr->size, r + b * tr->size, &near);
			/*
			 * Within half a step (amax / 254) of the input,
			 * plus Q8_0's F16 scale: 127 q (d16 - d) is at
			 * most 127 d 2^-11 = 0.062 d.
			 */
			amax = 0;
			for (j = 0; j < tr->blck; j++)
				amax = fmaxf(amax, fabsf(x[b * tr->blck + j]));
			for (j = 0; j < tr->blck; j++) {
				if (fabsf(xr[b * tr->blck + j] -
				    x[b * tr->blck + j]) > 0.57f * amax / 127)
					far++;
			}
		}
		ok(bad == 0, "%s: %s quantizer matches the reference (%d "
		    "near-ties rounded the other way)", isa, tr->name, near);
		ok(far == 0, "%s: %s dequantizes within half a step", isa,
		    tr->name);
	}
	free(x);
	free(xr);
	free(p);
	free(r);
}

/* --- F16 and BF16 -------------------------------------------------------- */

static uint32_t
bits(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof u);
	return u;
}

static float
from_bits(uint32_t u)
{
	float	f;

	memcpy(&f, &u, sizeof f);
	return f;
}

static void
test_conversions(void)
{
	/* Cases by IEEE 754 binary16's definition (round to nearest even). */
	static const struct {
		float		f;
		ggml_half	h;
	} f16[] = {
		{ 1.0f, 0x3c00 }, { -2.0f, 0xc000 }, { 0.0f, 0x0000 },
		{ -0.0f, 0x8000 }, { 65504.0f, 0x7bff },
		{ 65519.996f, 0x7bff },		/* below the midpoint */
		{ 65520.0f, 0x7c00 },		/* tie to even: infinity */
		{ 0x1p-24f, 0x0001 },		/* smallest subnormal */
		{ 0x1p-25f, 0x0000 },		/* tie to even: zero */
		{ 0x1.8p-25f, 0x0001 },
		{ 0x1.8p-24f, 0x0002 },		/* 1.5 ulp: tie, even 2 */
		{ 0x1.4p-24f, 0x0001 },
		{ 0x1p-14f, 0x0400 },		/* smallest normal */
		{ 0x1.ffcp-15f, 0x0400 },	/* subnormal rounding up */
		{ 1.0009765625f, 0x3c01 },	/* 1 + 2^-10 */
		{ 1.00048828125f, 0x3c00 },	/* 1 + 2^-11: tie to even */
		{ 1.00146484375f, 0x3c02 },	/* 1 + 3 2^-11: tie up */
		{ INFINITY, 0x7c00 }, { -INFINITY, 0xfc00 },
	};
	static const struct {
		uint32_t	f;
		ggml_bf16	h;
	} bf16[] = {
		{ 0x3f800000, 0x3f80 },
		{ 0x3f808000, 0x3f80 },		/* tie to even */
		{ 0x3f818000, 0x3f82 }, { 0x3f808001, 0x3f81 },
		{ 0x7f7fffff, 0x7f80 },		/* rounds to infinity */
		{ 0x00000001, 0x0000 },		/* subnormals round */
		{ 0x00008000, 0x0000 }, { 0x00018000, 0x0002 },
		{ 0x7f800001, 0x7fc0 },		/* NaN made quiet */
		{ 0xff800000, 0xff80 },
	};
	uint32_t	h, bad;
	float		f;
	size_t		i;

	bad = 0;
	for (i = 0; i < sizeof f16 / sizeof f16[0]; i++) {
		if (quant_f32_to_f16(f16[i].f) != f16[i].h) {
			diag("f16(%a) = %04x, want %04x", f16[i].f,
			    quant_f32_to_f16(f16[i].f), f16[i].h);
			bad++;
		}
	}
	ok(bad == 0, "f32 -> f16: rounding, subnormals, overflow");

	/* Every half converts to a float and back to itself. */
	bad = 0;
	for (h = 0; h < 65536; h++) {
		f = quant_f16_to_f32((ggml_half)h);
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
			if (!isnan(f) || quant_f32_to_f16(f) != (h | 0x200))
				bad++;
		} else if (quant_f32_to_f16(f) != h)
			bad++;
	}
	ok(bad == 0, "f16 -> f32 -> f16 is the identity on all 65536 halves");
	ok(quant_f16_to_f32(0x0001) == 0x1p-24f &&
	    quant_f16_to_f32(0x03ff) == 0x1.ff8p-15f &&
	    quant_f16_to_f32(0x7bff) == 65504.0f &&
	    quant_f16_to_f32(0xfc00) == -INFINITY,
	    "f16 -> f32: subnormals, max, infinity");

#ifdef __FLT16_MAX__
	/* The compiler's own conversion is an independent reference. */
	bad = 0;
	for (uint32_t u = 0; u < 0xfffff000u; u += 997) {
		_Float16	r = (_Float16)from_bits(u);
		uint16_t	rb;

		if (isnan(from_bits(u)))
			continue;
		memcpy(&rb, &r, sizeof rb);
		if (quant_f32_to_f16(from_bits(u)) != rb)
			bad++;
	}
	ok(bad == 0, "f32 -> f16 agrees with _Float16 on 4.3M values");
#endif

	bad = 0;
	for (i = 0; i < sizeof bf16 / sizeof bf16[0]; i++) {
		if (quant_f32_to_bf16(from_bits(bf16[i].f)) != bf16[i].h) {
			diag("bf16(%08x) = %04x, want %04x", bf16[i].f,
			    quant_f32_to_bf16(from_bits(bf16[i].f)),
			    bf16[i].h);
			bad++;
		}
	}
	ok(bad == 0, "f32 -> bf16: rounding to even, quiet NaN");
	ok(bits(quant_bf16_to_f32(0x3f81)) == 0x3f810000,
	    "bf16 -> f32 is a shift");
}

/* --- main ---------------------------------------------------------------- */

int
main(void)
{
	struct gguf_file	*g = NULL;
	char			*path, *cause = NULL;
	enum quant_isa		 isa;
	const char		*name;
	int			 rc;

	path = xstrfmt("%s/quant/blocks.gguf", testdata());
	g = gguf_open(path, &cause);
	if (!ok(g != NULL, "%s opens", path)) {
		/* The other checks need no data: they still run. */
		diag("%s", cause);
		free(cause);
		cause = NULL;
	}
	free(path);

	unsetenv("R1CHAT_ISA");
	ok(quant_init(&cause) == 0, "quant_init picks a path: %s",
	    quant_isa_name(quant_isa()));
	setenv("R1CHAT_ISA", "mmx", 1);
	rc = quant_init(&cause);
	ok(rc == -1 && cause != NULL, "R1CHAT_ISA=mmx is refused: %s",
	    cause ? cause : "");
	free(cause);
	cause = NULL;

	if (g != NULL)
		test_fixture_covers(g);
	test_conversions();
	for (isa = 0; isa < QUANT_ISA_COUNT; isa++) {
		name = quant_isa_name(isa);
		if (!quant_isa_supported(isa)) {
			diag("%s: this CPU cannot run it, skipped",
			    name);
			continue;
		}
		setenv("R1CHAT_ISA", name, 1);
		if (!ok(quant_init(&cause) == 0 &&
		    strcmp(quant_isa_name(quant_isa()), name) == 0,
		    "R1CHAT_ISA=%s is chosen", name)) {
			diag("%s", cause ? cause : "");
			free(cause);
			cause = NULL;
			continue;
		}
		if (g != NULL)
			test_blocks(g, name);
		test_dots(name);
		test_activations(name);
		if (isa == QUANT_ISA_SCALAR)
			test_round_trips();
	}
	gguf_close(g);
	return done_testing();
}
