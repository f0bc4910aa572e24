/*
 * moe.h - routed mixture of experts: the router (which experts each token
 * uses, and with what weight) and the expert feed-forward networks run over
 * a batch of tokens, grouped by expert so that each chosen expert's weights
 * are read once per batch and an unchosen expert's not at all.
 */
#ifndef R1_MOE_H
#define R1_MOE_H

#include <stddef.h>

#include "ops.h"

/* expert_gating_func, as GGUF numbers it */
enum moe_gating {
	MOE_GATING_SOFTMAX = 1,		/* DeepSeek-V2 */
	MOE_GATING_SIGMOID = 2		/* DeepSeek-V3, R1 */
};

struct moe_router {
	int		 n_expert;
	int		 n_used;	/* experts per token */
	int		 n_group;	/* expert groups; <= 1: none */
	int		 n_group_used;	/* groups a token may use */
	enum moe_gating	 gating;
	int		 norm;		/* chosen weights divided by their sum */
	float		 scale;		/* then multiplied by this (0: 1) */
};

/*
 * Routes one token: logits are its n_expert router outputs, bias the
 * selection bias (exp_probs_b, V3; NULL: none) which ranks the experts
 * but does not weigh them.  Groups are ranked by their best score under
 * softmax gating (V2) and by the sum of their two best under sigmoid
 * gating (V3); only the n_group_used best groups compete for the top
 * n_used.  Fills sel with the chosen experts, best first, and w with
 * their weights.  tmp holds 2 * n_expert floats.
 */
void moe_route(const struct moe_router *r, const float *logits,
    const float *bias, float *tmp, int *sel, float *w);

/* A 3-D expert tensor: n matrices of rows x cols, stride bytes apart. */
struct moe_experts {
	struct ops_mat	 m;		/* expert 0 */
	size_t		 stride;
	int		 n;
};

/* Expert e of x as a 2-D matrix. */
struct ops_mat moe_expert(const struct moe_experts *x, int e);

/* The routed experts of a layer: SwiGLU FFNs of n_ff, n_embd wide. */
struct moe_ffn {
	struct moe_experts	 gate;	/* n_embd -> n_ff, each */
	struct moe_experts	 up;
	struct moe_experts	 down;	/* n_ff -> n_embd, each */
	int			 n_embd;
	int			 n_ff;
};

/* Floats of scratch moe_ffn_forward needs for batches of n_tok. */
size_t moe_scratch_floats(const struct moe_ffn *f, int n_tok, int n_used);

/*
 * out (n_tok rows of n_embd) += the weighted sum of the chosen experts'
 * outputs for xn (n_tok rows of n_embd), token t using experts
 * sel[t * n_used ...] with weights w[t * n_used ...].  Each expert runs
 * once over all the tokens that chose it.  buf holds
 * moe_scratch_floats(f, n_tok, n_used) floats.  Returns 0, or -1 when a
 * matmul fails.
 */
int moe_ffn_forward(const struct moe_ffn *f, const float *xn, int n_tok,
    const int *sel, const float *w, int n_used, float *out, float *buf,
    struct ops_scratch *scratch);

/*
 * The shared experts of a layer, one SwiGLU FFN of n_ff that every token
 * runs (n_ff 0: none), and room for its gate and up outputs (n_ff floats
 * each).
 */
struct moe_shared {
	const struct ops_mat	*gate, *up, *down;
	int			 n_ff;
	float			*g, *u;
};

/*
 * One token's FFN: out (n_embd) = the shared experts' output for xn (sh
 * may be NULL) + the weighted sum of the chosen experts' sel[0 .. n_used)
 * with weights w (summed as moe_ffn_forward sums a batch's: the shared
 * first, then the experts by number, so that the bits are the same).  Every gate and up, the shared ones with them, run in
 * one parallel pass over xn quantized once, then every down in a second:
 * two forks a layer where running the experts one by one took three an
 * expert.  buf holds moe_scratch_floats(f, 1, n_used) floats.  Returns 0,
 * or -1 when a matmul fails.
 */
int moe_ffn_token(const struct moe_ffn *f, const struct moe_shared *sh,
    const float *xn, const int *sel, const float *w, int n_used, float *out,
    float *buf, struct ops_scratch *scratch);

#endif
