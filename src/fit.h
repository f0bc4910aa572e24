/*
 * fit.h - whether a model fits this machine and how fast it will
 * generate: an estimate, said as one (`r1chat show`).
 *
 * Generation reads every weight a token uses once per token (the routed
 * experts a token chooses, for a mixture), so its rate is about the
 * machine's read bandwidth, times what share of it the kernels reach,
 * over the bytes read per token.
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
	uint64_t	ram;		/* the memory there is; 0: unknown */
	double		bandwidth;	/* bytes/s read, measured; 0: unknown */
	double		tps;		/* tokens/s expected; 0: unknown */
};

/*
 * The share of the read bandwidth generation reaches: tg32 of `r1chat
 * bench` over the probe's estimate at 1.0 gave 0.28 to 1.0 on the 1.5B
 * Q4_K_M and Q8_0 and the V3-shaped MoE bench models (Zen 3, 2 threads,
 * a loaded machine); 0.45 sits among them.
 */
#define FIT_EFFICIENCY	0.45

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
