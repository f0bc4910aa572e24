/*
 * cmd-perplexity.c - `r1chat perplexity MODEL -f FILE [-c 512] [-b N]
 * [-t N]`: llama-perplexity's measure, so the numbers compare.
 *
 * The whole text is tokenized once (BOS when the model adds one, special
 * tokens as text), cut into chunks of c tokens, each evaluated from an
 * empty cache with BOS first when the model adds one; the tokens of the
 * second half of each chunk are scored by the logits before them.
 * PPL = exp(mean NLL); the +/- is llama.cpp's: ppl times the standard
 * error of the NLLs, sqrt((E[nll^2] - E[nll]^2) / (count - 1)).
 */
#include "config.h"

#include <errno.h>
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
#include "tok.h"
#include "util.h"

#define PPL_DEFAULT_CTX		512
#define PPL_MAX_FILE		(256L << 20)

/* Reads the whole of path into a malloc'd buffer. */
static char *
read_file(const char *path, size_t *len, char **cause)
{
	FILE	*f;
	char	*buf = NULL, *nb;
	size_t	 cap = 0, n = 0, r;

	if ((f = fopen(path, "rb")) == NULL) {
		*cause = xstrfmt("%s", strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= (size_t)PPL_MAX_FILE) {
				*cause = xstrdup("file too large");
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				*cause = xstrdup("out of memory");
				goto fail;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		*cause = xstrfmt("%s", strerror(errno));
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

/* -log p(target) from one row of logits, as llama.cpp's log_softmax. */
static double
nll_of(const float *logits, int n_vocab, int32_t target)
{
	float	max = logits[0];
	double	sum = 0;
	int	i;

	for (i = 1; i < n_vocab; i++) {
		if (logits[i] > max)
			max = logits[i];
	}
	for (i = 0; i < n_vocab; i++)
		sum += exp((double)(logits[i] - max));
	return -((double)(logits[target] - max) - log(sum));
}

int
cmd_perplexity(struct options *o)
{
	struct model_ctx_params	 cp;
	struct gguf_file	*g = NULL;
	struct model		*m = NULL;
	struct model_ctx	*c = NULL;
	struct tok		*t = NULL;
	char			*cause = NULL, *text = NULL;
	int32_t			*ids = NULL, *chunk = NULL;
	float			*logits = NULL;
	size_t			 n_ids = 0, len;
	double			 nll = 0, nll2 = 0, v, ppl, err;
	long			 count = 0;
	int			 rc = 1, n_ctx, n_batch, n_chunks, n_vocab;
	int			 k, b, nb, i, first;

	if (o->file == NULL) {
		cmd_error("perplexity: no text given (-f FILE)");
		return 2;
	}
	cmd_engine_params(o, &cp);
	if (cp.n_ctx == 0)
		cp.n_ctx = PPL_DEFAULT_CTX;
	if (cp.n_batch == 0 || cp.n_batch > cp.n_ctx)
		cp.n_batch = cp.n_ctx;
	n_ctx = cp.n_ctx;
	n_batch = cp.n_batch;

	if ((text = read_file(o->file, &len, &cause)) == NULL) {
		cmd_error("%s: %s", o->file, cause);
		goto out;
	}
	if ((g = gguf_open(o->model, &cause)) == NULL ||
	    (t = tok_open(g, NULL, &cause)) == NULL ||
	    (m = model_load(g, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		goto out;
	}
	cmd_ctx_warn(o, model_hparams(m)->n_ctx_train);
	if ((c = model_ctx_new_ext(m, &cp, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		goto out;
	}
	if (tok_encode(t, text, len, 1, 0, &ids, &n_ids, &cause) != 0) {
		cmd_error("%s: %s", o->file, cause);
		goto out;
	}
	if (n_ids < 2 * (size_t)n_ctx) {
		cmd_error("%s: %zu tokens, need at least %d for a context of "
		    "%d", o->file, n_ids, 2 * n_ctx, n_ctx);
		goto out;
	}
	n_vocab = model_hparams(m)->n_vocab;
	n_chunks = (int)(n_ids / (size_t)n_ctx);
	chunk = malloc((size_t)n_ctx * sizeof *chunk);
	logits = malloc((size_t)n_batch * (size_t)n_vocab * sizeof *logits);
	if (chunk == NULL || logits == NULL) {
		cmd_error("perplexity: out of memory");
		goto out;
	}
	fprintf(stderr, "perplexity: %zu tokens, %d chunks of %d, batch %d, "
	    "%d threads\n", n_ids, n_chunks, n_ctx, n_batch, ops_threads());

	first = n_ctx / 2;
	for (k = 0; k < n_chunks; k++) {
		memcpy(chunk, ids + (size_t)k * n_ctx,
		    (size_t)n_ctx * sizeof *chunk);
		if (tok_add_bos(t) && tok_bos(t) >= 0)
			chunk[0] = tok_bos(t);
		model_ctx_rewind(c, 0);
		for (b = 0; b < n_ctx; b += nb) {
			nb = n_ctx - b < n_batch ? n_ctx - b : n_batch;
			if (model_decode(c, chunk + b, nb, logits,
			    &cause) != 0) {
				cmd_error("chunk %d: %s", k + 1, cause);
				goto out;
			}
			/* row i predicts token i + 1 of the chunk */
			for (i = b; i < b + nb; i++) {
				if (i < first || i >= n_ctx - 1)
					continue;
				v = nll_of(logits + (size_t)(i - b) * n_vocab,
				    n_vocab, ids[(size_t)k * n_ctx + i + 1]);
				nll += v;
				nll2 += v * v;
				count++;
			}
		}
		printf("[%d]%.4f,", k + 1, exp(nll / count));
		fflush(stdout);
	}
	printf("\n");
	nll /= count;
	nll2 /= count;
	ppl = exp(nll);
	nll2 -= nll * nll;
	if (nll2 > 0 && count > 1) {
		err = sqrt(nll2 / (count - 1)) * ppl;
		printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
	} else
		printf("Final estimate: PPL = %.4f\n", ppl);
	rc = 0;
out:
	free(cause);
	free(text);
	free(ids);
	free(chunk);
	free(logits);
	model_ctx_free(c);
	model_free(m);
	tok_free(t);
	gguf_close(g);
	return rc;
}
