/*
 * quant-avx512.h - the AVX-512 prompt tiles' shared parts (quant-avx512.c
 * describes the layout), for the packers of other files, and the
 * prefetching of the several-row single-token dots.  Only for code
 * that runs when the AVX-512 VNNI path was chosen.
 */
#ifndef R1_QUANT_AVX512_H
#define R1_QUANT_AVX512_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "quant.h"

/* Where step s of row r starts in a tile's panel. */
#define GEMM512_STEP(tile, s, r) \
	((tile) + ((size_t)(s) * QUANT_GEMM_ROWS + (r)) * 64)

/*
 * The struct quant_gemm of a type with panels of P elements (P quants
 * and a 128-byte header, a token's or a row's), its activation packer,
 * weight packer and tile.
 */
#define GEMM512(P, act, w, t) {						\
	.panel = (P), .act_panel = (P) + 128,				\
	.w_panel = QUANT_GEMM_ROWS * ((P) + 128), .pack_act = (act),	\
	.pack_w = (w), .tile = (t), .rows = QUANT_GEMM_ROWS, .toks = 1,	\
}

/*
 * The tiles: groups of 32 in 8 steps or of 16 in 4, the weights stored
 * plus the offset the activations' packer took off (as quant_gemm.tile).
 */
void gemm512_tile_g32(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows);
void gemm512_tile_g16(int n, const void *pw, const void *pa, size_t arow,
    int ntok, float *y, size_t ldy, int nrows);

/*
 * Activation packers (as quant_gemm.pack_act) for weights stored plus
 * 128: Q8_0 blocks, and Q8_K in groups of 32 or of 16.
 */
void gemm512_act_q8_0(const float *x, void *a, int n);
void gemm512_act_g32(const float *x, void *a, int n);
void gemm512_act_g16(const float *x, void *a, int n);

/* Row r of a panel of S steps as zeros, weights and scales. */
void gemm512_zero_row(char *tile, int S, int r);

/*
 * Row r of a panel of 8 steps from z[i], groups 2i and 2i + 1 of 32
 * signed weights each, stored plus 128.
 */
void gemm512_put_groups(char *tile, int r, const __m512i *z);

/* The 16 group scales of row r of a panel of S steps (no min term). */
void gemm512_put_dsc(char *tile, int S, int r, const float *dsc);

/*
 * A dot of several rows at once reads too many streams for the hardware
 * prefetcher (measured: a third of the memory reads of one row at a
 * time), so it asks for what comes DOT_PREFETCH bytes (or its rows, if
 * more) ahead of the front it reads: block i of nr rows bx bytes apart,
 * of bsize-byte blocks, moves that front nr * bsize bytes on.  The base
 * is dot_rows_prefetch_base(x, bx, nr); prefetches never fault.  They
 * bring lines into L2 only (T1): a T0 prefetch holds one of L1's few
 * fill buffers until its line arrives, and on an Intel core (AMX, 2
 * threads) that capped the reads a core had in flight (T1: a single
 * token on Q8_0 1.3 times as fast).
 */
#define DOT_PREFETCH 8192

static inline const char *
dot_rows_prefetch_base(const void *x, size_t bx, int nr)
{
	return (const char *)x + (nr * bx > DOT_PREFETCH ? nr * bx :
	    DOT_PREFETCH);
}

static inline __attribute__((always_inline)) void
dot_rows_prefetch(const char *pf, int i, int nr, size_t bsize)
{
	size_t	k;

	if (nr == 1)
		return;
	for (k = 0; k < nr * bsize; k += 64)
		_mm_prefetch(pf + i * nr * bsize + k, _MM_HINT_T1);
}

#endif
#endif
