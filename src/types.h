/*
 * types.h - the GGML tensor types as the GGUF format defines them.
 *
 * This is format fact, not computation: ids, block sizes and bytes per
 * block.  It sits below gguf (which validates row sizes with it) and
 * quant (which adds the kernels for each type in its traits table).
 */
#ifndef R1_TYPES_H
#define R1_TYPES_H

#include <stddef.h>
#include <stdint.h>

enum ggml_type {
	GGML_TYPE_F32 = 0,
	GGML_TYPE_F16 = 1,
	GGML_TYPE_Q4_0 = 2,
	GGML_TYPE_Q4_1 = 3,
	/* 4 and 5 were Q4_2 and Q4_3, removed: rejected */
	GGML_TYPE_Q5_0 = 6,
	GGML_TYPE_Q5_1 = 7,
	GGML_TYPE_Q8_0 = 8,
	GGML_TYPE_Q8_1 = 9,
	GGML_TYPE_Q2_K = 10,
	GGML_TYPE_Q3_K = 11,
	GGML_TYPE_Q4_K = 12,
	GGML_TYPE_Q5_K = 13,
	GGML_TYPE_Q6_K = 14,
	GGML_TYPE_Q8_K = 15,
	GGML_TYPE_IQ2_XXS = 16,
	GGML_TYPE_IQ2_XS = 17,
	GGML_TYPE_IQ3_XXS = 18,
	GGML_TYPE_IQ1_S = 19,
	GGML_TYPE_IQ4_NL = 20,
	GGML_TYPE_IQ3_S = 21,
	GGML_TYPE_IQ2_S = 22,
	GGML_TYPE_IQ4_XS = 23,
	GGML_TYPE_I8 = 24,
	GGML_TYPE_I16 = 25,
	GGML_TYPE_I32 = 26,
	GGML_TYPE_I64 = 27,
	GGML_TYPE_F64 = 28,
	GGML_TYPE_IQ1_M = 29,
	GGML_TYPE_BF16 = 30,
	GGML_TYPE_COUNT
};

struct type_info {
	const char	*name;		/* "Q4_K"; NULL for an unused id */
	int		 blck;		/* elements per block */
	size_t		 size;		/* bytes per block */
};

/*
 * Returns the format facts of type id t, or NULL when t is not a type a
 * GGUF file may hold (out of range, or a removed id such as 4 and 5).
 */
const struct type_info *type_info(uint32_t t);

/*
 * Returns the bytes taken by a row of n elements of type t, or 0 when n is
 * not a whole number of t's blocks or t is unknown.
 */
size_t type_row_size(uint32_t t, int64_t n);

/*
 * Returns the name of llama_ftype value ft (general.file_type), such as
 * "Q4_K_M", or NULL when ft is not one.
 */
const char *type_ftype_name(uint32_t ft);

#endif
