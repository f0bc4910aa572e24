/*
 * bench-matmul.c - how fast ops_matmul is against what the machine allows.
 * Not a test: it asserts nothing and is not in TESTS.
 *
 * usage: bench-matmul [THREADS [ROWS COLS]]     (default 2, 8960 1536)
 *
 * For Q4_K and Q8_0 weights: one token (decode; memory-bound, reported as
 * GB/s of weights read, from copies of the matrix larger than the L3
 * cache together, so they come from DRAM as a model's weights do) and 128
 * tokens (prompt; compute-bound, GFLOP/s).  The memory read bandwidth is
 * measured first with a plain read loop on all threads.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops.h"
#include "quant.h"
#include "util.h"

#define COPIES_BYTES	((size_t)512 << 20)	/* well past any L3 */

static uint64_t	rng_state = 0x853c49e6748fea9bULL;

static float
frand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (float)((rng_state >> 11) * 0x1p-53) * 2 - 1;
}

/* GB/s of a read over buf: independent accumulators, all threads. */
#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx2")))
#endif
static double
read_bandwidth(const uint64_t *buf, size_t n, int reps)
{
	int64_t		 t0, best = INT64_MAX, t;
	uint64_t	 sink = 0;
	int		 r;

	for (r = 0; r < reps; r++) {
		t0 = util_now_ns();
#pragma omp parallel reduction(^:sink)
		{
			size_t		i;
#if defined(__x86_64__)
			__m256i		a0 = _mm256_setzero_si256(), a1 = a0;
			__m256i		a2 = a0, a3 = a0;

#pragma omp for schedule(static)
			for (i = 0; i < n; i += 16) {
				a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(
				    (const __m256i *)(buf + i)));
				a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(
				    (const __m256i *)(buf + i + 4)));
				a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(
				    (const __m256i *)(buf + i + 8)));
				a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(
				    (const __m256i *)(buf + i + 12)));
			}
			a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1),
			    _mm256_xor_si256(a2, a3));
			sink ^= (uint64_t)_mm256_extract_epi64(a0, 0);
#else
			uint64_t	a0 = 0, a1 = 0;

#pragma omp for schedule(static)
			for (i = 0; i < n; i += 2) {
				a0 += buf[i];
				a1 += buf[i + 1];
			}
			sink ^= a0 ^ a1;
#endif
		}
		t = util_now_ns() - t0;
		if (t < best)
			best = t;
	}
	if (sink == 42)
		printf(" ");
	return (double)n * 8 / best;
}

static void
bench(enum ggml_type type, int64_t rows, int64_t cols, double bw)
{
	const struct quant_traits *tr = quant_traits(type);
	struct ops_scratch	 scratch = { NULL, 0 };
	struct ops_mat		 m;
	size_t			 rs = type_row_size(type, cols);
	size_t			 msize = rs * rows, ncopies, c;
	float			*f, *x, *y;
	char			*w;
	int64_t			 r, t0, best, t;
	int			 rep, ntok = 128, i;
	double			 gbs, gflops;

	ncopies = COPIES_BYTES / msize + 1;
	f = xmalloc(cols * sizeof *f);
	x = xmalloc(ntok * cols * sizeof *x);
	y = xmalloc(ntok * rows * sizeof *y);
	if ((w = malloc(msize * ncopies)) == NULL) {
		fprintf(stderr, "bench-matmul: out of memory\n");
		exit(1);
	}
	for (r = 0; r < rows; r++) {
		for (i = 0; i < cols; i++)
			f[i] = frand();
		tr->from_float_ref(f, w + r * rs, cols);
	}
	for (c = 1; c < ncopies; c++)
		memcpy(w + c * msize, w, msize);
	for (i = 0; i < ntok * cols; i++)
		x[i] = frand();
	memset(&m, 0, sizeof m);
	m.type = type;
	m.rows = rows;
	m.cols = cols;
	m.row_size = rs;

	/* Decode: every call on the next copy, so nothing is cached. */
	best = INT64_MAX;
	for (rep = 0; rep < 10; rep++) {
		t0 = util_now_ns();
		for (c = 0; c < ncopies; c++) {
			m.data = w + c * msize;
			ops_matmul(&m, x, 1, y, &scratch);
		}
		t = util_now_ns() - t0;
		if (t < best)
			best = t;
	}
	gbs = (double)msize * ncopies / best;
	printf("%-5s %5lldx%-5lld   1 token : %8.1f us/matmul  %6.2f GB/s "
	    "(%.0f%% of read bandwidth)\n", tr->name, (long long)rows,
	    (long long)cols, best / 1e3 / ncopies, gbs, 100 * gbs / bw);

	/* Prompt: weights reused across 128 tokens. */
	m.data = w;
	best = INT64_MAX;
	for (rep = 0; rep < 10; rep++) {
		t0 = util_now_ns();
		ops_matmul(&m, x, ntok, y, &scratch);
		t = util_now_ns() - t0;
		if (t < best)
			best = t;
	}
	gflops = 2.0 * rows * cols * ntok / best;
	printf("%-5s %5lldx%-5lld %3d tokens: %8.1f us/matmul  %6.1f "
	    "GFLOP/s  (%.0f tokens/s for this matrix)\n", tr->name,
	    (long long)rows, (long long)cols, ntok, best / 1e3, gflops,
	    ntok / (best / 1e9));

	ops_scratch_free(&scratch);
	free(f);
	free(x);
	free(y);
	free(w);
}

int
main(int argc, char **argv)
{
	int64_t		 rows = 8960, cols = 1536;
	uint64_t	*buf;
	size_t		 n = COPIES_BYTES / 8, i;
	char		*cause;
	double		 bw;
	int		 threads = 2;

	if (argc > 1)
		threads = atoi(argv[1]);
	if (argc > 3) {
		rows = atoll(argv[2]);
		cols = atoll(argv[3]);
	}
	if (quant_init(&cause) != 0) {
		fprintf(stderr, "bench-matmul: %s\n", cause);
		return 1;
	}
	ops_set_threads(threads);
	printf("isa %s, %d threads\n", quant_isa_name(quant_isa()),
	    ops_threads());

	buf = xmalloc(n * sizeof *buf);
	for (i = 0; i < n; i++)
		buf[i] = i * 0x9e3779b97f4a7c15ULL;
	bw = read_bandwidth(buf, n, 10);
	free(buf);
	printf("memory read bandwidth: %.2f GB/s\n", bw);

	bench(GGML_TYPE_Q4_K, rows, cols, bw);
	bench(GGML_TYPE_Q8_0, rows, cols, bw);
	bench(GGML_TYPE_Q4_K, cols, rows, bw);
	bench(GGML_TYPE_Q8_0, cols, rows, bw);
	bench(GGML_TYPE_Q6_K, cols, rows, bw);
	return 0;
}
