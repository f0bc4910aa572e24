/*
 * quant-panel.c - Q8_0 and Q4_K weights repacked at load into panels of
 * 16 rows (struct quant_panel), for the amx kernel path (AVX-512 VNNI
 * and AMX-INT8).
 *
 * A Q8_0 panel holds its 16 rows' blocks interleaved, two blocks at a time
 * (1088 bytes, 17 cache lines): block 2i's 16 scales (F16, rows in
 * order), block 2i + 1's, then block 2i's quants, then 2i + 1's, each
 * as 8 runs of 64 bytes, run k holding bytes 4k .. 4k + 3 of the 16
 * rows in order, each plus 128 (unsigned).  That is the B operand of
 * both vpdpbusd (one token: run k against the token's bytes 4k .. 4k +
 * 3, broadcast, gives 16 rows' partial dots) and tdpbsud (prompts: a
 * block's quants are a tile of 8 rows of 64 bytes).  The 128 added is
 * taken off as 128 times the activations' sum, kept beside them.
 *
 * A token reads a panel front to back as one stream: on an Intel core
 * with AMX a single token's Q8_0 dots read memory about 1.17 times as
 * fast as from the rows in place (Q4_K's alike, see below).
 */
#include "config.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "quant-amx.h"
#include "quant-impl.h"

#define PANEL_ROWS	QUANT_PANEL_ROWS
#define PANEL_PAIR	(2 * (32 + PANEL_ROWS * QK8_0))	/* two blocks */
/* Bytes ahead of the block being read that a single token's dot asks
 * for: 2 pairs, the best of 0, 1, 2 and 4 (none at all read a fifth
 * slower). */
#define PANEL_AHEAD	(2 * PANEL_PAIR)

/* Block b's scales and quants in the panel p. */
#define PANEL_SC(p, b)	((const char *)(p) + (size_t)((b) >> 1) * \
	PANEL_PAIR + 32 * ((b) & 1))
#define PANEL_Q(p, b)	((const char *)(p) + (size_t)((b) >> 1) * \
	PANEL_PAIR + 64 + 512 * ((b) & 1))

/* Block b of the 16 rows a word at a time: gathers down the rows. */
SIMD_AMX static void
panel_repack_q8_0(const void *w, size_t wrow, void *p, int n)
{
	const __m512i	 idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)wrow),
	    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	    14, 15));
	const __m512i	 flip = _mm512_set1_epi8((char)0x80);
	const char	*x;
	int		 nb = n / QK8_0, b, k;

	for (b = 0; b < nb; b++) {
		x = (const char *)w + (size_t)b * sizeof (struct block_q8_0);
		/* the scales: the low halves of the rows' first words */
		_mm256_storeu_si256((__m256i *)PANEL_SC(p, b),
		    _mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx, x, 1)));
		for (k = 0; k < 8; k++)
			_mm512_storeu_si512((void *)(PANEL_Q(p, b) + 64 * k),
			    _mm512_xor_si512(_mm512_i32gather_epi32(idx, x +
			    offsetof(struct block_q8_0, qs) + 4 * k, 1),
			    flip));
	}
}

static size_t
panel_size_q8_0(int n)
{
	return (size_t)(n / QK8_0) * PANEL_ROWS * sizeof (struct block_q8_0);
}

/* A single token's activations: Q8_0 blocks, then each block's -128 *
 * sum of its quants. */
static size_t
panel_act_size(int n)
{
	return (size_t)(n / QK8_0) * (sizeof (struct block_q8_0) +
	    sizeof (int32_t));
}

/* The corrections c[b] = -128 * the sum of block b's quants of q. */
static void
panel_corr(const struct block_q8_0 *q, int nb, int32_t *c)
{
	int	b, i, s;

	for (b = 0; b < nb; b++) {
		for (s = 0, i = 0; i < QK8_0; i++)
			s += q[b].qs[i];
		c[b] = -128 * s;
	}
}

static void
panel_quantize_q8_0(const float *x, void *a, int n)
{
	int	nb = n / QK8_0;

	quantize_row_q8_0_avx2(x, a, n);
	panel_corr(a, nb, (int32_t *)((struct block_q8_0 *)a + nb));
}

/* Block b of panel p against y's block b into f, its correction c. */
AMX_INLINE __m512
panel_block(const void *p, int b, const struct block_q8_0 *y, int32_t c,
    __m512 f)
{
	const char	*q = PANEL_Q(p, b);
	__m512i		 acc = _mm512_set1_epi32(c);
	int32_t		 a;
	int		 k;

#pragma GCC unroll 8
	for (k = 0; k < 8; k++) {
		memcpy(&a, y->qs + 4 * k, sizeof a);
		acc = _mm512_dpbusd_epi32(acc, _mm512_load_si512(q + 64 * k),
		    _mm512_set1_epi32(a));
	}
	return _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_mul_ps(
	    _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)
	    PANEL_SC(p, b))), _mm512_set1_ps(_cvtsh_ss(y->d))), f);
}

/* The single token's dot; the panel is 64-byte aligned (model.c). */
SIMD_AMX static void
panel_dot_q8_0(int n, float *s, const void *p, const void *va)
{
	const struct block_q8_0	*y = va;
	const int32_t		*c;
	__m512			 f0, f1;
	int			 nb = n / QK8_0, b, k;

	c = (const int32_t *)(y + nb);
	f0 = f1 = _mm512_setzero_ps();
	for (b = 0; b < nb; b += 2) {
		for (k = 0; k < PANEL_PAIR; k += 64)
			_mm_prefetch(PANEL_SC(p, b) + PANEL_AHEAD + k,
			    _MM_HINT_T1);
		f0 = panel_block(p, b, y + b, c[b], f0);
		f1 = panel_block(p, b + 1, y + b + 1, c[b + 1], f1);
	}
	_mm512_storeu_ps(s, _mm512_add_ps(f0, f1));
}

/*
 * Q4_K: a panel holds its 16 rows' blocks of 256 one after another, each
 * in PK4_BLOCK bytes: the rows' d (F16, rows in order), their dmin, the
 * 8 groups' 6-bit scales as bytes (group after group, rows in order), the
 * mins as bytes (pairs of groups after pairs: row after row, each row's
 * two), then the quants: for each quarter j of the block (qs bytes 32j ..
 * 32j + 31 of a row: group 2j in the low nibbles, 2j + 1 in the high), 8
 * runs of 64 bytes, run k holding bytes 32j + 4k .. 32j + 4k + 3 of the
 * 16 rows in order.  A run is the B operand of two vpdpbusd: its low
 * nibbles against the token's bytes 64j + 4k .., its high ones against
 * 64j + 32 + 4k ...  A single token's dot multiplies each group's 16
 * integer dots by the scales (vpmulld) and the mins by the group sums
 * of the token (vpdpwssd), both in int32.
 */
#define PK4_D		0
#define PK4_DMIN	32
#define PK4_SC		64
#define PK4_M		(PK4_SC + 8 * PANEL_ROWS)
#define PK4_Q		(PK4_M + 8 * PANEL_ROWS)
#define PK4_BLOCK	(PK4_Q + PANEL_ROWS * QK_K / 2)
_Static_assert(PK4_BLOCK % 64 == 0 && PK4_Q % 64 == 0, "PK4 alignment");
/* Bytes ahead of the block being read that a single token's dot asks
 * for. */
#define PK4_AHEAD	(PK4_BLOCK / 2)

/* The scales, mins and scale factors row by row, the quants a word of
 * the 16 rows at a time (gathers down the rows). */
SIMD_AMX static void
panel_repack_q4_K(const void *w, size_t wrow, void *vp, int n)
{
	const __m512i		 idx = _mm512_mullo_epi32(_mm512_set1_epi32(
	    (int)wrow), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14, 15));
	const struct block_q4_K	*x;
	char			*p = vp, *o;
	uint8_t			 sc, m;
	int			 nb = n / QK_K, i, r, g, k;

	for (i = 0; i < nb; i++) {
		o = p + (size_t)i * PK4_BLOCK;
		for (r = 0; r < PANEL_ROWS; r++) {
			x = (const struct block_q4_K *)((const char *)w +
			    r * wrow) + i;
			memcpy(o + PK4_D + 2 * r, &x->d, 2);
			memcpy(o + PK4_DMIN + 2 * r, &x->dmin, 2);
			for (g = 0; g < 8; g++) {
				quant_k4_scale_min(g, x->scales, &sc, &m);
				o[PK4_SC + PANEL_ROWS * g + r] = (char)sc;
				o[PK4_M + 2 * PANEL_ROWS * (g / 2) + 2 * r +
				    g % 2] = (char)m;
			}
		}
		/* run k of quarter j is word 8j + k: 64 bytes apart */
		x = (const struct block_q4_K *)w + i;
		for (k = 0; k < QK_K / 8; k++)
			_mm512_store_si512(o + PK4_Q + 64 * k,
			    _mm512_i32gather_epi32(idx, x->qs + 4 * k, 1));
	}
}

static size_t
panel_size_q4_K(int n)
{
	return (size_t)(n / QK_K) * PK4_BLOCK;
}

/* A single token's activations: Q8_K, as the rows' dots take them. */
static size_t
panel_act_size_q8_K(int n)
{
	return (size_t)(n / QK_K) * sizeof (struct block_q8_K);
}

static void
panel_quantize_q8_K(const float *x, void *a, int n)
{
	quantize_row_q8_K_avx2(x, a, n);
}

/*
 * Block o of a Q4_K panel against y into f.  The high nibbles are taken
 * in place, as 16 times themselves (no shift), and their groups' sum is
 * divided by 16 once, exactly.
 */
AMX_INLINE __m512
panel_block_q4_K(const char *o, const struct block_q8_K *y, __m512 f)
{
	const __m512i	 low = _mm512_set1_epi8(0x0f);
	const __m512i	 high = _mm512_set1_epi8((char)0xf0);
	__m512i		 sl, sh, summ, dl, dh, v;
	int32_t		 a, bs;
	int		 j, k;

	sl = sh = summ = _mm512_setzero_si512();
#pragma GCC unroll 4
	for (j = 0; j < 4; j++) {
		dl = dh = _mm512_setzero_si512();
#pragma GCC unroll 8
		for (k = 0; k < 8; k++) {
			v = _mm512_load_si512(o + PK4_Q + 512 * j + 64 * k);
			memcpy(&a, y->qs + 64 * j + 4 * k, sizeof a);
			dl = _mm512_dpbusd_epi32(dl, _mm512_and_si512(v, low),
			    _mm512_set1_epi32(a));
			memcpy(&a, y->qs + 64 * j + 32 + 4 * k, sizeof a);
			dh = _mm512_dpbusd_epi32(dh, _mm512_and_si512(v, high),
			    _mm512_set1_epi32(a));
		}
		sl = _mm512_add_epi32(sl, _mm512_mullo_epi32(dl,
		    _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)
		    (o + PK4_SC + PANEL_ROWS * 2 * j)))));
		sh = _mm512_add_epi32(sh, _mm512_mullo_epi32(dh,
		    _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)
		    (o + PK4_SC + PANEL_ROWS * (2 * j + 1))))));
		/* groups 2j and 2j + 1's sums, as two int16 */
		bs = (uint16_t)(y->bsums[4 * j] + y->bsums[4 * j + 1]) |
		    (int32_t)((uint32_t)(uint16_t)(y->bsums[4 * j + 2] +
		    y->bsums[4 * j + 3]) << 16);
		summ = _mm512_dpwssd_epi32(summ, _mm512_cvtepu8_epi16(
		    _mm256_load_si256((const __m256i *)(o + PK4_M +
		    2 * PANEL_ROWS * j))), _mm512_set1_epi32(bs));
	}
	sl = _mm512_add_epi32(sl, _mm512_srai_epi32(sh, 4));
	f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sl), _mm512_mul_ps(
	    _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(o + PK4_D))),
	    _mm512_set1_ps(y->d)), f);
	return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(summ), _mm512_mul_ps(
	    _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)
	    (o + PK4_DMIN))), _mm512_set1_ps(y->d)), f);
}

SIMD_AMX static void
panel_dot_q4_K(int n, float *s, const void *p, const void *va)
{
	const struct block_q8_K	*y = va;
	const char		*o;
	__m512			 f = _mm512_setzero_ps();
	int			 nb = n / QK_K, i, k;

	for (i = 0; i < nb; i++) {
		o = (const char *)p + (size_t)i * PK4_BLOCK;
		for (k = 0; k < PK4_BLOCK; k += 64)
			_mm_prefetch(o + PK4_AHEAD + k, _MM_HINT_T1);
		f = panel_block_q4_K(o, y + i, f);
	}
	_mm512_storeu_ps(s, f);
}

/*
 * Prompts: AMX_TOKS tokens' activations a chunk (struct quant_gemm's toks),
 * group after group of 32: the group's 16 x 32 quants (the A tile, a
 * token a row), the 16 tokens' scales, then a word each: Q8_0's
 * corrections (int32), Q4_K's scale times the group's sum (float).
 */
#define PANEL_APANEL	(PANEL_ROWS * 32 + 64 + 64)

/* Puts token t's group of quants q, its scale and word w into o. */
static inline void
panel_put_act(char *o, int t, const int8_t *q, float dy, const void *w)
{
	memcpy(o + 32 * t, q, 32);
	memcpy(o + PANEL_ROWS * 32 + 4 * t, &dy, 4);
	memcpy(o + PANEL_ROWS * 32 + 64 + 4 * t, w, 4);
}

static void
panel_pack_acts_q8_0(const float *x, int ntok, void *va, int n)
{
	struct block_q8_0	 q[16];
	int32_t			 c[16];
	char			*a = va;
	int			 nb = n / QK8_0, t, b, b0, nv;

	memset(a, 0, (size_t)nb * PANEL_APANEL);
	for (t = 0; t < ntok; t++) {
		for (b0 = 0; b0 < nb; b0 += 16) {
			nv = nb - b0 < 16 ? nb - b0 : 16;
			quantize_row_q8_0_avx2(x + (size_t)t * n + b0 *
			    QK8_0, q, (int64_t)nv * QK8_0);
			panel_corr(q, nv, c);
			for (b = 0; b < nv; b++)
				panel_put_act(a + (size_t)(b0 + b) *
				    PANEL_APANEL, t, q[b].qs,
				    quant_h2f(q[b].d), &c[b]);
		}
	}
}

static void
panel_pack_acts_q8_K(const float *x, int ntok, void *va, int n)
{
	struct block_q8_K	 q;
	char			*a = va;
	float			 ys;
	int			 nb = n / QK_K, t, i, g;

	memset(a, 0, (size_t)(n / 32) * PANEL_APANEL);
	for (t = 0; t < ntok; t++) {
		for (i = 0; i < nb; i++) {
			quantize_row_q8_K_avx2(x + (size_t)t * n + i * QK_K,
			    &q, QK_K);
			for (g = 0; g < QK_K / 32; g++) {
				ys = q.d * (float)(q.bsums[2 * g] +
				    q.bsums[2 * g + 1]);
				panel_put_act(a + (size_t)(8 * i + g) *
				    PANEL_APANEL, t, q.qs + 32 * g, q.d, &ys);
			}
		}
	}
}

/*
 * What pack_w hands tile: the panel, the one after it and the bytes of
 * one; for Q4_K then, from byte 64, each group's 16 rows unpacked to
 * bytes as the B operand of tdpbsud (PK4_U), their scales d * sc and
 * mins dmin * m as floats.
 */
struct panel_w {
	const char	*p;
	const char	*next;
	size_t		 bytes;
};
#define PK4_UGROUP	(512 + 64 + 64)
#define PK4_U(h, g)	((const char *)(h) + 64 + (size_t)(g) * PK4_UGROUP)

static void
panel_pack_head(struct panel_w *h, const void *w, size_t bytes)
{
	h->p = w;
	h->next = (const char *)w + bytes;
	h->bytes = bytes;
}

static void
panel_pack_w_q8_0(const void *w, size_t wrow, int nrows, void *vp, int n)
{
	(void)wrow;
	(void)nrows;
	panel_pack_head(vp, w, panel_size_q8_0(n));
}

SIMD_AMX static void
panel_pack_w_q4_K(const void *w, size_t wrow, int nrows, void *vp, int n)
{
	const __m512i	 low = _mm512_set1_epi8(0x0f);
	const char	*o;
	char		*u;
	__m512i		 v, mm;
	__m512		 d, dmin;
	int		 nb = n / QK_K, i, j, k, g;

	(void)wrow;
	(void)nrows;
	panel_pack_head(vp, w, panel_size_q4_K(n));
	for (i = 0; i < nb; i++) {
		o = (const char *)w + (size_t)i * PK4_BLOCK;
		d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)
		    (o + PK4_D)));
		dmin = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)
		    (o + PK4_DMIN)));
		for (j = 0; j < 4; j++) {
			u = (char *)PK4_U(vp, 8 * i + 2 * j);
			for (k = 0; k < 8; k++) {
				v = _mm512_load_si512(o + PK4_Q + 512 * j +
				    64 * k);
				_mm512_store_si512(u + 64 * k,
				    _mm512_and_si512(v, low));
				_mm512_store_si512(u + PK4_UGROUP + 64 * k,
				    _mm512_and_si512(_mm512_srli_epi16(v, 4),
				    low));
			}
			mm = _mm512_cvtepu8_epi16(_mm256_load_si256(
			    (const __m256i *)(o + PK4_M + 2 * PANEL_ROWS *
			    j)));
			for (g = 0; g < 2; g++) {
				_mm512_store_ps(u + g * PK4_UGROUP + 512,
				    _mm512_mul_ps(d, _mm512_cvtepi32_ps(
				    _mm512_cvtepu8_epi32(_mm_load_si128(
				    (const __m128i *)(o + PK4_SC + PANEL_ROWS *
				    (2 * j + g)))))));
				_mm512_store_ps(u + g * PK4_UGROUP + 576,
				    _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(
				    g == 0 ? _mm512_and_si512(mm,
				    _mm512_set1_epi32(0xffff)) :
				    _mm512_srli_epi32(mm, 16))));
			}
		}
	}
}

/*
 * f[t] += (the stored dots c of the chunk's token t with the 16 rows)
 * times the rows' scales dsc times the token's scale, for the chunk's
 * group at a: Q8_0's corrected first, Q4_K's mins (dmm) taken off.
 */
AMX_INLINE void
panel_scale(__m512 *f, const int32_t *c, __m512 dsc, __m512 dmm, int mins,
    const char *a)
{
	const float	*dy = (const float *)(a + PANEL_ROWS * 32);
	const float	*ys = (const float *)(a + PANEL_ROWS * 32 + 64);
	const int32_t	*corr = (const int32_t *)(a + PANEL_ROWS * 32 + 64);
	__m512i		 ci;
	int		 t;

#pragma GCC unroll 16
	for (t = 0; t < AMX_TOKS; t++) {
		ci = _mm512_load_si512(c + 16 * t);
		if (!mins)
			ci = _mm512_add_epi32(ci, _mm512_set1_epi32(corr[t]));
		f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ci), _mm512_mul_ps(
		    dsc, _mm512_set1_ps(dy[t])), f[t]);
		if (mins)
			f[t] = _mm512_fnmadd_ps(dmm, _mm512_set1_ps(ys[t]),
			    f[t]);
	}
}

/* Group b's weights (as tdpbsud's B), scales and mins. */
#define PANEL_WQ(b)	(mins ? PK4_U(h, b) : PANEL_Q(h->p, b))
#define PANEL_DSC(b)	(mins ? _mm512_load_ps(PK4_U(h, b) + 512) :	\
	_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)		\
	PANEL_SC(h->p, b))))
#define PANEL_DMM(b)	(mins ? _mm512_load_ps(PK4_U(h, b) + 576) :	\
	_mm512_setzero_ps())

/* Chunk ch of the group at token g: its group b. */
#define PANEL_ACH(ch)	((const char *)pa + ((size_t)g + (size_t)(ch) * \
	AMX_TOKS) * arow + (size_t)b * PANEL_APANEL)

/* The dots of a chunk's pair of groups at a with the weights' (tiles 2,
 * 3) into tiles C0, C1. */
#define PANEL_ISSUE(C0, C1, a) do {					\
	_tile_zero(C0);							\
	_tile_zero(C1);							\
	_tile_loadd(0, (a), 32);					\
	_tile_loadd(1, (a) + PANEL_APANEL, 32);				\
	_tile_dpbsud(C0, 0, 2);						\
	_tile_dpbsud(C1, 1, 3);						\
} while (0)

/* Scales chunk ch's dots, in tiles C0 and C1 (stored to c0, c1). */
#define PANEL_SCALE(C0, C1, c0, c1, ch) do {				\
	AMX_STORE(C0, c0);						\
	AMX_STORE(C1, c1);						\
	panel_scale(f[ch], c0, dsc0, dmm0, mins, PANEL_ACH(ch));	\
	panel_scale(f[ch], c1, dsc1, dmm1, mins, PANEL_ACH(ch) +	\
	    PANEL_APANEL);						\
} while (0)

/*
 * The tile product over ng groups of 32 (an even count): per group of
 * up to AMX_GROUP chunks, per pair of groups, the two groups' weights
 * are loaded as tiles once and multiplied (tdpbsud: signed tokens,
 * unsigned weights) with each chunk's, chunk ch + 1's while ch's are
 * scaled (even chunks' dots in tiles 4, 5, odd ones' in 6, 7); the next
 * panel's bytes are asked for meanwhile, a pair's share a pair.
 */
AMX_INLINE void
panel_tile(int mins, int ng, const struct panel_w *h, const void *pa,
    size_t arow, int ntok, float *y, size_t ldy)
{
	int32_t		 c[4][256] __attribute__((aligned(64)));
	__m512		 f[AMX_GROUP][AMX_TOKS], dsc0, dsc1, dmm0, dmm1;
	size_t		 o;
	int		 g, nch, ch, b, t, nt;

	/* tiles 0, 1: tokens; 2, 3: weights */
	amx_config(32);
	for (g = 0; g < ntok; g += AMX_GROUP * AMX_TOKS) {
		nch = amx_chunks(ntok, g);
		memset(f, 0, sizeof f);
		for (b = 0; b < ng; b += 2) {
			for (o = b * h->bytes / ng & ~(size_t)63;
			    o < (b + 2) * h->bytes / ng; o += 64)
				_mm_prefetch(h->next + o, _MM_HINT_T1);
			_tile_loadd(2, PANEL_WQ(b), 64);
			_tile_loadd(3, PANEL_WQ(b + 1), 64);
			dsc0 = PANEL_DSC(b);
			dsc1 = PANEL_DSC(b + 1);
			dmm0 = PANEL_DMM(b);
			dmm1 = PANEL_DMM(b + 1);
			PANEL_ISSUE(4, 5, PANEL_ACH(0));
			for (ch = 0; ch < nch; ch += 2) {
				if (ch + 1 < nch)
					PANEL_ISSUE(6, 7, PANEL_ACH(ch + 1));
				PANEL_SCALE(4, 5, c[0], c[1], ch);
				if (ch + 1 >= nch)
					break;
				if (ch + 2 < nch)
					PANEL_ISSUE(4, 5, PANEL_ACH(ch + 2));
				PANEL_SCALE(6, 7, c[2], c[3], ch + 1);
			}
		}
		for (ch = 0; ch < nch; ch++) {
			nt = ntok - g - ch * AMX_TOKS;
			if (nt > AMX_TOKS)
				nt = AMX_TOKS;
			for (t = 0; t < nt; t++)
				_mm512_storeu_ps(y + (size_t)(g + ch *
				    AMX_TOKS + t) * ldy, f[ch][t]);
		}
	}
	_tile_release();
}
#undef PANEL_WQ
#undef PANEL_DSC
#undef PANEL_DMM
#undef PANEL_ACH
#undef PANEL_ISSUE
#undef PANEL_SCALE

SIMD_AMX static void
panel_tile_q8_0(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows)
{
	(void)nrows;
	panel_tile(0, n / QK8_0, pw, pa, arow, ntok, y, ldy);
}

SIMD_AMX static void
panel_tile_q4_K(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows)
{
	(void)nrows;
	panel_tile(1, n / 32, pw, pa, arow, ntok, y, ldy);
}

static const struct quant_gemm panel_gemm_q8_0 = {
	.panel = 32,
	.act_panel = PANEL_APANEL / AMX_TOKS,
	.w_panel = 64,
	.pack_w = panel_pack_w_q8_0,
	.tile = panel_tile_q8_0,
	.rows = PANEL_ROWS,
	.toks = AMX_TOKS,
	.pack_acts = panel_pack_acts_q8_0,
};
static const struct quant_gemm panel_gemm_q4_K = {
	.panel = 32,
	.act_panel = PANEL_APANEL / AMX_TOKS,
	/* a group's unpacked bytes, and the header's share */
	.w_panel = PK4_UGROUP + 64,
	.pack_w = panel_pack_w_q4_K,
	.tile = panel_tile_q4_K,
	.rows = PANEL_ROWS,
	.toks = AMX_TOKS,
	.pack_acts = panel_pack_acts_q8_K,
};

static const struct quant_panel panel_q8_0 = {
	.cols_multiple = 2 * QK8_0,
	.size = panel_size_q8_0,
	.repack = panel_repack_q8_0,
	.act_size = panel_act_size,
	.quantize = panel_quantize_q8_0,
	.dot = panel_dot_q8_0,
	.gemm = &panel_gemm_q8_0,
};
static const struct quant_panel panel_q4_K = {
	.cols_multiple = QK_K,
	.size = panel_size_q4_K,
	.repack = panel_repack_q4_K,
	.act_size = panel_act_size_q8_K,
	.quantize = panel_quantize_q8_K,
	.dot = panel_dot_q4_K,
	.gemm = &panel_gemm_q4_K,
};

void
quant_register_panels(struct quant_traits *table)
{
	table[GGML_TYPE_Q8_0].panel = &panel_q8_0;
	table[GGML_TYPE_Q4_K].panel = &panel_q4_K;
}

#else

void
quant_register_panels(struct quant_traits *table)
{
	(void)table;
}

#endif
