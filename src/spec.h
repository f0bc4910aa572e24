/*
 * spec.h - speculative decoding: guesses of the next tokens (copied from
 * earlier in the context, --lookup, or drawn from a smaller model of the
 * same vocabulary, --draft), checked by the model in one forward pass.
 *
 * The chat's loop stays one token at a time: spec_eval evaluates a token
 * and, with it, the guesses that follow it in one batch; spec_choose then
 * decides each next token from the rows already computed, by the
 * speculative sampling rule (accept guess x drawn from q with probability
 * min(1, p(x)/q(x)), else draw from max(p - q, 0) normalised), so the
 * tokens are distributed as the model's own; at temperature 0 they are
 * the model's greedy tokens.  A guessed token accepted needs no forward
 * pass of its own.
 */
#ifndef R1_SPEC_H
#define R1_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

struct model;
struct model_ctx;
struct sampler;
struct sampler_params;
struct tok;

struct spec_config {
	int		 lookup;	/* guess from the context's n-grams */
	const char	*draft_path;	/* NULL: no draft model */
	int		 draft_max;	/* the most guesses a pass; 0: 8 */
	int		 n_batch;	/* the draft's prompt batch; 0: 512 */
	enum kv_type	 kv_type;	/* the draft's cache */
};

/* The guessing so far: tokens guessed, and accepted. */
struct spec_stats {
	int64_t	 proposed;
	int64_t	 accepted;
};

/* The most guesses a pass: --draft-max's range, and its default. */
#define SPEC_MAX_DRAFT		64
#define SPEC_DEFAULT_DRAFT	8

struct spec;

/*
 * Prepares speculation for model m, whose tokenizer is tok: opens the
 * draft model when cfg names one.  Returns NULL with *cause set when the
 * draft cannot be opened, or its vocabulary is not tok's (token count or
 * any token's text), or memory runs out.
 */
struct spec *spec_new(const struct model *m, const struct tok *tok,
    const struct spec_config *cfg, char **cause);

/*
 * Whether the model files at model and draft have one vocabulary: 0 when
 * they do, 1 with *cause set ("DRAFT: the draft's vocabulary differs ...")
 * when they do not, -1 with *cause set when one cannot be read.
 */
int spec_vocab_check(const char *model, const char *draft, char **cause);

/* Frees it (and the draft); NULL is ignored. */
void spec_free(struct spec *s);

/*
 * Starts a turn: forgets the guesses pending and how many to make (back
 * to --draft-max, guessing unpaused), and takes the sampler
 * parameters the draft draws with (the target's, without the repeat
 * penalty, which the rule does not need).  Returns 0, or -1 with *cause
 * set.
 */
int spec_reset(struct spec *s, const struct sampler_params *sp,
    char **cause);

/*
 * Evaluates the last token of ctx_ids[0..n) at position n - 1 of ctx
 * (whose cache holds the n - 1 before it, and maybe guesses past them),
 * with up to room guesses of what follows, and returns the logits for
 * position n (valid until the next call), or NULL with *cause set.  When
 * that token is the guess pending spec_choose accepted, nothing is
 * evaluated: its row was computed with the guesses.
 */
const float *spec_eval(struct spec *s, struct model_ctx *ctx,
    const int32_t *ctx_ids, size_t n, int room, char **cause);

/*
 * When a guess is pending for the position logits are for, decides the
 * token there with smp (which has seen every token before it) and
 * returns 1 with it in *id; returns 0 when there is none (the caller
 * samples as usual).
 */
int spec_choose(struct spec *s, struct sampler *smp, const float *logits,
    int32_t *id);

/* The counts since spec_new. */
void spec_stats(const struct spec *s, struct spec_stats *st);

/*
 * The speculative rule for one position: p (np candidates, ids and
 * probabilities) the model's distribution, d the guess, q its draw's
 * distribution as a dense n_vocab array (NULL: q is d alone), u and
 * u_resid two uniform numbers in [0, 1).  Returns d when accepted, else
 * the draw from max(p - q, 0) normalised.  Exposed for the tests.
 */
int32_t spec_rule(const int32_t *ids, const float *probs, size_t np,
    int32_t d, const float *q, double u, double u_resid);

#endif
