/*
 * quant-avx512.c - AVX-512 VNNI kernels: the prompt tiles (struct
 * quant_gemm) of Q8_0, Q4_K and Q6_K and the parts all tiles share
 * (quant-avx512.h; the i-quants' packers are in quant-iq-avx512.c), and
 * VNNI dots for single tokens, of one weight row or of QUANT_DOT_ROWS
 * rows at once, in two widths: 256-bit Q4_K, Q5_K and Q6_K dots (the
 * avx512 path; the other K-quants' and Q8_0's stay the AVX2 ones), and
 * 512-bit Q8_0, Q4_K, Q5_K and Q6_K dots (avx512-wide).  On Zen 4, where
 * AVX-512 is split into 256-bit halves, 512-bit dots were slower (by
 * about a fifth); on Zen 5, which runs them at full width, the 256-bit
 * ones were the limit of one core (see the 512-bit section).
 * VNNI wins by far on tiles, where a weight vector meets several tokens
 * and the scales are applied once per 16 groups.
 * Dots of four rows at once against one token load the token's blocks
 * once for the four; they read four interleaved streams, which defeat the
 * hardware prefetcher, so they prefetch themselves.  On Q4_K_M
 * generation that came out even with one row at a time; the IQ4_XS dot
 * (quant-iq-avx512.c) gains more.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "quant-impl.h"
#include "quant-avx512.h"
#include "simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define ALWAYS_INLINE __attribute__((always_inline))

/* ------------------------------------------------------------------ */
/* single-token dots */

/* shuffle_epi8 word indexes: byte g zero-extended; word g. */
#define SC(g) ((short)(0x8000 | (g)))
#define WD(g) ((short)((2 * (g) + 1) << 8 | 2 * (g)))

/*
 * The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a Q4_K block from
 * its 12 packed bytes (the layout quant_k4_unpack describes), without
 * leaving vector registers: the three words are placed as (w0, w2, w1,
 * w2) and (w0, w0, w1, w1), shifted and merged.  The load reads 4 bytes
 * past the scales, which are the block's qs.  k4_scales_vnni has them in
 * both 128-bit halves.
 */
SIMD_VNNI static inline __m128i
k4_scales128(const uint8_t *p)
{
	__m128i	w = _mm_loadu_si128((const __m128i *)p);
	__m128i	lo = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(w, 0x98),
		    _mm_setr_epi32(0, 0, 0, 4)), _mm_setr_epi32(0x3f3f3f3f,
		    0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
	__m128i	hi = _mm_srli_epi32(_mm_shuffle_epi32(w, 0x50), 2);

	/* lo | (hi & m): the top 2 bits of scales and mins 4-7 */
	return _mm_ternarylogic_epi32(lo, hi, _mm_setr_epi32(0, 0x30303030, 0,
	    0x30303030), 0xf8);
}

SIMD_VNNI static inline __m256i
k4_scales_vnni(const uint8_t *p)
{
	return _mm256_broadcastsi128_si256(k4_scales128(p));
}

/*
 * Q4_K (and Q5_K: five, the fifth bits in qh) against one token with
 * 256-bit VNNI: per 64 weights, dpbusd gives the low-nibble group's
 * 4-weight sums in one vector and the high one's in another (each at most
 * 4 * 31 * 128, so int16 holds it); packs_epi32 joins the two and one
 * dpwssd applies both groups' scales and accumulates, where the AVX2 dot
 * needs two maddubs, two madd, two adds and two scale shuffles.  The two
 * block types share d, dmin and scales; qs is at qoff.  One block at x
 * against the token's (a: its quants as 8 vectors, bs its bsums, yd its
 * scale): the scaled sum is added to *acc, the mins' part to *accm.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
k45_block(const char *x, const __m256i *a, __m256i bs, float yd,
    size_t qoff, int five, __m256 *acc, __m256 *accm)
{
	const __m256i	low = _mm256_set1_epi8(0x0f);
	const __m256i	bit4 = _mm256_set1_epi8(0x10);
	const __m256i	mins_idx = _mm256_setr_epi16(
	    (short)0x8008, (short)0x8008, (short)0x8009, (short)0x8009,
	    (short)0x800a, (short)0x800a, (short)0x800b, (short)0x800b,
	    (short)0x800c, (short)0x800c, (short)0x800d, (short)0x800d,
	    (short)0x800e, (short)0x800e, (short)0x800f, (short)0x800f);
	__m256i		scv, isum, q, p, hv, h0, h1;
	__m128		dd;
	uint32_t	w32;
	int		k;

	scv = k4_scales_vnni(((const struct block_q4_K *)x)->scales);
	/* d and dmin, converted and scaled together */
	memcpy(&w32, x + offsetof(struct block_q4_K, d), sizeof w32);
	dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)w32)),
	    _mm_set1_ps(yd));
	*accm = _mm256_fmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dd)),
	    _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_shuffle_epi8(scv,
	    mins_idx), bs)), *accm);
	h0 = h1 = hv = _mm256_setzero_si256();
	if (five)
		hv = _mm256_loadu_si256((const __m256i *)(x +
		    offsetof(struct block_q5_K, qh)));
	isum = _mm256_setzero_si256();
#pragma GCC unroll 4
	for (k = 0; k < 4; k++) {
		q = _mm256_loadu_si256((const __m256i *)(x + qoff + 32 * k));
		/* Group g's fifth bits are bit g of qh's bytes: moved to
		 * bit 4 (within each byte, whichever way the 16-bit shift
		 * goes). */
		if (five) {
			h0 = 2 * k <= 4 ? _mm256_slli_epi16(hv, 4 - 2 * k) :
			    _mm256_srli_epi16(hv, 2 * k - 4);
			h1 = 2 * k + 1 <= 4 ? _mm256_slli_epi16(hv, 3 - 2 * k) :
			    _mm256_srli_epi16(hv, 2 * k - 3);
		}
		p = _mm256_packs_epi32(_mm256_dpbusd_epi32(
		    _mm256_setzero_si256(), _mm256_ternarylogic_epi32(q, low,
		    _mm256_and_si256(h0, bit4), 0xea), a[2 * k]),
		    _mm256_dpbusd_epi32(_mm256_setzero_si256(),
		    _mm256_ternarylogic_epi32(_mm256_srli_epi16(q, 4), low,
		    _mm256_and_si256(h1, bit4), 0xea), a[2 * k + 1]));
		/* Words 0-3 of each half are group 2k's, 4-7 group
		 * 2k + 1's. */
		isum = _mm256_dpwssd_epi32(isum, p, _mm256_shuffle_epi8(scv,
		    _mm256_setr_epi16(SC(2 * k), SC(2 * k), SC(2 * k),
		    SC(2 * k), SC(2 * k + 1), SC(2 * k + 1), SC(2 * k + 1),
		    SC(2 * k + 1), SC(2 * k), SC(2 * k), SC(2 * k), SC(2 * k),
		    SC(2 * k + 1), SC(2 * k + 1), SC(2 * k + 1),
		    SC(2 * k + 1))));
	}
	*acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd),
	    _mm256_cvtepi32_ps(isum), *acc);
}

/* nr rows bx bytes apart (k45_block each, bsize bytes a block). */
SIMD_VNNI static inline ALWAYS_INLINE void
vec_dot_k45_vnni(int n, float *s, const void *vx, size_t bx,
    const void *vy, size_t bsize, size_t qoff, int five, int nr)
{
	const struct block_q8_K	*y = vy;
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	__m256			 acc[QUANT_DOT_ROWS], accm[QUANT_DOT_ROWS];
	__m256i			 a[8], bs;
	int			 i, k, r, nb = n / QK_K;

	for (r = 0; r < nr; r++)
		acc[r] = accm[r] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		dot_rows_prefetch(pf, i, nr, bsize);
		bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
		for (k = 0; k < 8; k++)
			a[k] = _mm256_loadu_si256((const __m256i *)(y[i].qs +
			    32 * k));
		for (r = 0; r < nr; r++)
			k45_block((const char *)vx + r * bx + i * bsize, a, bs,
			    y[i].d, qoff, five, &acc[r], &accm[r]);
	}
	for (r = 0; r < nr; r++)
		s[r] = simd_hsum256(acc[r]) - simd_hsum256(accm[r]);
}

/*
 * The 6-bit weights (stored plus 32, so unsigned) of quarter k of a
 * Q6_K half: the low nibbles of l0 (k = 0) or l1 (1) or their high ones
 * (2, 3), with bit pair k of h on top.
 */
SIMD_VNNI static inline ALWAYS_INLINE __m256i
q6_K_quarter(__m256i l0, __m256i l1, __m256i h, int k)
{
	const __m256i	low = _mm256_set1_epi8(0x0f);
	const __m256i	top = _mm256_set1_epi8(0x30);
	__m256i		l = (k & 1) ? l1 : l0, hk;

	if (k >= 2)
		l = _mm256_srli_epi16(l, 4);
	hk = k == 0 ? _mm256_slli_epi16(h, 4) : k == 1 ?
	    _mm256_slli_epi16(h, 2) : k == 2 ? h : _mm256_srli_epi16(h, 2);
	/* (l & low) | (hk & top) */
	return _mm256_ternarylogic_epi32(l, low, _mm256_and_si256(hk, top),
	    0xea);
}

/*
 * Q6_K against one token with 256-bit VNNI: a quarter's dpbusd gives two
 * 16-weight groups' 4-weight sums (at most 4 * 63 * 128, an int16);
 * packs_epi32 joins two quarters, one dpwssd applies their four groups'
 * scales.  32 times each group's activation sum (the storage offset) is
 * taken off first.  nr rows bx bytes apart.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
vec_dot_q6_K_rows(int n, float *s, const void *vx, size_t bx,
    const void *vy, int nr)
{
	const struct block_q8_K	*y = vy;
	/* pair j of a half: groups 4j, 4j + 2 in the low 128 bits, 4j + 1,
	 * 4j + 3 in the high ones (packs_epi32 of quarters 2j, 2j + 1) */
	const __m256i		 pidx[2] = {
		_mm256_setr_epi16(WD(0), WD(0), WD(0), WD(0), WD(2), WD(2),
		    WD(2), WD(2), WD(1), WD(1), WD(1), WD(1), WD(3), WD(3),
		    WD(3), WD(3)),
		_mm256_setr_epi16(WD(4), WD(4), WD(4), WD(4), WD(6), WD(6),
		    WD(6), WD(6), WD(5), WD(5), WD(5), WD(5), WD(7), WD(7),
		    WD(7), WD(7)),
	};
	const struct block_q6_K	*x;
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	__m256			 acc[QUANT_DOT_ROWS];
	__m256i			 a[8], bs, isum, l0, l1, h, p, sc;
	int64_t			 s8;
	int			 i, half, j, r, nb = n / QK_K;

	for (r = 0; r < nr; r++)
		acc[r] = _mm256_setzero_ps();
	for (i = 0; i < nb; i++) {
		dot_rows_prefetch(pf, i, nr, sizeof *x);
		bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
		for (j = 0; j < 8; j++)
			a[j] = _mm256_loadu_si256((const __m256i *)(y[i].qs +
			    32 * j));
		for (r = 0; r < nr; r++) {
			x = (const struct block_q6_K *)((const char *)vx +
			    r * bx) + i;
			isum = _mm256_sub_epi32(_mm256_setzero_si256(),
			    _mm256_slli_epi32(_mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)x->scales)), bs), 5));
#pragma GCC unroll 2
			for (half = 0; half < 2; half++) {
				l0 = _mm256_loadu_si256((const __m256i *)
				    (x->ql + 64 * half));
				l1 = _mm256_loadu_si256((const __m256i *)
				    (x->ql + 64 * half + 32));
				h = _mm256_loadu_si256((const __m256i *)
				    (x->qh + 32 * half));
				/* the half's 8 scales as words, in both
				 * halves */
				memcpy(&s8, x->scales + 8 * half, sizeof s8);
				sc = _mm256_cvtepi8_epi16(_mm_set1_epi64x(s8));
#pragma GCC unroll 2
				for (j = 0; j < 2; j++) {
					p = _mm256_packs_epi32(
					    _mm256_dpbusd_epi32(
					    _mm256_setzero_si256(),
					    q6_K_quarter(l0, l1, h, 2 * j),
					    a[4 * half + 2 * j]),
					    _mm256_dpbusd_epi32(
					    _mm256_setzero_si256(),
					    q6_K_quarter(l0, l1, h, 2 * j + 1),
					    a[4 * half + 2 * j + 1]));
					isum = _mm256_dpwssd_epi32(isum, p,
					    _mm256_shuffle_epi8(sc, pidx[j]));
				}
			}
			acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(
			    x->d) * y[i].d), _mm256_cvtepi32_ps(isum), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = simd_hsum256(acc[r]);
}

/*
 * The dots of one row (name) and of QUANT_DOT_ROWS rows (name_rows) from
 * a driver taking (n, s, x, bx, y, nr).
 */
#define ROW_DOTS(name, driver) \
SIMD_VNNI static void \
name(int n, float *s, const void *vx, const void *vy) \
{ \
	driver(n, s, vx, 0, vy, 1); \
} \
SIMD_VNNI static void \
name##_rows(int n, float *s, const void *vx, const void *vy, size_t bx) \
{ \
	driver(n, s, vx, bx, vy, QUANT_DOT_ROWS); \
}
ROW_DOTS(vec_dot_q6_K_q8_K_vnni, vec_dot_q6_K_rows)


/* ------------------------------------------------------------------ */
/* single-token dots in 512-bit vectors */

/*
 * Where a core executes 512-bit vectors at full width (Zen 5, Intel's
 * server cores), these dots issue about 0.6 times the instructions of the
 * 256-bit ones above for the same block, which matters because a
 * single-token dot is no longer purely memory-bound on such a core: the
 * 256-bit Q4_K dot ran no faster from L2 than from memory (on Zen 5, 21
 * GB/s on one core either way).
 * A 512-bit vector holds two 32-weight groups side by side, so the
 * activations are regrouped once per block for all rows: [g0 | g2],
 * [g1 | g3], [g4 | g6], [g5 | g7] meet the low and high nibbles of
 * Q4_K's qs bytes 0-63 and 64-127.
 */

/* Words 0-3 of 128-bit lane l: byte lo of s (zero-extended), words 4-7
 * byte hi; lanes 0 and 1 take a, b, lanes 2 and 3 c, d. */
#define SC4(a, b, c, d) _mm512_set_epi16( \
	SC(d), SC(d), SC(d), SC(d), SC(c), SC(c), SC(c), SC(c), \
	SC(d), SC(d), SC(d), SC(d), SC(c), SC(c), SC(c), SC(c), \
	SC(b), SC(b), SC(b), SC(b), SC(a), SC(a), SC(a), SC(a), \
	SC(b), SC(b), SC(b), SC(b), SC(a), SC(a), SC(a), SC(a))

/* A Q8_K block's quants regrouped for the 512-bit K-quant dots (a), its
 * bsums summed in pairs, one word per 32 activations (bs), and its scale
 * (yd). */
struct zmm_act {
	__m512i	a[4];
	__m128i	bs;
	__m128	yd;
};

SIMD_VNNI static inline ALWAYS_INLINE void
zmm_act_k4(const struct block_q8_K *y, struct zmm_act *z)
{
	__m512i	x0 = _mm512_loadu_si512(y->qs), x1 = _mm512_loadu_si512(
	    y->qs + 64), x2 = _mm512_loadu_si512(y->qs + 128),
		x3 = _mm512_loadu_si512(y->qs + 192);

	z->a[0] = _mm512_shuffle_i64x2(x0, x1, 0x44);
	z->a[1] = _mm512_shuffle_i64x2(x0, x1, 0xee);
	z->a[2] = _mm512_shuffle_i64x2(x2, x3, 0x44);
	z->a[3] = _mm512_shuffle_i64x2(x2, x3, 0xee);
	z->bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)y->bsums),
	    _mm_loadu_si128((const __m128i *)(y->bsums + 8)));
	z->yd = _mm_set1_ps(y->d);
}

/*
 * One Q4_K or Q5_K block at x against z: the scaled sum added to *acc,
 * the mins' part to *accm.  dpbusd's 4-weight sums (at most 4 * 31 * 128)
 * are packed to words and one dpwssd applies four groups' scales.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
k45_block_zmm(const char *x, const struct zmm_act *z, size_t qoff,
    int five, __m512 *acc, __m128 *accm)
{
	const __m512i	low = _mm512_set1_epi8(0x0f);
	const __m512i	bit4 = _mm512_set1_epi8(0x10);
	/* fifth bit of group g to bit 4: rotate each dword left by 4 - g
	 * (the half with g + 2 by 2 less) */
	const __m512i	rot[2][2] = {
		{ _mm512_setr_epi32(4, 4, 4, 4, 4, 4, 4, 4,
		    2, 2, 2, 2, 2, 2, 2, 2),
		  _mm512_setr_epi32(3, 3, 3, 3, 3, 3, 3, 3,
		    1, 1, 1, 1, 1, 1, 1, 1) },
		{ _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0,
		    30, 30, 30, 30, 30, 30, 30, 30),
		  _mm512_setr_epi32(31, 31, 31, 31, 31, 31, 31, 31,
		    29, 29, 29, 29, 29, 29, 29, 29) },
	};
	const __m512i	sidx[2] = { SC4(0, 1, 2, 3), SC4(4, 5, 6, 7) };
	__m512i		scv, isum = _mm512_setzero_si512(), q, hv, lo, hi;
	__m128i		s128;
	__m128		dd;
	uint32_t	w32;
	int		k;

	s128 = k4_scales128(((const struct block_q4_K *)x)->scales);
	scv = _mm512_broadcast_i32x4(s128);
	memcpy(&w32, x + offsetof(struct block_q4_K, d), sizeof w32);
	dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)w32)), z->yd);
	*accm = _mm_fmadd_ps(_mm_permute_ps(dd, 0x55), _mm_cvtepi32_ps(
	    _mm_madd_epi16(_mm_unpackhi_epi8(s128, _mm_setzero_si128()),
	    z->bs)), *accm);
	hv = five ? _mm512_broadcast_i64x4(_mm256_loadu_si256(
	    (const __m256i *)(x + offsetof(struct block_q5_K, qh)))) :
	    _mm512_setzero_si512();
#pragma GCC unroll 2
	for (k = 0; k < 2; k++) {
		q = _mm512_loadu_si512(x + qoff + 64 * k);
		lo = _mm512_and_si512(q, low);
		hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low);
		if (five) {
			lo = _mm512_ternarylogic_epi32(lo, _mm512_rolv_epi32(
			    hv, rot[k][0]), bit4, 0xf8);
			hi = _mm512_ternarylogic_epi32(hi, _mm512_rolv_epi32(
			    hv, rot[k][1]), bit4, 0xf8);
		}
		isum = _mm512_dpwssd_epi32(isum, _mm512_packs_epi32(
		    _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo,
		    z->a[2 * k]), _mm512_dpbusd_epi32(_mm512_setzero_si512(),
		    hi, z->a[2 * k + 1])), _mm512_shuffle_epi8(scv, sidx[k]));
	}
	*acc = _mm512_fmadd_ps(_mm512_broadcastss_ps(dd),
	    _mm512_cvtepi32_ps(isum), *acc);
}

/* nr rows bx bytes apart (k45_block_zmm each, bsize bytes a block). */
SIMD_VNNI static inline ALWAYS_INLINE void
vec_dot_k45_zmm(int n, float *s, const void *vx, size_t bx,
    const void *vy, size_t bsize, size_t qoff, int five, int nr)
{
	const struct block_q8_K	*y = vy;
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	struct zmm_act		 z;
	__m512			 acc[QUANT_DOT_ROWS];
	__m128			 accm[QUANT_DOT_ROWS];
	int			 i, r, nb = n / QK_K;

	for (r = 0; r < nr; r++) {
		acc[r] = _mm512_setzero_ps();
		accm[r] = _mm_setzero_ps();
	}
	for (i = 0; i < nb; i++) {
		dot_rows_prefetch(pf, i, nr, bsize);
		zmm_act_k4(y + i, &z);
		for (r = 0; r < nr; r++)
			k45_block_zmm((const char *)vx + r * bx + i * bsize,
			    &z, qoff, five, &acc[r], &accm[r]);
	}
	for (r = 0; r < nr; r++)
		s[r] = _mm512_reduce_add_ps(acc[r]) -
		    simd_hsum256(_mm256_zextps128_ps256(accm[r]));
}

/*
 * Q6_K in 512-bit vectors: half h's ql bytes 0-63 hold quarters 0 and 1
 * in their low nibbles, 2 and 3 in their high ones, so a quarter pair
 * meets 64 contiguous activations; the pair's top bits come from the
 * half's 32 qh bytes in both 256-bit halves, shifted per half.  dpbusd
 * gives four 16-weight groups' 4-weight sums (at most 4 * 63 * 128);
 * packs_epi32 joins the two pairs and one dpwssd applies eight scales.
 * 32 times each group's activation sum (the storage offset) is taken off
 * first.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
vec_dot_q6_K_zmm(int n, float *s, const void *vx, size_t bx,
    const void *vy, int nr)
{
	const struct block_q8_K	*y = vy;
	const __m512i		 low = _mm512_set1_epi8(0x0f);
	const __m512i		 top = _mm512_set1_epi8(0x30);
	/* bits 0-1 (quarter 0) and 2-3 (quarter 1) to 4-5; 4-5 and 6-7 */
	const __m512i		 shl = _mm512_setr_epi64(4 * 0x0001000100010001,
	    4 * 0x0001000100010001, 4 * 0x0001000100010001,
	    4 * 0x0001000100010001, 2 * 0x0001000100010001,
	    2 * 0x0001000100010001, 2 * 0x0001000100010001,
	    2 * 0x0001000100010001);
	const __m512i		 shr = _mm512_setr_epi64(0, 0, 0, 0,
	    2 * 0x0001000100010001, 2 * 0x0001000100010001,
	    2 * 0x0001000100010001, 2 * 0x0001000100010001);
	/* lane l of half h: scales 8h + l (words 0-3), 8h + l + 4 (4-7) */
	const __m512i		 sidx[2] = {
		_mm512_set_epi16(7, 7, 7, 7, 3, 3, 3, 3, 6, 6, 6, 6, 2, 2, 2,
		    2, 5, 5, 5, 5, 1, 1, 1, 1, 4, 4, 4, 4, 0, 0, 0, 0),
		_mm512_set_epi16(15, 15, 15, 15, 11, 11, 11, 11, 14, 14, 14,
		    14, 10, 10, 10, 10, 13, 13, 13, 13, 9, 9, 9, 9, 12, 12,
		    12, 12, 8, 8, 8, 8),
	};
	const struct block_q6_K	*x;
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	__m512			 acc[QUANT_DOT_ROWS];
	__m512i			 a[4], isum, l, h, sc;
	__m256i			 bs, sc16;
	int			 i, half, r, nb = n / QK_K;

	for (r = 0; r < nr; r++)
		acc[r] = _mm512_setzero_ps();
	for (i = 0; i < nb; i++) {
		dot_rows_prefetch(pf, i, nr, sizeof *x);
		bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
		for (half = 0; half < 4; half++)
			a[half] = _mm512_loadu_si512(y[i].qs + 64 * half);
		for (r = 0; r < nr; r++) {
			x = (const struct block_q6_K *)((const char *)vx +
			    r * bx) + i;
			sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)x->scales));
			sc = _mm512_castsi256_si512(sc16);
			isum = _mm512_zextsi256_si512(_mm256_sub_epi32(
			    _mm256_setzero_si256(), _mm256_slli_epi32(
			    _mm256_madd_epi16(sc16, bs), 5)));
#pragma GCC unroll 2
			for (half = 0; half < 2; half++) {
				l = _mm512_loadu_si512(x->ql + 64 * half);
				h = _mm512_broadcast_i64x4(_mm256_loadu_si256(
				    (const __m256i *)(x->qh + 32 * half)));
				isum = _mm512_dpwssd_epi32(isum,
				    _mm512_packs_epi32(_mm512_dpbusd_epi32(
				    _mm512_setzero_si512(),
				    _mm512_ternarylogic_epi32(l, low,
				    _mm512_and_si512(_mm512_sllv_epi16(h, shl),
				    top), 0xea), a[2 * half]),
				    _mm512_dpbusd_epi32(_mm512_setzero_si512(),
				    _mm512_ternarylogic_epi32(_mm512_srli_epi16(
				    l, 4), low, _mm512_and_si512(
				    _mm512_srlv_epi16(h, shr), top), 0xea),
				    a[2 * half + 1])),
				    _mm512_permutexvar_epi16(sidx[half], sc));
			}
			acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(
			    x->d) * y[i].d), _mm512_cvtepi32_ps(isum), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = _mm512_reduce_add_ps(acc[r]);
}


/* A type's dots of one row and of QUANT_DOT_ROWS rows, in width w. */
#define K45_DOTS(t, five, w) \
SIMD_VNNI static void \
vec_dot_##t##_q8_K_##w(int n, float *s, const void *vx, const void *vy) \
{ \
	vec_dot_k45_##w(n, s, vx, 0, vy, sizeof (struct block_##t), \
	    offsetof(struct block_##t, qs), five, 1); \
} \
SIMD_VNNI static void \
vec_dot_##t##_q8_K_##w##_rows(int n, float *s, const void *vx, \
    const void *vy, size_t bx) \
{ \
	vec_dot_k45_##w(n, s, vx, bx, vy, sizeof (struct block_##t), \
	    offsetof(struct block_##t, qs), five, QUANT_DOT_ROWS); \
}
K45_DOTS(q4_K, 0, vnni)
K45_DOTS(q5_K, 1, vnni)
K45_DOTS(q4_K, 0, zmm)
K45_DOTS(q5_K, 1, zmm)
#undef K45_DOTS

ROW_DOTS(vec_dot_q6_K_q8_K_zmm, vec_dot_q6_K_zmm)


/*
 * Q8_0 against Q8_0 in 512-bit vectors, two blocks a vector: the weights
 * made unsigned (plus 128) for dpbusd, the lanes starting from -128 times
 * their 4 activations' sum, so that each lane ends as its exact 4-weight
 * dot; the two blocks' scales are applied in float, per half.  The
 * token's side (activations, lane starts, scales) is built once for all
 * rows.  With an odd block count the last pair's upper half is zeros.
 */
SIMD_VNNI static inline ALWAYS_INLINE __m512i
q8_0_pair(const struct block_q8_0 *b, int two)
{
	__m256i	lo = _mm256_loadu_si256((const __m256i *)b[0].qs);

	return two ? _mm512_inserti64x4(_mm512_castsi256_si512(lo),
	    _mm256_loadu_si256((const __m256i *)b[1].qs), 1) :
	    _mm512_zextsi256_si512(lo);
}

/* The two scales of a pair, each in its half (0 for a missing one). */
SIMD_VNNI static inline ALWAYS_INLINE __m512
q8_0_pair_d(const struct block_q8_0 *b, int two)
{
	return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(
	    _mm_set1_epi16((short)b[0].d)), _mm_set1_epi16(two ?
	    (short)b[1].d : 0), 1));
}

SIMD_VNNI static inline ALWAYS_INLINE void
vec_dot_q8_0_zmm(int n, float *s, const void *vx, size_t bx,
    const void *vy, int nr)
{
	const struct block_q8_0	*y = vy, *x;
	const __m512i		 b7 = _mm512_set1_epi8((char)0x80);
	const char		*pf = dot_rows_prefetch_base(vx, bx, nr);
	__m512i			 a, init;
	__m512			 acc[QUANT_DOT_ROWS], yd;
	int			 i, r, two, nb = n / QK8_0;

	for (r = 0; r < nr; r++)
		acc[r] = _mm512_setzero_ps();
	for (i = 0; i < nb; i += 2) {
		two = i + 1 < nb;
		dot_rows_prefetch(pf, i / 2, nr, 2 * sizeof *y);
		a = q8_0_pair(y + i, two);
		init = _mm512_sub_epi32(_mm512_setzero_si512(),
		    _mm512_slli_epi32(_mm512_dpbusd_epi32(
		    _mm512_setzero_si512(), _mm512_set1_epi8(1), a), 7));
		yd = q8_0_pair_d(y + i, two);
		/* unrolled: generation on Q8_0 1.025 times as fast (Intel) */
#pragma GCC unroll 4
		for (r = 0; r < nr; r++) {
			x = (const struct block_q8_0 *)((const char *)vx +
			    r * bx) + i;
			acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
			    _mm512_dpbusd_epi32(init, _mm512_xor_si512(
			    q8_0_pair(x, two), b7), a)), _mm512_mul_ps(
			    q8_0_pair_d(x, two), yd), acc[r]);
		}
	}
	for (r = 0; r < nr; r++)
		s[r] = _mm512_reduce_add_ps(acc[r]);
}

ROW_DOTS(vec_dot_q8_0_q8_0_zmm, vec_dot_q8_0_zmm)
#undef ROW_DOTS

#undef SC
#undef WD

/* ------------------------------------------------------------------ */
/* prompt tiles (struct quant_gemm) */

/*
 * The weights are repacked so that one 32-bit lane of a vector holds one
 * scale group: a panel is 16 groups (lanes) of G = 4 * S elements, stored
 * as S steps, step s holding bytes 4s .. 4s + 3 of every group.  After S
 * dpbusd steps lane j is the exact integer dot of group j, and the
 * group's float scales are applied once, to all 16 lanes at a time:
 *
 *	sum += cvt(lane) * dsc * dy - dmm * ysum
 *
 * dsc being the group's weight scale, dy the activations' scale, and the
 * offset term dmm * ysum taking off Q4_K's min (dmin * m) against dy *
 * (the group's sum of quantized activations).  The weights are the
 * unsigned operand, the activations signed.  Q6_K's and Q8_0's weights
 * are stored plus a constant (32, 128): that offset times the group's
 * activation sum is taken off in integers instead, the lanes starting
 * from -offset * sum (ioff).  Per panel a packed tile holds [step][row]
 * [64 bytes] of weights, then [row][16] dsc floats and [row][16] dmm
 * floats; a packed activation row [step][64 bytes], then 16 dy floats
 * and 16 ysum floats (ioff: the 16 int32 starting values).
 */
#define GEMM_R QUANT_GEMM_ROWS
#define GEMM_T 4		/* tokens per pass over a tile */

/* One pass: the tile's rows against T tokens, over np panels. */
SIMD_VNNI static inline ALWAYS_INLINE void
gemm_pass(int np, int S, int ioff, const char *pw, const char *pa,
    size_t arow, int T, float *y, size_t ldy, int nrows)
{
	const size_t	 wpb = (size_t)GEMM_R * (64 * S + 128);
	const size_t	 apb = (size_t)64 * S + 128;
	__m512		 f[GEMM_R][GEMM_T], dsc, dmm;
	__m512i		 acc[GEMM_R][GEMM_T], w[GEMM_R], yv;
	const char	*wp, *ap;
	int		 p, s, r, t;

#pragma GCC unroll 16
	for (r = 0; r < GEMM_R; r++)
#pragma GCC unroll 4
		for (t = 0; t < T; t++)
			f[r][t] = _mm512_setzero_ps();
	for (p = 0; p < np; p++) {
		wp = pw + p * wpb;
		ap = pa + p * apb;
#pragma GCC unroll 16
		for (r = 0; r < GEMM_R; r++)
#pragma GCC unroll 4
			for (t = 0; t < T; t++)
				acc[r][t] = ioff ? _mm512_load_si512(ap +
				    t * arow + 64 * S + 64) :
				    _mm512_setzero_si512();
#pragma GCC unroll 8
		for (s = 0; s < S; s++) {
#pragma GCC unroll 4
			for (r = 0; r < GEMM_R; r++)
				w[r] = _mm512_load_si512(wp +
				    ((size_t)s * GEMM_R + r) * 64);
#pragma GCC unroll 4
			for (t = 0; t < T; t++) {
				yv = _mm512_load_si512(ap + t * arow + s * 64);
#pragma GCC unroll 4
				for (r = 0; r < GEMM_R; r++)
					acc[r][t] = _mm512_dpbusd_epi32(
					    acc[r][t], w[r], yv);
			}
		}
#pragma GCC unroll 4
		for (r = 0; r < GEMM_R; r++) {
			dsc = _mm512_load_ps(wp + (size_t)GEMM_R * 64 * S +
			    r * 64);
			dmm = _mm512_load_ps(wp + (size_t)GEMM_R * 64 * S +
			    GEMM_R * 64 + r * 64);
#pragma GCC unroll 4
			for (t = 0; t < T; t++) {
				f[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
				    acc[r][t]), _mm512_mul_ps(dsc,
				    _mm512_load_ps(ap + t * arow + 64 * S)),
				    f[r][t]);
				if (!ioff)
					f[r][t] = _mm512_fnmadd_ps(dmm,
					    _mm512_load_ps(ap + t * arow +
					    64 * S + 64), f[r][t]);
			}
		}
	}
	for (r = 0; r < nrows; r++)
#pragma GCC unroll 4
		for (t = 0; t < T; t++)
			y[t * ldy + r] = _mm512_reduce_add_ps(f[r][t]);
}

/* All tokens, GEMM_T at a time, then the 1-3 left. */
SIMD_VNNI static inline ALWAYS_INLINE void
gemm_tile(int S, int ioff, int n, const void *pw, const void *pa,
    size_t arow, int ntok, float *y, size_t ldy, int nrows)
{
	const char	*a = pa;
	int		 np = (n + 64 * S - 1) / (64 * S), t;

	for (t = 0; t + GEMM_T <= ntok; t += GEMM_T)
		gemm_pass(np, S, ioff, pw, a + t * arow, arow, GEMM_T,
		    y + t * ldy, ldy, nrows);
	switch (ntok - t) {
	case 3:
		gemm_pass(np, S, ioff, pw, a + t * arow, arow, 3, y + t * ldy,
		    ldy, nrows);
		break;
	case 2:
		gemm_pass(np, S, ioff, pw, a + t * arow, arow, 2, y + t * ldy,
		    ldy, nrows);
		break;
	case 1:
		gemm_pass(np, S, ioff, pw, a + t * arow, arow, 1, y + t * ldy,
		    ldy, nrows);
		break;
	}
}

/* Q4_K: 8 steps, the min in float. */
SIMD_VNNI static void
gemm_tile_q4_K(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows)
{
	gemm_tile(8, 0, n, pw, pa, arow, ntok, y, ldy, nrows);
}

/* Groups of 32 stored plus 128 (Q8_0, the i-quants'): 8 steps, the
 * offset in integers. */
SIMD_VNNI void
gemm512_tile_g32(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows)
{
	gemm_tile(8, 1, n, pw, pa, arow, ntok, y, ldy, nrows);
}

/* Groups of 16 stored plus an offset (Q6_K, i-quants'): 4 steps, the
 * offset in integers. */
SIMD_VNNI void
gemm512_tile_g16(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows)
{
	gemm_tile(4, 1, n, pw, pa, arow, ntok, y, ldy, nrows);
}

/*
 * Where lane j's group starts in a quantized activation panel, its scale
 * and integer sum: G elements per group, qs the panel's values.
 */
static void
gemm_put_act(char *out, int S, const int8_t *qs, const float *dy,
    const int *isum, int off)
{
	float	*fo = (float *)(out + 64 * S);
	int32_t	*io = (int32_t *)(out + 64 * S + 64);
	int	 j, s;

	for (s = 0; s < S; s++)
		for (j = 0; j < 16; j++)
			memcpy(out + 64 * s + 4 * j, qs + 4 * S * j + 4 * s, 4);
	for (j = 0; j < 16; j++) {
		fo[j] = dy[j];
		if (off != 0)
			io[j] = -off * isum[j];
		else
			fo[16 + j] = dy[j] * (float)isum[j];
	}
}

/* Q8_0 activations: 16 blocks of 32 per panel, offset 128. */
void
gemm512_act_q8_0(const float *x, void *va, int n)
{
	struct block_q8_0	 b[16];
	int8_t			 qs[512];
	float			 dy[16];
	int			 isum[16], nb = n / QK8_0, p, j, k, nv;

	for (p = 0; p * 16 < nb; p++) {
		nv = nb - p * 16 < 16 ? nb - p * 16 : 16;
		quantize_row_q8_0_avx2(x + (size_t)p * 512, b,
		    (int64_t)nv * QK8_0);
		memset(qs, 0, sizeof qs);
		for (j = 0; j < 16; j++) {
			dy[j] = 0.0f;
			isum[j] = 0;
			if (j >= nv)
				continue;
			memcpy(qs + 32 * j, b[j].qs, 32);
			dy[j] = quant_h2f(b[j].d);
			for (k = 0; k < 32; k++)
				isum[j] += b[j].qs[k];
		}
		gemm_put_act((char *)va + (size_t)p * (512 + 128), 8, qs, dy,
		    isum, 128);
	}
}

/*
 * Q8_K activations in groups of G (32 for Q4_K, 16 for Q6_K): a panel is
 * 16 * G elements, G / 16 super-blocks.  off: the weights' storage offset
 * (0: Q4_K's mins are taken off in floats instead).
 */
static void
gemm_pack_act_q8_K(const float *x, void *va, int n, int G, int off)
{
	struct block_q8_K	 b[2];
	int8_t			 qs[512];
	float			 dy[16];
	int			 isum[16], pe = 16 * G, nsb = n / QK_K, p, j;
	int			 nv, per = pe / QK_K, sb, g, gs = QK_K / G;

	for (p = 0; p * per < nsb; p++) {
		nv = nsb - p * per < per ? nsb - p * per : per;
		quantize_row_q8_K_avx2(x + (size_t)p * pe, b,
		    (int64_t)nv * QK_K);
		memset(qs, 0, sizeof qs);
		for (j = 0; j < 16; j++) {
			sb = j / gs;
			g = j % gs;
			dy[j] = 0.0f;
			isum[j] = 0;
			if (sb >= nv)
				continue;
			memcpy(qs + G * j, b[sb].qs + G * g, G);
			dy[j] = b[sb].d;
			isum[j] = G == 32 ? b[sb].bsums[2 * g] +
			    b[sb].bsums[2 * g + 1] : b[sb].bsums[g];
		}
		gemm_put_act((char *)va + (size_t)p * (pe + 128), G / 4, qs,
		    dy, isum, off);
	}
}

static void
gemm_pack_act_q4_K(const float *x, void *a, int n)
{
	gemm_pack_act_q8_K(x, a, n, 32, 0);
}

static void
gemm_pack_act_q6_K(const float *x, void *a, int n)
{
	gemm_pack_act_q8_K(x, a, n, 16, 32);
}

void
gemm512_act_g32(const float *x, void *a, int n)
{
	gemm_pack_act_q8_K(x, a, n, 32, 128);
}

void
gemm512_act_g16(const float *x, void *a, int n)
{
	gemm_pack_act_q8_K(x, a, n, 16, 128);
}

/*
 * Weight packing.  A missing row (r >= nrows) or group (past n) packs as
 * zeros, weights and scales, so it adds nothing.  The weights of step s
 * are, per lane, one dword of the block's bytes: gathered for Q8_0 (34-
 * byte blocks), permuted from the block's loaded vectors for the
 * K-quants.
 */

/* A tile's float part for row r of a panel: 16 dsc, then 16 dmm. */
SIMD_VNNI static inline void
gemm_put_scales(char *tile, int S, int r, __m512 dsc, __m512 dmm)
{
	_mm512_store_ps(tile + (size_t)GEMM_R * 64 * S + r * 64, dsc);
	_mm512_store_ps(tile + (size_t)GEMM_R * 64 * S + GEMM_R * 64 +
	    r * 64, dmm);
}

/* Row r of a tile as zeros, weights and scales. */
SIMD_VNNI void
gemm512_zero_row(char *tile, int S, int r)
{
	int	s;

	for (s = 0; s < S; s++)
		_mm512_store_si512(GEMM512_STEP(tile, s, r), _mm512_setzero_si512());
	gemm_put_scales(tile, S, r, _mm512_setzero_ps(), _mm512_setzero_ps());
}

SIMD_VNNI void
gemm512_put_dsc(char *tile, int S, int r, const float *dsc)
{
	gemm_put_scales(tile, S, r, _mm512_loadu_ps(dsc), _mm512_setzero_ps());
}

/*
 * Row r of a tile from z[i], groups 2i and 2i + 1 of 32 signed bytes
 * each (8 dwords): the 16 groups' dwords are transposed to 8 steps of 16
 * lanes in three rounds of permutes, each round halving the groups and
 * doubling the steps a vector holds: z (groups 2i, 2i+1, all 8 dwords),
 * then a (4 groups, 4 dwords), b (8 groups, 2 dwords), the steps (16, 1);
 * stored plus 128 (unsigned).
 */
SIMD_VNNI void
gemm512_put_groups(char *tile, int r, const __m512i *z)
{
	const __m512i	 ia[2] = {
		_mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26,
		    3, 11, 19, 27),
		_mm512_setr_epi32(4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30,
		    7, 15, 23, 31),
	};
	const __m512i	 ib[2] = {
		_mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20,
		    21, 22, 23),
		_mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15,
		    28, 29, 30, 31),
	};
	const __m512i	 ic[2] = {
		_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20,
		    21, 22, 23),
		_mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27,
		    28, 29, 30, 31),
	};
	const __m512i	 flip = _mm512_set1_epi32((int)0x80808080);
	__m512i		 a[4][2], b[2][2][2];
	int		 i, h, g, e;

	for (i = 0; i < 4; i++)
		for (h = 0; h < 2; h++)
			a[i][h] = _mm512_permutex2var_epi32(z[2 * i], ia[h],
			    z[2 * i + 1]);
	for (i = 0; i < 2; i++)
		for (h = 0; h < 2; h++)
			for (g = 0; g < 2; g++)
				b[i][h][g] = _mm512_permutex2var_epi32(
				    a[2 * i][h], ib[g], a[2 * i + 1][h]);
	/* q + 128 as unsigned is q xor 0x80. */
	for (h = 0; h < 2; h++)
		for (g = 0; g < 2; g++)
			for (e = 0; e < 2; e++)
				_mm512_store_si512(GEMM512_STEP(tile, 4 * h + 2 * g + e,
				    r), _mm512_xor_si512(flip,
				    _mm512_permutex2var_epi32(b[0][h][g],
				    ic[e], b[1][h][g])));
}

/*
 * Q8_0: a group is a block.  Blocks past n load as zeros (masked, so
 * nothing past the row is read).
 */
SIMD_VNNI static void
gemm_pack_w_q8_0(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	const __m512i	 idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2,
	    3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
	    _mm512_set1_epi32(sizeof (struct block_q8_0)));
	const struct block_q8_0 *x;
	__m512i		 z[8];
	char		*tile;
	int		 nb = n / QK8_0, p, r, i, nv;

#define LOADQ(k) _mm256_maskz_loadu_epi32((__mmask8)((k) < nv ? 0xff : 0), \
    x[k].qs)
	for (p = 0; p * 16 < nb; p++) {
		tile = (char *)vp + (size_t)p * GEMM_R * (512 + 128);
		nv = nb - p * 16 < 16 ? nb - p * 16 : 16;
		for (r = 0; r < GEMM_R; r++) {
			if (r >= nrows) {
				gemm512_zero_row(tile, 8, r);
				continue;
			}
			x = (const struct block_q8_0 *)((const char *)vw +
			    r * wrow) + p * 16;
			for (i = 0; i < 8; i++)
				z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(
				    LOADQ(2 * i)), LOADQ(2 * i + 1), 1);
			gemm512_put_groups(tile, r, z);
			/* d is the low half of the dword at each block. */
			gemm_put_scales(tile, 8, r, _mm512_cvtph_ps(
			    _mm512_cvtepi32_epi16(_mm512_mask_i32gather_epi32(
			    _mm512_setzero_si512(), (__mmask16)((1u << nv) - 1),
			    idx, x, 1))), _mm512_setzero_ps());
		}
	}
#undef LOADQ
}

/*
 * A panel's 16 group factors: the 6-bit scales (or mins) q of its two
 * blocks, 8 bytes each, times the block's d (or dmin), f[0] or f[1].
 */
SIMD_VNNI static inline __m512
k4_panel_scales(const float *f, __m128i q)
{
	return _mm512_mul_ps(_mm512_insertf32x8(_mm512_set1_ps(f[0]),
	    _mm256_set1_ps(f[1]), 1), _mm512_cvtepi32_ps(
	    _mm512_cvtepu8_epi32(q)));
}

/*
 * Q4_K and Q5_K (five: the fifth bits in qh), whose blocks share d, dmin
 * and scales at the same offsets: bsize bytes a block, qs at qoff.
 */
SIMD_VNNI static inline ALWAYS_INLINE void
gemm_pack_w_k45(const void *vw, size_t wrow, int nrows, void *vp, int n,
    size_t bsize, size_t qoff, int five)
{
	/* Lane j: super-block j / 8, group g = j % 8, whose step s is dword
	 * 8 * (g / 2) + s of the block's qs, low nibbles for even g; its
	 * fifth bits bit g of qh dword s. */
	const __m512i	 idx = _mm512_setr_epi32(0, 0, 8, 8, 16, 16, 24, 24,
	    0, 0, 8, 8, 16, 16, 24, 24);
	const __m512i	 sh = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4,
	    0, 4, 0, 4, 0, 4);
	const __m512i	 hidx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0,
	    8, 8, 8, 8, 8, 8, 8, 8);
	const __m512i	 hsh = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1,
	    2, 3, 4, 5, 6, 7);
	const __m512i	 low = _mm512_set1_epi8(0x0f);
	const __m512i	 bit = _mm512_set1_epi8(0x01);
	const struct block_q4_K *x;
	const char	*blk;
	__m512i		 q[2][2], qh, v, ix, one;
	__m128i		 sm[2];
	char		*tile;
	float		 d[2], dmin[2];
	int		 nsb = n / QK_K, p, r, s, b, nv;

	for (p = 0; p * 2 < nsb; p++) {
		tile = (char *)vp + (size_t)p * GEMM_R * (512 + 128);
		nv = nsb - p * 2 < 2 ? 1 : 2;
		for (r = 0; r < GEMM_R; r++) {
			if (r >= nrows) {
				gemm512_zero_row(tile, 8, r);
				continue;
			}
			blk = (const char *)vw + r * wrow + p * 2 * bsize;
			for (b = 0; b < 2; b++) {
				q[b][0] = b < nv ? _mm512_loadu_si512(blk +
				    b * bsize + qoff) : _mm512_setzero_si512();
				q[b][1] = b < nv ? _mm512_loadu_si512(blk +
				    b * bsize + qoff + 64) :
				    _mm512_setzero_si512();
			}
			qh = _mm512_setzero_si512();
			if (five)
				qh = _mm512_inserti64x4(_mm512_castsi256_si512(
				    _mm256_loadu_si256((const __m256i *)(blk +
				    offsetof(struct block_q5_K, qh)))),
				    nv > 1 ? _mm256_loadu_si256((const __m256i
				    *)(blk + bsize + offsetof(struct block_q5_K,
				    qh))) : _mm256_setzero_si256(), 1);
			for (s = 0; s < 8; s++) {
				one = _mm512_set1_epi32(s);
				ix = _mm512_add_epi32(idx, one);
				v = _mm512_mask_blend_epi32(0xff00,
				    _mm512_permutex2var_epi32(q[0][0], ix,
				    q[0][1]), _mm512_permutex2var_epi32(q[1][0],
				    ix, q[1][1]));
				v = _mm512_and_si512(_mm512_srlv_epi32(v, sh),
				    low);
				if (five)
					v = _mm512_or_si512(v, _mm512_slli_epi32(
					    _mm512_and_si512(_mm512_srlv_epi32(
					    _mm512_permutexvar_epi32(
					    _mm512_add_epi32(hidx, one), qh),
					    hsh), bit), 4));
				_mm512_store_si512(GEMM512_STEP(tile, s, r), v);
			}
			/* lanes 0-7 block 0's groups, 8-15 block 1's (or
			 * zeros) */
			for (b = 0; b < 2; b++) {
				x = (const struct block_q4_K *)(blk + b * bsize);
				sm[b] = b < nv ? k4_scales128(x->scales) :
				    _mm_setzero_si128();
				d[b] = b < nv ? _cvtsh_ss(x->d) : 0.0f;
				dmin[b] = b < nv ? _cvtsh_ss(x->dmin) : 0.0f;
			}
			gemm_put_scales(tile, 8, r, k4_panel_scales(d,
			    _mm_unpacklo_epi64(sm[0], sm[1])), k4_panel_scales(
			    dmin, _mm_unpackhi_epi64(sm[0], sm[1])));
		}
	}
}

SIMD_VNNI static void
gemm_pack_w_q4_K(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	gemm_pack_w_k45(vw, wrow, nrows, vp, n, sizeof (struct block_q4_K),
	    offsetof(struct block_q4_K, qs), 0);
}

SIMD_VNNI static void
gemm_pack_w_q5_K(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	gemm_pack_w_k45(vw, wrow, nrows, vp, n, sizeof (struct block_q5_K),
	    offsetof(struct block_q5_K, qs), 1);
}

SIMD_VNNI static void
gemm_pack_w_q6_K(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	/* Group g of 16: half h = g / 8, quarter q = g % 8 / 2, first index
	 * 16 * (g % 2) in the half; low bits at step s in ql dword
	 * 16h + 8(q & 1) + 4(g % 2) + s shifted by 4 * (q >> 1), high bits
	 * in qh dword 8h + 4(g % 2) + s shifted by 2q. */
	const __m512i	 lidx = _mm512_setr_epi32(0, 4, 8, 12, 0, 4, 8, 12,
	    16, 20, 24, 28, 16, 20, 24, 28);
	const __m512i	 lsh = _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 0, 0,
	    0, 0, 4, 4, 4, 4);
	const __m512i	 hidx = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4,
	    8, 12, 8, 12, 8, 12, 8, 12);
	const __m512i	 hsh = _mm512_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6, 0, 0,
	    2, 2, 4, 4, 6, 6);
	const __m512i	 low = _mm512_set1_epi8(0x0f);
	const __m512i	 two = _mm512_set1_epi8(0x03);
	const struct block_q6_K *x;
	__m512i		 l0, l1, h, v, w, one;
	__m512		 dsc;
	char		*tile;
	int		 nsb = n / QK_K, p, r, s;

	for (p = 0; p < nsb; p++) {
		tile = (char *)vp + (size_t)p * GEMM_R * (256 + 128);
		for (r = 0; r < GEMM_R; r++) {
			if (r >= nrows) {
				gemm512_zero_row(tile, 4, r);
				continue;
			}
			x = (const struct block_q6_K *)((const char *)vw +
			    r * wrow) + p;
			l0 = _mm512_loadu_si512(x->ql);
			l1 = _mm512_loadu_si512(x->ql + 64);
			h = _mm512_loadu_si512(x->qh);
			for (s = 0; s < 4; s++) {
				one = _mm512_set1_epi32(s);
				v = _mm512_and_si512(_mm512_srlv_epi32(
				    _mm512_permutex2var_epi32(l0,
				    _mm512_add_epi32(lidx, one), l1), lsh), low);
				w = _mm512_and_si512(_mm512_srlv_epi32(
				    _mm512_permutexvar_epi32(_mm512_add_epi32(
				    hidx, one), h), hsh), two);
				_mm512_store_si512(GEMM512_STEP(tile, s, r),
				    _mm512_or_si512(v, _mm512_slli_epi32(w, 4)));
			}
			dsc = _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(x->d)),
			    _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
			    _mm_loadu_si128((const __m128i *)x->scales))));
			gemm_put_scales(tile, 4, r, dsc, _mm512_setzero_ps());
		}
	}
}

static const struct quant_gemm gemm_q8_0 = GEMM512(512, gemm512_act_q8_0,
    gemm_pack_w_q8_0, gemm512_tile_g32);
static const struct quant_gemm gemm_q4_K = GEMM512(512, gemm_pack_act_q4_K,
    gemm_pack_w_q4_K, gemm_tile_q4_K);
static const struct quant_gemm gemm_q5_K = GEMM512(512, gemm_pack_act_q4_K,
    gemm_pack_w_q5_K, gemm_tile_q4_K);
static const struct quant_gemm gemm_q6_K = GEMM512(256, gemm_pack_act_q6_K,
    gemm_pack_w_q6_K, gemm512_tile_g16);

/* ------------------------------------------------------------------ */

/*
 * Each type's kernels (a NULL dot keeps the AVX2 one), and the
 * activation type they were written for.
 */
static const struct {
	enum ggml_type		 vec_dot_type;
	quant_vec_dot_fn	 vec_dot;
	const struct quant_gemm	*gemm;
	quant_vec_dot_rows_fn	 rows;
} avx512_kernels[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q8_0] = { .vec_dot_type = GGML_TYPE_Q8_0,
	    .gemm = &gemm_q8_0 },
#define K(t) { .vec_dot_type = GGML_TYPE_Q8_K,				\
	.vec_dot = vec_dot_##t##_q8_K_vnni, .gemm = &gemm_##t,		\
	.rows = vec_dot_##t##_q8_K_vnni_rows }
	[GGML_TYPE_Q4_K] = K(q4_K),
	[GGML_TYPE_Q5_K] = K(q5_K),
	[GGML_TYPE_Q6_K] = K(q6_K),
#undef K
};

void
quant_register_avx512(struct quant_traits *table)
{
	int	t;

	if (!quant_cpu_has_avx512vnni())
		return;
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (avx512_kernels[t].gemm == NULL || table[t].name == NULL)
			continue;
		if (table[t].vec_dot_type != avx512_kernels[t].vec_dot_type)
			continue;
		table[t].gemm = avx512_kernels[t].gemm;
		if (avx512_kernels[t].vec_dot != NULL) {
			/* The 4-token dot reproduced the AVX2 one; the
			 * tiles take batches here. */
			table[t].vec_dot = avx512_kernels[t].vec_dot;
			table[t].vec_dot_x4 = NULL;
			table[t].vec_dot_rows = avx512_kernels[t].rows;
		}
	}
}

/* The 512-bit single-token dots, each with its several-row one. */
static const struct {
	enum ggml_type		 vec_dot_type;
	quant_vec_dot_fn	 vec_dot;
	quant_vec_dot_rows_fn	 rows;
} zmm_dots[GGML_TYPE_COUNT] = {
#define ZMM(vt, dot) { .vec_dot_type = GGML_TYPE_##vt, .vec_dot = dot,	\
	.rows = dot##_rows }
	[GGML_TYPE_Q8_0] = ZMM(Q8_0, vec_dot_q8_0_q8_0_zmm),
	[GGML_TYPE_Q4_K] = ZMM(Q8_K, vec_dot_q4_K_q8_K_zmm),
	[GGML_TYPE_Q5_K] = ZMM(Q8_K, vec_dot_q5_K_q8_K_zmm),
	[GGML_TYPE_Q6_K] = ZMM(Q8_K, vec_dot_q6_K_q8_K_zmm),
#undef ZMM
};

void
quant_register_avx512_wide(struct quant_traits *table)
{
	int	t;

	if (!quant_cpu_has_avx512vnni())
		return;
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (zmm_dots[t].vec_dot == NULL ||
		    table[t].vec_dot_type != zmm_dots[t].vec_dot_type)
			continue;
		table[t].vec_dot = zmm_dots[t].vec_dot;
		table[t].vec_dot_x4 = NULL;
		table[t].vec_dot_rows = zmm_dots[t].rows;
	}
}

#else /* not x86 */

void
quant_register_avx512(struct quant_traits *table)
{
	(void)table;
}

void
quant_register_avx512_wide(struct quant_traits *table)
{
	(void)table;
}

#endif
