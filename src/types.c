/*
 * types.c - GGML type ids, block sizes and file type names (ggml.h,
 * gguf-py constants.py).
 */
#include "config.h"

#include "types.h"

static const struct type_info types[GGML_TYPE_COUNT] = {
	[GGML_TYPE_F32]     = { "F32",      1,   4 },
	[GGML_TYPE_F16]     = { "F16",      1,   2 },
	[GGML_TYPE_Q4_0]    = { "Q4_0",    32,  18 },
	[GGML_TYPE_Q4_1]    = { "Q4_1",    32,  20 },
	[GGML_TYPE_Q5_0]    = { "Q5_0",    32,  22 },
	[GGML_TYPE_Q5_1]    = { "Q5_1",    32,  24 },
	[GGML_TYPE_Q8_0]    = { "Q8_0",    32,  34 },
	[GGML_TYPE_Q8_1]    = { "Q8_1",    32,  36 },
	[GGML_TYPE_Q2_K]    = { "Q2_K",   256,  84 },
	[GGML_TYPE_Q3_K]    = { "Q3_K",   256, 110 },
	[GGML_TYPE_Q4_K]    = { "Q4_K",   256, 144 },
	[GGML_TYPE_Q5_K]    = { "Q5_K",   256, 176 },
	[GGML_TYPE_Q6_K]    = { "Q6_K",   256, 210 },
	[GGML_TYPE_Q8_K]    = { "Q8_K",   256, 292 },
	[GGML_TYPE_IQ2_XXS] = { "IQ2_XXS", 256,  66 },
	[GGML_TYPE_IQ2_XS]  = { "IQ2_XS", 256,  74 },
	[GGML_TYPE_IQ3_XXS] = { "IQ3_XXS", 256,  98 },
	[GGML_TYPE_IQ1_S]   = { "IQ1_S",  256,  50 },
	[GGML_TYPE_IQ4_NL]  = { "IQ4_NL",  32,  18 },
	[GGML_TYPE_IQ3_S]   = { "IQ3_S",  256, 110 },
	[GGML_TYPE_IQ2_S]   = { "IQ2_S",  256,  82 },
	[GGML_TYPE_IQ4_XS]  = { "IQ4_XS", 256, 136 },
	[GGML_TYPE_I8]      = { "I8",       1,   1 },
	[GGML_TYPE_I16]     = { "I16",      1,   2 },
	[GGML_TYPE_I32]     = { "I32",      1,   4 },
	[GGML_TYPE_I64]     = { "I64",      1,   8 },
	[GGML_TYPE_F64]     = { "F64",      1,   8 },
	[GGML_TYPE_IQ1_M]   = { "IQ1_M",  256,  56 },
	[GGML_TYPE_BF16]    = { "BF16",     1,   2 },
};

static const char *ftypes[] = {
	[0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0",
	[8] = "Q5_0", [9] = "Q5_1", [10] = "Q2_K", [11] = "Q3_K_S",
	[12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M",
	[16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS",
	[20] = "IQ2_XS", [21] = "Q2_K_S", [22] = "IQ3_XS", [23] = "IQ3_XXS",
	[24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M",
	[28] = "IQ2_S", [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M",
	[32] = "BF16",
};

const struct type_info *
type_info(uint32_t t)
{
	if (t >= GGML_TYPE_COUNT || types[t].name == NULL)
		return NULL;
	return &types[t];
}

size_t
type_row_size(uint32_t t, int64_t n)
{
	const struct type_info	*ti = type_info(t);

	if (ti == NULL || n <= 0 || n % ti->blck != 0)
		return 0;
	return (size_t)(n / ti->blck) * ti->size;
}

const char *
type_ftype_name(uint32_t ft)
{
	if (ft >= sizeof ftypes / sizeof ftypes[0])
		return NULL;
	return ftypes[ft];
}
