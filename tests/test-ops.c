/*
 * test-ops.c - ops against straightforward double-precision references,
 * on each kernel path this CPU can run (every path 0 .. QUANT_ISA_COUNT
 * - 1; each path's line in the log says whether it ran, "# kernel path:
 * NAME ran", or this CPU lacks it).
 *
 * matmul, for every type of the traits table with a dot (weights from
 * its reference quantizer, or random blocks where it has none), on its
 * prompt tiles and panels where the path has them, 1, 5, 6, 7 and 64
 * tokens (every tail
 * of a 4-token pass), 1 and 2 threads:
 *  - exact: against dequant(W) x dequant(quant(x)) in double, which is
 *    what the kernels compute with integer block sums; only float
 *    rounding separates them: |err| <= 1e-5 * sum |w * xq|.  Q4_1 and
 *    Q5_1 also take the block's min times Q8_1's s, which is
 *    sum(q) * d rounded to F16 where dequantizing rounds d alone: that
 *    adds up to max|w| * |sum xq| * 2^-10 per 32-block.
 *  - against the F32 matmul of the dequantized weights with x itself: the
 *    activations are then also rounded to the dot's 8-bit format, each by
 *    at most half a step (amax / 254 of its block) plus the F16 rounding
 *    of the block's scale (127 * d * 2^-11 = amax * 2^-11), so
 *    |err| <= sum |w_i| * amax(block of i) * (1/254 + 1/2048)
 *    + 1e-5 * sum |w * x|.  For F32/F16/BF16 weights the activations stay
 *    F32 and only the second term remains.
 *  - every output bit-identical whatever the thread count and whatever
 *    the tokens batched with it: each is one vec_dot of the same bytes;
 *    except for types with prompt kernels (quant_gemm), whose batches of
 *    several tokens sum in another order: they must agree with the
 *    single-token result within the exact bound above.  COLS is not a
 *    whole number of their panels and ROWS not of their tiles, so the
 *    padding is exercised too.
 * The matmul checks run once more on a table mixing two paths' kernels
 * per type (check_mixed), as quant-calib.c's measure may choose them.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-path.h"
#include "ops.h"
#include "quant-impl.h"
#include "tap.h"
#include "util.h"

static uint64_t	rng_state = 88172645463325252ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static float
uniform(void)
{
	return (rng() + 0.5f) / 4294967296.0f;
}

static float
gauss(void)
{
	return sqrtf(-2.0f * logf(uniform())) * cosf(6.2831853f * uniform());
}

/*
 * A row of n weights of type tr at w, and its values at wf: the
 * reference quantizer's of Gaussian values, or, for a type without one,
 * random blocks, each drawn again until its values are finite and at
 * most 1 in size.
 */
static void
make_row(const struct quant_traits *tr, void *w, float *wf, int n)
{
	uint8_t	*p = w;
	size_t	 k;
	int	 b, i, sane;

	if (tr->from_float_ref != NULL) {
		for (i = 0; i < n; i++)
			wf[i] = gauss() * 0.05f;
		tr->from_float_ref(wf, w, n);
		tr->to_float(w, wf, n);
		return;
	}
	for (b = 0; b < n / tr->blck; b++) {
		do {
			for (k = 0; k < tr->size; k++)
				p[(size_t)b * tr->size + k] = (uint8_t)rng();
			tr->to_float(p + (size_t)b * tr->size,
			    wf + b * tr->blck, tr->blck);
			for (sane = 1, i = 0; i < tr->blck; i++)
				sane &= fabsf(wf[b * tr->blck + i]) <= 1.0f;
		} while (!sane);
	}
}

#define ROWS	67	/* not a multiple of the tile */
#define COLS	768	/* 1.5 prompt-kernel panels of 512 */
#define MAXTOK	64

/* The Q8_1 s rounding bound of the comment above; 0 for other types. */
static double
min_term(enum ggml_type vt, const float *w, const float *xq)
{
	double	t = 0, sx, mw;
	int	b, i;

	if (vt != GGML_TYPE_Q8_1)
		return 0;
	for (b = 0; b < COLS; b += QK8_1) {
		for (sx = mw = 0, i = b; i < b + QK8_1; i++) {
			sx += xq[i];
			mw = fmax(mw, fabs(w[i]));
		}
		t += mw * fabs(sx) * 0x1p-10;
	}
	return t;
}

static void
check_matmul(const char *isa, enum ggml_type t)
{
	static const int	 toks[] = { 1, 5, 6, 7, 64 };
	const struct quant_traits *tr = quant_traits(t), *at;
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_mat		 m;
	enum ggml_type		 vt = tr->vec_dot_type;
	size_t			 rs = type_row_size(t, COLS);
	size_t			 as = type_row_size(vt, COLS);
	float			*wf, *x, *xq, *y, *y1, *blk_amax;
	void			*w, *aq;
	double			 e, s, sa, sw, tol, tolq, ref, refq;
	double			 worst = 0, worstq = 0;
	int			 r, c, ti, th, n, tok, ok_exact = 1;
	int			 ok_loose = 1, ok_same = 1, rc_ok = 1;

	at = quant_traits(vt);
	wf = malloc(ROWS * COLS * sizeof *wf);
	w = malloc(ROWS * rs);
	x = malloc(MAXTOK * COLS * sizeof *x);
	xq = malloc(MAXTOK * COLS * sizeof *xq);
	blk_amax = malloc(MAXTOK * COLS * sizeof *blk_amax);
	aq = malloc(as);
	y = malloc(MAXTOK * ROWS * sizeof *y);
	y1 = malloc(MAXTOK * ROWS * sizeof *y1);

	for (r = 0; r < ROWS; r++)
		make_row(tr, (char *)w + r * rs, wf + r * COLS, COLS);
	for (n = 0; n < MAXTOK * COLS; n++)
		x[n] = gauss() * (1 + (n % 31) * 0.1f);
	/* What the dot sees of x, and each element's block absmax. */
	for (tok = 0; tok < MAXTOK; tok++) {
		at->from_float_ref(x + tok * COLS, aq, COLS);
		at->to_float(aq, xq + tok * COLS, COLS);
		for (c = 0; c < COLS; c += at->blck) {
			float	am = 0;

			for (n = 0; n < at->blck; n++)
				am = fmaxf(am, fabsf(x[tok * COLS + c + n]));
			for (n = 0; n < at->blck; n++)
				blk_amax[tok * COLS + c + n] =
				    vt == GGML_TYPE_F32 ? 0 : am;
		}
	}

	memset(&m, 0, sizeof m);
	m.type = t;
	m.rows = ROWS;
	m.cols = COLS;
	m.row_size = rs;
	m.data = w;
	/* Single tokens on one thread: the baseline for bit equality. */
	ops_set_threads(1);
	for (tok = 0; tok < MAXTOK; tok++) {
		if (ops_matmul(&m, x + tok * COLS, 1, y1 + tok * ROWS,
		    &scratch) != 0)
			rc_ok = 0;
	}

	for (ti = 0; ti < (int)(sizeof toks / sizeof toks[0]); ti++) {
		for (th = 1; th <= 2; th++) {
			ops_set_threads(th);
			memset(y, 0xff, MAXTOK * ROWS * sizeof *y);
			if (ops_matmul(&m, x, toks[ti], y, &scratch) != 0)
				rc_ok = 0;
			for (tok = 0; tok < toks[ti]; tok++) {
				for (r = 0; r < ROWS; r++) {
					const float	*wr = wf + r * COLS;
					const float	*xr = x + tok * COLS;
					const float	*qr = xq + tok * COLS;
					float		 got = y[tok * ROWS + r];

					ref = refq = s = sa = sw = 0;
					for (c = 0; c < COLS; c++) {
						ref += (double)wr[c] * xr[c];
						refq += (double)wr[c] * qr[c];
						s += fabs((double)wr[c] * qr[c]);
						sa += fabs((double)wr[c] * xr[c]);
						sw += fabs(wr[c]) *
						    (double)blk_amax[tok * COLS
						    + c];
					}
					tolq = 1e-5 * s + 1e-30 +
					    min_term(vt, wr, qr);
					tol = sw * (1.0 / 254 + 1.0 / 2048) +
					    1e-5 * sa;
					e = fabs(got - refq);
					if (!(e <= tolq))
						ok_exact = 0;
					if (e / tolq > worstq)
						worstq = e / tolq;
					e = fabs(got - ref);
					if (!(e <= tol))
						ok_loose = 0;
					if (e / tol > worst)
						worst = e / tol;
					if (tr->gemm != NULL ? !(fabs(got -
					    y1[tok * ROWS + r]) <= tolq) :
					    memcmp(&got, &y1[tok * ROWS + r],
					    sizeof got) != 0)
						ok_same = 0;
				}
			}
		}
	}
	ok(rc_ok, "%s %s matmul returns 0", isa, tr->name);
	ok(ok_exact, "%s %s matmul = dequant(W) x dequant(quant(x)): worst "
	    "%.3f of the bound", isa, tr->name, worstq);
	ok(ok_loose, "%s %s matmul = dequant(W) x x within the activation "
	    "rounding bound: worst %.3f of it", isa, tr->name, worst);
	ok(ok_same, "%s %s matmul: 1, 5, 6, 7, 64 tokens on 1 and 2 threads give "
	    "the single-token %s", isa, tr->name, tr->gemm != NULL ?
	    "result within the bound" : "bits");

	ops_scratch_free(&scratch);
	free(wf);
	free(w);
	free(x);
	free(xq);
	free(blk_amax);
	free(aq);
	free(y);
	free(y1);
}

/*
 * Whether y and y1 (n tokens of R rows) agree within 1e-5 of sum |w x|
 * of each row of wf (R x C) and token of x; *worst grows to the largest
 * share of that bound a difference took.
 */
static int
within_rounding(const float *wf, const float *x, const float *y,
    const float *y1, int R, int C, int n, double *worst)
{
	double	bound, e;
	int	r, c, t, good = 1;

	for (t = 0; t < n; t++) {
		for (r = 0; r < R; r++) {
			bound = 1e-30;
			for (c = 0; c < C; c++)
				bound += fabs((double)wf[r * C + c] *
				    x[t * C + c]);
			bound *= 1e-5;
			e = fabs(y[t * R + r] - y1[t * R + r]);
			if (!(e <= bound))
				good = 0;
			if (e / bound > *worst)
				*worst = e / bound;
		}
	}
	return good;
}

/*
 * The prompt tiles of type at shapes check_matmul leaves out: an odd
 * count of blocks (25 of 32, or 3 of 256, a row), 35 rows (not a whole
 * number of tiles) and 150 tokens (past a 128-token group, into a
 * partial chunk).  Each result is the single-token dot's within float
 * rounding: the integer products are exact either way and the
 * activations the same, so 1e-5 of the sum of the products' sizes.
 */
static void
check_gemm_shapes(const char *isa, enum ggml_type type)
{
	enum { R = 35, T = 150 };
	const struct quant_traits *tr = quant_traits(type);
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_mat		 m;
	int			 C = tr->blck * ((800 / tr->blck) | 1);
	size_t			 rs = type_row_size(type, C);
	float			*wf, *x, *y, *y1;
	char			*w;
	double			 worst = 0;
	int			 r, c, t, ok_all = 1;

	wf = malloc(R * C * sizeof *wf);
	x = malloc(T * C * sizeof *x);
	y = malloc(T * R * sizeof *y);
	y1 = malloc(T * R * sizeof *y1);
	memset(&m, 0, sizeof m);
	m.type = type;
	m.rows = R;
	m.cols = C;
	m.row_size = rs;
	m.data = w = malloc(R * rs);
	for (r = 0; r < R; r++)
		make_row(tr, w + r * rs, wf + r * C, C);
	for (c = 0; c < T * C; c++)
		x[c] = gauss();
	ops_set_threads(2);
	for (t = 0; t < T; t++)
		if (ops_matmul(&m, x + t * C, 1, y1 + t * R, &scratch) != 0)
			ok_all = 0;
	if (ops_matmul(&m, x, T, y, &scratch) != 0)
		ok_all = 0;
	if (!within_rounding(wf, x, y, y1, R, C, T, &worst))
		ok_all = 0;
	ok(ok_all, "%s %s prompt tiles: %d blocks, 35 rows, 150 tokens give "
	    "the single-token dots (worst %.3f of the bound)", isa, tr->name,
	    C / tr->blck, worst);
	ops_scratch_free(&scratch);
	free(w);
	free(wf);
	free(x);
	free(y);
	free(y1);
}

/*
 * A type repacked into panels (ops_repack), where the path has them: 48
 * rows of about 700 (for Q8_0 one quant -128, which the format allows),
 * against 1, 2, 3, 17 and 150 tokens, within 1e-5 of sum |w x| of the
 * rows as stored (the integer dots are exact in both); ops_matmul_n of
 * three repacked matrices gives what each alone does; 40 rows stay as
 * stored.
 */
static void
check_panels(const char *isa, enum ggml_type type)
{
	enum { R = 48, T = 150 };
	static const int	 ntoks[] = { 1, 2, 3, 17, T };
	const struct quant_traits *tr = quant_traits(type);
	int			 C = tr->panel->cols_multiple *
				    ((700 + tr->panel->cols_multiple - 1) /
				    tr->panel->cols_multiple);
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_mat		 m, pm, odd;
	const struct ops_mat	*three[3] = { &pm, &pm, &pm };
	size_t			 rs = type_row_size(type, C);
	float			*wf, *x, *y, *y1, *yn[3];
	char			*w, *pw;
	double			 worst = 0;
	int			 r, c, t, k, n, ok_all = 1, same = 1;

	wf = malloc(R * C * sizeof *wf);
	x = malloc(T * C * sizeof *x);
	y = malloc(T * R * sizeof *y);
	y1 = malloc(T * R * sizeof *y1);
	for (k = 0; k < 3; k++)
		yn[k] = malloc(R * sizeof *yn[k]);
	memset(&m, 0, sizeof m);
	m.type = type;
	m.rows = R;
	m.cols = C;
	m.row_size = rs;
	m.data = w = malloc(R * rs);
	pw = aligned_alloc(64, ops_repack_size(&m) + 64);
	for (r = 0; r < R; r++)
		make_row(tr, w + r * rs, wf + r * C, C);
	if (type == GGML_TYPE_Q8_0) {
		((struct block_q8_0 *)w)->qs[5] = -128;
		tr->to_float(w, wf, C);
	}
	for (c = 0; c < T * C; c++)
		x[c] = gauss();
	ops_set_threads(2);
	pm = m;
	ok(ops_repack_size(&m) >= R * rs && ops_repack(&pm, pw) == 0 &&
	    pm.data == pw && pm.panel == tr->panel && ops_repack(&pm, pw) != 0,
	    "%s %s 48 x %d repacks into panels, once", isa, tr->name, C);
	for (t = 0; t < T; t++)
		if (ops_matmul(&m, x + t * C, 1, y1 + t * R, &scratch) != 0)
			ok_all = 0;
	for (k = 0; k < (int)(sizeof ntoks / sizeof ntoks[0]); k++) {
		n = ntoks[k];
		if (ops_matmul(&pm, x, n, y, &scratch) != 0)
			ok_all = 0;
		if (!within_rounding(wf, x, y, y1, R, C, n, &worst))
			ok_all = 0;
	}
	ok(ok_all, "%s %s panels against 1, 2, 3, 17, 150 tokens give the "
	    "rows' dots (worst %.3f of the bound)", isa, tr->name, worst);
	if (ops_matmul_n(three, 3, x, 1, yn, &scratch) != 0 ||
	    ops_matmul(&pm, x, 1, y, &scratch) != 0)
		same = 0;
	for (k = 0; k < 3 && same; k++)
		same = memcmp(yn[k], y, R * sizeof *y) == 0;
	ok(same, "%s %s: ops_matmul_n of three panelled matrices gives each "
	    "one's bits", isa, tr->name);
	odd = m;
	odd.rows = R - 8;
	ok(ops_repack_size(&odd) == 0 && ops_repack(&odd, pw) != 0 &&
	    odd.data == w, "%s %s: 40 rows (not whole panels) stay as "
	    "stored", isa, tr->name);
	if (type == GGML_TYPE_Q8_0) {
		odd = m;
		odd.cols = 32;
		odd.row_size = type_row_size(type, 32);
		ok(ops_repack_size(&odd) == 0, "%s Q8_0: an odd count of "
		    "blocks stays as stored", isa);
	}
	ops_scratch_free(&scratch);
	for (k = 0; k < 3; k++)
		free(yn[k]);
	free(w);
	free(pw);
	free(wf);
	free(x);
	free(y);
	free(y1);
}

/*
 * m: a rows x cols matrix of type, quantized from small Gaussian weights;
 * wf is room for a row of floats.  The caller frees m->data.
 */
static void
mat_random(struct ops_mat *m, enum ggml_type type, int rows, int cols,
    float *wf)
{
	int	r, c;

	memset(m, 0, sizeof *m);
	m->type = type;
	m->rows = rows;
	m->cols = cols;
	m->row_size = type_row_size(type, cols);
	m->data = malloc(rows * m->row_size);
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++)
			wf[c] = gauss() * 0.05f;
		quant_traits(type)->from_float_ref(wf,
		    (char *)m->data + r * m->row_size, cols);
	}
}

/*
 * ops_matmul_n on Q4_K, Q6_K and Q4_K matrices of 67, 13 and 5 rows (one
 * activation type, so one pass for a single token), and on Q4_K with Q8_0
 * (two activation types) and on 5 tokens (separate calls): every output
 * bit-identical to ops_matmul of each matrix alone, on 1 and 2 threads.
 */
static void
check_matmul_n(const char *isa)
{
	static const enum ggml_type types[2][3] = {
		{ GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_Q4_K },
		{ GGML_TYPE_Q4_K, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K },
	};
	static const int	 rows[3] = { ROWS, 13, 5 };
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_mat		 m[3];
	const struct ops_mat	*mp[3] = { &m[0], &m[1], &m[2] };
	float			*x, *wf, *ys[3], *yn[3];
	int			 set, i, c, th, ntok, same = 1, rc_ok = 1;

	x = malloc(5 * COLS * sizeof *x);
	wf = malloc(COLS * sizeof *wf);
	for (c = 0; c < 5 * COLS; c++)
		x[c] = gauss();
	for (i = 0; i < 3; i++) {
		ys[i] = malloc(5 * ROWS * sizeof *ys[i]);
		yn[i] = malloc(5 * ROWS * sizeof *yn[i]);
	}
	for (set = 0; set < 2; set++) {
		for (i = 0; i < 3; i++)
			mat_random(&m[i], types[set][i], rows[i], COLS, wf);
		for (ntok = 1; ntok <= 5; ntok += 4) {
			for (th = 1; th <= 2; th++) {
				ops_set_threads(th);
				for (i = 0; i < 3; i++) {
					if (ops_matmul(&m[i], x, ntok, ys[i],
					    &scratch) != 0)
						rc_ok = 0;
				}
				if (ops_matmul_n(mp, 3, x, ntok, yn,
				    &scratch) != 0)
					rc_ok = 0;
				for (i = 0; i < 3; i++) {
					if (memcmp(ys[i], yn[i], (size_t)ntok *
					    rows[i] * sizeof *ys[i]) != 0)
						same = 0;
				}
			}
		}
		for (i = 0; i < 3; i++)
			free((void *)m[i].data);
	}
	ok(rc_ok && same, "%s matmul_n (one pass, two activation types, "
	    "5 tokens) gives each matrix's bits", isa);
	for (i = 0; i < 3; i++) {
		free(ys[i]);
		free(yn[i]);
	}
	free(x);
	free(wf);
	ops_scratch_free(&scratch);
}

/*
 * ops_matmul_each, as a mixture of experts calls it: Q4_K and Q6_K on one
 * x (quantized once), Q8_0 on another, Q4_K twice as wide on a third, in
 * one pass: every output bit-identical to ops_matmul of each matrix
 * alone, on 1 and 2 threads.
 */
static void
check_matmul_each(const char *isa)
{
	static const enum ggml_type types[4] = { GGML_TYPE_Q4_K,
	    GGML_TYPE_Q6_K, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K };
	static const int	 rows[4] = { ROWS, 13, 29, 7 };
	static const int	 xi[4] = { 0, 0, 1, 2 };
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_mat		 m[4];
	const struct ops_mat	*mp[4] = { &m[0], &m[1], &m[2], &m[3] };
	const float		*xs[4];
	float			*x[3], *wf, *ys[4], *yn[4];
	int			 i, c, th, same = 1, rc_ok = 1;

	for (i = 0; i < 3; i++) {
		x[i] = malloc(2 * COLS * sizeof *x[i]);
		for (c = 0; c < 2 * COLS; c++)
			x[i][c] = gauss();
	}
	wf = malloc(2 * COLS * sizeof *wf);
	for (i = 0; i < 4; i++) {
		mat_random(&m[i], types[i], rows[i], i == 3 ? 2 * COLS : COLS,
		    wf);
		xs[i] = x[xi[i]];
		ys[i] = malloc(rows[i] * sizeof *ys[i]);
		yn[i] = malloc(rows[i] * sizeof *yn[i]);
	}
	for (th = 1; th <= 2; th++) {
		ops_set_threads(th);
		for (i = 0; i < 4; i++) {
			if (ops_matmul(&m[i], xs[i], 1, ys[i], &scratch) != 0)
				rc_ok = 0;
		}
		if (ops_matmul_each(mp, 4, xs, yn, &scratch) != 0)
			rc_ok = 0;
		for (i = 0; i < 4; i++) {
			if (memcmp(ys[i], yn[i], rows[i] * sizeof *ys[i]) != 0)
				same = 0;
		}
	}
	ok(rc_ok && same, "%s matmul_each (three inputs, two widths, one "
	    "pass) gives each matrix's bits", isa);
	for (i = 0; i < 4; i++) {
		free((void *)m[i].data);
		free(ys[i]);
		free(yn[i]);
	}
	for (i = 0; i < 3; i++)
		free(x[i]);
	free(wf);
	ops_scratch_free(&scratch);
}

static void
check_matmul_errors(void)
{
	struct ops_scratch	scratch = { NULL, 0 };
	struct ops_mat		m = { GGML_TYPE_Q4_K, 4, 100, 0, NULL, NULL };
	float			x[256], y[4];

	memset(x, 0, sizeof x);
	ok(ops_matmul(&m, x, 1, y, &scratch) == -1,
	    "matmul refuses a row that is not whole blocks");
	m.type = GGML_TYPE_I8;
	m.cols = 256;
	ok(ops_matmul(&m, x, 1, y, &scratch) == -1,
	    "matmul refuses a type without kernels");
	ops_scratch_free(&scratch);
}

static void
check_rmsnorm(void)
{
	float	x[1536], w[1536], out[1536];
	double	ss, sc, e, worst = 0;
	int	i, n = 1536, k;

	for (i = 0; i < n; i++) {
		x[i] = gauss() * 3;
		w[i] = 1 + gauss() * 0.1f;
	}
	/* a width of whole groups of four sums and one of three more */
	for (k = 0; k < 2; k++) {
		n = k == 0 ? 1536 : 1535;
		ops_rmsnorm(out, x, w, n, 1e-6f);
		for (ss = 0, i = 0; i < n; i++)
			ss += (double)x[i] * x[i];
		sc = 1 / sqrt(ss / n + 1e-6);
		for (i = 0; i < n; i++) {
			e = fabs(out[i] - x[i] * sc * w[i]) /
			    fabs(x[i] * sc * w[i]);
			if (e > worst)
				worst = e;
		}
	}
	ok(worst <= 1e-6, "rmsnorm, 1536 and 1535 wide: max rel err %.3g <= "
	    "1e-6", worst);
	memcpy(out, x, sizeof x);
	ops_rmsnorm(out, out, NULL, n, 1e-6f);
	for (worst = 0, i = 0; i < n; i++) {
		e = fabs(out[i] - x[i] * sc) / fabs(x[i] * sc);
		if (e > worst)
			worst = e;
	}
	ok(worst <= 1e-6, "rmsnorm in place, no weight: max rel err %.3g",
	    worst);
}

/*
 * The reference rotates in double with theta = pos * base^(-2i/n_rot) /
 * ff.  ops follows ggml and advances theta by repeated float
 * multiplication, which drifts by about i float roundings; the bound
 * allows (i + 4) * 2^-23 relative on theta, plus float rounding of the
 * products, times the pair's norm.
 */
static void
check_rope(int neox, int with_ff, const struct ops_rope_yarn *yarn)
{
	static const int	 positions[] = { 0, 1, 17, 1000, 4095 };
	enum { NH = 3, HD = 80, NROT = 64 };
	float			 x[NH * HD], orig[NH * HD], ff[NROT / 2];
	double			 th, c, s, r0, r1, e, bound, worst = 0, norm;
	double			 mscale = 1, corr0 = 0, corr1 = 0, ramp, te;
	int			 p, h, i, o0, o1, bad = 0, untouched = 1;
	float			 base = 10000.0f;

	for (i = 0; i < NROT / 2; i++)
		ff[i] = with_ff ? 1 + (i % 5) * 0.75f : 1;
	if (yarn != NULL && yarn->ext_factor != 0) {
		corr0 = floor(NROT * log(yarn->n_ctx_orig / (yarn->beta_fast *
		    2 * M_PI)) / (2 * log(base)));
		corr1 = ceil(NROT * log(yarn->n_ctx_orig / (yarn->beta_slow *
		    2 * M_PI)) / (2 * log(base)));
		corr0 = fmax(0, corr0);
		corr1 = fmin(NROT - 1, corr1);
		mscale = yarn->attn_factor * (1 + 0.1 * log(1 / yarn->freq_scale));
	}
	for (p = 0; p < (int)(sizeof positions / sizeof positions[0]); p++) {
		for (i = 0; i < NH * HD; i++)
			x[i] = orig[i] = gauss();
		ops_rope_ext(x, NH, HD, NROT, positions[p], base,
		    with_ff ? ff : NULL, neox, yarn);
		for (h = 0; h < NH; h++) {
			for (i = 0; i < NROT / 2; i++) {
				o0 = h * HD + (neox ? i : 2 * i);
				o1 = h * HD + (neox ? i + NROT / 2 : 2 * i + 1);
				te = positions[p] * pow(base, -2.0 * i / NROT) /
				    ff[i];
				th = te;
				if (yarn != NULL) {
					th = yarn->freq_scale * te;
					if (yarn->ext_factor != 0) {
						ramp = (i - corr0) /
						    fmax(0.001, corr1 - corr0);
						ramp = (1 - fmin(1, fmax(0,
						    ramp))) * yarn->ext_factor;
						th = th * (1 - ramp) + te * ramp;
					}
				}
				c = cos(th) * mscale;
				s = sin(th) * mscale;
				r0 = orig[o0] * c - orig[o1] * s;
				r1 = orig[o0] * s + orig[o1] * c;
				norm = hypot(orig[o0], orig[o1]) * mscale;
				bound = norm * (fabs(th) * (i + 4) * 0x1p-23 +
				    4 * 0x1p-23) + 1e-7;
				e = fmax(fabs(x[o0] - r0), fabs(x[o1] - r1));
				if (!(e <= bound))
					bad++;
				if (e / bound > worst)
					worst = e / bound;
			}
			for (i = NROT; i < HD; i++) {
				if (!neox && x[h * HD + i] != orig[h * HD + i])
					untouched = 0;
			}
			if (neox) {
				/* neox rotates [0, n_rot): the rest stays. */
				for (i = NROT; i < HD; i++)
					if (x[h * HD + i] != orig[h * HD + i])
						untouched = 0;
			}
		}
	}
	ok(bad == 0, "rope %s%s%s: within the float bound (worst %.3f of it)",
	    neox ? "neox" : "normal", with_ff ? " with freq_factors" : "",
	    yarn != NULL ? " yarn" : "", worst);
	ok(untouched, "rope %s: dimensions past n_rot untouched",
	    neox ? "neox" : "normal");
}

static void
check_rope_relative(void)
{
	enum { HD = 64 };
	float	q[HD], k[HD], q1[HD], k1[HD];
	double	d1, d2;
	int	i;

	/* RoPE's point: q.k depends only on the distance of positions. */
	for (i = 0; i < HD; i++) {
		q[i] = gauss();
		k[i] = gauss();
	}
	memcpy(q1, q, sizeof q);
	memcpy(k1, k, sizeof k);
	ops_rope(q1, 1, HD, HD, 10, 10000.0f, NULL, 1);
	ops_rope(k1, 1, HD, HD, 3, 10000.0f, NULL, 1);
	for (d1 = 0, i = 0; i < HD; i++)
		d1 += (double)q1[i] * k1[i];
	memcpy(q1, q, sizeof q);
	memcpy(k1, k, sizeof k);
	ops_rope(q1, 1, HD, HD, 107, 10000.0f, NULL, 1);
	ops_rope(k1, 1, HD, HD, 100, 10000.0f, NULL, 1);
	for (d2 = 0, i = 0; i < HD; i++)
		d2 += (double)q1[i] * k1[i];
	ok(fabs(d1 - d2) <= 1e-3 * fabs(d1) + 1e-4,
	    "rope: q.k at (10, 3) = at (107, 100): %.6f %.6f", d1, d2);
}

/*
 * ops_exp_sum against exp in double: every value from -120 to 100 in
 * steps of 0.1243 and e^-inf.  Results within 2 ulp where normal, within
 * the smallest denormal where below, inf past float's range; the sum inf
 * then, and within 1e-6 of exp's over the values up to 80; m subtracted;
 * NaN stays NaN.
 */
static void
check_exp(const char *isa)
{
	enum { N = 1771 };
	static float	x[N + 1], orig[N + 1];
	float		shifted[] = { 1.5f, 2.5f, 0.5f, 1.5f, 1.5f, 1.5f,
			    1.5f, 1.5f, -8.5f };
	double		r, e, worst = 0, sum, want = 0;
	int		i, wrong = 0, n80 = 0;

	for (i = 0; i < N; i++)
		orig[i] = -120.0f + (float)i * 0.1243f;
	orig[N] = -INFINITY;
	memcpy(x, orig, sizeof x);
	sum = ops_exp_sum(x, N + 1, 0.0f);
	for (i = 0; i <= N; i++) {
		r = exp((double)orig[i]);
		if (r > FLT_MAX)
			wrong += !isinf(x[i]);
		else if (r < FLT_MIN)
			wrong += !(fabs(x[i] - r) <= 0x1p-149);
		else {
			e = fabs(x[i] - r) / r;
			worst = e > worst ? e : worst;
		}
	}
	ok(worst <= 2.4e-7 && wrong == 0 && isinf(sum),
	    "%s: e^x for x in -120..100: max rel err %.3g <= 2.4e-7, %d "
	    "wrong past float's range, sum %g", isa, worst, wrong, sum);

	while (n80 < N && orig[n80] <= 80.0f)
		want += exp((double)orig[n80++]);
	memcpy(x, orig, sizeof x);
	sum = ops_exp_sum(x, n80, 0.0f);
	ok(fabs(sum - want) <= 1e-6 * want, "%s: sum of e^x up to 80: %.9g "
	    "against %.9g", isa, sum, want);

	ops_exp_sum(shifted, 9, 1.5f);
	ok(shifted[0] == 1.0f && fabs(shifted[1] - M_E) <= 4e-7 &&
	    fabs(shifted[2] - 1 / M_E) <= 1e-7 && fabs(shifted[8] - exp(-10))
	    <= 1e-11, "%s: e^(x - m)", isa);
	x[0] = NAN;
	x[1] = 0.0f;
	ops_exp_sum(x, 9, 0.0f);
	ok(isnan(x[0]) && x[1] == 1.0f, "%s: e^NaN is NaN, e^0 is 1", isa);
}

static void
check_softmax(const char *isa)
{
	float	x[1000], orig[1000];
	double	mx, sum, e, worst = 0, total = 0;
	int	i, n = 1000;

	for (i = 0; i < n; i++)
		x[i] = orig[i] = gauss() * 10 + 500;
	x[3] = orig[3] = -INFINITY;	/* a masked position */
	ops_softmax(x, n);
	for (mx = -INFINITY, i = 0; i < n; i++)
		mx = fmax(mx, orig[i]);
	for (sum = 0, i = 0; i < n; i++)
		sum += exp(orig[i] - mx);
	for (i = 0; i < n; i++) {
		double	r = exp(orig[i] - mx) / sum;

		e = fabs(x[i] - r) / (r > 1e-30 ? r : 1);
		if (r > 1e-30 && e > worst)
			worst = e;
		total += x[i];
	}
	ok(worst <= 1e-5 && x[3] == 0, "%s: softmax: max rel err %.3g <= "
	    "1e-5, masked entry 0", isa, worst);
	ok(fabs(total - 1) <= 1e-5, "%s: softmax sums to 1: %.8f", isa,
	    total);
}

static void
check_swiglu(const char *isa)
{
	enum { N = 9999 };
	static float	x[N], g[N], orig[N];
	double		r, e, worst = 0;
	int		i, th, k, n;

	/* 999 stays below the threads' threshold, N is above it */
	for (k = 0; k < 4; k++) {
		th = 1 + k % 2;
		n = k < 2 ? 999 : N;
		ops_set_threads(th);
		for (i = 0; i < n; i++) {
			x[i] = orig[i] = gauss() * 4;
			g[i] = gauss();
		}
		/* expf(100) overflows to inf: silu -> 0 */
		x[0] = orig[0] = x[n - 1] = orig[n - 1] = -100;
		ops_swiglu(x, g, n);
		for (i = 0; i < n; i++) {
			r = orig[i] / (1 + exp(-(double)orig[i])) * g[i];
			e = fabs(x[i] - r) / fmax(fabs(r), 1e-30);
			if (e > worst)
				worst = e;
		}
	}
	ok(worst <= 1e-6, "%s: swiglu, 999 and 9999 values on 1 and 2 "
	    "threads: max rel err %.3g <= 1e-6", isa, worst);
}

static void
check_f16_vectors(const char *isa)
{
	enum { N = 203 };
	uint16_t	h[N], h2[N];
	float		x[N], y[N], y0[N], a = 0.37f;
	double		d, s, e, worst = 0;
	int		i, same = 1;

	for (i = 0; i < N; i++) {
		x[i] = gauss();
		y[i] = y0[i] = gauss();
		h[i] = quant_f2h(gauss());
	}
	for (d = s = 0, i = 0; i < N; i++) {
		d += (double)quant_h2f(h[i]) * x[i];
		s += fabs((double)quant_h2f(h[i]) * x[i]);
	}
	e = fabs(ops_dot_f16(h, x, N) - d) / s;
	ok(e <= 1e-6, "%s dot_f16: err %.3g of sum|x*y| <= 1e-6", isa, e);
	ops_axpy_f16(y, a, h, N);
	for (i = 0; i < N; i++) {
		e = fabs(y[i] - (y0[i] + (double)a * quant_h2f(h[i])));
		if (e > worst)
			worst = e;
	}
	ok(worst <= 1e-6, "%s axpy_f16: max err %.3g <= 1e-6", isa, worst);
	ops_f32_to_f16(h2, x, N);
	for (i = 0; i < N; i++)
		if (h2[i] != quant_f2h(x[i]))
			same = 0;
	ok(same, "%s f32_to_f16 rounds as quant_f2h", isa);
}

/* attention against a double reference: GQA, causal, several tokens. */
/*
 * Attention's shapes: the first's value rows (24) are not whole cache
 * lines of F16, so it takes the head-at-a-time path; the others the
 * grouped one where the CPU has it: groups of 7, 6 (split between two
 * threads when there is one kv head and one token), 5, 1, 8 (keys of 40,
 * too short for the zmm kernels) and 18 query heads (more than the zmm
 * kernels hold at once), one token and several.
 */
static const struct {
	int	nh, nkv, dk, dv, ctx, ntok;
} attn_shapes[] = {
	{ 4, 2, 40, 24, 37, 7 },
	{ 14, 2, 64, 32, 45, 1 },
	{ 6, 1, 32, 32, 29, 1 },
	{ 10, 2, 48, 64, 21, 5 },
	{ 8, 8, 16, 32, 9, 3 },
	{ 16, 2, 40, 64, 19, 2 },
	{ 18, 1, 16, 32, 13, 1 },
};

static void
check_attention(const char *isa)
{
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_attn		 a;
	uint16_t		*k, *v;
	float			*q, *out;
	double			*sc, mx, sum, r, e, worst = 0;
	void			*buf;
	int			 pos0, t, h, p, i, kvh, th, z, nh, nkv, dk, dv;
	int			 ctx, ntok, rc = 0;

	for (z = 0; z < (int)(sizeof attn_shapes / sizeof attn_shapes[0]);
	    z++) {
		nh = attn_shapes[z].nh;
		nkv = attn_shapes[z].nkv;
		dk = attn_shapes[z].dk;
		dv = attn_shapes[z].dv;
		ctx = attn_shapes[z].ctx;
		ntok = attn_shapes[z].ntok;
		pos0 = ctx - ntok;
		k = xcalloc((size_t)ctx * nkv * dk, sizeof *k);
		v = xcalloc((size_t)ctx * nkv * dv, sizeof *v);
		q = xcalloc((size_t)ntok * nh * dk, sizeof *q);
		out = xcalloc((size_t)ntok * nh * dv, sizeof *out);
		sc = xcalloc((size_t)ctx, sizeof *sc);
		for (i = 0; i < ctx * nkv * dk; i++)
			k[i] = quant_f2h(gauss());
		for (i = 0; i < ctx * nkv * dv; i++)
			v[i] = quant_f2h(gauss());
		for (i = 0; i < ntok * nh * dk; i++)
			q[i] = gauss();
		a.n_head = nh;
		a.n_head_kv = nkv;
		a.dim_k = dk;
		a.dim_v = dv;
		a.k_stride = (size_t)nkv * dk;
		a.v_stride = (size_t)nkv * dv;
		a.scale = 1 / sqrtf((float)dk);
		a.k = k;
		a.v = v;
		for (th = 1; th <= 2; th++) {
			ops_set_threads(th);
			memset(out, 0xff, (size_t)ntok * nh * dv *
			    sizeof *out);
			/* as much scratch as it says it takes: no more */
			scratch.size = ops_attention_scratch(&a, ctx, th);
			scratch.buf = xmalloc(scratch.size);
			buf = scratch.buf;
			rc |= ops_attention(&a, q, ntok, pos0, out, &scratch);
			rc |= scratch.buf != buf;
			ops_scratch_free(&scratch);
			for (t = 0; t < ntok; t++) {
				for (h = 0; h < nh; h++) {
					kvh = h / (nh / nkv);
					mx = -INFINITY;
					for (p = 0; p <= pos0 + t; p++) {
						for (sc[p] = 0, i = 0; i < dk;
						    i++)
							sc[p] += q[(t * nh + h)
							    * dk + i] * (double)
							    quant_h2f(k[p * nkv
							    * dk + kvh * dk +
							    i]);
						sc[p] *= a.scale;
						mx = fmax(mx, sc[p]);
					}
					for (sum = 0, p = 0; p <= pos0 + t; p++)
						sum += (sc[p] = exp(sc[p] -
						    mx));
					for (i = 0; i < dv; i++) {
						for (r = 0, p = 0; p <= pos0 +
						    t; p++)
							r += sc[p] * quant_h2f(
							    v[p * nkv * dv +
							    kvh * dv + i]);
						r /= sum;
						e = fabs(out[(t * nh + h) * dv
						    + i] - r);
						if (!(e <= worst))
							worst = e != e ?
							    INFINITY : e;
					}
				}
			}
		}
		free(k);
		free(v);
		free(q);
		free(out);
		free(sc);
	}
	ok(rc == 0 && worst <= 1e-5, "%s attention (%d shapes: GQA groups "
	    "of 1-18, 1-7 tokens, 1 and 2 threads): max err %.3g <= 1e-5, "
	    "scratch as ops_attention_scratch says", isa,
	    (int)(sizeof attn_shapes / sizeof attn_shapes[0]), worst);
}

/*
 * Rewrites the kernels' cache at path (one run's measure) to name, for
 * every other type, scalar for both uses, and path p for the others:
 * the table a machine where neither path wins everywhere would choose.
 * Returns 0, or -1 when the file cannot be read or written.
 */
static int
mixed_cache(const char *path, enum quant_isa p)
{
	FILE	*f;
	char	 lines[256][128], type[64], use[16], last[64] = "";
	int	 n = 0, i, types = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (n < 256 && fgets(lines[n], sizeof lines[n], f) != NULL)
		n++;
	fclose(f);
	if (n < 2 || (f = fopen(path, "w")) == NULL)
		return -1;
	fputs(lines[0], f);
	fputs(lines[1], f);
	for (i = 2; i < n; i++) {
		if (sscanf(lines[i], "%63s %15s", type, use) != 2)
			continue;
		if (strcmp(type, last) != 0)
			types++;
		snprintf(last, sizeof last, "%s", type);
		fprintf(f, "%s %s %s\n", type, use, quant_isa_name(types % 2 ?
		    QUANT_ISA_SCALAR : p));
	}
	return fclose(f) == 0 ? 0 : -1;
}

/*
 * matmul on a table of two paths' kernels mixed per type, as
 * quant-calib.c may choose them, read from a cache quant_init is given:
 * each type against the references, as on each path.
 */
static void
check_mixed(void)
{
	static struct quant_traits	 scalar[GGML_TYPE_COUNT];
	static struct quant_traits	 wide[GGML_TYPE_COUNT];
	const struct quant_traits	*tr;
	char				 dir[] = "/tmp/r1chat-ops.XXXXXX";
	char				*path, *sub, *cause = NULL;
	enum quant_isa			 p;
	int				 t, mixed = 1, kinds = 0;

	unsetenv("R1CHAT_ISA");
	unsetenv("R1CHAT_CALIBRATE");
	if (quant_init(&cause) != 0 || (p = quant_isa()) == QUANT_ISA_SCALAR) {
		free(cause);
		ok(1, "mixed kernels # SKIP this CPU has the scalar path only");
		return;
	}
	if (mkdtemp(dir) == NULL) {
		ok(0, "mixed kernels: mkdtemp");
		return;
	}
	setenv("XDG_CACHE_HOME", dir, 1);
	path = util_cache_path("kernels");
	sub = xstrfmt("%s/r1chat", dir);
	if (!ok(quant_init(&cause) == 0 && quant_choice()->how ==
	    QUANT_HOW_MEASURED && mixed_cache(path, p) == 0 &&
	    quant_init(&cause) == 0 && quant_choice()->how ==
	    QUANT_HOW_CACHED, "a cache naming scalar and %s by turns is "
	    "read", quant_isa_name(p)))
		goto out;
	quant_path_table(QUANT_ISA_SCALAR, scalar);
	quant_path_table(p, wide);
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if ((tr = quant_traits(t)) == NULL || tr->vec_dot == NULL)
			continue;
		kinds |= tr->vec_dot == scalar[t].vec_dot ? 1 : 2;
		mixed &= tr->vec_dot == scalar[t].vec_dot ||
		    (tr->vec_dot == wide[t].vec_dot && tr->gemm ==
		    wide[t].gemm && tr->panel == wide[t].panel);
	}
	ok(mixed && kinds == 3, "the table mixes scalar's and %s's kernels "
	    "per type", quant_isa_name(p));
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if ((tr = quant_traits(t)) == NULL || tr->vec_dot == NULL)
			continue;
		check_matmul("mixed", t);
		if (tr->gemm != NULL)
			check_gemm_shapes("mixed", t);
		if (tr->panel != NULL)
			check_panels("mixed", t);
	}
	check_matmul_n("mixed");
	check_matmul_each("mixed");
out:
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	free(path);
	free(sub);
	free(cause);
	unsetenv("XDG_CACHE_HOME");
}

int
main(void)
{
	static const struct ops_rope_yarn yarn_plain = { 0.25f, 0.0f, 1.0f,
		32.0f, 1.0f, 4096 };
	static const struct ops_rope_yarn yarn_ext = { 0.25f, 1.0f, 1.0f,
		32.0f, 1.0f, 4096 };
	const struct quant_traits *tr;
	const char		*name;
	enum quant_isa		 isa;
	int			 t;

	for (isa = 0; isa < QUANT_ISA_COUNT; isa++) {
		if (!kernel_path_choose(isa))
			continue;
		name = quant_isa_name(isa);
		for (t = 0; t < GGML_TYPE_COUNT; t++) {
			if ((tr = quant_traits(t)) == NULL ||
			    tr->vec_dot == NULL)
				continue;
			check_matmul(name, t);
			if (tr->gemm != NULL)
				check_gemm_shapes(name, t);
			if (tr->panel != NULL)
				check_panels(name, t);
		}
		check_matmul_n(name);
		check_matmul_each(name);
		check_f16_vectors(name);
		check_attention(name);
		check_exp(name);
		check_softmax(name);
		check_swiglu(name);
		kernel_path_ran(isa);
	}
	check_mixed();
	check_matmul_errors();
	check_rmsnorm();
	check_rope(0, 0, NULL);
	check_rope(1, 0, NULL);
	check_rope(0, 1, NULL);
	check_rope(1, 1, NULL);
	check_rope(1, 0, &yarn_plain);
	check_rope(1, 0, &yarn_ext);
	check_rope_relative();
	return done_testing();
}
