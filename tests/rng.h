/*
 * rng.h - the tests' pseudo-random numbers: splitmix64 from a fixed seed
 * (RNG_SEED, defined before including this to change it), uniform doubles
 * in (0, 1) and Gaussians by Box-Muller.  One state per test program.
 */
#ifndef R1_TEST_RNG_H
#define R1_TEST_RNG_H

#include <math.h>
#include <stdint.h>

#ifndef RNG_SEED
#define RNG_SEED 0x9e3779b97f4a7c15ULL
#endif

static uint64_t rng_state = RNG_SEED;

static inline uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline double
rng_uniform(void)
{
	return ((rng_next() >> 11) + 0.5) * 0x1p-53;
}

static inline double
rng_gauss(void)
{
	double	u = rng_uniform(), v = rng_uniform();

	return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

#endif
