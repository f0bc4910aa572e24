/*
 * quant-calib.c - each type's kernels from the path measured fastest on
 * this machine.  A rule from the CPU model chose the slowest of three
 * paths on a Zen 4 (issue 27), so every path the CPU runs is timed on a
 * small matrix, per type and per use (a token at a time; prompts), and
 * the table takes each type's fastest kernels for each use, the base
 * path's (the rule's) unless another's are clearly faster.  The choice
 * is cached per CPU model and version (quant-wisdom.c).
 *
 * A type's prompt kernels are its gemm tiles, or where a path has none,
 * its 4-token dot (vec_dot_x4) over tiles of rows, as ops runs them.
 * Kernels of different paths mix per type: every kernel reads the
 * weights as stored and packs its activations itself, save a panel's
 * (struct quant_panel), whose layout the weights are repacked to at
 * load: a type whose token kernels are a panel's takes its prompt
 * kernels from the same panel, and one whose token kernels are not
 * takes no panel's.  A 4-token dot must give its vec_dot's bits (a
 * token's result does not depend on the tokens batched with it, where
 * there are no tiles): a type without tiles takes its prompt kernels
 * from a path with the same vec_dot.  The activations' from_float stay
 * the base's (all give the same bytes).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant-impl.h"
#include "util.h"

/* The test matrix: rows of cols weights (a multiple of every block and
 * panel width), and tokens for the prompt kernels. */
#define CALIB_ROWS	64
#define CALIB_COLS	2048
#define CALIB_TOKS	16
/* Timed passes of a kernel over the matrix, after an untimed one: the
 * fastest counts. */
#define CALIB_PASSES	5
/* Another path replaces the base only when this much faster (its time
 * at most this times the base's), so that noise cannot flip a choice. */
#define CALIB_MARGIN	0.92

static struct quant_traits calib_tables[QUANT_ISA_COUNT][GGML_TYPE_COUNT];
static int calib_runs[QUANT_ISA_COUNT];
static enum quant_isa calib_base;

/* What one path's kernels of one type are timed on. */
struct calib_job {
	const struct quant_traits	*e;	/* the path's entry */
	const struct quant_traits	*at;	/* activations' (NULL: F32) */
	const float			*x;	/* CALIB_TOKS rows of floats */
	const char			*w;	/* CALIB_ROWS rows as stored */
	size_t				 wrow;
	char				*panels; /* w repacked, or NULL */
	size_t				 psize;	/* bytes a panel */
	char				*act;	/* activations as packed */
	char				*pk;	/* a tile as packed */
	float				*y;	/* CALIB_TOKS * CALIB_ROWS */
};

/* The prompt kernels of entry e, or NULL. */
static const struct quant_gemm *
calib_gemm(const struct quant_traits *e)
{
	return e->panel != NULL ? e->panel->gemm : e->gemm;
}

/*
 * Whether path p may give type t its kernels for use u, given the path
 * tok whose token kernels t runs (for prompts: the panel rule above).
 */
static int
calib_allowed(enum quant_isa p, int t, enum quant_use u, enum quant_isa tok)
{
	const struct quant_traits	*e = &calib_tables[p][t];

	if (!calib_runs[p] || e->vec_dot == NULL)
		return 0;
	if (u == QUANT_USE_TOKENS)
		return 1;
	if (tok == QUANT_ISA_COUNT)
		return 0;
	if (calib_tables[tok][t].panel != NULL)
		return p == tok;
	/* without tiles, prompts run the token dot (or its 4-token form,
	 * which gives its bits) */
	return e->panel == NULL && (e->gemm != NULL ||
	    e->vec_dot == calib_tables[tok][t].vec_dot);
}

/* Whether paths p and q run the same kernels of t for u. */
static int
calib_same(enum quant_isa p, enum quant_isa q, int t, enum quant_use u)
{
	const struct quant_traits	*a = &calib_tables[p][t];
	const struct quant_traits	*b = &calib_tables[q][t];

	if (u == QUANT_USE_PROMPTS)
		return calib_gemm(a) == calib_gemm(b) && (calib_gemm(a) !=
		    NULL || (a->vec_dot_x4 == b->vec_dot_x4 &&
		    a->vec_dot == b->vec_dot));
	return a->vec_dot == b->vec_dot &&
	    a->vec_dot_rows == b->vec_dot_rows && a->panel == b->panel;
}

/* One token: its activations quantized, then dotted with every row. */
static void
calib_pass_tokens(const struct calib_job *j)
{
	const struct quant_traits	*e = j->e;
	const char			*act = j->act;
	int				 r;

	if (e->panel != NULL) {
		e->panel->quantize(j->x, j->act, CALIB_COLS);
		for (r = 0; r < CALIB_ROWS; r += QUANT_PANEL_ROWS)
			e->panel->dot(CALIB_COLS, j->y + r, j->panels +
			    r / QUANT_PANEL_ROWS * j->psize, j->act);
		return;
	}
	if (j->at != NULL)
		j->at->from_float(j->x, j->act, CALIB_COLS);
	else
		act = (const char *)j->x;
	for (r = 0; r < CALIB_ROWS; ) {
		if (e->vec_dot_rows != NULL) {
			e->vec_dot_rows(CALIB_COLS, j->y + r, j->w +
			    r * j->wrow, act, j->wrow);
			r += QUANT_DOT_ROWS;
		} else {
			e->vec_dot(CALIB_COLS, j->y + r, j->w + r * j->wrow,
			    act);
			r++;
		}
	}
}

/* The geometry of g's packed activations over the test matrix. */
static void
calib_gemm_sizes(const struct quant_gemm *g, size_t *arow, int *chunks,
    size_t *wsize)
{
	int	np = (CALIB_COLS + g->panel - 1) / g->panel;

	*arow = (size_t)np * g->act_panel;
	*chunks = (CALIB_TOKS + g->toks - 1) / g->toks;
	*wsize = (size_t)np * g->w_panel;
}

/* Bytes a token's activations take, quantized for e's dot. */
static size_t
calib_act_row(const struct calib_job *j)
{
	if (j->at == NULL)
		return CALIB_COLS * sizeof (float);
	return (size_t)CALIB_COLS / j->at->blck * j->at->size;
}

/*
 * A prompt without tiles: every token's activations quantized, then
 * each row dotted with them, 4 tokens at a time where e has a dot for
 * that, as ops' matmul_tile on one thread.
 */
static void
calib_pass_dots(const struct calib_job *j)
{
	const struct quant_traits	*e = j->e;
	const char			*act = (const char *)j->x, *wr;
	size_t				 arow = calib_act_row(j);
	float				 s4[4];
	int				 t, r;

	if (j->at != NULL) {
		for (t = 0; t < CALIB_TOKS; t++)
			j->at->from_float(j->x + (size_t)t * CALIB_COLS,
			    j->act + t * arow, CALIB_COLS);
		act = j->act;
	}
	for (r = 0; r < CALIB_ROWS; r++) {
		wr = j->w + r * j->wrow;
		for (t = 0; t < CALIB_TOKS; t += e->vec_dot_x4 != NULL ? 4 :
		    1) {
			if (e->vec_dot_x4 != NULL)
				e->vec_dot_x4(CALIB_COLS, s4, wr,
				    act + t * arow, arow);
			else
				e->vec_dot(CALIB_COLS, j->y + t * CALIB_ROWS +
				    r, wr, act + t * arow);
		}
	}
}

/* A prompt: every token's activations packed, then each tile, as ops'
 * matmul_gemm on one thread. */
static void
calib_pass_prompts(const struct calib_job *j)
{
	const struct quant_gemm	*g = calib_gemm(j->e);
	const char		*w = j->panels != NULL ? j->panels : j->w;
	size_t			 arow, wsize, tbytes;
	int			 chunks, t, r0, nr, left;

	if (g == NULL) {
		calib_pass_dots(j);
		return;
	}
	calib_gemm_sizes(g, &arow, &chunks, &wsize);
	tbytes = j->panels != NULL ? j->psize : (size_t)g->rows * j->wrow;
	for (t = 0; t < chunks; t++) {
		left = CALIB_TOKS - t * g->toks;
		if (g->toks == 1)
			g->pack_act(j->x + (size_t)t * CALIB_COLS,
			    j->act + t * arow, CALIB_COLS);
		else
			g->pack_acts(j->x + (size_t)t * g->toks * CALIB_COLS,
			    left < g->toks ? left : g->toks,
			    j->act + (size_t)t * g->toks * arow, CALIB_COLS);
	}
	for (r0 = 0; r0 < CALIB_ROWS; r0 += g->rows) {
		nr = CALIB_ROWS - r0 < g->rows ? CALIB_ROWS - r0 : g->rows;
		g->pack_w(w + (size_t)(r0 / g->rows) * tbytes, j->wrow, nr,
		    j->pk, CALIB_COLS);
		g->tile(CALIB_COLS, j->pk, j->act, arow, CALIB_TOKS, j->y + r0,
		    CALIB_ROWS, nr);
	}
}

static void (*const calib_passes[QUANT_USE_COUNT])(const struct calib_job *) = {
	[QUANT_USE_TOKENS] = calib_pass_tokens,
	[QUANT_USE_PROMPTS] = calib_pass_prompts,
};

/* 64-byte aligned memory of at least n bytes, or NULL. */
static void *
calib_alloc(size_t n)
{
	return aligned_alloc(64, (n + 63) & ~(size_t)63);
}

/*
 * Nanoseconds of the fastest pass of path p's kernels of type t for u
 * over the weights w (wrow bytes a row) and the floats x; 0 when memory
 * runs short.
 */
static double
calib_time(enum quant_isa p, int t, enum quant_use u, const char *w,
    size_t wrow, const float *x)
{
	struct calib_job	 j;
	const struct quant_gemm	*g;
	size_t			 abytes = CALIB_COLS * sizeof (float), arow;
	size_t			 wsize = 64;
	int64_t			 t0, dt, best = INT64_MAX;
	int			 pass, chunks, r;

	memset(&j, 0, sizeof j);
	j.e = &calib_tables[p][t];
	j.x = x;
	j.w = w;
	j.wrow = wrow;
	if (j.e->vec_dot_type != GGML_TYPE_F32)
		j.at = &calib_tables[calib_base][j.e->vec_dot_type];
	if (j.e->panel != NULL) {
		j.psize = j.e->panel->size(CALIB_COLS);
		if (j.e->panel->act_size(CALIB_COLS) > abytes)
			abytes = j.e->panel->act_size(CALIB_COLS);
		j.panels = calib_alloc(j.psize * (CALIB_ROWS /
		    QUANT_PANEL_ROWS));
	}
	if (u == QUANT_USE_PROMPTS && (g = calib_gemm(j.e)) != NULL) {
		calib_gemm_sizes(g, &arow, &chunks, &wsize);
		if (arow * g->toks * chunks > abytes)
			abytes = arow * g->toks * chunks;
	} else if (u == QUANT_USE_PROMPTS &&
	    calib_act_row(&j) * CALIB_TOKS > abytes)
		abytes = calib_act_row(&j) * CALIB_TOKS;
	j.act = calib_alloc(abytes);
	j.pk = calib_alloc(wsize);
	j.y = calib_alloc(CALIB_TOKS * CALIB_ROWS * sizeof (float));
	if (j.act != NULL && j.pk != NULL && j.y != NULL &&
	    (j.e->panel == NULL || j.panels != NULL)) {
		for (r = 0; j.panels != NULL && r < CALIB_ROWS;
		    r += QUANT_PANEL_ROWS)
			j.e->panel->repack(w + r * wrow, wrow, j.panels +
			    r / QUANT_PANEL_ROWS * j.psize, CALIB_COLS);
		for (pass = 0; pass <= CALIB_PASSES; pass++) {
			t0 = util_now_ns();
			calib_passes[u](&j);
			dt = util_now_ns() - t0;
			if (pass > 0 && dt < best)
				best = dt;
		}
	}
	free(j.panels);
	free(j.act);
	free(j.pk);
	free(j.y);
	return best == INT64_MAX ? 0 : best < 1 ? 1 : (double)best;
}

/* A pseudo-random number in [-1, 1) from the state at s (xorshift32). */
static float
calib_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (float)(*s >> 8) / (float)(1 << 23) - 1.0f;
}

/*
 * CALIB_ROWS rows of type t (wrow bytes each) at w: random floats
 * quantized, or for the types r1chat cannot quantize, random bytes with
 * bit 14 of every 16-bit word clear, so that the scales (binary16 at even
 * offsets in every such block) are finite.  The reference quantizers
 * take long: 4 rows are made, then repeated (the speed does not depend
 * on the values).
 */
static void
calib_weights(int t, char *w, size_t wrow, float *tmp, uint32_t *s)
{
	const struct quant_traits	*e = &calib_tables[QUANT_ISA_SCALAR][t];
	size_t				 i, made = 4 * wrow;
	int				 k;

	for (i = 0; i < made; i++)
		w[i] = (char)((*s = *s * 1664525u + 1013904223u) >> 24 &
		    (i % 2 == 1 ? 0xbf : 0xff));
	for (i = 0; e->from_float_ref != NULL && i < 4; i++) {
		for (k = 0; k < CALIB_COLS; k++)
			tmp[k] = calib_random(s);
		e->from_float_ref(tmp, w + i * wrow, CALIB_COLS);
	}
	for (i = made; i < CALIB_ROWS * wrow; i++)
		w[i] = w[i - made];
}

/*
 * The path among ns's (0: none) to take: base unless another is faster
 * by CALIB_MARGIN, and the fastest of those; QUANT_ISA_COUNT when none
 * has kernels.
 */
static enum quant_isa
calib_pick(const double *ns, enum quant_isa base)
{
	enum quant_isa	best = ns[base] > 0 ? base : QUANT_ISA_COUNT, p;

	for (p = 0; p < QUANT_ISA_COUNT; p++) {
		if (ns[p] <= 0 || p == best)
			continue;
		if (best == QUANT_ISA_COUNT || ns[p] < ns[best] *
		    (best == base ? CALIB_MARGIN : 1.0))
			best = p;
	}
	return best;
}

/*
 * Times every path's kernels of type t for use u (one timing for the
 * paths that share them) into c->ns and picks.  Returns -1 when memory
 * ran short.
 */
static int
calib_measure_use(int t, enum quant_use u, const char *w, size_t wrow,
    const float *x, struct quant_choice *c)
{
	double		*ns = c->ns[t][u];
	enum quant_isa	 p, q, tok = c->pick[t][QUANT_USE_TOKENS];

	for (p = 0; p < QUANT_ISA_COUNT; p++) {
		ns[p] = 0;
		if (!calib_allowed(p, t, u, tok))
			continue;
		for (q = 0; q < p; q++) {
			if (ns[q] > 0 && calib_same(p, q, t, u))
				ns[p] = ns[q];
		}
		if (ns[p] == 0 && (ns[p] = calib_time(p, t, u, w, wrow,
		    x)) == 0)
			return -1;
	}
	c->pick[t][u] = calib_pick(ns, c->base);
	return 0;
}

/* Measures every type and use into c; returns -1 when memory ran short. */
static int
calib_measure(struct quant_choice *c)
{
	const struct quant_traits	*s = calib_tables[QUANT_ISA_SCALAR];
	float				*x, *tmp;
	char				*w;
	size_t				 wrow, wmax = 0;
	uint32_t			 seed = 0x2545f491;
	int64_t				 t0 = util_now_ns();
	int				 t, u, k, rc = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (s[t].name != NULL && (size_t)CALIB_COLS / s[t].blck *
		    s[t].size > wmax)
			wmax = (size_t)CALIB_COLS / s[t].blck * s[t].size;
	}
	x = calib_alloc(CALIB_TOKS * CALIB_COLS * sizeof (float));
	tmp = calib_alloc(CALIB_COLS * sizeof (float));
	w = calib_alloc(CALIB_ROWS * wmax);
	if (x == NULL || tmp == NULL || w == NULL)
		rc = -1;
	for (k = 0; rc == 0 && k < CALIB_TOKS * CALIB_COLS; k++)
		x[k] = calib_random(&seed);
	for (t = 0; rc == 0 && t < GGML_TYPE_COUNT; t++) {
		for (u = 0; u < QUANT_USE_COUNT; u++)
			c->pick[t][u] = QUANT_ISA_COUNT;
		if (s[t].name == NULL)
			continue;
		wrow = (size_t)CALIB_COLS / s[t].blck * s[t].size;
		calib_weights(t, w, wrow, tmp, &seed);
		for (u = 0; rc == 0 && u < QUANT_USE_COUNT; u++)
			rc = calib_measure_use(t, u, w, wrow, x, c);
	}
	free(x);
	free(tmp);
	free(w);
	c->ms = (double)(util_now_ns() - t0) / 1e6;
	return rc;
}

/* Whether c->pick is a choice this CPU can make (a cache's may not). */
static int
calib_valid(const struct quant_choice *c)
{
	enum quant_isa	p, tok, pick;
	int		t, u, any;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		tok = c->pick[t][QUANT_USE_TOKENS];
		for (u = 0; u < QUANT_USE_COUNT; u++) {
			pick = c->pick[t][u];
			for (any = 0, p = 0; p < QUANT_ISA_COUNT; p++)
				any |= calib_allowed(p, t, u, tok);
			if (pick == QUANT_ISA_COUNT ? any :
			    !calib_allowed(pick, t, u, tok))
				return 0;
		}
	}
	return 1;
}

/* c's choice of the base's kernels for everything, as a rule's. */
static void
calib_rule(struct quant_choice *c)
{
	int	t, u;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		for (u = 0; u < QUANT_USE_COUNT; u++)
			c->pick[t][u] = QUANT_ISA_COUNT;
		c->pick[t][QUANT_USE_TOKENS] = c->base;
		if (!calib_allowed(c->base, t, QUANT_USE_TOKENS, c->base))
			c->pick[t][QUANT_USE_TOKENS] = QUANT_ISA_COUNT;
		else if (calib_allowed(c->base, t, QUANT_USE_PROMPTS,
		    c->base))
			c->pick[t][QUANT_USE_PROMPTS] = c->base;
	}
}

/* The table of c's kernels, from the base's. */
static void
calib_mix(const struct quant_choice *c, struct quant_traits *table)
{
	const struct quant_traits	*e;
	enum quant_isa			 p;
	int				 t;

	memcpy(table, calib_tables[c->base], sizeof calib_tables[c->base]);
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if ((p = c->pick[t][QUANT_USE_TOKENS]) == QUANT_ISA_COUNT)
			continue;
		e = &calib_tables[p][t];
		table[t].vec_dot = e->vec_dot;
		table[t].vec_dot_rows = e->vec_dot_rows;
		table[t].panel = e->panel;
		/* calib_allowed: a prompts pick where there is a tokens one */
		e = &calib_tables[c->pick[t][QUANT_USE_PROMPTS]][t];
		table[t].vec_dot_x4 = e->vec_dot_x4;
		table[t].gemm = e->gemm;
	}
}

/* Whether path's file, under key, gave c a choice this CPU can make. */
static int
calib_cached(struct quant_choice *c, const char *path, const char *key)
{
	return path != NULL && quant_wisdom_read(path, key,
	    calib_tables[c->base], c->pick) == 0 && calib_valid(c);
}

void
quant_calib_choose(enum quant_isa base, enum quant_how how,
    struct quant_choice *c, struct quant_traits *table, char **warning)
{
	enum quant_isa	 p;
	char		*path, *key;

	for (p = 0; p < QUANT_ISA_COUNT; p++) {
		if ((calib_runs[p] = quant_isa_supported(p)))
			quant_path_table(p, calib_tables[p]);
	}
	memset(c, 0, sizeof *c);
	c->base = calib_base = base;
	path = quant_wisdom_path();
	key = quant_wisdom_key();
	if (how == QUANT_HOW_CACHED && !calib_cached(c, path, key))
		how = QUANT_HOW_MEASURED;
	if (how == QUANT_HOW_MEASURED && calib_measure(c) != 0)
		how = QUANT_HOW_RULE;
	else if (how == QUANT_HOW_MEASURED && path == NULL)
		*warning = xstrdup("no cache directory: set XDG_CACHE_HOME "
		    "or HOME");
	else if (how == QUANT_HOW_MEASURED)
		quant_wisdom_write(path, key, calib_tables[base], c->pick,
		    warning);
	if (how == QUANT_HOW_RULE || how == QUANT_HOW_FORCED)
		calib_rule(c);
	c->how = how;
	calib_mix(c, table);
	free(path);
	free(key);
}
