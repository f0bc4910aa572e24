/*
 * ops-x86.c - the x86 SIMD kernels of ops (ops-impl.h): F16 vectors for
 * the KV cache, e^x for softmax and SwiGLU, and attention over the F16
 * cache, in 256-bit vectors (AVX2, FMA, F16C) and, for cores that run
 * 512-bit vectors at full width, in zmm registers (AVX-512).
 */
#include "config.h"

#include "ops-impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "simd.h"

/* Query heads whose value sums stay in registers together: ymm, zmm. */
#define ATTN_VB_AVX2 3
#define ATTN_VB_ZMM 8

SIMD_AVX2
static float
dot_f16_avx2(const uint16_t *x, const float *y, int n)
{
	__m256	 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	__m256	 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
	float	 s;
	int	 i;

#define LOADH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(LOADH(x + i), _mm256_loadu_ps(y + i), a0);
		a1 = _mm256_fmadd_ps(LOADH(x + i + 8),
		    _mm256_loadu_ps(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(LOADH(x + i + 16),
		    _mm256_loadu_ps(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(LOADH(x + i + 24),
		    _mm256_loadu_ps(y + i + 24), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(LOADH(x + i), _mm256_loadu_ps(y + i), a0);
#undef LOADH
	s = simd_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1),
	    _mm256_add_ps(a2, a3)));
	for (; i < n; i++)
		s += _cvtsh_ss(x[i]) * y[i];
	return s;
}

SIMD_AVX2
static void
axpy_f16_avx2(float *y, float a, const uint16_t *x, int n)
{
	__m256	va = _mm256_set1_ps(a), v0, v1;
	int	i;

	for (i = 0; i + 16 <= n; i += 16) {
		v0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
		v1 = _mm256_cvtph_ps(_mm_loadu_si128(
		    (const __m128i *)(x + i + 8)));
		_mm256_storeu_ps(y + i,
		    _mm256_fmadd_ps(va, v0, _mm256_loadu_ps(y + i)));
		_mm256_storeu_ps(y + i + 8,
		    _mm256_fmadd_ps(va, v1, _mm256_loadu_ps(y + i + 8)));
	}
	for (; i < n; i++)
		y[i] += a * _cvtsh_ss(x[i]);
}

SIMD_AVX2
static void
f32_to_f16_avx2(uint16_t *y, const float *x, int n)
{
	int	i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(
		    _mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

/*
 * e^x of 8 floats: 2^k e^r with k = round(x / ln 2) and r = x - k ln 2
 * (ln 2 in two parts, the first exact in 16 bits), |r| <= ln 2 / 2, e^r
 * by its Taylor series to r^7 (truncation below 6e-9 relative).  2^k is
 * applied as two powers of two, so that results past float's range come
 * out inf or 0 (and denormal between) as expf's do; NaN stays NaN.
 */
SIMD_AVX2
static inline __m256
exp_avx2(__m256 x)
{
	static const float	c[] = { 1.0f / 5040, 1.0f / 720, 1.0f / 120,
				    1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f };
	__m256			k, r, p;
	__m256i			ki, k1;
	size_t			i;

	/* max/min return their second operand when one is NaN */
	x = _mm256_min_ps(_mm256_set1_ps(89.0f),
	    _mm256_max_ps(_mm256_set1_ps(-110.0f), x));
	k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
	    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);
	p = _mm256_set1_ps(c[0]);
	for (i = 1; i < sizeof c / sizeof c[0]; i++)
		p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[i]));
	ki = _mm256_cvtps_epi32(k);
	k1 = _mm256_srai_epi32(ki, 1);
	ki = _mm256_sub_epi32(ki, k1);
#define POW2(e) _mm256_castsi256_ps(_mm256_slli_epi32( \
	    _mm256_add_epi32((e), _mm256_set1_epi32(127)), 23))
	p = _mm256_mul_ps(_mm256_mul_ps(p, POW2(k1)), POW2(ki));
#undef POW2
	return p;
}

/* e^(x[i] - m) over the whole vectors of x, their sum added to *sum;
 * returns where it stopped */
SIMD_AVX2
static int
exp_sum_avx2(float *x, int n, float m, double *sum)
{
	__m256		vm = _mm256_set1_ps(m), e;
	__m256d		s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
	__m128d		h;
	int		i;

	for (i = 0; i + 8 <= n; i += 8) {
		e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
		_mm256_storeu_ps(x + i, e);
		s0 = _mm256_add_pd(s0,
		    _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
		s1 = _mm256_add_pd(s1,
		    _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
	}
	s0 = _mm256_add_pd(s0, s1);
	h = _mm_add_pd(_mm256_castpd256_pd128(s0),
	    _mm256_extractf128_pd(s0, 1));
	*sum += _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
	return i;
}

/* x = silu(x) * g over the whole vectors of [i0, i1); returns where it
 * stopped */
SIMD_AVX2
static int
swiglu_avx2(float *x, const float *g, int i0, int i1)
{
	const __m256	one = _mm256_set1_ps(1.0f);
	__m256		v, e;
	int		i;

	for (i = i0; i + 8 <= i1; i += 8) {
		v = _mm256_loadu_ps(x + i);
		e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v));
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_div_ps(v,
		    _mm256_add_ps(one, e)), _mm256_loadu_ps(g + i)));
	}
	return i;
}

/* Lane j of the result is the sum of a[j]'s lanes. */
SIMD_AVX2
static inline __m256
hsum8_avx2(const __m256 *a)
{
	__m256	u0, u1;

	u0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]),
	    _mm256_hadd_ps(a[2], a[3]));
	u1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]),
	    _mm256_hadd_ps(a[6], a[7]));
	return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
	    _mm256_permute2f128_ps(u0, u1, 0x31));
}

/*
 * The unit's scores, ATTN_TILE positions at a time: their keys made F32
 * once for all the heads, each head's dots with them summed across in
 * one go.  Needs dim_k a multiple of 8.
 */
SIMD_AVX2
static void
attn_scores_avx2(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *k)
{
	float	*kf = w->ws + (size_t)w->nh * w->ss;
	__m256	 acc[ATTN_TILE], qv;
	int	 dk = a->dim_k, p0, i, j, d;

	for (p0 = 0; p0 < w->n_kv; p0 += ATTN_TILE) {
		for (j = 0; j < ATTN_TILE; j++) {
			const uint16_t	*kr = k + (size_t)(p0 + j) *
			    a->k_stride;

			for (d = 0; d < dk; d += 8)
				_mm256_storeu_ps(kf + j * dk + d,
				    p0 + j < w->n_kv ? _mm256_cvtph_ps(
				    _mm_loadu_si128((const __m128i *)(kr + d)))
				    : _mm256_setzero_ps());
		}
		for (i = 0; i < w->nh; i++) {
			const float	*q = w->q + (size_t)(w->h0 + i) * dk;

#pragma GCC unroll 8
			for (j = 0; j < ATTN_TILE; j++)
				acc[j] = _mm256_setzero_ps();
			for (d = 0; d < dk; d += 8) {
				qv = _mm256_loadu_ps(q + d);
#pragma GCC unroll 8
				for (j = 0; j < ATTN_TILE; j++)
					acc[j] = _mm256_fmadd_ps(
					    _mm256_loadu_ps(kf + j * dk + d),
					    qv, acc[j]);
			}
			_mm256_storeu_ps(w->ws + i * w->ss + p0,
			    _mm256_mul_ps(hsum8_avx2(acc),
			    _mm256_set1_ps(a->scale)));
		}
	}
}

/*
 * out (nb heads' rows, dim_v apart) = inv[i] * the sum over positions of
 * score row i times the value row, 32 values (a cache line of the F16
 * row) at a time for nb <= ATTN_VB_AVX2 heads in registers, each value row
 * made F32 once for them.  Needs dim_v a multiple of 32.  Inlined for
 * each constant nb.
 */
SIMD_AVX2 __attribute__((always_inline))
static inline void
attn_values_avx2(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *v, const float *sc, const float *inv, int nb,
    float *out)
{
	__m256		 acc[ATTN_VB_AVX2][4], b[ATTN_VB_AVX2], x, s;
	const uint16_t	*vr;
	int		 c, p, i, m;

	for (c = 0; c < a->dim_v; c += 32) {
#pragma GCC unroll 4
		for (i = 0; i < nb; i++)
			acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] =
			    _mm256_setzero_ps();
		for (p = 0; p < w->n_kv; p++) {
			vr = v + (size_t)p * a->v_stride + c;
#pragma GCC unroll 4
			for (i = 0; i < nb; i++)
				b[i] = _mm256_broadcast_ss(sc + i * w->ss + p);
#pragma GCC unroll 4
			for (m = 0; m < 4; m++) {
				x = _mm256_cvtph_ps(_mm_loadu_si128(
				    (const __m128i *)(vr + 8 * m)));
#pragma GCC unroll 4
				for (i = 0; i < nb; i++)
					acc[i][m] = _mm256_fmadd_ps(b[i], x,
					    acc[i][m]);
			}
		}
#pragma GCC unroll 4
		for (i = 0; i < nb; i++) {
			s = _mm256_set1_ps(inv[i]);
#pragma GCC unroll 4
			for (m = 0; m < 4; m++)
				_mm256_storeu_ps(out + i * a->dim_v + c + 8 * m,
				    _mm256_mul_ps(acc[i][m], s));
		}
	}
}

/*
 * The zmm forms of attn_scores_avx2 and attn_values_avx2, for cores that
 * run 512-bit vectors at full width: sixteen dimensions a step, each
 * position's sum folded to 256 bits before the eight are summed across;
 * value sums for up to ATTN_VB_ZMM heads in registers.  dim_k a multiple
 * of 16, dim_v of 32.
 */
SIMD_AVX512
static void
attn_scores_zmm(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *k)
{
	float	*kf = w->ws + (size_t)w->nh * w->ss;
	__m512	 acc[ATTN_TILE], qv;
	__m256	 half[ATTN_TILE];
	int	 dk = a->dim_k, p0, i, j, d;

	for (p0 = 0; p0 < w->n_kv; p0 += ATTN_TILE) {
		for (j = 0; j < ATTN_TILE; j++) {
			const uint16_t	*kr = k + (size_t)(p0 + j) *
			    a->k_stride;

			for (d = 0; d < dk; d += 16)
				_mm512_storeu_ps(kf + j * dk + d,
				    p0 + j < w->n_kv ? _mm512_cvtph_ps(
				    _mm256_loadu_si256((const __m256i *)(kr +
				    d))) : _mm512_setzero_ps());
		}
		for (i = 0; i < w->nh; i++) {
			const float	*q = w->q + (size_t)(w->h0 + i) * dk;

#pragma GCC unroll 8
			for (j = 0; j < ATTN_TILE; j++)
				acc[j] = _mm512_setzero_ps();
			for (d = 0; d < dk; d += 16) {
				qv = _mm512_loadu_ps(q + d);
#pragma GCC unroll 8
				for (j = 0; j < ATTN_TILE; j++)
					acc[j] = _mm512_fmadd_ps(
					    _mm512_loadu_ps(kf + j * dk + d),
					    qv, acc[j]);
			}
#pragma GCC unroll 8
			for (j = 0; j < ATTN_TILE; j++)
				half[j] = _mm256_add_ps(
				    _mm512_castps512_ps256(acc[j]),
				    _mm256_castpd_ps(_mm512_extractf64x4_pd(
				    _mm512_castps_pd(acc[j]), 1)));
			_mm256_storeu_ps(w->ws + i * w->ss + p0,
			    _mm256_mul_ps(hsum8_avx2(half),
			    _mm256_set1_ps(a->scale)));
		}
	}
}


SIMD_AVX512 __attribute__((always_inline))
static inline void
attn_values_zmm(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *v, const float *sc, const float *inv, int nb,
    float *out)
{
	__m512		 acc[ATTN_VB_ZMM][2], b[ATTN_VB_ZMM], x0, x1, s;
	const uint16_t	*vr;
	int		 c, p, i;

	for (c = 0; c < a->dim_v; c += 32) {
#pragma GCC unroll 8
		for (i = 0; i < nb; i++)
			acc[i][0] = acc[i][1] = _mm512_setzero_ps();
		for (p = 0; p < w->n_kv; p++) {
			vr = v + (size_t)p * a->v_stride + c;
#pragma GCC unroll 8
			for (i = 0; i < nb; i++)
				b[i] = _mm512_set1_ps(sc[i * w->ss + p]);
			x0 = _mm512_cvtph_ps(_mm256_loadu_si256(
			    (const __m256i *)vr));
			x1 = _mm512_cvtph_ps(_mm256_loadu_si256(
			    (const __m256i *)(vr + 16)));
#pragma GCC unroll 8
			for (i = 0; i < nb; i++) {
				acc[i][0] = _mm512_fmadd_ps(b[i], x0,
				    acc[i][0]);
				acc[i][1] = _mm512_fmadd_ps(b[i], x1,
				    acc[i][1]);
			}
		}
#pragma GCC unroll 8
		for (i = 0; i < nb; i++) {
			s = _mm512_set1_ps(inv[i]);
			_mm512_storeu_ps(out + i * a->dim_v + c,
			    _mm512_mul_ps(acc[i][0], s));
			_mm512_storeu_ps(out + i * a->dim_v + c + 16,
			    _mm512_mul_ps(acc[i][1], s));
		}
	}
}

/* attn_values_<width>_<nb>: the value sums of nb heads, inlined */
#define ATTN_VALUES(width, nb, isa)					\
isa									\
static void								\
attn_values_##width##_##nb(const struct ops_attn *a,			\
    const struct attn_unit *w, const uint16_t *v, const float *sc,	\
    const float *inv, float *out)					\
{									\
	attn_values_##width(a, w, v, sc, inv, nb, out);			\
}
ATTN_VALUES(avx2, 1, SIMD_AVX2)
ATTN_VALUES(avx2, 2, SIMD_AVX2)
ATTN_VALUES(avx2, 3, SIMD_AVX2)
ATTN_VALUES(zmm, 1, SIMD_AVX512)
ATTN_VALUES(zmm, 2, SIMD_AVX512)
ATTN_VALUES(zmm, 3, SIMD_AVX512)
ATTN_VALUES(zmm, 4, SIMD_AVX512)
ATTN_VALUES(zmm, 5, SIMD_AVX512)
ATTN_VALUES(zmm, 6, SIMD_AVX512)
ATTN_VALUES(zmm, 7, SIMD_AVX512)
ATTN_VALUES(zmm, 8, SIMD_AVX512)
#undef ATTN_VALUES

static const struct attn_kernels attn_avx2 = {
	.scores = attn_scores_avx2,
	.values = { NULL, attn_values_avx2_1, attn_values_avx2_2,
	    attn_values_avx2_3 },
	.vb = ATTN_VB_AVX2,
	.dk_mult = 8,
	.dv_mult = 32,
};

static const struct attn_kernels attn_zmm = {
	.scores = attn_scores_zmm,
	.values = { NULL, attn_values_zmm_1, attn_values_zmm_2,
	    attn_values_zmm_3, attn_values_zmm_4, attn_values_zmm_5,
	    attn_values_zmm_6, attn_values_zmm_7, attn_values_zmm_8 },
	.vb = ATTN_VB_ZMM,
	.dk_mult = 16,
	.dv_mult = 32,
};
_Static_assert(ATTN_VB_ZMM <= ATTN_VB_MAX, "attn_zmm: too many heads");

static const struct ops_kernels ops_avx2 = {
	.dot_f16 = dot_f16_avx2,
	.axpy_f16 = axpy_f16_avx2,
	.f32_to_f16 = f32_to_f16_avx2,
	.exp_sum = exp_sum_avx2,
	.swiglu = swiglu_avx2,
	.attn = { &attn_avx2 },
};

/* As ops_avx2, with the zmm attention where the rows fit it. */
static const struct ops_kernels ops_zmm = {
	.dot_f16 = dot_f16_avx2,
	.axpy_f16 = axpy_f16_avx2,
	.f32_to_f16 = f32_to_f16_avx2,
	.exp_sum = exp_sum_avx2,
	.swiglu = swiglu_avx2,
	.attn = { &attn_zmm, &attn_avx2 },
};

const struct ops_kernels *const ops_kernels[QUANT_ISA_COUNT] = {
	[QUANT_ISA_AVX2] = &ops_avx2,
	[QUANT_ISA_AVX512] = &ops_avx2,
	[QUANT_ISA_AVX512_WIDE] = &ops_zmm,
	[QUANT_ISA_AMX] = &ops_zmm,
};
/* a path missing above runs the plain loops: list each new one */
_Static_assert(QUANT_ISA_COUNT == 5, "ops_kernels: a path without its "
    "kernels");

#else /* not x86 */

const struct ops_kernels *const ops_kernels[QUANT_ISA_COUNT];

#endif
