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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float
iq_hsum_ps(__m256 v)
{
	__m128	h = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}

/*
 * The multipliers +1 / -1 of 32 weights from 4 sign bytes (byte k for
 * weights 8k..8k+7, bit j for weight 8k+j): -1 where the bit is set.
 */
AVX2 static inline __m256i
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

/* 4 sign bytes from 4 x 7 bits through ksigns_iq2xs. */
static inline uint32_t
iq_ksigns4(uint32_t bits)
{
	return (uint32_t)ksigns_iq2xs[bits & 127] |
	    (uint32_t)ksigns_iq2xs[(bits >> 7) & 127] << 8 |
	    (uint32_t)ksigns_iq2xs[(bits >> 14) & 127] << 16 |
	    (uint32_t)ksigns_iq2xs[(bits >> 21) & 127] << 24;
}

/*
 * Pair sums of magnitudes m (unsigned) times y with signs s (from
 * iq_signs), scaled per 16 by lo (weights 0-15) and hi (16-31): 8 int32.
 */
AVX2 static inline __m256i
iq_dot_mag(__m256i m, __m256i s, const int8_t *y, int lo, int hi)
{
	__m256i	q = _mm256_sign_epi8(_mm256_loadu_si256((const void *)y), s);

	return _mm256_madd_epi16(_mm256_maddubs_epi16(m, q),
	    _mm256_setr_epi16(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi,
	    hi, hi, hi, hi));
}

/* The same for signed weights w. */
AVX2 static inline __m256i
iq_dot_signed(__m256i w, const int8_t *y, int lo, int hi)
{
	return iq_dot_mag(_mm256_abs_epi8(w), w, y, lo, hi);
}

AVX2 static inline __m256i
iq_grid8(const uint64_t *g, int i0, int i1, int i2, int i3)
{
	return _mm256_setr_epi64x((long long)g[i0], (long long)g[i1],
	    (long long)g[i2], (long long)g[i3]);
}

AVX2 static inline __m256i
iq_grid4(const uint32_t *g, const int *i)
{
	return _mm256_setr_epi32((int)g[i[0]], (int)g[i[1]], (int)g[i[2]],
	    (int)g[i[3]], (int)g[i[4]], (int)g[i[5]], (int)g[i[6]],
	    (int)g[i[7]]);
}

/* acc += d * sumi, as floats. */
AVX2 static inline __m256
iq_acc(__m256 acc, float d, __m256i sumi)
{
	return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi),
	    acc);
}

AVX2 static void
vec_dot_iq2_xxs_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq2_xxs	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, m;
	uint32_t			 aux[2];
	int				 i, g, ls;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			memcpy(aux, &x[i].qs[4 * g], sizeof aux);
			m = iq_grid8(iq2xxs_grid, aux[0] & 0xff,
			    (aux[0] >> 8) & 0xff, (aux[0] >> 16) & 0xff,
			    aux[0] >> 24);
			ls = 2 * (int)(aux[1] >> 28) + 1;
			sumi = _mm256_add_epi32(sumi, iq_dot_mag(m,
			    iq_signs(iq_ksigns4(aux[1])), y[i].qs + 32 * g,
			    ls, ls));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = 0.125f * iq_hsum_ps(acc);
}

AVX2 static void
vec_dot_iq2_xs_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq2_xs	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, m;
	const uint16_t			*q;
	uint32_t			 sb;
	int				 i, g, l;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			q = x[i].qs + 4 * g;
			m = iq_grid8(iq2xs_grid, q[0] & 511, q[1] & 511,
			    q[2] & 511, q[3] & 511);
			for (sb = 0, l = 0; l < 4; l++)
				sb |= (uint32_t)ksigns_iq2xs[q[l] >> 9] << 8 * l;
			sumi = _mm256_add_epi32(sumi, iq_dot_mag(m,
			    iq_signs(sb), y[i].qs + 32 * g,
			    2 * (x[i].scales[g] & 0xf) + 1,
			    2 * (x[i].scales[g] >> 4) + 1));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = 0.125f * iq_hsum_ps(acc);
}

AVX2 static void
vec_dot_iq2_s_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq2_s	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, m;
	const uint8_t			*q;
	uint32_t			 sb;
	int				 i, g, h;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			q = x[i].qs + 4 * g;
			h = x[i].qh[g];
			m = iq_grid8(iq2s_grid, q[0] | (h << 8 & 0x300),
			    q[1] | (h << 6 & 0x300), q[2] | (h << 4 & 0x300),
			    q[3] | (h << 2 & 0x300));
			memcpy(&sb, q + QK_K / 8, sizeof sb);
			sumi = _mm256_add_epi32(sumi, iq_dot_mag(m,
			    iq_signs(sb), y[i].qs + 32 * g,
			    2 * (x[i].scales[g] & 0xf) + 1,
			    2 * (x[i].scales[g] >> 4) + 1));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = 0.125f * iq_hsum_ps(acc);
}

AVX2 static void
vec_dot_iq3_xxs_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq3_xxs	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, m;
	uint32_t			 aux;
	int				 i, g, k, idx[8], ls;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			for (k = 0; k < 8; k++)
				idx[k] = x[i].qs[8 * g + k];
			m = iq_grid4(iq3xxs_grid, idx);
			memcpy(&aux, x[i].qs + QK_K / 4 + 4 * g, sizeof aux);
			ls = 2 * (int)(aux >> 28) + 1;
			sumi = _mm256_add_epi32(sumi, iq_dot_mag(m,
			    iq_signs(iq_ksigns4(aux)), y[i].qs + 32 * g, ls,
			    ls));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = 0.25f * iq_hsum_ps(acc);
}

AVX2 static void
vec_dot_iq3_s_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq3_s	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, m;
	uint32_t			 sb;
	int				 i, g, k, idx[8], ls;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			for (k = 0; k < 8; k++)
				idx[k] = x[i].qs[8 * g + k] |
				    ((x[i].qh[g] >> k) & 1) << 8;
			m = iq_grid4(iq3s_grid, idx);
			memcpy(&sb, x[i].signs + 4 * g, sizeof sb);
			ls = 1 + 2 * ((x[i].scales[g / 2] >> 4 * (g % 2)) &
			    0xf);
			sumi = _mm256_add_epi32(sumi, iq_dot_mag(m,
			    iq_signs(sb), y[i].qs + 32 * g, ls, ls));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = iq_hsum_ps(acc);
}

/* 8 g + delta for 4 IQ1 grid entries; delta bytes +-1 per entry. */
AVX2 static inline __m256i
iq1_weights(__m256i grid, __m256i delta)
{
	grid = _mm256_add_epi8(grid, grid);
	grid = _mm256_add_epi8(grid, grid);
	grid = _mm256_add_epi8(grid, grid);
	return _mm256_add_epi8(grid, delta);
}

AVX2 static void
vec_dot_iq1_s_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq1_s	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, w;
	const uint8_t			*q;
	int				 i, g, h, ls;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			q = x[i].qs + 4 * g;
			h = x[i].qh[g];
			w = iq1_weights(iq_grid8(iq1s_grid, q[0] | (h & 7) << 8,
			    q[1] | (h >> 3 & 7) << 8, q[2] | (h >> 6 & 7) << 8,
			    q[3] | (h >> 9 & 7) << 8),
			    _mm256_set1_epi8((h & 0x8000) ? -1 : 1));
			ls = 2 * ((h >> 12) & 7) + 1;
			sumi = _mm256_add_epi32(sumi, iq_dot_signed(w,
			    y[i].qs + 32 * g, ls, ls));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = 0.125f * iq_hsum_ps(acc);
}

AVX2 static void
vec_dot_iq1_m_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq1_m	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi, w;
	const uint8_t			*q;
	uint16_t			 sc[4];
	int				 i, g, h0, h1, sg;

	for (i = 0; i < n / QK_K; i++) {
		memcpy(sc, x[i].scales, sizeof sc);
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			q = x[i].qs + 4 * g;
			h0 = x[i].qh[2 * g];
			h1 = x[i].qh[2 * g + 1];
			w = iq1_weights(iq_grid8(iq1s_grid, q[0] | (h0 & 7) << 8,
			    q[1] | (h0 >> 4 & 7) << 8, q[2] | (h1 & 7) << 8,
			    q[3] | (h1 >> 4 & 7) << 8),
			    _mm256_setr_epi64x(
			    (h0 & 0x08) ? -1 : 0x0101010101010101LL,
			    (h0 & 0x80) ? -1 : 0x0101010101010101LL,
			    (h1 & 0x08) ? -1 : 0x0101010101010101LL,
			    (h1 & 0x80) ? -1 : 0x0101010101010101LL));
			sg = sc[g / 2] >> 6 * (g % 2);
			sumi = _mm256_add_epi32(sumi, iq_dot_signed(w,
			    y[i].qs + 32 * g, 2 * (sg & 7) + 1,
			    2 * (sg >> 3 & 7) + 1));
		}
		acc = iq_acc(acc, _cvtsh_ss(iq1m_scale(&x[i])) * y[i].d,
		    sumi);
	}
	*s = 0.125f * iq_hsum_ps(acc);
}

/* 32 IQ4 table values from 16 bytes of nibbles: low ones first. */
AVX2 static inline __m256i
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

AVX2 static void
vec_dot_iq4_xs_q8_K_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_xs	*x = vx;
	const struct block_q8_K		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	__m256i				 sumi;
	int				 i, g, ls;

	for (i = 0; i < n / QK_K; i++) {
		sumi = _mm256_setzero_si256();
		for (g = 0; g < 8; g++) {
			ls = iq4xs_scale(&x[i], g);
			sumi = _mm256_add_epi32(sumi, iq_dot_signed(
			    iq4_weights(x[i].qs + 16 * g), y[i].qs + 32 * g,
			    ls, ls));
		}
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * y[i].d, sumi);
	}
	*s = iq_hsum_ps(acc);
}

AVX2 static void
vec_dot_iq4_nl_q8_0_avx2(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_nl	*x = vx;
	const struct block_q8_0		*y = vy;
	__m256				 acc = _mm256_setzero_ps();
	int				 i;

	for (i = 0; i < n / QK4_NL; i++)
		acc = iq_acc(acc, _cvtsh_ss(x[i].d) * _cvtsh_ss(y[i].d),
		    iq_dot_signed(iq4_weights(x[i].qs), y[i].qs, 1, 1));
	*s = iq_hsum_ps(acc);
}

static const struct {
	enum ggml_type		 type;
	enum ggml_type		 vec_dot_type;
	quant_vec_dot_fn	 vec_dot;
} iq_avx2[] = {
	{ GGML_TYPE_IQ2_XXS, GGML_TYPE_Q8_K, vec_dot_iq2_xxs_q8_K_avx2 },
	{ GGML_TYPE_IQ2_XS, GGML_TYPE_Q8_K, vec_dot_iq2_xs_q8_K_avx2 },
	{ GGML_TYPE_IQ2_S, GGML_TYPE_Q8_K, vec_dot_iq2_s_q8_K_avx2 },
	{ GGML_TYPE_IQ3_XXS, GGML_TYPE_Q8_K, vec_dot_iq3_xxs_q8_K_avx2 },
	{ GGML_TYPE_IQ3_S, GGML_TYPE_Q8_K, vec_dot_iq3_s_q8_K_avx2 },
	{ GGML_TYPE_IQ1_S, GGML_TYPE_Q8_K, vec_dot_iq1_s_q8_K_avx2 },
	{ GGML_TYPE_IQ1_M, GGML_TYPE_Q8_K, vec_dot_iq1_m_q8_K_avx2 },
	{ GGML_TYPE_IQ4_NL, GGML_TYPE_Q8_0, vec_dot_iq4_nl_q8_0_avx2 },
	{ GGML_TYPE_IQ4_XS, GGML_TYPE_Q8_K, vec_dot_iq4_xs_q8_K_avx2 },
};

void
quant_iq_register_avx2(struct quant_traits *table)
{
	size_t	i;

	for (i = 0; i < sizeof iq_avx2 / sizeof iq_avx2[0]; i++) {
		if (table[iq_avx2[i].type].vec_dot_type ==
		    iq_avx2[i].vec_dot_type)
			table[iq_avx2[i].type].vec_dot = iq_avx2[i].vec_dot;
	}
}

#else /* not x86 */

void
quant_iq_register_avx2(struct quant_traits *table)
{
	(void)table;
}

#endif
