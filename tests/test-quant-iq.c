/*
 * test-quant-iq.c - the i-quants (IQ1_S ... IQ4_XS) on every ISA path
 * this CPU runs.
 *
 * (a) the codebooks have the structure their formats define (values in
 *     the format's alphabet, no duplicate codewords, ksigns of even
 *     parity, the IQ4 table sorted);
 * (b) dequantizing every T.q of testdata/quant/blocks.gguf gives T.f32
 *     bit for bit (made by GGML's own dequantizers, from random block
 *     bytes for the types it cannot quantize);
 * (c) on random valid blocks, each path's vec_dot agrees with the scalar
 *     one and with the dot of the dequantized rows (relative to the sum
 *     of |terms|: 1e-5);
 * (d) the IQ4_NL and IQ4_XS quantizers' round trip error on Gaussian
 *     data stays under a bound from the table's step.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "quant-impl.h"
#include "quant-iq.h"
#include "quant.h"
#define RNG_SEED 0x2545f4914f6cdd1dULL
#include "rng.h"
#include "tap.h"
#include "util.h"

#define ROW 4096

static const struct {
	enum ggml_type	 type;
	const char	*name;		/* in blocks.gguf */
	quant_vec_dot_fn dot;		/* the scalar kernel */
} iq_types[] = {
	{ GGML_TYPE_IQ1_S, "iq1_s", vec_dot_iq1_s_q8_K },
	{ GGML_TYPE_IQ1_M, "iq1_m", vec_dot_iq1_m_q8_K },
	{ GGML_TYPE_IQ2_XXS, "iq2_xxs", vec_dot_iq2_xxs_q8_K },
	{ GGML_TYPE_IQ2_XS, "iq2_xs", vec_dot_iq2_xs_q8_K },
	{ GGML_TYPE_IQ2_S, "iq2_s", vec_dot_iq2_s_q8_K },
	{ GGML_TYPE_IQ3_XXS, "iq3_xxs", vec_dot_iq3_xxs_q8_K },
	{ GGML_TYPE_IQ3_S, "iq3_s", vec_dot_iq3_s_q8_K },
	{ GGML_TYPE_IQ4_NL, "iq4_nl", vec_dot_iq4_nl_q8_0 },
	{ GGML_TYPE_IQ4_XS, "iq4_xs", vec_dot_iq4_xs_q8_K },
};
#define N_IQ (sizeof iq_types / sizeof iq_types[0])

/* --- (a) codebooks ------------------------------------------------------- */

/*
 * Counts the entries of a grid (n codewords of k bytes) with a byte
 * outside the alphabet, and the codewords that repeat an earlier one.
 */
static int
check_grid(const char *name, const void *grid, int n, int k,
    const int8_t *alphabet, int na)
{
	const uint8_t	*g = grid;
	int		 i, j, a, bad = 0, dup = 0;

	for (i = 0; i < n * k; i++) {
		for (a = 0; a < na; a++) {
			if ((int8_t)g[i] == alphabet[a])
				break;
		}
		bad += a == na;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (memcmp(g + i * k, g + j * k, k) == 0) {
				dup++;
				break;
			}
		}
	}
	return ok(bad == 0 && dup == 0, "%s: %d codewords in the alphabet, "
	    "distinct (%d bad values, %d repeats)", name, n, bad, dup);
}

static void
test_tables(void)
{
	static const int8_t	e8[] = { 8, 25, 43 };
	static const int8_t	iq3xxs[] = { 4, 12, 20, 28, 36, 44, 52, 62 };
	static const int8_t	iq3s[] = { 1, 3, 5, 7, 9, 11, 13, 15 };
	static const int8_t	iq1[] = { -1, 0, 1 };
	int			i, bad = 0, sorted = 1;

	check_grid("iq2xxs_grid", iq2xxs_grid, 256, 8, e8, 3);
	check_grid("iq2xs_grid", iq2xs_grid, 512, 8, e8, 3);
	check_grid("iq2s_grid", iq2s_grid, 1024, 8, e8, 3);
	check_grid("iq3xxs_grid", iq3xxs_grid, 256, 4, iq3xxs, 8);
	check_grid("iq3s_grid", iq3s_grid, 512, 4, iq3s, 8);
	check_grid("iq1s_grid", iq1s_grid, 2048, 8, iq1, 3);

	for (i = 0; i < 128; i++) {
		bad += (ksigns_iq2xs[i] & 127) != i ||
		    __builtin_popcount(ksigns_iq2xs[i]) % 2 != 0;
	}
	ok(bad == 0, "ksigns_iq2xs: index plus an even-parity bit");
	for (i = 1; i < 16; i++)
		sorted &= kvalues_iq4nl[i] > kvalues_iq4nl[i - 1];
	ok(sorted && kvalues_iq4nl[0] == -127 && kvalues_iq4nl[15] == 113,
	    "kvalues_iq4nl: 16 increasing levels from -127 to 113");
}

/* --- (b) blocks.gguf ----------------------------------------------------- */

static void
test_blocks(const struct gguf_file *g, const char *isa)
{
	const struct gguf_tensor	*q, *f;
	const struct quant_traits	*tr;
	char				 name[GGUF_MAX_NAME + 1];
	float				*y;
	int64_t				 r, n;
	size_t				 i, rs;
	int				 same;

	for (i = 0; i < N_IQ; i++) {
		snprintf(name, sizeof name, "%s.q", iq_types[i].name);
		q = gguf_tensor_find(g, name);
		snprintf(name, sizeof name, "%s.f32", iq_types[i].name);
		f = gguf_tensor_find(g, name);
		if (q == NULL || f == NULL || q->type != iq_types[i].type ||
		    f->type != GGML_TYPE_F32 || q->ne[0] != f->ne[0] ||
		    q->ne[1] != f->ne[1]) {
			ok(0, "%s: blocks.gguf has %s.q and %s.f32", isa,
			    iq_types[i].name, iq_types[i].name);
			continue;
		}
		tr = quant_traits(q->type);
		n = q->ne[0];
		rs = type_row_size(q->type, n);
		y = xreallocarray(NULL, (size_t)n, sizeof *y);
		same = 1;
		for (r = 0; r < q->ne[1]; r++) {
			tr->to_float((const uint8_t *)q->data + r * rs, y, n);
			same &= memcmp(y, (const float *)f->data + r * n,
			    (size_t)n * sizeof *y) == 0;
		}
		free(y);
		ok(same, "%s: dequantize %s.q == %s.f32 bit for bit (%lld "
		    "rows)", isa, iq_types[i].name, iq_types[i].name,
		    (long long)q->ne[1]);
	}
}

/* --- (c) dots ------------------------------------------------------------ */

/*
 * n weights of type t as random bytes with F16 super-scales of a sane
 * size (random ones could be NaN): at offset 0 of every block except
 * IQ1_M, which keeps its scale in the top nibbles of its scales words.
 */
static void
random_row(enum ggml_type t, uint8_t *p, int n)
{
	const struct type_info	*ti = type_info(t);
	size_t			 i, nb = (size_t)(n / ti->blck);
	ggml_half		 h;
	uint16_t		 sc[4];
	int			 k;

	for (i = 0; i < nb * ti->size; i++)
		p[i] = (uint8_t)rng_next();
	for (i = 0; i < nb; i++) {
		h = quant_f2h((float)(0.001 + 0.01 * (rng_next() % 1000) /
		    1000.0));
		if (t != GGML_TYPE_IQ1_M) {
			memcpy(p + i * ti->size, &h, sizeof h);
			continue;
		}
		memcpy(sc, p + i * ti->size + 48, sizeof sc);
		for (k = 0; k < 4; k++)
			sc[k] = (uint16_t)((sc[k] & 0x0fff) |
			    ((h >> 4 * k) & 0xf) << 12);
		memcpy(p + i * ti->size + 48, sc, sizeof sc);
	}
}

static void
test_dots(const char *isa)
{
	const struct quant_traits	*tr, *at;
	float				*a, *w, *ad, s, s_scalar;
	uint8_t				*wq, *aq;
	double				 deq, mag;
	size_t				 i;
	int				 k, trial, good_scalar, good_deq;

	a = xreallocarray(NULL, ROW, sizeof *a);
	w = xreallocarray(NULL, ROW, sizeof *w);
	ad = xreallocarray(NULL, ROW, sizeof *ad);
	wq = xreallocarray(NULL, ROW, 4);
	aq = xreallocarray(NULL, ROW, 4);
	for (i = 0; i < N_IQ; i++) {
		tr = quant_traits(iq_types[i].type);
		at = quant_traits(tr->vec_dot_type);
		good_scalar = good_deq = 1;
		for (trial = 0; trial < 8; trial++) {
			random_row(iq_types[i].type, wq, ROW);
			for (k = 0; k < ROW; k++)
				a[k] = (float)(2 * rng_gauss() + 0.1);
			at->from_float(a, aq, ROW);
			tr->to_float(wq, w, ROW);
			at->to_float(aq, ad, ROW);
			deq = mag = 0;
			for (k = 0; k < ROW; k++) {
				deq += (double)w[k] * ad[k];
				mag += fabs((double)w[k] * ad[k]);
			}
			tr->vec_dot(ROW, &s, wq, aq);
			iq_types[i].dot(ROW, &s_scalar, wq, aq);
			if (fabs(s - s_scalar) > 1e-5 * mag) {
				diag("%s %s: %.9g vs scalar %.9g", isa,
				    tr->name, s, s_scalar);
				good_scalar = 0;
			}
			if (fabs(s - deq) > 1e-5 * mag) {
				diag("%s %s: %.9g vs dequantized %.9g", isa,
				    tr->name, s, deq);
				good_deq = 0;
			}
		}
		ok(good_scalar, "%s: vec_dot %s == scalar, 8 random rows",
		    isa, tr->name);
		ok(good_deq, "%s: vec_dot %s == dot of dequantized rows", isa,
		    tr->name);
	}
	free(a);
	free(w);
	free(ad);
	free(wq);
	free(aq);
}

/*
 * The 4-row dots ops uses for prompts (the traits' vec_dot_x4, under the
 * ISA in force) give each row the bits of the single-row vec_dot.
 */
static void
test_x4(const char *isa)
{
	quant_vec_dot_x4_fn	 x4;
	quant_vec_dot_fn	 single;
	const struct quant_traits *at = quant_traits(GGML_TYPE_Q8_K);
	uint8_t			*wq, *aq;
	float			*a, s4[4], s1;
	size_t			 i, arow = (ROW / QK_K) * sizeof(struct block_q8_K);
	int			 k, r, same;

	wq = xreallocarray(NULL, ROW, 4);
	aq = xreallocarray(NULL, 4, arow);
	a = xreallocarray(NULL, ROW, sizeof *a);
	for (i = 0; i < N_IQ; i++) {
		x4 = quant_traits(iq_types[i].type)->vec_dot_x4;
		single = quant_traits(iq_types[i].type)->vec_dot;
		if (x4 == NULL || quant_traits(iq_types[i].type)->vec_dot_type !=
		    GGML_TYPE_Q8_K)
			continue;
		random_row(iq_types[i].type, wq, ROW);
		for (r = 0; r < 4; r++) {
			for (k = 0; k < ROW; k++)
				a[k] = (float)rng_gauss();
			at->from_float(a, aq + r * arow, ROW);
		}
		x4(ROW, s4, wq, aq, arow);
		for (same = 1, r = 0; r < 4; r++) {
			single(ROW, &s1, wq, aq + r * arow);
			same &= memcmp(&s1, &s4[r], sizeof s1) == 0;
		}
		ok(same, "%s: 4-row dot %s == single-row bits", isa,
		    iq_types[i].name);
	}
	free(wq);
	free(aq);
	free(a);
}

/*
 * The prompt tiles (the traits' gemm, where the ISA has one): 5 random
 * rows (a tile and part of another) against 6 tokens, each result the
 * single-token vec_dot's within float rounding, 1e-5 of the sum of
 * |terms| (activations quantized as vec_dot's, the same integer block
 * sums).
 */
/*
 * Prompt tiles against vec_dot on rows of n weights (n <= n; types
 * whose blocks do not divide n are left out): a row count that is not a
 * multiple of QUANT_GEMM_ROWS, a token count not one of the tiles' pass.
 */
static void
test_gemm(const char *isa, int n)
{
	enum { NR = 5, NT = 6 };
	const struct quant_traits *tr, *at;
	const struct quant_gemm	*g;
	size_t			 i, rs, arow;
	uint8_t			*wq, *aq, *pa, *pw;
	float			*a, *w, *ad, y[NT * NR], s1;
	double			 mag;
	int			 k, r, t, np, good;

	wq = xreallocarray(NULL, NR, ROW * 4);
	aq = xreallocarray(NULL, NT, ROW * 2);
	a = xreallocarray(NULL, NT * ROW, sizeof *a);
	w = xreallocarray(NULL, ROW, sizeof *w);
	ad = xreallocarray(NULL, ROW, sizeof *ad);
	for (i = 0; i < N_IQ; i++) {
		tr = quant_traits(iq_types[i].type);
		if ((g = tr->gemm) == NULL || n % tr->blck != 0)
			continue;
		at = quant_traits(tr->vec_dot_type);
		arow = (size_t)(n / at->blck) * at->size;
		rs = (size_t)(n / tr->blck) * tr->size;
		for (r = 0; r < NR; r++)
			random_row(iq_types[i].type, wq + r * rs, n);
		for (k = 0; k < NT * n; k++)
			a[k] = (float)(2 * rng_gauss() + 0.1);
		np = (n + g->panel - 1) / g->panel;
		pa = aligned_alloc(64, (size_t)NT * np * g->act_panel);
		pw = aligned_alloc(64, (size_t)np * g->w_panel);
		for (t = 0; t < NT; t++)
			g->pack_act(a + t * n, pa + (size_t)t * np *
			    g->act_panel, n);
		for (r = 0; r < NR; r += QUANT_GEMM_ROWS) {
			g->pack_w(wq + r * rs, rs, NR - r < QUANT_GEMM_ROWS ?
			    NR - r : QUANT_GEMM_ROWS, pw, n);
			g->tile(n, pw, pa, (size_t)np * g->act_panel, NT,
			    y + r, NR, NR - r < QUANT_GEMM_ROWS ? NR - r :
			    QUANT_GEMM_ROWS);
		}
		good = 1;
		for (t = 0; t < NT; t++) {
			at->from_float(a + t * n, aq + t * arow, n);
			at->to_float(aq + t * arow, ad, n);
			for (r = 0; r < NR; r++) {
				tr->to_float(wq + r * rs, w, n);
				for (mag = 0, k = 0; k < n; k++)
					mag += fabs((double)w[k] * ad[k]);
				tr->vec_dot(n, &s1, wq + r * rs,
				    aq + t * arow);
				if (!(fabs(y[t * NR + r] - s1) <= 1e-5 * mag)) {
					diag("%s %s token %d row %d: %.9g vs "
					    "%.9g", isa, tr->name, t, r,
					    y[t * NR + r], s1);
					good = 0;
				}
			}
		}
		ok(good, "%s: prompt tile %s == vec_dot, %d rows x %d tokens "
		    "x %d", isa, tr->name, NR, NT, n);
		free(pa);
		free(pw);
	}
	free(wq);
	free(aq);
	free(a);
	free(w);
	free(ad);
}

/* --- (d) IQ4 quantizers -------------------------------------------------- */

/*
 * The table's 16 levels span 240 units over a scale that maps a group's
 * largest |x| to about 127: a mean step of 16 units, amax / 127 * 16.
 * Over 32 Gaussian samples the RMS of amax is 2.39, so a uniform
 * quantizer with that step errs by 2.39 * 16 / 127 / sqrt(12) = 0.087;
 * the levels are denser near zero where most values are, and the scale
 * search only lowers the error.  IQ4_XS's 6-bit group scales add little.
 */
static void
test_quantizers(void)
{
	static const enum ggml_type	types[] = {
		GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
	};
	const struct quant_traits	*tr;
	float				*x, *y;
	uint8_t				*q;
	double				 e;
	size_t				 i;
	int				 k, bad;

	x = xreallocarray(NULL, ROW, sizeof *x);
	y = xreallocarray(NULL, ROW, sizeof *y);
	q = xreallocarray(NULL, ROW, 2);
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		tr = quant_traits(types[i]);
		for (k = 0; k < ROW; k++)
			x[k] = (float)rng_gauss();
		tr->from_float_ref(x, q, ROW);
		tr->to_float(q, y, ROW);
		for (e = 0, k = 0; k < ROW; k++)
			e += ((double)y[k] - x[k]) * ((double)y[k] - x[k]);
		e = sqrt(e / ROW);
		ok(e <= 0.087, "round trip %s: rmse %.4f <= 0.087", tr->name,
		    e);

		/* A zero block, a constant one and a tiny one: no NaN. */
		for (k = 0; k < ROW; k++)
			x[k] = k < 256 ? 0 : k < 512 ? 0.75f : 1e-20f;
		tr->from_float_ref(x, q, ROW);
		tr->to_float(q, y, ROW);
		for (bad = 0, k = 0; k < 512; k++)
			bad += isnan(y[k]) || fabsf(y[k] - x[k]) > 0.02f * x[k];
		ok(bad == 0, "round trip %s: zero and constant blocks",
		    tr->name);
	}
	free(x);
	free(y);
	free(q);
}

int
main(void)
{
	struct gguf_file	*g;
	char			*path, *cause = NULL;
	enum quant_isa		 isa;
	const char		*name;

	path = xstrfmt("%s/quant/blocks.gguf", testdata());
	g = gguf_open(path, &cause);
	if (!ok(g != NULL, "%s opens", path)) {
		diag("%s", cause);
		free(cause);
		cause = NULL;
	}
	free(path);

	test_tables();
	for (isa = 0; isa < QUANT_ISA_COUNT; isa++) {
		name = quant_isa_name(isa);
		if (!quant_isa_supported(isa)) {
			diag("%s: this CPU cannot run it", name);
			continue;
		}
		setenv("R1CHAT_ISA", name, 1);
		if (!ok(quant_init(&cause) == 0, "R1CHAT_ISA=%s",
		    name)) {
			free(cause);
			cause = NULL;
			continue;
		}
		if (g != NULL)
			test_blocks(g, name);
		test_dots(name);
		test_x4(name);
		test_gemm(name, ROW);
		test_gemm(name, 1280);
		test_gemm(name, 1312);
	}
	test_quantizers();
	gguf_close(g);
	return done_testing();
}
