/*
 * quant.c - the traits table and the choice of kernels at start-up.
 *
 * The scalar table is the reference every path starts from; a path's
 * table (quant_path_table) copies it and has the path and each of its
 * ancestors (the path table, quant_isa_table) install, from the root
 * down, what they do faster.  quant_init takes the path the CPU model
 * suggests, or R1CHAT_ISA's, as the base, and quant-calib.c each type's
 * kernels from the path measured fastest.  Adding a type means adding
 * one row here and its functions in quant-ref.c (quant-iq.c for an
 * i-quant); adding a path, one row in the path table naming its parent,
 * and its install functions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "quant-impl.h"
#include "quant-iq.h"
#include "util.h"

#define TRAITS(T, n, b, to, ref, from, dot, vt) \
	[GGML_TYPE_##T] = { .name = n, .blck = b, .size = 0, .to_float = to, \
	    .from_float_ref = ref, .from_float = from, .vec_dot = dot, \
	    .vec_dot_type = GGML_TYPE_##vt }

static const struct quant_traits quant_scalar[GGML_TYPE_COUNT] = {
	TRAITS(F32, "F32", 1, dequantize_row_f32, quantize_row_f32,
	    quantize_row_f32, vec_dot_f32_f32, F32),
	TRAITS(F16, "F16", 1, dequantize_row_f16, quantize_row_f16_ref,
	    quantize_row_f16_ref, vec_dot_f16_f32, F32),
	TRAITS(BF16, "BF16", 1, dequantize_row_bf16, quantize_row_bf16_ref,
	    quantize_row_bf16_ref, vec_dot_bf16_f32, F32),
	TRAITS(Q4_0, "Q4_0", QK4_0, dequantize_row_q4_0,
	    quantize_row_q4_0_ref, quantize_row_q4_0_ref, vec_dot_q4_0_q8_0,
	    Q8_0),
	TRAITS(Q4_1, "Q4_1", QK4_1, dequantize_row_q4_1,
	    quantize_row_q4_1_ref, quantize_row_q4_1_ref, vec_dot_q4_1_q8_1,
	    Q8_1),
	TRAITS(Q5_0, "Q5_0", QK5_0, dequantize_row_q5_0,
	    quantize_row_q5_0_ref, quantize_row_q5_0_ref, vec_dot_q5_0_q8_0,
	    Q8_0),
	TRAITS(Q5_1, "Q5_1", QK5_1, dequantize_row_q5_1,
	    quantize_row_q5_1_ref, quantize_row_q5_1_ref, vec_dot_q5_1_q8_1,
	    Q8_1),
	TRAITS(Q8_0, "Q8_0", QK8_0, dequantize_row_q8_0,
	    quantize_row_q8_0_ref, quantize_row_q8_0_ref, vec_dot_q8_0_q8_0,
	    Q8_0),
	/* Q8_1 exists only as an activation format: no dot of its own. */
	TRAITS(Q8_1, "Q8_1", QK8_1, dequantize_row_q8_1,
	    quantize_row_q8_1_ref, quantize_row_q8_1_ref, NULL, Q8_1),
	TRAITS(Q2_K, "Q2_K", QK_K, dequantize_row_q2_K,
	    quantize_row_q2_K_ref, quantize_row_q2_K_ref, vec_dot_q2_K_q8_K,
	    Q8_K),
	TRAITS(Q3_K, "Q3_K", QK_K, dequantize_row_q3_K,
	    quantize_row_q3_K_ref, quantize_row_q3_K_ref, vec_dot_q3_K_q8_K,
	    Q8_K),
	TRAITS(Q4_K, "Q4_K", QK_K, dequantize_row_q4_K,
	    quantize_row_q4_K_ref, quantize_row_q4_K_ref, vec_dot_q4_K_q8_K,
	    Q8_K),
	TRAITS(Q5_K, "Q5_K", QK_K, dequantize_row_q5_K,
	    quantize_row_q5_K_ref, quantize_row_q5_K_ref, vec_dot_q5_K_q8_K,
	    Q8_K),
	TRAITS(Q6_K, "Q6_K", QK_K, dequantize_row_q6_K,
	    quantize_row_q6_K_ref, quantize_row_q6_K_ref, vec_dot_q6_K_q8_K,
	    Q8_K),
	/* Q8_K exists only as an activation format: no dot of its own. */
	TRAITS(Q8_K, "Q8_K", QK_K, dequantize_row_q8_K,
	    quantize_row_q8_K_ref, quantize_row_q8_K_ref, NULL, Q8_K),
	/* The i-quants (quant-iq.c); IQ4_NL pairs with Q8_0 as in ggml. */
	TRAITS(IQ2_XXS, "IQ2_XXS", QK_K, dequantize_row_iq2_xxs, NULL, NULL,
	    vec_dot_iq2_xxs_q8_K, Q8_K),
	TRAITS(IQ2_XS, "IQ2_XS", QK_K, dequantize_row_iq2_xs, NULL, NULL,
	    vec_dot_iq2_xs_q8_K, Q8_K),
	TRAITS(IQ2_S, "IQ2_S", QK_K, dequantize_row_iq2_s, NULL, NULL,
	    vec_dot_iq2_s_q8_K, Q8_K),
	TRAITS(IQ3_XXS, "IQ3_XXS", QK_K, dequantize_row_iq3_xxs, NULL, NULL,
	    vec_dot_iq3_xxs_q8_K, Q8_K),
	TRAITS(IQ3_S, "IQ3_S", QK_K, dequantize_row_iq3_s, NULL, NULL,
	    vec_dot_iq3_s_q8_K, Q8_K),
	TRAITS(IQ1_S, "IQ1_S", QK_K, dequantize_row_iq1_s, NULL, NULL,
	    vec_dot_iq1_s_q8_K, Q8_K),
	TRAITS(IQ1_M, "IQ1_M", QK_K, dequantize_row_iq1_m, NULL, NULL,
	    vec_dot_iq1_m_q8_K, Q8_K),
	TRAITS(IQ4_NL, "IQ4_NL", QK4_NL, dequantize_row_iq4_nl,
	    quantize_row_iq4_nl_ref, quantize_row_iq4_nl_ref,
	    vec_dot_iq4_nl_q8_0, Q8_0),
	TRAITS(IQ4_XS, "IQ4_XS", QK_K, dequantize_row_iq4_xs,
	    quantize_row_iq4_xs_ref, quantize_row_iq4_xs_ref,
	    vec_dot_iq4_xs_q8_K, Q8_K),
};

/* The most installs a path has (struct quant_path). */
#define QUANT_PATH_INSTALLS 2

/*
 * The kernel paths.  Each starts from its parent's kernels (the root,
 * scalar, is its own parent: the table above) and its installs replace
 * and add what it does better, so quant_init installs a path's line of
 * ancestry from the root down.  supported says whether the CPU runs the
 * path, suits (NULL: whenever it runs) whether it is the one to choose.
 */
static const struct quant_path {
	const char	*name;
	enum quant_isa	 parent;
	int		(*supported)(void);
	int		(*suits)(void);
	void		(*install[QUANT_PATH_INSTALLS])(struct quant_traits *);
} quant_isa_table[] = {
	[QUANT_ISA_SCALAR] = {
		.name = "scalar",
		.parent = QUANT_ISA_SCALAR,
	},
	[QUANT_ISA_AVX2] = {
		.name = "avx2",
		.parent = QUANT_ISA_SCALAR,
		.supported = quant_cpu_has_avx2,
		.install = { quant_register_avx2, quant_iq_register_avx2 },
	},
	[QUANT_ISA_AVX512] = {
		.name = "avx512",
		.parent = QUANT_ISA_AVX2,
		.supported = quant_cpu_has_avx512,
		.install = { quant_register_avx512,
		    quant_iq_register_avx512 },
	},
	[QUANT_ISA_AVX512_WIDE] = {
		.name = "avx512-wide",
		.parent = QUANT_ISA_AVX512,
		.supported = quant_cpu_has_avx512,
		.suits = quant_cpu_wide512,
		.install = { quant_register_avx512_wide },
	},
	[QUANT_ISA_AMX] = {
		.name = "amx",
		.parent = QUANT_ISA_AVX512_WIDE,
		.supported = quant_cpu_has_amx,
		.suits = quant_cpu_wide512,
		.install = { quant_register_amx, quant_register_panels },
	},
};
_Static_assert(sizeof quant_isa_table / sizeof quant_isa_table[0] ==
    QUANT_ISA_COUNT, "quant_isa_table: a path without its row");


static struct quant_traits quant_table[GGML_TYPE_COUNT];
static struct quant_choice quant_chosen;
static int quant_ready;

#if defined(__x86_64__) || defined(__i386__)
/* CPUID.1:ECX bit 29; not every compiler's __builtin_cpu_supports knows it. */
static int
quant_cpu_has_f16c(void)
{
	unsigned int	a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c >> 29) & 1;
}
#endif

int
quant_cpu_has_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma") && quant_cpu_has_f16c();
#else
	return 0;
#endif
}

int
quant_cpu_has_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return quant_cpu_has_avx2() &&
	    __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512dq");
#else
	return 0;
#endif
}

int
quant_cpu_has_avx512vnni(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return quant_cpu_has_avx512() &&
	    __builtin_cpu_supports("avx512vnni") &&
	    __builtin_cpu_supports("bmi2");
#else
	return 0;
#endif
}

int
quant_cpu_wide512(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int	a, b, c, d, family;

	__builtin_cpu_init();
	if (__builtin_cpu_is("intel"))
		return 1;
	if (!__builtin_cpu_is("amd") || !__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	family = (a >> 8) & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	return family >= 0x1a;
#else
	return 0;
#endif
}

/* Fills table with the scalar kernels, with the sizes from types.c. */
static void
quant_fill_scalar(struct quant_traits *table)
{
	int	t;

	memcpy(table, quant_scalar, sizeof quant_scalar);
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (table[t].name != NULL)
			table[t].size = type_info(t)->size;
	}
}

void
quant_path_table(enum quant_isa isa, struct quant_traits *table)
{
	enum quant_isa	line[QUANT_ISA_COUNT];
	size_t		i, n, k;

	/* isa's line up to the root, then installed from the root down */
	for (n = 0, i = isa; quant_isa_table[i].parent != i;
	    i = quant_isa_table[i].parent)
		line[n++] = i;
	quant_fill_scalar(table);
	while (n-- > 0) {
		for (k = 0; k < QUANT_PATH_INSTALLS; k++) {
			if (quant_isa_table[line[n]].install[k] != NULL)
				quant_isa_table[line[n]].install[k](table);
		}
	}
}

int
quant_isa_supported(enum quant_isa isa)
{
	if ((size_t)isa >= QUANT_ISA_COUNT)
		return 0;
	return quant_isa_table[isa].supported == NULL ||
	    quant_isa_table[isa].supported();
}

/* The paths' names as a message lists them: "a, b or c" (malloc'd). */
static char *
quant_isa_list(void)
{
	char	*list, *s;
	size_t	 i;

	list = xstrdup(quant_isa_table[0].name);
	for (i = 1; i < QUANT_ISA_COUNT; i++) {
		s = xstrfmt("%s%s%s", list, i + 1 < QUANT_ISA_COUNT ? ", " :
		    " or ", quant_isa_table[i].name);
		free(list);
		list = s;
	}
	return list;
}

/*
 * The path R1CHAT_ISA names into *isa: 1, or 0 when it is unset; -1
 * with *cause when it names none this CPU runs.
 */
static int
quant_isa_forced(enum quant_isa *isa, char **cause)
{
	const char	*env = getenv("R1CHAT_ISA");
	size_t		 i;
	char		*list;

	if (env == NULL || *env == '\0')
		return 0;
	for (i = 0; i < QUANT_ISA_COUNT; i++) {
		if (strcmp(env, quant_isa_table[i].name) == 0)
			break;
	}
	if (i == QUANT_ISA_COUNT) {
		list = quant_isa_list();
		*cause = xstrfmt("R1CHAT_ISA=%s: not %s", env, list);
		free(list);
		return -1;
	}
	if (!quant_isa_supported(i)) {
		*cause = xstrfmt("R1CHAT_ISA=%s: this CPU cannot run it", env);
		return -1;
	}
	*isa = i;
	return 1;
}

/* The widest path the CPU runs and that suits it: the table is in that
 * order. */
static enum quant_isa
quant_isa_suited(void)
{
	enum quant_isa	isa = QUANT_ISA_SCALAR;
	size_t		i;

	for (i = 0; i < QUANT_ISA_COUNT; i++) {
		if (quant_isa_supported(i) &&
		    (quant_isa_table[i].suits == NULL ||
		    quant_isa_table[i].suits()))
			isa = i;
	}
	return isa;
}

int
quant_init(char **cause)
{
	const char	*calibrate = getenv("R1CHAT_CALIBRATE");
	enum quant_isa	 isa;
	enum quant_how	 how = QUANT_HOW_CACHED;
	char		*warning = NULL;
	int		 forced;

	if ((forced = quant_isa_forced(&isa, cause)) < 0)
		return -1;
	if (forced)
		how = QUANT_HOW_FORCED;
	else {
		isa = quant_isa_suited();
		if (calibrate != NULL && strcmp(calibrate, "0") == 0)
			how = QUANT_HOW_RULE;
	}
	/* an unwritable cache costs a measure a run, nothing more */
	quant_calib_choose(isa, how, &quant_chosen, quant_table, &warning);
	free(warning);
	quant_ready = 1;
	return 0;
}

int
quant_calibrate(char **warning, char **cause)
{
	enum quant_isa	isa;
	int		forced;

	*warning = NULL;
	if ((forced = quant_isa_forced(&isa, cause)) < 0)
		return -1;
	if (forced) {
		*cause = xstrfmt("R1CHAT_ISA=%s forces the kernels: nothing "
		    "to measure", quant_isa_name(isa));
		return -1;
	}
	quant_calib_choose(quant_isa_suited(), QUANT_HOW_MEASURED,
	    &quant_chosen, quant_table, warning);
	quant_ready = 1;
	return 0;
}

const struct quant_choice *
quant_choice(void)
{
	return &quant_chosen;
}

char *
quant_choice_summary(void)
{
	static const char *const uses[QUANT_USE_COUNT] = { "tokens",
	    "prompts" };
	const struct quant_choice	*c = &quant_chosen;
	enum quant_isa			 p;
	char				*s, *t;
	int				 ty, u;

	if (c->how == QUANT_HOW_FORCED)
		return xstrfmt("%s (R1CHAT_ISA)", quant_isa_name(c->base));
	if (c->how == QUANT_HOW_RULE)
		return xstrfmt("%s (by CPU model)", quant_isa_name(c->base));
	s = c->how == QUANT_HOW_MEASURED ? xstrfmt("%s (measured in %.0f "
	    "ms", quant_isa_name(c->base), c->ms) :
	    xstrfmt("%s (measured, cached", quant_isa_name(c->base));
	for (ty = 0; ty < GGML_TYPE_COUNT; ty++) {
		for (u = 0; u < QUANT_USE_COUNT; u++) {
			p = c->pick[ty][u];
			if (p == QUANT_ISA_COUNT || p == c->base)
				continue;
			t = xstrfmt("%s, %s %s %s", s, quant_table[ty].name,
			    uses[u], quant_isa_name(p));
			free(s);
			s = t;
		}
	}
	t = xstrfmt("%s)", s);
	free(s);
	return t;
}

enum quant_isa
quant_isa(void)
{
	return quant_chosen.base;
}

const char *
quant_isa_name(enum quant_isa isa)
{
	if ((size_t)isa >= QUANT_ISA_COUNT)
		return "unknown";
	return quant_isa_table[isa].name;
}

enum quant_isa
quant_isa_parent(enum quant_isa isa)
{
	if ((size_t)isa >= QUANT_ISA_COUNT)
		return QUANT_ISA_SCALAR;
	return quant_isa_table[isa].parent;
}

const struct quant_traits *
quant_traits(enum ggml_type t)
{
	char	*cause;

	/* Forgetting quant_init must not crash: fall back to scalar. */
	if (!quant_ready && quant_init(&cause) != 0) {
		free(cause);
		quant_fill_scalar(quant_table);
		quant_ready = 1;
	}
	if ((unsigned)t >= GGML_TYPE_COUNT || quant_table[t].name == NULL)
		return NULL;
	return &quant_table[t];
}

float
quant_f16_to_f32(ggml_half h)
{
	return quant_h2f(h);
}

ggml_half
quant_f32_to_f16(float f)
{
	return quant_f2h(f);
}

float
quant_bf16_to_f32(ggml_bf16 h)
{
	return quant_bf2f(h);
}

ggml_bf16
quant_f32_to_bf16(float f)
{
	return quant_f2bf(f);
}
