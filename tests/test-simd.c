/*
 * test-simd.c - every SIMD kernel against the scalar reference, on each
 * kernel path this CPU can run: every path 0 .. QUANT_ISA_COUNT - 1, and
 * on each, every type of the traits table and every function of its
 * row that differs from the scalar path's (a kernel a path installs is
 * tested without being listed here).  Each path's line in the log says
 * whether it ran ("# kernel path: NAME ran") or this CPU lacks it.
 *
 * vec_dot: the integer part of each block is exact in both, so they may
 * differ only by the order of the float additions.  Two measures:
 *  - weights and activations correlated (y = w + noise), so the dot is far
 *    from zero: |simd - ref| <= 1e-5 * |ref|;
 *  - independent random rows and random block bytes (every bit pattern
 *    of the weights), where the dot may cancel to near zero: the error is
 *    bounded by 1e-5 * sum |w_i * y_i|, the scale of float rounding in
 *    any summation order.
 * Activation quantizers must give the reference's bytes exactly: the
 * SIMD code rounds as the reference does (half away from zero for
 * Q8_0/Q8_1, to nearest even for Q8_K), so no tolerance is needed.
 * The prompt tiles (quant_gemm) and panels are checked through
 * ops_matmul in test-ops, for every type that has them; here, that no
 * path loses a kernel its parent had.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-path.h"
#include "quant-impl.h"
#include "tap.h"

#define N	4096
#define SEEDS	40

static uint64_t	rng_state;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static float
uniform(void)
{
	return (rng() + 0.5f) / 4294967296.0f;
}

static float
gauss(void)
{
	return sqrtf(-2.0f * logf(uniform())) * cosf(6.2831853f * uniform());
}

static struct quant_traits	scalar[GGML_TYPE_COUNT];

/*
 * Where a block keeps its F16 scales: random bytes there could be NaN.
 * A type not listed has each block drawn again until its values are
 * finite and at most 1 in size (random_blocks).
 */
struct half_fields {
	size_t	off[2];
	int	n;
};
static const struct half_fields half_fields[GGML_TYPE_COUNT] = {
	[GGML_TYPE_Q4_0] = { { 0 }, 1 },
	[GGML_TYPE_Q4_1] = { { 0, 2 }, 2 },
	[GGML_TYPE_Q5_0] = { { 0 }, 1 },
	[GGML_TYPE_Q5_1] = { { 0, 2 }, 2 },
	[GGML_TYPE_Q8_0] = { { 0 }, 1 },
	[GGML_TYPE_Q2_K] = { { 80, 82 }, 2 },
	[GGML_TYPE_Q3_K] = { { 108 }, 1 },
	[GGML_TYPE_Q4_K] = { { 0, 2 }, 2 },
	[GGML_TYPE_Q5_K] = { { 0, 2 }, 2 },
	[GGML_TYPE_Q6_K] = { { 208 }, 1 },
};

/* Whether the block at p of type t has finite values at most 1 in size. */
static int
sane_block(enum ggml_type t, const uint8_t *p)
{
	float	v[QK_K];
	int	k;

	scalar[t].to_float(p, v, scalar[t].blck);
	for (k = 0; k < scalar[t].blck; k++) {
		if (!(fabsf(v[k]) <= 1.0f))
			return 0;
	}
	return 1;
}

/* A row of n weights of type t as random bytes with sane F16 scales. */
static void
random_blocks(enum ggml_type t, void *row, int n)
{
	const struct quant_traits	*tr = &scalar[t];
	const struct half_fields	*hf = &half_fields[t];
	uint8_t				*p = row;
	size_t				 i, nbytes;
	int				 b, k;
	ggml_half			 h;

	_Static_assert(QK_K >= QK8_0, "sane_block: a block in QK_K");

	nbytes = (size_t)(n / tr->blck) * tr->size;
	for (i = 0; i < nbytes; i++)
		p[i] = (uint8_t)rng();
	if (t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_BF16) {
		/* Random bits are mostly NaN-free but huge: use values. */
		for (k = 0; k < n; k++) {
			float	v = gauss();

			if (t == GGML_TYPE_F32)
				memcpy(p + 4 * k, &v, 4);
			else if (t == GGML_TYPE_F16) {
				h = quant_f2h(v);
				memcpy(p + 2 * k, &h, 2);
			} else {
				h = quant_f2bf(v);
				memcpy(p + 2 * k, &h, 2);
			}
		}
		return;
	}
	for (b = 0; b < n / tr->blck; b++) {
		for (k = 0; k < hf->n; k++) {
			h = quant_f2h((uniform() * 2 - 1) * 0.01f);
			memcpy(p + (size_t)b * tr->size + hf->off[k], &h, 2);
		}
		while (hf->n == 0 && !sane_block(t, p + (size_t)b * tr->size))
			for (i = 0; i < tr->size; i++)
				p[(size_t)b * tr->size + i] = (uint8_t)rng();
	}
}

/* sum |w_i * y_i| in double, from the dequantized rows. */
static double
abs_dot(enum ggml_type wt, const void *w, enum ggml_type at, const void *a,
    int n, float *fw, float *fa)
{
	double	s = 0;
	int	i;

	scalar[wt].to_float(w, fw, n);
	scalar[at].to_float(a, fa, n);
	for (i = 0; i < n; i++)
		s += fabs((double)fw[i] * fa[i]);
	return s;
}

static int
check_dots(const char *isa, const struct quant_traits *fast,
    enum ggml_type t, int n)
{
	enum ggml_type	 at = scalar[t].vec_dot_type;
	size_t		 wsize = (size_t)(n / scalar[t].blck) * scalar[t].size;
	size_t		 asize = (size_t)(n / scalar[at].blck) *
			    scalar[at].size;
	float		*x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	float		*fw = malloc(n * sizeof *fw), *fa = malloc(n * sizeof *fa);
	void		*w = malloc(wsize), *a = malloc(asize);
	double		 worst_corr = 0, worst_rand = 0, e;
	float		 sr, sf;
	int		 seed, i, ok_corr = 1, ok_rand = 1;

	for (seed = 0; seed < SEEDS; seed++) {
		rng_state = 0x9e3779b97f4a7c15ULL * (seed + 1) + t;

		/* Correlated: a well-conditioned dot. */
		for (i = 0; i < n; i++) {
			x[i] = gauss() * (1 + (i % 97) * 0.02f);
			y[i] = x[i] + 0.5f * gauss();
		}
		if (scalar[t].from_float_ref != NULL)
			scalar[t].from_float_ref(x, w, n);
		else {
			/* no quantizer: the activations follow the weights */
			random_blocks(t, w, n);
			scalar[t].to_float(w, x, n);
			for (i = 0; i < n; i++)
				y[i] = x[i] + 0.5f * gauss() * fabsf(x[i]);
		}
		scalar[at].from_float_ref(y, a, n);
		scalar[t].vec_dot(n, &sr, w, a);
		fast[t].vec_dot(n, &sf, w, a);
		e = fabs((double)sf - sr) / fabs((double)sr);
		if (!(e <= 1e-5))
			ok_corr = 0;
		if (e > worst_corr || e != e)
			worst_corr = e;

		/* Independent, and random block bytes. */
		for (i = 0; i < n; i++)
			y[i] = gauss() * 3;
		random_blocks(t, w, n);
		scalar[at].from_float_ref(y, a, n);
		scalar[t].vec_dot(n, &sr, w, a);
		fast[t].vec_dot(n, &sf, w, a);
		e = fabs((double)sf - sr) / abs_dot(t, w, at, a, n, fw, fa);
		if (!(e <= 1e-5))
			ok_rand = 0;
		if (e > worst_rand || e != e)
			worst_rand = e;
	}
	ok(ok_corr, "%s %s vec_dot n=%d correlated rows: max rel err %.3g "
	    "<= 1e-5", isa, scalar[t].name, n, worst_corr);
	ok(ok_rand, "%s %s vec_dot n=%d random rows and blocks: max err "
	    "%.3g of sum|w*y| <= 1e-5", isa, scalar[t].name, n, worst_rand);
	free(x);
	free(y);
	free(fw);
	free(fa);
	free(w);
	free(a);
	return ok_corr && ok_rand;
}

/*
 * Each of the 4 results of a table's multi-row dot has the bits of the
 * table's single-row dot (ops batches tokens on that promise); returns
 * how many types have one.
 */
static int
check_x4(const char *isa, const struct quant_traits *fast)
{
	enum ggml_type		 at;
	float			*x = malloc(N * sizeof *x), s4[4], s1;
	void			*w, *a;
	size_t			 as;
	int			 t, seed, k, i, same, tested = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (fast[t].vec_dot_x4 == NULL)
			continue;
		tested++;
		at = scalar[t].vec_dot_type;
		as = (size_t)(N / scalar[at].blck) * scalar[at].size;
		w = malloc((size_t)(N / scalar[t].blck) * scalar[t].size);
		a = malloc(4 * as);
		same = 1;
		for (seed = 0; seed < SEEDS && same; seed++) {
			rng_state = 0x5851f42d4c957f2dULL * (seed + 1) + t;
			random_blocks(t, w, N);
			for (k = 0; k < 4; k++) {
				for (i = 0; i < N; i++)
					x[i] = gauss();
				scalar[at].from_float_ref(x,
				    (char *)a + k * as, N);
			}
			fast[t].vec_dot_x4(N, s4, w, a, as);
			for (k = 0; k < 4; k++) {
				fast[t].vec_dot(N, &s1, w, (char *)a + k * as);
				if (memcmp(&s1, &s4[k], sizeof s1) != 0)
					same = 0;
			}
		}
		ok(same, "%s %s 4-row dot: the single-row dot's bits", isa,
		    scalar[t].name);
		free(w);
		free(a);
	}
	free(x);
	return tested;
}

/*
 * Each result of a table's several-row dot (one token against
 * QUANT_DOT_ROWS weight rows) has the bits of the single-row dot; returns
 * how many types have one.
 */
static int
check_rows(const char *isa, const struct quant_traits *fast)
{
	enum ggml_type		 at;
	float			*x = malloc((N + 256) * sizeof *x);
	float			 s[QUANT_DOT_ROWS], s1;
	char			*w;
	void			*a;
	size_t			 ws;
	int			 t, seed, k, n, len, same, tested = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (fast[t].vec_dot_rows == NULL)
			continue;
		tested++;
		at = scalar[t].vec_dot_type;
		/* an even and an odd number of blocks */
		for (len = 0; len < 2; len++) {
			n = N + len * scalar[t].blck;
			ws = (size_t)(n / scalar[t].blck) * scalar[t].size;
			w = malloc(QUANT_DOT_ROWS * ws);
			a = malloc((size_t)(n / scalar[at].blck) *
			    scalar[at].size);
			same = 1;
			for (seed = 0; seed < SEEDS && same; seed++) {
				rng_state = 0x2545f4914f6cdd1dULL *
				    (seed + 1) + t;
				for (k = 0; k < QUANT_DOT_ROWS; k++)
					random_blocks(t, w + k * ws, n);
				for (k = 0; k < n; k++)
					x[k] = gauss();
				scalar[at].from_float_ref(x, a, n);
				fast[t].vec_dot_rows(n, s, w, a, ws);
				for (k = 0; k < QUANT_DOT_ROWS; k++) {
					fast[t].vec_dot(n, &s1, w + k * ws,
					    a);
					if (memcmp(&s1, &s[k], sizeof s1) != 0)
						same = 0;
				}
			}
			ok(same, "%s %s dot of %d weight rows of %d: the "
			    "single-row dot's bits", isa, scalar[t].name,
			    QUANT_DOT_ROWS, n);
			free(w);
			free(a);
		}
	}
	free(x);
	return tested;
}

/* Rows that probe the quantizers' edge cases, one per case. */
static void
quantizer_input(int c, float *x, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		x[i] = gauss();
	switch (c) {
	case 0:		/* plain Gaussian */
		break;
	case 1:		/* wide range of magnitudes */
		for (i = 0; i < n; i++)
			x[i] *= powf(10.0f, (float)(i % 13) - 6);
		break;
	case 2:		/* exact ties: amax 127 makes the scale 1 */
		for (i = 0; i < n; i++)
			x[i] = (float)((int)(rng() % 255) - 127) + 0.5f;
		for (i = 0; i < n; i += 32)
			x[i] = 127.0f;
		break;
	case 3:		/* zero blocks, and +m / -m both present */
		for (i = 0; i < n; i++) {
			if ((i / 256) % 3 == 0)
				x[i] = 0.0f;
			else if (i % 256 == 5)
				x[i] = (i / 256) % 2 ? -4.0f : 4.0f;
			else if (i % 256 == 200)
				x[i] = (i / 256) % 2 ? 4.0f : -4.0f;
			else
				x[i] = fmodf(x[i], 3.9f);
		}
		break;
	case 4:		/* all positive, and all negative, blocks */
		for (i = 0; i < n; i++)
			x[i] = fabsf(x[i]) * ((i / 256) % 2 ? -1 : 1);
		break;
	case 5:		/* tiny values */
		for (i = 0; i < n; i++)
			x[i] *= 1e-30f;
		break;
	}
}
#define N_QCASES 6

/*
 * Every quantizer of fast that is not the scalar path's gives the
 * reference's bytes; returns how many there are.
 */
static int
check_quantizers(const char *isa, const struct quant_traits *fast)
{
	float		*x = malloc(N * sizeof *x);
	uint8_t		*a = malloc(N * 2), *b = malloc(N * 2);
	enum ggml_type	 t;
	size_t		 size, k;
	int		 c, seed, same, bad_case, tested = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (fast[t].from_float == scalar[t].from_float)
			continue;
		tested++;
		size = (size_t)(N / scalar[t].blck) * scalar[t].size;
		same = 1;
		bad_case = -1;
		for (c = 0; c < N_QCASES; c++) {
			for (seed = 0; seed < SEEDS; seed++) {
				rng_state = 0x2545f4914f6cdd1dULL * (seed + 1) +
				    c;
				quantizer_input(c, x, N);
				memset(a, 0xaa, size);
				memset(b, 0x55, size);
				scalar[t].from_float_ref(x, a, N);
				fast[t].from_float(x, b, N);
				if (memcmp(a, b, size) != 0) {
					for (k = 0; k < size && a[k] == b[k];
					    k++)
						;
					if (same)
						diag("%s %s: case %d seed %d "
						    "differs at byte %zu", isa,
						    scalar[t].name, c, seed, k);
					same = 0;
					bad_case = c;
				}
			}
		}
		ok(same, "%s %s quantizer gives the reference's bytes (%d "
		    "cases x %d rows of %d)%s", isa, scalar[t].name, N_QCASES,
		    SEEDS, N, bad_case >= 0 ? " FAILED" : "");
	}
	free(x);
	free(a);
	free(b);
	return tested;
}

/*
 * Every to_float of fast that is not the scalar path's gives the scalar
 * one's bits on random blocks; returns how many there are.
 */
static int
check_to_float(const char *isa, const struct quant_traits *fast)
{
	float	*y0 = malloc(N * sizeof *y0), *y1 = malloc(N * sizeof *y1);
	void	*w;
	int	 t, seed, same, tested = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (fast[t].to_float == scalar[t].to_float)
			continue;
		tested++;
		w = malloc((size_t)(N / scalar[t].blck) * scalar[t].size);
		for (same = 1, seed = 0; seed < SEEDS && same; seed++) {
			rng_state = 0x9e3779b97f4a7c15ULL * (seed + 1) + t;
			random_blocks(t, w, N);
			scalar[t].to_float(w, y0, N);
			fast[t].to_float(w, y1, N);
			same = memcmp(y0, y1, N * sizeof *y0) == 0;
		}
		ok(same, "%s %s to_float gives the scalar one's bits", isa,
		    scalar[t].name);
		free(w);
	}
	free(y0);
	free(y1);
	return tested;
}

/*
 * Returns how many types of fast (the path isa) lost a kernel their row
 * has on the path's parent: a dot or quantizer set back to the scalar
 * one, or the prompt tiles or several-row dots gone; names each.
 */
static int
lost_kernels(const char *isa, const struct quant_traits *fast,
    const struct quant_traits *parent)
{
	int	t, lost = 0;

	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if ((parent[t].vec_dot != scalar[t].vec_dot &&
		    fast[t].vec_dot == scalar[t].vec_dot) ||
		    (parent[t].from_float != scalar[t].from_float &&
		    fast[t].from_float == scalar[t].from_float) ||
		    (parent[t].gemm != NULL && fast[t].gemm == NULL) ||
		    (parent[t].vec_dot_rows != NULL &&
		    fast[t].vec_dot_rows == NULL && fast[t].gemm == NULL)) {
			diag("%s: %s lost a kernel of its parent's", isa,
			    scalar[t].name);
			lost++;
		}
	}
	return lost;
}

int
main(void)
{
	static struct quant_traits table[QUANT_ISA_COUNT][GGML_TYPE_COUNT];
	struct quant_traits	*fast;
	const struct quant_traits *tr;
	const char		*name;
	char			*cause = NULL;
	enum quant_isa		 isa, parent;
	int			 t, dots, own;

	setenv("R1CHAT_ISA", "scalar", 1);
	if (quant_init(&cause) != 0) {
		ok(0, "quant_init scalar: %s", cause);
		return done_testing();
	}
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if ((tr = quant_traits(t)) != NULL)
			scalar[t] = *tr;
	}

	for (isa = 0; isa < QUANT_ISA_COUNT; isa++) {
		if (!kernel_path_choose(isa))
			continue;
		name = quant_isa_name(isa);
		parent = quant_isa_parent(isa);
		fast = table[isa];
		for (t = 0; t < GGML_TYPE_COUNT; t++) {
			if ((tr = quant_traits(t)) != NULL)
				fast[t] = *tr;
		}

		dots = 0;
		for (t = 0; t < GGML_TYPE_COUNT; t++) {
			if (fast[t].vec_dot == scalar[t].vec_dot) {
				if (fast[t].vec_dot != NULL &&
				    isa != parent)
					diag("%s: %s vec_dot is the scalar "
					    "one", name, scalar[t].name);
				continue;
			}
			dots++;
			check_dots(name, fast, t, N);
			/* Float rows of any length: the vector tails; an
			 * odd number of blocks: the pair kernels' tail. */
			check_dots(name, fast, t, scalar[t].blck == 1 ?
			    N + 7 : N + scalar[t].blck);
		}
		own = dots + check_to_float(name, fast) +
		    check_quantizers(name, fast) + check_x4(name, fast) +
		    check_rows(name, fast);
		if (isa == parent)
			ok(own == 0, "%s is the reference (no kernels of its "
			    "own)", name);
		else {
			/* a path with nothing of its own would make the
			 * comparisons vacuous */
			ok(own > 0, "%s: %d kernels not the scalar ones (%d "
			    "of them dots), each checked above", name, own,
			    dots);
			ok(lost_kernels(name, fast, table[parent]) == 0,
			    "%s keeps every kernel of its parent's, %s, or "
			    "replaces it", name, quant_isa_name(parent));
		}
		kernel_path_ran(isa);
	}
	return done_testing();
}
