/*
 * residency.c - the dense and the streamed part of a model, the memory
 * there is, and --mlock.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "gguf.h"
#include "residency.h"
#include "util.h"

/* A routed expert tensor: blk.N.ffn_{gate,up,down}_exps.weight. */
static int
is_expert(const char *name)
{
	return strstr(name, "_exps.") != NULL;
}

/* MemAvailable from /proc/meminfo, in bytes; 0 when unknown. */
static uint64_t
mem_available(void)
{
	FILE			*f;
	char			 line[256];
	unsigned long long	 kb = 0;

	if ((f = fopen("/proc/meminfo", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return (uint64_t)kb * 1024;
}

/*
 * The memory limit of this process's cgroup, in bytes; 0 for none: v2's
 * memory.max ("0::PATH"), or v1's memory.limit_in_bytes ("N:memory:PATH",
 * unlimited reads as a number near 2^63).
 */
static uint64_t
cgroup_max(void)
{
	static const struct {
		const char	*prefix;	/* of the /proc/self/cgroup line */
		const char	*file;		/* under /sys/fs/cgroup */
	} kinds[] = {
		{ "0::", "%s/memory.max" },
		{ ":memory:", "memory%s/memory.limit_in_bytes" },
	};
	FILE			*f, *m;
	char			 line[4096], *p, *path, *file;
	unsigned long long	 v, best = 0;
	size_t			 k;

	if ((f = fopen("/proc/self/cgroup", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
			if ((p = strstr(line, kinds[k].prefix)) == NULL ||
			    (k == 0 && p != line))
				continue;
			file = xstrfmt(kinds[k].file,
			    p + strlen(kinds[k].prefix));
			path = xstrfmt("/sys/fs/cgroup/%s", file);
			free(file);
			m = fopen(path, "r");
			free(path);
			if (m == NULL)
				continue;
			/* "max" reads as no number: no limit */
			if (fscanf(m, "%llu", &v) == 1 && v < (1ULL << 60) &&
			    (best == 0 || v < best))
				best = v;
			fclose(m);
		}
	}
	fclose(f);
	return (uint64_t)best;
}

void
residency_measure(const struct gguf_file *g, struct residency *r)
{
	uint64_t	i;

	memset(r, 0, sizeof *r);
	for (i = 0; i < g->n_tensors; i++) {
		if (is_expert(g->tensors[i].name))
			r->experts += g->tensors[i].size;
		else
			r->dense += g->tensors[i].size;
	}
	r->ram = residency_ram();
}

uint64_t
residency_ram(void)
{
	uint64_t	ram = mem_available(), cg = cgroup_max();

	if (cg != 0 && (ram == 0 || cg < ram))
		ram = cg;
	return ram;
}

char *
residency_size(uint64_t n, const char *what)
{
	double	g = (double)n / (1024.0 * 1024.0 * 1024.0);
	int	mib = g < 1.0;

	if (what == NULL)
		return xstrfmt("%.1f %s", mib ? g * 1024.0 : g,
		    mib ? "MiB" : "GiB");
	return xstrfmt("%.1f %s (%s)", mib ? g * 1024.0 : g,
	    mib ? "MiB" : "GiB", what);
}

char *
residency_summary(const struct residency *r)
{
	char	*d, *e, *m, *s;

	if (r->experts == 0)
		return NULL;
	d = residency_size(r->dense, NULL);
	e = residency_size(r->experts, NULL);
	m = residency_size(r->ram, NULL);
	if (r->ram == 0)
		s = xstrfmt("%s resident (dense), %s streamed (experts)", d, e);
	else
		s = xstrfmt("%s resident (dense), %s streamed (experts), %s "
		    "of memory", d, e, m);
	free(d);
	free(e);
	free(m);
	return s;
}

char *
residency_warning(const struct residency *r)
{
	char	*d, *m, *s;

	if (r->ram == 0 || r->dense + r->experts <= r->ram)
		return NULL;
	m = residency_size(r->ram, NULL);
	if (r->dense > r->ram) {
		d = residency_size(r->dense, NULL);
		s = xstrfmt("the model's dense part (%s) is larger than the "
		    "memory (%s): every token will read from disk", d, m);
	} else {
		d = residency_size(r->dense + r->experts, NULL);
		s = xstrfmt("the model (%s) is larger than the memory (%s): %s "
		    "will be paged in from disk as %s", d, m,
		    r->experts > 0 ? "experts" : "it",
		    r->experts > 0 ? "they are chosen" : "it is used");
	}
	free(d);
	free(m);
	return s;
}

uint64_t
residency_faults(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_majflt;
}

int
residency_lock(const struct gguf_file *g, char **cause)
{
	int	i;

	for (i = 0; i < g->n_shards; i++) {
		if (mlock(g->shards[i].map, g->shards[i].size) != 0) {
			char	*sz = residency_size(g->shards[i].size, NULL);

			*cause = xstrfmt("--mlock: cannot lock %s of %s in "
			    "memory: %s (see ulimit -l)", sz,
			    g->shards[i].path, strerror(errno));
			free(sz);
			return -1;
		}
	}
	return 0;
}
