/*
 * cmd-raw.c - `r1chat --raw MODEL [PROMPT] [-n 32] [--temp T] ...`: a plain
 * completion for scripts and tests.  PROMPT (without it, stdin less the
 * newlines it ends with) goes in as it is (special tokens parsed, BOS
 * when the model adds one, no template) and the continuation streams to
 * stdout, until -n tokens, an end-of-generation token or a full context.
 * --ids prints the generated ids instead, one line, for tests.  --verbose
 * then prints ollama's timing summary on stderr, as the one-shot chat
 * does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "duration.h"
#include "gguf.h"
#include "kv.h"
#include "model.h"
#include "ops.h"
#include "options.h"
#include "params.h"
#include "sampler.h"
#include "tok.h"
#include "util.h"

#define RAW_DEFAULT_PREDICT 32

void
cmd_engine_params(const struct options *o, struct model_ctx_params *p)
{
	memset(p, 0, sizeof *p);
	p->kv_type = KV_F16;
	/* options_check let only the names kv_type_parse knows through */
	if (o->kv_type != NULL)
		(void)kv_type_parse(o->kv_type, &p->kv_type);
	/* the engine's context, not the chat's: 0 is the model's default */
	p->n_ctx = OPT_OR(o->params.num_ctx, 0);
	p->n_batch = OPT_OR(o->batch, 0);
	if (o->threads != OPT_UNSET)
		ops_set_threads(o->threads);
}

int
cmd_raw(struct options *o)
{
	struct model_ctx_params	 cp;
	struct chat_params	 p;
	struct sampler_params	 sp;
	struct gguf_file	*g = NULL;
	struct model		*m = NULL;
	struct model_ctx	*c = NULL;
	struct tok		*t = NULL;
	struct tok_stream	*ts = NULL;
	struct sampler		*s = NULL;
	struct duration_stats	 d;
	char			*cause = NULL, *prompt = NULL;
	const char		*out;
	int32_t			*ids = NULL, id;
	size_t			 n_ids = 0, len;
	int64_t			 t0 = util_now_ns(), tp, te;
	int			 rc = 1, n_predict, i;

	if (o->model == NULL) {
		cmd_error("--raw: no model given");
		return 2;
	}
	cmd_engine_params(o, &cp);
	/* the chat parameters --raw takes: the sampler's, and -n */
	chat_params_default(&p);
	p.num_predict = RAW_DEFAULT_PREDICT;
	params_merge(&p, &o->params);
	/* no PROMPT: stdin, as llama-cli reads a piped prompt */
	if (cmd_text(o, "prompt", o->n_args == 0 ? CMD_TEXT_STDIN |
	    CMD_TEXT_TRIM : 0, &prompt, &len, &cause) != 0) {
		cmd_error("--raw: %s", cause);
		goto out;
	}
	if (len == 0) {
		cmd_error("--raw: no prompt given");
		rc = 2;
		goto out;
	}
	n_predict = p.num_predict;

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
	params_sampler(&p, model_ctx_n_ctx(c), &sp);
	if ((s = sampler_new(model_hparams(m)->n_vocab, &sp, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		goto out;
	}
	memset(&d, 0, sizeof d);
	d.load_ns = util_now_ns() - t0;
	if (o->verbose)
		cmd_kernels_say();
	if (tok_encode(t, prompt, len, 1, 1, &ids, &n_ids, &cause) != 0) {
		cmd_error("prompt: %s", cause);
		goto out;
	}
	if (n_ids == 0) {
		cmd_error("prompt: no tokens");
		goto out;
	}
	if (n_ids > (size_t)model_ctx_n_ctx(c)) {
		cmd_error("prompt: %zu tokens, longer than the context (%d)",
		    n_ids, model_ctx_n_ctx(c));
		goto out;
	}
	for (i = 0; i < (int)n_ids; i++)
		sampler_accept(s, ids[i]);
	tp = util_now_ns();
	if (model_decode(c, ids, (int)n_ids, NULL, &cause) != 0) {
		cmd_error("prompt: %s", cause);
		goto out;
	}
	d.prompt_eval_count = (int64_t)n_ids;
	te = util_now_ns();
	d.prompt_eval_ns = te - tp;
	ts = tok_stream_new(t);
	for (i = 0; n_predict < 0 || i < n_predict; i++) {
		id = sampler_sample(s, model_logits(c));
		sampler_accept(s, id);
		if (tok_is_eog(t, id))
			break;
		d.eval_count++;
		if (o->ids)
			printf("%s%d", i > 0 ? " " : "", id);
		else {
			out = tok_stream_push(ts, id, &len);
			fwrite(out, 1, len, stdout);
		}
		fflush(stdout);
		if (model_ctx_pos(c) >= model_ctx_n_ctx(c))
			break;		/* the context is full */
		if (model_decode(c, &id, 1, NULL, &cause) != 0) {
			cmd_error("%s", cause);
			goto out;
		}
	}
	out = tok_stream_flush(ts, &len);
	fwrite(out, 1, len, stdout);
	fputc('\n', stdout);
	rc = 0;
	if (o->verbose) {
		int64_t	now = util_now_ns();

		d.eval_ns = now - te;
		d.total_ns = now - t0;
		fflush(stdout);
		if (duration_summary_print(&d, stderr) != 0)
			rc = 1;
	}
out:
	free(cause);
	free(prompt);
	free(ids);
	tok_stream_free(ts);
	sampler_free(s);
	model_ctx_free(c);
	model_free(m);
	tok_free(t);
	gguf_close(g);
	return rc;
}
