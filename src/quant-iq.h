/*
 * quant-iq.h - the "i-quants" of GGML: IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS,
 * IQ2_S, IQ3_XXS, IQ3_S (codebook types: groups of 8 or 4 weights are an
 * index into a fixed grid of lattice points, with separate signs), IQ4_NL
 * and IQ4_XS (a non-linear 16-level table).  Block layouts, codebooks and
 * the scalar and AVX2 kernels' contract, internal to the quant module.
 *
 * Every "d" below is an F16 super-scale; the grids hold the magnitudes
 * (or, for IQ1, the signed values -1, 0, 1) of each weight, byte j of an
 * entry being weight j of its group.
 */
#ifndef R1_QUANT_IQ_H
#define R1_QUANT_IQ_H

#include <stdint.h>
#include <string.h>

#include "quant.h"

#define QK4_NL 32

/*
 * IQ2_XXS: 8 groups of 32.  qs[4g..4g+3] (8 bytes) describe group g: the
 * low 4 bytes are 4 indices into iq2xxs_grid (8 weights each); the high
 * 32 bits hold 4 x 7 sign bits (ksigns_iq2xs) and, in bits 28-31, the
 * scale s: weight = d * (0.5 + s) / 4 * grid * sign.
 */
struct block_iq2_xxs {
	ggml_half	 d;
	uint16_t	 qs[QK_K / 8];
};
_Static_assert(sizeof(struct block_iq2_xxs) == 66, "block_iq2_xxs size");

/*
 * IQ2_XS: qs[i] is a 9-bit index into iq2xs_grid and 7 sign bits; the
 * 4-bit scales of the two halves (16 weights) of group g are the nibbles
 * of scales[g]: d * (0.5 + s) / 4.
 */
struct block_iq2_xs {
	ggml_half	 d;
	uint16_t	 qs[QK_K / 8];
	uint8_t		 scales[QK_K / 32];
};
_Static_assert(sizeof(struct block_iq2_xs) == 74, "block_iq2_xs size");

/*
 * IQ2_S: qs[0..31] the low 8 bits of 10-bit iq2s_grid indices, the high 2
 * bits of index l of group g in bits 2l.. of qh[g]; qs[32..63] one byte of
 * 8 explicit sign bits per 8 weights; scales as IQ2_XS.
 */
struct block_iq2_s {
	ggml_half	 d;
	uint8_t		 qs[QK_K / 4];
	uint8_t		 qh[QK_K / 32];
	uint8_t		 scales[QK_K / 32];
};
_Static_assert(sizeof(struct block_iq2_s) == 82, "block_iq2_s size");

/*
 * IQ3_XXS: qs[0..63] indices into iq3xxs_grid (4 weights each); then one
 * 32-bit word per group of 32: 4 x 7 sign bits and the scale in bits
 * 28-31, d * (0.5 + s) / 2.
 */
struct block_iq3_xxs {
	ggml_half	 d;
	uint8_t		 qs[3 * QK_K / 8];
};
_Static_assert(sizeof(struct block_iq3_xxs) == 98, "block_iq3_xxs size");

/*
 * IQ3_S: 9-bit iq3s_grid indices, low 8 bits in qs, the ninth of index k
 * of group g in bit k of qh[g]; 8 explicit sign bits per 8 weights; the
 * 4-bit scales of groups 2i and 2i+1 are the nibbles of scales[i]:
 * d * (1 + 2 s).
 */
struct block_iq3_s {
	ggml_half	 d;
	uint8_t		 qs[QK_K / 4];
	uint8_t		 qh[QK_K / 32];
	uint8_t		 signs[QK_K / 8];
	uint8_t		 scales[QK_K / 64];
};
_Static_assert(sizeof(struct block_iq3_s) == 110, "block_iq3_s size");

/*
 * IQ1_S: 11-bit iq1s_grid indices (values -1, 0, 1), low 8 bits in qs;
 * qh[g] holds the high 3 bits of group g's 4 indices (bits 0-11), its
 * scale s (bits 12-14) and the sign of its shift (bit 15): weight =
 * d * (2 s + 1) * (grid +- IQ1S_DELTA).
 */
struct block_iq1_s {
	ggml_half	 d;
	uint8_t		 qs[QK_K / 8];
	uint16_t	 qh[QK_K / 32];
};
_Static_assert(sizeof(struct block_iq1_s) == 50, "block_iq1_s size");

/*
 * IQ1_M: qs as IQ1_S; qh[2g], qh[2g+1] give each of group g's 4 indices
 * its high 3 bits (nibble bits 0-2) and the sign of its own shift (bit
 * 3); scales holds 3-bit scales for each half group (16 weights), 4 to a
 * 16-bit word, and the F16 super-scale in the words' top nibbles.
 */
struct block_iq1_m {
	uint8_t		 qs[QK_K / 8];
	uint8_t		 qh[QK_K / 16];
	uint8_t		 scales[QK_K / 32];
};
_Static_assert(sizeof(struct block_iq1_m) == 56, "block_iq1_m size");

/* IQ4_NL: 32 weights = d * kvalues_iq4nl[q], q 4-bit as in Q4_0. */
struct block_iq4_nl {
	ggml_half	 d;
	uint8_t		 qs[QK4_NL / 2];
};
_Static_assert(sizeof(struct block_iq4_nl) == 18, "block_iq4_nl size");

/*
 * IQ4_XS: 8 groups of 32 as IQ4_NL, each with a 6-bit scale s (low 4
 * bits in the nibbles of scales_l, high 2 in scales_h): d * (s - 32).
 */
struct block_iq4_xs {
	ggml_half	 d;
	uint16_t	 scales_h;
	uint8_t		 scales_l[QK_K / 64];
	uint8_t		 qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_iq4_xs) == 136, "block_iq4_xs size");

#define IQ1S_DELTA 0.125f
#define IQ1M_DELTA 0.125f

/*
 * A 256-weight i-quant block as (d * ls[k / 16]) * q[k]: the formats'
 * factors with their powers of two moved into d, exactly (quant-iq.c).
 */
struct iq_unpacked {
	float	d;
	int	ls[QK_K / 16];
	int8_t	q[QK_K];
};

typedef void (*iq_unpack_fn)(const void *, struct iq_unpacked *);

/* The unpacker of a 256-weight i-quant type, or NULL. */
iq_unpack_fn quant_iq_unpacker(enum ggml_type t);

/* The codebooks (quant-iq-tables.c). */
extern const uint64_t iq2xxs_grid[256];
extern const uint64_t iq2xs_grid[512];
extern const uint64_t iq2s_grid[1024];
extern const uint32_t iq3xxs_grid[256];
extern const uint32_t iq3s_grid[512];
extern const uint64_t iq1s_grid[2048];
/* 7 sign bits plus an eighth that makes the count of minus signs even. */
extern const uint8_t ksigns_iq2xs[128];
extern const int8_t kvalues_iq4nl[16];

/* The F16 super-scale of an IQ1_M block, from its scales' top nibbles. */
static inline ggml_half
iq1m_scale(const struct block_iq1_m *b)
{
	uint16_t	sc[4];

	memcpy(sc, b->scales, sizeof sc);
	return (ggml_half)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) |
	    ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
}

/* The 6-bit scale of group g (0..7) of an IQ4_XS block, unbiased. */
static inline int
iq4xs_scale(const struct block_iq4_xs *b, int g)
{
	return (((b->scales_l[g / 2] >> 4 * (g % 2)) & 0xf) |
	    (((b->scales_h >> 2 * g) & 3) << 4)) - 32;
}

/* Scalar kernels (quant-iq.c). */
void dequantize_row_iq2_xxs(const void *x, float *y, int64_t n);
void dequantize_row_iq2_xs(const void *x, float *y, int64_t n);
void dequantize_row_iq2_s(const void *x, float *y, int64_t n);
void dequantize_row_iq3_xxs(const void *x, float *y, int64_t n);
void dequantize_row_iq3_s(const void *x, float *y, int64_t n);
void dequantize_row_iq1_s(const void *x, float *y, int64_t n);
void dequantize_row_iq1_m(const void *x, float *y, int64_t n);
void dequantize_row_iq4_nl(const void *x, float *y, int64_t n);
void dequantize_row_iq4_xs(const void *x, float *y, int64_t n);

/* ggml's IQ4 quantizers without an importance matrix (same bytes). */
void quantize_row_iq4_nl_ref(const float *x, void *y, int64_t n);
void quantize_row_iq4_xs_ref(const float *x, void *y, int64_t n);

void vec_dot_iq2_xxs_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq2_xs_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq2_s_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq3_xxs_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq3_s_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq1_s_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq1_m_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_iq4_nl_q8_0(int n, float *s, const void *x, const void *y);
void vec_dot_iq4_xs_q8_K(int n, float *s, const void *x, const void *y);

/*
 * The i-quants' part of the avx2 and avx512 paths' installs (quant.c's
 * path table; quant-impl.h says what an install may do).
 * quant_iq_register_avx2 overwrites the i-quant vec_dots with those of
 * quant-iq-avx2.c (the same bits as the scalar dots' integer parts);
 * quant_iq_register_avx512 installs quant-iq-avx512.c's prompt tiles and
 * dots when AVX-512 VNNI runs.
 */
void quant_iq_register_avx2(struct quant_traits *table);
void quant_iq_register_avx512(struct quant_traits *table);

#endif
