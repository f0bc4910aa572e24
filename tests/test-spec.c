/*
 * test-spec.c - speculative decoding (spec.c) gives the model's tokens.
 *
 *   test-spec rule
 *	the acceptance rule alone, on made-up distributions: the tokens it
 *	gives are distributed as p (chi-square), and a wrong rule (the
 *	residual taken as p itself) is caught by the same test.
 *   test-spec greedy [-l] [-1] MODEL PROMPTS N [DRAFT]
 *	on every kernel path this CPU has (-1: the default one only): for
 *	each line of PROMPTS (a question put in the deepseek-r1 template),
 *	N tokens at temperature 0 without guessing, then with --lookup,
 *	with DRAFT (default: the model itself) and with both (-l: with
 *	--lookup only): the same tokens, token for token.
 *   test-spec dist MODEL DRAFT RUNS
 *	sampling (temperature 1, top-k 8) over RUNS seeds, with DRAFT and
 *	with --lookup: the 2nd and 4th tokens' frequencies against the
 *	model's own distribution of them, computed exactly by enumerating
 *	the tokens before them (chi-square, p-value over 1e-6).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "kernel-path.h"
#include "model.h"
#include "ops.h"
#include "quant.h"
#include "sampler.h"
#include "spec.h"
#include "tap.h"
#include "tok.h"
#include "util.h"

/* A correct rule fails a test this rarely. */
#define P_FAIL		1e-6
/* Cells expected fewer times are merged into one. */
#define MIN_EXPECTED	5.0
#define TOP_K		8
#define MAX_TOKENS	1024
#define PROMPT_LEN	32

/* --- chi-square --------------------------------------------------------------- */

/* ln Gamma(a) by Lanczos' series (g = 7, 9 terms), for a > 0. */
static double
lgamma_pos(double a)
{
	static const double	c[9] = { 0.99999999999980993, 676.5203681218851,
	    -1259.1392167224028, 771.32342877765313, -176.61502916214059,
	    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
	    1.5056327351493116e-7 };
	double			x = c[0], t;
	int			i;

	a -= 1.0;
	for (i = 1; i < 9; i++)
		x += c[i] / (a + i);
	t = a + 7.5;
	return 0.5 * log(2 * M_PI) + (a + 0.5) * log(t) - t + log(x);
}

/* Q(a, x), the regularised upper incomplete gamma: series or Lentz's
 * continued fraction, whichever converges there. */
static double
gamma_q(double a, double x)
{
	double	sum, term, b, c, d, h, an, del;
	int	n;

	if (x <= 0.0)
		return 1.0;
	if (x < a + 1.0) {
		sum = term = 1.0 / a;
		for (n = 1; n < 10000; n++) {
			term *= x / (a + n);
			sum += term;
			if (fabs(term) < fabs(sum) * 1e-15)
				break;
		}
		return 1.0 - sum * exp(-x + a * log(x) - lgamma_pos(a));
	}
	b = x + 1.0 - a;
	c = 1.0 / 1e-300;
	d = 1.0 / b;
	h = d;
	for (n = 1; n < 10000; n++) {
		an = -n * (n - a);
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < 1e-300)
			d = 1e-300;
		c = b + an / c;
		if (fabs(c) < 1e-300)
			c = 1e-300;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 1e-15)
			break;
	}
	return exp(-x + a * log(x) - lgamma_pos(a)) * h;
}

/*
 * The p-value of counts (total n) against probabilities p over k cells,
 * cells expected under MIN_EXPECTED times merged.
 */
static double
chi_square(const double *p, const long *count, int k, long n, int *df)
{
	double	x = 0.0, e, small_e = 0.0, small_o = 0.0;
	int	i, cells = 0;

	for (i = 0; i < k; i++) {
		e = p[i] * (double)n;
		if (e < MIN_EXPECTED) {
			small_e += e;
			small_o += (double)count[i];
			continue;
		}
		x += (count[i] - e) * (count[i] - e) / e;
		cells++;
	}
	if (small_e > 0.0 || small_o > 0.0) {
		x += (small_o - small_e) * (small_o - small_e) /
		    (small_e > 1e-9 ? small_e : 1e-9);
		cells++;
	}
	*df = cells - 1;
	return *df > 0 ? gamma_q(*df / 2.0, x / 2.0) : 1.0;
}

/* --- the rule alone ------------------------------------------------------------------ */

/* xoshiro-free: a 64-bit LCG's high bits, enough for the made-up draws. */
static double
uniform(uint64_t *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*st >> 11) * 0x1.0p-53;
}

/* The deliberately wrong rule: residual p instead of max(p - q, 0). */
static int32_t
wrong_rule(const int32_t *ids, const float *probs, size_t np, int32_t d,
    const float *q, double u, double u_resid)
{
	double	pd = 0.0, acc = 0.0;
	size_t	i;

	for (i = 0; i < np; i++) {
		if (ids[i] == d)
			pd = probs[i];
	}
	if (pd >= q[d] || u * q[d] < pd)
		return d;
	for (i = 0; i < np; i++) {
		acc += probs[i];
		if (u_resid < acc)
			return ids[i];
	}
	return ids[np - 1];
}

typedef int32_t (*rule_fn)(const int32_t *, const float *, size_t, int32_t,
    const float *, double, double);

/* Draws from q, applies rule, and returns the p-value against p. */
static double
rule_p_value(rule_fn rule, long n)
{
	static const float	p[6] = { 0.40f, 0.25f, 0.15f, 0.10f, 0.07f,
				    0.03f };
	static const float	q[6] = { 0.10f, 0.05f, 0.30f, 0.05f, 0.30f,
				    0.20f };
	static const int32_t	ids[6] = { 0, 1, 2, 3, 4, 5 };
	double			pe[6], u, acc;
	long			count[6] = { 0 };
	uint64_t		st = 12345;
	int32_t			d;
	long			r;
	int			i, df;

	for (r = 0; r < n; r++) {
		u = uniform(&st);
		for (d = 0, acc = q[0]; d < 5 && u >= acc; acc += q[++d])
			;
		count[rule(ids, p, 6, d, q, uniform(&st), uniform(&st))]++;
	}
	for (i = 0; i < 6; i++)
		pe[i] = p[i];
	return chi_square(pe, count, 6, n, &df);
}

static void
test_rule(void)
{
	static const float	p[3] = { 0.5f, 0.3f, 0.2f };
	static const int32_t	ids[3] = { 7, 3, 9 };
	float			q[10] = { 0 };
	double			pv;

	/* greedy: p a point mass; the guess is kept only when it is it */
	ok(spec_rule(ids, (const float []){ 1.0f }, 1, 7, NULL, 0.99, 0.5) ==
	    7, "greedy: the arg max guessed is kept");
	ok(spec_rule(ids, (const float []){ 1.0f }, 1, 3, NULL, 0.0, 0.5) ==
	    7, "greedy: another guess gives the arg max");
	/* a point-mass guess: kept with probability p(d) */
	ok(spec_rule(ids, p, 3, 3, NULL, 0.29, 0.5) == 3 &&
	    spec_rule(ids, p, 3, 3, NULL, 0.31, 0.5) != 3,
	    "lookup's guess kept with probability p(d)");
	ok(spec_rule(ids, p, 3, 3, NULL, 0.9, 0.0) == 7 &&
	    spec_rule(ids, p, 3, 3, NULL, 0.9, 0.99) == 9,
	    "a rejected guess: drawn from p without it");
	/* q(d) > p(d): kept with p/q */
	q[3] = 0.6f;
	q[7] = 0.4f;
	ok(spec_rule(ids, p, 3, 3, q, 0.49, 0.5) == 3 &&
	    spec_rule(ids, p, 3, 3, q, 0.51, 0.5) != 3,
	    "a draft's guess kept with probability p/q");
	ok(spec_rule(ids, p, 3, 7, q, 0.99, 0.5) == 7,
	    "a draft's guess with p >= q always kept");

	pv = rule_p_value(spec_rule, 200000);
	ok(pv > P_FAIL, "the rule's tokens are distributed as p (p-value %g)",
	    pv);
	pv = rule_p_value(wrong_rule, 200000);
	ok(pv < P_FAIL, "a wrong rule is caught (p-value %g)", pv);
}

/* --- generation ------------------------------------------------------------------ */

struct run {
	struct model		*m;
	struct model_ctx	*c;
	struct sampler		*smp;
	struct sampler_params	 sp;
	struct spec		*spec;	/* NULL: no guessing */
	int32_t			 out[MAX_TOKENS];
	size_t			 len;
};

/* n tokens after prompt into r->out (prompt first). */
static int
generate(struct run *r, const int32_t *prompt, size_t np, int n)
{
	const float	*logits;
	char		*cause = NULL;
	int		 i;

	sampler_reset(r->smp);
	if (r->spec != NULL && spec_reset(r->spec, &r->sp, &cause) != 0)
		goto fail;
	memcpy(r->out, prompt, np * sizeof *prompt);
	r->len = np;
	if ((logits = model_eval(r->c, prompt, (int)np, 0, &cause)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (r->spec == NULL || !spec_choose(r->spec, r->smp, logits,
		    &r->out[r->len]))
			r->out[r->len] = sampler_sample(r->smp, logits);
		sampler_accept(r->smp, r->out[r->len]);
		r->len++;
		/* guesses past the n tokens would never be decided */
		logits = r->spec != NULL ? spec_eval(r->spec, r->c, r->out,
		    r->len, n - i - 1, &cause) :
		    model_eval(r->c, &r->out[r->len - 1], 1, (int)r->len - 1,
		    &cause);
		if (logits == NULL)
			goto fail;
	}
	return 0;
fail:
	diag("generate: %s", cause);
	free(cause);
	return -1;
}

static struct model *
open_model(const char *path)
{
	struct model	*m;
	char		*cause = NULL;

	if ((m = model_open_file(path, &cause)) == NULL) {
		printf("Bail out! %s: %s\n", path, cause);
		exit(99);
	}
	return m;
}

static struct tok *
open_tok(const struct model *m)
{
	struct tok	*t;
	char		*cause = NULL;

	if ((t = tok_open(model_gguf(m), NULL, &cause)) == NULL) {
		printf("Bail out! tokenizer: %s\n", cause);
		exit(99);
	}
	return t;
}

static void
run_open(struct run *r, struct model *m, const struct sampler_params *sp)
{
	char	*cause = NULL;

	memset(r, 0, sizeof *r);
	r->m = m;
	r->sp = *sp;
	if ((r->c = model_ctx_new(m, MAX_TOKENS, &cause)) == NULL ||
	    (r->smp = sampler_new(model_hparams(m)->n_vocab, sp,
	    &cause)) == NULL) {
		printf("Bail out! %s\n", cause);
		exit(99);
	}
}

static void
run_close(struct run *r)
{
	spec_free(r->spec);
	sampler_free(r->smp);
	model_ctx_free(r->c);
}

static struct spec *
spec_open(const struct model *m, const struct tok *t, int lookup,
    const char *draft)
{
	struct spec_config	 sc = { .lookup = lookup, .draft_path = draft };
	struct spec		*s;
	char			*cause = NULL;

	if ((s = spec_new(m, t, &sc, &cause)) == NULL) {
		printf("Bail out! spec_new: %s\n", cause);
		exit(99);
	}
	return s;
}

/* --- greedy: the same tokens --------------------------------------------------------- */

/* The prompts: each line a question in the deepseek-r1 template. */
static int32_t **
read_prompts(const char *path, const struct tok *t, size_t **lens, int *n)
{
	FILE	*f;
	char	 line[4096], *text, *tab, *cause = NULL;
	int32_t	**v = NULL;
	size_t	 len;

	if ((f = fopen(path, "r")) == NULL) {
		printf("Bail out! %s: cannot open\n", path);
		exit(99);
	}
	*n = 0;
	*lens = NULL;
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if ((tab = strchr(line, '\t')) != NULL)
			*tab = '\0';
		text = xstrfmt("<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81"
		    "sentence\xef\xbd\x9c><\xef\xbd\x9cUser\xef\xbd\x9c>%s"
		    "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c><think>\n", line);
		v = xreallocarray(v, (size_t)*n + 1, sizeof *v);
		*lens = xreallocarray(*lens, (size_t)*n + 1, sizeof **lens);
		if (tok_encode(t, text, strlen(text), 0, 1, &v[*n], &len,
		    &cause) != 0) {
			printf("Bail out! tok_encode: %s\n", cause);
			exit(99);
		}
		(*lens)[(*n)++] = len;
		free(text);
	}
	fclose(f);
	return v;
}

#define N_MODES	3

static void
test_greedy(const char *model, const char *prompts, int n_gen,
    const char *draft, int n_modes, int every_path)
{
	static const char	*mode_names[N_MODES] = { "--lookup", "--draft",
				    "--lookup --draft" };
	struct sampler_params	 sp = { .temp = 0.0f, .repeat_penalty = 1.0f };
	struct run		 base, with[N_MODES];
	struct model		*m;
	struct tok		*t;
	struct spec_stats	 st;
	int32_t			**v;
	size_t			*lens;
	int			 isa, mode, i, n, same[N_MODES], first[N_MODES];

	if (draft == NULL)
		draft = model;
	for (isa = 0; isa < QUANT_ISA_COUNT; isa++) {
		if (every_path ? !kernel_path_choose((enum quant_isa)isa) :
		    isa != (int)quant_isa())
			continue;
		m = open_model(model);
		t = open_tok(m);
		v = read_prompts(prompts, t, &lens, &n);
		run_open(&base, m, &sp);
		for (mode = 0; mode < n_modes; mode++) {
			run_open(&with[mode], m, &sp);
			with[mode].spec = spec_open(m, t, mode != 1,
			    mode != 0 ? draft : NULL);
			same[mode] = 0;
			first[mode] = -1;
		}
		for (i = 0; i < n; i++) {
			if (generate(&base, v[i], lens[i], n_gen) != 0)
				bail_out("generate");
			for (mode = 0; mode < n_modes; mode++) {
				if (generate(&with[mode], v[i], lens[i],
				    n_gen) != 0)
					bail_out("generate");
				if (base.len == with[mode].len &&
				    memcmp(base.out, with[mode].out, base.len *
				    sizeof *base.out) == 0)
					same[mode]++;
				else if (first[mode] < 0)
					first[mode] = i;
			}
		}
		for (mode = 0; mode < n_modes; mode++) {
			spec_stats(with[mode].spec, &st);
			ok(same[mode] == n, "%s %s: %d of %d prompts, %d "
			    "tokens each, the same tokens (%lld of %lld "
			    "guesses taken)", quant_isa_name((enum quant_isa)
			    isa), mode_names[mode], same[mode], n, n_gen,
			    (long long)st.accepted, (long long)st.proposed);
			if (first[mode] >= 0)
				diag("first different: prompt %d",
				    first[mode] + 1);
			run_close(&with[mode]);
		}
		run_close(&base);
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		free(lens);
		tok_free(t);
		model_free(m);
		kernel_path_ran((enum quant_isa)isa);
	}
}

/* --- sampling: the model's distribution ------------------------------------------ */

/*
 * The model's probabilities of the token at position len + depth after
 * seq[0..len), summed over every way to get there (TOP_K candidates a
 * position), times weight, into p.
 */
static void
exact(struct run *r, int32_t *seq, size_t len, int depth, double weight,
    double *p)
{
	const int32_t	*ids;
	const float	*probs, *logits;
	int32_t		 cid[TOP_K];
	float		 cp[TOP_K];
	char		*cause = NULL;
	size_t		 n, i;

	if ((logits = model_eval(r->c, seq, (int)len, 0, &cause)) == NULL) {
		printf("Bail out! %s\n", cause);
		exit(99);
	}
	n = sampler_dist(r->smp, logits, &ids, &probs);
	if (depth == 0) {
		for (i = 0; i < n; i++)
			p[ids[i]] += weight * probs[i];
		return;
	}
	memcpy(cid, ids, n * sizeof *ids);
	memcpy(cp, probs, n * sizeof *probs);
	for (i = 0; i < n; i++) {
		seq[len] = cid[i];
		exact(r, seq, len + 1, depth - 1, weight * cp[i], p);
	}
}

static void
test_dist(const char *model, const char *draft, long runs)
{
	static const int	 at[2] = { 1, 3 };	/* the 2nd and 4th */
	static const char	*mode_names[] = { "--draft", "--lookup" };
	struct sampler_params	 sp = { .temp = 1.0f, .top_k = TOP_K,
				     .top_p = 1.0f, .repeat_penalty = 1.0f };
	struct run		 r;
	struct model		*m;
	struct tok		*t;
	struct spec_stats	 st;
	struct sampler_params	 greedy = { .temp = 0.0f,
				     .repeat_penalty = 1.0f };
	int32_t			 start[] = { 1, 2, 3 }, prompt[PROMPT_LEN];
	size_t			 np = PROMPT_LEN;
	int32_t			 seq[PROMPT_LEN + 8];
	double			*p[2], pv;
	long			*count[2], k;
	int			 nv, j, mode, df;

	m = open_model(model);
	t = open_tok(m);
	nv = model_hparams(m)->n_vocab;
	/* the prompt: the model's greedy words, whose repeats the lookup
	 * finds again in what it samples after them */
	run_open(&r, m, &greedy);
	if (generate(&r, start, 3, PROMPT_LEN - 3) != 0)
		bail_out("generate");
	memcpy(prompt, r.out, sizeof prompt);
	run_close(&r);
	run_open(&r, m, &sp);
	for (j = 0; j < 2; j++) {
		p[j] = xcalloc((size_t)nv, sizeof *p[j]);
		count[j] = xcalloc((size_t)nv, sizeof *count[j]);
		memcpy(seq, prompt, sizeof prompt);
		exact(&r, seq, np, at[j], 1.0, p[j]);
	}
	for (mode = 0; mode < 2; mode++) {
		r.spec = spec_open(m, t, mode == 1, mode == 0 ? draft : NULL);
		for (j = 0; j < 2; j++)
			memset(count[j], 0, (size_t)nv * sizeof *count[j]);
		for (k = 0; k < runs; k++) {
			r.sp.seed = (uint64_t)k + 1;
			sampler_set_params(r.smp, &r.sp, NULL);
			if (generate(&r, prompt, np, at[1] + 1) != 0) {
				printf("Bail out! generate\n");
				exit(99);
			}
			for (j = 0; j < 2; j++)
				count[j][r.out[np + (size_t)at[j]]]++;
		}
		spec_stats(r.spec, &st);
		for (j = 0; j < 2; j++) {
			pv = chi_square(p[j], count[j], nv, runs, &df);
			ok(pv > P_FAIL, "%s: token %d over %ld seeds as the "
			    "model's (chi-square %d df, p-value %g; %lld of "
			    "%lld guesses taken)", mode_names[mode], at[j] + 1,
			    runs, df, pv, (long long)st.accepted,
			    (long long)st.proposed);
		}
		spec_free(r.spec);
		r.spec = NULL;
	}
	for (j = 0; j < 2; j++) {
		free(p[j]);
		free(count[j]);
	}
	run_close(&r);
	tok_free(t);
	model_free(m);
}

int
main(int argc, char **argv)
{
	int	n_modes = N_MODES, every_path = 1, a = 2;
	char	*cause = NULL;

	/* one thread: the machine's other work does not stall the barriers */
	ops_set_threads(1);
	if (quant_init(&cause) != 0)
		bail_out(cause);
	if (argc >= 2 && strcmp(argv[1], "rule") == 0)
		test_rule();
	else if (argc >= 5 && strcmp(argv[1], "greedy") == 0) {
		for (; a < argc && argv[a][0] == '-'; a++) {
			if (strcmp(argv[a], "-l") == 0)
				n_modes = 1;
			else if (strcmp(argv[a], "-1") == 0)
				every_path = 0;
		}
		if (argc - a < 3)
			bail_out("greedy: MODEL PROMPTS N [DRAFT]");
		test_greedy(argv[a], argv[a + 1], atoi(argv[a + 2]),
		    argc - a > 3 ? argv[a + 3] : NULL, n_modes, every_path);
	}
	else if (argc == 5 && strcmp(argv[1], "dist") == 0)
		test_dist(argv[2], argv[3], atol(argv[4]));
	else {
		fprintf(stderr, "usage: test-spec rule | greedy MODEL PROMPTS "
		    "N [DRAFT] | dist MODEL DRAFT RUNS\n");
		return 2;
	}
	return done_testing();
}
