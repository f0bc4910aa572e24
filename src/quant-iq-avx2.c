/*
 * quant-iq-avx2.c - AVX2 dots of the i-quants with their activations.
 *
 * A group of 32 weights is built in one register from its codebook
 * entries (four 8-byte or eight 4-byte grid entries), then multiplied
 * with the 32 activations by _mm256_maddubs_epi16.  The IQ2 and IQ3 grids
 * hold magnitudes (at most 62), so they are the unsigned operand and the
 * weights' signs are moved onto the activations with _mm256_sign_epi8;
 * IQ1 (8 g + delta, at most 9 in magnitude) and IQ4 (table values, at
 * most 127) are signed and use |w| times y with w's sign moved onto y.
 * Pair sums fit 16 bits (127 * 127 * 2 < 32768); the integer scale of
 * each 16 weights is applied with _mm256_madd_epi16, so a block's integer
 * sum is exact, as in quant-iq.c, and only the float accumulation of the
 * blocks differs from the scalar kernels.
 */
#include "config.h"

#include <string.h>

#include "quant-impl.h"
#include "quant-iq.h"
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/*
 * The multipliers +1 / -1 of 32 weights from 4 sign bytes (byte k for
 * weights 8k..8k+7, bit j for weight 8k+j): -1 where the bit is set.
 */
SIMD_AVX2 static inline __m256i
iq_signs(uint32_t w)
{
	const __m256i	spread = _mm256_setr_epi8(
	    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
	    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
	const __m256i	bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
	__m256i		v;

	v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)w), spread);
	v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
	return _mm256_or_si256(v, _mm256_set1_epi8(1));
}

/*
 * ksigns_iq2xs as +1 / -1 bytes: entry i multiplies the 8 weights whose
 * 7 sign bits are i (the eighth making the count of minus signs even).
 */
#define KE_PARITY(i) (((i) ^ (i) >> 1 ^ (i) >> 2 ^ (i) >> 3 ^ (i) >> 4 ^ \
	(i) >> 5 ^ (i) >> 6) & 1)
#define KE_BIT(i, j) ((((i) | KE_PARITY(i) << 7) >> (j) & 1) ? \
	0xffULL << 8 * (j) : 0x01ULL << 8 * (j))
#define KE(i) (KE_BIT(i, 0) | KE_BIT(i, 1) | KE_BIT(i, 2) | KE_BIT(i, 3) | \
	KE_BIT(i, 4) | KE_BIT(i, 5) | KE_BIT(i, 6) | KE_BIT(i, 7))
#define KE8(i) KE(i), KE(i + 1), KE(i + 2), KE(i + 3), KE(i + 4), \
	KE(i + 5), KE(i + 6), KE(i + 7)
#define KE32(i) KE8(i), KE8(i + 8), KE8(i + 16), KE8(i + 24)

static const uint64_t keven_signs[128] = {
	KE32(0), KE32(32), KE32(64), KE32(96),
};

/* The +1 / -1 multipliers of 32 weights from 4 x 7 sign bits. */
SIMD_AVX2 static inline __m256i
iq_ksigns(uint32_t bits)
{
	return _mm256_setr_epi64x((long long)keven_signs[bits & 127],
	    (long long)keven_signs[(bits >> 7) & 127],
	    (long long)keven_signs[(bits >> 14) & 127],
	    (long long)keven_signs[(bits >> 21) & 127]);
}

/*
 * One group of 32 weights: magnitudes m (unsigned bytes), multipliers s
 * (+1 / -1 bytes, or the signed weights themselves, whose sign is all
 * that _mm256_sign_epi8 uses), and the integer scales of its halves.
 */
struct iq_group {
	__m256i	m, s;
	int	lo, hi;
};

#define INLINE SIMD_AVX2 static inline __attribute__((always_inline))

INLINE __m256i
iq_grid8(const uint64_t *g, int i0, int i1, int i2, int i3)
{
	return _mm256_setr_epi64x((long long)g[i0], (long long)g[i1],
	    (long long)g[i2], (long long)g[i3]);
}

INLINE __m256i
iq_grid4(const uint32_t *g, const uint8_t *q, int hbits)
{
	return _mm256_setr_epi32((int)g[q[0] | (hbits << 8 & 256)],
	    (int)g[q[1] | (hbits << 7 & 256)], (int)g[q[2] | (hbits << 6 & 256)],
	    (int)g[q[3] | (hbits << 5 & 256)], (int)g[q[4] | (hbits << 4 & 256)],
	    (int)g[q[5] | (hbits << 3 & 256)], (int)g[q[6] | (hbits << 2 & 256)],
	    (int)g[q[7] | (hbits << 1 & 256)]);
}

INLINE void
iq2_xxs_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq2_xxs	*b = vb;
	uint32_t			 aux[2];

	memcpy(aux, &b->qs[4 * g], sizeof aux);
	o->m = iq_grid8(iq2xxs_grid, aux[0] & 0xff, (aux[0] >> 8) & 0xff,
	    (aux[0] >> 16) & 0xff, aux[0] >> 24);
	o->s = iq_ksigns(aux[1]);
	o->lo = o->hi = 2 * (int)(aux[1] >> 28) + 1;
}

INLINE void
iq2_xs_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq2_xs	*b = vb;
	const uint16_t			*q = b->qs + 4 * g;

	o->m = iq_grid8(iq2xs_grid, q[0] & 511, q[1] & 511, q[2] & 511,
	    q[3] & 511);
	o->s = _mm256_setr_epi64x((long long)keven_signs[q[0] >> 9],
	    (long long)keven_signs[q[1] >> 9],
	    (long long)keven_signs[q[2] >> 9],
	    (long long)keven_signs[q[3] >> 9]);
	o->lo = 2 * (b->scales[g] & 0xf) + 1;
	o->hi = 2 * (b->scales[g] >> 4) + 1;
}

INLINE void
iq2_s_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq2_s	*b = vb;
	const uint8_t			*q = b->qs + 4 * g;
	uint32_t			 sb;
	int				 h = b->qh[g];

	o->m = iq_grid8(iq2s_grid, q[0] | (h << 8 & 0x300),
	    q[1] | (h << 6 & 0x300), q[2] | (h << 4 & 0x300),
	    q[3] | (h << 2 & 0x300));
	memcpy(&sb, q + QK_K / 8, sizeof sb);
	o->s = iq_signs(sb);
	o->lo = 2 * (b->scales[g] & 0xf) + 1;
	o->hi = 2 * (b->scales[g] >> 4) + 1;
}

INLINE void
iq3_xxs_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq3_xxs	*b = vb;
	uint32_t			 aux;

	memcpy(&aux, b->qs + QK_K / 4 + 4 * g, sizeof aux);
	o->m = iq_grid4(iq3xxs_grid, b->qs + 8 * g, 0);
	o->s = iq_ksigns(aux);
	o->lo = o->hi = 2 * (int)(aux >> 28) + 1;
}

INLINE void
iq3_s_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq3_s	*b = vb;
	uint32_t			 sb;

	o->m = iq_grid4(iq3s_grid, b->qs + 8 * g, b->qh[g]);
	memcpy(&sb, b->signs + 4 * g, sizeof sb);
	o->s = iq_signs(sb);
	o->lo = o->hi = 1 + 2 * ((b->scales[g / 2] >> 4 * (g % 2)) & 0xf);
}

/* Signed weights w: |w| and w (whose sign moves onto the activations). */
INLINE void
iq_signed(__m256i w, struct iq_group *o)
{
	o->m = _mm256_abs_epi8(w);
	o->s = w;
}

/* 8 g + delta for 4 IQ1 grid entries; delta bytes +-1 per entry. */
INLINE __m256i
iq1_weights(__m256i grid, __m256i delta)
{
	grid = _mm256_add_epi8(grid, grid);
	grid = _mm256_add_epi8(grid, grid);
	grid = _mm256_add_epi8(grid, grid);
	return _mm256_add_epi8(grid, delta);
}

INLINE void
iq1_s_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq1_s	*b = vb;
	const uint8_t			*q = b->qs + 4 * g;
	int				 h = b->qh[g];

	iq_signed(iq1_weights(iq_grid8(iq1s_grid, q[0] | (h & 7) << 8,
	    q[1] | (h >> 3 & 7) << 8, q[2] | (h >> 6 & 7) << 8,
	    q[3] | (h >> 9 & 7) << 8),
	    _mm256_set1_epi8((h & 0x8000) ? -1 : 1)), o);
	o->lo = o->hi = 2 * ((h >> 12) & 7) + 1;
}

INLINE void
iq1_m_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq1_m	*b = vb;
	const uint8_t			*q = b->qs + 4 * g;
	const long long			 plus = 0x0101010101010101LL;
	uint16_t			 sc;
	int				 h0 = b->qh[2 * g], h1 = b->qh[2 * g + 1];

	iq_signed(iq1_weights(iq_grid8(iq1s_grid, q[0] | (h0 & 7) << 8,
	    q[1] | (h0 >> 4 & 7) << 8, q[2] | (h1 & 7) << 8,
	    q[3] | (h1 >> 4 & 7) << 8),
	    _mm256_setr_epi64x((h0 & 0x08) ? -1 : plus,
	    (h0 & 0x80) ? -1 : plus, (h1 & 0x08) ? -1 : plus,
	    (h1 & 0x80) ? -1 : plus)), o);
	memcpy(&sc, b->scales + 2 * (g / 2), sizeof sc);
	sc >>= 6 * (g % 2);
	o->lo = 2 * (sc & 7) + 1;
	o->hi = 2 * (sc >> 3 & 7) + 1;
}

/* 32 IQ4 table values from 16 bytes of nibbles: low ones first. */
INLINE __m256i
iq4_weights(const uint8_t *qs)
{
	const __m256i	table = _mm256_broadcastsi128_si256(
	    _mm_loadu_si128((const void *)kvalues_iq4nl));
	__m128i		b = _mm_loadu_si128((const void *)qs);
	__m256i		nib;

	nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b),
	    _mm256_set1_epi8(0xf));
	return _mm256_shuffle_epi8(table, nib);
}

INLINE void
iq4_xs_group(const void *vb, int g, struct iq_group *o)
{
	const struct block_iq4_xs	*b = vb;

	iq_signed(iq4_weights(b->qs + 16 * g), o);
	o->lo = o->hi = iq4xs_scale(b, g);
}

/* The block's F16 super-scale, times the power of two of its format. */
INLINE float
iq_d(const void *vb)
{
	ggml_half	h;

	memcpy(&h, vb, sizeof h);
	return _cvtsh_ss(h);
}

INLINE float
iq1_m_d(const void *vb)
{
	return _cvtsh_ss(iq1m_scale(vb));
}

/* Pair sums of m times y with signs s, scaled per 16: 8 int32. */
INLINE __m256i
iq_group_dot(const struct iq_group *gr, __m256i scale, const int8_t *y)
{
	__m256i	q = _mm256_sign_epi8(_mm256_loadu_si256((const void *)y),
	    gr->s);

	return _mm256_madd_epi16(_mm256_maddubs_epi16(gr->m, q), scale);
}

/*
 * s[r] = the dot of a row of n weights x (blocks of bsize bytes) with
 * rows r < nr of Q8_K activations, by bytes apart: each group of weights
 * is decoded once for all nr rows.  nr and the functions are constants
 * where this is inlined, so it compiles to one kernel per type and nr.
 */
INLINE void
iq_dot_rows(int n, float *s, const void *vx, size_t bsize, float factor,
    const void *vy, size_t by, int nr,
    void (*group)(const void *, int, struct iq_group *),
    float (*scale)(const void *))
{
	const uint8_t		*x = vx;
	const struct block_q8_K	*y;
	struct iq_group		 gr;
	__m256			 acc[4];
	__m256i			 sumi[4], sc;
	float			 d;
	int			 i, g, r;

	for (r = 0; r < nr; r++)
		acc[r] = _mm256_setzero_ps();
	for (i = 0; i < n / QK_K; i++) {
		for (r = 0; r < nr; r++)
			sumi[r] = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			group(x + i * bsize, g, &gr);
			sc = _mm256_setr_m128i(_mm_set1_epi16((short)gr.lo),
			    _mm_set1_epi16((short)gr.hi));
			for (r = 0; r < nr; r++) {
				y = (const void *)((const uint8_t *)vy + r * by);
				sumi[r] = _mm256_add_epi32(sumi[r],
				    iq_group_dot(&gr, sc, y[i].qs + 32 * g));
			}
		}
		d = scale(x + i * bsize);
		for (r = 0; r < nr; r++) {
			y = (const void *)((const uint8_t *)vy + r * by);
			acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * y[i].d),
			    _mm256_cvtepi32_ps(sumi[r]), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = factor * simd_hsum256(acc[r]);
}

/* The single- and 4-row dots of type t, factor its power of two. */
#define IQ_DOTS(t, factor, scale) \
SIMD_AVX2 static void \
vec_dot_##t##_q8_K_avx2(int n, float *s, const void *x, const void *y) \
{ \
	iq_dot_rows(n, s, x, sizeof(struct block_##t), factor, y, 0, 1, \
	    t##_group, scale); \
} \
SIMD_AVX2 static void \
vec_dot_##t##_q8_K_x4_avx2(int n, float *s, const void *x, const void *y, \
    size_t by) \
{ \
	iq_dot_rows(n, s, x, sizeof(struct block_##t), factor, y, by, 4, \
	    t##_group, scale); \
}

IQ_DOTS(iq2_xxs, 0.125f, iq_d)
IQ_DOTS(iq2_xs, 0.125f, iq_d)
IQ_DOTS(iq2_s, 0.125f, iq_d)
IQ_DOTS(iq3_xxs, 0.25f, iq_d)
IQ_DOTS(iq3_s, 1.0f, iq_d)
IQ_DOTS(iq1_s, 0.125f, iq_d)
IQ_DOTS(iq1_m, 0.125f, iq1_m_d)
IQ_DOTS(iq4_xs, 1.0f, iq_d)

SIMD_AVX2 static void
vec_dot_iq4_nl_q8_0_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_nl	*x = vx;
	const struct block_q8_0		*y = vy;
	const __m256i			 one = _mm256_set1_epi16(1);
	struct iq_group			 gr;
	__m256				 acc = _mm256_setzero_ps();
	int				 i;

	for (i = 0; i < n / QK4_NL; i++) {
		iq_signed(iq4_weights(x[i].qs), &gr);
		acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x[i].d) *
		    _cvtsh_ss(y[i].d)), _mm256_cvtepi32_ps(iq_group_dot(&gr,
		    one, y[i].qs)), acc);
	}
	*s = simd_hsum256(acc);
}

#define K(T, t) { .type = GGML_TYPE_##T, .vec_dot_type = GGML_TYPE_Q8_K,	\
	.vec_dot = vec_dot_##t##_q8_K_avx2, .x4 = vec_dot_##t##_q8_K_x4_avx2 }
static const struct {
	enum ggml_type		 type;
	enum ggml_type		 vec_dot_type;
	quant_vec_dot_fn	 vec_dot;
	quant_vec_dot_x4_fn	 x4;
} iq_avx2[] = {
	K(IQ2_XXS, iq2_xxs),
	K(IQ2_XS, iq2_xs),
	K(IQ2_S, iq2_s),
	K(IQ3_XXS, iq3_xxs),
	K(IQ3_S, iq3_s),
	K(IQ1_S, iq1_s),
	K(IQ1_M, iq1_m),
	{ .type = GGML_TYPE_IQ4_NL, .vec_dot_type = GGML_TYPE_Q8_0,
	    .vec_dot = vec_dot_iq4_nl_q8_0_avx2 },
	K(IQ4_XS, iq4_xs),
};
#undef K

void
quant_iq_register_avx2(struct quant_traits *table)
{
	size_t	i;

	for (i = 0; i < sizeof iq_avx2 / sizeof iq_avx2[0]; i++) {
		if (table[iq_avx2[i].type].vec_dot_type ==
		    iq_avx2[i].vec_dot_type) {
			table[iq_avx2[i].type].vec_dot = iq_avx2[i].vec_dot;
			table[iq_avx2[i].type].vec_dot_x4 = iq_avx2[i].x4;
		}
	}
}

#else /* not x86 */

void
quant_iq_register_avx2(struct quant_traits *table)
{
	(void)table;
}

#endif
