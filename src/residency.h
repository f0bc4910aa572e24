/*
 * residency.h - how much of a model must stay in memory and how much can
 * be paged in from disk as it is used.  Every token reads the dense part
 * (attention, shared experts, embeddings, output); a mixture of experts
 * reads only the routed experts it chooses, so those can stay on disk and
 * be paged in through the map.  Also what memory there is, and locking
 * the map in it (--mlock).
 */
#ifndef R1_RESIDENCY_H
#define R1_RESIDENCY_H

#include <stdint.h>

struct gguf_file;

struct residency {
	uint64_t	dense;		/* bytes every token reads */
	uint64_t	experts;	/* bytes of routed experts (*_exps) */
	uint64_t	ram;		/* memory this process may use; 0: unknown */
};

/*
 * Measures g's tensors, and the memory available: MemAvailable, or less
 * when the process's cgroup (v2) sets a memory.max.
 */
void residency_measure(const struct gguf_file *g, struct residency *r);

/* The memory this process may use (residency's ram): MemAvailable, or
 * the cgroup's memory.max when lower; 0 when unknown. */
uint64_t residency_ram(void);

/*
 * A one-line summary, "3.1 GiB resident (dense), 12.4 GiB streamed
 * (experts), 7.8 GiB of memory", malloc'd; NULL when the model has no
 * routed experts and fits.
 */
char *residency_summary(const struct residency *r);

/*
 * A warning when memory is short, malloc'd, or NULL: the dense part does
 * not fit (every token will read from disk), or the whole does not (the
 * experts will be paged in from disk as they are chosen).
 */
char *residency_warning(const struct residency *r);

/*
 * Locks g's maps in memory (mlock), so that no weight is paged out.
 * Returns 0, or -1 with *cause set (RLIMIT_MEMLOCK, not enough memory).
 */
int residency_lock(const struct gguf_file *g, char **cause);

/*
 * The major page faults of the process so far: pages read from disk,
 * which for a mapped model are weights paged in.
 */
uint64_t residency_faults(void);

/* "1.2 GiB (what)", or MiB under a GiB, malloc'd (what NULL: no brackets). */
char *residency_size(uint64_t n, const char *what);

#endif
