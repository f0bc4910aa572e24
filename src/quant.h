/*
 * quant.h - GGML block formats and the kernels over them.
 *
 * Every type is one row of a traits table: dequantize (to_float),
 * quantize (from_float_ref, the reference; from_float, the fastest, for
 * activations), the dot product of a row of it with a
 * row of its activation type (vec_dot), and which activation type that is.
 * Where a type has them, several-row dots, prompt tiles (struct
 * quant_gemm) and repacked panels (struct quant_panel) too.  The kernel
 * path (enum quant_isa) is chosen once at start-up (quant_init) from
 * cpuid and, per type and use, by measuring, or forced with R1CHAT_ISA
 * (quant_isa_name's names).  Kernels are thread-unaware: ops decides the
 * parallelism.
 */
#ifndef R1_QUANT_H
#define R1_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

typedef uint16_t ggml_half;	/* IEEE binary16 bits */
typedef uint16_t ggml_bf16;	/* bfloat16 bits */

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

/* Q4_0: 32 weights = d * (q - 8), q 4-bit; low nibbles are 0..15, high 16..31. */
struct block_q4_0 {
	ggml_half	 d;
	uint8_t		 qs[QK4_0 / 2];
};
_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 size");

/* Q4_1: 32 weights = d * q + m. */
struct block_q4_1 {
	ggml_half	 d;
	ggml_half	 m;
	uint8_t		 qs[QK4_1 / 2];
};
_Static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1 size");

/* Q5_0: 32 weights = d * (q - 16); qh holds the fifth bits, bit j for weight j. */
struct block_q5_0 {
	ggml_half	 d;
	uint8_t		 qh[4];
	uint8_t		 qs[QK5_0 / 2];
};
_Static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0 size");

/* Q5_1: 32 weights = d * q + m, q 5-bit. */
struct block_q5_1 {
	ggml_half	 d;
	ggml_half	 m;
	uint8_t		 qh[4];
	uint8_t		 qs[QK5_1 / 2];
};
_Static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1 size");

/* Q8_0: 32 weights = d * q, q int8.  Also the activation type of the _0/_1 types' dots. */
struct block_q8_0 {
	ggml_half	 d;
	int8_t		 qs[QK8_0];
};
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 size");

/* Q8_1: as Q8_0 plus s = d * sum(qs), for the dots with an offset m. */
struct block_q8_1 {
	ggml_half	 d;
	ggml_half	 s;
	int8_t		 qs[QK8_1];
};
_Static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1 size");

/*
 * Q2_K: 256 weights in 16 groups of 16; scales[i] low nibble is the
 * group's scale, high nibble its min, both times d / dmin; q 2-bit.
 */
struct block_q2_K {
	uint8_t		 scales[QK_K / 16];
	uint8_t		 qs[QK_K / 4];
	ggml_half	 d;
	ggml_half	 dmin;
};
_Static_assert(sizeof(struct block_q2_K) == 84, "block_q2_K size");

/* Q3_K: 2 low bits in qs, the high bit in hmask, 16 6-bit scales packed in 12 bytes. */
struct block_q3_K {
	uint8_t		 hmask[QK_K / 8];
	uint8_t		 qs[QK_K / 4];
	uint8_t		 scales[12];
	ggml_half	 d;
};
_Static_assert(sizeof(struct block_q3_K) == 110, "block_q3_K size");

/* Q4_K: 8 groups of 32; 6-bit scales and mins packed in 12 bytes; q 4-bit. */
struct block_q4_K {
	ggml_half	 d;
	ggml_half	 dmin;
	uint8_t		 scales[K_SCALE_SIZE];
	uint8_t		 qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_q4_K) == 144, "block_q4_K size");

/* Q5_K: as Q4_K with the fifth bits in qh. */
struct block_q5_K {
	ggml_half	 d;
	ggml_half	 dmin;
	uint8_t		 scales[K_SCALE_SIZE];
	uint8_t		 qh[QK_K / 8];
	uint8_t		 qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_q5_K) == 176, "block_q5_K size");

/* Q6_K: 16 groups of 16 with int8 scales; 4 low bits in ql, 2 high in qh; q - 32. */
struct block_q6_K {
	uint8_t		 ql[QK_K / 2];
	uint8_t		 qh[QK_K / 4];
	int8_t		 scales[QK_K / 16];
	ggml_half	 d;
};
_Static_assert(sizeof(struct block_q6_K) == 210, "block_q6_K size");

/* Q8_K: the activation type of the K-quants' dots; bsums are sums of 16 qs. */
struct block_q8_K {
	float		 d;
	int8_t		 qs[QK_K];
	int16_t		 bsums[QK_K / 16];
};
_Static_assert(sizeof(struct block_q8_K) == 292, "block_q8_K size");

typedef void (*quant_to_float_fn)(const void *x, float *y, int64_t n);
typedef void (*quant_from_float_fn)(const float *x, void *y, int64_t n);
/* *s = dot(x, y) over n elements: x a row of the weight type, y of its vec_dot_type. */
typedef void (*quant_vec_dot_fn)(int n, float *s, const void *x,
    const void *y);
/*
 * s[t] = dot(x, row t of y) for t < 4, the rows by bytes apart: each
 * result has the bits vec_dot would give it (a weight block is decoded
 * once for the 4 rows).
 */
typedef void (*quant_vec_dot_x4_fn)(int n, float *s, const void *x,
    const void *y, size_t by);
/*
 * s[r] = dot(row r of x, y) for r < QUANT_DOT_ROWS, the rows bx bytes
 * apart: one token against several weight rows, its activations loaded
 * once; each result has the bits vec_dot would give it.
 */
#define QUANT_DOT_ROWS 4
typedef void (*quant_vec_dot_rows_fn)(int n, float *s, const void *x,
    const void *y, size_t bx);

/*
 * Matrix products for prompts (several tokens against the same weights),
 * where a type has them: rows weight rows at a time (QUANT_GEMM_ROWS for
 * the AVX-512 tiles) are repacked into a scratch tile whose layout suits
 * the kernel, then multiplied with every token, whose activations were
 * packed once per matmul.  Rows of n elements are cut into panels of panel elements, the
 * last one padded with zeros.  Results differ from vec_dot's by float
 * rounding only (the integer products are exact in both).
 */
#define QUANT_GEMM_ROWS 4

struct quant_gemm {
	int	 panel;		/* elements per panel */
	size_t	 act_panel;	/* bytes per panel of a packed activation row */
	size_t	 w_panel;	/* bytes per panel of a packed tile */
	/* Quantizes and packs n floats (a whole number of the activation
	 * type's blocks) into ceil(n / panel) panels at a. */
	void	(*pack_act)(const float *x, void *a, int n);
	/* Packs rows 0 .. nrows - 1 (nrows <= rows) of n weights,
	 * wrow bytes apart, into a tile at p; missing rows are zeros. */
	void	(*pack_w)(const void *w, size_t wrow, int nrows, void *p,
		    int n);
	/* y[t * ldy + r] = dot(row r of the tile, activation row t) for r <
	 * nrows, t < ntok; activation rows are arow bytes apart. */
	void	(*tile)(int n, const void *p, const void *a, size_t arow,
		    int ntok, float *y, size_t ldy, int nrows);
	int	 rows;		/* weight rows a tile (nrows at most this) */
	int	 toks;		/* tokens packed together (1: pack_act) */
	/* With toks > 1, instead of pack_act: packs ntok <= toks rows of n
	 * floats, n apart, into the toks * arow bytes at a (the rows past
	 * ntok as zeros), one chunk. */
	void	(*pack_acts)(const float *x, int ntok, void *a, int n);
};

/*
 * A type's weights repacked at load into panels of QUANT_PANEL_ROWS rows
 * (model.c), in a layout of the kernels' own (quant-panel.c says which),
 * one after another, each size(n) bytes and 64-byte aligned.  Its dots
 * take activations in a form of their own (act_size, quantize).
 * Results differ from vec_dot's by float rounding only.
 */
#define QUANT_PANEL_ROWS 16

struct quant_panel {
	int	 cols_multiple;	/* a repacked row's elements: a multiple */
	/* Bytes a panel of rows of n elements takes (a multiple of 64). */
	size_t	(*size)(int n);
	/* Repacks QUANT_PANEL_ROWS rows of n elements, wrow bytes apart,
	 * into the panel at p (size(n) bytes). */
	void	(*repack)(const void *w, size_t wrow, void *p, int n);
	/* Bytes a row of n activations takes, quantized for dot. */
	size_t	(*act_size)(int n);
	void	(*quantize)(const float *x, void *a, int n);
	/* s[r] = dot(row r of the panel p, a) for r < QUANT_PANEL_ROWS. */
	void	(*dot)(int n, float *s, const void *p, const void *a);
	/* Several tokens: pack_w is given a panel (nrows: all its rows;
	 * wrow: the rows' bytes as stored, unused). */
	const struct quant_gemm *gemm;
};

struct quant_traits {
	const char		*name;
	int			 blck;		/* elements per block */
	size_t			 size;		/* bytes per block */
	quant_to_float_fn	 to_float;
	quant_from_float_fn	 from_float_ref;	/* reference quantizer */
	quant_from_float_fn	 from_float;	/* fastest quantizer (activations) */
	quant_vec_dot_fn	 vec_dot;
	quant_vec_dot_x4_fn	 vec_dot_x4;	/* or NULL */
	quant_vec_dot_rows_fn	 vec_dot_rows;	/* or NULL */
	enum ggml_type		 vec_dot_type;
	const struct quant_gemm	*gemm;		/* prompt kernels, or NULL */
	const struct quant_panel *panel;	/* repacked kernels, or NULL */
};

/*
 * The kernel paths, narrowest first.  Each but SCALAR has a parent
 * (quant_isa_parent) whose kernels it starts from: AVX2's is SCALAR,
 * AVX512's AVX2, and so on down the list.  AVX512 and AVX512_WIDE differ
 * in the single-token dots only: 256-bit vectors (for cores that split
 * 512-bit ones into halves, as Zen 4) or 512-bit ones; AMX is
 * AVX512_WIDE with Intel's tile unit for the prompt tiles of Q8_0, Q4_K
 * and Q6_K, and the repacked panels of Q8_0 and Q4_K.
 */
enum quant_isa {
	QUANT_ISA_SCALAR, QUANT_ISA_AVX2, QUANT_ISA_AVX512,
	QUANT_ISA_AVX512_WIDE, QUANT_ISA_AMX,
	QUANT_ISA_COUNT		/* not a path: how many there are */
};

/*
 * Chooses the kernels for this CPU, or those R1CHAT_ISA names.  Without
 * R1CHAT_ISA, the path the CPU model suggests is the base (quant_isa),
 * and each type's kernels for each use (enum quant_use) are those of
 * the path measured fastest on this machine (quant-calib.c): read from
 * the cache of an earlier measure of this CPU model and version, else
 * measured now and cached.  R1CHAT_CALIBRATE=0 keeps the base's kernels
 * for everything, unmeasured.  Returns 0, or -1 with *cause set
 * (malloc'd) when R1CHAT_ISA names a path this CPU cannot run or an
 * unknown one.  Safe to call more than once.
 */
int quant_init(char **cause);

/*
 * What a type's kernels are chosen for: a token at a time (vec_dot, its
 * several-row and 4-token forms, a panel's dots) and prompts (the gemm
 * tiles, a panel's).
 */
enum quant_use {
	QUANT_USE_TOKENS, QUANT_USE_PROMPTS,
	QUANT_USE_COUNT		/* not a use: how many there are */
};

/* How quant_init came by its choice. */
enum quant_how {
	QUANT_HOW_RULE,		/* the CPU model's path (R1CHAT_CALIBRATE=0) */
	QUANT_HOW_FORCED,	/* R1CHAT_ISA's */
	QUANT_HOW_CACHED,	/* an earlier measure on this CPU model */
	QUANT_HOW_MEASURED	/* measured by this process */
};

struct quant_choice {
	enum quant_how	 how;
	enum quant_isa	 base;		/* quant_isa() */
	/* The path whose kernels type t runs for use u; QUANT_ISA_COUNT
	 * where no path has kernels of t for u. */
	enum quant_isa	 pick[GGML_TYPE_COUNT][QUANT_USE_COUNT];
	/* QUANT_HOW_MEASURED: nanoseconds of the best pass of each path
	 * over the test matrix; 0 where a path has no kernel or does not
	 * run here. */
	double		 ns[GGML_TYPE_COUNT][QUANT_USE_COUNT][QUANT_ISA_COUNT];
	double		 ms;		/* the measure's wall time */
};

/* Returns how quant_init chose the kernels. */
const struct quant_choice *quant_choice(void);

/*
 * Measures the kernels again, installs the fastest and rewrites the
 * cache (r1chat bench --calibrate).  Returns 0, with *warning set
 * (malloc'd) when the cache could not be written; -1 with *cause when
 * R1CHAT_ISA forces a path.
 */
int quant_calibrate(char **warning, char **cause);

/*
 * The choice in one short line, malloc'd: "avx2 (measured)", with the
 * types and uses whose kernels are another path's after it.
 */
char *quant_choice_summary(void);

/* Returns the path quant_init made the base (R1CHAT_ISA's, when set). */
enum quant_isa quant_isa(void);
/* Returns isa's name, as R1CHAT_ISA takes it ("unknown" past the list). */
const char *quant_isa_name(enum quant_isa isa);
/* Returns the path isa starts from; SCALAR's is SCALAR itself. */
enum quant_isa quant_isa_parent(enum quant_isa isa);

/* Returns 1 when this CPU can run the kernels of isa, else 0 (it may
 * run them and yet not choose them: quant_init takes the widest path
 * that suits it). */
int quant_isa_supported(enum quant_isa isa);

/*
 * Returns the traits of type t for the chosen ISA, or NULL when r1chat
 * has no kernels for t.  quant_init must have been called.
 */
const struct quant_traits *quant_traits(enum ggml_type t);

/* Scalar conversions. */
float quant_f16_to_f32(ggml_half h);
ggml_half quant_f32_to_f16(float f);
float quant_bf16_to_f32(ggml_bf16 h);
ggml_bf16 quant_f32_to_bf16(float f);

#endif
