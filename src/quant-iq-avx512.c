/*
 * quant-iq-avx512.c - AVX-512 VNNI prompt tiles of the i-quants: their
 * weight packers, with quant-avx512.c's tiles and activation packers;
 * and the single-token dots of IQ2_XXS, IQ3_XXS and IQ4_XS, one weight
 * row or several at a time.
 *
 * The types whose scales cover 32 weights (IQ4_NL, IQ4_XS, IQ2_XXS,
 * IQ3_XXS) are decoded in vectors, two groups of 32 at a time, straight
 * into Q8_0's tile (8 steps, weights plus 128); the codebook types'
 * entries are gathered, their signs spread from the 7-bit fields to a
 * byte mask.  The others (scales per 16, or grids indexed across bytes)
 * are unpacked by quant-iq.c into one form and multiplied by Q6_K's
 * tile (4 steps, groups of 16).  Every weight is the exact integer the
 * scalar kernels use, so tiles and dots differ by float rounding only.
 */
#include "config.h"

#include <string.h>

#include "quant-impl.h"
#include "quant-iq.h"
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include "quant-avx512.h"

#define ALWAYS_INLINE __attribute__((always_inline))

#define GEMM_R QUANT_GEMM_ROWS

/*
 * The byte mask of 8 codebook entries' signs (bit 8k + j: weight j of
 * entry k is negative) from their 7-bit fields, entry k's in bits 7k ..
 * 7k + 6 of f: each field spread to a byte whose eighth bit makes the
 * count of minus signs even, which is what ksigns_iq2xs tabulates.
 */
SIMD_VNNI static inline uint64_t
iq_sign_mask(uint64_t f)
{
	uint64_t	v, p;

	v = _pdep_u64(f, 0x7f7f7f7f7f7f7f7fULL);
	p = v ^ (v >> 4);
	p ^= p >> 2;
	p ^= p >> 1;
	return v | (p & 0x0101010101010101ULL) << 7;
}

/* Two 28-bit sign words (4 fields each) as one mask of 8 entries. */
SIMD_VNNI static inline uint64_t
iq_sign_mask2(uint32_t a, uint32_t b)
{
	return iq_sign_mask((a & 0x0fffffff) | (uint64_t)(b & 0x0fffffff) <<
	    28);
}

/* ------------------------------------------------------------------ */
/* groups of 32 */

/*
 * A type in groups of 32: pair(row, g, ng) gives groups g and g + 1 (g
 * even) of a row of ng groups as 64 signed bytes, zero past ng; scale
 * (row, g) group g's float factor.
 */
struct g32_groups {
	__m512i	(*pair)(const void *row, int g, int ng);
	float	(*scale)(const void *row, int g);
};

/* IQ4_NL / IQ4_XS group g's 32 values: low nibbles' first, then high. */
SIMD_VNNI static inline __m256i
iq4_group(const uint8_t *qs)
{
	const __m128i	tbl = _mm_loadu_si128((const __m128i *)kvalues_iq4nl);
	const __m128i	low = _mm_set1_epi8(0x0f);
	__m128i		q;

	q = _mm_loadu_si128((const __m128i *)qs);
	return _mm256_setr_m128i(_mm_shuffle_epi8(tbl, _mm_and_si128(q, low)),
	    _mm_shuffle_epi8(tbl, _mm_and_si128(_mm_srli_epi16(q, 4), low)));
}

SIMD_VNNI static inline __m512i
iq4_nl_w(const void *row, int g, int ng)
{
	const struct block_iq4_nl *b = (const struct block_iq4_nl *)row + g;

	if (g >= ng)
		return _mm512_setzero_si512();
	return _mm512_inserti64x4(_mm512_castsi256_si512(iq4_group(b[0].qs)),
	    g + 1 < ng ? iq4_group(b[1].qs) : _mm256_setzero_si256(), 1);
}

SIMD_VNNI static inline float
iq4_nl_scale(const void *row, int g)
{
	return _cvtsh_ss(((const struct block_iq4_nl *)row)[g].d);
}

/*
 * IQ4_XS groups 2k and 2k + 1 (32 bytes of nibbles at qs): the 128-bit
 * lanes of (low nibbles, high nibbles) reordered to group order.
 */
SIMD_VNNI static inline __m512i
iq4_xs_w64(const uint8_t *qs)
{
	const __m512i	tbl = _mm512_broadcast_i32x4(_mm_loadu_si128(
	    (const __m128i *)kvalues_iq4nl));
	const __m256i	low = _mm256_set1_epi8(0x0f);
	__m256i		q = _mm256_loadu_si256((const __m256i *)qs);
	__m512i		nib;

	nib = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q,
	    low)), _mm256_and_si256(_mm256_srli_epi16(q, 4), low), 1);
	return _mm512_shuffle_epi8(tbl, _mm512_shuffle_i64x2(nib, nib,
	    _MM_SHUFFLE(3, 1, 2, 0)));
}

/* IQ4_XS: ng is a multiple of 8, g and g + 1 are in one block. */
SIMD_VNNI static inline __m512i
iq4_xs_w(const void *row, int g, int ng)
{
	const struct block_iq4_xs *b = (const struct block_iq4_xs *)row +
				    g / 8;

	if (g >= ng)
		return _mm512_setzero_si512();
	return iq4_xs_w64(b->qs + 16 * (g % 8));
}

SIMD_VNNI static inline float
iq4_xs_scale(const void *row, int g)
{
	const struct block_iq4_xs *b = (const struct block_iq4_xs *)row +
				    g / 8;

	return _cvtsh_ss(b->d) * (float)iq4xs_scale(b, g % 8);
}

/*
 * The codebook types in groups of 32 as pairs of groups: pair k (groups
 * 2k and 2k + 1) of a block as 64 magnitudes m, the mask neg of the
 * negative weights, and the two groups' integer scales ls (lanes 0-7,
 * 8-15: the dwords a dpbusd of the 64 bytes sums them in).
 */
struct iq_pair {
	__m512i		m, ls;
	__mmask64	neg;
};

/* The integer scales 2 s + 1 of two groups, s in bits 28-31 of a, b. */
SIMD_VNNI static inline __m512i
iq_pair_ls(uint32_t a, uint32_t b)
{
	return _mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32(2 *
	    (int)(a >> 28) + 1), _mm512_set1_epi32(2 * (int)(b >> 28) + 1));
}

/*
 * IQ2_XXS: the pair is 16 bytes of qs, (indices, signs and scale) twice.
 * Grid entries are loaded one by one: on Zen 4 a gather was slower, by
 * 25 % in generation.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
iq2_xxs_pair(const void *vb, int k, struct iq_pair *o)
{
	const struct block_iq2_xxs *b = vb;
	uint32_t	a[4];

	memcpy(a, b->qs + 8 * k, sizeof a);
	o->m = _mm512_setr_epi64((long long)iq2xxs_grid[a[0] & 0xff],
	    (long long)iq2xxs_grid[a[0] >> 8 & 0xff],
	    (long long)iq2xxs_grid[a[0] >> 16 & 0xff],
	    (long long)iq2xxs_grid[a[0] >> 24],
	    (long long)iq2xxs_grid[a[2] & 0xff],
	    (long long)iq2xxs_grid[a[2] >> 8 & 0xff],
	    (long long)iq2xxs_grid[a[2] >> 16 & 0xff],
	    (long long)iq2xxs_grid[a[2] >> 24]);
	o->neg = iq_sign_mask2(a[1], a[3]);
	o->ls = iq_pair_ls(a[1], a[3]);
}

/*
 * IQ3_XXS: the pair's 16 indices are contiguous; its sign and scale
 * words follow the indices.
 */
#define G3(j) ((int)iq3xxs_grid[q[j]])
SIMD_VNNI static inline ALWAYS_INLINE void
iq3_xxs_pair(const void *vb, int k, struct iq_pair *o)
{
	const struct block_iq3_xxs *b = vb;
	const uint8_t	*q = b->qs + 16 * k;
	uint32_t	 a[2];

	memcpy(a, b->qs + QK_K / 4 + 8 * k, sizeof a);
	o->m = _mm512_setr_epi32(G3(0), G3(1), G3(2), G3(3), G3(4), G3(5),
	    G3(6), G3(7), G3(8), G3(9), G3(10), G3(11), G3(12), G3(13), G3(14),
	    G3(15));
	o->neg = iq_sign_mask2(a[0], a[1]);
	o->ls = iq_pair_ls(a[0], a[1]);
}
#undef G3

/* The pair's weights as signed bytes, zero past a row of ng groups. */
#define PAIR_OF(t) \
SIMD_VNNI static inline __m512i \
t##_w(const void *row, int g, int ng) \
{ \
	struct iq_pair	o; \
\
	if (g >= ng) \
		return _mm512_setzero_si512(); \
	t##_pair((const struct block_##t *)row + g / 8, g % 8 / 2, &o); \
	return _mm512_mask_sub_epi8(o.m, o.neg, _mm512_setzero_si512(), o.m); \
}
PAIR_OF(iq2_xxs)
PAIR_OF(iq3_xxs)
#undef PAIR_OF

/* Group g's float factor: the dequantizers' (d * 2^-k) * (2 s + 1). */
SIMD_VNNI static inline float
iq2_xxs_scale(const void *row, int g)
{
	const struct block_iq2_xxs *b = (const struct block_iq2_xxs *)row +
				    g / 8;
	uint32_t	a;

	memcpy(&a, b->qs + 4 * (g % 8) + 2, sizeof a);
	return _cvtsh_ss(b->d) * 0.125f * (float)(2 * (int)(a >> 28) + 1);
}

SIMD_VNNI static inline float
iq3_xxs_scale(const void *row, int g)
{
	const struct block_iq3_xxs *b = (const struct block_iq3_xxs *)row +
				    g / 8;
	uint32_t	a;

	memcpy(&a, b->qs + QK_K / 4 + 4 * (g % 8), sizeof a);
	return _cvtsh_ss(b->d) * 0.25f * (float)(2 * (int)(a >> 28) + 1);
}

/* Rows 0 .. nrows - 1 of n weights in groups of 32, 16 to a panel. */
SIMD_VNNI static inline ALWAYS_INLINE void
pack_w_g32(const void *vw, size_t wrow, int nrows, void *vp, int n,
    const struct g32_groups *f)
{
	float		 dsc[16];
	__m512i		 z[8];
	const char	*row;
	char		*tile;
	int		 ng = n / 32, p, r, i, g;

	for (p = 0; p * 16 < ng; p++) {
		tile = (char *)vp + (size_t)p * GEMM_R * (512 + 128);
		for (r = 0; r < GEMM_R; r++) {
			if (r >= nrows) {
				gemm512_zero_row(tile, 8, r);
				continue;
			}
			row = (const char *)vw + r * wrow;
			for (i = 0; i < 8; i++)
				z[i] = f->pair(row, 16 * p + 2 * i, ng);
			gemm512_put_groups(tile, r, z);
			for (i = 0; i < 16; i++) {
				g = 16 * p + i;
				dsc[i] = g < ng ? f->scale(row, g) : 0.0f;
			}
			gemm512_put_dsc(tile, 8, r, dsc);
		}
	}
}

#define G32(t, act) \
SIMD_VNNI static void \
pack_w_##t(const void *vw, size_t wrow, int nrows, void *vp, int n) \
{ \
	static const struct g32_groups f = { t##_w, t##_scale }; \
\
	pack_w_g32(vw, wrow, nrows, vp, n, &f); \
} \
static const struct quant_gemm gemm_##t = GEMM512(512, act, pack_w_##t, \
    gemm512_tile_g32);
G32(iq4_nl, gemm512_act_q8_0)
G32(iq4_xs, gemm512_act_g32)
G32(iq2_xxs, gemm512_act_g32)
G32(iq3_xxs, gemm512_act_g32)
#undef G32

/* ------------------------------------------------------------------ */
/* groups of 16, through quant-iq.c's unpacked form */

/*
 * A block's unpacked form (d * ls per 16 weights, times q) is one panel
 * of 16 groups of 16, q plus 128, the scales d * ls as floats (the
 * dequantizers' product).
 */
SIMD_VNNI static inline ALWAYS_INLINE void
pack_w_g16(const void *vw, size_t wrow, int nrows, void *vp, int n,
    enum ggml_type t)
{
	const iq_unpack_fn	 unpack = quant_iq_unpacker(t);
	const size_t		 bsize = type_info(t)->size;
	const __m512i		 idx = _mm512_setr_epi32(0, 16, 32, 48, 64, 80,
	    96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
	const __m512i		 flip = _mm512_set1_epi32((int)0x80808080);
	struct iq_unpacked	 u;
	float			 dsc[16];
	char			*tile;
	int			 nb = n / QK_K, p, r, s, j;

	for (p = 0; p < nb; p++) {
		tile = (char *)vp + (size_t)p * GEMM_R * (256 + 128);
		for (r = 0; r < GEMM_R; r++) {
			if (r >= nrows) {
				gemm512_zero_row(tile, 4, r);
				continue;
			}
			unpack((const char *)vw + r * wrow + p * bsize, &u);
			/* step s, lane j: bytes 4s .. 4s + 3 of group j */
			for (s = 0; s < 4; s++)
				_mm512_store_si512(GEMM512_STEP(tile, s, r),
				    _mm512_xor_si512(flip,
				    _mm512_i32gather_epi32(idx, u.q + 4 * s,
				    1)));
			for (j = 0; j < 16; j++)
				dsc[j] = u.d * (float)u.ls[j];
			gemm512_put_dsc(tile, 4, r, dsc);
		}
	}
}

#define G16(t, T) \
SIMD_VNNI static void \
pack_w_##t(const void *vw, size_t wrow, int nrows, void *vp, int n) \
{ \
	pack_w_g16(vw, wrow, nrows, vp, n, GGML_TYPE_##T); \
} \
static const struct quant_gemm gemm_##t = GEMM512(256, gemm512_act_g16, \
    pack_w_##t, gemm512_tile_g16);
G16(iq2_xs, IQ2_XS)
G16(iq2_s, IQ2_S)
G16(iq3_s, IQ3_S)
G16(iq1_s, IQ1_S)
G16(iq1_m, IQ1_M)
#undef G16

/* ------------------------------------------------------------------ */
/* single-token dots */

/*
 * The dots of nr rows bx bytes apart, of n weights each (blocks of bsize
 * bytes, each starting with its F16 d; factor the format's power of two),
 * with Q8_K activations: per pair of groups one dpbusd of the magnitudes
 * with the activations carrying the weights' signs, the integer scales
 * applied per lane, so a block's integer sum is exact, as in quant-iq.c.
 * The activations are loaded once for the nr rows.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
iq_dot_pairs(int n, float *s, const void *vx, size_t bx, size_t bsize,
    float factor, const void *vy, int nr,
    void (*pair)(const void *, int, struct iq_pair *))
{
	const struct block_q8_K	*y = vy;
	const __m512i		 zero = _mm512_setzero_si512();
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr), *x;
	struct iq_pair		 o;
	__m512			 acc[QUANT_DOT_ROWS];
	__m512i			 sum, yv[4];
	ggml_half		 h;
	int			 i, k, r;

	for (r = 0; r < nr; r++)
		acc[r] = _mm512_setzero_ps();
	for (i = 0; i < n / QK_K; i++) {
		dot_rows_prefetch(pf, i, nr, bsize);
		for (k = 0; k < 4; k++)
			yv[k] = _mm512_loadu_si512(y[i].qs + 64 * k);
		for (r = 0; r < nr; r++) {
			x = (const char *)vx + r * bx + i * bsize;
			sum = zero;
			for (k = 0; k < 4; k++) {
				pair(x, k, &o);
				sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(
				    _mm512_dpbusd_epi32(zero, o.m,
				    _mm512_mask_sub_epi8(yv[k], o.neg, zero,
				    yv[k])), o.ls));
			}
			memcpy(&h, x, sizeof h);
			acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(h) *
			    y[i].d), _mm512_cvtepi32_ps(sum), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = factor * _mm512_reduce_add_ps(acc[r]);
}

/*
 * IQ4_XS against one token with 256-bit VNNI, nr rows bx bytes apart.
 * Table values plus 128 are unsigned bytes (1..241), so one dpbusd takes
 * them as they come from pshufb; 128 times each group's activation sum
 * (from bsums) is taken off again.  A 32-bit lane holds 8 products of
 * one group (at most 8 * 241 * 128), multiplied by its scale before the
 * block's sum: exact integers, as in quant-iq.c.  Per 64 weights the
 * low nibbles of groups 2k and 2k + 1 meet the first halves of their
 * activations, the high nibbles the second halves: lanes 0-3 belong to
 * group 2k, 4-7 to 2k + 1.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
iq4_xs_dot(int n, float *s, const void *vx, size_t bx, const void *vy,
    int nr)
{
	const struct block_q8_K	*y = vy;
	const __m256i		 tbl = _mm256_broadcastsi128_si256(
	    _mm_add_epi8(_mm_loadu_si128((const __m128i *)kvalues_iq4nl),
	    _mm_set1_epi8((char)0x80)));
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	const __m256i		 lsh = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24,
	    28);
	const __m256i		 hsh = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12,
	    14);
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	const struct block_iq4_xs *x;
	__m256			 acc[QUANT_DOT_ROWS];
	__m256i			 alo[4], ahi[4], gsum, a0, a1, sc, isum, q;
	uint32_t		 l32;
	int			 i, k, r;

	for (r = 0; r < nr; r++)
		acc[r] = _mm256_setzero_ps();
	for (i = 0; i < n / QK_K; i++) {
		dot_rows_prefetch(pf, i, nr, sizeof *x);
		for (k = 0; k < 4; k++) {
			a0 = _mm256_loadu_si256((const __m256i *)(y[i].qs +
			    64 * k));
			a1 = _mm256_loadu_si256((const __m256i *)(y[i].qs +
			    64 * k + 32));
			alo[k] = _mm256_permute2x128_si256(a0, a1, 0x20);
			ahi[k] = _mm256_permute2x128_si256(a0, a1, 0x31);
		}
		/* lane g: group g's activation sum */
		gsum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)
		    y[i].bsums), _mm256_set1_epi16(1));
		for (r = 0; r < nr; r++) {
			x = (const struct block_iq4_xs *)((const char *)vx +
			    r * bx) + i;
			memcpy(&l32, x->scales_l, sizeof l32);
			/* lane g: group g's scale, unbiased */
			sc = _mm256_sub_epi32(_mm256_or_si256(_mm256_and_si256(
			    _mm256_srlv_epi32(_mm256_set1_epi32((int)l32), lsh),
			    _mm256_set1_epi32(0xf)), _mm256_slli_epi32(
			    _mm256_and_si256(_mm256_srlv_epi32(
			    _mm256_set1_epi32(x->scales_h), hsh),
			    _mm256_set1_epi32(3)), 4)), _mm256_set1_epi32(32));
			isum = _mm256_slli_epi32(_mm256_mullo_epi32(gsum, sc),
			    7);
			isum = _mm256_sub_epi32(_mm256_setzero_si256(), isum);
#pragma GCC unroll 4
			for (k = 0; k < 4; k++) {
				q = _mm256_loadu_si256((const __m256i *)(x->qs +
				    32 * k));
				isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(
				    _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(
				    _mm256_setzero_si256(), _mm256_shuffle_epi8(
				    tbl, _mm256_and_si256(q, low)), alo[k]),
				    _mm256_shuffle_epi8(tbl, _mm256_and_si256(
				    _mm256_srli_epi16(q, 4), low)), ahi[k]),
				    _mm256_permutevar8x32_epi32(sc,
				    _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k,
				    2 * k + 1, 2 * k + 1, 2 * k + 1,
				    2 * k + 1))));
			}
			acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(x->d) *
			    y[i].d), _mm256_cvtepi32_ps(isum), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = simd_hsum256(acc[r]);
}

SIMD_VNNI static void
vec_dot_iq4_xs_avx512(int n, float *s, const void *x, const void *y)
{
	iq4_xs_dot(n, s, x, 0, y, 1);
}

SIMD_VNNI static void
vec_dot_iq4_xs_rows(int n, float *s, const void *x, const void *y,
    size_t bx)
{
	iq4_xs_dot(n, s, x, bx, y, QUANT_DOT_ROWS);
}

/*
 * IQ2_XXS with AVX-512 VBMI: the block's 32 grid entries decoded in
 * vectors instead of loaded one by one.  Every grid byte is one of three
 * magnitudes, so an entry is 8 two-bit codes, 16 bits (iq2xxs_code, made
 * from iq2xxs_grid when the kernels are chosen): the 256 codes fill 8
 * vectors of words, looked up by permutes over pairs of them and blends
 * on the index's top two bits; multishift spreads each code's fields to
 * bytes and pshufb turns them into magnitudes.  Signs and scales as in
 * iq2_xxs_pair.
 */
static uint16_t	iq2xxs_code[256] __attribute__((aligned(64)));
static const uint8_t iq2xxs_mag[3] = { 0x08, 0x19, 0x2b };

/* Fills iq2xxs_code from the grid; returns -1 if a byte is not a magnitude. */
static int
iq2xxs_code_init(void)
{
	int	e, j, c, b;

	for (e = 0; e < 256; e++) {
		iq2xxs_code[e] = 0;
		for (j = 0; j < 8; j++) {
			b = (int)(iq2xxs_grid[e] >> 8 * j & 0xff);
			for (c = 0; c < 3 && iq2xxs_mag[c] != b; c++)
				continue;
			if (c == 3)
				return -1;
			iq2xxs_code[e] |= (uint16_t)(c << 2 * j);
		}
	}
	return 0;
}

/* The magnitudes of a block's 32 entries, two groups to a vector. */
SIMD_VBMI static inline ALWAYS_INLINE void
iq2xxs_mags(const __m512i *tab, const uint8_t *qs, __m512i *m)
{
	/* word e: entry e's index, byte 8 (e / 4) + e % 4 of qs */
	const __m512i	pick = _mm512_set_epi64(0x003b003a00390038LL,
	    0x0033003200310030LL, 0x002b002a00290028LL, 0x0023002200210020LL,
	    0x001b001a00190018LL, 0x0013001200110010LL, 0x000b000a00090008LL,
	    0x0003000200010000LL);
	const __m512i	shifts = _mm512_set1_epi64(0x0e0c0a0806040200LL);
	const __m128i	mag = _mm_setr_epi8(0x08, 0x19, 0x2b, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0);
	__m512i		idx, c01, c23, c45, c67, code;
	__mmask32	b6, b7;

	/* the high byte of each word zeroed */
	idx = _mm512_maskz_permutexvar_epi8(0x5555555555555555ULL, pick,
	    _mm512_loadu_si512(qs));
	c01 = _mm512_permutex2var_epi16(tab[0], idx, tab[1]);
	c23 = _mm512_permutex2var_epi16(tab[2], idx, tab[3]);
	c45 = _mm512_permutex2var_epi16(tab[4], idx, tab[5]);
	c67 = _mm512_permutex2var_epi16(tab[6], idx, tab[7]);
	b6 = _mm512_test_epi16_mask(idx, _mm512_set1_epi16(0x40));
	b7 = _mm512_test_epi16_mask(idx, _mm512_set1_epi16(0x80));
	code = _mm512_mask_blend_epi16(b7, _mm512_mask_blend_epi16(b6, c01,
	    c23), _mm512_mask_blend_epi16(b6, c45, c67));
#define MAGS(k) _mm512_shuffle_epi8(_mm512_broadcast_i32x4(mag), \
	_mm512_and_si512(_mm512_multishift_epi64_epi8(shifts, \
	_mm512_cvtepu16_epi64(_mm512_extracti32x4_epi32(code, k))), \
	_mm512_set1_epi8(3)))
	m[0] = MAGS(0);
	m[1] = MAGS(1);
	m[2] = MAGS(2);
	m[3] = MAGS(3);
#undef MAGS
}

/* iq_dot_pairs for IQ2_XXS, the magnitudes from iq2xxs_mags. */
SIMD_VBMI static inline ALWAYS_INLINE void
iq2_xxs_dot(int n, float *s, const void *vx, size_t bx, const void *vy,
    int nr)
{
	const struct block_q8_K	*y = vy;
	const __m512i		 zero = _mm512_setzero_si512();
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	const struct block_iq2_xxs *x;
	__m512			 acc[QUANT_DOT_ROWS];
	__m512i			 tab[8], m[4], sum, yv[4];
	uint32_t		 a[4];
	int			 i, k, r;

	for (k = 0; k < 8; k++)
		tab[k] = _mm512_load_si512(iq2xxs_code + 32 * k);
	for (r = 0; r < nr; r++)
		acc[r] = _mm512_setzero_ps();
	for (i = 0; i < n / QK_K; i++) {
		dot_rows_prefetch(pf, i, nr, sizeof *x);
		for (k = 0; k < 4; k++)
			yv[k] = _mm512_loadu_si512(y[i].qs + 64 * k);
		for (r = 0; r < nr; r++) {
			x = (const struct block_iq2_xxs *)((const char *)vx +
			    r * bx) + i;
			iq2xxs_mags(tab, (const uint8_t *)x->qs, m);
			sum = zero;
			for (k = 0; k < 4; k++) {
				memcpy(a, x->qs + 8 * k, sizeof a);
				sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(
				    _mm512_dpbusd_epi32(zero, m[k],
				    _mm512_mask_sub_epi8(yv[k],
				    iq_sign_mask2(a[1], a[3]), zero, yv[k])),
				    iq_pair_ls(a[1], a[3])));
			}
			acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(x->d) *
			    y[i].d), _mm512_cvtepi32_ps(sum), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = 0.125f * _mm512_reduce_add_ps(acc[r]);
}

SIMD_VBMI static void
vec_dot_iq2_xxs_vbmi(int n, float *s, const void *x, const void *y)
{
	iq2_xxs_dot(n, s, x, 0, y, 1);
}

SIMD_VBMI static void
vec_dot_iq2_xxs_vbmi_rows(int n, float *s, const void *x, const void *y,
    size_t bx)
{
	iq2_xxs_dot(n, s, x, bx, y, QUANT_DOT_ROWS);
}

#define DOT(t, factor) \
SIMD_VNNI static void \
vec_dot_##t##_avx512(int n, float *s, const void *x, const void *y) \
{ \
	iq_dot_pairs(n, s, x, 0, sizeof(struct block_##t), factor, y, 1, \
	    t##_pair); \
} \
SIMD_VNNI static void \
vec_dot_##t##_rows(int n, float *s, const void *x, const void *y, \
    size_t bx) \
{ \
	iq_dot_pairs(n, s, x, bx, sizeof(struct block_##t), factor, y, \
	    QUANT_DOT_ROWS, t##_pair); \
}
DOT(iq2_xxs, 0.125f)
DOT(iq3_xxs, 0.25f)
#undef DOT

/* ------------------------------------------------------------------ */

/*
 * Each type's tiles and single-token dots, of one row and of several
 * (NULL: keep the AVX2 one, and no several-row dot).
 */
static const struct {
	enum ggml_type		 type, vec_dot_type;
	const struct quant_gemm	*gemm;
	quant_vec_dot_fn	 vec_dot;
	quant_vec_dot_rows_fn	 rows;
} iq_avx512[] = {
/* type U (t in the kernels' names): tiles only, or tiles and dots */
#define TILES(U, t, vt) { .type = GGML_TYPE_##U,			\
	.vec_dot_type = GGML_TYPE_##vt, .gemm = &gemm_##t }
#define DOTS(U, t) { .type = GGML_TYPE_##U, .vec_dot_type = GGML_TYPE_Q8_K, \
	.gemm = &gemm_##t, .vec_dot = vec_dot_##t##_avx512,		\
	.rows = vec_dot_##t##_rows }
	TILES(IQ4_NL, iq4_nl, Q8_0),
	DOTS(IQ4_XS, iq4_xs),
	DOTS(IQ2_XXS, iq2_xxs),
	DOTS(IQ3_XXS, iq3_xxs),
	TILES(IQ2_XS, iq2_xs, Q8_K),
	TILES(IQ2_S, iq2_s, Q8_K),
	TILES(IQ3_S, iq3_s, Q8_K),
	TILES(IQ1_S, iq1_s, Q8_K),
	TILES(IQ1_M, iq1_m, Q8_K),
#undef TILES
#undef DOTS
};

void
quant_iq_register_avx512(struct quant_traits *table)
{
	struct quant_traits	*tr;
	size_t			 i;

	if (!quant_cpu_has_avx512vnni())
		return;
	for (i = 0; i < sizeof iq_avx512 / sizeof iq_avx512[0]; i++) {
		tr = &table[iq_avx512[i].type];
		if (tr->vec_dot_type != iq_avx512[i].vec_dot_type)
			continue;
		tr->gemm = iq_avx512[i].gemm;
		if (iq_avx512[i].vec_dot != NULL) {
			/* the 4-token dots give the AVX2 dot's bits; the
			 * tiles take batches here */
			tr->vec_dot = iq_avx512[i].vec_dot;
			tr->vec_dot_x4 = NULL;
			tr->vec_dot_rows = iq_avx512[i].rows;
		}
	}
	tr = &table[GGML_TYPE_IQ2_XXS];
	if (__builtin_cpu_supports("avx512vbmi") &&
	    tr->vec_dot_type == GGML_TYPE_Q8_K && iq2xxs_code_init() == 0) {
		tr->vec_dot = vec_dot_iq2_xxs_vbmi;
		tr->vec_dot_rows = vec_dot_iq2_xxs_vbmi_rows;
	}
}

#else /* not x86 */

void
quant_iq_register_avx512(struct quant_traits *table)
{
	(void)table;
}

#endif
