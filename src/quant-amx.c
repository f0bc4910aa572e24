/*
 * quant-amx.c - prompt tiles on Intel's AMX (AMX-INT8) for Q8_0, Q4_K
 * and Q6_K weights: 16 weight rows by 16 tokens a tile product.
 *
 * One tdpbssd multiplies a tile of one scale group of 16 weight rows
 * (G bytes a row, G = 32, Q6_K's 16: the "A" operand) by a tile of the
 * same group of 16 tokens' activations (G / 4 rows of 4 bytes of 16
 * tokens: the layout tdpbssd wants), both signed, giving the 16 x 16
 * exact integer group dots.  Each is then scaled in float, the row's
 * dsc times the token's dy (less the row's dmm times the token's ysum
 * for Q4_K's mins), into 16 vectors of 16 tokens, one per weight row.
 *
 * Q8_0's weights are read in place from the map; the K-quants' are
 * unpacked to bytes, 16 rows at a time (struct amx_wtile).  Activations
 * are packed 16 tokens at a time (a chunk): per group, the B tile, then
 * the 16 tokens' dy and ysum; tokens past the last are zeros.
 */
#include "config.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "quant-amx.h"
#include "quant-impl.h"

#define AMX_ROWS	16		/* weight rows a tile */
/* Bytes a group of g takes in a chunk: the B tile, dy and ysum. */
#define AMX_APANEL(g)	(AMX_TOKS * (g) + 128)

#define ARCH_REQ_XCOMP_PERM	0x1023	/* arch_prctl: ask for a state */
#define XFEATURE_XTILEDATA	18	/* the tile data state */


int
quant_cpu_has_amx(void)
{
	unsigned int	a, b, c, d;

	if (!quant_cpu_has_avx512vnni() || !__get_cpuid_count(7, 0, &a, &b,
	    &c, &d))
		return 0;
	/* EDX bit 24: AMX-TILE, bit 25: AMX-INT8 */
	if (((d >> 24) & 3) != 3)
		return 0;
	/* Linux hands the tile state out only to processes that ask. */
	return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM,
	    XFEATURE_XTILEDATA) == 0;
}

/*
 * A packed weight tile: where group 0 of the 16 rows is and how far the
 * next row and the next group are (Q8_0: the weights themselves, or a
 * copy of the last few rows with zero rows after them; the K-quants:
 * their quants unpacked to bytes, G a row, 16 rows a group), then the
 * groups' scales as floats (dsc, 16 a group, and 16 zeros more for an
 * odd count of groups), then for Q4_K their mins (dmm, the same way),
 * then what base points into when it is not the weights.
 */
struct amx_wtile {
	const char	*base;
	size_t		 stride;	/* bytes from a row to the next */
	size_t		 step;		/* bytes from a group to the next */
	const char	*next;		/* the next tile's rows, as stored */
	size_t		 wrow;		/* bytes a stored row */
	char		 pad[24];	/* the scales start aligned */
};
_Static_assert(sizeof (struct amx_wtile) == 64, "amx_wtile size");

/* Sets what every packed tile says: the next 16 rows after vw's. */
static inline void
amx_wtile_next(struct amx_wtile *h, const void *vw, size_t wrow)
{
	h->next = (const char *)vw + AMX_ROWS * wrow;
	h->wrow = wrow;
}
/* Bytes a packed tile needs a group: scales, mins, quants, the rest. */
#define AMX_WPANEL	(64 + 64 + AMX_ROWS * sizeof (struct block_q8_0) + \
	3 * sizeof (struct amx_wtile))

/* Where the scales, the mins and the unpacked quants of h's ng groups are. */
#define AMX_DSC(h)		((float *)((struct amx_wtile *)(h) + 1))
#define AMX_DMM(h, ng)		(AMX_DSC(h) + 16 * ((ng) + 1))
#define AMX_QUANTS(h, ng)	((char *)(AMX_DMM(h, ng) + 16 * ((ng) + 1)))

/* Packs rows 0 .. nrows - 1 of n Q8_0 weights (struct quant_gemm). */
SIMD_AMX static void
amx_pack_w_q8_0(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	struct amx_wtile	*h = vp;
	float			*dsc = AMX_DSC(h);
	char			*copy;
	__m512i			 idx;
	int			 nb = n / QK8_0, b, r;

	copy = AMX_QUANTS(h, nb);
	amx_wtile_next(h, vw, wrow);
	h->base = (const char *)vw + offsetof(struct block_q8_0, qs);
	h->stride = wrow;
	h->step = sizeof (struct block_q8_0);
	if (nrows < AMX_ROWS) {
		/* the tile unit reads 16 rows: the missing ones are zeros */
		for (r = 0; r < AMX_ROWS; r++) {
			if (r < nrows)
				memcpy(copy + r * wrow, (const char *)vw +
				    r * wrow, wrow);
			else
				memset(copy + r * wrow, 0, wrow);
		}
		vw = copy;
		h->base = copy + offsetof(struct block_q8_0, qs);
	}
	idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)wrow),
	    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	    14, 15));
	for (b = 0; b < nb; b++)
		_mm512_storeu_ps(dsc + 16 * b, _mm512_cvtph_ps(
		    _mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx,
		    (const char *)vw + b * sizeof (struct block_q8_0), 1))));
	memset(dsc + 16 * nb, 0, 16 * sizeof *dsc);
}

/*
 * Starts the packed tile h of ng groups of G for unpacked quants: where
 * they are, rows nrows .. 15 and the odd group's scales as zeros (the
 * mins' too, present or not).  Returns where the quants go.
 */
static char *
amx_unpacked(struct amx_wtile *h, const void *vw, size_t wrow, int G,
    int ng, int nrows)
{
	float	*dsc = AMX_DSC(h), *dmm = AMX_DMM(h, ng);
	char	*q = AMX_QUANTS(h, ng);
	int	 j, r;

	amx_wtile_next(h, vw, wrow);
	h->base = q;
	h->stride = (size_t)G;
	h->step = (size_t)AMX_ROWS * G;
	for (r = nrows; r < AMX_ROWS; r++) {
		for (j = 0; j < ng; j++) {
			memset(q + ((size_t)j * AMX_ROWS + r) * G, 0, G);
			dsc[16 * j + r] = dmm[16 * j + r] = 0.0f;
		}
	}
	memset(dsc + 16 * ng, 0, 16 * sizeof *dsc);
	memset(dmm + 16 * ng, 0, 16 * sizeof *dmm);
	return q;
}

/* Packs rows 0 .. nrows - 1 of n Q4_K weights: groups of 32, mins. */
SIMD_AMX static void
amx_pack_w_q4_K(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	const struct block_q4_K	*x;
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	struct amx_wtile	*h = vp;
	int			 ng = n / 32, nb = n / QK_K, i, j, r;
	float			*dsc = AMX_DSC(h), *dmm = AMX_DMM(h, ng);
	float			 d, dmin;
	char			*q = amx_unpacked(h, vw, wrow, 32, ng, nrows);
	uint8_t			 sc, m;
	__m256i			 v;

	for (r = 0; r < nrows; r++) {
		x = (const struct block_q4_K *)((const char *)vw + r * wrow);
		for (i = 0; i < nb; i++) {
			d = quant_h2f(x[i].d);
			dmin = quant_h2f(x[i].dmin);
			for (j = 0; j < 8; j++) {
				quant_k4_scale_min(j, x[i].scales, &sc, &m);
				dsc[16 * (8 * i + j) + r] = d * sc;
				dmm[16 * (8 * i + j) + r] = dmin * m;
			}
			/* bytes 32j.. of qs: group 2j low, 2j + 1 high */
			for (j = 0; j < 4; j++) {
				v = _mm256_loadu_si256((const __m256i *)
				    (x[i].qs + 32 * j));
				_mm256_storeu_si256((__m256i *)(q + ((size_t)
				    (8 * i + 2 * j) * AMX_ROWS + r) * 32),
				    _mm256_and_si256(v, low));
				_mm256_storeu_si256((__m256i *)(q + ((size_t)
				    (8 * i + 2 * j + 1) * AMX_ROWS + r) * 32),
				    _mm256_and_si256(_mm256_srli_epi16(v, 4),
				    low));
			}
		}
	}
}

/*
 * Packs rows 0 .. nrows - 1 of n Q6_K weights: groups of 16, the quants
 * less 32 (signed).  Half k of a block: ql bytes 64k.. and qh bytes
 * 32k.. hold its 4 quarters of 32, bits 2q of qh the top of quarter q.
 */
SIMD_AMX static void
amx_pack_w_q6_K(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	const struct block_q6_K	*x;
	const __m256i		 low = _mm256_set1_epi8(0x0f);
	const __m256i		 two = _mm256_set1_epi8(0x03);
	const __m256i		 off = _mm256_set1_epi8(32);
	struct amx_wtile	*h = vp;
	int			 ng = n / 16, nb = n / QK_K, i, j, k, r, g;
	float			*dsc = AMX_DSC(h), d;
	char			*q = amx_unpacked(h, vw, wrow, 16, ng, nrows);
	__m256i			 l[2], hi, v[4];

	for (r = 0; r < nrows; r++) {
		x = (const struct block_q6_K *)((const char *)vw + r * wrow);
		for (i = 0; i < nb; i++) {
			d = quant_h2f(x[i].d);
			for (j = 0; j < 16; j++)
				dsc[16 * (16 * i + j) + r] = d *
				    x[i].scales[j];
			for (k = 0; k < 2; k++) {
				l[0] = _mm256_loadu_si256((const __m256i *)
				    (x[i].ql + 64 * k));
				l[1] = _mm256_loadu_si256((const __m256i *)
				    (x[i].ql + 64 * k + 32));
				hi = _mm256_loadu_si256((const __m256i *)
				    (x[i].qh + 32 * k));
				for (j = 0; j < 4; j++) {
					/* quarter j: nibble j / 2 of l[j % 2] */
					v[j] = _mm256_or_si256(_mm256_and_si256(
					    j < 2 ? l[j] : _mm256_srli_epi16(
					    l[j - 2], 4), low),
					    _mm256_slli_epi16(_mm256_and_si256(
					    _mm256_srli_epi16(hi, 2 * j), two),
					    4));
					v[j] = _mm256_sub_epi8(v[j], off);
					g = 16 * i + 8 * k + 2 * j;
					_mm_storeu_si128((__m128i *)(q +
					    ((size_t)g * AMX_ROWS + r) * 16),
					    _mm256_castsi256_si128(v[j]));
					_mm_storeu_si128((__m128i *)(q +
					    ((size_t)(g + 1) * AMX_ROWS + r) *
					    16), _mm256_extracti128_si256(v[j],
					    1));
				}
			}
		}
	}
}

/*
 * Puts token t's group of G quants q (G / 4 words) into a chunk's panel
 * p, with the group's scale dy and dy times the quants' sum.
 */
static inline void
amx_put_act(char *p, int G, int t, const int8_t *q, float dy, float ysum)
{
	int	k;

	for (k = 0; k < G / 4; k++)
		memcpy(p + 64 * k + 4 * t, q + 4 * k, 4);
	((float *)(p + AMX_TOKS * G))[t] = dy;
	((float *)(p + AMX_TOKS * G + 64))[t] = ysum;
}

/*
 * Quantizes ntok (<= AMX_TOKS) rows of n floats to Q8_0 and packs them
 * as one chunk at va (struct quant_gemm's pack_acts; ysum unused).
 */
static void
amx_pack_act_q8_0(const float *x, int ntok, void *va, int n)
{
	struct block_q8_0	 q[16];
	char			*a = va;
	int			 nb = n / QK8_0, t, b, b0, nv;

	memset(a, 0, (size_t)nb * AMX_APANEL(32));
	for (t = 0; t < ntok; t++) {
		for (b0 = 0; b0 < nb; b0 += 16) {
			nv = nb - b0 < 16 ? nb - b0 : 16;
			quantize_row_q8_0_avx2(x + (size_t)t * n + b0 *
			    QK8_0, q, (int64_t)nv * QK8_0);
			for (b = 0; b < nv; b++)
				amx_put_act(a + (size_t)(b0 + b) *
				    AMX_APANEL(32), 32, t, q[b].qs,
				    quant_h2f(q[b].d), 0.0f);
		}
	}
}

/* As amx_pack_act_q8_0, to Q8_K, in groups of G (16 or 32). */
static void
amx_pack_act_q8_K(const float *x, int ntok, void *va, int n, int G)
{
	struct block_q8_K	 q;
	char			*a = va;
	int			 nb = n / QK_K, t, i, j, k, s;

	memset(a, 0, (size_t)(n / G) * AMX_APANEL(G));
	for (t = 0; t < ntok; t++) {
		for (i = 0; i < nb; i++) {
			quantize_row_q8_K_avx2(x + (size_t)t * n + i * QK_K,
			    &q, QK_K);
			for (j = 0; j < QK_K / G; j++) {
				for (s = 0, k = 0; k < G / 16; k++)
					s += q.bsums[j * G / 16 + k];
				amx_put_act(a + (size_t)(i * QK_K / G + j) *
				    AMX_APANEL(G), G, t, q.qs + j * G, q.d,
				    q.d * (float)s);
			}
		}
	}
}

static void
amx_pack_act_g32(const float *x, int ntok, void *va, int n)
{
	amx_pack_act_q8_K(x, ntok, va, n, 32);
}

static void
amx_pack_act_g16(const float *x, int ntok, void *va, int n)
{
	amx_pack_act_q8_K(x, ntok, va, n, 16);
}

/*
 * f[r] += the stored dots of groups j and j + 1 (c0, c1) of row r, each
 * scaled by its dsc[r] * dy, less dmm[r] * ysum where there are mins.
 */
AMX_INLINE void
amx_scale2(__m512 *f, const int32_t *c0, const int32_t *c1, const float *dsc,
    const float *dmm, const char *a0, const char *a1, int G)
{
	__m512		 dy0 = _mm512_loadu_ps(a0 + AMX_TOKS * G);
	__m512		 dy1 = _mm512_loadu_ps(a1 + AMX_TOKS * G);
	__m512		 ys0, ys1;
	int		 r;

	ys0 = ys1 = _mm512_setzero_ps();
	if (dmm != NULL) {
		ys0 = _mm512_loadu_ps(a0 + AMX_TOKS * G + 64);
		ys1 = _mm512_loadu_ps(a1 + AMX_TOKS * G + 64);
	}
#pragma GCC unroll 16
	for (r = 0; r < AMX_ROWS; r++) {
		f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
		    _mm512_load_si512(c0 + 16 * r)), _mm512_mul_ps(
		    _mm512_set1_ps(dsc[r]), dy0), f[r]);
		f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
		    _mm512_load_si512(c1 + 16 * r)), _mm512_mul_ps(
		    _mm512_set1_ps(dsc[16 + r]), dy1), f[r]);
		if (dmm != NULL) {
			f[r] = _mm512_fnmadd_ps(_mm512_set1_ps(dmm[r]), ys0,
			    f[r]);
			f[r] = _mm512_fnmadd_ps(_mm512_set1_ps(dmm[16 + r]),
			    ys1, f[r]);
		}
	}
}


/* Group j's quants in the 16 rows, and chunk a's group j. */
#define AMX_W(j)	(h->base + (size_t)(j) * h->step)
#define AMX_A(j)	(a + (size_t)(j) * AMX_APANEL(G))
/* Chunk ch of the group at token g. */
#define AMX_CH(ch)	((const char *)pa + ((size_t)g + (size_t)(ch) * \
	AMX_TOKS) * arow)
/* The dots of groups j (and j + 1 if two) of the chunk at ca with the
 * weights' (tiles 0, 1) into tiles C0, C1. */
#define AMX_ISSUE(C0, C1, ca) do {					\
	_tile_zero(C0);							\
	_tile_loadd(2, (ca) + (size_t)j * AMX_APANEL(G), 64);		\
	_tile_dpbssd(C0, 0, 2);						\
	if (two) {							\
		_tile_zero(C1);						\
		_tile_loadd(3, (ca) + (size_t)(j + 1) *			\
		    AMX_APANEL(G), 64);					\
		_tile_dpbssd(C1, 1, 3);					\
	}								\
} while (0)

/*
 * The tile product (struct quant_gemm) for groups of G (32 or 16), with
 * mins or not.  Tokens go in groups of up to AMX_GROUP chunks; per group
 * the scale groups go two at a time, each pair's weight tiles loaded
 * once and multiplied with every chunk in turn, the float sums of all
 * the group's chunks kept in f.  An odd last group pairs with zeros (the
 * packer's zero scales).  Meanwhile the next tile's rows as stored (the
 * weights the next call's packer reads, if there is one) are asked for,
 * a pair's worth a pair, so they come from the cache.
 */
AMX_INLINE void
amx_tile(int G, int mins, int ng, const void *pw, const void *pa,
    size_t arow, int ntok, float *y, size_t ldy, int nrows)
{
	const struct amx_wtile	*h = pw;
	const float		*dsc = AMX_DSC(h);
	const float		*dmm = mins ? AMX_DMM(h, ng) : NULL;
	const char		*a;
	int32_t			 c[4][256] __attribute__((aligned(64)));
	__m512			 f[AMX_GROUP][AMX_ROWS];
	float			 out[AMX_ROWS][16];
	const __m512i		 col = _mm512_setr_epi32(0, 16, 32, 48, 64, 80,
	    96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
	const __mmask16		 rmask = (__mmask16)((1u << nrows) - 1);
	size_t			 o;
	int			 g, nch, ch, j, r, t, nt, two;

	/* tiles 0, 1: weights; 2, 3: activations */
	amx_config(G);
	/* an odd last group scales c[1], c[3] by zeros: let them hold
	 * numbers */
	memset(c[1], 0, sizeof c[1]);
	memset(c[3], 0, sizeof c[3]);
	for (g = 0; g < ntok; g += AMX_GROUP * AMX_TOKS) {
		nch = amx_chunks(ntok, g);
		memset(f, 0, sizeof f);
		for (j = 0; j < ng; j += 2) {
			/* the next rows' bytes for groups j, j + 1 */
			for (o = j * h->wrow / ng & ~(size_t)63;
			    o < (j + 2) * h->wrow / ng; o += 64)
				for (r = 0; r < AMX_ROWS; r++)
					_mm_prefetch(h->next + r * h->wrow + o,
					    _MM_HINT_T1);
			two = j + 1 < ng;
			_tile_loadd(0, AMX_W(j), h->stride);
			if (two)
				_tile_loadd(1, AMX_W(j + 1), h->stride);
			/* chunk ch + 1's products run while ch's are scaled:
			 * even chunks' dots go to tiles 4, 5, odd ones' to 6,
			 * 7 */
			AMX_ISSUE(4, 5, AMX_CH(0));
			for (ch = 0; ch < nch; ch += 2) {
				if (ch + 1 < nch)
					AMX_ISSUE(6, 7, AMX_CH(ch + 1));
				AMX_STORE(4, c[0]);
				if (two)
					AMX_STORE(5, c[1]);
				a = AMX_CH(ch);
				amx_scale2(f[ch], c[0], c[1], dsc + 16 * j,
				    mins ? dmm + 16 * j : NULL, AMX_A(j),
				    AMX_A(two ? j + 1 : j), G);
				if (ch + 1 >= nch)
					break;
				if (ch + 2 < nch)
					AMX_ISSUE(4, 5, AMX_CH(ch + 2));
				AMX_STORE(6, c[2]);
				if (two)
					AMX_STORE(7, c[3]);
				a = AMX_CH(ch + 1);
				amx_scale2(f[ch + 1], c[2], c[3], dsc + 16 * j,
				    mins ? dmm + 16 * j : NULL, AMX_A(j),
				    AMX_A(two ? j + 1 : j), G);
			}
		}
		/* token t's 16 results are column t of f[ch] */
		for (ch = 0; ch < nch; ch++) {
			for (r = 0; r < AMX_ROWS; r++)
				_mm512_storeu_ps(out[r], f[ch][r]);
			nt = ntok - g - ch * AMX_TOKS;
			if (nt > AMX_TOKS)
				nt = AMX_TOKS;
			for (t = 0; t < nt; t++)
				_mm512_mask_storeu_ps(y + (size_t)(g + ch *
				    AMX_TOKS + t) * ldy, rmask,
				    _mm512_i32gather_ps(col, &out[0][t], 4));
		}
	}
	_tile_release();
}
#undef AMX_W
#undef AMX_A
#undef AMX_CH
#undef AMX_ISSUE

/* The tile products of Q8_0, Q4_K and Q6_K. */
SIMD_AMX static void
amx_tile_q8_0(int n, const void *pw, const void *pa, size_t arow, int ntok,
    float *y, size_t ldy, int nrows)
{
	amx_tile(32, 0, n / QK8_0, pw, pa, arow, ntok, y, ldy, nrows);
}

SIMD_AMX static void
amx_tile_q4_K(int n, const void *pw, const void *pa, size_t arow, int ntok,
    float *y, size_t ldy, int nrows)
{
	amx_tile(32, 1, n / 32, pw, pa, arow, ntok, y, ldy, nrows);
}

SIMD_AMX static void
amx_tile_q6_K(int n, const void *pw, const void *pa, size_t arow, int ntok,
    float *y, size_t ldy, int nrows)
{
	amx_tile(16, 0, n / 16, pw, pa, arow, ntok, y, ldy, nrows);
}

/* Panels of G elements, AMX_TOKS tokens packed together. */
#define GEMM_AMX(G, w, t, acts) {					\
	.panel = (G), .act_panel = AMX_APANEL(G) / AMX_TOKS,		\
	.w_panel = AMX_WPANEL, .pack_w = (w), .tile = (t),		\
	.rows = AMX_ROWS, .toks = AMX_TOKS, .pack_acts = (acts),	\
}
static const struct quant_gemm gemm_amx_q8_0 = GEMM_AMX(32, amx_pack_w_q8_0,
    amx_tile_q8_0, amx_pack_act_q8_0);
static const struct quant_gemm gemm_amx_q4_K = GEMM_AMX(32, amx_pack_w_q4_K,
    amx_tile_q4_K, amx_pack_act_g32);
static const struct quant_gemm gemm_amx_q6_K = GEMM_AMX(16, amx_pack_w_q6_K,
    amx_tile_q6_K, amx_pack_act_g16);

void
quant_register_amx(struct quant_traits *table)
{
	table[GGML_TYPE_Q8_0].gemm = &gemm_amx_q8_0;
	table[GGML_TYPE_Q4_K].gemm = &gemm_amx_q4_K;
	table[GGML_TYPE_Q6_K].gemm = &gemm_amx_q6_K;
}

#else

int
quant_cpu_has_amx(void)
{
	return 0;
}

void
quant_register_amx(struct quant_traits *table)
{
	(void)table;
}

#endif
