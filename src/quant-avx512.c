/*
 * quant-avx512.c - AVX-512 VNNI dots for the types most models spend
 * their time in: Q8_0, Q4_K, Q6_K.  Everything else, and every CPU with
 * AVX-512 but without VNNI, keeps the AVX2 kernels (which such CPUs run).
 *
 * _mm512_dpbusd_epi32 sums four unsigned-by-signed byte products into
 * each 32-bit lane without the 16-bit saturation of maddubs.  The
 * K-quants' per-group scales are then applied in float: a lane's sum is
 * at most 4 * 63 * 128, so the lane sums and their products with the
 * 6- or 8-bit scales are exact in float, and the result differs from the
 * scalar kernel only by float rounding, as the AVX2 one does.
 *
 * This machine has no AVX-512: these kernels are compiled, never run,
 * here.  They are kept to the plainest use of the instructions for that
 * reason; test-simd checks them wherever a CPU has the ISA.
 */
#include "config.h"

#include <string.h>

#include "quant-impl.h"

typedef void (*quant_vec_dot_x4_fn)(int, float *, const void *,
    const void *, size_t);
quant_vec_dot_x4_fn quant_avx512_vec_dot_x4(enum ggml_type,
    quant_vec_dot_fn *);

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl," \
    "avx512dq,avx512vnni,avx2,fma,f16c")))
#define ALWAYS_INLINE __attribute__((always_inline))
#define XT 4		/* activation rows of the multi-row dots */

AVX512 static inline float
h2f(ggml_half h)
{
	return _cvtsh_ss(h);
}

AVX512 static inline __m256i
load256(const void *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

/* Two 32-byte halves as one vector: a in lanes 0-7, b in 8-15. */
AVX512 static inline __m512i
join(__m256i a, __m256i b)
{
	return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/* a in float lanes 0-7, b in 8-15. */
AVX512 static inline __m512
halves_ps(float a, float b)
{
	return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(a),
	    _mm512_set1_ps(b));
}

AVX512 static inline float
hsum256(__m256 v)
{
	__m128	h = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}

/* ------------------------------------------------------------------ */
/* Q8_0: two blocks per vector */

AVX512 static inline ALWAYS_INLINE void
q8_0_pair(__m256i w0, __m256i w1, float d0, float d1, const char *y0,
    size_t by, int two, int T, __m512 *acc)
{
	const struct block_q8_0	*y;
	__m512i			 w = join(w0, w1), aw, yv, sy, p;
	__mmask64		 neg;
	__m512			 dx = halves_ps(d0, d1);
	int			 t;

	/* |w| times y with w's sign moved onto y (y is never -128). */
	neg = _mm512_movepi8_mask(w);
	aw = _mm512_abs_epi8(w);
#pragma GCC unroll 4
	for (t = 0; t < T; t++) {
		y = (const struct block_q8_0 *)(y0 + t * by);
		yv = join(load256(y[0].qs), two ? load256(y[1].qs) :
		    _mm256_setzero_si256());
		sy = _mm512_mask_sub_epi8(yv, neg, _mm512_setzero_si512(), yv);
		p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, sy);
		acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dx, halves_ps(
		    h2f(y[0].d), two ? h2f(y[1].d) : 0.0f)),
		    _mm512_cvtepi32_ps(p), acc[t]);
	}
}

AVX512 static inline ALWAYS_INLINE void
q8_0_dot(int n, float *s, const void *vx, const void *vy, size_t by, int T)
{
	const struct block_q8_0	*x = vx;
	const char		*y = vy;
	__m512			 acc[XT];
	int			 i, t, nb = n / QK8_0;

#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		acc[t] = _mm512_setzero_ps();
	for (i = 0; i + 1 < nb; i += 2)
		q8_0_pair(load256(x[i].qs), load256(x[i + 1].qs),
		    h2f(x[i].d), h2f(x[i + 1].d), y + i * sizeof *x, by, 1,
		    T, acc);
	/* An odd last block: the upper half weighs zero. */
	if (i < nb)
		q8_0_pair(load256(x[i].qs), _mm256_setzero_si256(),
		    h2f(x[i].d), 0.0f, y + i * sizeof *x, by, 0, T, acc);
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = _mm512_reduce_add_ps(acc[t]);
}

AVX512 static void
vec_dot_q8_0_q8_0_avx512(int n, float *s, const void *vx, const void *vy)
{
	q8_0_dot(n, s, vx, vy, 0, 1);
}

AVX512 static void
vec_dot_q8_0_q8_0_x4_avx512(int n, float *s, const void *vx,
    const void *vy, size_t by)
{
	q8_0_dot(n, s, vx, vy, by, XT);
}

/* ------------------------------------------------------------------ */
/* Q4_K */

/*
 * Scales in bytes 0-7, mins in 8-15, of a Q4_K block (the packing
 * quant_k4_scale_min describes, four at a time), in both 128-bit halves.
 */
AVX512 static inline __m256i
k4_scales(const uint8_t *p)
{
	uint32_t	w[3], v0, v1, v2, v3;

	memcpy(w, p, sizeof w);
	v0 = w[0] & 0x3f3f3f3f;
	v1 = (w[2] & 0x0f0f0f0f) | ((w[0] >> 6) & 0x03030303) << 4;
	v2 = w[1] & 0x3f3f3f3f;
	v3 = ((w[2] >> 4) & 0x0f0f0f0f) | ((w[1] >> 6) & 0x03030303) << 4;
	return _mm256_broadcastsi128_si256(_mm_setr_epi32((int)v0, (int)v1,
	    (int)v2, (int)v3));
}

AVX512 static inline ALWAYS_INLINE void
q4_K_dot(int n, float *s, const void *vx, const void *vy, size_t by, int T)
{
	const struct block_q4_K	*x = vx;
	const struct block_q8_K	*y;
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	/* Each min serves two bsums (16 activations each). */
	const __m256i		 mins_idx = _mm256_setr_epi16(
	    (short)0x8008, (short)0x8008, (short)0x8009, (short)0x8009,
	    (short)0x800a, (short)0x800a, (short)0x800b, (short)0x800b,
	    (short)0x800c, (short)0x800c, (short)0x800d, (short)0x800d,
	    (short)0x800e, (short)0x800e, (short)0x800f, (short)0x800f);
	__m512			 acc[XT], sb[XT], fsc, sk;
	__m256			 accm[XT];
	__m256i			 scv, mins, q;
	__m512i			 w;
	float			 d, dmin;
	int			 i, k, t, nb = n / QK_K;

#define YB(t) ((const struct block_q8_K *)((const char *)vy + (t) * by) + i)
#pragma GCC unroll 4
	for (t = 0; t < T; t++) {
		acc[t] = _mm512_setzero_ps();
		accm[t] = _mm256_setzero_ps();
	}
	for (i = 0; i < nb; i++) {
		scv = k4_scales(x[i].scales);
		mins = _mm256_shuffle_epi8(scv, mins_idx);
		fsc = _mm512_castps256_ps512(_mm256_cvtepi32_ps(
		    _mm256_cvtepu8_epi32(_mm256_castsi256_si128(scv))));
		d = h2f(x[i].d);
		dmin = h2f(x[i].dmin);
#pragma GCC unroll 4
		for (t = 0; t < T; t++) {
			y = YB(t);
			accm[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * y->d),
			    _mm256_cvtepi32_ps(_mm256_madd_epi16(mins,
			    load256(y->bsums))), accm[t]);
			sb[t] = _mm512_setzero_ps();
		}
		/* 64 weights per step: group 2k (low nibbles) in lanes
		 * 0-7, group 2k+1 (high nibbles) in lanes 8-15. */
#pragma GCC unroll 4
		for (k = 0; k < 4; k++) {
			q = load256(x[i].qs + 32 * k);
			w = join(_mm256_and_si256(q, low),
			    _mm256_and_si256(_mm256_srli_epi16(q, 4), low));
			sk = _mm512_permutexvar_ps(_mm512_setr_epi32(
			    2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k, 2 * k,
			    2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
			    2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1), fsc);
#pragma GCC unroll 4
			for (t = 0; t < T; t++)
				sb[t] = _mm512_fmadd_ps(sk, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_setzero_si512(),
				    w, _mm512_loadu_si512(YB(t)->qs + 64 * k))),
				    sb[t]);
		}
#pragma GCC unroll 4
		for (t = 0; t < T; t++)
			acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * YB(t)->d),
			    sb[t], acc[t]);
	}
#undef YB
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = _mm512_reduce_add_ps(acc[t]) - hsum256(accm[t]);
}

AVX512 static void
vec_dot_q4_K_q8_K_avx512(int n, float *s, const void *vx, const void *vy)
{
	q4_K_dot(n, s, vx, vy, 0, 1);
}

AVX512 static void
vec_dot_q4_K_q8_K_x4_avx512(int n, float *s, const void *vx,
    const void *vy, size_t by)
{
	q4_K_dot(n, s, vx, vy, by, XT);
}

/* ------------------------------------------------------------------ */
/* Q6_K */

/*
 * Per half of 128 weights: quarters 0 and 1 (weights 0-63) in one
 * vector, 2 and 3 in the next; a 32-bit lane covers 4 weights, so lanes
 * 4g..4g+3 of a vector share scale 8*half + 4*pair + g.  Stored as q + 32:
 * 32 * scale * bsum is taken off first, in float (exact: at most
 * 32 * 128 * 2048).
 */
AVX512 static inline ALWAYS_INLINE void
q6_K_dot(int n, float *s, const void *vx, const void *vy, size_t by, int T)
{
	const struct block_q6_K	*x = vx;
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	const __m256i		 top = _mm256_set1_epi8(0x30);
	__m512			 acc[XT], sb[XT], fsc, sp;
	__m256i			 l0, l1, h, w0, w1, w2, w3;
	__m512i			 wa, wb;
	float			 d;
	int			 i, half, t, nb = n / QK_K, g0;

#define YB(t) ((const struct block_q8_K *)((const char *)vy + (t) * by) + i)
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		acc[t] = _mm512_setzero_ps();
	for (i = 0; i < nb; i++) {
		fsc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
		    _mm_loadu_si128((const __m128i *)x[i].scales)));
		d = h2f(x[i].d);
#pragma GCC unroll 4
		for (t = 0; t < T; t++)
			sb[t] = _mm512_mul_ps(fsc, _mm512_mul_ps(
			    _mm512_set1_ps(-32.0f), _mm512_cvtepi32_ps(
			    _mm512_cvtepi16_epi32(load256(YB(t)->bsums)))));
#pragma GCC unroll 2
		for (half = 0; half < 2; half++) {
			l0 = load256(x[i].ql + 64 * half);
			l1 = load256(x[i].ql + 64 * half + 32);
			h = load256(x[i].qh + 32 * half);
			w0 = _mm256_or_si256(_mm256_and_si256(l0, low),
			    _mm256_and_si256(_mm256_slli_epi16(h, 4), top));
			w1 = _mm256_or_si256(_mm256_and_si256(l1, low),
			    _mm256_and_si256(_mm256_slli_epi16(h, 2), top));
			w2 = _mm256_or_si256(_mm256_and_si256(
			    _mm256_srli_epi16(l0, 4), low),
			    _mm256_and_si256(h, top));
			w3 = _mm256_or_si256(_mm256_and_si256(
			    _mm256_srli_epi16(l1, 4), low),
			    _mm256_and_si256(_mm256_srli_epi16(h, 2), top));
			wa = join(w0, w1);
			wb = join(w2, w3);
			g0 = 8 * half;
			sp = _mm512_permutexvar_ps(_mm512_setr_epi32(g0, g0,
			    g0, g0, g0 + 1, g0 + 1, g0 + 1, g0 + 1, g0 + 2,
			    g0 + 2, g0 + 2, g0 + 2, g0 + 3, g0 + 3, g0 + 3,
			    g0 + 3), fsc);
#pragma GCC unroll 4
			for (t = 0; t < T; t++)
				sb[t] = _mm512_fmadd_ps(sp, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_setzero_si512(),
				    wa, _mm512_loadu_si512(YB(t)->qs +
				    128 * half))), sb[t]);
			g0 += 4;
			sp = _mm512_permutexvar_ps(_mm512_setr_epi32(g0, g0,
			    g0, g0, g0 + 1, g0 + 1, g0 + 1, g0 + 1, g0 + 2,
			    g0 + 2, g0 + 2, g0 + 2, g0 + 3, g0 + 3, g0 + 3,
			    g0 + 3), fsc);
#pragma GCC unroll 4
			for (t = 0; t < T; t++)
				sb[t] = _mm512_fmadd_ps(sp, _mm512_cvtepi32_ps(
				    _mm512_dpbusd_epi32(_mm512_setzero_si512(),
				    wb, _mm512_loadu_si512(YB(t)->qs +
				    128 * half + 64))), sb[t]);
		}
#pragma GCC unroll 4
		for (t = 0; t < T; t++)
			acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * YB(t)->d),
			    sb[t], acc[t]);
	}
#undef YB
#pragma GCC unroll 4
	for (t = 0; t < T; t++)
		s[t] = _mm512_reduce_add_ps(acc[t]);
}

AVX512 static void
vec_dot_q6_K_q8_K_avx512(int n, float *s, const void *vx, const void *vy)
{
	q6_K_dot(n, s, vx, vy, 0, 1);
}

AVX512 static void
vec_dot_q6_K_q8_K_x4_avx512(int n, float *s, const void *vx,
    const void *vy, size_t by)
{
	q6_K_dot(n, s, vx, vy, by, XT);
}

/* ------------------------------------------------------------------ */

static const struct {
	enum ggml_type		 vec_dot_type;
	quant_vec_dot_fn	 single;
	quant_vec_dot_x4_fn	 x4;
} avx512_kernels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q8_0] = { GGML_TYPE_Q8_0, vec_dot_q8_0_q8_0_avx512,
	    vec_dot_q8_0_q8_0_x4_avx512 },
	[GGML_TYPE_Q4_K] = { GGML_TYPE_Q8_K, vec_dot_q4_K_q8_K_avx512,
	    vec_dot_q4_K_q8_K_x4_avx512 },
	[GGML_TYPE_Q6_K] = { GGML_TYPE_Q8_K, vec_dot_q6_K_q8_K_avx512,
	    vec_dot_q6_K_q8_K_x4_avx512 },
};

/*
 * As quant_avx2_vec_dot_x4 (quant-avx2.c), for these kernels: the 4-row
 * dot of t and, in *single, the single-row dot it reproduces bit for bit.
 */
quant_vec_dot_x4_fn
quant_avx512_vec_dot_x4(enum ggml_type t, quant_vec_dot_fn *single)
{
	if ((unsigned)t >= GGML_TYPE_COUNT || avx512_kernels[t].x4 == NULL)
		return NULL;
	*single = avx512_kernels[t].single;
	return avx512_kernels[t].x4;
}

void
quant_register_avx512(struct quant_traits *table)
{
	int	t;

	/* Every AVX-512 CPU runs AVX2: start from those kernels. */
	quant_register_avx2(table);
	if (!quant_cpu_has_avx512vnni())
		return;
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (avx512_kernels[t].single == NULL || table[t].name == NULL)
			continue;
		if (table[t].vec_dot_type == avx512_kernels[t].vec_dot_type)
			table[t].vec_dot = avx512_kernels[t].single;
	}
}

#else /* not x86 */

quant_vec_dot_x4_fn
quant_avx512_vec_dot_x4(enum ggml_type t, quant_vec_dot_fn *single)
{
	(void)t;
	(void)single;
	return NULL;
}

void
quant_register_avx512(struct quant_traits *table)
{
	(void)table;
}

#endif
