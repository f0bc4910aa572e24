/*
 * quant-avx2.c - AVX2 + FMA + F16C kernels: the dot of every weight type
 * with its activation format, and the activation quantizers.
 *
 * Compiled with target attributes, not -m flags, so one binary runs
 * anywhere and quant.c installs these only when cpuid says they can run.
 *
 * The integer dots use _mm256_maddubs_epi16 (unsigned 8-bit times signed
 * 8-bit, adjacent pairs summed to 16 bits) and _mm256_madd_epi16 (16-bit
 * pairs to 32 bits).  Weights are kept unsigned where the format allows
 * (the K-quants store q + offset; the offset times the activations' sums,
 * which Q8_K carries in bsums, is subtracted once per block); the signed
 * formats use |w| times y with w's sign moved onto y.  Every partial sum
 * fits its lanes: at most 63 * 128 * 2 in 16 bits, and a block's scaled
 * sum well inside 32 bits, so the integer part of each block is exact and
 * only the float accumulation differs from the scalar kernels.
 */
#include "config.h"

#include <string.h>

#include "quant-impl.h"
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* ------------------------------------------------------------------ */
/* helpers */

SIMD_AVX2 static inline int
hsum_epi32(__m256i v)
{
	__m128i	h = _mm_add_epi32(_mm256_castsi256_si128(v),
	    _mm256_extracti128_si256(v, 1));

	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(h);
}

SIMD_AVX2 static inline float
h2f(ggml_half h)
{
	return _cvtsh_ss(h);
}

/* Sum of u[i] * s[i] over 32 bytes, as 8 int32 lanes (u unsigned). */
SIMD_AVX2 static inline __m256i
dot_u8s8(__m256i u, __m256i s)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s),
	    _mm256_set1_epi16(1));
}

/* As dot_u8s8 with both signed: the sign of w moves onto y. */
SIMD_AVX2 static inline __m256i
dot_s8s8(__m256i w, __m256i y)
{
	return dot_u8s8(_mm256_abs_epi8(w), _mm256_sign_epi8(y, w));
}

/* 32 nibbles of 16 bytes: the low ones in bytes 0-15, the high 16-31. */
SIMD_AVX2 static inline __m256i
nibbles32(const uint8_t *p)
{
	__m128i	q = _mm_loadu_si128((const __m128i *)p);
	__m128i	m = _mm_set1_epi8(0x0f);

	return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m),
	    _mm_and_si128(q, m));
}

/* Byte j is 0xff where bit j of the 32-bit word at p is set, else 0. */
SIMD_AVX2 static inline __m256i
bits32(const uint8_t *p)
{
	const __m256i	spread = _mm256_set_epi64x(0x0303030303030303LL,
	    0x0202020202020202LL, 0x0101010101010101LL, 0);
	const __m256i	bit = _mm256_set1_epi64x(0x8040201008040201LL);
	uint32_t	w;
	__m256i		v;

	memcpy(&w, p, sizeof w);
	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)w), spread);
	return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/*
 * 16-bit lanes 0-7 = s[a], lanes 8-15 = s[a + 1], from the 16 signed
 * bytes s held in both 128-bit halves of v: a K-quant's scales for the 32
 * weights of one maddubs pair, which span two 16-weight groups.
 */
SIMD_AVX2 static inline __m256i
scale_pair(__m256i v, int a)
{
	/* Each word takes byte a (a + 1 above) into its high byte, then
	 * an arithmetic shift sign-extends it. */
	__m256i	idx = _mm256_add_epi16(_mm256_set1_epi16(
	    (short)((a << 8) | 0x80)), _mm256_set_epi64x(0x0100010001000100LL,
	    0x0100010001000100LL, 0, 0));

	return _mm256_srai_epi16(_mm256_shuffle_epi8(v, idx), 8);
}

/* x rounded half away from zero, as roundf; |x| < 2^22. */
SIMD_AVX2 static inline __m256
round_away(__m256 x)
{
	const __m256	sign = _mm256_set1_ps(-0.0f);
	__m256		t, frac, big, one;

	t = _mm256_round_ps(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	frac = _mm256_andnot_ps(sign, _mm256_sub_ps(x, t));
	big = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	one = _mm256_or_ps(_mm256_and_ps(x, sign), _mm256_set1_ps(1.0f));
	return _mm256_add_ps(t, _mm256_and_ps(big, one));
}

/* Four vectors of 8 int32 (each in int8 range) to 32 int8, in order. */
SIMD_AVX2 static inline __m256i
pack32(__m256i a, __m256i b, __m256i c, __m256i d)
{
	__m256i	ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);

	/* packs works per 128-bit half: undo its interleaving of dwords. */
	return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd),
	    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* max |x| over 32 floats. */
SIMD_AVX2 static inline float
amax32(const float *x)
{
	const __m256	abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256		m;
	__m128		h;

	m = _mm256_max_ps(
	    _mm256_max_ps(_mm256_and_ps(abs, _mm256_loadu_ps(x)),
	    _mm256_and_ps(abs, _mm256_loadu_ps(x + 8))),
	    _mm256_max_ps(_mm256_and_ps(abs, _mm256_loadu_ps(x + 16)),
	    _mm256_and_ps(abs, _mm256_loadu_ps(x + 24))));
	h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	h = _mm_max_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}

/* ------------------------------------------------------------------ */
/* activation quantizers */

/*
 * Q8_0 block: d = amax / 127, q = roundf(x / d), into qs; returns the
 * sum of the q when sum is wanted (Q8_1), and d unrounded in *dfull.
 */
SIMD_AVX2 static inline int
q8_block(const float *x, ggml_half *dp, int8_t *qs, int want_sum,
    float *dfull)
{
	float	amax = amax32(x), d = amax / 127.0f;
	float	id = d != 0.0f ? 1.0f / d : 0.0f;
	__m256	vid = _mm256_set1_ps(id);
	__m256i	q[4];
	int	k;

	*dp = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
	*dfull = d;
	for (k = 0; k < 4; k++)
		q[k] = _mm256_cvttps_epi32(round_away(_mm256_mul_ps(
		    _mm256_loadu_ps(x + 8 * k), vid)));
	_mm256_storeu_si256((__m256i *)qs, pack32(q[0], q[1], q[2], q[3]));
	if (!want_sum)
		return 0;
	return hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
	    _mm256_add_epi32(q[2], q[3])));
}

SIMD_AVX2 void
quantize_row_q8_0_avx2(const float *x, void *vy, int64_t n)
{
	struct block_q8_0	*y = vy;
	int64_t			 i, nb = n / QK8_0;
	float			 d;

	for (i = 0; i < nb; i++)
		q8_block(x + i * QK8_0, &y[i].d, y[i].qs, 0, &d);
}

SIMD_AVX2 static void
quantize_row_q8_1_avx2(const float *x, void *vy, int64_t n)
{
	struct block_q8_1	*y = vy;
	int64_t			 i, nb = n / QK8_1;
	float			 d;
	int			 sum;

	for (i = 0; i < nb; i++) {
		/* s is sum * d with d before its rounding to F16. */
		sum = q8_block(x + i * QK8_1, &y[i].d, y[i].qs, 1, &d);
		y[i].s = _cvtss_sh(sum * d, _MM_FROUND_TO_NEAREST_INT);
	}
}

SIMD_AVX2 void
quantize_row_q8_K_avx2(const float *x, void *vy, int64_t n)
{
	struct block_q8_K	*y = vy;
	int64_t			 i, nb = n / QK_K;
	const float		*xb;
	__m256			 vmax, vmin, v, vis;
	__m256i			 q[32], s[16], h0, h1;
	__m128			 h;
	float			 hi, lo, max, iscale;
	int			 k;

	for (i = 0; i < nb; i++) {
		xb = x + i * QK_K;
		vmax = vmin = _mm256_loadu_ps(xb);
		for (k = 1; k < 32; k++) {
			v = _mm256_loadu_ps(xb + 8 * k);
			vmax = _mm256_max_ps(vmax, v);
			vmin = _mm256_min_ps(vmin, v);
		}
		h = _mm_max_ps(_mm256_castps256_ps128(vmax),
		    _mm256_extractf128_ps(vmax, 1));
		h = _mm_max_ps(h, _mm_movehl_ps(h, h));
		hi = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
		h = _mm_min_ps(_mm256_castps256_ps128(vmin),
		    _mm256_extractf128_ps(vmin, 1));
		h = _mm_min_ps(h, _mm_movehl_ps(h, h));
		lo = _mm_cvtss_f32(_mm_min_ss(h, _mm_movehdup_ps(h)));

		/*
		 * The reference scales by the first value of largest
		 * magnitude, sign included; only when +m and -m both occur
		 * does the order matter, and then a scan settles it.
		 */
		if (hi > -lo)
			max = hi;
		else if (-lo > hi)
			max = lo;
		else {
			max = 0.0f;
			for (k = 0; k < QK_K; k++) {
				if (xb[k] == hi || xb[k] == lo) {
					max = xb[k];
					break;
				}
			}
		}
		if (max == 0.0f) {
			y[i].d = 0.0f;
			memset(y[i].qs, 0, sizeof y[i].qs);
			memset(y[i].bsums, 0, sizeof y[i].bsums);
			continue;
		}
		iscale = -127.0f / max;
		vis = _mm256_set1_ps(iscale);
		for (k = 0; k < 32; k++) {
			/* Rounds to nearest even, as the reference. */
			q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(
			    _mm256_loadu_ps(xb + 8 * k), vis));
			q[k] = _mm256_min_epi32(q[k], _mm256_set1_epi32(127));
		}
		for (k = 0; k < 8; k++)
			_mm256_storeu_si256((__m256i *)(y[i].qs + 32 * k),
			    pack32(q[4 * k], q[4 * k + 1], q[4 * k + 2],
			    q[4 * k + 3]));
		/* bsums[j]: the 16 values of q[2j] and q[2j + 1]. */
		for (k = 0; k < 16; k++)
			s[k] = _mm256_add_epi32(q[2 * k], q[2 * k + 1]);
		for (k = 0; k < 16; k += 8) {
			h0 = _mm256_hadd_epi32(
			    _mm256_hadd_epi32(s[k], s[k + 1]),
			    _mm256_hadd_epi32(s[k + 2], s[k + 3]));
			h1 = _mm256_hadd_epi32(
			    _mm256_hadd_epi32(s[k + 4], s[k + 5]),
			    _mm256_hadd_epi32(s[k + 6], s[k + 7]));
			/* Each half now holds partial sums of four groups. */
			h0 = _mm256_add_epi32(h0,
			    _mm256_permute2x128_si256(h0, h0, 0x01));
			h1 = _mm256_add_epi32(h1,
			    _mm256_permute2x128_si256(h1, h1, 0x01));
			_mm_storeu_si128((__m128i *)(y[i].bsums + k),
			    _mm_packs_epi32(_mm256_castsi256_si128(h0),
			    _mm256_castsi256_si128(h1)));
		}
		y[i].d = 1.0f / iscale;
	}
}

/* ------------------------------------------------------------------ */
/* float weights */

SIMD_AVX2 static void
vec_dot_f32_f32_avx2(int n, float *s, const void *vx, const void *vy)
{
	const float	*x = vx, *y = vy;
	__m256		 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	__m256		 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
	float		 sum;
	int		 i;

	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),
		    _mm256_loadu_ps(y + i), a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8),
		    _mm256_loadu_ps(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16),
		    _mm256_loadu_ps(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24),
		    _mm256_loadu_ps(y + i + 24), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i),
		    _mm256_loadu_ps(y + i), a0);
	sum = simd_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1),
	    _mm256_add_ps(a2, a3)));
	for (; i < n; i++)
		sum += x[i] * y[i];
	*s = sum;
}

SIMD_AVX2 static inline __m256
load_f16(const ggml_half *p)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

SIMD_AVX2 static inline __m256
load_bf16(const ggml_bf16 *p)
{
	return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(
	    _mm_loadu_si128((const __m128i *)p)), 16));
}

SIMD_AVX2 static void
vec_dot_f16_f32_avx2(int n, float *s, const void *vx, const void *vy)
{
	const ggml_half	*x = vx;
	const float	*y = vy;
	__m256		 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	__m256		 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
	float		 sum;
	int		 i;

	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(load_f16(x + i), _mm256_loadu_ps(y + i),
		    a0);
		a1 = _mm256_fmadd_ps(load_f16(x + i + 8),
		    _mm256_loadu_ps(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(load_f16(x + i + 16),
		    _mm256_loadu_ps(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(load_f16(x + i + 24),
		    _mm256_loadu_ps(y + i + 24), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(load_f16(x + i), _mm256_loadu_ps(y + i),
		    a0);
	sum = simd_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1),
	    _mm256_add_ps(a2, a3)));
	for (; i < n; i++)
		sum += h2f(x[i]) * y[i];
	*s = sum;
}

SIMD_AVX2 static void
vec_dot_bf16_f32_avx2(int n, float *s, const void *vx, const void *vy)
{
	const ggml_bf16	*x = vx;
	const float	*y = vy;
	__m256		 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	__m256		 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
	float		 sum;
	int		 i;

	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(load_bf16(x + i), _mm256_loadu_ps(y + i),
		    a0);
		a1 = _mm256_fmadd_ps(load_bf16(x + i + 8),
		    _mm256_loadu_ps(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(load_bf16(x + i + 16),
		    _mm256_loadu_ps(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(load_bf16(x + i + 24),
		    _mm256_loadu_ps(y + i + 24), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(load_bf16(x + i), _mm256_loadu_ps(y + i),
		    a0);
	sum = simd_hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1),
	    _mm256_add_ps(a2, a3)));
	for (; i < n; i++)
		sum += quant_bf2f(x[i]) * y[i];
	*s = sum;
}

/* ------------------------------------------------------------------ */
/* 32-weight blocks */

/*
 * The five 32-block dots share one loop: decode a block's 32 weights to
 * bytes, dot them with the activations, scale by the two deltas.  The
 * FMAs alternate between two accumulators (renamed, not moved), so
 * consecutive blocks do not wait on each other.
 */

/*
 * The dots of the 32-weight blocks and of the K-quants
 * are written once for T activation rows at a time (T a constant 1 or 4
 * after inlining): a weight block is decoded once and used for every
 * row.  The single-row vec_dot is the T = 1 instance, and each of the T
 * results of the multi-row one goes through exactly the same operations,
 * so both give the same bits; ops relies on that when it batches tokens.
 */
#define ALWAYS_INLINE __attribute__((always_inline))
#define XT 4		/* activation rows of the multi-row dots */

/* The single- and 4-row dots vec_dot_NAME_avx2 and _x4_avx2: driver
 * dot's instances with its type flag. */
#define DOTS(name, dot, flag)						\
SIMD_AVX2 static void							\
vec_dot_##name##_avx2(int n, float *s, const void *vx, const void *vy)	\
{									\
	dot(n, s, vx, flag, vy, 0, 1);					\
}									\
SIMD_AVX2 static void							\
vec_dot_##name##_x4_avx2(int n, float *s, const void *vx,		\
    const void *vy, size_t by)						\
{									\
	dot(n, s, vx, flag, vy, by, XT);				\
}

/* The blocks of 32 weights against Q8_0, each starting with its delta. */
enum b32 { B32_Q8_0, B32_Q4_0, B32_Q5_0 };

/* The 32 signed weights of block x of kind k. */
SIMD_AVX2 static inline ALWAYS_INLINE __m256i
b32_weights(const void *x, enum b32 k)
{
	const struct block_q5_0	*x5 = x;

	switch (k) {
	case B32_Q4_0:
		return _mm256_sub_epi8(nibbles32(((const struct block_q4_0 *)
		    x)->qs), _mm256_set1_epi8(8));
	case B32_Q5_0:
		/* q - 16: a clear fifth bit leaves the nibble negative,
		 * which in two's complement is just its high bits set. */
		return _mm256_or_si256(nibbles32(x5->qs), _mm256_andnot_si256(
		    bits32(x5->qh), _mm256_set1_epi8((char)0xf0)));
	default:
		return _mm256_loadu_si256((const __m256i *)
		    ((const struct block_q8_0 *)x)->qs);
	}
}

/* One block of kind k against T activation blocks by bytes apart. */
SIMD_AVX2 static inline ALWAYS_INLINE void
b32_step(const void *x, enum b32 k, const char *y0, size_t by, int T,
    __m256 *acc)
{
	const struct block_q8_0	*y;
	__m256i			 w = b32_weights(x, k), aw, p;
	float			 dx = h2f(*(const ggml_half *)x);
	int			 t;

	aw = _mm256_abs_epi8(w);
#pragma GCC unroll 4
	for (t = 0; t < T; t++) {
		y = (const struct block_q8_0 *)(y0 + t * by);
		p = dot_u8s8(aw, _mm256_sign_epi8(_mm256_loadu_si256(
		    (const __m256i *)y->qs), w));
		acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(y->d)),
		    _mm256_cvtepi32_ps(p), acc[t]);
	}
}

SIMD_AVX2 static inline ALWAYS_INLINE void
b32_dot(int n, float *s, const void *vx, enum b32 k, const void *vy,
    size_t by, int T)
{
	static const size_t	 sizes[] = {
		[B32_Q8_0] = sizeof (struct block_q8_0),
		[B32_Q4_0] = sizeof (struct block_q4_0),
		[B32_Q5_0] = sizeof (struct block_q5_0),
	};
	const char		*x = vx, *y = vy;
	const size_t		 xb = sizes[k], yb = sizeof (struct block_q8_0);
	__m256			 a0[XT], a1[XT];
	int			 i, t, nb = n / QK8_0;

#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		a0[t] = a1[t] = _mm256_setzero_ps();
	/* Two accumulators each: a block is shorter than an FMA's latency. */
	for (i = 0; i + 1 < nb; i += 2) {
		b32_step(x + i * xb, k, y + i * yb, by, T, a0);
		b32_step(x + (i + 1) * xb, k, y + (i + 1) * yb, by, T, a1);
	}
	if (i < nb)
		b32_step(x + i * xb, k, y + i * yb, by, T, a0);
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = simd_hsum256(_mm256_add_ps(a0[t], a1[t]));
}

DOTS(q8_0_q8_0, b32_dot, B32_Q8_0)
DOTS(q4_0_q8_0, b32_dot, B32_Q4_0)
DOTS(q5_0_q8_0, b32_dot, B32_Q5_0)

/*
 * Q4_1 (q5 0) and Q5_1 (q5 1) against Q8_1: weights q of 0 to 15 (31)
 * with a delta and a min m, so a block's dot is d * dy * sum(q * y)
 * plus m times the activations' sum (Q8_1's s), added in block order.
 * One block x against T activation blocks by bytes apart:
 */
SIMD_AVX2 static inline ALWAYS_INLINE void
b32m_step(const void *x, int q5, const char *y0, size_t by, int T,
    __m256 *acc, float *summ)
{
	const struct block_q4_1	*x4 = x;
	const struct block_q5_1	*x5 = x;
	const struct block_q8_1	*y;
	__m256i			 w;
	float			 d = h2f(x4->d), m = h2f(x4->m);
	int			 t;

	/* both blocks start with d and m */
	w = q5 ? _mm256_or_si256(nibbles32(x5->qs), _mm256_and_si256(
	    bits32(x5->qh), _mm256_set1_epi8(0x10))) : nibbles32(x4->qs);
#pragma GCC unroll 4
	for (t = 0; t < T; t++) {
		y = (const struct block_q8_1 *)(y0 + t * by);
		acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * h2f(y->d)),
		    _mm256_cvtepi32_ps(dot_u8s8(w, _mm256_loadu_si256(
		    (const __m256i *)y->qs))), acc[t]);
		summ[t] += m * h2f(y->s);
	}
}

SIMD_AVX2 static inline ALWAYS_INLINE void
b32m_dot(int n, float *s, const void *vx, int q5, const void *vy,
    size_t by, int T)
{
	const char	*x = vx, *y = vy;
	const size_t	 xb = q5 ? sizeof (struct block_q5_1) :
	    sizeof (struct block_q4_1), yb = sizeof (struct block_q8_1);
	__m256		 a0[XT], a1[XT];
	float		 summ[XT];
	int		 i, t, nb = n / QK4_1;

#pragma GCC unroll 4
	for (t = 0; t < T; t++) {
		a0[t] = a1[t] = _mm256_setzero_ps();
		summ[t] = 0.0f;
	}
	for (i = 0; i + 1 < nb; i += 2) {
		b32m_step(x + i * xb, q5, y + i * yb, by, T, a0, summ);
		b32m_step(x + (i + 1) * xb, q5, y + (i + 1) * yb, by, T, a1,
		    summ);
	}
	if (i < nb)
		b32m_step(x + i * xb, q5, y + i * yb, by, T, a0, summ);
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = simd_hsum256(_mm256_add_ps(a0[t], a1[t])) + summ[t];
}

DOTS(q4_1_q8_1, b32m_dot, 0)
DOTS(q5_1_q8_1, b32m_dot, 1)

/* ------------------------------------------------------------------ */
/* K-quants: 256-weight super-blocks against Q8_K */

/*
 * The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a Q4_K/Q5_K block,
 * 6 bits each, in both 128-bit halves: unpacked four at a time from the
 * 12 bytes read as three little-endian words (the layout
 * quant_k4_scale_min describes).
 */
SIMD_AVX2 static inline __m256i
k4_scales(const uint8_t *p)
{
	uint32_t	v[4];

	quant_k4_unpack(p, v);
	return _mm256_broadcastsi128_si256(_mm_setr_epi32((int)v[0],
	    (int)v[1], (int)v[2], (int)v[3]));
}

/* Every 16-bit lane = byte g of v (unsigned): one group's scale. */
SIMD_AVX2 static inline __m256i
scale_all(__m256i v, int g)
{
	return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(0x8000 | g)));
}

/*
 * The mins of k4_scales as 16 lanes m0 m0 m1 m1 ... m7 m7, one per bsum
 * (bsums are per 16 activations, a group is 32).
 */
SIMD_AVX2 static inline __m256i
k4_mins16(__m256i v)
{
	return _mm256_shuffle_epi8(v, _mm256_setr_epi16(
	    (short)0x8008, (short)0x8008, (short)0x8009, (short)0x8009,
	    (short)0x800a, (short)0x800a, (short)0x800b, (short)0x800b,
	    (short)0x800c, (short)0x800c, (short)0x800d, (short)0x800d,
	    (short)0x800e, (short)0x800e, (short)0x800f, (short)0x800f));
}

/*
 * The K-quants' 4-row steps, row t's Q8_K block by bytes from row 0's
 * (y, qs): isum[t] += 32 weights w against row t's activations at qs,
 * by the scale pairs sc; and a block's end, acc[t] += d * its delta *
 * isum[t].
 */
SIMD_AVX2 static inline ALWAYS_INLINE void
k_rows_add(__m256i *isum, __m256i w, __m256i sc, const int8_t *qs,
    size_t by, int T)
{
	int	t;

#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(
		    _mm256_maddubs_epi16(w, _mm256_loadu_si256((const __m256i *)
		    ((const char *)qs + t * by))), sc));
}

SIMD_AVX2 static inline ALWAYS_INLINE void
k_rows_scale(__m256 *acc, const __m256i *isum, float d,
    const struct block_q8_K *y, size_t by, int T)
{
	const struct block_q8_K	*yt;
	int			 t;

#pragma GCC unroll 4
	for (t = 0; t < T; t++) {
		yt = (const struct block_q8_K *)((const char *)y + t * by);
		acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * yt->d),
		    _mm256_cvtepi32_ps(isum[t]), acc[t]);
	}
}

/*
 * Q4_K's dot, or (q5) Q5_K's, whose qh adds a fifth bit to each weight:
 * bit 2k of qh[l] to weight l of group 2k, bit 2k+1 to group 2k+1's.
 * The integer sums are exact, so their grouping does not move a bit.
 */
SIMD_AVX2 static inline ALWAYS_INLINE void
k45_dot(int n, float *s, const void *vx, int q5, const void *vy, size_t by,
    int T)
{
	const struct block_q4_K	*x4 = vx;
	const struct block_q5_K	*x5 = vx;
	const struct block_q8_K	*y;
	const uint8_t		*qs;
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	const __m256i		 b4 = _mm256_set1_epi8(0x10);
	__m256			 acc[XT];
	__m256i			 isum[XT], scv, mins, q, lo, hi, s0, s1;
	__m256i			 h = _mm256_setzero_si256();
	float			 d, dmin;
	int			 i, k, t, nb = n / QK_K;

#define YB(t) ((const struct block_q8_K *)((const char *)vy + (t) * by) + i)
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		acc[t] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		scv = k4_scales(q5 ? x5[i].scales : x4[i].scales);
		mins = k4_mins16(scv);
		d = h2f(q5 ? x5[i].d : x4[i].d);
		dmin = h2f(q5 ? x5[i].dmin : x4[i].dmin);
		qs = q5 ? x5[i].qs : x4[i].qs;
		if (q5)
			h = _mm256_loadu_si256((const __m256i *)x5[i].qh);
#pragma GCC unroll 4
		for (t = 0; t < T; t++) {
			y = YB(t);
			acc[t] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * y->d),
			    _mm256_cvtepi32_ps(_mm256_madd_epi16(mins,
			    _mm256_loadu_si256((const __m256i *)y->bsums))),
			    acc[t]);
			isum[t] = _mm256_setzero_si256();
		}
		/* 64 weights per step: group 2k in the low nibbles, 2k+1 in
		 * the high ones. */
#pragma GCC unroll 4
		for (k = 0; k < 4; k++) {
			q = _mm256_loadu_si256((const __m256i *)(qs + 32 * k));
			lo = _mm256_and_si256(q, low);
			hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
			if (q5) {
				lo = _mm256_or_si256(lo, _mm256_and_si256(
				    _mm256_slli_epi16(h, 4), b4));
				hi = _mm256_or_si256(hi, _mm256_and_si256(
				    _mm256_slli_epi16(h, 3), b4));
				h = _mm256_srli_epi16(h, 2);
			}
			s0 = scale_all(scv, 2 * k);
			s1 = scale_all(scv, 2 * k + 1);
#pragma GCC unroll 4
			for (t = 0; t < T; t++) {
				y = YB(t);
				isum[t] = _mm256_add_epi32(isum[t],
				    _mm256_add_epi32(_mm256_madd_epi16(
				    _mm256_maddubs_epi16(lo, _mm256_loadu_si256(
				    (const __m256i *)(y->qs + 64 * k))), s0),
				    _mm256_madd_epi16(_mm256_maddubs_epi16(hi,
				    _mm256_loadu_si256((const __m256i *)(y->qs +
				    64 * k + 32))), s1)));
			}
		}
		k_rows_scale(acc, isum, d, YB(0), by, T);
	}
#undef YB
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = simd_hsum256(acc[t]);
}

DOTS(q4_K_q8_K, k45_dot, 0)

DOTS(q5_K_q8_K, k45_dot, 1)

/*
 * Q6_K: per half of 128 weights, ql[0..31] and ql[32..63] give the low
 * nibbles of weights 0-31 / 32-63 and their high nibbles those of 64-95 /
 * 96-127; qh[0..31] holds the top two bits of each, in bit pairs 0, 2, 4,
 * 6 for the four quarters.  Stored as q + 32: 32 times each group's
 * activation sum is taken off first.
 */
SIMD_AVX2 static inline ALWAYS_INLINE void
q6_K_dot(int n, float *s, const void *vx, const void *vy, size_t by, int T)
{
	const struct block_q6_K	*x = vx;
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	const __m256i		 top = _mm256_set1_epi8(0x30);
	__m256			 acc[XT];
	__m256i			 isum[XT], scv, s16, l0, l1, h, w, sp;
	const uint8_t		*ql, *qh;
	float			 d;
	int			 i, half, k, t, nb = n / QK_K;

#define YB(t) ((const struct block_q8_K *)((const char *)vy + (t) * by) + i)
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		acc[t] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		scv = _mm256_broadcastsi128_si256(
		    _mm_loadu_si128((const __m128i *)x[i].scales));
		s16 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(scv));
		d = h2f(x[i].d);
#pragma GCC unroll 4
		for (t = 0; t < T; t++)
			isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(),
			    _mm256_slli_epi32(_mm256_madd_epi16(s16,
			    _mm256_loadu_si256((const __m256i *)YB(t)->bsums)),
			    5));
#pragma GCC unroll 2
		for (half = 0; half < 2; half++) {
			ql = x[i].ql + 64 * half;
			qh = x[i].qh + 32 * half;
			l0 = _mm256_loadu_si256((const __m256i *)ql);
			l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
			h = _mm256_loadu_si256((const __m256i *)qh);
#pragma GCC unroll 4
			for (k = 0; k < 4; k++) {
				switch (k) {
				case 0:
					w = _mm256_or_si256(_mm256_and_si256(l0,
					    low), _mm256_and_si256(
					    _mm256_slli_epi16(h, 4), top));
					break;
				case 1:
					w = _mm256_or_si256(_mm256_and_si256(l1,
					    low), _mm256_and_si256(
					    _mm256_slli_epi16(h, 2), top));
					break;
				case 2:
					w = _mm256_or_si256(_mm256_and_si256(
					    _mm256_srli_epi16(l0, 4), low),
					    _mm256_and_si256(h, top));
					break;
				default:
					w = _mm256_or_si256(_mm256_and_si256(
					    _mm256_srli_epi16(l1, 4), low),
					    _mm256_and_si256(
					    _mm256_srli_epi16(h, 2), top));
					break;
				}
				sp = scale_pair(scv, 8 * half + 2 * k);
				k_rows_add(isum, w, sp, YB(0)->qs + 128 * half +
				    32 * k, by, T);
			}
		}
		k_rows_scale(acc, isum, d, YB(0), by, T);
	}
#undef YB
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = simd_hsum256(acc[t]);
}

SIMD_AVX2 static void
vec_dot_q6_K_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	q6_K_dot(n, s, vx, vy, 0, 1);
}

SIMD_AVX2 static void
vec_dot_q6_K_q8_K_x4_avx2(int n, float *s, const void *vx, const void *vy,
    size_t by)
{
	q6_K_dot(n, s, vx, vy, by, XT);
}

/*
 * The 16 scales of a Q3_K block minus 32, as 16 signed bytes (the packing
 * quant_k3_scales describes, four scales per word operation).
 */
SIMD_AVX2 static inline __m128i
k3_scales(const uint8_t *p)
{
	uint32_t	w[3], v[4];

	memcpy(w, p, sizeof w);
	v[0] = (w[0] & 0x0f0f0f0f) | (w[2] & 0x03030303) << 4;
	v[1] = (w[1] & 0x0f0f0f0f) | ((w[2] >> 2) & 0x03030303) << 4;
	v[2] = ((w[0] >> 4) & 0x0f0f0f0f) | ((w[2] >> 4) & 0x03030303) << 4;
	v[3] = ((w[1] >> 4) & 0x0f0f0f0f) | ((w[2] >> 6) & 0x03030303) << 4;
	/* From registers: a vector load of the words just stored would
	 * stall on store forwarding. */
	return _mm_sub_epi8(_mm_setr_epi32((int)v[0], (int)v[1], (int)v[2],
	    (int)v[3]), _mm_set1_epi8(32));
}

/*
 * Q3_K (q3), or Q2_K.  Q3_K: per half of 128 weights, bit pair 2j of
 * qs[0..31] is the low two bits of quarter j, and bit 4*half + j of
 * hmask[l] its third bit; stored as q + 4 (the third bit set means no
 * -4), so 4 times each group's activation sum is taken off the integer
 * sum.  Q2_K: the same without the third bit; scales[g] has the group's
 * scale in its low nibble and its min in the high one, the mins' sum
 * kept apart in floats.  The integer sums are exact, so their grouping
 * does not move a bit.
 */
SIMD_AVX2 static inline ALWAYS_INLINE void
k23_dot(int n, float *s, const void *vx, int q3, const void *vy, size_t by,
    int T)
{
	const struct block_q2_K	*x2 = vx;
	const struct block_q3_K	*x3 = vx;
	const struct block_q8_K	*y;
	const __m256i		 three = _mm256_set1_epi8(3);
	const __m256i		 one = _mm256_set1_epi8(1);
	const __m128i		 low = _mm_set1_epi8(0x0f);
	const uint8_t		*qs;
	__m256			 acc[XT], accm[XT];
	__m256i			 isum[XT], scv, m16, q, w, sc, m;
	__m256i			 h = _mm256_setzero_si256();
	__m128i			 raw;
	float			 d, dmin = 0;
	int			 i, half, k, t, nb = n / QK_K;

#define YB(t) ((const struct block_q8_K *)((const char *)vy + (t) * by) + i)
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		acc[t] = accm[t] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		if (q3) {
			scv = _mm256_broadcastsi128_si256(k3_scales(
			    x3[i].scales));
			m16 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(scv));
			h = _mm256_loadu_si256((const __m256i *)x3[i].hmask);
			d = h2f(x3[i].d);
			qs = x3[i].qs;
		} else {
			raw = _mm_loadu_si128((const __m128i *)x2[i].scales);
			scv = _mm256_broadcastsi128_si256(_mm_and_si128(raw,
			    low));
			m16 = _mm256_cvtepu8_epi16(_mm_and_si128(
			    _mm_srli_epi16(raw, 4), low));
			d = h2f(x2[i].d);
			dmin = h2f(x2[i].dmin);
			qs = x2[i].qs;
		}
#pragma GCC unroll 4
		for (t = 0; t < T; t++) {
			y = YB(t);
			m = _mm256_madd_epi16(m16, _mm256_loadu_si256(
			    (const __m256i *)y->bsums));
			if (q3) {
				isum[t] = _mm256_sub_epi32(
				    _mm256_setzero_si256(),
				    _mm256_slli_epi32(m, 2));
			} else {
				accm[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin *
				    y->d), _mm256_cvtepi32_ps(m), accm[t]);
				isum[t] = _mm256_setzero_si256();
			}
		}
#pragma GCC unroll 2
		for (half = 0; half < 2; half++) {
			q = _mm256_loadu_si256((const __m256i *)(qs +
			    32 * half));
#pragma GCC unroll 4
			for (k = 0; k < 4; k++) {
				w = _mm256_and_si256(q, three);
				if (q3) {
					w = _mm256_or_si256(w,
					    _mm256_slli_epi16(_mm256_and_si256(
					    h, one), 2));
					h = _mm256_srli_epi16(h, 1);
				}
				q = _mm256_srli_epi16(q, 2);
				sc = scale_pair(scv, 8 * half + 2 * k);
				k_rows_add(isum, w, sc, YB(0)->qs + 128 * half +
				    32 * k, by, T);
			}
		}
		k_rows_scale(acc, isum, d, YB(0), by, T);
	}
#undef YB
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = q3 ? simd_hsum256(acc[t]) :
		    simd_hsum256(acc[t]) - simd_hsum256(accm[t]);
}

DOTS(q3_K_q8_K, k23_dot, 1)

DOTS(q2_K_q8_K, k23_dot, 0)

/* ------------------------------------------------------------------ */

struct avx2_kernel {
	enum ggml_type		 vec_dot_type;	/* what the dot expects */
	quant_vec_dot_fn	 vec_dot;
	quant_from_float_fn	 from_float;
};

/* A type's AVX2 dot, against activations of type vt. */
#define DOT(vt, dot) { .vec_dot_type = GGML_TYPE_##vt, .vec_dot = (dot) }
static const struct avx2_kernel avx2_kernels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32] = DOT(F32, vec_dot_f32_f32_avx2),
	[GGML_TYPE_F16] = DOT(F32, vec_dot_f16_f32_avx2),
	[GGML_TYPE_BF16] = DOT(F32, vec_dot_bf16_f32_avx2),
	[GGML_TYPE_Q4_0] = DOT(Q8_0, vec_dot_q4_0_q8_0_avx2),
	[GGML_TYPE_Q4_1] = DOT(Q8_1, vec_dot_q4_1_q8_1_avx2),
	[GGML_TYPE_Q5_0] = DOT(Q8_0, vec_dot_q5_0_q8_0_avx2),
	[GGML_TYPE_Q5_1] = DOT(Q8_1, vec_dot_q5_1_q8_1_avx2),
	[GGML_TYPE_Q8_0] = { .vec_dot_type = GGML_TYPE_Q8_0,
	    .vec_dot = vec_dot_q8_0_q8_0_avx2,
	    .from_float = quantize_row_q8_0_avx2 },
	[GGML_TYPE_Q8_1] = { .vec_dot_type = GGML_TYPE_Q8_1,
	    .from_float = quantize_row_q8_1_avx2 },
	[GGML_TYPE_Q2_K] = DOT(Q8_K, vec_dot_q2_K_q8_K_avx2),
	[GGML_TYPE_Q3_K] = DOT(Q8_K, vec_dot_q3_K_q8_K_avx2),
	[GGML_TYPE_Q4_K] = DOT(Q8_K, vec_dot_q4_K_q8_K_avx2),
	[GGML_TYPE_Q5_K] = DOT(Q8_K, vec_dot_q5_K_q8_K_avx2),
	[GGML_TYPE_Q6_K] = DOT(Q8_K, vec_dot_q6_K_q8_K_avx2),
	[GGML_TYPE_Q8_K] = { .vec_dot_type = GGML_TYPE_Q8_K,
	    .from_float = quantize_row_q8_K_avx2 },
};
#undef DOT

/* The 4-row dots, each paired with the single-row dot it reproduces. */
static const struct {
	quant_vec_dot_fn	 single;
	quant_vec_dot_x4_fn	 x4;
} avx2_x4[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q4_0] = { .single = vec_dot_q4_0_q8_0_avx2,
	    .x4 = vec_dot_q4_0_q8_0_x4_avx2 },
	[GGML_TYPE_Q5_0] = { .single = vec_dot_q5_0_q8_0_avx2,
	    .x4 = vec_dot_q5_0_q8_0_x4_avx2 },
	[GGML_TYPE_Q4_1] = { .single = vec_dot_q4_1_q8_1_avx2,
	    .x4 = vec_dot_q4_1_q8_1_x4_avx2 },
	[GGML_TYPE_Q5_1] = { .single = vec_dot_q5_1_q8_1_avx2,
	    .x4 = vec_dot_q5_1_q8_1_x4_avx2 },
	[GGML_TYPE_Q2_K] = { .single = vec_dot_q2_K_q8_K_avx2,
	    .x4 = vec_dot_q2_K_q8_K_x4_avx2 },
	[GGML_TYPE_Q3_K] = { .single = vec_dot_q3_K_q8_K_avx2,
	    .x4 = vec_dot_q3_K_q8_K_x4_avx2 },
	[GGML_TYPE_Q8_0] = { .single = vec_dot_q8_0_q8_0_avx2,
	    .x4 = vec_dot_q8_0_q8_0_x4_avx2 },
	[GGML_TYPE_Q4_K] = { .single = vec_dot_q4_K_q8_K_avx2,
	    .x4 = vec_dot_q4_K_q8_K_x4_avx2 },
	[GGML_TYPE_Q5_K] = { .single = vec_dot_q5_K_q8_K_avx2,
	    .x4 = vec_dot_q5_K_q8_K_x4_avx2 },
	[GGML_TYPE_Q6_K] = { .single = vec_dot_q6_K_q8_K_avx2,
	    .x4 = vec_dot_q6_K_q8_K_x4_avx2 },
};

void
quant_register_avx2(struct quant_traits *table)
{
	const struct avx2_kernel	*k;
	int				 t;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		k = &avx2_kernels[t];
		if (table[t].name == NULL)
			continue;
		/* A dot is only valid against the activations it was
		 * written for: leave the scalar one if the table differs. */
		if (k->vec_dot != NULL && table[t].vec_dot_type ==
		    k->vec_dot_type) {
			table[t].vec_dot = k->vec_dot;
			table[t].vec_dot_x4 = avx2_x4[t].single == k->vec_dot ?
			    avx2_x4[t].x4 : NULL;
		}
		if (k->from_float != NULL)
			table[t].from_float = k->from_float;
	}
}

#else /* not x86 */

void
quant_register_avx2(struct quant_traits *table)
{
	(void)table;
}

#endif
