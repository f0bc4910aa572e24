/*
 * fuzz-split.h - how the fuzz targets cut an input into the chunks a
 * streaming parser is fed: sizes drawn from splitmix64 seeded by the
 * input's first bytes, mostly a few bytes, now and then many, so that
 * libFuzzer reaches every cut by changing the seed.
 */
#ifndef R1_FUZZ_SPLIT_H
#define R1_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>

struct split {
	uint64_t	state;
};

/* Seeds s with the n bytes of seed. */
static inline void
split_init(struct split *s, const uint8_t *seed, size_t n)
{
	size_t	i;

	s->state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < n; i++)
		s->state = (s->state ^ seed[i]) * 0x100000001b3ULL;
}

/* The next chunk's size: 1 to left (left > 0). */
static inline size_t
split_next(struct split *s, size_t left)
{
	uint64_t	z = (s->state += 0x9e3779b97f4a7c15ULL);
	size_t		n;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	n = (z & 7) == 0 ? (size_t)(z >> 8) % 64 + 1 : (size_t)(z >> 8) % 4 + 1;
	return n < left ? n : left;
}

#endif
