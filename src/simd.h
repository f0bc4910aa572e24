/*
 * simd.h - the compiler targets of the x86 kernel paths, each named once.
 *
 * Every SIMD function is compiled for its path's instructions with a
 * target attribute (the build itself targets the baseline x86-64), and
 * runs only where the matching cpuid check in quant.c says the CPU has
 * them: SIMD_AVX2 where quant_cpu_has_avx2, SIMD_AVX512 where
 * quant_cpu_has_avx512, SIMD_VNNI where quant_cpu_has_avx512vnni, and so
 * on.  Each string is its check's features, so a function may call (and
 * be given) the functions of any narrower target.  The helpers every
 * SIMD file shares are here too.
 */
#ifndef R1_SIMD_H
#define R1_SIMD_H

#define SIMD_ISA_AVX2	"avx2,fma,f16c"
#define SIMD_ISA_AVX512	SIMD_ISA_AVX2 ",avx512f,avx512bw,avx512vl,avx512dq"
#define SIMD_ISA_VNNI	SIMD_ISA_AVX512 ",avx512vnni,bmi2"
#define SIMD_ISA_VBMI	SIMD_ISA_VNNI ",avx512vbmi"
#define SIMD_ISA_AMX	SIMD_ISA_VNNI ",amx-tile,amx-int8"

#define SIMD_AVX2	__attribute__((target(SIMD_ISA_AVX2)))
#define SIMD_AVX512	__attribute__((target(SIMD_ISA_AVX512)))
#define SIMD_VNNI	__attribute__((target(SIMD_ISA_VNNI)))
#define SIMD_VBMI	__attribute__((target(SIMD_ISA_VBMI)))
#define SIMD_AMX	__attribute__((target(SIMD_ISA_AMX)))

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* The sum of the 8 floats of v. */
SIMD_AVX2 static inline float
simd_hsum256(__m256 v)
{
	__m128	h = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}
#endif

#endif
