/*
 * quant-iq.c - the scalar kernels of the i-quants: dequantizers, the
 * IQ4_NL and IQ4_XS quantizers, and their dots with Q8_K (Q8_0 for
 * IQ4_NL, as ggml pairs them).
 *
 * Every 256-weight type is first unpacked to one form: a float factor d,
 * an integer scale per 16 weights and a signed integer per weight, the
 * weight being (d * ls) * q.  The factors are the formats' own with their
 * powers of two moved into d (IQ2's d (0.5 + s) / 4 is d / 8 times
 * 2 s + 1; IQ1's grid value plus or minus 1/8 is 8 g +- 1 over 8), which
 * is exact, so the dequantizers give ggml's bits and the dots have an
 * exact integer part.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quant-impl.h"
#include "quant-iq.h"

/* A fused multiply-add would change the reference's bits. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define GROUP_MAX_EPS 1e-15f

#define IQ_B01 0x0101010101010101ULL
#define IQ_B7F 0x7f7f7f7f7f7f7f7fULL
#define IQ_B80 0x8080808080808080ULL

/* a + b in each byte, no carry from one byte to the next. */
static inline uint64_t
iq_add8(uint64_t a, uint64_t b)
{
	return ((a & IQ_B7F) + (b & IQ_B7F)) ^ ((a ^ b) & IQ_B80);
}

/*
 * The 8 weights of a grid entry with sign bits s (bit j: weight j), all
 * 8 bytes at once: byte j of m is 0xff where bit j is set, and -v is
 * (v ^ 0xff) + 1.
 */
static void
iq_put8(int8_t *q, uint64_t grid, unsigned s)
{
	uint64_t	t, m;

	t = ((uint64_t)(s & 0xff) * IQ_B01) & 0x8040201008040201ULL;
	m = (((t + IQ_B7F) & IQ_B80) >> 7) * 0xff;
	t = iq_add8(grid ^ m, m & IQ_B01);
	memcpy(q, &t, sizeof t);
}

static void
iq_unpack_iq2_xxs(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq2_xxs	*b = vb;
	uint32_t			 aux[2];
	int				 g, l;

	u->d = quant_h2f(b->d) * 0.125f;
	for (g = 0; g < 8; g++) {
		memcpy(aux, &b->qs[4 * g], sizeof aux);
		u->ls[2 * g] = u->ls[2 * g + 1] = 2 * (int)(aux[1] >> 28) + 1;
		for (l = 0; l < 4; l++)
			iq_put8(u->q + 32 * g + 8 * l,
			    iq2xxs_grid[(aux[0] >> 8 * l) & 0xff],
			    ksigns_iq2xs[(aux[1] >> 7 * l) & 127]);
	}
}

static void
iq_unpack_iq2_xs(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq2_xs	*b = vb;
	int				 g, l;
	uint16_t			 v;

	u->d = quant_h2f(b->d) * 0.125f;
	for (g = 0; g < 8; g++) {
		u->ls[2 * g] = 2 * (b->scales[g] & 0xf) + 1;
		u->ls[2 * g + 1] = 2 * (b->scales[g] >> 4) + 1;
		for (l = 0; l < 4; l++) {
			v = b->qs[4 * g + l];
			iq_put8(u->q + 32 * g + 8 * l, iq2xs_grid[v & 511],
			    ksigns_iq2xs[v >> 9]);
		}
	}
}

static void
iq_unpack_iq2_s(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq2_s	*b = vb;
	int				 g, l, idx;

	u->d = quant_h2f(b->d) * 0.125f;
	for (g = 0; g < 8; g++) {
		u->ls[2 * g] = 2 * (b->scales[g] & 0xf) + 1;
		u->ls[2 * g + 1] = 2 * (b->scales[g] >> 4) + 1;
		for (l = 0; l < 4; l++) {
			idx = b->qs[4 * g + l] | ((b->qh[g] << (8 - 2 * l)) &
			    0x300);
			iq_put8(u->q + 32 * g + 8 * l, iq2s_grid[idx],
			    b->qs[QK_K / 8 + 4 * g + l]);
		}
	}
}

static void
iq_unpack_iq3_xxs(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq3_xxs	*b = vb;
	uint32_t			 aux;
	uint64_t			 grid;
	int				 g, l;

	u->d = quant_h2f(b->d) * 0.25f;
	for (g = 0; g < 8; g++) {
		memcpy(&aux, b->qs + QK_K / 4 + 4 * g, sizeof aux);
		u->ls[2 * g] = u->ls[2 * g + 1] = 2 * (int)(aux >> 28) + 1;
		for (l = 0; l < 4; l++) {
			grid = iq3xxs_grid[b->qs[8 * g + 2 * l]] |
			    (uint64_t)iq3xxs_grid[b->qs[8 * g + 2 * l + 1]] << 32;
			iq_put8(u->q + 32 * g + 8 * l, grid,
			    ksigns_iq2xs[(aux >> 7 * l) & 127]);
		}
	}
}

static void
iq_unpack_iq3_s(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq3_s	*b = vb;
	uint64_t			 grid;
	int				 g, l, i0, i1;

	u->d = quant_h2f(b->d);
	for (g = 0; g < 8; g++) {
		u->ls[2 * g] = u->ls[2 * g + 1] =
		    1 + 2 * ((b->scales[g / 2] >> 4 * (g % 2)) & 0xf);
		for (l = 0; l < 4; l++) {
			i0 = b->qs[8 * g + 2 * l] |
			    ((b->qh[g] >> (2 * l)) & 1) << 8;
			i1 = b->qs[8 * g + 2 * l + 1] |
			    ((b->qh[g] >> (2 * l + 1)) & 1) << 8;
			grid = iq3s_grid[i0] | (uint64_t)iq3s_grid[i1] << 32;
			iq_put8(u->q + 32 * g + 8 * l, grid,
			    b->signs[4 * g + l]);
		}
	}
}

/*
 * 8 IQ1 grid values (-1, 0, 1) as 8 g + delta, delta +-1, all 8 bytes at
 * once (the shift's spill into the next byte masked off).
 */
static void
iq_put8_iq1(int8_t *q, uint64_t grid, int delta)
{
	uint64_t	t;

	t = iq_add8((grid << 3) & 0xf8f8f8f8f8f8f8f8ULL,
	    delta < 0 ? ~0ULL : IQ_B01);
	memcpy(q, &t, sizeof t);
}

static void
iq_unpack_iq1_s(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq1_s	*b = vb;
	int				 g, l, idx, delta;

	u->d = quant_h2f(b->d) * 0.125f;
	for (g = 0; g < 8; g++) {
		u->ls[2 * g] = u->ls[2 * g + 1] =
		    2 * ((b->qh[g] >> 12) & 7) + 1;
		delta = (b->qh[g] & 0x8000) ? -1 : 1;
		for (l = 0; l < 4; l++) {
			idx = b->qs[4 * g + l] | ((b->qh[g] >> 3 * l) & 7) << 8;
			iq_put8_iq1(u->q + 32 * g + 8 * l, iq1s_grid[idx],
			    delta);
		}
	}
}

static void
iq_unpack_iq1_m(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq1_m	*b = vb;
	uint16_t			 sc[4];
	int				 g, l, h, k, idx;

	memcpy(sc, b->scales, sizeof sc);
	u->d = quant_h2f(iq1m_scale(b)) * 0.125f;
	for (g = 0; g < 8; g++) {
		for (k = 0; k < 2; k++)
			u->ls[2 * g + k] = 2 * ((sc[g / 2] >>
			    (6 * (g % 2) + 3 * k)) & 7) + 1;
		for (l = 0; l < 4; l++) {
			h = (b->qh[2 * g + l / 2] >> 4 * (l % 2)) & 0xf;
			idx = b->qs[4 * g + l] | (h & 7) << 8;
			iq_put8_iq1(u->q + 32 * g + 8 * l, iq1s_grid[idx],
			    (h & 8) ? -1 : 1);
		}
	}
}

static void
iq_unpack_iq4_xs(const void *vb, struct iq_unpacked *u)
{
	const struct block_iq4_xs	*b = vb;
	int				 g, j;

	u->d = quant_h2f(b->d);
	for (g = 0; g < 8; g++) {
		u->ls[2 * g] = u->ls[2 * g + 1] = iq4xs_scale(b, g);
		for (j = 0; j < 16; j++) {
			u->q[32 * g + j] = kvalues_iq4nl[b->qs[16 * g + j] &
			    0xf];
			u->q[32 * g + 16 + j] = kvalues_iq4nl[b->qs[16 * g +
			    j] >> 4];
		}
	}
}

/* --- generic dequantize and dot over the unpacked form ------------------ */

static void
iq_dequantize(iq_unpack_fn unpack, size_t size, const void *x, float *y,
    int64_t n)
{
	struct iq_unpacked	u;
	int64_t			i;
	int			k;
	float			dl;

	for (i = 0; i < n / QK_K; i++) {
		unpack((const uint8_t *)x + i * size, &u);
		for (k = 0; k < QK_K; k++) {
			dl = u.d * (float)u.ls[k / 16];
			y[i * QK_K + k] = dl * (float)u.q[k];
		}
	}
}

static void
iq_vec_dot(iq_unpack_fn unpack, size_t size, int n, float *s,
    const void *x, const void *vy)
{
	const struct block_q8_K	*y = vy;
	struct iq_unpacked	 u;
	float			 sum = 0;
	int			 i, g, k, isum, gsum;

	for (i = 0; i < n / QK_K; i++) {
		unpack((const uint8_t *)x + (size_t)i * size, &u);
		isum = 0;
		for (g = 0; g < QK_K / 16; g++) {
			gsum = 0;
			for (k = 16 * g; k < 16 * g + 16; k++)
				gsum += u.q[k] * y[i].qs[k];
			isum += u.ls[g] * gsum;
		}
		sum += u.d * y[i].d * (float)isum;
	}
	*s = sum;
}

#define IQ_KERNELS(t) \
void \
dequantize_row_##t(const void *x, float *y, int64_t n) \
{ \
	iq_dequantize(iq_unpack_##t, sizeof(struct block_##t), x, y, n); \
} \
void \
vec_dot_##t##_q8_K(int n, float *s, const void *x, const void *y) \
{ \
	iq_vec_dot(iq_unpack_##t, sizeof(struct block_##t), n, s, x, y); \
}

IQ_KERNELS(iq2_xxs)
IQ_KERNELS(iq2_xs)
IQ_KERNELS(iq2_s)
IQ_KERNELS(iq3_xxs)
IQ_KERNELS(iq3_s)
IQ_KERNELS(iq1_s)
IQ_KERNELS(iq1_m)
IQ_KERNELS(iq4_xs)

iq_unpack_fn
quant_iq_unpacker(enum ggml_type t)
{
	static const iq_unpack_fn	unpackers[GGML_TYPE_COUNT] = {
		[GGML_TYPE_IQ2_XXS] = iq_unpack_iq2_xxs,
		[GGML_TYPE_IQ2_XS] = iq_unpack_iq2_xs,
		[GGML_TYPE_IQ2_S] = iq_unpack_iq2_s,
		[GGML_TYPE_IQ3_XXS] = iq_unpack_iq3_xxs,
		[GGML_TYPE_IQ3_S] = iq_unpack_iq3_s,
		[GGML_TYPE_IQ1_S] = iq_unpack_iq1_s,
		[GGML_TYPE_IQ1_M] = iq_unpack_iq1_m,
		[GGML_TYPE_IQ4_XS] = iq_unpack_iq4_xs,
	};

	return (unsigned)t < GGML_TYPE_COUNT ? unpackers[t] : NULL;
}

/* --- IQ4_NL -------------------------------------------------------------- */

void
dequantize_row_iq4_nl(const void *vx, float *y, int64_t n)
{
	const struct block_iq4_nl	*x = vx;
	int64_t				 i;
	int				 j;
	float				 d;

	for (i = 0; i < n / QK4_NL; i++) {
		d = quant_h2f(x[i].d);
		for (j = 0; j < 16; j++) {
			y[i * 32 + j] = d * kvalues_iq4nl[x[i].qs[j] & 0xf];
			y[i * 32 + 16 + j] = d * kvalues_iq4nl[x[i].qs[j] >> 4];
		}
	}
}

void
vec_dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy)
{
	const struct block_iq4_nl	*x = vx;
	const struct block_q8_0		*y = vy;
	float				 sum = 0;
	int				 i, j, isum;

	for (i = 0; i < n / QK4_NL; i++) {
		isum = 0;
		for (j = 0; j < 16; j++)
			isum += kvalues_iq4nl[x[i].qs[j] & 0xf] * y[i].qs[j] +
			    kvalues_iq4nl[x[i].qs[j] >> 4] * y[i].qs[j + 16];
		sum += quant_h2f(x[i].d) * quant_h2f(y[i].d) * (float)isum;
	}
	*s = sum;
}

/* --- the IQ4 quantizers -------------------------------------------------- */

/* The index of the kvalues_iq4nl entry nearest x (ties to the upper). */
static int
iq4_index(float x)
{
	int	lo = 0, hi = 15, mid;

	if (x <= kvalues_iq4nl[0])
		return 0;
	if (x >= kvalues_iq4nl[15])
		return 15;
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (x < kvalues_iq4nl[mid])
			hi = mid;
		else
			lo = mid;
	}
	return x - kvalues_iq4nl[hi - 1] < kvalues_iq4nl[hi] - x ? hi - 1 : hi;
}

/*
 * The weighted least-squares scale of 32 values x for the table: start
 * from the scale that maps the extreme value to -127, then try 15 others
 * around it (ntry 7 each side), keeping the best sum(w q x)^2 / sum(w q^2)
 * with weights w = x^2.  Returns 0 for an all-zero group.
 */
static float
iq4_group_scale(const float *x)
{
	float	w[32], amax = 0, max = 0, d, id, sumqx, sumq2, best, q;
	int	j, t;

	for (j = 0; j < 32; j++) {
		w[j] = x[j] * x[j];
		if (fabsf(x[j]) > amax) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	}
	if (amax < GROUP_MAX_EPS)
		return 0;
	d = -max / kvalues_iq4nl[0];
	id = 1 / d;
	sumqx = sumq2 = 0;
	for (j = 0; j < 32; j++) {
		q = kvalues_iq4nl[iq4_index(id * x[j])];
		sumqx += w[j] * q * x[j];
		sumq2 += w[j] * q * q;
	}
	d = sumqx / sumq2;
	best = d * sumqx;
	for (t = -7; t <= 7; t++) {
		id = (t + kvalues_iq4nl[0]) / max;
		sumqx = sumq2 = 0;
		for (j = 0; j < 32; j++) {
			q = kvalues_iq4nl[iq4_index(id * x[j])];
			sumqx += w[j] * q * x[j];
			sumq2 += w[j] * q * q;
		}
		if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
			d = sumqx / sumq2;
			best = d * sumqx;
		}
	}
	return d;
}

/* Packs 32 values x at inverse scale id into 16 bytes as IQ4_NL does. */
static void
iq4_pack(const float *x, float id, uint8_t *qs)
{
	int	j;

	for (j = 0; j < 16; j++)
		qs[j] = (uint8_t)(iq4_index(id * x[j]) |
		    iq4_index(id * x[j + 16]) << 4);
}

void
quantize_row_iq4_nl_ref(const float *x, void *vy, int64_t n)
{
	struct block_iq4_nl	*y = vy;
	int64_t			 i;
	float			 d;

	for (i = 0; i < n / QK4_NL; i++) {
		d = iq4_group_scale(x + i * 32);
		y[i].d = quant_f2h(d);
		iq4_pack(x + i * 32, d != 0 ? 1 / d : 0, y[i].qs);
	}
}

void
quantize_row_iq4_xs_ref(const float *x, void *vy, int64_t n)
{
	struct block_iq4_xs	*y = vy;
	float			 sc[8], amax, max, d, id, dl;
	int64_t			 i;
	int			 g, l;

	for (i = 0; i < n / QK_K; i++) {
		const float	*xb = x + i * QK_K;

		amax = max = 0;
		for (g = 0; g < 8; g++) {
			sc[g] = iq4_group_scale(xb + 32 * g);
			if (fabsf(sc[g]) > amax) {
				amax = fabsf(sc[g]);
				max = sc[g];
			}
		}
		/* The 6-bit scales: l in -32..31 of d = -max / 32. */
		d = -max / 32;
		y[i].d = quant_f2h(d);
		y[i].scales_h = 0;
		memset(y[i].scales_l, 0, sizeof y[i].scales_l);
		id = d != 0 ? 1 / d : 0;
		for (g = 0; g < 8; g++) {
			l = nearest_int(id * sc[g]);
			l = l < -32 ? -32 : l > 31 ? 31 : l;
			dl = d * l;
			iq4_pack(xb + 32 * g, dl != 0 ? 1 / dl : 0,
			    y[i].qs + 16 * g);
			l += 32;
			y[i].scales_l[g / 2] |= (uint8_t)((l & 0xf) <<
			    4 * (g % 2));
			y[i].scales_h |= (uint16_t)((l >> 4) << 2 * g);
		}
	}
}
