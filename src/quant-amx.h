/*
 * quant-amx.h - internal to the AMX kernels (quant-amx.c, quant-panel.c):
 * their target, the tile configuration and a tile store.
 */
#ifndef R1_QUANT_AMX_H
#define R1_QUANT_AMX_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

#define AMX_INLINE SIMD_AMX static inline __attribute__((always_inline))

#define AMX_TOKS	16		/* tokens a chunk */
#define AMX_GROUP	8		/* chunks a pass over the weights */

/* How many chunks the pass at token g of ntok takes (AMX_GROUP at most). */
static inline int
amx_chunks(int ntok, int g)
{
	int	nch = (ntok - g + AMX_TOKS - 1) / AMX_TOKS;

	return nch < AMX_GROUP ? nch : AMX_GROUP;
}

/* The tile configuration ldtilecfg reads (palette 1). */
struct amx_cfg {
	uint8_t		palette;
	uint8_t		start_row;
	uint8_t		reserved[14];
	uint16_t	colsb[16];
	uint8_t		rows[16];
};

/*
 * Configures the tiles for tdps of k bytes a row, in pairs: tiles 0 and 1
 * of 16 rows of k bytes (the A operands), 2 and 3 of k / 4 rows of 64
 * (the B operands), 4 to 7 of 16 rows of 16 int32 (the dots).
 */
AMX_INLINE void
amx_config(int k)
{
	struct amx_cfg	cfg;
	int		i;

	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1;
	for (i = 0; i < 2; i++) {
		cfg.rows[i] = 16;
		cfg.colsb[i] = (uint16_t)k;
		cfg.rows[2 + i] = (uint8_t)(k / 4);
		cfg.colsb[2 + i] = 64;
		cfg.rows[4 + i] = cfg.rows[6 + i] = 16;
		cfg.colsb[4 + i] = cfg.colsb[6 + i] = 64;
	}
	/* ldtilecfg as asm that names what it reads: with the intrinsic,
	 * gcc 12 dropped the stores of the rows and widths as dead (the
	 * first tile load then faulted) */
	__asm__ volatile ("ldtilecfg %0" : : "m" (cfg));
}

/*
 * tilestored of tile T into the 1 KiB at c, naming what it writes: the
 * intrinsic clobbers all memory, which kept the accumulators out of
 * registers.
 */
#define AMX_STORE(T, c)							\
	__asm__ volatile ("tilestored %%tmm" #T ", (%1,%2,1)"		\
	    : "=m" (*(int32_t (*)[256])(c)) : "r" (c), "r" (64L))

#endif
