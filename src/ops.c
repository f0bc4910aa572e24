/*
 * ops.c - matmul over quantized weights, attention over an F16 cache, and
 * the element-wise operations of a forward pass: how the work is split
 * over threads, and the plain loops.  The kernels are elsewhere: the
 * quant types' in quant*.c (through the traits table), the SIMD forms
 * of the loops here and the attention kernels in ops-x86.c (through
 * ops_kernels, ops-impl.h).
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

#include "ops-impl.h"

/* Rows per matmul tile: a tile's weight rows stay in L1 across tokens. */
#define OPS_TILE_ROWS 4

/* From this many tokens on, types with gemm kernels use them. */
#define OPS_GEMM_MIN 4

/*
 * A single token's dots are handed out guided (large chunks first, then
 * ever smaller ones, down to this many units) rather than split evenly:
 * on a shared memory bus one thread often reads slower than the other,
 * and an even split left the faster one waiting (guided: generation on
 * Q4_K_M about 1.06 times as fast).
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
ops_procs(void)
{
#ifdef _OPENMP
	return omp_get_num_procs();
#else
	return 1;
#endif
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
		 * on Q4_K_M 1.08 times as fast */
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
 * Whether ops_matmul_each can run w[0 .. nw) as one pass: a vec_dot for
 * each and at most OPS_MATMUL_MAX of them.
 */
static int
matmul_fusable(const struct ops_mat *const *w, int nw)
{
	const struct quant_traits	*t;
	int				 i;

	if (nw < 1 || nw > OPS_MATMUL_MAX)
		return 0;
	for (i = 0; i < nw; i++) {
		t = quant_traits(w[i]->type);
		if (t == NULL || t->vec_dot == NULL || w[i]->rows <= 0)
			return 0;
	}
	return 1;
}

/* Whether b's activations are a's: the same row in the same form. */
static int
matmul_same_act(const struct matmul_job *a, const struct matmul_job *b)
{
	return a->x == b->x && a->cols == b->cols && a->at == b->at &&
	    (a->panel == NULL) == (b->panel == NULL) &&
	    (a->panel == NULL || a->panel->quantize == b->panel->quantize);
}

/*
 * The jobs j[0 .. nw) of one token each in one parallel pass: each
 * distinct activation row is quantized once, here, so that the region
 * has no barrier but its end.
 */
static int
matmul_pass(struct matmul_job *j, int nw, struct ops_scratch *scratch)
{
	int64_t	 end[OPS_MATMUL_MAX], r, total = 0;
	size_t	 need = 0, at[OPS_MATMUL_MAX];
	double	 work = 0;
	char	*buf = NULL;
	int	 i, k, m, nth, chunk, from[OPS_MATMUL_MAX];

	for (i = 0; i < nw; i++) {
		for (k = 0; k < i && !matmul_same_act(&j[k], &j[i]); k++)
			;
		from[i] = k;
		at[i] = need;
		if (k == i && j[i].act == NULL)
			need += (j[i].arow + 63) & ~(size_t)63;
		total += matmul_units(&j[i]);
		end[i] = total;
		work += (double)j[i].rows * j[i].cols;
	}
	if (need > 0 && (buf = scratch_get(scratch, need)) == NULL)
		return -1;
	for (i = 0; i < nw; i++) {
		if (from[i] != i)
			j[i].act = j[from[i]].act;
		else if (j[i].act == NULL) {
			j[i].act = buf + at[i];
			matmul_quantize(&j[i], 0, 1);
		}
	}
	nth = work < OPS_PAR_MIN ? 1 : ops_threads();
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
			matmul_unit(&j[m], j[m].act,
			    r - (m > 0 ? end[m - 1] : 0));
		}
	}
	return 0;
}

int
ops_matmul_each(const struct ops_mat *const *w, int nw,
    const float *const *x, float *const *y, struct ops_scratch *scratch)
{
	struct matmul_job	 j[OPS_MATMUL_MAX];
	int			 i;

	if (!matmul_fusable(w, nw)) {
		for (i = 0; i < nw; i++) {
			if (ops_matmul(w[i], x[i], 1, y[i], scratch) != 0)
				return -1;
		}
		return 0;
	}
	for (i = 0; i < nw; i++) {
		if (matmul_setup(&j[i], w[i], x[i], 1, y[i]) != 0)
			return -1;
	}
	return matmul_pass(j, nw, scratch);
}

int
ops_matmul_n(const struct ops_mat *const *w, int nw, const float *x,
    int n_tok, float *const *y, struct ops_scratch *scratch)
{
	const float	*xs[OPS_MATMUL_MAX];
	int		 i;

	if (n_tok != 1 || nw > OPS_MATMUL_MAX) {
		for (i = 0; i < nw; i++) {
			if (ops_matmul(w[i], x, n_tok, y[i], scratch) != 0)
				return -1;
		}
		return 0;
	}
	for (i = 0; i < nw; i++)
		xs[i] = x;
	return ops_matmul_each(w, nw, xs, y, scratch);
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


/* The SIMD kernels of the chosen path, or NULL: the plain loops. */
static const struct ops_kernels *
ops_simd(void)
{
	return ops_kernels[quant_isa()];
}

float
ops_dot_f16(const uint16_t *x, const float *y, int n)
{
	const struct ops_kernels	*k = ops_simd();
	float				 s = 0.0f;
	int				 i;

	if (k != NULL)
		return k->dot_f16(x, y, n);
	for (i = 0; i < n; i++)
		s += quant_f16_to_f32(x[i]) * y[i];
	return s;
}

void
ops_axpy_f16(float *y, float a, const uint16_t *x, int n)
{
	const struct ops_kernels	*k = ops_simd();
	int				 i;

	if (k != NULL) {
		k->axpy_f16(y, a, x, n);
		return;
	}
	for (i = 0; i < n; i++)
		y[i] += a * quant_f16_to_f32(x[i]);
}

void
ops_f32_to_f16(uint16_t *y, const float *x, int n)
{
	const struct ops_kernels	*k = ops_simd();
	int				 i;

	if (k != NULL) {
		k->f32_to_f16(y, x, n);
		return;
	}
	for (i = 0; i < n; i++)
		y[i] = quant_f32_to_f16(x[i]);
}

/* ------------------------------------------------------------------ */
/* attention */

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

/* The unit with its heads together: keys and values read and made F32
 * once for all of them, by the kernels kn. */
static void
attn_unit_simd(const struct ops_attn *a, const struct attn_unit *w,
    const struct attn_kernels *kn)
{
	const uint16_t	*k, *v;
	float		 inv[ATTN_VB_MAX], max, *sc;
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
	const struct ops_kernels	*k = ops_simd();
	const struct attn_kernels	*kn;
	size_t				 i;

	for (i = 0; k != NULL && i < sizeof k->attn / sizeof k->attn[0] &&
	    (kn = k->attn[i]) != NULL; i++) {
		if (a->dim_k % kn->dk_mult == 0 && a->dim_v % kn->dv_mult == 0)
			return kn;
	}
	return NULL;
}

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
	const struct attn_kernels	*kn = attn_kernels_for(a);
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
			if (kn != NULL) {
				attn_unit_simd(a, &w, kn);
				continue;
			}
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
	const struct ops_kernels	*k = ops_simd();
	double				 sum = 0.0;
	int				 i = 0;

	if (k != NULL)
		i = k->exp_sum(x, n, m, &sum);
	for (; i < n; i++) {
		x[i] = expf(x[i] - m);
		sum += x[i];
	}
	return sum;
}

static void
swiglu_range(float *x, const float *g, int i0, int i1)
{
	const struct ops_kernels	*k = ops_simd();
	int				 i = i0;

	if (k != NULL)
		i = k->swiglu(x, g, i0, i1);
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
