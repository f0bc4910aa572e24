/*
 * quant-panel.c - Q8_0 weights repacked at load into panels of 16 rows
 * (struct quant_panel), for the amx kernel path (AVX-512 VNNI and
 * AMX-INT8).
 *
 * A panel holds its 16 rows' blocks interleaved, two blocks at a time
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
 * with AMX (2 threads, 512 MiB of copies) a single token's Q8_0 dots
 * read 33.2-34.0 GB/s against 28.2-29.1 for the rows in place (8960 x
 * 1536; its transpose alike).
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
 * for: 2 pairs (there 33.2-33.9 GB/s; 1 pair 32.8-33.2, 4 pairs
 * 31.0-32.1, none at all 27.3-28.6). */
#define PANEL_AHEAD	(2 * PANEL_PAIR)

/* Block b's scales and quants in the panel p. */
#define PANEL_SC(p, b)	((const char *)(p) + (size_t)((b) >> 1) * \
	PANEL_PAIR + 32 * ((b) & 1))
#define PANEL_Q(p, b)	((const char *)(p) + (size_t)((b) >> 1) * \
	PANEL_PAIR + 64 + 512 * ((b) & 1))

/* Block b of the 16 rows a word at a time: gathers down the rows. */
AMX static void
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

	quant_traits(GGML_TYPE_Q8_0)->from_float(x, a, n);
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
AMX static void
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
 * Prompts: 16 tokens' activations a chunk (struct quant_gemm's toks),
 * block after block: the block's 16 x 32 quants (the A tile, a token a
 * row), the 16 tokens' scales, their corrections.
 */
#define PANEL_APANEL	(PANEL_ROWS * QK8_0 + 64 + 64)
#define PANEL_TOKS	16
#define PANEL_GROUP	8	/* chunks a pass over a panel's blocks */

/* What pack_w hands tile: the panel, and the one after it. */
struct panel_w {
	const char	*p;
	const char	*next;
};

static void
panel_pack_w(const void *w, size_t wrow, int nrows, void *vp, int n)
{
	struct panel_w	*h = vp;

	(void)nrows;
	(void)n;
	h->p = w;
	h->next = (const char *)w + PANEL_ROWS * wrow;
}

static void
panel_pack_acts(const float *x, int ntok, void *va, int n)
{
	const struct quant_traits *at = quant_traits(GGML_TYPE_Q8_0);
	struct block_q8_0	 q[16];
	int32_t			 c[16];
	char			*a = va, *o;
	int			 nb = n / QK8_0, t, b, b0, nv;

	memset(a, 0, (size_t)nb * PANEL_APANEL);
	for (t = 0; t < ntok; t++) {
		for (b0 = 0; b0 < nb; b0 += 16) {
			nv = nb - b0 < 16 ? nb - b0 : 16;
			at->from_float(x + (size_t)t * n + b0 * QK8_0, q,
			    (int64_t)nv * QK8_0);
			panel_corr(q, nv, c);
			for (b = 0; b < nv; b++) {
				o = a + (size_t)(b0 + b) * PANEL_APANEL;
				memcpy(o + QK8_0 * t, q[b].qs, QK8_0);
				((float *)(o + PANEL_ROWS * QK8_0))[t] =
				    quant_h2f(q[b].d);
				((int32_t *)(o + PANEL_ROWS * QK8_0 + 64))[t] =
				    c[b];
			}
		}
	}
}

/*
 * f[t] += (the stored dots c of the chunk's token t with the 16 rows,
 * corrected) times the rows' scales dsc times the token's scale, for
 * the chunk's block at a.
 */
AMX_INLINE void
panel_scale(__m512 *f, const int32_t *c, __m512 dsc, const char *a)
{
	const float	*dy = (const float *)(a + PANEL_ROWS * QK8_0);
	const int32_t	*corr = (const int32_t *)(a + PANEL_ROWS * QK8_0 +
	    64);
	int		 t;

#pragma GCC unroll 16
	for (t = 0; t < PANEL_TOKS; t++)
		f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(
		    _mm512_load_si512(c + 16 * t), _mm512_set1_epi32(
		    corr[t]))), _mm512_mul_ps(dsc, _mm512_set1_ps(dy[t])),
		    f[t]);
}

/* panel_scale for the pair of blocks at a (c0: the first's dots). */
AMX_INLINE void
panel_scale2(__m512 *f, const int32_t *c0, const int32_t *c1, __m512 dsc0,
    __m512 dsc1, const char *a)
{
	panel_scale(f, c0, dsc0, a);
	panel_scale(f, c1, dsc1, a + PANEL_APANEL);
}

/* Chunk ch of the group at token g: its block b. */
#define PANEL_ACH(ch)	((const char *)pa + ((size_t)g + (size_t)(ch) * \
	PANEL_TOKS) * arow + (size_t)b * PANEL_APANEL)

/* The dots of a chunk's pair of blocks at a with the weights' (tiles 2,
 * 3) into tiles C0, C1. */
#define PANEL_ISSUE(C0, C1, a) do {					\
	_tile_zero(C0);							\
	_tile_zero(C1);							\
	_tile_loadd(0, (a), QK8_0);					\
	_tile_loadd(1, (a) + PANEL_APANEL, QK8_0);			\
	_tile_dpbsud(C0, 0, 2);						\
	_tile_dpbsud(C1, 1, 3);						\
} while (0)

/*
 * The tile product: per group of up to PANEL_GROUP chunks, per pair of
 * blocks, the two blocks' quants are loaded as tiles once and multiplied
 * (tdpbsud: signed tokens, unsigned weights) with each chunk's; the
 * next panel's pair is asked for meanwhile.
 */
AMX static void
panel_tile_q8_0(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows)
{
	const struct panel_w	*h = pw;
	int32_t			 c[4][256] __attribute__((aligned(64)));
	__m512			 f[PANEL_GROUP][PANEL_TOKS], dsc0, dsc1;
	int			 nb = n / QK8_0, g, nch, ch, b, k, t, nt;

	(void)nrows;
	/* tiles 0, 1: tokens; 2, 3: weights */
	amx_config(QK8_0);
	for (g = 0; g < ntok; g += PANEL_GROUP * PANEL_TOKS) {
		nch = (ntok - g + PANEL_TOKS - 1) / PANEL_TOKS;
		if (nch > PANEL_GROUP)
			nch = PANEL_GROUP;
		memset(f, 0, sizeof f);
		for (b = 0; b < nb; b += 2) {
			for (k = 0; k < PANEL_PAIR; k += 64)
				_mm_prefetch(PANEL_SC(h->next, b) + k,
				    _MM_HINT_T1);
			_tile_loadd(2, PANEL_Q(h->p, b), 64);
			_tile_loadd(3, PANEL_Q(h->p, b + 1), 64);
			dsc0 = _mm512_cvtph_ps(_mm256_loadu_si256(
			    (const __m256i *)PANEL_SC(h->p, b)));
			dsc1 = _mm512_cvtph_ps(_mm256_loadu_si256(
			    (const __m256i *)PANEL_SC(h->p, b + 1)));
			/* chunk ch + 1's products run while ch's are scaled:
			 * even chunks' dots go to tiles 4, 5, odd ones' to 6,
			 * 7 */
			PANEL_ISSUE(4, 5, PANEL_ACH(0));
			for (ch = 0; ch < nch; ch += 2) {
				if (ch + 1 < nch)
					PANEL_ISSUE(6, 7, PANEL_ACH(ch + 1));
				AMX_STORE(4, c[0]);
				AMX_STORE(5, c[1]);
				panel_scale2(f[ch], c[0], c[1], dsc0, dsc1,
				    PANEL_ACH(ch));
				if (ch + 1 >= nch)
					break;
				if (ch + 2 < nch)
					PANEL_ISSUE(4, 5, PANEL_ACH(ch + 2));
				AMX_STORE(6, c[2]);
				AMX_STORE(7, c[3]);
				panel_scale2(f[ch + 1], c[2], c[3], dsc0, dsc1,
				    PANEL_ACH(ch + 1));
			}
		}
		for (ch = 0; ch < nch; ch++) {
			nt = ntok - g - ch * PANEL_TOKS;
			if (nt > PANEL_TOKS)
				nt = PANEL_TOKS;
			for (t = 0; t < nt; t++)
				_mm512_storeu_ps(y + (size_t)(g + ch *
				    PANEL_TOKS + t) * ldy, f[ch][t]);
		}
	}
	_tile_release();
}

/* panel, act_panel, w_panel, pack_act, pack_w, tile, rows, toks, pack_acts */
static const struct quant_gemm panel_gemm_q8_0 = {
	QK8_0, PANEL_APANEL / PANEL_TOKS, sizeof (struct panel_w), NULL,
	panel_pack_w, panel_tile_q8_0, PANEL_ROWS, PANEL_TOKS,
	panel_pack_acts,
};

static const struct quant_panel panel_q8_0 = {
	2 * QK8_0, panel_repack_q8_0, panel_act_size, panel_quantize_q8_0,
	panel_dot_q8_0, &panel_gemm_q8_0,
};

void
quant_register_panels(struct quant_traits *table)
{
	table[GGML_TYPE_Q8_0].panel = &panel_q8_0;
}

#else

void
quant_register_panels(struct quant_traits *table)
{
	(void)table;
}

#endif
