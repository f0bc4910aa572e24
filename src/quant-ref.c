/*
 * quant-ref.c - the scalar kernels: dequantizers, ggml's reference
 * quantizers, and dot products over the activation formats.
 *
 * The dequantizers and quantizers follow ggml's arithmetic operation for
 * operation, since files made or read elsewhere must give the same bits:
 * a product is never fused with the sum after it, and integers are
 * rounded with the same add-a-magic-number trick (ties to even).  The
 * dots only need to be exact in their integer part; their float
 * accumulation is free.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quant-impl.h"

/* A fused multiply-add would change the reference's bits. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* Below this a group counts as all zero (ggml's GROUP_MAX_EPS). */
#define GROUP_MAX_EPS 1e-15f

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * ggml converts (x + 8.5f) and the like to an integer by truncation; the
 * value is in [0, hi + 1] for any finite input, so clamping first gives
 * the same result and keeps NaN or infinity from being undefined.
 */
static inline int
trunc_clamp(float v, int hi)
{
	if (!(v >= 0))
		return 0;
	if (v >= hi)
		return hi;
	return (int)v;
}

/* roundf (half away from zero) into int8, NaN as 0: ggml's Q8 rounding. */
static inline int8_t
round_i8(float v)
{
	float	r = roundf(v);

	if (!(r >= -128))
		return r != r ? 0 : -128;
	if (r > 127)
		return 127;
	return (int8_t)r;
}

/* --- F32, F16, BF16 ------------------------------------------------------ */

void
dequantize_row_f32(const void *x, float *y, int64_t n)
{
	memcpy(y, x, (size_t)n * sizeof *y);
}

void
quantize_row_f32(const float *x, void *y, int64_t n)
{
	memcpy(y, x, (size_t)n * sizeof *x);
}

void
dequantize_row_f16(const void *vx, float *y, int64_t n)
{
	const ggml_half	*x = vx;
	int64_t		 i;

	for (i = 0; i < n; i++)
		y[i] = quant_h2f(x[i]);
}

void
quantize_row_f16_ref(const float *x, void *vy, int64_t n)
{
	ggml_half	*y = vy;
	int64_t		 i;

	for (i = 0; i < n; i++)
		y[i] = quant_f2h(x[i]);
}

void
dequantize_row_bf16(const void *vx, float *y, int64_t n)
{
	const ggml_bf16	*x = vx;
	int64_t		 i;

	for (i = 0; i < n; i++)
		y[i] = quant_bf2f(x[i]);
}

void
quantize_row_bf16_ref(const float *x, void *vy, int64_t n)
{
	ggml_bf16	*y = vy;
	int64_t		 i;

	for (i = 0; i < n; i++)
		y[i] = quant_f2bf(x[i]);
}

/* Plain float dots accumulate in double: this is the slow exact path. */
void
vec_dot_f32_f32(int n, float *s, const void *vx, const void *vy)
{
	const float	*x = vx, *y = vy;
	double		 sum = 0;
	int		 i;

	for (i = 0; i < n; i++)
		sum += (double)x[i] * y[i];
	*s = (float)sum;
}

void
vec_dot_f16_f32(int n, float *s, const void *vx, const void *vy)
{
	const ggml_half	*x = vx;
	const float	*y = vy;
	double		 sum = 0;
	int		 i;

	for (i = 0; i < n; i++)
		sum += (double)quant_h2f(x[i]) * y[i];
	*s = (float)sum;
}

void
vec_dot_bf16_f32(int n, float *s, const void *vx, const void *vy)
{
	const ggml_bf16	*x = vx;
	const float	*y = vy;
	double		 sum = 0;
	int		 i;

	for (i = 0; i < n; i++)
		sum += (double)quant_bf2f(x[i]) * y[i];
	*s = (float)sum;
}

/* --- the 32-element types ------------------------------------------------ */

/* The signed extreme of x (the value of largest magnitude, first wins). */
static float
signed_absmax(const float *x, int n, float *amax)
{
	float	max = 0;
	int	j;

	*amax = 0;
	for (j = 0; j < n; j++) {
		if (*amax < fabsf(x[j])) {
			*amax = fabsf(x[j]);
			max = x[j];
		}
	}
	return max;
}

static void
min_max(const float *x, int n, float *min, float *max)
{
	int	j;

	*min = FLT_MAX;
	*max = -FLT_MAX;
	for (j = 0; j < n; j++) {
		if (x[j] < *min)
			*min = x[j];
		if (x[j] > *max)
			*max = x[j];
	}
}

/* Bit j of a Q5 block's qh: the fifth bit of weight j. */
static inline int
q5_high(const uint8_t *qh, int j)
{
	return (qh[j / 8] >> (j % 8)) & 1;
}

void
quantize_row_q4_0_ref(const float *x, void *vy, int64_t n)
{
	struct block_q4_0	*y = vy;
	float			 amax, max, d, id;
	int64_t			 i;
	int			 j, lo, hi;

	for (i = 0; i < n / QK4_0; i++, x += QK4_0) {
		max = signed_absmax(x, QK4_0, &amax);
		d = max / -8;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[i].d = quant_f2h(d);
		for (j = 0; j < QK4_0 / 2; j++) {
			lo = trunc_clamp(x[j] * id + 8.5f, 15);
			hi = trunc_clamp(x[j + QK4_0 / 2] * id + 8.5f, 15);
			y[i].qs[j] = (uint8_t)(lo | (hi << 4));
		}
	}
}

void
dequantize_row_q4_0(const void *vx, float *y, int64_t n)
{
	const struct block_q4_0	*x = vx;
	float			 d;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK4_0; i++, y += QK4_0) {
		d = quant_h2f(x[i].d);
		for (j = 0; j < QK4_0 / 2; j++) {
			y[j] = ((x[i].qs[j] & 0xf) - 8) * d;
			y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

void
quantize_row_q4_1_ref(const float *x, void *vy, int64_t n)
{
	struct block_q4_1	*y = vy;
	float			 min, max, d, id;
	int64_t			 i;
	int			 j, lo, hi;

	for (i = 0; i < n / QK4_1; i++, x += QK4_1) {
		min_max(x, QK4_1, &min, &max);
		d = (max - min) / 15;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[i].d = quant_f2h(d);
		y[i].m = quant_f2h(min);
		for (j = 0; j < QK4_1 / 2; j++) {
			lo = trunc_clamp((x[j] - min) * id + 0.5f, 15);
			hi = trunc_clamp((x[j + QK4_1 / 2] - min) * id + 0.5f,
			    15);
			y[i].qs[j] = (uint8_t)(lo | (hi << 4));
		}
	}
}

void
dequantize_row_q4_1(const void *vx, float *y, int64_t n)
{
	const struct block_q4_1	*x = vx;
	float			 d, m;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK4_1; i++, y += QK4_1) {
		d = quant_h2f(x[i].d);
		m = quant_h2f(x[i].m);
		for (j = 0; j < QK4_1 / 2; j++) {
			y[j] = (x[i].qs[j] & 0xf) * d + m;
			y[j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
		}
	}
}

/* Stores 5-bit q for weight j of a Q5 block: low nibble in qs, bit in qh. */
static inline void
q5_put(uint8_t *qs, uint8_t *qh, int j, int q)
{
	if (j < 16)
		qs[j] = (uint8_t)((qs[j] & 0xf0) | (q & 0xf));
	else
		qs[j - 16] = (uint8_t)((qs[j - 16] & 0x0f) | ((q & 0xf) << 4));
	qh[j / 8] |= (uint8_t)(((q >> 4) & 1) << (j % 8));
}

void
quantize_row_q5_0_ref(const float *x, void *vy, int64_t n)
{
	struct block_q5_0	*y = vy;
	float			 amax, max, d, id;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK5_0; i++, x += QK5_0) {
		max = signed_absmax(x, QK5_0, &amax);
		d = max / -16;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[i].d = quant_f2h(d);
		memset(y[i].qh, 0, sizeof y[i].qh);
		for (j = 0; j < QK5_0; j++)
			q5_put(y[i].qs, y[i].qh, j,
			    trunc_clamp(x[j] * id + 16.5f, 31));
	}
}

void
dequantize_row_q5_0(const void *vx, float *y, int64_t n)
{
	const struct block_q5_0	*x = vx;
	float			 d;
	int64_t			 i;
	int			 j, q;

	for (i = 0; i < n / QK5_0; i++, y += QK5_0) {
		d = quant_h2f(x[i].d);
		for (j = 0; j < QK5_0 / 2; j++) {
			q = (x[i].qs[j] & 0xf) | (q5_high(x[i].qh, j) << 4);
			y[j] = (q - 16) * d;
			q = (x[i].qs[j] >> 4) | (q5_high(x[i].qh, j + 16) << 4);
			y[j + QK5_0 / 2] = (q - 16) * d;
		}
	}
}

void
quantize_row_q5_1_ref(const float *x, void *vy, int64_t n)
{
	struct block_q5_1	*y = vy;
	float			 min, max, d, id;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK5_1; i++, x += QK5_1) {
		min_max(x, QK5_1, &min, &max);
		d = (max - min) / 31;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[i].d = quant_f2h(d);
		y[i].m = quant_f2h(min);
		memset(y[i].qh, 0, sizeof y[i].qh);
		for (j = 0; j < QK5_1; j++)
			q5_put(y[i].qs, y[i].qh, j,
			    trunc_clamp((x[j] - min) * id + 0.5f, 31));
	}
}

void
dequantize_row_q5_1(const void *vx, float *y, int64_t n)
{
	const struct block_q5_1	*x = vx;
	float			 d, m;
	int64_t			 i;
	int			 j, q;

	for (i = 0; i < n / QK5_1; i++, y += QK5_1) {
		d = quant_h2f(x[i].d);
		m = quant_h2f(x[i].m);
		for (j = 0; j < QK5_1 / 2; j++) {
			q = (x[i].qs[j] & 0xf) | (q5_high(x[i].qh, j) << 4);
			y[j] = q * d + m;
			q = (x[i].qs[j] >> 4) | (q5_high(x[i].qh, j + 16) << 4);
			y[j + QK5_1 / 2] = q * d + m;
		}
	}
}

void
quantize_row_q8_0_ref(const float *x, void *vy, int64_t n)
{
	struct block_q8_0	*y = vy;
	float			 amax, d, id;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK8_0; i++, x += QK8_0) {
		signed_absmax(x, QK8_0, &amax);
		d = amax / 127;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[i].d = quant_f2h(d);
		for (j = 0; j < QK8_0; j++)
			y[i].qs[j] = round_i8(x[j] * id);
	}
}

void
dequantize_row_q8_0(const void *vx, float *y, int64_t n)
{
	const struct block_q8_0	*x = vx;
	float			 d;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK8_0; i++, y += QK8_0) {
		d = quant_h2f(x[i].d);
		for (j = 0; j < QK8_0; j++)
			y[j] = x[i].qs[j] * d;
	}
}

void
quantize_row_q8_1_ref(const float *x, void *vy, int64_t n)
{
	struct block_q8_1	*y = vy;
	float			 amax, d, id;
	int64_t			 i;
	int			 j, sum;

	for (i = 0; i < n / QK8_1; i++, x += QK8_1) {
		signed_absmax(x, QK8_1, &amax);
		d = amax / 127;
		id = d != 0 ? 1.0f / d : 0.0f;
		y[i].d = quant_f2h(d);
		sum = 0;
		for (j = 0; j < QK8_1; j++) {
			y[i].qs[j] = round_i8(x[j] * id);
			sum += y[i].qs[j];
		}
		y[i].s = quant_f2h(sum * d);
	}
}

void
dequantize_row_q8_1(const void *vx, float *y, int64_t n)
{
	const struct block_q8_1	*x = vx;
	float			 d;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK8_1; i++, y += QK8_1) {
		d = quant_h2f(x[i].d);
		for (j = 0; j < QK8_1; j++)
			y[j] = x[i].qs[j] * d;
	}
}

void
vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_0	*x = vx;
	const struct block_q8_0	*y = vy;
	float			 sum = 0;
	int			 i, j, isum;

	for (i = 0; i < n / QK4_0; i++) {
		isum = 0;
		for (j = 0; j < QK4_0 / 2; j++) {
			isum += ((x[i].qs[j] & 0xf) - 8) * y[i].qs[j];
			isum += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
		}
		sum += isum * (quant_h2f(x[i].d) * quant_h2f(y[i].d));
	}
	*s = sum;
}

void
vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_1	*x = vx;
	const struct block_q8_1	*y = vy;
	float			 sum = 0;
	int			 i, j, isum;

	/* sum (d q + m) yd q8 = d yd sum q q8 + m (yd sum q8) = ... + m ys */
	for (i = 0; i < n / QK4_1; i++) {
		isum = 0;
		for (j = 0; j < QK4_1 / 2; j++) {
			isum += (x[i].qs[j] & 0xf) * y[i].qs[j];
			isum += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
		}
		sum += isum * (quant_h2f(x[i].d) * quant_h2f(y[i].d)) +
		    quant_h2f(x[i].m) * quant_h2f(y[i].s);
	}
	*s = sum;
}

void
vec_dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_0	*x = vx;
	const struct block_q8_0	*y = vy;
	float			 sum = 0;
	int			 i, j, isum, q0, q1;

	for (i = 0; i < n / QK5_0; i++) {
		isum = 0;
		for (j = 0; j < QK5_0 / 2; j++) {
			q0 = (x[i].qs[j] & 0xf) | (q5_high(x[i].qh, j) << 4);
			q1 = (x[i].qs[j] >> 4) |
			    (q5_high(x[i].qh, j + 16) << 4);
			isum += (q0 - 16) * y[i].qs[j] +
			    (q1 - 16) * y[i].qs[j + 16];
		}
		sum += isum * (quant_h2f(x[i].d) * quant_h2f(y[i].d));
	}
	*s = sum;
}

void
vec_dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_1	*x = vx;
	const struct block_q8_1	*y = vy;
	float			 sum = 0;
	int			 i, j, isum, q0, q1;

	for (i = 0; i < n / QK5_1; i++) {
		isum = 0;
		for (j = 0; j < QK5_1 / 2; j++) {
			q0 = (x[i].qs[j] & 0xf) | (q5_high(x[i].qh, j) << 4);
			q1 = (x[i].qs[j] >> 4) |
			    (q5_high(x[i].qh, j + 16) << 4);
			isum += q0 * y[i].qs[j] + q1 * y[i].qs[j + 16];
		}
		sum += isum * (quant_h2f(x[i].d) * quant_h2f(y[i].d)) +
		    quant_h2f(x[i].m) * quant_h2f(y[i].s);
	}
	*s = sum;
}

void
vec_dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q8_0	*x = vx;
	const struct block_q8_0	*y = vy;
	float			 sum = 0;
	int			 i, j, isum;

	for (i = 0; i < n / QK8_0; i++) {
		isum = 0;
		for (j = 0; j < QK8_0; j++)
			isum += x[i].qs[j] * y[i].qs[j];
		sum += isum * (quant_h2f(x[i].d) * quant_h2f(y[i].d));
	}
	*s = sum;
}

/* --- the K-quants: searches for good scales ------------------------------ */

/*
 * Symmetric quantization of n values to [-nmax, nmax - 1] (stored plus
 * nmax in L), choosing among 19 scales around nmax / max the one that
 * maximises (sum w x l)^2 / sum w l^2 with weights w = x^2: ggml's
 * make_qx_quants with rmse_type 1 and no importance.  Returns the scale.
 */
static float
make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
	float	amax, max, iscale, sumlx, suml2, scale, best, w;
	int	i, is, l;

	max = signed_absmax(x, n, &amax);
	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	iscale = -nmax / max;
	sumlx = suml2 = 0;
	for (i = 0; i < n; i++) {
		l = nearest_int(iscale * x[i]);
		l = MAX(-nmax, MIN(nmax - 1, l));
		L[i] = (int8_t)(l + nmax);
		w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
	best = scale * sumlx;
	for (is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		sumlx = suml2 = 0;
		for (i = 0; i < n; i++) {
			l = nearest_int(iscale * x[i]);
			l = MAX(-nmax, MIN(nmax - 1, l));
			w = x[i] * x[i];
			sumlx += w * x[i] * l;
			suml2 += w * l * l;
		}
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (i = 0; i < n; i++) {
				l = nearest_int(iscale * x[i]);
				L[i] = (int8_t)(nmax +
				    MAX(-nmax, MIN(nmax - 1, l)));
			}
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/*
 * Q3_K's group search (ggml's make_q3_quants with do_rmse): start from
 * the plain rounding, then move single values while that improves the
 * weighted fit, at most five passes.  L gets q + nmax.
 */
static float
make_q3_quants(int n, int nmax, const float *x, int8_t *L)
{
	float	amax, max, iscale, sumlx, suml2, w, slx, sl2;
	int	i, l, itry, changed, new_l;

	max = signed_absmax(x, n, &amax);
	if (amax < GROUP_MAX_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	iscale = -nmax / max;
	sumlx = suml2 = 0;
	for (i = 0; i < n; i++) {
		l = nearest_int(iscale * x[i]);
		l = MAX(-nmax, MIN(nmax - 1, l));
		L[i] = (int8_t)l;
		w = x[i] * x[i];
		sumlx += w * x[i] * l;
		suml2 += w * l * l;
	}
	for (itry = 0; itry < 5; itry++) {
		changed = 0;
		for (i = 0; i < n; i++) {
			w = x[i] * x[i];
			slx = sumlx - w * x[i] * L[i];
			if (!(slx > 0))
				continue;
			sl2 = suml2 - w * L[i] * L[i];
			new_l = nearest_int(x[i] * sl2 / slx);
			new_l = MAX(-nmax, MIN(nmax - 1, new_l));
			if (new_l == L[i])
				continue;
			slx += w * x[i] * new_l;
			sl2 += w * new_l * new_l;
			if (sl2 > 0 && slx * slx * suml2 >
			    sumlx * sumlx * sl2) {
				L[i] = (int8_t)new_l;
				sumlx = slx;
				suml2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return sumlx / suml2;
}

/*
 * Asymmetric quantization of n values to [0, nmax] as scale * L - min,
 * trying nstep + 1 scales from (nmax + rmin) / range in steps of rdelta
 * and fitting scale and min by weighted least squares for each; the error
 * is weighted absolute (mad) or squared.  ggml's make_qkx2_quants.
 * Returns the scale and stores -min (>= 0) in *the_min.
 */
static float
make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
    uint8_t *L, float *the_min, float rmin, float rdelta, int nstep,
    int use_mad)
{
	uint8_t	Laux[32];
	float	min, max, sum_w, sum_x, iscale, scale, best_error, diff, w;
	float	sum_l, sum_l2, sum_xl, D, this_scale, this_min, cur_error;
	int	i, is, l;

	min = max = x[0];
	sum_w = weights[0];
	sum_x = sum_w * x[0];
	for (i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		w = weights[i];
		sum_w += w;
		sum_x += w * x[i];
	}
	if (min > 0)
		min = 0;
	if (max == min) {
		memset(L, 0, (size_t)n);
		*the_min = -min;
		return 0;
	}
	iscale = nmax / (max - min);
	scale = 1 / iscale;
	best_error = 0;
	for (i = 0; i < n; i++) {
		l = nearest_int(iscale * (x[i] - min));
		L[i] = (uint8_t)MAX(0, MIN(nmax, l));
		diff = scale * L[i] + min - x[i];
		diff = use_mad ? fabsf(diff) : diff * diff;
		best_error += weights[i] * diff;
	}
	for (is = 0; is <= nstep; is++) {
		iscale = (rmin + rdelta * is + nmax) / (max - min);
		sum_l = sum_l2 = sum_xl = 0;
		for (i = 0; i < n; i++) {
			l = nearest_int(iscale * (x[i] - min));
			l = MAX(0, MIN(nmax, l));
			Laux[i] = (uint8_t)l;
			w = weights[i];
			sum_l += w * l;
			sum_l2 += w * l * l;
			sum_xl += w * l * x[i];
		}
		D = sum_w * sum_l2 - sum_l * sum_l;
		if (!(D > 0))
			continue;
		this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		if (this_min > 0) {
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}
		cur_error = 0;
		for (i = 0; i < n; i++) {
			diff = this_scale * Laux[i] + this_min - x[i];
			diff = use_mad ? fabsf(diff) : diff * diff;
			cur_error += weights[i] * diff;
		}
		if (cur_error < best_error) {
			memcpy(L, Laux, (size_t)n);
			best_error = cur_error;
			scale = this_scale;
			min = this_min;
		}
	}
	*the_min = -min;
	return scale;
}

/* Packs 256 2-bit values: byte l of each 32 holds 4 values 32 apart. */
static void
pack_2bit(const uint8_t *L, uint8_t *qs)
{
	int	j, l;

	for (j = 0; j < QK_K; j += 128) {
		for (l = 0; l < 32; l++) {
			qs[j / 4 + l] = (uint8_t)(L[j + l] |
			    (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
			    (L[j + l + 96] << 6));
		}
	}
}

/* Packs 6-bit scale and min of group j of a Q4_K/Q5_K block. */
static void
pack_k4_scale_min(uint8_t *q, int j, uint8_t ls, uint8_t lm)
{
	if (j < 4) {
		q[j] = ls;
		q[j + 4] = lm;
	} else {
		q[j + 4] = (uint8_t)((ls & 0xf) | ((lm & 0xf) << 4));
		q[j - 4] |= (uint8_t)((ls >> 4) << 6);
		q[j] |= (uint8_t)((lm >> 4) << 6);
	}
}

/* --- Q2_K ---------------------------------------------------------------- */

/* The 256 2-bit values of a Q2_K block, in weight order. */
static void
unpack_q2_K(const struct block_q2_K *b, int8_t *q)
{
	int	n, j, l;

	for (n = 0; n < 2; n++) {
		for (j = 0; j < 4; j++) {
			for (l = 0; l < 32; l++)
				q[n * 128 + j * 32 + l] = (int8_t)
				    ((b->qs[n * 32 + l] >> (2 * j)) & 3);
		}
	}
}

void
quantize_row_q2_K_ref(const float *x, void *vy, int64_t n)
{
	struct block_q2_K	*y = vy;
	uint8_t			 L[QK_K];
	float			 weights[16], mins[16], scales[16];
	float			 max_scale, max_min, iscale, d, dm;
	int64_t			 i;
	int			 j, l, ii;

	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		max_scale = max_min = 0;
		for (j = 0; j < 16; j++) {
			for (l = 0; l < 16; l++)
				weights[l] = fabsf(x[16 * j + l]);
			scales[j] = make_qkx2_quants(16, 3, x + 16 * j,
			    weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, 1);
			if (scales[j] > max_scale)
				max_scale = scales[j];
			if (mins[j] > max_min)
				max_min = mins[j];
		}
		if (max_scale > 0) {
			iscale = 15.f / max_scale;
			for (j = 0; j < 16; j++)
				y[i].scales[j] =
				    (uint8_t)nearest_int(iscale * scales[j]);
			y[i].d = quant_f2h(max_scale / 15.f);
		} else {
			memset(y[i].scales, 0, sizeof y[i].scales);
			y[i].d = quant_f2h(0);
		}
		if (max_min > 0) {
			iscale = 15.f / max_min;
			for (j = 0; j < 16; j++)
				y[i].scales[j] |= (uint8_t)(nearest_int(
				    iscale * mins[j]) << 4);
			y[i].dmin = quant_f2h(max_min / 15.f);
		} else
			y[i].dmin = quant_f2h(0);
		for (j = 0; j < 16; j++) {
			d = quant_h2f(y[i].d) * (y[i].scales[j] & 0xf);
			if (d == 0)
				continue;
			dm = quant_h2f(y[i].dmin) * (y[i].scales[j] >> 4);
			for (ii = 0; ii < 16; ii++) {
				l = nearest_int((x[16 * j + ii] + dm) / d);
				L[16 * j + ii] = (uint8_t)MAX(0, MIN(3, l));
			}
		}
		pack_2bit(L, y[i].qs);
	}
}

void
dequantize_row_q2_K(const void *vx, float *y, int64_t n)
{
	const struct block_q2_K	*x = vx;
	int8_t			 q[QK_K];
	float			 d, dmin, dl, ml;
	int64_t			 i;
	int			 g, k;

	for (i = 0; i < n / QK_K; i++, y += QK_K) {
		d = quant_h2f(x[i].d);
		dmin = quant_h2f(x[i].dmin);
		unpack_q2_K(&x[i], q);
		for (g = 0; g < 16; g++) {
			dl = d * (x[i].scales[g] & 0xf);
			ml = dmin * (x[i].scales[g] >> 4);
			for (k = g * 16; k < g * 16 + 16; k++)
				y[k] = dl * q[k] - ml;
		}
	}
}

void
vec_dot_q2_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q2_K	*x = vx;
	const struct block_q8_K	*y = vy;
	int8_t			 q[QK_K];
	float			 sum = 0;
	int			 i, g, k, isum, gsum, msum;

	for (i = 0; i < n / QK_K; i++) {
		unpack_q2_K(&x[i], q);
		isum = msum = 0;
		for (g = 0; g < 16; g++) {
			gsum = 0;
			for (k = g * 16; k < g * 16 + 16; k++)
				gsum += q[k] * y[i].qs[k];
			isum += (x[i].scales[g] & 0xf) * gsum;
			msum += (x[i].scales[g] >> 4) * y[i].bsums[g];
		}
		sum += y[i].d * quant_h2f(x[i].d) * isum -
		    y[i].d * quant_h2f(x[i].dmin) * msum;
	}
	*s = sum;
}

/* --- Q3_K ---------------------------------------------------------------- */

/* The 256 signed 3-bit values (-4..3) of a Q3_K block, in weight order. */
static void
unpack_q3_K(const struct block_q3_K *b, int8_t *q)
{
	int	n, j, l, low, m;

	for (n = 0; n < 2; n++) {
		for (j = 0; j < 4; j++) {
			m = 1 << (n * 4 + j);
			for (l = 0; l < 32; l++) {
				low = (b->qs[n * 32 + l] >> (2 * j)) & 3;
				q[n * 128 + j * 32 + l] = (int8_t)(low -
				    ((b->hmask[l] & m) ? 0 : 4));
			}
		}
	}
}

void
quantize_row_q3_K_ref(const float *x, void *vy, int64_t n)
{
	struct block_q3_K	*y = vy;
	int8_t			 L[QK_K], sc[16];
	float			 scales[16], max_scale, amax, iscale, d;
	int64_t			 i;
	int			 j, l, ii, m, hm;

	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		max_scale = amax = 0;
		for (j = 0; j < 16; j++) {
			scales[j] = make_q3_quants(16, 4, x + 16 * j,
			    L + 16 * j);
			if (fabsf(scales[j]) > amax) {
				amax = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		memset(y[i].scales, 0, sizeof y[i].scales);
		if (max_scale != 0) {
			iscale = -32.f / max_scale;
			for (j = 0; j < 16; j++) {
				l = nearest_int(iscale * scales[j]);
				l = MAX(-32, MIN(31, l)) + 32;
				if (j < 8)
					y[i].scales[j] = (uint8_t)(l & 0xf);
				else
					y[i].scales[j - 8] |=
					    (uint8_t)((l & 0xf) << 4);
				y[i].scales[8 + j % 4] |=
				    (uint8_t)((l >> 4) << (2 * (j / 4)));
			}
			y[i].d = quant_f2h(1 / iscale);
		} else
			y[i].d = quant_f2h(0);

		quant_k3_scales(y[i].scales, sc);
		for (j = 0; j < 16; j++) {
			d = quant_h2f(y[i].d) * sc[j];
			if (d == 0)
				continue;
			for (ii = 0; ii < 16; ii++) {
				l = nearest_int(x[16 * j + ii] / d);
				L[16 * j + ii] = (int8_t)(MAX(-4, MIN(3, l)) +
				    4);
			}
		}

		/* The high bit of weight j: bit j / 32 of hmask[j % 32]. */
		memset(y[i].hmask, 0, sizeof y[i].hmask);
		m = 0;
		hm = 1;
		for (j = 0; j < QK_K; j++) {
			if (L[j] > 3) {
				y[i].hmask[m] |= (uint8_t)hm;
				L[j] -= 4;
			}
			if (++m == QK_K / 8) {
				m = 0;
				hm <<= 1;
			}
		}
		pack_2bit((const uint8_t *)L, y[i].qs);
	}
}

void
dequantize_row_q3_K(const void *vx, float *y, int64_t n)
{
	const struct block_q3_K	*x = vx;
	int8_t			 q[QK_K], sc[16];
	float			 d, dl;
	int64_t			 i;
	int			 g, k;

	for (i = 0; i < n / QK_K; i++, y += QK_K) {
		d = quant_h2f(x[i].d);
		quant_k3_scales(x[i].scales, sc);
		unpack_q3_K(&x[i], q);
		for (g = 0; g < 16; g++) {
			dl = d * sc[g];
			for (k = g * 16; k < g * 16 + 16; k++)
				y[k] = dl * q[k];
		}
	}
}

void
vec_dot_q3_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q3_K	*x = vx;
	const struct block_q8_K	*y = vy;
	int8_t			 q[QK_K], sc[16];
	float			 sum = 0;
	int			 i, g, k, isum, gsum;

	for (i = 0; i < n / QK_K; i++) {
		quant_k3_scales(x[i].scales, sc);
		unpack_q3_K(&x[i], q);
		isum = 0;
		for (g = 0; g < 16; g++) {
			gsum = 0;
			for (k = g * 16; k < g * 16 + 16; k++)
				gsum += q[k] * y[i].qs[k];
			isum += sc[g] * gsum;
		}
		sum += quant_h2f(x[i].d) * y[i].d * isum;
	}
	*s = sum;
}

/* --- Q4_K and Q5_K ------------------------------------------------------- */

/*
 * The scale search shared by Q4_K (nmax 15) and Q5_K (nmax 31): groups
 * of 32 weighted by rms + |x|, then 6-bit scales and mins, then every
 * value requantized with the rounded scales.  L gets 0..nmax.
 */
static void
quantize_k4_block(const float *x, int nmax, float rmin, int nstep,
    ggml_half *pd, ggml_half *pdmin, uint8_t *packed, uint8_t *L)
{
	float	weights[32], mins[8], scales[8];
	float	max_scale = 0, max_min = 0, sum_x2, av_x;
	float	inv_scale, inv_min, d, dm;
	uint8_t	ls, lm, sc, m;
	int	j, l;

	for (j = 0; j < 8; j++) {
		sum_x2 = 0;
		for (l = 0; l < 32; l++)
			sum_x2 += x[32 * j + l] * x[32 * j + l];
		av_x = sqrtf(sum_x2 / 32);
		for (l = 0; l < 32; l++)
			weights[l] = av_x + fabsf(x[32 * j + l]);
		scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights,
		    L + 32 * j, &mins[j], rmin, 0.1f, nstep, 0);
		if (scales[j] > max_scale)
			max_scale = scales[j];
		if (mins[j] > max_min)
			max_min = mins[j];
	}
	inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
	inv_min = max_min > 0 ? 63.f / max_min : 0.f;
	memset(packed, 0, K_SCALE_SIZE);
	for (j = 0; j < 8; j++) {
		ls = (uint8_t)MIN(63, nearest_int(inv_scale * scales[j]));
		lm = (uint8_t)MIN(63, nearest_int(inv_min * mins[j]));
		pack_k4_scale_min(packed, j, ls, lm);
	}
	*pd = quant_f2h(max_scale / 63.f);
	*pdmin = quant_f2h(max_min / 63.f);
	for (j = 0; j < 8; j++) {
		quant_k4_scale_min(j, packed, &sc, &m);
		d = quant_h2f(*pd) * sc;
		if (d == 0)
			continue;
		dm = quant_h2f(*pdmin) * m;
		for (l = 0; l < 32; l++) {
			int	q = nearest_int((x[32 * j + l] + dm) / d);

			L[32 * j + l] = (uint8_t)MAX(0, MIN(nmax, q));
		}
	}
}

/* The 256 values (0..15) of a Q4_K block, or 0..31 with Q5_K's qh. */
static void
unpack_k4(const uint8_t *qs, const uint8_t *qh, int8_t *q)
{
	int	j, l, h0, h1;

	for (j = 0; j < 4; j++) {
		for (l = 0; l < 32; l++) {
			h0 = qh != NULL ? ((qh[l] >> (2 * j)) & 1) << 4 : 0;
			h1 = qh != NULL ? ((qh[l] >> (2 * j + 1)) & 1) << 4 : 0;
			q[j * 64 + l] = (int8_t)((qs[j * 32 + l] & 0xf) | h0);
			q[j * 64 + 32 + l] = (int8_t)((qs[j * 32 + l] >> 4) |
			    h1);
		}
	}
}

static void
dequantize_k4(const int8_t *q, const uint8_t *packed, float d, float dmin,
    float *y)
{
	float	d1, m1;
	uint8_t	sc, m;
	int	g, k;

	for (g = 0; g < 8; g++) {
		quant_k4_scale_min(g, packed, &sc, &m);
		d1 = d * sc;
		m1 = dmin * m;
		for (k = g * 32; k < g * 32 + 32; k++)
			y[k] = d1 * q[k] - m1;
	}
}

/* sum over the block of (d sc q - dmin m) * yd q8, in two integer sums. */
static float
dot_k4(const int8_t *q, const uint8_t *packed, float d, float dmin,
    const struct block_q8_K *y)
{
	uint8_t	sc, m;
	int	g, k, isum = 0, msum = 0, gsum;

	for (g = 0; g < 8; g++) {
		quant_k4_scale_min(g, packed, &sc, &m);
		gsum = 0;
		for (k = g * 32; k < g * 32 + 32; k++)
			gsum += q[k] * y->qs[k];
		isum += sc * gsum;
		msum += m * (y->bsums[2 * g] + y->bsums[2 * g + 1]);
	}
	return d * y->d * isum - dmin * y->d * msum;
}

void
quantize_row_q4_K_ref(const float *x, void *vy, int64_t n)
{
	struct block_q4_K	*y = vy;
	uint8_t			 L[QK_K];
	int64_t			 i;
	int			 j, l;

	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		quantize_k4_block(x, 15, -1.f, 20, &y[i].d, &y[i].dmin,
		    y[i].scales, L);
		for (j = 0; j < QK_K; j += 64) {
			for (l = 0; l < 32; l++)
				y[i].qs[j / 2 + l] = (uint8_t)(L[j + l] |
				    (L[j + l + 32] << 4));
		}
	}
}

void
dequantize_row_q4_K(const void *vx, float *y, int64_t n)
{
	const struct block_q4_K	*x = vx;
	int8_t			 q[QK_K];
	int64_t			 i;

	for (i = 0; i < n / QK_K; i++, y += QK_K) {
		unpack_k4(x[i].qs, NULL, q);
		dequantize_k4(q, x[i].scales, quant_h2f(x[i].d),
		    quant_h2f(x[i].dmin), y);
	}
}

void
vec_dot_q4_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q4_K	*x = vx;
	const struct block_q8_K	*y = vy;
	int8_t			 q[QK_K];
	float			 sum = 0;
	int			 i;

	for (i = 0; i < n / QK_K; i++) {
		unpack_k4(x[i].qs, NULL, q);
		sum += dot_k4(q, x[i].scales, quant_h2f(x[i].d),
		    quant_h2f(x[i].dmin), &y[i]);
	}
	*s = sum;
}

void
quantize_row_q5_K_ref(const float *x, void *vy, int64_t n)
{
	struct block_q5_K	*y = vy;
	uint8_t			 L[QK_K], l0, l1;
	int64_t			 i;
	int			 j, l, k;

	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		quantize_k4_block(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin,
		    y[i].scales, L);
		/* Low nibbles as Q4_K; the fifth bits of each 64 in qh. */
		memset(y[i].qh, 0, sizeof y[i].qh);
		for (j = 0, k = 0; j < QK_K; j += 64, k++) {
			for (l = 0; l < 32; l++) {
				l0 = L[j + l];
				l1 = L[j + l + 32];
				y[i].qh[l] |= (uint8_t)(((l0 >> 4) << (2 * k)) |
				    ((l1 >> 4) << (2 * k + 1)));
				y[i].qs[j / 2 + l] = (uint8_t)((l0 & 0xf) |
				    ((l1 & 0xf) << 4));
			}
		}
	}
}

void
dequantize_row_q5_K(const void *vx, float *y, int64_t n)
{
	const struct block_q5_K	*x = vx;
	int8_t			 q[QK_K];
	int64_t			 i;

	for (i = 0; i < n / QK_K; i++, y += QK_K) {
		unpack_k4(x[i].qs, x[i].qh, q);
		dequantize_k4(q, x[i].scales, quant_h2f(x[i].d),
		    quant_h2f(x[i].dmin), y);
	}
}

void
vec_dot_q5_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q5_K	*x = vx;
	const struct block_q8_K	*y = vy;
	int8_t			 q[QK_K];
	float			 sum = 0;
	int			 i;

	for (i = 0; i < n / QK_K; i++) {
		unpack_k4(x[i].qs, x[i].qh, q);
		sum += dot_k4(q, x[i].scales, quant_h2f(x[i].d),
		    quant_h2f(x[i].dmin), &y[i]);
	}
	*s = sum;
}

/* --- Q6_K ---------------------------------------------------------------- */

/* The 256 signed values (-32..31) of a Q6_K block, in weight order. */
static void
unpack_q6_K(const struct block_q6_K *b, int8_t *q)
{
	const uint8_t	*ql, *qh;
	int		 n, l;

	for (n = 0; n < 2; n++) {
		ql = b->ql + n * 64;
		qh = b->qh + n * 32;
		for (l = 0; l < 32; l++) {
			q[n * 128 + l] = (int8_t)(((ql[l] & 0xf) |
			    (((qh[l] >> 0) & 3) << 4)) - 32);
			q[n * 128 + l + 32] = (int8_t)(((ql[l + 32] & 0xf) |
			    (((qh[l] >> 2) & 3) << 4)) - 32);
			q[n * 128 + l + 64] = (int8_t)(((ql[l] >> 4) |
			    (((qh[l] >> 4) & 3) << 4)) - 32);
			q[n * 128 + l + 96] = (int8_t)(((ql[l + 32] >> 4) |
			    (((qh[l] >> 6) & 3) << 4)) - 32);
		}
	}
}

void
quantize_row_q6_K_ref(const float *x, void *vy, int64_t n)
{
	struct block_q6_K	*y = vy;
	int8_t			 L[QK_K];
	float			 scales[16], max_scale, max_abs, iscale, d;
	uint8_t			*ql, *qh;
	int64_t			 i;
	int			 j, l, ii, k;

	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		max_scale = max_abs = 0;
		for (j = 0; j < 16; j++) {
			scales[j] = make_qx_quants(16, 32, x + 16 * j,
			    L + 16 * j);
			if (fabsf(scales[j]) > max_abs) {
				max_abs = fabsf(scales[j]);
				max_scale = scales[j];
			}
		}
		if (max_abs < GROUP_MAX_EPS) {
			memset(&y[i], 0, sizeof y[i]);
			y[i].d = quant_f2h(0);
			continue;
		}
		iscale = -128.f / max_scale;
		y[i].d = quant_f2h(1 / iscale);
		for (j = 0; j < 16; j++)
			y[i].scales[j] = (int8_t)MIN(127,
			    nearest_int(iscale * scales[j]));
		for (j = 0; j < 16; j++) {
			d = quant_h2f(y[i].d) * y[i].scales[j];
			if (d == 0)
				continue;
			for (ii = 0; ii < 16; ii++) {
				l = nearest_int(x[16 * j + ii] / d);
				L[16 * j + ii] = (int8_t)(MAX(-32, MIN(31, l)) +
				    32);
			}
		}
		ql = y[i].ql;
		qh = y[i].qh;
		for (j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
			for (l = 0; l < 32; l++) {
				k = j + l;
				ql[l] = (uint8_t)((L[k] & 0xf) |
				    ((L[k + 64] & 0xf) << 4));
				ql[l + 32] = (uint8_t)((L[k + 32] & 0xf) |
				    ((L[k + 96] & 0xf) << 4));
				qh[l] = (uint8_t)((L[k] >> 4) |
				    ((L[k + 32] >> 4) << 2) |
				    ((L[k + 64] >> 4) << 4) |
				    ((L[k + 96] >> 4) << 6));
			}
		}
	}
}

void
dequantize_row_q6_K(const void *vx, float *y, int64_t n)
{
	const struct block_q6_K	*x = vx;
	int8_t			 q[QK_K];
	float			 d;
	int64_t			 i;
	int			 k;

	for (i = 0; i < n / QK_K; i++, y += QK_K) {
		d = quant_h2f(x[i].d);
		unpack_q6_K(&x[i], q);
		for (k = 0; k < QK_K; k++)
			y[k] = d * x[i].scales[k / 16] * q[k];
	}
}

void
vec_dot_q6_K_q8_K(int n, float *s, const void *vx, const void *vy)
{
	const struct block_q6_K	*x = vx;
	const struct block_q8_K	*y = vy;
	int8_t			 q[QK_K];
	float			 sum = 0;
	int			 i, g, k, isum, gsum;

	for (i = 0; i < n / QK_K; i++) {
		unpack_q6_K(&x[i], q);
		isum = 0;
		for (g = 0; g < 16; g++) {
			gsum = 0;
			for (k = g * 16; k < g * 16 + 16; k++)
				gsum += q[k] * y[i].qs[k];
			isum += x[i].scales[g] * gsum;
		}
		sum += quant_h2f(x[i].d) * y[i].d * isum;
	}
	*s = sum;
}

/* --- Q8_K: the K-quants' activations ------------------------------------- */

void
quantize_row_q8_K_ref(const float *x, void *vy, int64_t n)
{
	struct block_q8_K	*y = vy;
	float			 amax, max, iscale;
	int64_t			 i;
	int			 j, k, sum;

	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		max = signed_absmax(x, QK_K, &amax);
		if (amax == 0) {
			memset(&y[i], 0, sizeof y[i]);
			continue;
		}
		/* The extreme maps to -127; the other side may clip at 127. */
		iscale = -127.f / max;
		for (j = 0; j < QK_K; j++)
			y[i].qs[j] = (int8_t)MIN(127,
			    nearest_int(iscale * x[j]));
		for (j = 0; j < QK_K / 16; j++) {
			sum = 0;
			for (k = 0; k < 16; k++)
				sum += y[i].qs[16 * j + k];
			y[i].bsums[j] = (int16_t)sum;
		}
		y[i].d = 1 / iscale;
	}
}

void
dequantize_row_q8_K(const void *vx, float *y, int64_t n)
{
	const struct block_q8_K	*x = vx;
	int64_t			 i;
	int			 j;

	for (i = 0; i < n / QK_K; i++, y += QK_K) {
		for (j = 0; j < QK_K; j++)
			y[j] = x[i].d * x[i].qs[j];
	}
}
