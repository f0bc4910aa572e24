/*
 * test-model.c - the model layer on micro models written here, of every
 * architecture (deepseek2 in both its attention layouts, with routed and
 * shared experts): batches, incremental decoding and rewinding give the
 * same logits as one pass; tied embeddings; the context limit; and the
 * errors for an unsupported architecture, a missing key, a missing
 * tensor, a wrong shape.  (That the numbers are llama.cpp's is engine.sh's
 * and deepseek2.sh's job.)
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "model.h"
#include "ops.h"
#include "quant.h"
#include "tap.h"
#include "util.h"

#define E	32	/* embedding */
#define NH	4	/* heads */
#define NKV	2	/* kv heads */
#define HD	8	/* head size */
#define FF	64
#define NV	50	/* vocabulary */
#define NL	2

/* deepseek2: MLA ranks and head parts, experts */
#define DS_Q_LORA	16	/* split layout only */
#define DS_KV_LORA	16
#define DS_NOPE		8
#define DS_ROPE		4
#define DS_V		8
#define DS_EXPERTS	4
#define DS_USED		2
#define DS_FF_EXP	16
#define DS_SHARED	1

struct micro {
	const char	*arch;
	const char	*arch_key;	/* general.architecture, if not arch */
	int		 tied;
	const char	*drop;		/* leave this tensor out */
	const char	*bad_shape;	/* give this one a row too many */
	const char	*drop_key;	/* leave this key suffix out */
	/*
	 * deepseek2: split writes V3's layout (q_lora, attn_k_b/attn_v_b,
	 * sigmoid routing over expert groups with exp_probs_b, YaRN), else
	 * V2-Lite's (plain attn_q, the stacked attn_kv_b, softmax routing).
	 * Layer 0 is dense, layer 1 has the experts.
	 */
	int		 split;
	/* what model_hparams says, and a cache row's floats per layer */
	int		 n_head_kv, head_dim_k, kv_width;
};

static uint64_t rng = 88172645463325252ULL;

static float
frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

static float	*bufs[256];
static int	 n_bufs;

/* A stack of n matrices (n 1: one; rows and n 1: a vector), F32. */
static void
tensor3(struct gguf_writer *w, const struct micro *mc, const char *name,
    int64_t cols, int64_t rows, int64_t n, float mean, float scale)
{
	int64_t	 ne[3] = { cols, rows, n };
	float	*d;
	int64_t	 i;

	if (mc->drop != NULL && strcmp(name, mc->drop) == 0)
		return;
	if (mc->bad_shape != NULL && strcmp(name, mc->bad_shape) == 0)
		ne[1] = ++rows;
	d = xcalloc((size_t)(cols * rows * n), sizeof *d);
	for (i = 0; i < cols * rows * n; i++)
		d[i] = mean + scale * frand();
	bufs[n_bufs++] = d;
	gguf_writer_add_tensor(w, name, 0, n > 1 ? 3 : rows == 1 ? 1 : 2, ne,
	    d);
}

static void
tensor(struct gguf_writer *w, const struct micro *mc, const char *name,
    int64_t cols, int64_t rows, float mean, float scale)
{
	tensor3(w, mc, name, cols, rows, 1, mean, scale);
}

static void
key_u32(struct gguf_writer *w, const struct micro *mc, const char *suffix,
    uint32_t v)
{
	char	*k;

	if (mc->drop_key != NULL && strcmp(suffix, mc->drop_key) == 0)
		return;
	k = xstrfmt("%s.%s", mc->arch_key ? mc->arch_key : mc->arch, suffix);
	gguf_writer_set_u32(w, k, v);
	free(k);
}

static void
key_f32(struct gguf_writer *w, const struct micro *mc, const char *suffix,
    float v)
{
	char	*k = xstrfmt("%s.%s", mc->arch_key ? mc->arch_key : mc->arch,
	    suffix);

	gguf_writer_set_f32(w, k, v);
	free(k);
}

/* deepseek2's keys past the common ones. */
static void
ds2_keys(struct gguf_writer *w, const struct micro *mc)
{
	key_u32(w, mc, "rope.dimension_count", DS_ROPE);
	key_u32(w, mc, "leading_dense_block_count", 1);
	key_u32(w, mc, "attention.kv_lora_rank", DS_KV_LORA);
	key_u32(w, mc, "expert_feed_forward_length", DS_FF_EXP);
	key_u32(w, mc, "expert_count", DS_EXPERTS);
	key_u32(w, mc, "expert_used_count", DS_USED);
	key_u32(w, mc, "expert_shared_count", DS_SHARED);
	if (!mc->split) {
		key_u32(w, mc, "attention.head_count_kv", NH);
		key_u32(w, mc, "attention.key_length", DS_NOPE + DS_ROPE);
		key_u32(w, mc, "attention.value_length", DS_V);
		return;
	}
	/* MLA as MQA: one key head of latent + rope */
	key_u32(w, mc, "attention.q_lora_rank", DS_Q_LORA);
	key_u32(w, mc, "attention.head_count_kv", 1);
	key_u32(w, mc, "attention.key_length", DS_KV_LORA + DS_ROPE);
	key_u32(w, mc, "attention.value_length", DS_KV_LORA);
	key_u32(w, mc, "attention.key_length_mla", DS_NOPE + DS_ROPE);
	key_u32(w, mc, "attention.value_length_mla", DS_V);
	key_u32(w, mc, "expert_gating_func", 2);
	key_u32(w, mc, "expert_group_count", 2);
	key_u32(w, mc, "expert_group_used_count", 1);
	key_f32(w, mc, "expert_weights_scale", 2.5f);
	gguf_writer_set_bool(w, "deepseek2.expert_weights_norm", 1);
	gguf_writer_set_str(w, "deepseek2.rope.scaling.type", "yarn");
	key_f32(w, mc, "rope.scaling.factor", 4.0f);
	key_u32(w, mc, "rope.scaling.original_context_length", 64);
	key_f32(w, mc, "rope.scaling.yarn_log_multiplier", 0.1f);
}

/* deepseek2's layer il, as llama.cpp's converter names its tensors. */
static void
ds2_layer(struct gguf_writer *w, const struct micro *mc, int il)
{
	char	n[64];
	int	dk = DS_NOPE + DS_ROPE, sh = DS_FF_EXP * DS_SHARED;

#define T(s) (snprintf(n, sizeof n, "blk.%d." s, il), n)
	tensor(w, mc, T("attn_norm.weight"), E, 1, 1, 0.1f);
	if (mc->split) {
		tensor(w, mc, T("attn_q_a.weight"), E, DS_Q_LORA, 0, 0.3f);
		tensor(w, mc, T("attn_q_a_norm.weight"), DS_Q_LORA, 1, 1,
		    0.1f);
		tensor(w, mc, T("attn_q_b.weight"), DS_Q_LORA, NH * dk, 0,
		    0.3f);
	} else
		tensor(w, mc, T("attn_q.weight"), E, NH * dk, 0, 0.3f);
	tensor(w, mc, T("attn_kv_a_mqa.weight"), E, DS_KV_LORA + DS_ROPE, 0,
	    0.3f);
	tensor(w, mc, T("attn_kv_a_norm.weight"), DS_KV_LORA, 1, 1, 0.1f);
	if (mc->split) {
		tensor3(w, mc, T("attn_k_b.weight"), DS_NOPE, DS_KV_LORA, NH,
		    0, 0.3f);
		tensor3(w, mc, T("attn_v_b.weight"), DS_KV_LORA, DS_V, NH, 0,
		    0.3f);
	} else
		tensor(w, mc, T("attn_kv_b.weight"), DS_KV_LORA,
		    NH * (DS_NOPE + DS_V), 0, 0.3f);
	tensor(w, mc, T("attn_output.weight"), NH * DS_V, E, 0, 0.3f);
	tensor(w, mc, T("ffn_norm.weight"), E, 1, 1, 0.1f);
	if (il == 0) {
		tensor(w, mc, T("ffn_gate.weight"), E, FF, 0, 0.3f);
		tensor(w, mc, T("ffn_up.weight"), E, FF, 0, 0.3f);
		tensor(w, mc, T("ffn_down.weight"), FF, E, 0, 0.2f);
		return;
	}
	/* a wide router: decisive choices, no near-ties to flip */
	tensor(w, mc, T("ffn_gate_inp.weight"), E, DS_EXPERTS, 0, 1.0f);
	if (mc->split)
		tensor(w, mc, T("exp_probs_b.bias"), DS_EXPERTS, 1, 0, 0.5f);
	tensor3(w, mc, T("ffn_gate_exps.weight"), E, DS_FF_EXP, DS_EXPERTS,
	    0, 0.3f);
	tensor3(w, mc, T("ffn_up_exps.weight"), E, DS_FF_EXP, DS_EXPERTS, 0,
	    0.3f);
	tensor3(w, mc, T("ffn_down_exps.weight"), DS_FF_EXP, E, DS_EXPERTS,
	    0, 0.3f);
	tensor(w, mc, T("ffn_gate_shexp.weight"), E, sh, 0, 0.3f);
	tensor(w, mc, T("ffn_up_shexp.weight"), E, sh, 0, 0.3f);
	tensor(w, mc, T("ffn_down_shexp.weight"), sh, E, 0, 0.3f);
#undef T
}

/* Writes a micro model; the same seed each time, so files compare. */
static void
write_micro(const char *path, const struct micro *mc)
{
	struct gguf_writer	*w = gguf_writer_new();
	char			 n[64], *cause = NULL;
	int			 il, i;

	rng = 88172645463325252ULL;
	gguf_writer_set_str(w, "general.architecture",
	    mc->arch_key ? mc->arch_key : mc->arch);
	key_u32(w, mc, "block_count", NL);
	key_u32(w, mc, "embedding_length", E);
	key_u32(w, mc, "feed_forward_length", FF);
	key_u32(w, mc, "attention.head_count", NH);
	key_u32(w, mc, "context_length", 256);
	key_f32(w, mc, "rope.freq_base", 10000.0f);
	key_f32(w, mc, "attention.layer_norm_rms_epsilon", 1e-6f);
	if (strcmp(mc->arch, "deepseek2") == 0)
		ds2_keys(w, mc);
	else {
		key_u32(w, mc, "attention.head_count_kv", NKV);
		key_u32(w, mc, "attention.key_length", HD);
		key_u32(w, mc, "attention.value_length", HD);
	}

	tensor(w, mc, "token_embd.weight", E, NV, 0, 1);
	for (il = 0; il < NL; il++) {
		if (strcmp(mc->arch, "deepseek2") == 0) {
			ds2_layer(w, mc, il);
			continue;
		}
#define T(s) (snprintf(n, sizeof n, "blk.%d." s, il), n)
		tensor(w, mc, T("attn_norm.weight"), E, 1, 1, 0.1f);
		tensor(w, mc, T("attn_q.weight"), E, NH * HD, 0, 0.3f);
		tensor(w, mc, T("attn_k.weight"), E, NKV * HD, 0, 0.3f);
		tensor(w, mc, T("attn_v.weight"), E, NKV * HD, 0, 0.3f);
		if (strcmp(mc->arch, "qwen2") == 0) {
			tensor(w, mc, T("attn_q.bias"), NH * HD, 1, 0, 0.1f);
			tensor(w, mc, T("attn_k.bias"), NKV * HD, 1, 0, 0.1f);
			tensor(w, mc, T("attn_v.bias"), NKV * HD, 1, 0, 0.1f);
		}
		if (strcmp(mc->arch, "qwen3") == 0) {
			tensor(w, mc, T("attn_q_norm.weight"), HD, 1, 1, 0.1f);
			tensor(w, mc, T("attn_k_norm.weight"), HD, 1, 1, 0.1f);
		}
		tensor(w, mc, T("attn_output.weight"), NH * HD, E, 0, 0.3f);
		tensor(w, mc, T("ffn_norm.weight"), E, 1, 1, 0.1f);
		tensor(w, mc, T("ffn_gate.weight"), E, FF, 0, 0.3f);
		tensor(w, mc, T("ffn_up.weight"), E, FF, 0, 0.3f);
		tensor(w, mc, T("ffn_down.weight"), FF, E, 0, 0.2f);
#undef T
	}
	tensor(w, mc, "output_norm.weight", E, 1, 1, 0.1f);
	if (!mc->tied) {
		/* untied but equal to the embedding: the tied model must agree */
		int64_t	ne[2] = { E, NV };

		gguf_writer_add_tensor(w, "output.weight", 0, 2, ne, bufs[0]);
	}
	if (gguf_writer_write(w, path, &cause) != 0) {
		printf("Bail out! %s: %s\n", path, cause);
		exit(1);
	}
	gguf_writer_free(w);
	for (i = 0; i < n_bufs; i++)
		free(bufs[i]);
	n_bufs = 0;
}

static float
max_diff(const float *a, const float *b, size_t n)
{
	float	d = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (fabsf(a[i] - b[i]) > d || isnan(a[i] - b[i]))
			d = isnan(a[i] - b[i]) ? INFINITY : fabsf(a[i] - b[i]);
	}
	return d;
}

/* Tries to load mc; returns the error (malloc'd) or NULL if it loaded. */
static char *
load_error(const char *path, const struct micro *mc)
{
	struct model	*m;
	char		*cause = NULL;

	write_micro(path, mc);
	if ((m = model_open_file(path, &cause)) != NULL) {
		model_free(m);
		return NULL;
	}
	return cause;
}

static struct model_ctx *
ctx(const struct model *m, int n_ctx, int n_batch, enum kv_type kt)
{
	struct model_ctx_params	 p = { .n_ctx = n_ctx, .n_batch = n_batch,
				    .kv_type = kt };
	struct model_ctx	*c;
	char			*cause = NULL;

	if ((c = model_ctx_new_ext(m, &p, &cause)) == NULL) {
		printf("Bail out! context: %s\n", cause);
		exit(1);
	}
	return c;
}

static void
test_arch(const char *path, const struct micro *preset)
{
	struct micro		 mc = *preset;
	struct model		*m, *mt;
	struct model_ctx	*c;
	char			*cause = NULL, arch[32];
	int32_t			 ids[20], alt[20];
	float			*all, *one, *tied, d;
	int			 i, b, ok_all;
	static const int	 batches[] = { 1, 7, 20 };

	snprintf(arch, sizeof arch, "%s%s", mc.arch, mc.split ? " split" :
	    strcmp(mc.arch, "deepseek2") == 0 ? " stacked" : "");
	for (i = 0; i < 20; i++) {
		ids[i] = (i * 7 + 3) % NV;
		alt[i] = i < 10 ? ids[i] : (i * 11 + 5) % NV;
	}
	write_micro(path, &mc);
	m = model_open_file(path, &cause);
	ok(m != NULL, "%s: loads (%s)", arch, m ? "ok" : cause);
	if (m == NULL)
		return;
	ok(model_hparams(m)->n_vocab == NV && model_hparams(m)->n_layer ==
	    NL && model_hparams(m)->head_dim_k == mc.head_dim_k &&
	    model_hparams(m)->n_head_kv == mc.n_head_kv,
	    "%s: hyper-parameters", arch);
	ok(strcmp(model_arch_name(m), mc.arch) == 0, "%s: architecture name",
	    arch);

	all = xcalloc(20 * NV, sizeof *all);
	one = xcalloc(20 * NV, sizeof *one);
	tied = xcalloc(20 * NV, sizeof *tied);

	/* reference: one batch of 20, every row of logits */
	c = ctx(m, 64, 20, KV_F32);
	ok(model_decode(c, ids, 20, all, &cause) == 0 && model_ctx_pos(c) ==
	    20, "%s: decodes 20 tokens", arch);
	ok(max_diff(model_logits(c), all + 19 * NV, NV) == 0,
	    "%s: model_logits is the last row", arch);
	model_ctx_free(c);

	for (b = 0; b < 3; b++) {
		c = ctx(m, 64, batches[b], KV_F32);
		ok_all = model_decode(c, ids, 20, one, &cause) == 0;
		d = max_diff(all, one, 20 * NV);
		ok(ok_all && d < 1e-4f,
		    "%s: batches of %d give the same logits (%g)", arch,
		    batches[b], (double)d);
		model_ctx_free(c);
	}

	/* token by token through model_eval, as the chat does */
	c = ctx(m, 64, 0, KV_F32);
	for (i = 0; i < 20; i++) {
		const float	*l = model_eval(c, ids + i, 1, i, &cause);

		if (l == NULL)
			break;
		memcpy(one + (size_t)i * NV, l, NV * sizeof *one);
	}
	ok(i == 20 && max_diff(all, one, 20 * NV) < 1e-4f,
	    "%s: one token at a time, the same logits", arch);

	/* rewind to 10 and decode the rest again */
	model_ctx_rewind(c, 10);
	ok(model_ctx_pos(c) == 10 && model_decode(c, ids + 10, 10, NULL,
	    &cause) == 0 && max_diff(model_logits(c), all + 19 * NV, NV) <
	    1e-4f, "%s: rewinding and decoding again, the same logits", arch);

	/* rewind to 10 and go on with other tokens: as a fresh run of them */
	model_ctx_rewind(c, 10);
	ok_all = model_ctx_pos(c) == 10 && model_decode(c, alt + 10, 10,
	    one + 10 * NV, &cause) == 0;
	model_ctx_free(c);
	c = ctx(m, 64, 20, KV_F32);
	ok_all = ok_all && model_decode(c, alt, 20, tied, &cause) == 0;
	d = max_diff(one + 10 * NV, tied + 10 * NV, 10 * NV);
	ok(ok_all && d < 1e-4f && max_diff(tied + 10 * NV, all + 10 * NV,
	    10 * NV) > 1e-2f, "%s: rewinding and decoding other tokens, as a "
	    "fresh run of them (%g)", arch, (double)d);
	model_ctx_free(c);

	/* F16 cache: close, not equal */
	c = ctx(m, 64, 8, KV_F16);
	ok_all = model_decode(c, ids, 20, one, &cause) == 0;
	d = max_diff(all, one, 20 * NV);
	ok(ok_all && d > 0 && d < 2e-2f,
	    "%s: F16 cache within 2e-2 of F32, not equal (%g)", arch,
	    (double)d);
	ok(model_ctx_kv_bytes(c) == (size_t)NL * 64 * mc.kv_width * 2,
	    "%s: F16 cache of %zu bytes", arch, model_ctx_kv_bytes(c));
	model_ctx_free(c);

	/* the context limit and bad ids: an error, nothing evaluated */
	c = ctx(m, 16, 0, KV_F16);
	ok_all = model_decode(c, ids, 17, NULL, &cause) == -1;
	ok(ok_all && strstr(cause, "do not fit the context") != NULL &&
	    model_ctx_pos(c) == 0, "%s: 17 tokens in a context of 16: %s",
	    arch, cause);
	free(cause);
	cause = NULL;
	ids[3] = NV;
	ok_all = model_decode(c, ids, 5, NULL, &cause) == -1;
	ok(ok_all && strstr(cause, "out of range") != NULL && model_ctx_pos(c) == 0,
	    "%s: an id out of range: %s", arch, cause);
	ids[3] = (3 * 7 + 3) % NV;
	free(cause);
	cause = NULL;
	model_ctx_free(c);

	/* tied embeddings: no output.weight, the same model */
	mc.tied = 1;
	write_micro(path, &mc);
	mt = model_open_file(path, &cause);
	ok(mt != NULL, "%s: tied embeddings load", arch);
	if (mt != NULL) {
		c = ctx(mt, 64, 20, KV_F32);
		ok(model_decode(c, ids, 20, tied, &cause) == 0 &&
		    max_diff(all, tied, 20 * NV) == 0,
		    "%s: tied embeddings, the same logits", arch);
		model_ctx_free(c);
		model_free(mt);
	}
	free(all);
	free(one);
	free(tied);
	model_free(m);
}

/* Every architecture and layout, and what it says of itself. */
static const struct micro archs[] = {
	{ .arch = "qwen2", .n_head_kv = NKV, .head_dim_k = HD,
	  .kv_width = 2 * NKV * HD },
	{ .arch = "llama", .n_head_kv = NKV, .head_dim_k = HD,
	  .kv_width = 2 * NKV * HD },
	{ .arch = "qwen3", .n_head_kv = NKV, .head_dim_k = HD,
	  .kv_width = 2 * NKV * HD },
	/* the latent and the rotary key: the latent is the value too */
	{ .arch = "deepseek2", .n_head_kv = NH,
	  .head_dim_k = DS_NOPE + DS_ROPE, .kv_width = DS_KV_LORA + DS_ROPE },
	{ .arch = "deepseek2", .split = 1, .n_head_kv = 1,
	  .head_dim_k = DS_KV_LORA + DS_ROPE,
	  .kv_width = DS_KV_LORA + DS_ROPE },
};

int
main(void)
{
	char		 path[] = "/tmp/test-model.XXXXXX";
	char		*cause = NULL;
	struct micro	 mc;
	size_t		 i;
	int		 fd;

	if (quant_init(&cause) != 0) {
		printf("Bail out! %s\n", cause);
		return 1;
	}
	ops_set_threads(2);
	if ((fd = mkstemp(path)) == -1) {
		printf("Bail out! mkstemp\n");
		return 1;
	}
	close(fd);

	for (i = 0; i < sizeof archs / sizeof archs[0]; i++)
		test_arch(path, &archs[i]);

	memset(&mc, 0, sizeof mc);
	mc.arch = "qwen2";
	mc.arch_key = "mamba";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "architecture mamba not supported "
	    "(supported: qwen2, llama, qwen3, deepseek2)") == 0,
	    "unsupported architecture: %s", cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "qwen3";
	mc.drop = "blk.1.attn_k_norm.weight";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause,
	    "tensor blk.1.attn_k_norm.weight: missing") == 0,
	    "missing tensor: %s", cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "qwen2";
	mc.drop = "blk.0.attn_v.bias";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "tensor blk.0.attn_v.bias: missing")
	    == 0, "qwen2 needs its biases: %s", cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "llama";
	mc.bad_shape = "blk.1.ffn_up.weight";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "tensor blk.1.ffn_up.weight: shape "
	    "[32, 65], expected [32, 64]") == 0, "wrong shape: %s", cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "deepseek2";
	mc.split = 1;
	mc.bad_shape = "blk.1.ffn_up_exps.weight";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "tensor blk.1.ffn_up_exps.weight: "
	    "shape [32, 17, 4], expected [32, 16, 4]") == 0,
	    "wrong shape of experts: %s", cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "deepseek2";
	mc.drop = "blk.0.attn_kv_b.weight";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "tensor blk.0.attn_kv_b.weight: "
	    "missing") == 0, "deepseek2 without attn_k_b needs attn_kv_b: %s",
	    cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "llama";
	mc.drop_key = "block_count";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "key llama.block_count: missing") ==
	    0, "missing key: %s", cause);
	free(cause);

	memset(&mc, 0, sizeof mc);
	mc.arch = "llama";
	mc.drop = "output_norm.weight";
	cause = load_error(path, &mc);
	ok(cause != NULL && strcmp(cause, "tensor output_norm.weight: missing")
	    == 0, "missing output norm: %s", cause);
	free(cause);

	unlink(path);
	return done_testing();
}
