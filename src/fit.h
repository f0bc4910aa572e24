/*
 * fit.h - whether a model fits this machine and how fast it will
 * generate: an estimate, said as one (`r1chat show`).
 *
 * Generation reads every weight a token uses once per token (the routed
 * experts a token chooses, for a mixture), so its rate is about the
 * speed weights go through, times what share of it generation reaches,
 * over the bytes read per token.  That speed is the machine's read
 * bandwidth, or what the threads' dots get through when they are slower
 * (few cores on a fast bus: compute-bound).
 */
#ifndef R1_FIT_H
#define R1_FIT_H

#include <stdint.h>

struct gguf_file;

struct fit {
	int		n_ctx;		/* the context sized */
	uint64_t	dense;		/* bytes every token reads (residency) */
	uint64_t	experts;	/* bytes of routed experts */
	uint64_t	kv;		/* the cache for n_ctx tokens (F16) */
	uint64_t	per_token;	/* bytes a generated token reads */
	uint64_t	expert_token;	/* of which routed experts' */
	uint64_t	ram;		/* the memory there is; 0: unknown */
	double		bandwidth;	/* bytes/s read, measured; 0: unknown */
	double		compute;	/* bytes/s the threads' dots take; 0 */
	double		speed;		/* the weights' bytes/s in generation */
	double		tps;		/* tokens/s expected; 0: unknown */
};

/*
 * The shares generation reaches of the read bandwidth (memory-bound) and
 * of the dots' speed from the caches (compute-bound): speed is the
 * smaller of the two products; the routed experts (small matrices, a
 * pass each) go at FIT_EXPERTS of it.  Set from `r1chat bench -t 2`'s
 * tg32 on the 1.5B Q4_K_M, Q8_0, Q4_0 and IQ2_XXS and the V3-shaped MoE
 * bench models, each against a fresh probe, two rounds on a quiet Zen 3
 * (2026-12-08): with these the estimates were -12 % to +22 % of the
 * measure, but IQ2_XXS's second (+34 %: its bench moved from 13.3 to 8.3
 * tokens/s between the rounds).
 */
#define FIT_EFFICIENCY		0.9
#define FIT_EFFICIENCY_DOTS	0.75
#define FIT_EXPERTS		0.6

/*
 * Estimates for model file g with a context of n_ctx tokens (<= 0: the
 * model's default).  The bandwidth comes from fit_bandwidth.  Returns 0,
 * or -1 with *cause set when r1chat cannot bind the model.
 */
int fit_estimate(const struct gguf_file *g, int n_ctx, struct fit *f,
    char **cause);

/*
 * The machine's read bandwidth in bytes/s, from all threads: measured
 * once a boot (a fraction of a second) and kept in
 * $XDG_CACHE_HOME/r1chat/bandwidth (~/.cache without it) with the boot's
 * id.  0 when it cannot be measured.
 */
double fit_bandwidth(void);

#endif
