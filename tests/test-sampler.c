/*
 * test-sampler.c - the sampling chain.
 *
 * Greedy and its ties, the same tokens for the same seed, top-k = 1 being
 * greedy, the top-p and min-p cut-offs on distributions made to fall
 * between them, the repeat penalty's arithmetic and window, the cut-offs
 * taken before the temperature, and drawn frequencies against
 * softmax(logits / T) within statistical bounds.  The expected values come
 * from the definitions (llama.cpp's sampler documentation and common
 * defaults), computed here in double precision.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"
#include "tap.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Roughly normal, for logits that look like a model's. */
static float
rand_logit(void)
{
	double	s = 0.0;
	int	i;

	for (i = 0; i < 4; i++)
		s += (double)(next_rand() >> 11) * 0x1.0p-53;
	return (float)((s - 2.0) * 4.0);
}

static struct sampler_params
params(float temp, int32_t top_k, float top_p, float min_p, uint64_t seed)
{
	struct sampler_params	p;

	memset(&p, 0, sizeof p);
	p.repeat_penalty = 1.0f;
	p.repeat_last_n = 64;
	p.temp = temp;
	p.top_k = top_k;
	p.top_p = top_p;
	p.min_p = min_p;
	p.seed = seed;
	return p;
}

static struct sampler *
make(int32_t n_vocab, struct sampler_params p)
{
	struct sampler	*s;
	char		*cause = NULL;

	s = sampler_new(n_vocab, &p, &cause);
	if (s == NULL) {
		diag("sampler_new: %s", cause);
		free(cause);
		exit(1);
	}
	return s;
}

static int32_t
argmax(const float *l, int32_t n)
{
	int32_t	i, best = 0;

	for (i = 1; i < n; i++) {
		if (l[i] > l[best])
			best = i;
	}
	return best;
}

/* softmax(l / t) over the ids in keep (n of them), in double. */
static void
softmax_ref(const float *l, const int32_t *keep, size_t n, double t,
    double *out)
{
	double	max = -INFINITY, sum = 0.0;
	size_t	i;

	for (i = 0; i < n; i++)
		max = fmax(max, l[keep[i]]);
	for (i = 0; i < n; i++)
		sum += out[i] = exp((l[keep[i]] - max) / t);
	for (i = 0; i < n; i++)
		out[i] /= sum;
}

static void
test_greedy(void)
{
	enum { N = 5000 };
	static float		 l[N];
	struct sampler		*s = make(N, params(0.0f, 40, 0.95f, 0.05f, 1));
	const int32_t		*ids;
	const float		*probs;
	int			 i, j, bad = 0;

	for (j = 0; j < 50; j++) {
		for (i = 0; i < N; i++)
			l[i] = rand_logit();
		bad += sampler_sample(s, l) != argmax(l, N);
	}
	ok(bad == 0, "temperature 0 takes the arg max");

	for (i = 0; i < N; i++)
		l[i] = 0.0f;
	l[4000] = 7.0f;
	l[123] = 7.0f;
	l[2000] = 7.0f;
	l[0] = NAN;
	ok(sampler_sample(s, l) == 123, "ties go to the lowest id, NaN never "
	    "wins");
	ok(sampler_dist(s, l, &ids, &probs) == 1 && ids[0] == 123 &&
	    probs[0] == 1.0f, "greedy distribution is one token");
	sampler_free(s);

	/* Everything impossible still gives a token. */
	s = make(4, params(0.8f, 0, 1.0f, 0.0f, 1));
	for (i = 0; i < 4; i++)
		l[i] = -INFINITY;
	ok(sampler_sample(s, l) == 0, "all -inf: the first token");
	l[2] = INFINITY;
	ok(sampler_sample(s, l) == 2, "+inf wins");
	sampler_free(s);
}

static void
test_seed(void)
{
	enum { N = 300, DRAWS = 2000 };
	static float		 l[N];
	static int32_t		 a[DRAWS], b[DRAWS];
	struct sampler		*s1, *s2, *s3;
	struct sampler_params	 p = params(1.0f, 0, 1.0f, 0.0f, 42), got;
	char			*cause = NULL;
	int			 i, same12 = 1, same13 = 1, differ = 0;

	for (i = 0; i < N; i++)
		l[i] = rand_logit() / 4;
	s1 = make(N, p);
	s2 = make(N, p);
	p.seed = 43;
	s3 = make(N, p);
	for (i = 0; i < DRAWS; i++) {
		a[i] = sampler_sample(s1, l);
		b[i] = sampler_sample(s2, l);
		same12 &= a[i] == b[i];
		same13 &= a[i] == sampler_sample(s3, l);
		differ += i > 0 && a[i] != a[i - 1];
	}
	ok(same12, "same seed, same %d tokens", DRAWS);
	ok(!same13, "another seed, other tokens");
	ok(differ > DRAWS / 2, "the tokens vary (%d changes)", differ);

	/* Setting the same seed again does not restart; a new one does. */
	p.seed = 42;
	sampler_set_params(s2, &p, &cause);
	ok(sampler_sample(s2, l) != a[0] || sampler_sample(s2, l) != a[1] ||
	    sampler_sample(s2, l) != a[2], "same seed set again: no restart");
	sampler_set_params(s3, &p, &cause);
	ok(sampler_sample(s3, l) == a[0] && sampler_sample(s3, l) == a[1] &&
	    sampler_sample(s3, l) == a[2], "new seed: a fresh start");
	/* A given seed restarts at every reset (each turn of a chat). */
	sampler_reset(s1);
	ok(sampler_sample(s1, l) == a[0] && sampler_sample(s1, l) == a[1] &&
	    sampler_sample(s1, l) == a[2], "reset with a given seed: the same "
	    "tokens again");
	sampler_free(s1);
	sampler_free(s2);
	sampler_free(s3);

	/* A random seed is reported as the one used, and replays. */
	p.seed = SAMPLER_SEED_RANDOM;
	s1 = make(N, p);
	sampler_params(s1, &got);
	ok(got.seed != SAMPLER_SEED_RANDOM, "random seed drawn: %llu",
	    (unsigned long long)got.seed);
	s2 = make(N, got);
	same12 = 1;
	for (i = 0; i < 100; i++)
		same12 &= sampler_sample(s1, l) == sampler_sample(s2, l);
	ok(same12, "the reported seed replays the draws");
	for (i = 0; i < 3; i++)
		a[i] = sampler_sample(s1, l);
	sampler_reset(s1);
	ok(sampler_sample(s1, l) != a[0] || sampler_sample(s1, l) != a[1] ||
	    sampler_sample(s1, l) != a[2], "reset with a random seed: the "
	    "numbers go on");
	sampler_free(s1);
	sampler_free(s2);
}

static void
test_top_k(void)
{
	enum { N = 2000 };
	static float		 l[N];
	struct sampler		*s, *all;
	const int32_t		*ids;
	const float		*probs;
	double			 want[8];
	int32_t			 best[3], keep[3];
	int			 i, j, bad = 0, ordered = 1;
	size_t			 n;

	for (j = 0; j < 200; j++) {
		s = make(N, params(1.5f, 1, 1.0f, 0.0f, 1000 + j));
		for (i = 0; i < N; i++)
			l[i] = rand_logit();
		bad += sampler_sample(s, l) != argmax(l, N);
		sampler_free(s);
	}
	ok(bad == 0, "top-k 1 is greedy, whatever the seed");

	s = make(N, params(0.7f, 3, 1.0f, 0.0f, 1));
	for (i = 0; i < N; i++)
		l[i] = rand_logit();
	/* The three best, by brute force. */
	for (j = 0; j < 3; j++) {
		best[j] = -1;
		for (i = 0; i < N; i++) {
			if ((j > 0 && (l[i] > l[best[j - 1]] ||
			    (l[i] == l[best[j - 1]] && i <= best[j - 1]))))
				continue;
			if (best[j] < 0 || l[i] > l[best[j]])
				best[j] = i;
		}
		keep[j] = best[j];
	}
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(l, keep, 3, 0.7, want);
	for (j = 0; j < 3 && n == 3; j++)
		ordered &= ids[j] == best[j] && fabs(probs[j] - want[j]) < 1e-6;
	ok(n == 3 && ordered, "top-k 3 keeps the best three, softmax at T");
	sampler_free(s);

	/* With nothing cut, all the vocabulary, ordered, ties by id. */
	s = make(N, params(1.0f, 0, 1.0f, 0.0f, 1));
	for (i = 0; i < N; i++)
		l[i] = (float)(next_rand() % 7);
	n = sampler_dist(s, l, &ids, &probs);
	{
		static char	seen[N];

		memset(seen, 0, sizeof seen);
		ordered = n == N;
		for (i = 0; ordered && i < N; i++) {
			ordered = ids[i] >= 0 && ids[i] < N && !seen[ids[i]];
			seen[ids[i]] = 1;
			if (ordered && i > 0)
				ordered = l[ids[i - 1]] > l[ids[i]] ||
				    (l[ids[i - 1]] == l[ids[i]] &&
				    ids[i - 1] < ids[i]);
		}
	}
	ok(ordered, "top-k 0 keeps all %d, by logit then id", N);
	sampler_free(s);
	ordered = 1;

	/*
	 * Without top-k the chain avoids sorting everything; it must keep
	 * what the sorted path keeps (top-k n_vocab - 1 drops only the worst
	 * token, whose mass is far below any of these cut-offs).
	 */
	bad = 0;
	for (j = 0; j < 60; j++) {
		static const float	tp[4] = { 0.5f, 0.9f, 0.99f, 1.0f };
		static const float	mp[3] = { 0.0f, 0.05f, 0.3f };
		static int32_t		copy[N];
		const int32_t		*ids2;
		const float		*probs2;
		size_t			 n2;
		float			 scale = 1.0f + j % 5;

		if (tp[j % 4] == 1.0f && mp[j % 3] == 0.0f)
			continue;
		for (i = 0; i < N; i++)
			l[i] = rand_logit() * scale;
		s = make(N, params(1.0f, 0, tp[j % 4], mp[j % 3], 1));
		all = make(N, params(1.0f, N - 1, tp[j % 4], mp[j % 3], 1));
		n = sampler_dist(s, l, &ids, &probs);
		memcpy(copy, ids, n * sizeof *ids);
		n2 = sampler_dist(all, l, &ids2, &probs2);
		if (n != n2 || memcmp(copy, ids2, n * sizeof *ids) != 0) {
			if (bad++ == 0)
				diag("top_p %.2f min_p %.2f: %zu vs %zu kept",
				    tp[j % 4], mp[j % 3], n, n2);
		}
		sampler_free(s);
		sampler_free(all);
	}
	ok(bad == 0, "top-p and min-p without top-k cut as after a sort");
}

/* Probabilities 0.5, 0.3, 0.15, 0.05 put on ids 3, 0, 2, 1. */
static const float	cut_p[4] = { 0.3f, 0.05f, 0.15f, 0.5f };
static const int32_t	cut_order[4] = { 3, 0, 2, 1 };

static int
dist_is(struct sampler *s, size_t want_n, double temp, const char *what)
{
	float		 l[4];
	const int32_t	*ids;
	const float	*probs;
	double		 want[4];
	size_t		 n, i;
	int		 good;

	for (i = 0; i < 4; i++)
		l[i] = logf(cut_p[i]);
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(l, cut_order, want_n, temp, want);
	good = n == want_n;
	for (i = 0; good && i < n; i++)
		good = ids[i] == cut_order[i] && fabs(probs[i] - want[i]) < 1e-6;
	if (!ok(good, "%s: %zu kept", what, want_n)) {
		for (i = 0; i < n; i++)
			diag("  id %d p %.6f", ids[i], probs[i]);
	}
	return good;
}

static void
test_cutoffs(void)
{
	static const struct {
		float		 top_p, min_p, temp;
		size_t		 n;
		const char	*what;
	} cases[] = {
		{ 0.49f, 0.0f, 1.0f, 1, "top-p 0.49" },
		{ 0.79f, 0.0f, 1.0f, 2, "top-p 0.79" },
		{ 0.81f, 0.0f, 1.0f, 3, "top-p 0.81" },
		{ 0.94f, 0.0f, 1.0f, 3, "top-p 0.94" },
		{ 0.96f, 0.0f, 1.0f, 4, "top-p 0.96" },
		{ 1.0f, 0.0f, 1.0f, 4, "top-p 1 is off" },
		{ 0.0f, 0.0f, 1.0f, 1, "top-p 0 keeps one" },
		{ 1.0f, 0.09f, 1.0f, 4, "min-p 0.09 (>= 0.045)" },
		{ 1.0f, 0.11f, 1.0f, 3, "min-p 0.11 (>= 0.055)" },
		{ 1.0f, 0.29f, 1.0f, 3, "min-p 0.29 (>= 0.145)" },
		{ 1.0f, 0.31f, 1.0f, 2, "min-p 0.31 (>= 0.155)" },
		{ 1.0f, 0.61f, 1.0f, 1, "min-p 0.61 (>= 0.305)" },
		{ 1.0f, 1.0f, 1.0f, 1, "min-p 1 keeps the top" },
		/* Cut-offs before the temperature: the same sets at T. */
		{ 0.79f, 0.0f, 5.0f, 2, "top-p 0.79 at T 5" },
		{ 0.81f, 0.0f, 0.2f, 3, "top-p 0.81 at T 0.2" },
		{ 1.0f, 0.31f, 8.0f, 2, "min-p 0.31 at T 8" },
		/* Top-p first, then min-p on what is left. */
		{ 0.96f, 0.11f, 1.0f, 3, "top-p 0.96 then min-p 0.11" },
		{ 0.81f, 0.31f, 1.0f, 2, "top-p 0.81 then min-p 0.31" },
	};
	struct sampler	*s;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = make(4, params(cases[i].temp, 0, cases[i].top_p,
		    cases[i].min_p, 7));
		dist_is(s, cases[i].n, cases[i].temp, cases[i].what);
		sampler_free(s);
	}
	/* Top-k comes before top-p: with k 2 the 0.8 mass is all of it. */
	s = make(4, params(1.0f, 2, 0.9f, 0.0f, 7));
	dist_is(s, 2, 1.0, "top-k 2 then top-p 0.9");
	sampler_free(s);
}

static void
test_penalty(void)
{
	float			 l[5] = { 2.0f, -2.0f, 1.0f, 0.5f, 3.0f };
	float			 pen[5];
	struct sampler_params	 p = params(1.0f, 0, 1.0f, 0.0f, 1);
	struct sampler		*s;
	const int32_t		*ids;
	const float		*probs;
	double			 want[5];
	int32_t			 all[5] = { 0, 1, 2, 3, 4 };
	char			*cause = NULL;
	size_t			 n, i, j;
	int			 good;

	p.repeat_penalty = 2.0f;
	p.repeat_last_n = 3;
	s = make(5, p);
	/* 0 twice: penalised once.  Out-of-range ids are ignored. */
	sampler_accept(s, 0);
	sampler_accept(s, 1);
	sampler_accept(s, 0);
	memcpy(pen, l, sizeof l);
	pen[0] = 1.0f;		/* 2 / 2 */
	pen[1] = -4.0f;		/* -2 * 2 */
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(pen, all, 5, 1.0, want);
	good = n == 5;
	for (i = 0; good && i < n; i++) {
		for (j = 0; j < 5 && all[j] != ids[i]; j++)
			;
		good = j < 5 && fabs(probs[i] - want[j]) < 1e-6;
	}
	ok(good, "repeat penalty: positive / 2, negative * 2, once per token");

	/* The window: after 2, 3, 99 only those are penalised (0 and 1 are
	 * out). */
	sampler_accept(s, 2);
	sampler_accept(s, 3);
	sampler_accept(s, 99);
	memcpy(pen, l, sizeof l);
	pen[2] = 0.5f;
	pen[3] = 0.25f;
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(pen, all, 5, 1.0, want);
	good = n == 5;
	for (i = 0; good && i < n; i++) {
		for (j = 0; j < 5 && all[j] != ids[i]; j++)
			;
		good = j < 5 && fabs(probs[i] - want[j]) < 1e-6;
	}
	ok(good, "only the last repeat_last_n tokens count");

	/* Shrinking the window keeps the most recent: 99 only. */
	p.repeat_last_n = 1;
	sampler_set_params(s, &p, &cause);
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(l, all, 5, 1.0, want);
	good = n == 5;
	for (i = 0; good && i < n; i++)
		good = fabs(probs[i] - want[ids[i]]) < 1e-6;
	ok(good, "a smaller window keeps the newest token");
	/* Growing it back: 99 is still there, 3 comes in. */
	p.repeat_last_n = 10;
	sampler_set_params(s, &p, &cause);
	sampler_accept(s, 3);
	memcpy(pen, l, sizeof l);
	pen[3] = 0.25f;
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(pen, all, 5, 1.0, want);
	good = n == 5;
	for (i = 0; good && i < n; i++)
		good = fabs(probs[i] - want[ids[i]]) < 1e-6;
	ok(good, "a larger window goes on from there");

	sampler_reset(s);
	n = sampler_dist(s, l, &ids, &probs);
	softmax_ref(l, all, 5, 1.0, want);
	good = n == 5;
	for (i = 0; good && i < n; i++)
		good = fabs(probs[i] - want[ids[i]]) < 1e-6;
	ok(good, "reset forgets the tokens");
	sampler_free(s);

	/* It applies before greedy: 3 / 1.1 < 2.9. */
	p = params(0.0f, 40, 0.95f, 0.05f, 1);
	p.repeat_penalty = 1.1f;
	s = make(2, p);
	l[0] = 3.0f;
	l[1] = 2.9f;
	ok(sampler_sample(s, l) == 0, "greedy before the penalty");
	sampler_accept(s, 0);
	ok(sampler_sample(s, l) == 1, "greedy after it");
	sampler_free(s);
}

/*
 * Draws many tokens and compares the counts with the probabilities: each
 * within 5 standard deviations, and Pearson's chi-square under its
 * 1e-6 quantile (so a correct sampler fails about never; a biased one by
 * more than a few tenths of a percent fails at once).
 */
static void
check_frequencies(struct sampler *s, const float *l, int32_t n_vocab,
    const double *p, int draws, double chi_limit, const char *what)
{
	static long	count[64];
	double		chi = 0.0, sd, worst = 0.0;
	int		i, out = 0;
	int32_t		id;

	memset(count, 0, sizeof count);
	for (i = 0; i < draws; i++) {
		id = sampler_sample(s, l);
		if (id < 0 || id >= n_vocab)
			out++;
		else
			count[id]++;
	}
	for (i = 0; i < n_vocab; i++) {
		double	e = p[i] * draws;

		if (p[i] == 0.0) {
			out += count[i] != 0;
			continue;
		}
		chi += (count[i] - e) * (count[i] - e) / e;
		sd = sqrt(draws * p[i] * (1 - p[i]));
		worst = fmax(worst, fabs(count[i] - e) / sd);
	}
	ok(out == 0 && worst < 5.0 && chi < chi_limit,
	    "%s: %d draws, worst %.2f sd, chi-square %.2f", what, draws,
	    worst, chi);
}

static void
test_frequencies(void)
{
	float		 l[6] = { 1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -3.0f };
	int32_t		 all[6] = { 0, 1, 2, 3, 4, 5 };
	double		 p[6], top3[3];
	struct sampler	*s;

	/* Chi-square 1e-6 quantiles: 5 degrees of freedom 35.9, 2: 27.6. */
	softmax_ref(l, all, 6, 0.7, p);
	s = make(6, params(0.7f, 0, 1.0f, 0.0f, 2024));
	check_frequencies(s, l, 6, p, 400000, 35.9, "softmax(l / 0.7)");
	sampler_free(s);

	softmax_ref(l, all, 6, 1.0, p);
	s = make(6, params(1.0f, 0, 1.0f, 0.0f, 77));
	check_frequencies(s, l, 6, p, 400000, 35.9, "softmax(l)");
	sampler_free(s);

	/* Top-k 3 at T 1.3: ids 4, 0, 1 renormalised, the rest never. */
	{
		int32_t	keep[3] = { 4, 0, 1 };

		softmax_ref(l, keep, 3, 1.3, top3);
		memset(p, 0, sizeof p);
		p[4] = top3[0];
		p[0] = top3[1];
		p[1] = top3[2];
	}
	s = make(6, params(1.3f, 3, 1.0f, 0.0f, 5));
	check_frequencies(s, l, 6, p, 300000, 27.6, "top-k 3 at T 1.3");
	sampler_free(s);
}

static void
test_errors(void)
{
	struct sampler_params	 p;
	struct sampler		*s;
	char			*cause = NULL;

	p = params(0.6f, 40, 1.5f, 0.05f, 1);
	s = sampler_new(10, &p, &cause);
	ok(s == NULL && cause != NULL, "top_p 1.5 refused: %s", cause);
	free(cause);
	cause = NULL;
	p = params(0.6f, 40, 0.9f, 0.05f, 1);
	p.repeat_penalty = 0.0f;
	s = sampler_new(10, &p, &cause);
	ok(s == NULL && cause != NULL, "repeat_penalty 0 refused: %s", cause);
	free(cause);
	cause = NULL;
	p = params(NAN, 40, 0.9f, 0.05f, 1);
	s = sampler_new(10, &p, &cause);
	ok(s == NULL && cause != NULL, "NaN temperature refused");
	free(cause);
	cause = NULL;
	p = params(0.6f, 40, 0.9f, 0.05f, 1);
	s = sampler_new(0, &p, &cause);
	ok(s == NULL && cause != NULL, "empty vocabulary refused");
	free(cause);
	cause = NULL;

	s = make(10, p);
	p.min_p = -1.0f;
	ok(sampler_set_params(s, &p, &cause) == -1 && cause != NULL,
	    "bad min_p refused on change");
	free(cause);
	{
		struct sampler_params	got;

		sampler_params(s, &got);
		ok(got.min_p == 0.05f, "and nothing changed");
	}
	sampler_free(s);
}

int
main(void)
{
	test_greedy();
	test_seed();
	test_top_k();
	test_cutoffs();
	test_penalty();
	test_frequencies();
	test_errors();
	return done_testing();
}
