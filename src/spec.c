/*
 * spec.c - speculative decoding: the guesses (n-gram lookup in the
 * context, a draft model), their batch through the model, and the rule
 * that keeps the tokens distributed as the model's own.
 *
 * With both sources, the lookup is asked first (it costs nothing) and the
 * draft model only when the context has no match.  The number of guesses
 * adapts: it doubles after a pass whose guesses were all taken, and falls
 * to one more than were taken after a rejection; after passes whose one
 * guess failed, guessing pauses for a number of tokens that doubles each
 * time (up to PAUSE_MAX), so guesses that are always wrong cost little.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "model.h"
#include "sampler.h"
#include "spec.h"
#include "tok.h"
#include "util.h"

#define DEFAULT_BATCH	512
#define PAUSE_MAX	64
#define DRAFT_SEED_XOR	0x9e3779b97f4a7c15ULL

/* The n-grams looked up, longest first. */
#define LOOKUP_MAX_N	4
#define LOOKUP_MIN_N	2

struct spec {
	int		 lookup;
	int		 max;		/* --draft-max */
	int		 cur;		/* guesses of the next pass */
	int		 pause;		/* tokens left without guessing */
	int		 pause_len;	/* the next pause's */
	size_t		 nv;

	/* the draft model, its context and the tokens its cache holds */
	struct gguf_file *dg;
	struct model	*dm;
	struct model_ctx *dctx;
	struct sampler	*dsmp;
	int		 n_batch;
	enum kv_type	 kv_type;
	int32_t		*dids;
	size_t		 dn;
	size_t		 dcap;

	/* the pass pending: guesses, their q (NULL: the guess alone) and the
	 * model's rows of logits after [token, guesses...] */
	int32_t		*batch;		/* max + 1 */
	int32_t		*guess;		/* batch + 1 */
	float		**q;		/* max rows pointing into qmem */
	float		*qmem;		/* max * nv */
	int		*q_drawn;	/* 1: q[j] is the draft's */
	float		*rows;		/* (max + 1) * nv */
	int		 n_guess;
	int		 next;		/* the guess spec_choose decides */
	size_t		 base;		/* position of batch[0] */

	struct spec_stats st;
};

/* NULL, or the reason the draft's vocabulary is not tok's. */
static char *
vocab_differs(const struct tok *tok, const struct tok *dtok)
{
	int32_t	i, n = tok_n_vocab(tok);

	if (tok_n_vocab(dtok) != n)
		return xstrfmt("the draft's vocabulary differs from the "
		    "model's (%d tokens, not %d)", (int)tok_n_vocab(dtok),
		    (int)n);
	for (i = 0; i < n; i++) {
		if (strcmp(tok_text(tok, i), tok_text(dtok, i)) != 0)
			return xstrfmt("the draft's vocabulary differs from "
			    "the model's (token %d)", (int)i);
	}
	return NULL;
}

int
spec_vocab_check(const char *model, const char *draft, char **cause)
{
	struct gguf_file	*g[2] = { NULL, NULL };
	struct tok		*t[2] = { NULL, NULL };
	const char		*path[2] = { model, draft };
	char			*why = NULL;
	int			 i, rc = -1;

	for (i = 0; i < 2; i++) {
		if ((g[i] = gguf_open(path[i], &why)) == NULL ||
		    (t[i] = tok_open(g[i], NULL, &why)) == NULL) {
			*cause = xstrfmt("%s: %s", path[i], why);
			goto out;
		}
	}
	if ((why = vocab_differs(t[0], t[1])) != NULL)
		*cause = xstrfmt("%s: %s", draft, why);
	rc = why != NULL;
out:
	free(why);
	for (i = 0; i < 2; i++) {
		tok_free(t[i]);
		gguf_close(g[i]);
	}
	return rc;
}

/* Opens the draft model at path, refusing another vocabulary. */
static int
draft_open(struct spec *s, const struct model *m, const struct tok *tok,
    const char *path, char **cause)
{
	struct sampler_params	 sp = { .temp = 0.0f, .repeat_penalty = 1.0f };
	struct tok		*dtok;
	char			*why;

	if ((s->dg = gguf_open(path, cause)) == NULL)
		return -1;
	if ((dtok = tok_open(s->dg, NULL, cause)) == NULL)
		return -1;
	why = vocab_differs(tok, dtok);
	tok_free(dtok);
	if (why == NULL && (s->dm = model_load(s->dg, cause)) == NULL)
		return -1;
	if (why == NULL && model_hparams(s->dm)->n_vocab !=
	    model_hparams(m)->n_vocab)
		why = xstrfmt("the draft's vocabulary differs from the "
		    "model's (%d rows of embeddings, not %d)",
		    model_hparams(s->dm)->n_vocab, model_hparams(m)->n_vocab);
	if (why != NULL) {
		*cause = xstrfmt("%s: %s", path, why);
		free(why);
		return -1;
	}
	if ((s->dsmp = sampler_new((int32_t)s->nv, &sp, cause)) == NULL)
		return -1;
	return 0;
}

struct spec *
spec_new(const struct model *m, const struct tok *tok,
    const struct spec_config *cfg, char **cause)
{
	struct spec	*s;
	int		 j;

	s = xcalloc(1, sizeof *s);
	s->lookup = cfg->lookup;
	s->max = cfg->draft_max > 0 ? cfg->draft_max : SPEC_DEFAULT_DRAFT;
	if (s->max > SPEC_MAX_DRAFT)
		s->max = SPEC_MAX_DRAFT;
	s->cur = s->max;
	s->pause_len = 1;
	s->nv = (size_t)model_hparams(m)->n_vocab;
	s->n_batch = cfg->n_batch > 0 ? cfg->n_batch : DEFAULT_BATCH;
	s->kv_type = cfg->kv_type;
	if (cfg->draft_path != NULL && draft_open(s, m, tok, cfg->draft_path,
	    cause) != 0)
		goto fail;
	s->batch = xreallocarray(NULL, (size_t)s->max + 1, sizeof *s->batch);
	s->guess = s->batch + 1;
	s->q = xcalloc((size_t)s->max, sizeof *s->q);
	s->q_drawn = xcalloc((size_t)s->max, sizeof *s->q_drawn);
	s->rows = malloc(((size_t)s->max + 1) * s->nv * sizeof *s->rows);
	if (s->dm != NULL)
		s->qmem = malloc((size_t)s->max * s->nv * sizeof *s->qmem);
	if (s->rows == NULL || (s->dm != NULL && s->qmem == NULL)) {
		*cause = xstrdup("out of memory");
		goto fail;
	}
	for (j = 0; s->qmem != NULL && j < s->max; j++)
		s->q[j] = s->qmem + (size_t)j * s->nv;
	return s;
fail:
	spec_free(s);
	return NULL;
}

void
spec_free(struct spec *s)
{
	if (s == NULL)
		return;
	model_ctx_free(s->dctx);
	model_free(s->dm);
	gguf_close(s->dg);
	sampler_free(s->dsmp);
	free(s->dids);
	free(s->batch);
	free(s->q);
	free(s->qmem);
	free(s->q_drawn);
	free(s->rows);
	free(s);
}

int
spec_reset(struct spec *s, const struct sampler_params *sp, char **cause)
{
	struct sampler_params	dp = *sp;

	s->n_guess = s->next = 0;
	s->cur = s->max;
	s->pause = 0;
	s->pause_len = 1;
	if (s->dsmp == NULL)
		return 0;
	dp.repeat_penalty = 1.0f;
	dp.repeat_last_n = 0;
	/* the rule needs the draft's draws apart from the acceptance's */
	dp.seed = sp->seed ^ DRAFT_SEED_XOR;
	if (sampler_set_params(s->dsmp, &dp, cause) != 0)
		return -1;
	sampler_reset(s->dsmp);
	return 0;
}

void
spec_stats(const struct spec *s, struct spec_stats *st)
{
	*st = s->st;
}

/*
 * Copies to s->guess up to max tokens that followed the latest earlier
 * occurrence of the context's last n-gram, the longest that has one.
 */
static int
lookup_propose(struct spec *s, const int32_t *ids, size_t n, int max)
{
	size_t	len, at, i;
	int	k;

	for (len = LOOKUP_MAX_N; len >= LOOKUP_MIN_N; len--) {
		if (n <= len)
			continue;
		for (at = n - len; at-- > 0;) {
			for (i = 0; i < len && ids[at + i] == ids[n - len + i];
			    i++)
				;
			if (i < len)
				continue;
			for (k = 0; k < max && at + len + (size_t)k < n; k++) {
				s->guess[k] = ids[at + len + (size_t)k];
				s->q_drawn[k] = 0;
			}
			return k;
		}
	}
	return 0;
}

/* A draw from the n candidates' probabilities with uniform u. */
static int32_t
draw(const int32_t *ids, const float *probs, size_t n, double u)
{
	double	acc = 0.0;
	size_t	i;

	for (i = 0; i < n; i++) {
		acc += probs[i];
		if (u < acc)
			return ids[i];
	}
	return ids[n - 1];
}

/* The draft's context holds ctx_ids[0..n) then; its logits after them. */
static const float *
draft_catch_up(struct spec *s, const int32_t *ids, size_t n, int n_ctx,
    char **cause)
{
	struct model_ctx_params	 cp = { .n_batch = s->n_batch,
				     .kv_type = s->kv_type };
	const float		*logits;
	size_t			 k;

	if (s->dctx == NULL || model_ctx_n_ctx(s->dctx) < n_ctx) {
		model_ctx_free(s->dctx);
		cp.n_ctx = n_ctx;
		if ((s->dctx = model_ctx_new_ext(s->dm, &cp, cause)) == NULL)
			return NULL;
		s->dn = 0;
	}
	for (k = 0; k < s->dn && k < n && s->dids[k] == ids[k]; k++)
		;
	if (k == n)
		k--;
	if (n + (size_t)s->max > s->dcap) {
		s->dcap = n + (size_t)s->max + 1024;
		s->dids = xreallocarray(s->dids, s->dcap, sizeof *s->dids);
	}
	memcpy(s->dids + k, ids + k, (n - k) * sizeof *ids);
	s->dn = k;
	if ((logits = model_eval(s->dctx, ids + k, (int)(n - k), (int)k,
	    cause)) != NULL)
		s->dn = n;
	return logits;
}

/* Draws up to max guesses from the draft model, keeping each one's q. */
static int
draft_propose(struct spec *s, const int32_t *ids, size_t n, int max,
    int n_ctx, char **cause)
{
	const int32_t	*cid;
	const float	*logits, *cp;
	size_t		 nc, i;
	int		 j;

	if ((logits = draft_catch_up(s, ids, n, n_ctx, cause)) == NULL)
		return -1;
	for (j = 0; j < max; j++) {
		nc = sampler_dist(s->dsmp, logits, &cid, &cp);
		memset(s->q[j], 0, s->nv * sizeof *s->q[j]);
		for (i = 0; i < nc; i++)
			s->q[j][cid[i]] = cp[i];
		s->q_drawn[j] = 1;
		s->guess[j] = draw(cid, cp, nc, sampler_uniform(s->dsmp));
		if (j + 1 == max)
			break;
		logits = model_eval(s->dctx, &s->guess[j], 1, (int)(n + j),
		    cause);
		if (logits == NULL)
			return -1;
		s->dids[s->dn++] = s->guess[j];
	}
	return max;
}

/* After a pass with `taken` of its guesses accepted: the next length. */
static void
adapt(struct spec *s, int taken)
{
	if (taken == s->n_guess) {
		s->cur = s->cur * 2 < s->max ? s->cur * 2 : s->max;
		s->pause_len = 1;
		return;
	}
	if (taken == 0 && s->n_guess == 1) {
		s->pause = s->pause_len;
		if (s->pause_len < PAUSE_MAX)
			s->pause_len *= 2;
	} else if (taken > 0)
		s->pause_len = 1;
	s->cur = taken + 1;
}

const float *
spec_eval(struct spec *s, struct model_ctx *ctx, const int32_t *ids,
    size_t n, int room, char **cause)
{
	size_t	pos = n - 1;
	int	k = 0, max = room < s->cur ? room : s->cur;

	if (s->next < s->n_guess) {
		if (s->guess[s->next] == ids[pos] &&
		    pos == s->base + 1 + (size_t)s->next) {
			s->st.accepted++;
			if (++s->next == s->n_guess)
				adapt(s, s->n_guess);
			return s->rows + (size_t)s->next * s->nv;
		}
		adapt(s, s->next);
	}
	s->n_guess = s->next = 0;
	if (s->pause > 0)
		s->pause--;
	else if (max > 0) {
		if (s->lookup)
			k = lookup_propose(s, ids, n, max);
		if (k == 0 && s->dm != NULL && (k = draft_propose(s, ids, n,
		    max, model_ctx_n_ctx(ctx), cause)) < 0)
			return NULL;
	}
	if (k == 0)
		return model_eval(ctx, ids + pos, 1, (int)pos, cause);
	s->batch[0] = ids[pos];
	model_ctx_rewind(ctx, (int)pos);
	if (model_ctx_pos(ctx) != (int)pos) {
		*cause = xstrfmt("position %zu is past the cache (%d)", pos,
		    model_ctx_pos(ctx));
		return NULL;
	}
	if (model_decode(ctx, s->batch, k + 1, s->rows, cause) != 0)
		return NULL;
	s->base = pos;
	s->n_guess = k;
	s->st.proposed += k;
	return s->rows;
}

/* The weight of candidate i in max(p - q, 0), q NULL: the guess d alone. */
static double
residual(const int32_t *ids, const float *probs, size_t i, int32_t d,
    const float *q)
{
	double	w = probs[i] - (q != NULL ? q[ids[i]] : ids[i] == d);

	return w > 0.0 ? w : 0.0;
}

int32_t
spec_rule(const int32_t *ids, const float *probs, size_t np, int32_t d,
    const float *q, double u, double u_resid)
{
	double	pd = 0.0, qd = q != NULL ? q[d] : 1.0, sum = 0.0, acc = 0.0;
	size_t	i, last = 0;

	for (i = 0; i < np; i++) {
		if (ids[i] == d)
			pd = probs[i];
	}
	if (pd >= qd || u * qd < pd)
		return d;
	for (i = 0; i < np; i++)
		sum += residual(ids, probs, i, d, q);
	/* p == q but for rounding: the rejection had no chance */
	if (sum <= 0.0)
		return draw(ids, probs, np, u_resid);
	u_resid *= sum;
	for (i = 0; i < np; i++) {
		if (residual(ids, probs, i, d, q) <= 0.0)
			continue;
		acc += residual(ids, probs, i, d, q);
		last = i;
		if (u_resid < acc)
			break;
	}
	return ids[last];
}

int
spec_choose(struct spec *s, struct sampler *smp, const float *logits,
    int32_t *id)
{
	const int32_t	*ids;
	const float	*probs;
	size_t		 np;
	double		 u, u_resid;
	int		 j = s->next;

	if (j >= s->n_guess)
		return 0;
	np = sampler_dist(smp, logits, &ids, &probs);
	u = sampler_uniform(smp);
	u_resid = sampler_uniform(smp);
	*id = spec_rule(ids, probs, np, s->guess[j], s->q_drawn[j] ?
	    s->q[j] : NULL, u, u_resid);
	return 1;
}
