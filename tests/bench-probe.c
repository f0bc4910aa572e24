/*
 * bench-probe - what `make bench` needs to judge speeds against the
 * machine, not only against llama.cpp:
 *
 *   bench-probe bandwidth [-t N] [-m MiB]
 *	memory read bandwidth in GB/s (1e9 bytes/s): every thread streams
 *	its share of a buffer much larger than the caches into independent
 *	vector accumulators, so that neither the adds nor one core's load
 *	queue limit it; the best of several passes.
 *   bench-probe weights MODEL.gguf
 *	bytes of weights a decoded token reads: every tensor but the token
 *	embedding, of which one row is read (the output matrix is read in
 *	full; when the embedding is tied it is the output, read in full),
 *	and but the routed experts (ffn_*_exps), of which a token reads
 *	expert_used_count of expert_count.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gguf.h"
#include "types.h"
#include "util.h"

#define PROBE_PASSES	7

/* 64 bytes: four independent lanes of 16 bytes, summed as integers. */
typedef uint64_t probe_vec __attribute__((vector_size(16)));

static uint64_t
probe_read(const probe_vec *p, size_t n)
{
	probe_vec	a = { 0, 0 }, b = a, c = a, d = a, e = a, f = a;
	probe_vec	g = a, h = a;
	size_t		i;

	for (i = 0; i + 8 <= n; i += 8) {
		a += p[i];
		b += p[i + 1];
		c += p[i + 2];
		d += p[i + 3];
		e += p[i + 4];
		f += p[i + 5];
		g += p[i + 6];
		h += p[i + 7];
	}
	a += b + c + d + e + f + g + h;
	return a[0] + a[1];
}

/* This thread's share [lo, hi) of n items. */
static void
probe_share(size_t n, size_t *lo, size_t *hi)
{
	int	me = 0, k = 1;

#ifdef _OPENMP
	me = omp_get_thread_num();
	k = omp_get_num_threads();
#endif
	*lo = n / (size_t)k * (size_t)me;
	*hi = me == k - 1 ? n : *lo + n / (size_t)k;
}

static int
probe_bandwidth(int threads, size_t mib)
{
	probe_vec		*buf;
	size_t			 bytes = mib << 20, n = bytes / sizeof *buf;
	volatile uint64_t	 sink = 0;
	double			 best = 0, gbs;
	int64_t			 t0;
	int			 pass, nth = 1;

	if ((buf = aligned_alloc(64, bytes)) == NULL) {
		fprintf(stderr, "bench-probe: cannot allocate %zu MiB\n", mib);
		return 1;
	}
#ifdef _OPENMP
	if (threads > 0)
		omp_set_num_threads(threads);
	nth = omp_get_max_threads();
#endif
	/* touch every page from the thread that will read it */
#pragma omp parallel
	{
		size_t	lo, hi;

		probe_share(n, &lo, &hi);
		memset(buf + lo, 1, (hi - lo) * sizeof *buf);
	}
	for (pass = 0; pass < PROBE_PASSES; pass++) {
		uint64_t	total = 0;

		t0 = util_now_ns();
#pragma omp parallel reduction(+:total)
		{
			size_t	lo, hi;

			probe_share(n, &lo, &hi);
			total += probe_read(buf + lo, hi - lo);
		}
		gbs = (double)bytes / (double)(util_now_ns() - t0);
		sink += total;
		if (gbs > best)
			best = gbs;
	}
	free(buf);
	printf("%.2f GB/s %d threads %zu MiB\n", best, nth, mib);
	return 0;
}

static int
probe_weights(const char *path)
{
	struct gguf_file		*g;
	const struct gguf_tensor	*t;
	uint64_t			 bytes = 0, i;
	uint32_t			 used = 1, count = 1;
	char				*cause, *arch, key[128];
	int				 tied;

	if ((g = gguf_open(path, &cause)) == NULL) {
		fprintf(stderr, "bench-probe: %s: %s\n", path, cause);
		free(cause);
		return 1;
	}
	tied = gguf_tensor_find(g, "output.weight") == NULL;
	if (gguf_get_str(g, "general.architecture", &arch) == 0) {
		snprintf(key, sizeof key, "%s.expert_used_count", arch);
		if (gguf_get_u32(g, key, &used) == 0) {
			snprintf(key, sizeof key, "%s.expert_count", arch);
			if (gguf_get_u32(g, key, &count) != 0 || count == 0)
				count = used = 1;
		}
		free(arch);
	}
	for (i = 0; i < g->n_tensors; i++) {
		t = &g->tensors[i];
		if (strcmp(t->name, "token_embd.weight") == 0 && !tied)
			bytes += type_row_size(t->type, t->ne[0]);
		else if (strstr(t->name, "_exps.") != NULL)
			bytes += t->size / count * used;
		else
			bytes += t->size;
	}
	printf("%" PRIu64 " bytes\n", bytes);
	gguf_close(g);
	return 0;
}

int
main(int argc, char **argv)
{
	int	threads = 0, i;
	size_t	mib = 1024;

	if (argc == 3 && strcmp(argv[1], "weights") == 0)
		return probe_weights(argv[2]);
	if (argc < 2 || strcmp(argv[1], "bandwidth") != 0)
		goto usage;
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-t") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-m") == 0)
			mib = (size_t)atol(argv[i + 1]);
		else
			goto usage;
	}
	if (i != argc || mib < 64 || mib > 65536)
		goto usage;
	return probe_bandwidth(threads, mib);
usage:
	fprintf(stderr, "usage: bench-probe bandwidth [-t N] [-m MiB]\n"
	    "       bench-probe weights MODEL.gguf\n");
	return 2;
}
