/*
 * ops.c - matmul over quantized weights, attention over an F16 cache, and
 * the element-wise operations of a forward pass.
 *
 * The reductions follow ggml's arithmetic where it matters for agreement
 * with llama.cpp (rmsnorm and softmax sum in double, rope's angle by
 * repeated multiplication), so results differ from it by float rounding
 * only.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OPS_X86 1
#endif

#include "ops.h"
#include "quant.h"

/* Rows per matmul tile: a tile's weight rows stay in L1 across tokens. */
#define OPS_TILE_ROWS 4

/* From this many tokens on, types with gemm kernels use them. */
#define OPS_GEMM_MIN 4

/*
 * A single token's dots are handed out guided (large chunks first, then
 * ever smaller ones, down to this many units) rather than split evenly:
 * on a shared memory bus one thread often reads slower than the other,
 * and an even split left the faster one waiting (generation on Q4_K_M
 * 1.03-1.09 times as fast, the means of three sets of 8 alternating
 * runs, 22 of the 24 pairs faster; on Q8_0 1.09 times, 4 pairs).
 */
#define OPS_DOT_CHUNK 8

/* Below this many multiply-adds a matmul runs on the calling thread. */
#define OPS_PAR_MIN (1 << 15)

/* From this many elements on, swiglu runs on all threads. */
#define OPS_EW_PAR_MIN 4096

/* rope computes its cos/sin cache in chunks of this many pairs. */
#define OPS_ROPE_CHUNK 128

static int	ops_nthreads;	/* 0: OpenMP's default */

void
ops_set_threads(int n)
{
#ifdef _OPENMP
	if (n <= 0)
		n = omp_get_num_procs();
	omp_set_num_threads(n);
#else
	n = 1;
#endif
	ops_nthreads = n;
}

int
ops_threads(void)
{
#ifdef _OPENMP
	if (ops_nthreads <= 0)
		return omp_get_max_threads();
	return ops_nthreads;
#else
	return 1;
#endif
}

void
ops_scratch_free(struct ops_scratch *s)
{
	free(s->buf);
	s->buf = NULL;
	s->size = 0;
}

/*
 * Returns a buffer of at least n bytes, 64-byte aligned, or NULL.  Old
 * contents are not kept: every user fills it before reading.
 */
static void *
scratch_get(struct ops_scratch *s, size_t n)
{
	void	*p;

	if (s->buf != NULL && s->size >= n)
		return s->buf;
	free(s->buf);
	s->buf = NULL;
	s->size = 0;
	n = (n + 63) & ~(size_t)63;
	if (n == 0)
		n = 64;
	if ((p = aligned_alloc(64, n)) == NULL)
		return NULL;
	s->buf = p;
	s->size = n;
	return p;
}

/* ------------------------------------------------------------------ */
/* matmul */

struct matmul_job {
	const struct quant_traits	*wt;	/* weight type */
	const struct quant_traits	*at;	/* activation type, NULL if F32 */
	quant_vec_dot_x4_fn		 x4;	/* 4 tokens at once, or NULL */
	const struct quant_panel	*panel;	/* w is repacked, or NULL */
	size_t				 pbytes;	/* bytes a panel */
	const char			*w;
	size_t				 wrow;	/* bytes per weight row */
	const float			*x;
	char				*act;	/* activations as vec_dot takes them */
	size_t				 arow;	/* bytes per activation row */
	int64_t				 rows;
	int				 cols;
	int				 n_tok;
	float				*y;
};

/*
 * Quantizes part u of n_parts of the activations.  A row may be cut into
 * several parts at block boundaries, since blocks are quantized
 * independently: that lets all threads share a single token's row.  A
 * repacked j quantizes its one token whole (u 0 of 1).
 */
static void
matmul_quantize(const struct matmul_job *j, int u, int per_row)
{
	int		 t = u / per_row, p = u % per_row;
	int64_t		 nb, b0, b1;

	if (j->panel != NULL) {
		j->panel->quantize(j->x, j->act, j->cols);
		return;
	}
	nb = j->cols / j->at->blck;
	b0 = nb * p / per_row;
	b1 = nb * (p + 1) / per_row;
	if (b1 <= b0)
		return;
	j->at->from_float(j->x + (size_t)t * j->cols + b0 * j->at->blck,
	    j->act + (size_t)t * j->arow + b0 * j->at->size,
	    (b1 - b0) * j->at->blck);
}

/*
 * A single token's work on j comes in units: a panel where j is
 * repacked, QUANT_DOT_ROWS rows at once where the type has a dot for
 * that, else one row; the last unit takes the rows left over one by
 * one.  Returns how many units j has.
 */
static int64_t
matmul_units(const struct matmul_job *j)
{
	if (j->panel != NULL)
		return j->rows / QUANT_PANEL_ROWS;
	if (j->wt->vec_dot_rows == NULL)
		return j->rows;
	return (j->rows + QUANT_DOT_ROWS - 1) / QUANT_DOT_ROWS;
}

/* The smallest share of j's units a thread takes (OPS_DOT_CHUNK). */
static int
matmul_chunk(const struct matmul_job *j)
{
	return j->panel != NULL ? OPS_DOT_CHUNK * QUANT_DOT_ROWS /
	    QUANT_PANEL_ROWS : OPS_DOT_CHUNK;
}

/* Computes unit u of j for its one token, whose activations are act. */
static void
matmul_unit(const struct matmul_job *j, const char *act, int64_t u)
{
	int64_t	r, r1;

	if (j->panel != NULL) {
		j->panel->dot(j->cols, &j->y[u * QUANT_PANEL_ROWS],
		    j->w + u * j->pbytes, act);
		return;
	}
	if (j->wt->vec_dot_rows == NULL) {
		j->wt->vec_dot(j->cols, &j->y[u], j->w + u * j->wrow, act);
		return;
	}
	r = u * QUANT_DOT_ROWS;
	if (r + QUANT_DOT_ROWS <= j->rows) {
		j->wt->vec_dot_rows(j->cols, &j->y[r], j->w + r * j->wrow,
		    act, j->wrow);
		return;
	}
	for (r1 = j->rows; r < r1; r++)
		j->wt->vec_dot(j->cols, &j->y[r], j->w + r * j->wrow, act);
}

/*
 * One tile: rows [r0, r0 + OPS_TILE_ROWS) against every token.  The tile's
 * weight rows are read from memory once and then come from L1 for every
 * token after the first; each activation row is used for all the tile's
 * rows while it is hot.  With a 4-token dot, each weight block is also
 * decoded once per 4 tokens instead of once per token.
 */
static void
matmul_tile(const struct matmul_job *j, int64_t r0)
{
	int64_t		 r, r1 = r0 + OPS_TILE_ROWS;
	int		 t;
	const char	*a;
	float		*y;

	float		 s4[4];
	int		 k;

	if (r1 > j->rows)
		r1 = j->rows;
	t = 0;
	if (j->x4 != NULL) {
		for (; t + 4 <= j->n_tok; t += 4) {
			a = j->act + (size_t)t * j->arow;
			for (r = r0; r < r1; r++) {
				j->x4(j->cols, s4, j->w + r * j->wrow, a,
				    j->arow);
				for (k = 0; k < 4; k++)
					j->y[(size_t)(t + k) * j->rows + r] =
					    s4[k];
			}
		}
	}
	for (; t < j->n_tok; t++) {
		a = j->act + (size_t)t * j->arow;
		y = j->y + (size_t)t * j->rows;
		for (r = r0; r < r1; r++)
			j->wt->vec_dot(j->cols, &y[r], j->w + r * j->wrow, a);
	}
}

/*
 * The prompt path of types with gemm kernels: every token's activations
 * packed once (a token, or g->toks tokens, at a time), then each thread
 * repacks its tiles of rows, one at a time into its own buffer, and
 * multiplies each with all the tokens.
 */
static int
matmul_gemm(const struct quant_gemm *g, const struct ops_mat *w,
    const float *x, int n_tok, float *y, struct ops_scratch *scratch,
    int nth)
{
	int			 cols = (int)w->cols, np, t, n_chunks;
	int64_t			 r, n_tiles;
	size_t			 arow, wsize, tbytes;
	char			*act;

	/* bytes from a tile's rows to the next's */
	tbytes = w->panel != NULL ? w->panel->size(cols) :
	    (size_t)g->rows * w->row_size;

	np = (cols + g->panel - 1) / g->panel;
	arow = (size_t)np * g->act_panel;
	wsize = (size_t)np * g->w_panel;
	n_tiles = (w->rows + g->rows - 1) / g->rows;
	n_chunks = (n_tok + g->toks - 1) / g->toks;
	if ((act = scratch_get(scratch, arow * g->toks * n_chunks +
	    wsize * nth)) == NULL)
		return -1;

#pragma omp parallel num_threads(nth) if (nth > 1) private(t, r)
	{
		char	*pk = act + arow * g->toks * n_chunks;
		int64_t	 r0;
		int	 nr;

#ifdef _OPENMP
		pk += wsize * omp_get_thread_num();
#endif
#pragma omp for schedule(static)
		for (t = 0; t < n_chunks; t++) {
			if (g->toks == 1)
				g->pack_act(x + (size_t)t * cols,
				    act + t * arow, cols);
			else
				g->pack_acts(x + (size_t)t * g->toks * cols,
				    n_tok - t * g->toks < g->toks ?
				    n_tok - t * g->toks : g->toks,
				    act + (size_t)t * g->toks * arow, cols);
		}
		/* guided, as the single-token dots (OPS_DOT_CHUNK): pp128
		 * on Q4_K_M 1.08 times as fast (6 of 6 alternating pairs) */
#pragma omp for schedule(guided)
		for (r = 0; r < n_tiles; r++) {
			r0 = r * g->rows;
			nr = w->rows - r0 < g->rows ?
			    (int)(w->rows - r0) : g->rows;
			g->pack_w((const char *)w->data + r * tbytes,
			    w->row_size, nr, pk, cols);
			g->tile(cols, pk, act, arow, n_tok, y + r0,
			    (size_t)w->rows, nr);
		}
	}
	return 0;
}

/*
 * Fills j for w on n_tok rows of x into y, all but the activations'
 * buffer: j->act is x itself when the dot takes floats, else NULL (the
 * caller gives it j->arow * n_tok bytes).  Returns 0, 1 when there is
 * nothing to do, or -1 when w has no kernels or a bad row length.
 */
static int
matmul_setup(struct matmul_job *j, const struct ops_mat *w, const float *x,
    int n_tok, float *y)
{
	enum ggml_type	vdt;

	memset(j, 0, sizeof *j);
	if ((j->wt = quant_traits(w->type)) == NULL || j->wt->vec_dot == NULL)
		return -1;
	if (w->cols <= 0 || w->cols % j->wt->blck != 0 ||
	    w->cols > INT32_MAX)
		return -1;
	if (n_tok <= 0 || w->rows <= 0)
		return 1;
	j->w = w->data;
	j->wrow = w->row_size;
	j->x = x;
	j->rows = w->rows;
	j->cols = (int)w->cols;
	j->n_tok = n_tok;
	j->y = y;
	if ((j->panel = w->panel) != NULL) {
		j->pbytes = j->panel->size(j->cols);
		j->arow = j->panel->act_size(j->cols);
		return 0;
	}

	vdt = j->wt->vec_dot_type;
	if (vdt == GGML_TYPE_F32) {
		j->act = (char *)(uintptr_t)x;
		j->arow = (size_t)j->cols * sizeof (float);
		return 0;
	}
	j->at = quant_traits(vdt);
	if (j->at == NULL || j->at->from_float == NULL ||
	    j->cols % j->at->blck != 0)
		return -1;
	j->arow = (size_t)(j->cols / j->at->blck) * j->at->size;
	return 0;
}

int
ops_matmul(const struct ops_mat *w, const float *x, int n_tok, float *y,
    struct ops_scratch *scratch)
{
	struct matmul_job	 j;
	int64_t			 r, n_tiles, n_units1;
	int			 nth, per_row, u, n_units, rc, chunk;
	double			 work;

	if ((rc = matmul_setup(&j, w, x, n_tok, y)) != 0)
		return rc < 0 ? -1 : 0;
	if (j.act == NULL &&
	    (j.act = scratch_get(scratch, j.arow * (size_t)n_tok)) == NULL)
		return -1;

	if (n_tok >= 4)
		j.x4 = j.wt->vec_dot_x4;

	nth = ops_threads();
	work = (double)w->rows * (double)w->cols * n_tok;
	if (work < OPS_PAR_MIN)
		nth = 1;
	if (j.panel != NULL && n_tok > 1)
		return matmul_gemm(j.panel->gemm, w, x, n_tok, y, scratch,
		    nth);
	if (n_tok >= OPS_GEMM_MIN && j.wt->gemm != NULL)
		return matmul_gemm(j.wt->gemm, w, x, n_tok, y, scratch, nth);
	if (n_tok == 1) {
		/* One token: its row is quantized here, so that the dots'
		 * region has no barrier but its end (OPS_DOT_CHUNK). */
		if (j.at != NULL || j.panel != NULL)
			matmul_quantize(&j, 0, 1);
		n_units1 = matmul_units(&j);
		chunk = matmul_chunk(&j);
#pragma omp parallel for num_threads(nth) if (nth > 1) \
    schedule(guided, chunk)
		for (r = 0; r < n_units1; r++)
			matmul_unit(&j, j.act, r);
		return 0;
	}
	per_row = n_tok >= nth ? 1 : nth;
	n_units = n_tok * per_row;
	n_tiles = (w->rows + OPS_TILE_ROWS - 1) / OPS_TILE_ROWS;

	/* One fork and join per call: quantize, barrier, then the tiles. */
#pragma omp parallel num_threads(nth) if (nth > 1) private(u, r)
	{
		if (j.at != NULL) {
#pragma omp for schedule(static)
			for (u = 0; u < n_units; u++)
				matmul_quantize(&j, u, per_row);
		}
#pragma omp for schedule(static)
		for (r = 0; r < n_tiles; r++)
			matmul_tile(&j, r * OPS_TILE_ROWS);
	}
	return 0;
}

/*
 * Whether ops_matmul_n can run w[0 .. nw) as one pass: one token, the
 * same row length, the same activation type (quantized once: all
 * repacked alike or none), and a vec_dot for each.
 */
static int
matmul_fusable(const struct ops_mat *const *w, int nw, int n_tok)
{
	const struct quant_traits	*t0, *t;
	int				 i;

	if (n_tok != 1 || nw < 1 || nw > OPS_MATMUL_MAX ||
	    (t0 = quant_traits(w[0]->type)) == NULL)
		return 0;
	for (i = 0; i < nw; i++) {
		t = quant_traits(w[i]->type);
		if (t == NULL || t->vec_dot == NULL ||
		    t->vec_dot_type != t0->vec_dot_type ||
		    w[i]->panel != w[0]->panel ||
		    w[i]->cols != w[0]->cols || w[i]->rows <= 0)
			return 0;
	}
	return 1;
}

int
ops_matmul_n(const struct ops_mat *const *w, int nw, const float *x,
    int n_tok, float *const *y, struct ops_scratch *scratch)
{
	struct matmul_job	 j[OPS_MATMUL_MAX];
	int64_t			 end[OPS_MATMUL_MAX], r, total = 0, rows = 0;
	int			 i, m, nth, chunk;

	if (!matmul_fusable(w, nw, n_tok)) {
		for (i = 0; i < nw; i++) {
			if (ops_matmul(w[i], x, n_tok, y[i], scratch) != 0)
				return -1;
		}
		return 0;
	}
	for (i = 0; i < nw; i++) {
		if (matmul_setup(&j[i], w[i], x, 1, y[i]) != 0)
			return -1;
		total += matmul_units(&j[i]);
		end[i] = total;
		rows += w[i]->rows;
	}
	if (j[0].act == NULL &&
	    (j[0].act = scratch_get(scratch, j[0].arow)) == NULL)
		return -1;
	nth = ops_threads();
	if ((double)rows * (double)w[0]->cols < OPS_PAR_MIN)
		nth = 1;

	/* quantized here, as in ops_matmul */
	if (j[0].at != NULL || j[0].panel != NULL)
		matmul_quantize(&j[0], 0, 1);
	chunk = matmul_chunk(&j[0]);
#pragma omp parallel num_threads(nth) if (nth > 1) private(r, m)
	{
		/* monotonic: a thread's chunks come in increasing order, so
		 * m only moves forward. */
		m = 0;
#pragma omp for schedule(monotonic: guided, chunk)
		for (r = 0; r < total; r++) {
			while (r >= end[m])
				m++;
			/* unit r - (units before w[m]) of w[m] */
			matmul_unit(&j[m], j[0].act,
			    r - (m > 0 ? end[m - 1] : 0));
		}
	}
	return 0;
}

size_t
ops_repack_size(const struct ops_mat *w)
{
	const struct quant_traits	*t = quant_traits(w->type);
	const struct quant_panel	*p;

	if (t == NULL || (p = t->panel) == NULL || w->panel != NULL ||
	    w->rows <= 0 || w->rows % QUANT_PANEL_ROWS != 0 ||
	    w->cols <= 0 || w->cols > INT32_MAX ||
	    w->cols % p->cols_multiple != 0)
		return 0;
	return (size_t)(w->rows / QUANT_PANEL_ROWS) * p->size((int)w->cols);
}

int
ops_repack(struct ops_mat *w, void *dst)
{
	const struct quant_panel	*p;
	int64_t				 i, n;
	size_t				 panel, in;

	if (ops_repack_size(w) == 0)
		return -1;
	p = quant_traits(w->type)->panel;
	n = w->rows / QUANT_PANEL_ROWS;
	panel = p->size((int)w->cols);
	in = QUANT_PANEL_ROWS * w->row_size;
#pragma omp parallel for schedule(static) if (n > 1)
	for (i = 0; i < n; i++)
		p->repack((const char *)w->data + i * in, w->row_size,
		    (char *)dst + i * panel, (int)w->cols);
	w->data = dst;
	w->panel = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* F16 vectors for the KV cache */

#ifdef OPS_X86
__attribute__((target("avx2,fma,f16c")))
static float
dot_f16_avx2(const uint16_t *x, const float *y, int n)
{
	__m256	 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	__m256	 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
	__m128	 h;
	float	 s;
	int	 i;

#define LOADH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
	for (i = 0; i + 32 <= n; i += 32) {
		a0 = _mm256_fmadd_ps(LOADH(x + i), _mm256_loadu_ps(y + i), a0);
		a1 = _mm256_fmadd_ps(LOADH(x + i + 8),
		    _mm256_loadu_ps(y + i + 8), a1);
		a2 = _mm256_fmadd_ps(LOADH(x + i + 16),
		    _mm256_loadu_ps(y + i + 16), a2);
		a3 = _mm256_fmadd_ps(LOADH(x + i + 24),
		    _mm256_loadu_ps(y + i + 24), a3);
	}
	for (; i + 8 <= n; i += 8)
		a0 = _mm256_fmadd_ps(LOADH(x + i), _mm256_loadu_ps(y + i), a0);
#undef LOADH
	a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
	h = _mm_add_ps(_mm256_castps256_ps128(a0),
	    _mm256_extractf128_ps(a0, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	s = _mm_cvtss_f32(h);
	for (; i < n; i++)
		s += _cvtsh_ss(x[i]) * y[i];
	return s;
}

__attribute__((target("avx2,fma,f16c")))
static void
axpy_f16_avx2(float *y, float a, const uint16_t *x, int n)
{
	__m256	va = _mm256_set1_ps(a), v0, v1;
	int	i;

	for (i = 0; i + 16 <= n; i += 16) {
		v0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
		v1 = _mm256_cvtph_ps(_mm_loadu_si128(
		    (const __m128i *)(x + i + 8)));
		_mm256_storeu_ps(y + i,
		    _mm256_fmadd_ps(va, v0, _mm256_loadu_ps(y + i)));
		_mm256_storeu_ps(y + i + 8,
		    _mm256_fmadd_ps(va, v1, _mm256_loadu_ps(y + i + 8)));
	}
	for (; i < n; i++)
		y[i] += a * _cvtsh_ss(x[i]);
}

__attribute__((target("avx2,fma,f16c")))
static void
f32_to_f16_avx2(uint16_t *y, const float *x, int n)
{
	int	i;

	for (i = 0; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(
		    _mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++)
		y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

/*
 * e^x of 8 floats: 2^k e^r with k = round(x / ln 2) and r = x - k ln 2
 * (ln 2 in two parts, the first exact in 16 bits), |r| <= ln 2 / 2, e^r
 * by its Taylor series to r^7 (truncation below 6e-9 relative).  2^k is
 * applied as two powers of two, so that results past float's range come
 * out inf or 0 (and denormal between) as expf's do; NaN stays NaN.
 */
__attribute__((target("avx2,fma")))
static inline __m256
exp_avx2(__m256 x)
{
	static const float	c[] = { 1.0f / 5040, 1.0f / 720, 1.0f / 120,
				    1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f };
	__m256			k, r, p;
	__m256i			ki, k1;
	size_t			i;

	/* max/min return their second operand when one is NaN */
	x = _mm256_min_ps(_mm256_set1_ps(89.0f),
	    _mm256_max_ps(_mm256_set1_ps(-110.0f), x));
	k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
	    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
	r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);
	p = _mm256_set1_ps(c[0]);
	for (i = 1; i < sizeof c / sizeof c[0]; i++)
		p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c[i]));
	ki = _mm256_cvtps_epi32(k);
	k1 = _mm256_srai_epi32(ki, 1);
	ki = _mm256_sub_epi32(ki, k1);
#define POW2(e) _mm256_castsi256_ps(_mm256_slli_epi32( \
	    _mm256_add_epi32((e), _mm256_set1_epi32(127)), 23))
	p = _mm256_mul_ps(_mm256_mul_ps(p, POW2(k1)), POW2(ki));
#undef POW2
	return p;
}

/* e^(x[i] - m) over the whole vectors of x, their sum added to *sum;
 * returns where it stopped */
__attribute__((target("avx2,fma")))
static int
exp_sum_avx2(float *x, int n, float m, double *sum)
{
	__m256		vm = _mm256_set1_ps(m), e;
	__m256d		s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
	__m128d		h;
	int		i;

	for (i = 0; i + 8 <= n; i += 8) {
		e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
		_mm256_storeu_ps(x + i, e);
		s0 = _mm256_add_pd(s0,
		    _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
		s1 = _mm256_add_pd(s1,
		    _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
	}
	s0 = _mm256_add_pd(s0, s1);
	h = _mm_add_pd(_mm256_castpd256_pd128(s0),
	    _mm256_extractf128_pd(s0, 1));
	*sum += _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
	return i;
}

/* x = silu(x) * g over the whole vectors of [i0, i1); returns where it
 * stopped */
__attribute__((target("avx2,fma")))
static int
swiglu_avx2(float *x, const float *g, int i0, int i1)
{
	const __m256	one = _mm256_set1_ps(1.0f);
	__m256		v, e;
	int		i;

	for (i = i0; i + 8 <= i1; i += 8) {
		v = _mm256_loadu_ps(x + i);
		e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v));
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_div_ps(v,
		    _mm256_add_ps(one, e)), _mm256_loadu_ps(g + i)));
	}
	return i;
}
#endif

/* AVX2, FMA and F16C are there on every CPU quant_init picks a SIMD path
 * for. */
static int
ops_have_avx2(void)
{
#ifdef OPS_X86
	return quant_isa() != QUANT_ISA_SCALAR;
#else
	return 0;
#endif
}

float
ops_dot_f16(const uint16_t *x, const float *y, int n)
{
	float	s = 0.0f;
	int	i;

#ifdef OPS_X86
	if (ops_have_avx2())
		return dot_f16_avx2(x, y, n);
#endif
	for (i = 0; i < n; i++)
		s += quant_f16_to_f32(x[i]) * y[i];
	return s;
}

void
ops_axpy_f16(float *y, float a, const uint16_t *x, int n)
{
	int	i;

#ifdef OPS_X86
	if (ops_have_avx2()) {
		axpy_f16_avx2(y, a, x, n);
		return;
	}
#endif
	for (i = 0; i < n; i++)
		y[i] += a * quant_f16_to_f32(x[i]);
}

void
ops_f32_to_f16(uint16_t *y, const float *x, int n)
{
	int	i;

#ifdef OPS_X86
	if (ops_have_avx2()) {
		f32_to_f16_avx2(y, x, n);
		return;
	}
#endif
	for (i = 0; i < n; i++)
		y[i] = quant_f32_to_f16(x[i]);
}

/* ------------------------------------------------------------------ */
/* attention */

/*
 * A unit of ops_attention: query heads [h0, h0 + nh) of one token, all of
 * one kv head, against positions [0, n_kv).  q and out are the token's
 * rows; ws is the thread's workspace (ops_attention_scratch): nh rows of
 * ss scores, then ATTN_TILE rows of dim_k floats, then dim_v floats.
 */
struct attn_unit {
	const float	*q;
	float		*out;
	int		 h0, nh, n_kv;
	size_t		 ss;
	float		*ws;
};

/* Positions whose scores are summed together (one vector of them). */
#define ATTN_TILE 8

/* Query heads whose value sums stay in registers together. */
#define ATTN_VB_AVX2 3

/* Floats of a score row for n_ctx positions: whole tiles. */
static size_t
attn_ss(int n_ctx)
{
	return ((size_t)n_ctx + ATTN_TILE - 1) & ~(size_t)(ATTN_TILE - 1);
}

/* Floats of a thread's workspace for groups of g heads and n_ctx
 * positions. */
static size_t
attn_ws(const struct ops_attn *a, int g, int n_ctx)
{
	return ((size_t)g * attn_ss(n_ctx) + ATTN_TILE * (size_t)a->dim_k +
	    (size_t)a->dim_v + 15) & ~(size_t)15;
}

size_t
ops_attention_scratch(const struct ops_attn *a, int n_ctx, int nth)
{
	return attn_ws(a, a->n_head / a->n_head_kv, n_ctx) * (size_t)nth *
	    sizeof(float);
}

/* The unit's heads one at a time, in any build and on any CPU. */
static void
attn_unit_plain(const struct ops_attn *a, const struct attn_unit *w)
{
	const uint16_t	*k, *v;
	float		*sc = w->ws, *acc = w->ws + w->ss;
	float		 max, inv;
	double		 sum;
	int		 kvh, h, p, i;

	kvh = w->h0 / (a->n_head / a->n_head_kv);
	k = a->k + (size_t)kvh * a->dim_k;
	v = a->v + (size_t)kvh * a->dim_v;
	for (h = w->h0; h < w->h0 + w->nh; h++) {
		const float	*q = w->q + (size_t)h * a->dim_k;
		float		*out = w->out + (size_t)h * a->dim_v;

		max = -INFINITY;
		for (p = 0; p < w->n_kv; p++) {
			sc[p] = ops_dot_f16(k + p * a->k_stride, q,
			    a->dim_k) * a->scale;
			if (sc[p] > max)
				max = sc[p];
		}
		sum = ops_exp_sum(sc, w->n_kv, max);
		memset(acc, 0, a->dim_v * sizeof *acc);
		for (p = 0; p < w->n_kv; p++)
			ops_axpy_f16(acc, sc[p], v + p * a->v_stride,
			    a->dim_v);
		inv = (float)(1.0 / sum);
		for (i = 0; i < a->dim_v; i++)
			out[i] = acc[i] * inv;
	}
}

#ifdef OPS_X86
/* Lane j of the result is the sum of a[j]'s lanes. */
__attribute__((target("avx2")))
static inline __m256
hsum8_avx2(const __m256 *a)
{
	__m256	u0, u1;

	u0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]),
	    _mm256_hadd_ps(a[2], a[3]));
	u1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]),
	    _mm256_hadd_ps(a[6], a[7]));
	return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
	    _mm256_permute2f128_ps(u0, u1, 0x31));
}

/*
 * The unit's scores, ATTN_TILE positions at a time: their keys made F32
 * once for all the heads, each head's dots with them summed across in
 * one go.  Needs dim_k a multiple of 8.
 */
__attribute__((target("avx2,fma,f16c")))
static void
attn_scores_avx2(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *k)
{
	float	*kf = w->ws + (size_t)w->nh * w->ss;
	__m256	 acc[ATTN_TILE], qv;
	int	 dk = a->dim_k, p0, i, j, d;

	for (p0 = 0; p0 < w->n_kv; p0 += ATTN_TILE) {
		for (j = 0; j < ATTN_TILE; j++) {
			const uint16_t	*kr = k + (size_t)(p0 + j) *
			    a->k_stride;

			for (d = 0; d < dk; d += 8)
				_mm256_storeu_ps(kf + j * dk + d,
				    p0 + j < w->n_kv ? _mm256_cvtph_ps(
				    _mm_loadu_si128((const __m128i *)(kr + d)))
				    : _mm256_setzero_ps());
		}
		for (i = 0; i < w->nh; i++) {
			const float	*q = w->q + (size_t)(w->h0 + i) * dk;

#pragma GCC unroll 8
			for (j = 0; j < ATTN_TILE; j++)
				acc[j] = _mm256_setzero_ps();
			for (d = 0; d < dk; d += 8) {
				qv = _mm256_loadu_ps(q + d);
#pragma GCC unroll 8
				for (j = 0; j < ATTN_TILE; j++)
					acc[j] = _mm256_fmadd_ps(
					    _mm256_loadu_ps(kf + j * dk + d),
					    qv, acc[j]);
			}
			_mm256_storeu_ps(w->ws + i * w->ss + p0,
			    _mm256_mul_ps(hsum8_avx2(acc),
			    _mm256_set1_ps(a->scale)));
		}
	}
}

/*
 * out (nb heads' rows, dim_v apart) = inv[i] * the sum over positions of
 * score row i times the value row, 32 values (a cache line of the F16
 * row) at a time for nb <= ATTN_VB_AVX2 heads in registers, each value row
 * made F32 once for them.  Needs dim_v a multiple of 32.  Inlined for
 * each constant nb.
 */
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void
attn_values_avx2(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *v, const float *sc, const float *inv, int nb,
    float *out)
{
	__m256		 acc[ATTN_VB_AVX2][4], b[ATTN_VB_AVX2], x, s;
	const uint16_t	*vr;
	int		 c, p, i, m;

	for (c = 0; c < a->dim_v; c += 32) {
#pragma GCC unroll 4
		for (i = 0; i < nb; i++)
			acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] =
			    _mm256_setzero_ps();
		for (p = 0; p < w->n_kv; p++) {
			vr = v + (size_t)p * a->v_stride + c;
#pragma GCC unroll 4
			for (i = 0; i < nb; i++)
				b[i] = _mm256_broadcast_ss(sc + i * w->ss + p);
#pragma GCC unroll 4
			for (m = 0; m < 4; m++) {
				x = _mm256_cvtph_ps(_mm_loadu_si128(
				    (const __m128i *)(vr + 8 * m)));
#pragma GCC unroll 4
				for (i = 0; i < nb; i++)
					acc[i][m] = _mm256_fmadd_ps(b[i], x,
					    acc[i][m]);
			}
		}
#pragma GCC unroll 4
		for (i = 0; i < nb; i++) {
			s = _mm256_set1_ps(inv[i]);
#pragma GCC unroll 4
			for (m = 0; m < 4; m++)
				_mm256_storeu_ps(out + i * a->dim_v + c + 8 * m,
				    _mm256_mul_ps(acc[i][m], s));
		}
	}
}

/*
 * The zmm forms of attn_scores_avx2 and attn_values_avx2, for cores that
 * run 512-bit vectors at full width: sixteen dimensions a step, each
 * position's sum folded to 256 bits before the eight are summed across;
 * value sums for up to ATTN_VB_ZMM heads in registers.  dim_k a multiple
 * of 16, dim_v of 32.
 */
__attribute__((target("avx512f,avx2,fma,f16c")))
static void
attn_scores_zmm(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *k)
{
	float	*kf = w->ws + (size_t)w->nh * w->ss;
	__m512	 acc[ATTN_TILE], qv;
	__m256	 half[ATTN_TILE];
	int	 dk = a->dim_k, p0, i, j, d;

	for (p0 = 0; p0 < w->n_kv; p0 += ATTN_TILE) {
		for (j = 0; j < ATTN_TILE; j++) {
			const uint16_t	*kr = k + (size_t)(p0 + j) *
			    a->k_stride;

			for (d = 0; d < dk; d += 16)
				_mm512_storeu_ps(kf + j * dk + d,
				    p0 + j < w->n_kv ? _mm512_cvtph_ps(
				    _mm256_loadu_si256((const __m256i *)(kr +
				    d))) : _mm512_setzero_ps());
		}
		for (i = 0; i < w->nh; i++) {
			const float	*q = w->q + (size_t)(w->h0 + i) * dk;

#pragma GCC unroll 8
			for (j = 0; j < ATTN_TILE; j++)
				acc[j] = _mm512_setzero_ps();
			for (d = 0; d < dk; d += 16) {
				qv = _mm512_loadu_ps(q + d);
#pragma GCC unroll 8
				for (j = 0; j < ATTN_TILE; j++)
					acc[j] = _mm512_fmadd_ps(
					    _mm512_loadu_ps(kf + j * dk + d),
					    qv, acc[j]);
			}
#pragma GCC unroll 8
			for (j = 0; j < ATTN_TILE; j++)
				half[j] = _mm256_add_ps(
				    _mm512_castps512_ps256(acc[j]),
				    _mm256_castpd_ps(_mm512_extractf64x4_pd(
				    _mm512_castps_pd(acc[j]), 1)));
			_mm256_storeu_ps(w->ws + i * w->ss + p0,
			    _mm256_mul_ps(hsum8_avx2(half),
			    _mm256_set1_ps(a->scale)));
		}
	}
}

/* Query heads whose value sums stay in zmm registers together. */
#define ATTN_VB_ZMM 8

__attribute__((target("avx512f,avx2,fma,f16c"), always_inline))
static inline void
attn_values_zmm(const struct ops_attn *a, const struct attn_unit *w,
    const uint16_t *v, const float *sc, const float *inv, int nb,
    float *out)
{
	__m512		 acc[ATTN_VB_ZMM][2], b[ATTN_VB_ZMM], x0, x1, s;
	const uint16_t	*vr;
	int		 c, p, i;

	for (c = 0; c < a->dim_v; c += 32) {
#pragma GCC unroll 8
		for (i = 0; i < nb; i++)
			acc[i][0] = acc[i][1] = _mm512_setzero_ps();
		for (p = 0; p < w->n_kv; p++) {
			vr = v + (size_t)p * a->v_stride + c;
#pragma GCC unroll 8
			for (i = 0; i < nb; i++)
				b[i] = _mm512_set1_ps(sc[i * w->ss + p]);
			x0 = _mm512_cvtph_ps(_mm256_loadu_si256(
			    (const __m256i *)vr));
			x1 = _mm512_cvtph_ps(_mm256_loadu_si256(
			    (const __m256i *)(vr + 16)));
#pragma GCC unroll 8
			for (i = 0; i < nb; i++) {
				acc[i][0] = _mm512_fmadd_ps(b[i], x0,
				    acc[i][0]);
				acc[i][1] = _mm512_fmadd_ps(b[i], x1,
				    acc[i][1]);
			}
		}
#pragma GCC unroll 8
		for (i = 0; i < nb; i++) {
			s = _mm512_set1_ps(inv[i]);
			_mm512_storeu_ps(out + i * a->dim_v + c,
			    _mm512_mul_ps(acc[i][0], s));
			_mm512_storeu_ps(out + i * a->dim_v + c + 16,
			    _mm512_mul_ps(acc[i][1], s));
		}
	}
}

typedef void (*attn_values_fn)(const struct ops_attn *,
    const struct attn_unit *, const uint16_t *, const float *,
    const float *, float *);

/* attn_values_<width>_<nb>: the value sums of nb heads, inlined */
#define ATTN_VALUES(width, nb, isa)					\
__attribute__((target(isa)))						\
static void								\
attn_values_##width##_##nb(const struct ops_attn *a,			\
    const struct attn_unit *w, const uint16_t *v, const float *sc,	\
    const float *inv, float *out)					\
{									\
	attn_values_##width(a, w, v, sc, inv, nb, out);			\
}
ATTN_VALUES(avx2, 1, "avx2,fma,f16c")
ATTN_VALUES(avx2, 2, "avx2,fma,f16c")
ATTN_VALUES(avx2, 3, "avx2,fma,f16c")
ATTN_VALUES(zmm, 1, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 2, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 3, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 4, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 5, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 6, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 7, "avx512f,avx2,fma,f16c")
ATTN_VALUES(zmm, 8, "avx512f,avx2,fma,f16c")
#undef ATTN_VALUES

/*
 * The kernels of one vector width: a unit's scores, and its value sums
 * for 1 .. vb heads at a time (values[nb]); the row sizes they need.
 */
struct attn_kernels {
	void		(*scores)(const struct ops_attn *,
			    const struct attn_unit *, const uint16_t *);
	attn_values_fn	  values[ATTN_VB_ZMM + 1];
	int		  vb;
	int		  dk_mult, dv_mult;
};

static const struct attn_kernels attn_avx2 = {
	attn_scores_avx2,
	{ NULL, attn_values_avx2_1, attn_values_avx2_2, attn_values_avx2_3 },
	ATTN_VB_AVX2, 8, 32
};

static const struct attn_kernels attn_zmm = {
	attn_scores_zmm,
	{ NULL, attn_values_zmm_1, attn_values_zmm_2, attn_values_zmm_3,
	  attn_values_zmm_4, attn_values_zmm_5, attn_values_zmm_6,
	  attn_values_zmm_7, attn_values_zmm_8 },
	ATTN_VB_ZMM, 16, 32
};

/* The unit with its heads together: keys and values read and made F32
 * once for all of them, by the kernels kn. */
static void
attn_unit_simd(const struct ops_attn *a, const struct attn_unit *w,
    const struct attn_kernels *kn)
{
	const uint16_t	*k, *v;
	float		 inv[ATTN_VB_ZMM], max, *sc;
	int		 kvh, i, i0, nb, p;

	kvh = w->h0 / (a->n_head / a->n_head_kv);
	k = a->k + (size_t)kvh * a->dim_k;
	v = a->v + (size_t)kvh * a->dim_v;
	kn->scores(a, w, k);
	for (i0 = 0; i0 < w->nh; i0 += nb) {
		nb = w->nh - i0 < kn->vb ? w->nh - i0 : kn->vb;
		for (i = 0; i < nb; i++) {
			sc = w->ws + (i0 + i) * w->ss;
			for (max = -INFINITY, p = 0; p < w->n_kv; p++)
				max = sc[p] > max ? sc[p] : max;
			inv[i] = (float)(1.0 / ops_exp_sum(sc, w->n_kv, max));
		}
		kn->values[nb](a, w, v, w->ws + i0 * w->ss, inv,
		    w->out + (size_t)(w->h0 + i0) * a->dim_v);
	}
}

/* The kernels for this CPU and these row sizes, or NULL: the plain path. */
static const struct attn_kernels *
attn_kernels_for(const struct ops_attn *a)
{
	static const struct attn_kernels *const by_isa[QUANT_ISA_COUNT] = {
		[QUANT_ISA_AVX2] = &attn_avx2,
		[QUANT_ISA_AVX512] = &attn_avx2,
		[QUANT_ISA_AVX512_WIDE] = &attn_zmm,
		[QUANT_ISA_AMX] = &attn_zmm,
	};
	/* a path missing here runs the plain loop: list each new one */
	_Static_assert(QUANT_ISA_COUNT == 5, "attn_kernels_for: a path "
	    "without its kernels");
	const struct attn_kernels	*kn = by_isa[quant_isa()];

	/* the 256-bit kernels where the rows do not fit the zmm ones */
	if (kn == &attn_zmm && a->dim_k % kn->dk_mult != 0)
		kn = &attn_avx2;
	if (kn != NULL && (a->dim_k % kn->dk_mult != 0 ||
	    a->dim_v % kn->dv_mult != 0))
		kn = NULL;
	return kn;
}
#endif

int
ops_attention(const struct ops_attn *a, const float *q, int n_tok,
    int pos0, float *out, struct ops_scratch *scratch)
{
	size_t	 per;
	float	*buf;
	int	 nth, n_units, u, g, n_split, per_split;
	double	 work;

	if (n_tok <= 0)
		return 0;
	nth = ops_threads();
	work = (double)n_tok * a->n_head * (pos0 + n_tok) *
	    (a->dim_k + a->dim_v);
	if (work < OPS_PAR_MIN)
		nth = 1;
	g = a->n_head / a->n_head_kv;
	per = attn_ws(a, g, pos0 + n_tok);
	if ((buf = scratch_get(scratch, per * nth * sizeof *buf)) == NULL)
		return -1;
#ifdef OPS_X86
	const struct attn_kernels	*kn = attn_kernels_for(a);
#endif
	/* a unit is a kv head's group of query heads, split in parts when
	 * there would be fewer units than threads */
	for (n_split = 1; n_split < g &&
	    n_tok * a->n_head_kv * n_split < nth; n_split++)
		;
	per_split = (g + n_split - 1) / n_split;
	n_units = n_tok * a->n_head_kv * n_split;

	/* Causal: later tokens see more; cyclic units even the load. */
#pragma omp parallel num_threads(nth) if (nth > 1) private(u)
	{
		struct attn_unit	w;
		int			me = 0, t, r;

#ifdef _OPENMP
		me = omp_get_thread_num();
#endif
		w.ws = buf + per * me;
		w.ss = attn_ss(pos0 + n_tok);
#pragma omp for schedule(static, 1)
		for (u = 0; u < n_units; u++) {
			t = u / (a->n_head_kv * n_split);
			r = u % (a->n_head_kv * n_split);
			w.h0 = r / n_split * g + r % n_split * per_split;
			w.nh = (r / n_split + 1) * g - w.h0;
			if (w.nh > per_split)
				w.nh = per_split;
			if (w.nh <= 0)
				continue;
			w.q = q + (size_t)t * a->n_head * a->dim_k;
			w.out = out + (size_t)t * a->n_head * a->dim_v;
			w.n_kv = pos0 + t + 1;
#ifdef OPS_X86
			if (kn != NULL) {
				attn_unit_simd(a, &w, kn);
				continue;
			}
#endif
			attn_unit_plain(a, &w);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* element-wise */

void
ops_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	double	s[4] = { 0.0, 0.0, 0.0, 0.0 };
	float	mean, scale;
	int	i;

	/* four sums, so that the additions' latency overlaps */
	for (i = 0; i + 4 <= n; i += 4) {
		s[0] += (double)(x[i] * x[i]);
		s[1] += (double)(x[i + 1] * x[i + 1]);
		s[2] += (double)(x[i + 2] * x[i + 2]);
		s[3] += (double)(x[i + 3] * x[i + 3]);
	}
	for (; i < n; i++)
		s[0] += (double)(x[i] * x[i]);
	mean = (float)((s[0] + s[1] + s[2] + s[3]) / n);
	scale = 1.0f / sqrtf(mean + eps);
	/* Scale first, then weight: ggml's two operations, in its order. */
	if (w == NULL) {
		for (i = 0; i < n; i++)
			out[i] = x[i] * scale;
	} else {
		for (i = 0; i < n; i++)
			out[i] = (x[i] * scale) * w[i];
	}
}

/* YaRN's ramp between the corrected dimensions, ggml's definition. */
static float
rope_ramp(float low, float high, int i0)
{
	float	y = (float)(i0 / 2 - low) / fmaxf(0.001f, high - low);

	return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

static float
rope_corr_dim(int n_rot, int n_ctx_orig, float rotations, float base)
{
	return n_rot * logf(n_ctx_orig / (rotations * 2.0f * (float)M_PI)) /
	    (2.0f * logf(base));
}

void
ops_rope_ext(float *x, int n_head, int head_dim, int n_rot, int pos,
    float base, const float *freq_factors, int neox,
    const struct ops_rope_yarn *yarn)
{
	float		 cs[2 * OPS_ROPE_CHUNK];
	float		 theta_scale, theta, t, mscale, corr[2] = { 0, 0 };
	float		 x0, x1, *hx, ramp;
	int		 half = n_rot / 2, c0, c1, i, h, o0, o1;

	theta_scale = powf(base, -2.0f / n_rot);
	theta = (float)pos;
	mscale = yarn != NULL ? yarn->attn_factor : 1.0f;
	if (yarn != NULL && yarn->ext_factor != 0.0f) {
		corr[0] = floorf(rope_corr_dim(n_rot, yarn->n_ctx_orig,
		    yarn->beta_fast, base));
		corr[1] = ceilf(rope_corr_dim(n_rot, yarn->n_ctx_orig,
		    yarn->beta_slow, base));
		corr[0] = fmaxf(0.0f, corr[0]);
		corr[1] = fminf((float)(n_rot - 1), corr[1]);
		mscale *= 1.0f + 0.1f * logf(1.0f / yarn->freq_scale);
	}

	/*
	 * The angle is advanced by repeated multiplication, as ggml does,
	 * rather than by powf per pair: the two differ in the last bits and
	 * the difference grows with the position.
	 */
	for (c0 = 0; c0 < half; c0 = c1) {
		c1 = c0 + OPS_ROPE_CHUNK < half ? c0 + OPS_ROPE_CHUNK : half;
		for (i = c0; i < c1; i++) {
			t = theta;
			if (freq_factors != NULL)
				t = t / freq_factors[i];
			if (yarn != NULL) {
				float	interp = yarn->freq_scale * t;

				if (yarn->ext_factor != 0.0f) {
					ramp = rope_ramp(corr[0], corr[1],
					    2 * i) * yarn->ext_factor;
					t = interp * (1 - ramp) + t * ramp;
				} else
					t = interp;
			}
			cs[2 * (i - c0)] = cosf(t) * mscale;
			cs[2 * (i - c0) + 1] = sinf(t) * mscale;
			theta *= theta_scale;
		}
		for (h = 0; h < n_head; h++) {
			hx = x + (size_t)h * head_dim;
			for (i = c0; i < c1; i++) {
				o0 = neox ? i : 2 * i;
				o1 = neox ? i + half : 2 * i + 1;
				x0 = hx[o0];
				x1 = hx[o1];
				hx[o0] = x0 * cs[2 * (i - c0)] -
				    x1 * cs[2 * (i - c0) + 1];
				hx[o1] = x0 * cs[2 * (i - c0) + 1] +
				    x1 * cs[2 * (i - c0)];
			}
		}
	}
}

void
ops_rope(float *x, int n_head, int head_dim, int n_rot, int pos,
    float base, const float *freq_factors, int neox)
{
	ops_rope_ext(x, n_head, head_dim, n_rot, pos, base, freq_factors,
	    neox, NULL);
}

void
ops_softmax(float *x, int n)
{
	float	max = -INFINITY, inv;
	int	i;

	for (i = 0; i < n; i++) {
		if (x[i] > max)
			max = x[i];
	}
	inv = (float)(1.0 / ops_exp_sum(x, n, max));
	for (i = 0; i < n; i++)
		x[i] *= inv;
}

double
ops_exp_sum(float *x, int n, float m)
{
	double	sum = 0.0;
	int	i = 0;

#ifdef OPS_X86
	if (ops_have_avx2())
		i = exp_sum_avx2(x, n, m, &sum);
#endif
	for (; i < n; i++) {
		x[i] = expf(x[i] - m);
		sum += x[i];
	}
	return sum;
}

static void
swiglu_range(float *x, const float *g, int i0, int i1)
{
	int	i;

	i = i0;
#ifdef OPS_X86
	if (ops_have_avx2())
		i = swiglu_avx2(x, g, i0, i1);
#endif
	for (; i < i1; i++)
		x[i] = x[i] / (1.0f + expf(-x[i])) * g[i];
}

void
ops_swiglu(float *x, const float *g, int n)
{
	int	nth = ops_threads(), t;

	/* worth the threads from a few thousand on (one token's 8960:
	 * even with one thread, measured, since e^x is in vectors) */
	if (n < OPS_EW_PAR_MIN || nth <= 1) {
		swiglu_range(x, g, 0, n);
		return;
	}
#pragma omp parallel for num_threads(nth) schedule(static)
	for (t = 0; t < nth; t++)
		swiglu_range(x, g, (int)((int64_t)n * t / nth),
		    (int)((int64_t)n * (t + 1) / nth));
}
