/*
 * fit.c - the memory a model needs against what there is, and the
 * generation rate to expect: the speed weights go through (the read
 * bandwidth, or the threads' dots when slower) x FIT_EFFICIENCY / bytes
 * a token reads (the routed experts' at FIT_EFFICIENCY_EXPERTS).  The
 * bandwidth is measured by reading a buffer larger than the caches from
 * every thread, the best of a few passes, once a boot; the dots' speed by
 * timing the model's main weight type's dot on rows in the caches.
 */
#include "config.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "gguf.h"
#include "kv.h"
#include "model.h"
#include "quant.h"
#include "residency.h"
#include "store.h"
#include "util.h"

#define PROBE_BYTES	((size_t)128 << 20)	/* well past any L3 */
#define PROBE_PASSES	8
#define BOOT_ID		"/proc/sys/kernel/random/boot_id"
/*
 * The dot's timing: DOT_ROWS rows of DOT_COLS in the caches, passes over
 * them for DOT_NS at least, the best of DOT_TRIES such timings.
 */
#define DOT_COLS	4096
#define DOT_ROWS	16
#define DOT_NS		5000000LL
#define DOT_TRIES	6

/* The weight type most of g's bytes are in. */
static enum ggml_type
main_type(const struct gguf_file *g)
{
	uint64_t	bytes[GGML_TYPE_COUNT] = { 0 };
	uint64_t	i;
	int		t, best = GGML_TYPE_F32;

	for (i = 0; i < g->n_tensors; i++) {
		if (g->tensors[i].type < GGML_TYPE_COUNT)
			bytes[g->tensors[i].type] += g->tensors[i].size;
	}
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (bytes[t] > bytes[best])
			best = t;
	}
	return (enum ggml_type)best;
}

/*
 * The bytes/s of weights of type t the threads' single-token dots get
 * through from the caches (one thread timed, times the threads), or 0.
 */
static double
dot_speed(enum ggml_type t)
{
	const struct quant_traits	*w = quant_traits(t), *a;
	float				*x, s;
	char				*wb, *ab;
	size_t				 wrow, arow;
	int64_t				 t0, dt, n;
	double				 best = 0, v;
	int				 r, i, k, threads = 1;

	if (w == NULL || w->vec_dot == NULL || w->blck <= 0 ||
	    (a = quant_traits(w->vec_dot_type)) == NULL || a->blck <= 0 ||
	    DOT_COLS % w->blck != 0 || DOT_COLS % a->blck != 0 ||
	    (w->vec_dot_type != GGML_TYPE_F32 && a->from_float == NULL))
		return 0;
	wrow = DOT_COLS / (size_t)w->blck * w->size;
	arow = DOT_COLS / (size_t)a->blck * a->size;
	/* every page touched before the clock runs */
	wb = xmalloc(DOT_ROWS * wrow);
	memset(wb, 0, DOT_ROWS * wrow);
	ab = xcalloc(1, arow);
	x = xcalloc(DOT_COLS, sizeof *x);
	for (i = 0; i < DOT_COLS; i++)
		x[i] = (float)(i % 7) - 3.0f;
	if (w->vec_dot_type == GGML_TYPE_F32)
		memcpy(ab, x, arow);
	else
		a->from_float(x, ab, DOT_COLS);
	for (k = 0; k < DOT_TRIES; k++) {
		t0 = util_now_ns();
		n = 0;
		do {
			for (r = 0; r < DOT_ROWS; r++)
				w->vec_dot(DOT_COLS, &s, wb + (size_t)r * wrow,
				    ab);
			n += DOT_ROWS;
			dt = util_now_ns() - t0;
		} while (dt < DOT_NS);
		v = (double)n * (double)wrow * 1e9 / (double)dt;
		if (v > best)
			best = v;
	}
	free(x);
	free(ab);
	free(wb);
#ifdef _OPENMP
	threads = omp_get_max_threads();
#endif
	return best * threads;
}

/* The GGUF integer key "ARCH.what", or 0. */
static uint64_t
arch_key(const struct gguf_file *g, const char *what)
{
	char		*arch = NULL, *key;
	uint64_t	 v = 0;

	if (gguf_get_str(g, "general.architecture", &arch) != 0)
		return 0;
	key = xstrfmt("%s.%s", arch, what);
	if (gguf_get_u64(g, key, &v) != 0)
		v = 0;
	free(key);
	free(arch);
	return v;
}

int
fit_estimate(const struct gguf_file *g, int n_ctx, struct fit *f,
    char **cause)
{
	const struct gguf_tensor	*embd;
	struct residency		 r;
	struct model			*m;
	uint64_t			 n_exp, n_used;

	memset(f, 0, sizeof *f);
	/* bound, not repacked: nothing is copied out of the map */
	model_set_repack(0);
	m = model_load(g, cause);
	model_set_repack(1);
	if (m == NULL)
		return -1;
	f->n_ctx = n_ctx > 0 ? n_ctx : model_default_ctx(m);
	f->kv = model_kv_bytes(m, f->n_ctx, KV_F16);
	model_free(m);

	residency_measure(g, &r);
	f->dense = r.dense;
	f->experts = r.experts;
	f->ram = r.ram;
	/* a token reads one row of the embedding, unless it is the output */
	f->per_token = r.dense;
	if (gguf_tensor_find(g, "output.weight") != NULL &&
	    (embd = gguf_tensor_find(g, "token_embd.weight")) != NULL)
		f->per_token -= embd->size;
	n_exp = arch_key(g, "expert_count");
	n_used = arch_key(g, "expert_used_count");
	if (r.experts > 0 && n_exp > 0 && n_used <= n_exp)
		f->expert_token = r.experts / n_exp * n_used;
	else
		f->expert_token = r.experts;
	f->per_token += f->expert_token;
	f->bandwidth = fit_bandwidth();
	f->compute = dot_speed(main_type(g));
	f->speed = f->bandwidth * FIT_EFFICIENCY;
	if (f->compute > 0 && f->compute * FIT_EFFICIENCY_DOTS < f->speed)
		f->speed = f->compute * FIT_EFFICIENCY_DOTS;
	if (f->speed > 0 && f->per_token > 0)
		f->tps = 1 / ((double)(f->per_token - f->expert_token) /
		    f->speed + (double)f->expert_token /
		    (f->speed * FIT_EXPERTS));
	return 0;
}

static volatile uint64_t probe_sink;

/* Reads n bytes of p from every thread; the bytes/s of the best pass. */
static double
probe(const uint64_t *p, size_t n)
{
	double		best = 0, s;
	uint64_t	sum = 0;
	int64_t		t0, t;
	size_t		i, words = n / sizeof *p;
	int		pass;

	for (pass = 0; pass < PROBE_PASSES; pass++) {
		t0 = util_now_ns();
		/* four sums a thread: the adds keep up with the loads */
#pragma omp parallel for reduction(+:sum) schedule(static)
		for (i = 0; i < words; i += 4)
			sum += p[i] + p[i + 1] + p[i + 2] + p[i + 3];
		t = util_now_ns() - t0;
		s = t > 0 ? (double)n * 1e9 / (double)t : 0;
		if (s > best)
			best = s;
	}
	/* kept, so that the reads cannot be left out */
	probe_sink = sum;
	return best;
}

/* The boot's id, its first line (a UUID), into id; 0 or -1. */
static int
boot_id(char *id, size_t n)
{
	FILE	*f;
	int	 rc = -1;

	if ((f = fopen(BOOT_ID, "r")) == NULL)
		return -1;
	if (fgets(id, (int)n, f) != NULL) {
		id[strcspn(id, "\n")] = '\0';
		rc = id[0] != '\0' ? 0 : -1;
	}
	fclose(f);
	return rc;
}

/* $XDG_CACHE_HOME/r1chat/bandwidth, malloc'd, or NULL. */
static char *
cache_path(void)
{
	const char	*v;

	if ((v = getenv("XDG_CACHE_HOME")) != NULL && *v == '/')
		return xstrfmt("%s/r1chat/bandwidth", v);
	if ((v = getenv("HOME")) != NULL && *v != '\0')
		return xstrfmt("%s/.cache/r1chat/bandwidth", v);
	return NULL;
}

double
fit_bandwidth(void)
{
	char		 id[128], line[256], *path;
	double		 bw = 0;
	uint64_t	*buf;
	FILE		*f;
	size_t		 k;

	if (boot_id(id, sizeof id) != 0)
		id[0] = '\0';
	path = cache_path();
	if (path != NULL && id[0] != '\0' && (f = fopen(path, "r")) != NULL) {
		k = strlen(id);
		if (fgets(line, sizeof line, f) != NULL &&
		    strncmp(line, id, k) == 0 && line[k] == ' ')
			bw = strtod(line + k + 1, NULL);
		fclose(f);
		if (bw > 0) {
			free(path);
			return bw;
		}
	}
	if ((buf = malloc(PROBE_BYTES)) != NULL) {
		/* every page touched first: a fault is no read */
		memset(buf, 1, PROBE_BYTES);
		bw = probe(buf, PROBE_BYTES);
		free(buf);
	}
	if (path != NULL && id[0] != '\0' && bw > 0 &&
	    util_mkdirs(path, 0755, NULL) == 0 &&
	    (f = fopen(path, "w")) != NULL) {
		fprintf(f, "%s %.0f\n", id, bw);
		fclose(f);
	}
	free(path);
	return bw;
}
