/*
 * sampler.c - repeat penalty, top-k, top-p, min-p, temperature, draw.
 *
 * Every buffer is sized once, for the whole vocabulary, when the sampler
 * is made: sampling a token allocates nothing.  Candidates are ordered by
 * logit, then by id, so that ties (common in quantized models) resolve the
 * same way every time.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"
#include "util.h"

struct cand {
	float	logit;
	int32_t	id;
};

struct sampler {
	int32_t			 n_vocab;
	struct sampler_params	 p;

	struct cand		*cand;		/* [n_vocab] */
	int32_t			*out_ids;	/* [n_vocab] */
	float			*out_probs;	/* [n_vocab] */
	uint32_t		*seen;		/* [n_vocab]: penalised in
						   round seen_round */
	uint32_t		 seen_round;

	int32_t			*hist;		/* ring of the last tokens */
	int32_t			 hist_cap;
	int32_t			 hist_len;
	int32_t			 hist_pos;	/* next slot to write */

	uint64_t		 rng[4];	/* xoshiro256** state */
	int			 fixed;		/* the seed was given */
};

/* splitmix64: spreads a seed over the generator's state. */
static uint64_t
splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct sampler *s, uint64_t seed)
{
	int	i;

	for (i = 0; i < 4; i++)
		s->rng[i] = splitmix(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t
rng_next(struct sampler *s)
{
	uint64_t	*r = s->rng, out = rotl(r[1] * 5, 7) * 9, t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = rotl(r[3], 45);
	return out;
}

/* Uniform in [0, 1), 53 bits. */
static double
rng_uniform(struct sampler *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/*
 * The sampler's own guard, on its own fields (repeat_last_n already made
 * a count, the seed unsigned): the chat's ranges are params.c's, checked
 * before params_sampler; this refuses what would break the draw, for
 * callers that do not come through that table (the tests).
 */
static int
check_params(const struct sampler_params *p, char **cause)
{
	if (!isfinite(p->temp)) {
		*cause = xstrfmt("temperature must be a number");
		return -1;
	}
	if (!(p->top_p >= 0.0f && p->top_p <= 1.0f)) {
		*cause = xstrfmt("top_p must be between 0 and 1");
		return -1;
	}
	if (!(p->min_p >= 0.0f && p->min_p <= 1.0f)) {
		*cause = xstrfmt("min_p must be between 0 and 1");
		return -1;
	}
	if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty)) {
		*cause = xstrfmt("repeat_penalty must be greater than 0");
		return -1;
	}
	if (p->repeat_last_n < 0) {
		*cause = xstrfmt("repeat_last_n must be 0 or more");
		return -1;
	}
	return 0;
}

/* A seed from the clock, for when the user gave none. */
static uint64_t
clock_seed(void)
{
	uint64_t	x = (uint64_t)util_now_ns(), seed;

	do
		seed = splitmix(&x);
	while (seed == SAMPLER_SEED_RANDOM);
	return seed;
}

struct sampler *
sampler_new(int32_t n_vocab, const struct sampler_params *p, char **cause)
{
	struct sampler	*s;

	if (n_vocab <= 0) {
		*cause = xstrfmt("no vocabulary to sample from");
		return NULL;
	}
	if (check_params(p, cause) != 0)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->n_vocab = n_vocab;
	s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
	s->out_ids = malloc((size_t)n_vocab * sizeof *s->out_ids);
	s->out_probs = malloc((size_t)n_vocab * sizeof *s->out_probs);
	s->seen = calloc(n_vocab, sizeof *s->seen);
	if (s->cand == NULL || s->out_ids == NULL || s->out_probs == NULL ||
	    s->seen == NULL) {
		sampler_free(s);
		*cause = xstrfmt("out of memory for a sampler of %d tokens",
		    n_vocab);
		return NULL;
	}
	/* An impossible seed, so that set_params seeds. */
	s->p.seed = SAMPLER_SEED_RANDOM;
	if (sampler_set_params(s, p, cause) != 0) {
		sampler_free(s);
		return NULL;
	}
	return s;
}

void
sampler_free(struct sampler *s)
{
	if (s == NULL)
		return;
	free(s->cand);
	free(s->out_ids);
	free(s->out_probs);
	free(s->seen);
	free(s->hist);
	free(s);
}

int
sampler_set_params(struct sampler *s, const struct sampler_params *p,
    char **cause)
{
	int32_t		*hist, n, i, from;
	uint64_t	 seed;

	if (check_params(p, cause) != 0)
		return -1;

	if (p->repeat_last_n != s->hist_cap) {
		/* Keep the most recent tokens that still fit, in order. */
		n = p->repeat_last_n;
		hist = malloc((size_t)(n ? n : 1) * sizeof *hist);
		if (hist == NULL) {
			*cause = xstrfmt("out of memory for %d recent tokens",
			    n);
			return -1;
		}
		if (s->hist_len < n)
			n = s->hist_len;
		from = s->hist_pos - n;
		for (i = 0; i < n; i++) {
			hist[i] = s->hist[((from + i) % s->hist_cap +
			    s->hist_cap) % s->hist_cap];
		}
		free(s->hist);
		s->hist = hist;
		s->hist_cap = p->repeat_last_n;
		s->hist_len = n;
		s->hist_pos = s->hist_cap ? n % s->hist_cap : 0;
	}

	seed = p->seed;
	if (seed == SAMPLER_SEED_RANDOM || seed != s->p.seed) {
		if (seed == SAMPLER_SEED_RANDOM)
			seed = clock_seed();
		rng_seed(s, seed);
	}
	s->p = *p;
	s->p.seed = seed;
	s->fixed = p->seed != SAMPLER_SEED_RANDOM;
	return 0;
}

void
sampler_params(const struct sampler *s, struct sampler_params *p)
{
	*p = s->p;
}

void
sampler_accept(struct sampler *s, int32_t id)
{
	if (s->hist_cap == 0)
		return;
	s->hist[s->hist_pos] = id;
	s->hist_pos = (s->hist_pos + 1) % s->hist_cap;
	if (s->hist_len < s->hist_cap)
		s->hist_len++;
}

double
sampler_uniform(struct sampler *s)
{
	return rng_uniform(s);
}

void
sampler_reset(struct sampler *s)
{
	s->hist_len = 0;
	s->hist_pos = 0;
	if (s->fixed)
		rng_seed(s, s->p.seed);
}

/* a ranks before b: higher logit, then lower id. */
static int
better(const struct cand *a, const struct cand *b)
{
	return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/*
 * llama.cpp's rule, once per distinct recent token: a positive logit is
 * divided by the penalty, any other multiplied, so both become less likely.
 * cand is still indexed by id here.
 */
static void
apply_penalty(struct sampler *s)
{
	float		 pen = s->p.repeat_penalty;
	int32_t		 i, id;

	if (pen == 1.0f || s->hist_len == 0)
		return;
	/* A new round number marks no token as done yet. */
	if (++s->seen_round == 0) {
		memset(s->seen, 0, (size_t)s->n_vocab * sizeof *s->seen);
		s->seen_round = 1;
	}
	for (i = 0; i < s->hist_len; i++) {
		id = s->hist[i];
		if (id < 0 || id >= s->n_vocab ||
		    s->seen[id] == s->seen_round)
			continue;
		s->seen[id] = s->seen_round;
		if (s->cand[id].logit > 0.0f)
			s->cand[id].logit /= pen;
		else
			s->cand[id].logit *= pen;
	}
}

/* Restores the heap below i: the worst candidate at the root. */
static void
sift_down(struct cand *h, size_t n, size_t i)
{
	struct cand	tmp;
	size_t		c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && better(&h[c], &h[c + 1]))
			c++;
		if (!better(&h[i], &h[c]))
			return;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
}

/*
 * Sorts a heap of n (worst at the root) best first, in place: qsort may
 * allocate, and sampling a token must not.
 */
static void
heap_sort(struct cand *h, size_t n)
{
	struct cand	tmp;

	while (n > 1) {
		tmp = h[0];
		h[0] = h[n - 1];
		h[n - 1] = tmp;
		sift_down(h, --n, 0);
	}
}

/*
 * Leaves the best k of the n candidates first, sorted, the others after
 * them; returns how many are kept (all n when k is 0).  A heap of the k best seen so far keeps
 * this O(n log k).
 */
static size_t
top_k(struct cand *c, size_t n, size_t k)
{
	struct cand	tmp;
	size_t		i;

	if (k == 0 || k > n)
		k = n;
	for (i = k / 2; i-- > 0;)
		sift_down(c, k, i);
	/* Swapped, not overwritten: a later, larger k needs them all. */
	for (i = k; i < n; i++) {
		if (better(&c[i], &c[0])) {
			tmp = c[0];
			c[0] = c[i];
			c[i] = tmp;
			sift_down(c, k, 0);
		}
	}
	heap_sort(c, k);
	return k;
}

/*
 * Fills out_probs with the softmax of the first n candidates' logits
 * divided by temp.  The first is the largest, and subtracting it before
 * dividing keeps a tiny temperature from overflowing.
 */
static void
softmax(struct sampler *s, size_t n, float temp)
{
	double	sum = 0.0, e, max = s->cand[0].logit;
	size_t	i;

	for (i = 0; i < n; i++) {
		e = exp(((double)s->cand[i].logit - max) / temp);
		s->out_probs[i] = (float)e;
		sum += e;
	}
	for (i = 0; i < n; i++)
		s->out_probs[i] = (float)(s->out_probs[i] / sum);
}

/* Moves the best candidate first (the greedy choice); returns 1. */
static size_t
best_first(struct sampler *s, size_t n)
{
	struct cand	tmp;
	size_t		i, best = 0;

	for (i = 1; i < n; i++) {
		if (better(&s->cand[i], &s->cand[best]))
			best = i;
	}
	tmp = s->cand[0];
	s->cand[0] = s->cand[best];
	s->cand[best] = tmp;
	return 1;
}

/* Top-p on n sorted candidates: the shortest prefix holding top_p. */
static size_t
cut_top_p(struct sampler *s, size_t n)
{
	double	cum = 0.0;
	size_t	i;

	softmax(s, n, 1.0f);
	for (i = 0; i < n; i++) {
		cum += s->out_probs[i];
		if (cum >= s->p.top_p)
			return i + 1;
	}
	return n;
}

/* Min-p on n sorted candidates: those with p >= min_p * p_max. */
static size_t
cut_min_p(struct sampler *s, size_t n)
{
	float	floor = s->cand[0].logit + logf(s->p.min_p);
	size_t	keep;

	for (keep = 1; keep < n && s->cand[keep].logit >= floor; keep++)
		;
	return keep;
}

/*
 * Without top-k, sorting the whole vocabulary for every token is slow
 * (150,000 entries), and not needed: top-p and min-p both keep a prefix of
 * the sorted order, so the result is the shorter of the two.  Min-p's is
 * found by one comparison per token; top-p's by sorting ever larger top
 * slices until they hold top_p of the mass of all the tokens.  Only when
 * nothing is cut and the order was asked for is everything sorted.
 */
static size_t
chain_no_top_k(struct sampler *s, size_t n, int ordered)
{
	struct cand	*c = s->cand, tmp;
	double		 total = 0.0, cum;
	float		 max, floor;
	size_t		 i, m = n, k;

	best_first(s, n);
	max = c[0].logit;
	if (!isfinite(max))
		return 1;
	if (s->p.min_p > 0.0f) {
		floor = max + logf(s->p.min_p);
		for (i = m = 0; i < n; i++) {
			if (c[i].logit >= floor) {
				tmp = c[m];
				c[m++] = c[i];
				c[i] = tmp;
			}
		}
	}
	if (s->p.top_p < 1.0f) {
		for (i = 0; i < n; i++)
			total += exp((double)c[i].logit - max);
		for (k = 64;; k *= 4) {
			if (k > m)
				k = m;
			top_k(c, m, k);
			cum = 0.0;
			for (i = 0; i < k; i++) {
				cum += exp((double)c[i].logit - max) / total;
				if (cum >= s->p.top_p)
					return i + 1;
			}
			if (k == m)
				return m;
		}
	}
	if (ordered || m < n)
		top_k(c, m, 0);
	return m;
}

/*
 * Runs the chain; returns how many candidates remain, the best first and,
 * when ordered is set or something was cut, all in order.
 */
static size_t
run_chain(struct sampler *s, const float *logits, int ordered)
{
	size_t	n = s->n_vocab, i;

	for (i = 0; i < n; i++) {
		s->cand[i].id = i;
		s->cand[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
	}
	apply_penalty(s);

	if (s->p.temp <= 0.0f)
		return best_first(s, n);
	if (s->p.top_k <= 0 || (size_t)s->p.top_k >= n)
		return chain_no_top_k(s, n, ordered);

	n = top_k(s->cand, n, s->p.top_k);
	/*
	 * All impossible, or one infinitely likely: the first, as greedy
	 * would take it.
	 */
	if (!isfinite(s->cand[0].logit))
		return 1;
	if (s->p.top_p < 1.0f)
		n = cut_top_p(s, n);
	if (s->p.min_p > 0.0f)
		n = cut_min_p(s, n);
	return n;
}

size_t
sampler_dist(struct sampler *s, const float *logits, const int32_t **ids,
    const float **probs)
{
	size_t	n, i;

	n = run_chain(s, logits, 1);
	if (n == 1 || s->p.temp <= 0.0f) {
		n = 1;
		s->out_probs[0] = 1.0f;
	} else
		softmax(s, n, s->p.temp);
	for (i = 0; i < n; i++)
		s->out_ids[i] = s->cand[i].id;
	*ids = s->out_ids;
	*probs = s->out_probs;
	return n;
}

int32_t
sampler_sample(struct sampler *s, const float *logits)
{
	double	u, acc = 0.0;
	size_t	n, i;

	n = run_chain(s, logits, 0);
	if (n == 1 || s->p.temp <= 0.0f)
		return s->cand[0].id;
	softmax(s, n, s->p.temp);
	u = rng_uniform(s);
	for (i = 0; i < n; i++) {
		acc += s->out_probs[i];
		if (u < acc)
			return s->cand[i].id;
	}
	/* Rounding left u above the total: the last candidate. */
	return s->cand[n - 1].id;
}
