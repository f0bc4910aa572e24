/*
 * cmd-bench.c - `r1chat bench MODEL [-p 128] [-n 64] [-r 3] [-t T]`:
 * llama-bench's measure, so that the figures compare with its; with
 * --calibrate, the kernels' measure (quant-calib.c) first, and its table.
 *
 * Two tests, each from an empty cache: pp (one forward pass over p
 * tokens, logits for the last) and tg (n tokens, one pass each); with
 * --draft or --lookup two more: verify (n tokens in passes of
 * --draft-max + 1, every position's logits: the cost of checking guesses)
 * and spec (n tokens generated greedily after the pp prompt, guessing;
 * the name says the share of guesses taken).  Tokens
 * are fixed pseudo-random ids: the speed does not depend on them.  One
 * warm-up of each test (tg: one token) maps the weights in and settles
 * the threads, then each test runs r times; a row gives the mean tokens
 * per second over the runs and their sample standard deviation.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gguf.h"
#include "kv.h"
#include "model.h"
#include "ops.h"
#include "options.h"
#include "quant.h"
#include "sampler.h"
#include "spec.h"
#include "tok.h"
#include "types.h"
#include "util.h"

#define BENCH_DEFAULT_PROMPT	128
#define BENCH_DEFAULT_GEN	64
#define BENCH_DEFAULT_REPS	3
#define BENCH_MAX_TOKENS	(1 << 20)
/* Tokens per forward pass when p is larger (llama.cpp's micro-batch). */
#define BENCH_MAX_BATCH		512

/* What the tests run on: the context after depth tokens, and the
 * speculative tests' own (spec NULL: none). */
struct bench_env {
	struct model_ctx *c;
	int		 depth;
	struct spec	*spec;
	struct sampler	*smp;		/* greedy */
	int		 k;		/* a verify pass's tokens */
	float		*rows;		/* k rows of logits */
	const int32_t	*all;		/* the depth's tokens, then the tests' */
	int32_t		*gen;		/* depth, prompt, then generated */
	int		 n_prompt;	/* the prompt's tokens */
	char		 note[32];	/* after the test's name */
};

/*
 * A test: its name's prefix, whether it is speculative decoding's, and
 * how one run of n tokens goes after the first depth tokens of the cache.
 */
struct bench_test {
	const char	*prefix;
	int		 spec;
	int		(*run)(struct bench_env *, const int32_t *, int, char **);
};

/* pp: the n tokens as one prompt. */
static int
bench_pp(struct bench_env *e, const int32_t *ids, int n, char **cause)
{
	model_ctx_rewind(e->c, e->depth);
	return model_decode(e->c, ids, n, NULL, cause);
}

/* tg: the n tokens one at a time, as generation feeds them. */
static int
bench_tg(struct bench_env *e, const int32_t *ids, int n, char **cause)
{
	int	i;

	model_ctx_rewind(e->c, e->depth);
	for (i = 0; i < n; i++) {
		if (model_decode(e->c, ids + i, 1, NULL, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * verify: the n tokens in passes of k (a token and k - 1 guesses), every
 * position's logits, as speculative decoding checks guesses.
 */
static int
bench_verify(struct bench_env *e, const int32_t *ids, int n, char **cause)
{
	int	i, k;

	snprintf(e->note, sizeof e->note, " k%d", e->k);
	model_ctx_rewind(e->c, e->depth);
	for (i = 0; i < n; i += k) {
		k = n - i < e->k ? n - i : e->k;
		if (model_decode(e->c, ids + i, k, e->rows, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * spec: n tokens generated greedily after the prompt of the pp test (its
 * first token alone when there is none), with the guesses.
 */
static int
bench_spec(struct bench_env *e, const int32_t *ids, int n, char **cause)
{
	struct sampler_params	 sp;
	struct spec_stats	 s0, s1;
	const float		*logits;
	size_t			 len = (size_t)e->depth + (size_t)e->n_prompt;
	int			 i;

	(void)ids;
	sampler_params(e->smp, &sp);
	if (spec_reset(e->spec, &sp, cause) != 0)
		return -1;
	spec_stats(e->spec, &s0);
	memcpy(e->gen, e->all, len * sizeof *e->gen);
	if ((logits = model_eval(e->c, e->gen + e->depth, e->n_prompt,
	    e->depth, cause)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (!spec_choose(e->spec, e->smp, logits, &e->gen[len]))
			e->gen[len] = sampler_sample(e->smp, logits);
		len++;
		if ((logits = spec_eval(e->spec, e->c, e->gen, len,
		    model_ctx_n_ctx(e->c) - (int)len, cause)) == NULL)
			return -1;
	}
	spec_stats(e->spec, &s1);
	snprintf(e->note, sizeof e->note, " a%.0f%%", s1.proposed > s0.proposed ?
	    100.0 * (double)(s1.accepted - s0.accepted) /
	    (double)(s1.proposed - s0.proposed) : 0.0);
	return 0;
}

static const struct bench_test bench_tests[] = {
	{ "pp", 0, bench_pp },
	{ "tg", 0, bench_tg },
	{ "verify", 1, bench_verify },
	{ "spec", 1, bench_spec },
};
#define N_TESTS (sizeof bench_tests / sizeof bench_tests[0])

/* The table's columns: header, width, right-aligned. */
static const struct {
	const char	*name;
	int		 width;
	int		 right;
} bench_cols[] = {
	{ "model", 30, 0 },
	{ "size", 10, 1 },
	{ "params", 10, 1 },
	{ "threads", 7, 1 },
	{ "test", 17, 1 },
	{ "t/s", 20, 1 },
};
#define N_COLS (sizeof bench_cols / sizeof bench_cols[0])

/* Prints a row; widths count characters, not the bytes of UTF-8. */
static void
bench_row(const char *const cells[N_COLS])
{
	const char	*p;
	size_t		 i;
	int		 w;

	for (i = 0; i < N_COLS; i++) {
		w = bench_cols[i].width;
		for (p = cells[i]; *p != '\0'; p++)
			w += (*p & 0xc0) == 0x80;
		printf("| %*s ", bench_cols[i].right ? w : -w, cells[i]);
	}
	printf("|\n");
}

static void
bench_header(void)
{
	const char	*cells[N_COLS];
	char		 rule[N_COLS][32];
	size_t		 i;

	for (i = 0; i < N_COLS; i++)
		cells[i] = bench_cols[i].name;
	bench_row(cells);
	for (i = 0; i < N_COLS; i++) {
		memset(rule[i], '-', (size_t)bench_cols[i].width);
		if (bench_cols[i].right)
			rule[i][bench_cols[i].width - 1] = ':';
		rule[i][bench_cols[i].width] = '\0';
		cells[i] = rule[i];
	}
	bench_row(cells);
}

/* A quantity's units, largest first; below them all, the last is used. */
struct bench_unit {
	double		 scale;
	const char	*name;
};
/* llama-bench's: GiB or MiB, B or M; K for the smallest test models. */
static const struct bench_unit bench_bytes[] = {
	{ 1 << 30, "GiB" }, { 1 << 20, "MiB" }, { 0, NULL },
};
static const struct bench_unit bench_counts[] = {
	{ 1e9, "B" }, { 1e6, "M" }, { 1e3, "K" }, { 0, NULL },
};

/* "12.34 MiB": v in the largest of units it reaches. */
static void
bench_scale(char *buf, size_t len, double v, const struct bench_unit *u)
{
	while (u[1].name != NULL && v < u->scale)
		u++;
	snprintf(buf, len, "%.2f %s", v / u->scale, u->name);
}

/* "ARCH FTYPE", the size of the tensors and their parameter count. */
static void
bench_describe(const struct model *m, char *name, size_t nlen, char *size,
    size_t slen, char *params, size_t plen)
{
	const struct gguf_file	*g = model_gguf(m);
	const char		*ft = NULL;
	uint64_t		 i, bytes = 0;
	uint32_t		 u;

	if (gguf_get_u32(g, "general.file_type", &u) == 0)
		ft = type_ftype_name(u);
	for (i = 0; i < g->n_tensors; i++)
		bytes += g->tensors[i].size;
	snprintf(name, nlen, "%s %s", model_arch_name(m),
	    ft != NULL ? ft : "?");
	bench_scale(size, slen, (double)bytes, bench_bytes);
	bench_scale(params, plen, (double)gguf_n_elements(g), bench_counts);
}

/* Runs test t r times over n tokens after the depth and prints its row. */
static int
bench_one(struct bench_env *e, const struct bench_test *t,
    const int32_t *ids, int n, int reps, const char *const desc[3])
{
	const char	*cells[N_COLS];
	char		 test[64], ts[64], th[16], *cause = NULL;
	double		*tps, sum = 0, var = 0, mean, sd = 0;
	int64_t		 t0;
	int		 r;

	tps = xcalloc((size_t)reps, sizeof *tps);
	e->note[0] = '\0';
	for (r = 0; r < reps; r++) {
		t0 = util_now_ns();
		if (t->run(e, ids, n, &cause) != 0) {
			cmd_error("bench: %s%d: %s", t->prefix, n, cause);
			free(cause);
			free(tps);
			return -1;
		}
		tps[r] = n * 1e9 / (double)(util_now_ns() - t0);
		sum += tps[r];
	}
	mean = sum / reps;
	for (r = 0; r < reps; r++)
		var += (tps[r] - mean) * (tps[r] - mean);
	if (reps > 1)
		sd = sqrt(var / (reps - 1));
	free(tps);

	if (e->depth > 0)
		snprintf(test, sizeof test, "%s%d%s @ d%d", t->prefix, n,
		    e->note, e->depth);
	else
		snprintf(test, sizeof test, "%s%d%s", t->prefix, n, e->note);
	snprintf(ts, sizeof ts, "%.2f \xc2\xb1 %.2f", mean, sd);
	cells[0] = desc[0];
	cells[1] = desc[1];
	cells[2] = desc[2];
	snprintf(th, sizeof th, "%d", ops_threads());
	cells[3] = th;
	cells[4] = test;
	cells[5] = ts;
	bench_row(cells);
	fflush(stdout);
	return 0;
}

/* Decodes the first depth ids into the cache, n_batch at a time. */
static int
bench_fill(struct model_ctx *c, const int32_t *ids, int depth, int n_batch,
    char **cause)
{
	int	i, k;

	model_ctx_rewind(c, 0);
	for (i = 0; i < depth; i += k) {
		k = depth - i < n_batch ? depth - i : n_batch;
		if (model_decode(c, ids + i, k, NULL, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * bench --calibrate: the kernels measured again (and cached), and a row
 * for each type and use: the path chosen and each path's time for a
 * pass over the test matrix, in microseconds ("-": no kernel).
 */
static int
bench_calibrate(void)
{
	static const char *const uses[QUANT_USE_COUNT] = { "tokens",
	    "prompts" };
	const struct quant_choice	*c;
	const struct quant_traits	*tr;
	enum quant_isa			 p;
	char				*cause = NULL, *warning = NULL;
	int				 t, u;

	if (quant_calibrate(&warning, &cause) != 0) {
		cmd_error("bench --calibrate: %s", cause);
		free(cause);
		return 2;
	}
	if (warning != NULL)
		cmd_error("warning: kernels not cached: %s", warning);
	free(warning);
	c = quant_choice();
	printf("kernels measured in %.0f ms: base %s\n\n| type | use | "
	    "path |", c->ms, quant_isa_name(c->base));
	for (p = 0; p < QUANT_ISA_COUNT; p++) {
		if (quant_isa_supported(p))
			printf(" %s \xc2\xb5s |", quant_isa_name(p));
	}
	printf("\n| --- | --- | --- |");
	for (p = 0; p < QUANT_ISA_COUNT; p++) {
		if (quant_isa_supported(p))
			printf(" ---: |");
	}
	putchar('\n');
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		for (u = 0; u < QUANT_USE_COUNT; u++) {
			if (c->pick[t][u] == QUANT_ISA_COUNT ||
			    (tr = quant_traits(t)) == NULL)
				continue;
			printf("| %s | %s | %s |", tr->name, uses[u],
			    quant_isa_name(c->pick[t][u]));
			for (p = 0; p < QUANT_ISA_COUNT; p++) {
				if (!quant_isa_supported(p))
					continue;
				if (c->ns[t][u][p] > 0)
					printf(" %.1f |", c->ns[t][u][p] / 1e3);
				else
					printf(" - |");
			}
			putchar('\n');
		}
	}
	return 0;
}

/*
 * The speculative tests' part of e, when --draft or --lookup asks for
 * them.  Returns 0, 2 for a draft of another vocabulary (said), 1 for
 * another error (said).
 */
static int
bench_spec_open(struct bench_env *e, struct options *o, struct model *m,
    int n_ctx)
{
	struct sampler_params	 sp = { .temp = 0.0f, .repeat_penalty = 1.0f };
	struct spec_config	 sc = { .lookup = o->lookup,
				     .draft_path = o->draft,
				     .draft_max = OPT_OR(o->draft_max, 0),
				     .kv_type = KV_F16 };
	struct tok		*t;
	char			*cause = NULL, *why = NULL;
	int			 rc = 1;

	if ((t = tok_open(model_gguf(m), NULL, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		goto out;
	}
	if ((e->spec = spec_new(m, t, &sc, &cause)) == NULL) {
		if (o->draft != NULL && spec_vocab_check(o->model, o->draft,
		    &why) == 1) {
			cmd_error("%s", why);
			rc = 2;
		} else
			cmd_error("%s", cause);
		goto out;
	}
	if ((e->smp = sampler_new(model_hparams(m)->n_vocab, &sp,
	    &cause)) == NULL) {
		cmd_error("bench: %s", cause);
		goto out;
	}
	e->k = OPT_OR(o->draft_max, SPEC_DEFAULT_DRAFT) + 1;
	e->rows = xreallocarray(NULL, (size_t)e->k * (size_t)
	    model_hparams(m)->n_vocab, sizeof *e->rows);
	e->gen = xcalloc((size_t)n_ctx, sizeof *e->gen);
	rc = 0;
out:
	free(cause);
	free(why);
	tok_free(t);
	return rc;
}

int
cmd_bench(struct options *o)
{
	struct model_ctx_params	 cp;
	struct bench_env	 e;
	struct model		*m = NULL;
	char			*cause = NULL, name[128], size[32], params[32];
	const char		*desc[3] = { name, size, params };
	int32_t			*ids = NULL;
	int			 np, ng, reps, depth, n, n_vocab, i, rc = 1;
	int			 ns[N_TESTS], spec;
	size_t			 k;

	memset(&e, 0, sizeof e);
	if (o->calibrate && ((rc = bench_calibrate()) != 0 ||
	    o->model == NULL))
		return rc;
	rc = 1;
	np = OPT_OR(o->n_prompt, BENCH_DEFAULT_PROMPT);
	ng = OPT_OR(o->params.num_predict, BENCH_DEFAULT_GEN);
	reps = OPT_OR(o->repetitions, BENCH_DEFAULT_REPS);
	depth = OPT_OR(o->n_depth, 0);
	spec = o->lookup || o->draft != NULL;
	/* -n is the chat's, where -1 is no limit: here a count of tokens */
	if (ng < 0 || ng > BENCH_MAX_TOKENS) {
		cmd_error("--predict: %d: must be between 0 and %d", ng,
		    BENCH_MAX_TOKENS);
		return 2;
	}
	if (np + ng == 0) {
		cmd_error("bench: nothing to measure (-p 0 -n 0)");
		return 2;
	}
	if (o->threads != OPT_UNSET)
		ops_set_threads(o->threads);
	ns[0] = np;
	ns[1] = ns[2] = ns[3] = ng;

	if ((m = model_open_file(o->model, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		goto out;
	}
	memset(&cp, 0, sizeof cp);
	cp.kv_type = KV_F16;
	cp.n_ctx = depth + (np > ng ? np : ng);
	/* spec: the prompt (a token at least), the tokens, the guesses */
	e.n_prompt = np > 0 ? np : 1;
	if (spec)
		cp.n_ctx = depth + e.n_prompt + ng + SPEC_MAX_DRAFT + 1;
	cp.n_batch = np < BENCH_MAX_BATCH ? (np > 0 ? np : 1) :
	    BENCH_MAX_BATCH;
	if (depth > cp.n_batch)
		cp.n_batch = depth < BENCH_MAX_BATCH ? depth : BENCH_MAX_BATCH;
	if ((e.c = model_ctx_new_ext(m, &cp, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		goto out;
	}
	n = cp.n_ctx;
	n_vocab = model_hparams(m)->n_vocab;
	ids = xcalloc((size_t)n, sizeof *ids);
	for (i = 0; i < n; i++)
		ids[i] = (int32_t)((1000 + (uint64_t)i * 7919) % (uint64_t)n_vocab);
	e.all = ids;
	if (spec && (rc = bench_spec_open(&e, o, m, n)) != 0)
		goto out;
	rc = 1;
	bench_describe(m, name, sizeof name, size, sizeof size, params,
	    sizeof params);

	/* the depth, untimed; then the warm-up: weights in, threads started */
	if (bench_fill(e.c, ids, depth, cp.n_batch, &cause) != 0) {
		cmd_error("bench: -d %d: %s", depth, cause);
		goto out;
	}
	e.depth = depth;
	for (k = 0; k < N_TESTS; k++) {
		if (ns[k] > 0 && (spec || !bench_tests[k].spec) &&
		    bench_tests[k].run(&e, ids + depth, k == 0 ? ns[k] : 1,
		    &cause) != 0) {
			cmd_error("bench: warm-up: %s", cause);
			goto out;
		}
	}
	bench_header();
	for (k = 0; k < N_TESTS; k++) {
		if (ns[k] > 0 && (spec || !bench_tests[k].spec) &&
		    bench_one(&e, &bench_tests[k], ids + depth, ns[k], reps,
		    desc) != 0)
			goto out;
	}
	rc = 0;
out:
	free(cause);
	free(ids);
	free(e.rows);
	free(e.gen);
	sampler_free(e.smp);
	spec_free(e.spec);
	model_ctx_free(e.c);
	model_free(m);
	return rc;
}
