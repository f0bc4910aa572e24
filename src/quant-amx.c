/*
 * quant-amx.c - prompt tiles on Intel's AMX (AMX-INT8): Q8_0 weights
 * against Q8_0 activations, 16 weight rows by 16 tokens a tile product.
 *
 * One tdpbssd multiplies a 16 x 32-byte tile of weights (16 rows, one
 * block each: the "A" operand) by a tile of 16 tokens' activations for
 * the same block (the "B" operand, 8 rows of 4 bytes of 16 tokens: the
 * layout tdpbssd wants), both signed, giving the 16 x 16 exact integer
 * block dots.  Each is then scaled in float, dw of its row times da of
 * its token, into 16 vectors of 16 tokens, one per weight row.  Two
 * blocks are in flight at a time, so that the tile unit works on one
 * while the vectors scale the other.
 *
 * A packed weight tile is, per block (a panel): the 16 rows' 32 quants
 * (512 bytes), then their 16 scales as floats.  Activations are packed
 * 16 tokens at a time (a chunk): per block, the B tile (512 bytes), then
 * the 16 tokens' scales; tokens past the last are zeros.
 */
#include "config.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "quant-impl.h"

#define AMX_ROWS	16		/* weight rows a tile */
#define AMX_TOKS	16		/* tokens a chunk */
#define AMX_PANEL	(512 + 64)	/* bytes a block of a chunk */
#define AMX_GROUP	8		/* chunks a pass over the weights */

#define ARCH_REQ_XCOMP_PERM	0x1023	/* arch_prctl: ask for a state */
#define XFEATURE_XTILEDATA	18	/* the tile data state */

#define AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq," \
	"f16c,fma,amx-tile,amx-int8")))

/* The tile configuration ldtilecfg reads (palette 1). */
struct amx_cfg {
	uint8_t		palette;
	uint8_t		start_row;
	uint8_t		reserved[14];
	uint16_t	colsb[16];
	uint8_t		rows[16];
};

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
 * A packed weight tile: where the 16 rows' blocks are (the weights
 * themselves, or a copy of the last few rows with zero rows after them),
 * then their scales as floats, 16 a block, and 16 zeros more when the
 * count of blocks is odd.  Per panel: 16 scales, a block of 16 rows when
 * copied, and a share of the header and of the zeros.
 */
struct amx_wtile {
	const char	*base;		/* row 0's blocks */
	size_t		 stride;	/* bytes from a row to the next */
	char		 pad[48];	/* the scales start aligned */
};
#define AMX_WPANEL	(64 + AMX_ROWS * sizeof (struct block_q8_0) + \
	2 * sizeof (struct amx_wtile))

/* Packs rows 0 .. nrows - 1 of n Q8_0 weights (struct quant_gemm). */
AMX static void
amx_pack_w_q8_0(const void *vw, size_t wrow, int nrows, void *vp, int n)
{
	struct amx_wtile	*h = vp;
	float			*dw = (float *)(h + 1);
	char			*copy = (char *)(dw + (size_t)16 *
	    (n / QK8_0 + 1));
	__m512i			 idx;
	int			 nb = n / QK8_0, b, r;

	h->base = vw;
	h->stride = wrow;
	if (nrows < AMX_ROWS) {
		/* the tile unit reads 16 rows: the missing ones are zeros */
		for (r = 0; r < AMX_ROWS; r++) {
			if (r < nrows)
				memcpy(copy + r * wrow, (const char *)vw +
				    r * wrow, wrow);
			else
				memset(copy + r * wrow, 0, wrow);
		}
		h->base = copy;
	}
	idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)wrow),
	    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	    14, 15));
	for (b = 0; b < nb; b++)
		_mm512_storeu_ps(dw + 16 * b, _mm512_cvtph_ps(
		    _mm512_cvtepi32_epi16(_mm512_i32gather_epi32(idx,
		    h->base + b * sizeof (struct block_q8_0), 1))));
	memset(dw + 16 * nb, 0, 16 * sizeof *dw);
}

/*
 * Quantizes ntok (<= AMX_TOKS) rows of n floats to Q8_0 and packs them
 * as one chunk at va.
 */
static void
amx_pack_act_q8_0(const float *x, int ntok, void *va, int n)
{
	const struct quant_traits *at = quant_traits(GGML_TYPE_Q8_0);
	struct block_q8_0	 q[16];
	char			*a = va, *blk;
	int			 nb = n / QK8_0, t, b, b0, nv, k;

	memset(a, 0, (size_t)nb * AMX_PANEL);
	for (t = 0; t < ntok; t++) {
		for (b0 = 0; b0 < nb; b0 += 16) {
			nv = nb - b0 < 16 ? nb - b0 : 16;
			at->from_float(x + (size_t)t * n + b0 * QK8_0, q,
			    (int64_t)nv * QK8_0);
			for (b = 0; b < nv; b++) {
				blk = a + (size_t)(b0 + b) * AMX_PANEL;
				for (k = 0; k < 8; k++)
					memcpy(blk + 64 * k + 4 * t,
					    q[b].qs + 4 * k, 4);
				((float *)(blk + 512))[t] = quant_h2f(q[b].d);
			}
		}
	}
}

/*
 * f[r] += the stored dots of blocks b and b + 1 (c0, c1) of row r, each
 * scaled by its dw[r] * da.
 */
AMX static inline __attribute__((always_inline)) void
amx_scale2(__m512 *f, const int32_t *c0, const int32_t *c1, const float *dw,
    const char *a0, const char *a1)
{
	__m512		 da0 = _mm512_loadu_ps(a0 + 512);
	__m512		 da1 = _mm512_loadu_ps(a1 + 512);
	int		 r;

#pragma GCC unroll 16
	for (r = 0; r < AMX_ROWS; r++) {
		f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
		    _mm512_load_si512(c0 + 16 * r)), _mm512_mul_ps(
		    _mm512_set1_ps(dw[r]), da0), f[r]);
		f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(
		    _mm512_load_si512(c1 + 16 * r)), _mm512_mul_ps(
		    _mm512_set1_ps(dw[16 + r]), da1), f[r]);
	}
}

/* Block b's quants in the 16 rows, and chunk a's block b. */
#define AMX_W(b)	(h->base + (size_t)(b) * sizeof (struct block_q8_0) + \
	offsetof(struct block_q8_0, qs))
#define AMX_A(b)	(a + (size_t)(b) * AMX_PANEL)

/*
 * tilestored of tile T into the 1 KiB at c, naming what it writes: the
 * intrinsic clobbers all memory, which kept the accumulators out of
 * registers.
 */
#define AMX_STORE(T, c)							\
	__asm__ volatile ("tilestored %%tmm" #T ", (%1,%2,1)"		\
	    : "=m" (*(int32_t (*)[256])(c)) : "r" (c), "r" (64L))

/*
 * The tile product (struct quant_gemm).  Tokens go in groups of up to
 * AMX_GROUP chunks; per group the blocks go two at a time, each pair's
 * weight tiles loaded once and multiplied with every chunk in turn, the
 * float sums of all the group's chunks kept in f.  An odd last block
 * pairs with zeros (the packer's zero scales).  Meanwhile the next
 * tile's rows (the weights the next call reads, if there is one) are
 * asked for, a pair's worth a pair, so they come from the cache.
 */
AMX static void
amx_tile_q8_0(int n, const void *pw, const void *pa, size_t arow, int ntok,
    float *y, size_t ldy, int nrows)
{
	const struct amx_wtile	*h = pw;
	const float		*dw = (const float *)(h + 1);
	const char		*next = h->base + AMX_ROWS * h->stride, *a;
	struct amx_cfg		 cfg;
	int32_t			 c[2][256] __attribute__((aligned(64)));
	__m512			 f[AMX_GROUP][AMX_ROWS];
	float			 out[AMX_ROWS][16];
	int			 nb = n / QK8_0, g, nch, ch, b, r, t, nt;

	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1;
	for (r = 0; r < 2; r++) {
		cfg.rows[r] = 16;	/* tiles 0, 1: weights */
		cfg.colsb[r] = 32;
		cfg.rows[2 + r] = 8;	/* tiles 2, 3: activations */
		cfg.colsb[2 + r] = 64;
		cfg.rows[4 + r] = 16;	/* tiles 4, 5: the dots */
		cfg.colsb[4 + r] = 64;
	}
	_tile_loadconfig(&cfg);
	for (g = 0; g < ntok; g += AMX_GROUP * AMX_TOKS) {
		nch = (ntok - g + AMX_TOKS - 1) / AMX_TOKS;
		if (nch > AMX_GROUP)
			nch = AMX_GROUP;
		memset(f, 0, sizeof f);
		memset(c[1], 0, sizeof c[1]);
		for (b = 0; b < nb; b += 2) {
			for (r = 0; r < AMX_ROWS; r++) {
				_mm_prefetch(next + r * h->stride + b *
				    sizeof (struct block_q8_0), _MM_HINT_T1);
				_mm_prefetch(next + r * h->stride + b *
				    sizeof (struct block_q8_0) + 64,
				    _MM_HINT_T1);
			}
			_tile_loadd(0, AMX_W(b), h->stride);
			if (b + 1 < nb)
				_tile_loadd(1, AMX_W(b + 1), h->stride);
			for (ch = 0; ch < nch; ch++) {
				a = (const char *)pa + ((size_t)g +
				    (size_t)ch * AMX_TOKS) * arow;
				_tile_zero(4);
				_tile_loadd(2, AMX_A(b), 64);
				_tile_dpbssd(4, 0, 2);
				if (b + 1 < nb) {
					_tile_zero(5);
					_tile_loadd(3, AMX_A(b + 1), 64);
					_tile_dpbssd(5, 1, 3);
				}
				AMX_STORE(4, c[0]);
				if (b + 1 < nb)
					AMX_STORE(5, c[1]);
				amx_scale2(f[ch], c[0], c[1], dw + 16 * b,
				    AMX_A(b), AMX_A(b + 1 < nb ? b + 1 : b));
			}
		}
		for (ch = 0; ch < nch; ch++) {
			for (r = 0; r < AMX_ROWS; r++)
				_mm512_storeu_ps(out[r], f[ch][r]);
			nt = ntok - g - ch * AMX_TOKS;
			if (nt > AMX_TOKS)
				nt = AMX_TOKS;
			for (t = 0; t < nt; t++)
				for (r = 0; r < nrows; r++)
					y[(size_t)(g + ch * AMX_TOKS + t) *
					    ldy + r] = out[r][t];
		}
	}
	_tile_release();
}
#undef AMX_STORE
#undef AMX_W
#undef AMX_A

static const struct quant_gemm gemm_amx_q8_0 = {
	QK8_0, AMX_PANEL / AMX_TOKS, AMX_WPANEL, NULL, amx_pack_w_q8_0,
	amx_tile_q8_0, AMX_ROWS, AMX_TOKS, amx_pack_act_q8_0,
};

void
quant_register_amx(struct quant_traits *table)
{
	quant_register_avx512_wide(table);
	table[GGML_TYPE_Q8_0].gemm = &gemm_amx_q8_0;
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
