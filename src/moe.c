/*
 * moe.c - the router and the expert FFNs of a mixture of experts.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "moe.h"
#include "ops.h"

_Static_assert(sizeof(int) == sizeof(float), "ints share the float arena");

/* The group's score: its best, or the sum of its two best. */
static float
group_score(const float *s, int n, int two)
{
	float	b1 = -INFINITY, b2 = -INFINITY;
	int	i;

	for (i = 0; i < n; i++) {
		if (s[i] > b1) {
			b2 = b1;
			b1 = s[i];
		} else if (s[i] > b2)
			b2 = s[i];
	}
	return two && n > 1 ? b1 + b2 : b1;
}

/* Index of the largest of s[0..n) not yet taken (-INFINITY marks taken). */
static int
arg_max(const float *s, int n)
{
	int	i, best = 0;

	for (i = 1; i < n; i++) {
		if (s[i] > s[best])
			best = i;
	}
	return best;
}

void
moe_route(const struct moe_router *r, const float *logits, const float *bias,
    float *tmp, int *sel, float *w)
{
	float	*probs = tmp, *score = tmp + r->n_expert;
	float	 gs[64], max = -INFINITY, sum;
	int	 n = r->n_expert, i, k, g, per, keep[64];

	if (r->gating == MOE_GATING_SIGMOID) {
		for (i = 0; i < n; i++)
			probs[i] = 1.0f / (1.0f + expf(-logits[i]));
	} else {
		double	d = 0.0;

		for (i = 0; i < n; i++)
			max = logits[i] > max ? logits[i] : max;
		memcpy(probs, logits, (size_t)n * sizeof *probs);
		d = ops_exp_sum(probs, n, max);
		for (i = 0; i < n; i++)
			probs[i] = (float)(probs[i] / d);
	}
	for (i = 0; i < n; i++)
		score[i] = bias != NULL ? probs[i] + bias[i] : probs[i];

	/* group-limited routing: only the best groups' experts compete */
	if (r->n_group > 1 && r->n_group <= 64 && r->n_group_used < r->n_group) {
		per = n / r->n_group;
		for (g = 0; g < r->n_group; g++) {
			gs[g] = group_score(score + g * per, per,
			    r->gating == MOE_GATING_SIGMOID);
			keep[g] = 0;
		}
		for (k = 0; k < r->n_group_used; k++) {
			g = arg_max(gs, r->n_group);
			keep[g] = 1;
			gs[g] = -INFINITY;
		}
		for (g = 0; g < r->n_group; g++) {
			if (!keep[g]) {
				for (i = 0; i < per; i++)
					score[g * per + i] = -INFINITY;
			}
		}
	}

	sum = 0;
	for (k = 0; k < r->n_used; k++) {
		sel[k] = arg_max(score, n);
		score[sel[k]] = -INFINITY;
		w[k] = probs[sel[k]];
		sum += w[k];
	}
	if (r->norm) {
		/* llama.cpp's floor: the smallest normal half */
		sum = sum > 6.103515625e-5f ? sum : 6.103515625e-5f;
		for (k = 0; k < r->n_used; k++)
			w[k] /= sum;
	}
	if (r->scale != 0.0f && r->scale != 1.0f) {
		for (k = 0; k < r->n_used; k++)
			w[k] *= r->scale;
	}
}

struct ops_mat
moe_expert(const struct moe_experts *x, int e)
{
	struct ops_mat	m = x->m;

	m.data = (const char *)x->m.data + (size_t)e * x->stride;
	return m;
}

/* The scratch: per-expert counts and the token list, then activations. */
struct moe_bufs {
	int	*count;		/* [n_expert + 1], then offsets */
	int	*list;		/* [n_tok * n_used], token * n_used + slot */
	float	*x, *g, *u, *y;
};

/*
 * Carves b from base (NULL: only counts).  A batch's activations take
 * n_tok rows; one token's n_used + 1 (moe_ffn_token: an expert a row,
 * then the shared experts' output).
 */
static size_t
moe_carve(const struct moe_ffn *f, int n_tok, int n_used, float *base,
    struct moe_bufs *b)
{
	size_t	nt = (size_t)(n_tok > n_used ? n_tok : n_used + 1), off = 0;
	size_t	sz[6];
	void	*p[6];
	int	 i;

	sz[0] = (size_t)f->gate.n + 1;
	sz[1] = (size_t)n_tok * (size_t)n_used;
	sz[2] = (size_t)n_tok * (size_t)f->n_embd;
	sz[3] = nt * (size_t)f->n_ff;
	sz[4] = nt * (size_t)f->n_ff;
	sz[5] = nt * (size_t)f->n_embd;
	for (i = 0; i < 6; i++) {
		p[i] = base != NULL ? base + off : NULL;
		off += (sz[i] + 15) & ~(size_t)15;
	}
	b->count = p[0];
	b->list = p[1];
	b->x = p[2];
	b->g = p[3];
	b->u = p[4];
	b->y = p[5];
	return off;
}

size_t
moe_scratch_floats(const struct moe_ffn *f, int n_tok, int n_used)
{
	struct moe_bufs	b;

	return moe_carve(f, n_tok, n_used, NULL, &b);
}

int
moe_ffn_forward(const struct moe_ffn *f, const float *xn, int n_tok,
    const int *sel, const float *w, int n_used, float *out, float *buf,
    struct ops_scratch *scratch)
{
	struct moe_bufs	 b;
	struct ops_mat	 mg, mu, md;
	size_t		 e_sz = (size_t)f->n_embd;
	int		 n_exp = f->gate.n, e, i, j, k, cnt, at;

	moe_carve(f, n_tok, n_used, buf, &b);

	/* counting sort of (token, slot) by expert */
	memset(b.count, 0, ((size_t)n_exp + 1) * sizeof *b.count);
	for (i = 0; i < n_tok * n_used; i++)
		b.count[sel[i] + 1]++;
	for (e = 0; e < n_exp; e++)
		b.count[e + 1] += b.count[e];
	for (i = 0; i < n_tok * n_used; i++)
		b.list[b.count[sel[i]]++] = i;
	/* count[e] is now the end of expert e's run, its start count[e-1] */

	for (e = 0, at = 0; e < n_exp; at = b.count[e], e++) {
		cnt = b.count[e] - at;
		if (cnt == 0)
			continue;
		for (j = 0; j < cnt; j++)
			memcpy(b.x + j * e_sz, xn + (size_t)(b.list[at + j] /
			    n_used) * e_sz, e_sz * sizeof *b.x);
		mg = moe_expert(&f->gate, e);
		mu = moe_expert(&f->up, e);
		md = moe_expert(&f->down, e);
		if (ops_matmul(&mg, b.x, cnt, b.g, scratch) != 0 ||
		    ops_matmul(&mu, b.x, cnt, b.u, scratch) != 0)
			return -1;
		ops_swiglu(b.g, b.u, cnt * f->n_ff);
		if (ops_matmul(&md, b.g, cnt, b.y, scratch) != 0)
			return -1;
		for (j = 0; j < cnt; j++) {
			float		*o = out + (size_t)(b.list[at + j] /
					    n_used) * e_sz;
			const float	*y = b.y + j * e_sz;
			float		 a = w[b.list[at + j]];

			for (k = 0; k < f->n_embd; k++)
				o[k] += a * y[k];
		}
	}
	return 0;
}

/* A list of matrices for ops_matmul_each. */
struct moe_pass {
	const struct ops_mat	*w[OPS_MATMUL_MAX];
	const float		*x[OPS_MATMUL_MAX];
	float			*y[OPS_MATMUL_MAX];
	int			 n;
};

/* Adds y = w x to p, running p first when it is full. */
static int
moe_pass_add(struct moe_pass *p, const struct ops_mat *w, const float *x,
    float *y, struct ops_scratch *scratch)
{
	if (p->n == OPS_MATMUL_MAX) {
		if (ops_matmul_each(p->w, p->n, p->x, p->y, scratch) != 0)
			return -1;
		p->n = 0;
	}
	p->w[p->n] = w;
	p->x[p->n] = x;
	p->y[p->n++] = y;
	return 0;
}

/* Runs what p holds. */
static int
moe_pass_run(struct moe_pass *p, struct ops_scratch *scratch)
{
	int	n = p->n;

	p->n = 0;
	return n == 0 ? 0 : ops_matmul_each(p->w, n, p->x, p->y, scratch);
}

int
moe_ffn_token(const struct moe_ffn *f, const struct moe_shared *sh,
    const float *xn, const int *sel, const float *w, int n_used, float *out,
    float *buf, struct ops_scratch *scratch)
{
	struct moe_bufs	 b;
	struct moe_pass	 p;
	struct ops_mat	 m[3 * OPS_MATMUL_MAX];
	size_t		 ff = (size_t)f->n_ff, e_sz = (size_t)f->n_embd;
	int		 k, i, n, k0;

	moe_carve(f, 1, n_used, buf, &b);
	if (sh != NULL && sh->n_ff == 0)
		sh = NULL;
	p.n = 0;
	if (sh != NULL && (moe_pass_add(&p, sh->gate, xn, sh->g, scratch) != 0 ||
	    moe_pass_add(&p, sh->up, xn, sh->u, scratch) != 0))
		return -1;
	/* the experts' matrices go in m, OPS_MATMUL_MAX experts at a time */
	for (k0 = 0; k0 < n_used; k0 += OPS_MATMUL_MAX) {
		n = n_used - k0 < OPS_MATMUL_MAX ? n_used - k0 : OPS_MATMUL_MAX;
		for (i = 0; i < n; i++) {
			k = k0 + i;
			m[3 * i] = moe_expert(&f->gate, sel[k]);
			m[3 * i + 1] = moe_expert(&f->up, sel[k]);
			if (moe_pass_add(&p, &m[3 * i], xn, b.g + k * ff,
			    scratch) != 0 ||
			    moe_pass_add(&p, &m[3 * i + 1], xn, b.u + k * ff,
			    scratch) != 0)
				return -1;
		}
		if (moe_pass_run(&p, scratch) != 0)
			return -1;
	}
	if (moe_pass_run(&p, scratch) != 0)
		return -1;
	if (sh != NULL)
		ops_swiglu(sh->g, sh->u, sh->n_ff);
	ops_swiglu(b.g, b.u, n_used * f->n_ff);

	if (sh != NULL && moe_pass_add(&p, sh->down, sh->g,
	    b.y + n_used * e_sz, scratch) != 0)
		return -1;
	for (k0 = 0; k0 < n_used; k0 += OPS_MATMUL_MAX) {
		n = n_used - k0 < OPS_MATMUL_MAX ? n_used - k0 : OPS_MATMUL_MAX;
		for (i = 0; i < n; i++) {
			k = k0 + i;
			m[3 * i + 2] = moe_expert(&f->down, sel[k]);
			if (moe_pass_add(&p, &m[3 * i + 2], b.g + k * ff,
			    b.y + k * e_sz, scratch) != 0)
				return -1;
		}
		if (moe_pass_run(&p, scratch) != 0)
			return -1;
	}
	/*
	 * moe_ffn_forward's order, the shared expert's output first, then
	 * the experts by number: a token gives the same bits alone as in a
	 * batch, which speculative decoding's checks rely on.
	 */
	if (sh != NULL)
		memcpy(out, b.y + n_used * e_sz, e_sz * sizeof *out);
	else
		memset(out, 0, e_sz * sizeof *out);
	for (k = 0; k < n_used; k++) {
		for (n = k; n > 0 && sel[b.list[n - 1]] > sel[k]; n--)
			b.list[n] = b.list[n - 1];
		b.list[n] = k;
	}
	for (n = 0; n < n_used; n++) {
		k = b.list[n];
		for (i = 0; i < f->n_embd; i++)
			out[i] += w[k] * b.y[k * e_sz + i];
	}
	return 0;
}
