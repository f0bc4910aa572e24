/*
 * quant-impl.h - internal to the quant module: the scalar kernels, the
 * helpers every kernel shares, and the contract with the SIMD files.
 *
 * quant.c builds a table of struct quant_traits indexed by ggml_type from
 * the scalar functions declared here, then hands it to the installs of
 * the path chosen at start-up and of its ancestors, root first (the
 * quant_register_* functions below and quant-iq.h's), which overwrite
 * the entries of the types they have faster kernels for.  Everything a
 * SIMD kernel must agree with bit for bit (the block layouts, the scale
 * packing, the activation formats) is here or in quant.h.
 *
 * Every function takes whole blocks: n is a multiple of the type's block
 * size (the caller checks).  All take void pointers so they fit the
 * traits' function types without casts.
 */
#ifndef R1_QUANT_IMPL_H
#define R1_QUANT_IMPL_H

#include <stdint.h>
#include <string.h>

#include "quant.h"

#include "simd.h"

/*
 * Exact IEEE binary16 <-> binary32, inline because every kernel converts
 * a scale per block.  F32 -> F16 rounds to nearest even, keeps
 * subnormals, overflows to infinity, and makes a NaN quiet keeping its
 * top payload bits (as F16C's vcvtps2ph does, so SIMD and scalar agree).
 */
static inline float
quant_h2f(ggml_half h)
{
	uint32_t	sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t	e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
	float		f;

	if (e == 0x1f)
		u = sign | 0x7f800000 | (m << 13);
	else if (e != 0)
		u = sign | ((e + 112) << 23) | (m << 13);
	else {
		/* A subnormal half is m * 2^-24: exact as a float. */
		f = (float)m * 0x1p-24f;
		memcpy(&u, &f, sizeof u);
		u |= sign;
	}
	memcpy(&f, &u, sizeof f);
	return f;
}

static inline ggml_half
quant_f2h(float f)
{
	uint32_t	u, a, sign, mant, r, rem, half;
	int		e, shift;

	memcpy(&u, &f, sizeof u);
	sign = (u >> 16) & 0x8000;
	a = u & 0x7fffffff;
	if (a > 0x7f800000)
		return (ggml_half)(sign | 0x7e00 | ((a >> 13) & 0x3ff));
	if (a >= 0x477ff000)		/* >= 65520 rounds to infinity */
		return (ggml_half)(sign | 0x7c00);
	e = (int)(a >> 23);
	if (a >= 0x38800000) {		/* normal half */
		r = ((uint32_t)(e - 112) << 10) | ((a >> 13) & 0x3ff);
		rem = a & 0x1fff;
		if (rem > 0x1000 || (rem == 0x1000 && (r & 1)))
			r++;
		return (ggml_half)(sign | r);
	}
	if (e < 102)		/* below half the smallest subnormal */
		return (ggml_half)sign;
	/* Subnormal half: the value in units of 2^-24, rounded to even. */
	mant = (a & 0x7fffff) | 0x800000;
	shift = 126 - e;
	r = mant >> shift;
	rem = mant & ((1u << shift) - 1);
	half = 1u << (shift - 1);
	if (rem > half || (rem == half && (r & 1)))
		r++;
	return (ggml_half)(sign | r);
}

static inline float
quant_bf2f(ggml_bf16 h)
{
	uint32_t	u = (uint32_t)h << 16;
	float		f;

	memcpy(&f, &u, sizeof f);
	return f;
}

/* As ggml: round to nearest even; a NaN is made quiet, never infinity. */
static inline ggml_bf16
quant_f2bf(float f)
{
	uint32_t	u;

	memcpy(&u, &f, sizeof u);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (ggml_bf16)((u >> 16) | 64);
	return (ggml_bf16)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/*
 * Round to the nearest integer, ties to even, for |f| < 2^22: adding
 * 1.5 * 2^23 leaves the integer in the low mantissa bits.  Garbage but
 * no undefined behaviour beyond that range (NaN and infinity included).
 */
static inline int
nearest_int(float f)
{
	float	v = f + 12582912.f;
	int32_t	i;

	memcpy(&i, &v, sizeof i);
	return (i & 0x007fffff) - 0x00400000;
}

/*
 * The activation side of the dots.
 *
 * F32, F16 and BF16 weights are dotted with F32 activations (vec_dot_type
 * F32): converting the weight to F32 is exact, so the dot is as precise as
 * F32 arithmetic allows, and the F32 "quantizer" is a copy.  (ggml rounds
 * the activations to F16/BF16 instead; we prefer the extra precision.)
 * Q4_0, Q5_0, Q8_0 dot with Q8_0; Q4_1, Q5_1 with Q8_1; the K-quants with
 * Q8_K.
 */

/* Reference activation quantizers: what every SIMD version must match. */
void quantize_row_f32(const float *x, void *y, int64_t n);
void quantize_row_q8_0_ref(const float *x, void *y, int64_t n);
void quantize_row_q8_1_ref(const float *x, void *y, int64_t n);
void quantize_row_q8_K_ref(const float *x, void *y, int64_t n);

/* Dequantizers (to_float). */
void dequantize_row_f32(const void *x, float *y, int64_t n);
void dequantize_row_f16(const void *x, float *y, int64_t n);
void dequantize_row_bf16(const void *x, float *y, int64_t n);
void dequantize_row_q4_0(const void *x, float *y, int64_t n);
void dequantize_row_q4_1(const void *x, float *y, int64_t n);
void dequantize_row_q5_0(const void *x, float *y, int64_t n);
void dequantize_row_q5_1(const void *x, float *y, int64_t n);
void dequantize_row_q8_0(const void *x, float *y, int64_t n);
void dequantize_row_q8_1(const void *x, float *y, int64_t n);
void dequantize_row_q2_K(const void *x, float *y, int64_t n);
void dequantize_row_q3_K(const void *x, float *y, int64_t n);
void dequantize_row_q4_K(const void *x, float *y, int64_t n);
void dequantize_row_q5_K(const void *x, float *y, int64_t n);
void dequantize_row_q6_K(const void *x, float *y, int64_t n);
void dequantize_row_q8_K(const void *x, float *y, int64_t n);

/*
 * Reference quantizers (from_float_ref): ggml's arithmetic without an
 * importance matrix, so the bytes equal llama.cpp's for the same input.
 */
void quantize_row_f16_ref(const float *x, void *y, int64_t n);
void quantize_row_bf16_ref(const float *x, void *y, int64_t n);
void quantize_row_q4_0_ref(const float *x, void *y, int64_t n);
void quantize_row_q4_1_ref(const float *x, void *y, int64_t n);
void quantize_row_q5_0_ref(const float *x, void *y, int64_t n);
void quantize_row_q5_1_ref(const float *x, void *y, int64_t n);
void quantize_row_q2_K_ref(const float *x, void *y, int64_t n);
void quantize_row_q3_K_ref(const float *x, void *y, int64_t n);
void quantize_row_q4_K_ref(const float *x, void *y, int64_t n);
void quantize_row_q5_K_ref(const float *x, void *y, int64_t n);
void quantize_row_q6_K_ref(const float *x, void *y, int64_t n);

/* Scalar dots: *s = sum over n of x[i] * y[i], x the weight row. */
void vec_dot_f32_f32(int n, float *s, const void *x, const void *y);
void vec_dot_f16_f32(int n, float *s, const void *x, const void *y);
void vec_dot_bf16_f32(int n, float *s, const void *x, const void *y);
void vec_dot_q4_0_q8_0(int n, float *s, const void *x, const void *y);
void vec_dot_q4_1_q8_1(int n, float *s, const void *x, const void *y);
void vec_dot_q5_0_q8_0(int n, float *s, const void *x, const void *y);
void vec_dot_q5_1_q8_1(int n, float *s, const void *x, const void *y);
void vec_dot_q8_0_q8_0(int n, float *s, const void *x, const void *y);
void vec_dot_q2_K_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_q3_K_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_q4_K_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_q5_K_q8_K(int n, float *s, const void *x, const void *y);
void vec_dot_q6_K_q8_K(int n, float *s, const void *x, const void *y);

/*
 * The SIMD files' installs, one or more a path (quant.c's path table).
 * Each is handed table (GGML_TYPE_COUNT entries, indexed by ggml_type)
 * as the installs of its path's ancestors left it, and overwrites the
 * entries it has faster kernels for (vec_dot and its several-row forms,
 * from_float, gemm, panel), and only those: it never calls another
 * path's install.  It must not touch
 * from_float_ref or to_float's results (a faster to_float must give the
 * same bits).  A from_float override must give the reference's bytes
 * (the same scale, bit for bit), except that a value within a rounding
 * error of halfway between two integers after scaling may round either
 * way (ggml's own SIMD computes 127 / amax and rounds ties to even, its
 * reference 1 / (amax / 127) and away from zero); sums it stores (Q8_1's
 * s, Q8_K's bsums) are those of its own values.  tests/test-quant.c
 * checks this.  Called only when the path's supported check is true.
 */
/* avx2: the AVX2 dots and activation quantizers (quant-avx2.c). */
void quant_register_avx2(struct quant_traits *table);
/* avx512: the VNNI prompt tiles and 256-bit K-quant dots, when AVX-512
 * VNNI runs (quant-avx512.c). */
void quant_register_avx512(struct quant_traits *table);
/* avx512-wide: the 512-bit single-token dots, when VNNI runs. */
void quant_register_avx512_wide(struct quant_traits *table);
/* amx: the AMX prompt tiles (quant-amx.c). */
void quant_register_amx(struct quant_traits *table);
/* amx: the repacked panels (quant-panel.c). */
void quant_register_panels(struct quant_traits *table);

/*
 * Fills table (GGML_TYPE_COUNT entries) with path isa's kernels: the
 * scalar table, then the installs of isa's line of ancestry, root
 * first.  isa must run on this CPU.
 */
void quant_path_table(enum quant_isa isa, struct quant_traits *table);

/*
 * quant-calib.c: per type and use, the path among those this CPU runs
 * whose kernels run, into c, and the table of those kernels into table.
 * base is the path the CPU model suggests (or R1CHAT_ISA's): its table
 * gives what is not chosen per use (to_float, the activations'
 * from_float), and its kernels stay unless another's are clearly
 * faster.  how says how to choose: QUANT_HOW_RULE and _FORCED take
 * base's kernels for everything; _CACHED the cache's choice when it
 * holds this CPU model's and version's, else measures as _MEASURED
 * does, which measures and caches what it chose; c->how says which it
 * was.  *warning (malloc'd) says why the cache could not be written,
 * when it could not.
 */
void quant_calib_choose(enum quant_isa base, enum quant_how how,
    struct quant_choice *c, struct quant_traits *table, char **warning);

/*
 * quant-wisdom.c: the cache of quant-calib.c's choices, a text file
 * under $XDG_CACHE_HOME/r1chat/.  quant_wisdom_path returns its path
 * (malloc'd), or NULL with no cache directory; quant_wisdom_key a line
 * naming this CPU model and r1chat's version (malloc'd).
 * quant_wisdom_read fills pick (QUANT_ISA_COUNT: no line) from the file
 * at path and returns 0 when its key is key and each line names a type
 * of names (a table, for the types' names), a use and a path; else -1,
 * pick undefined.  quant_wisdom_write writes the picks that are not
 * QUANT_ISA_COUNT under key, into a temporary file renamed to path, and
 * returns 0, or -1 with *cause.
 */
char *quant_wisdom_path(void);
char *quant_wisdom_key(void);
int quant_wisdom_read(const char *path, const char *key,
    const struct quant_traits *names,
    enum quant_isa pick[GGML_TYPE_COUNT][QUANT_USE_COUNT]);
int quant_wisdom_write(const char *path, const char *key,
    const struct quant_traits *names,
    enum quant_isa pick[GGML_TYPE_COUNT][QUANT_USE_COUNT], char **cause);

/*
 * The avx2 path's Q8_0 and Q8_K from_float, for the kernels of the paths
 * that descend from it which quantize activations into layouts of their
 * own (they call these directly, rather than reading the table).
 */
void quantize_row_q8_0_avx2(const float *x, void *y, int64_t n);
void quantize_row_q8_K_avx2(const float *x, void *y, int64_t n);

/* cpuid: AVX2 with FMA and F16C; AVX-512 F, BW, VL, DQ; AVX-512 VNNI
 * with BMI2. */
int quant_cpu_has_avx2(void);
int quant_cpu_has_avx512(void);
int quant_cpu_has_avx512vnni(void);
/* Whether the cores run 512-bit vectors at full width: AMD from Zen 5
 * (family 1Ah) on, Intel's AVX-512 cores; not Zen 4, which splits them. */
int quant_cpu_wide512(void);
/* AVX-512 VNNI, AMX-TILE and AMX-INT8, and the kernel lets this process
 * use the tiles (asked for here, once is enough). */
int quant_cpu_has_amx(void);

/*
 * The 6-bit scale and min of group j (0..7) of a Q4_K or Q5_K block, from
 * its 12 packed bytes: groups 0-3 in the low 6 bits of bytes j and j+4;
 * groups 4-7 take their low 4 bits from byte j+8 and their high 2 bits
 * from the top of bytes j-4 and j.
 */
static inline void
quant_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

/*
 * The 8 scales and 8 mins of a Q4_K or Q5_K block (the packing
 * quant_k4_scale_min describes), four at a time, as the bytes of four
 * little-endian words: v[0] scales 0-3, v[1] scales 4-7, v[2] mins 0-3,
 * v[3] mins 4-7.
 */
static inline void
quant_k4_unpack(const uint8_t *q, uint32_t *v)
{
	uint32_t	w[3];

	memcpy(w, q, sizeof w);
	v[0] = w[0] & 0x3f3f3f3f;
	v[1] = (w[2] & 0x0f0f0f0f) | ((w[0] >> 6) & 0x03030303) << 4;
	v[2] = w[1] & 0x3f3f3f3f;
	v[3] = ((w[2] >> 4) & 0x0f0f0f0f) | ((w[1] >> 6) & 0x03030303) << 4;
}

/*
 * The 16 signed 6-bit scales of a Q3_K block (each minus 32), from its 12
 * packed bytes: low 4 bits of scales 0-7 in the low nibbles of bytes 0-7,
 * of 8-15 in their high nibbles; high 2 bits of scale i in bits
 * 2*(i/4 % 4).. of byte 8 + i % 4.
 */
static inline void
quant_k3_scales(const uint8_t *q, int8_t *out)
{
	int	i, lo, hi;

	for (i = 0; i < 16; i++) {
		lo = (i < 8) ? (q[i] & 0xf) : (q[i - 8] >> 4);
		hi = (q[8 + i % 4] >> (2 * (i / 4))) & 3;
		out[i] = (int8_t)((lo | (hi << 4)) - 32);
	}
}

#endif
