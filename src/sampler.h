/*
 * sampler.h - from the model's logits to the next token.
 *
 * llama.cpp's default chain, in its order: repeat penalty over the last n
 * tokens, top-k, top-p, min-p, temperature, then a draw from what is left
 * (or the arg max when the temperature is 0).  The cut-offs are taken on
 * the distribution before the temperature, as llama.cpp does.  The random
 * numbers are the sampler's own (xoshiro256**), so a seed gives the same
 * tokens on every machine, though not the tokens llama.cpp would draw.
 */
#ifndef R1_SAMPLER_H
#define R1_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

/* A seed of this value asks for one taken from the clock. */
#define SAMPLER_SEED_RANDOM UINT64_MAX

/*
 * The defaults are the chat's (params.c's table; params_sampler converts);
 * the sampler checks only what it cannot work with.
 */
struct sampler_params {
	float		temp;		/* <= 0: greedy */
	int32_t		top_k;		/* <= 0: off */
	float		top_p;		/* >= 1: off */
	float		min_p;		/* <= 0: off */
	float		repeat_penalty;	/* 1: off */
	int32_t		repeat_last_n;	/* tokens looked back on; 0: off */
	uint64_t	seed;
};

struct sampler;

/*
 * Returns a sampler for a vocabulary of n_vocab tokens, with all the
 * scratch memory it will need, or NULL with *cause set when the
 * parameters are out of range or memory runs out.
 */
struct sampler *sampler_new(int32_t n_vocab, const struct sampler_params *p,
    char **cause);
void sampler_free(struct sampler *s);

/*
 * Changes the parameters (for /set parameter).  A seed different from the
 * one in force restarts the random numbers (SAMPLER_SEED_RANDOM always
 * draws a new one); the same seed goes on where it was.  The recent
 * tokens are kept, as many as the new repeat_last_n holds.  Returns 0, or
 * -1 with *cause set (and nothing changed).
 */
int sampler_set_params(struct sampler *s, const struct sampler_params *p,
    char **cause);

/* The parameters in force, the seed as actually used. */
void sampler_params(const struct sampler *s, struct sampler_params *p);

/*
 * Returns the next token for logits (n_vocab floats, not changed).  The
 * arg max when the temperature is <= 0 (ties go to the lowest id).
 * Allocates nothing.  The caller then passes the token to sampler_accept.
 */
int32_t sampler_sample(struct sampler *s, const float *logits);

/*
 * Returns the number of candidates left after the chain and, through ids
 * and probs, the candidates (most likely first; ties by lowest id) and the
 * probabilities a draw would use (they sum to 1).  Valid until the next
 * call.  With a temperature <= 0, the one greedy token with probability 1.
 */
size_t sampler_dist(struct sampler *s, const float *logits,
    const int32_t **ids, const float **probs);

/*
 * A number drawn uniformly in [0, 1) from the sampler's random numbers
 * (speculative decoding's acceptance draws, reproducible by the seed).
 */
double sampler_uniform(struct sampler *s);

/* Records a token (prompt or generated) for the repeat penalty. */
void sampler_accept(struct sampler *s, int32_t id);

/*
 * Forgets the recorded tokens, and restarts the random numbers from the
 * seed when one was given (not SAMPLER_SEED_RANDOM): the chat calls it at
 * each turn, so the same seed and conversation give the same answer.
 */
void sampler_reset(struct sampler *s);

#endif
