/*
 * model.c - binding a model from GGUF, and the forward pass around the
 * layers: token embedding, batches, final norm and output, the cache,
 * and repacking the matrices the architecture lists.  What happens inside
 * a layer is the architecture's (struct arch: arch.c, arch-deepseek2.c).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gguf.h"
#include "kv.h"
#include "model-int.h"
#include "model.h"
#include "ops.h"
#include "quant.h"
#include "residency.h"
#include "types.h"
#include "util.h"

#define MODEL_DEFAULT_CTX	8192
#define MODEL_DEFAULT_BATCH	512

/* The integer keys every architecture has, ARCH.suffix. */
#define HP(f) offsetof(struct model_hparams, f)
static const struct {
	const char	*suffix;
	size_t		 field;
	int		 required;
} hp_keys[] = {
	{ "block_count", HP(n_layer), 1 },
	{ "embedding_length", HP(n_embd), 1 },
	{ "feed_forward_length", HP(n_ff), 1 },
	{ "attention.head_count", HP(n_head), 1 },
	{ "attention.head_count_kv", HP(n_head_kv), 0 },
	{ "attention.key_length", HP(head_dim_k), 0 },
	{ "attention.value_length", HP(head_dim_v), 0 },
	{ "rope.dimension_count", HP(n_rot), 0 },
	{ "context_length", HP(n_ctx_train), 0 },
};

/* Sane limits: anything outside is a corrupt or hostile file. */
#define HP_MAX_LAYERS	4096
#define HP_MAX_WIDTH	(1 << 20)

int
model_key_u32(const struct model *m, const char *suffix, uint32_t *out)
{
	char	*key = xstrfmt("%s.%s", m->arch->name, suffix);
	int	 rc = gguf_get_u32(m->g, key, out);

	free(key);
	return rc;
}

int
model_key_f32(const struct model *m, const char *suffix, float *out)
{
	char	*key = xstrfmt("%s.%s", m->arch->name, suffix);
	int	 rc = gguf_get_f32(m->g, key, out);

	free(key);
	return rc;
}

/* "[a, b]" or "[a, b, c]": the first n of ne. */
static char *
shape_str(const int64_t *ne, int n)
{
	return n == 2 ? xstrfmt("[%lld, %lld]", (long long)ne[0],
	    (long long)ne[1]) : xstrfmt("[%lld, %lld, %lld]", (long long)ne[0],
	    (long long)ne[1], (long long)ne[2]);
}

/*
 * Finds the tensor name of n_dims (2: a matrix, 3: a stack of them) and
 * shape want, in a type the kernels take, into *t, and notes out as bound
 * to it.  Returns 1 when found, 0 when missing and not required, -1 with
 * *cause set otherwise.
 */
static int
bind_tensor(struct model *m, const void *out, const char *name,
    int required, int n_dims, const int64_t *want,
    const struct gguf_tensor **t, char **cause)
{
	const struct type_info	*ti;
	char			*got, *exp;
	int			 i;

	if ((*t = gguf_tensor_find(m->g, name)) == NULL) {
		if (!required)
			return 0;
		*cause = xstrfmt("tensor %s: missing", name);
		return -1;
	}
	for (i = 0; i < GGUF_MAX_DIMS; i++) {
		if ((*t)->ne[i] != (i < n_dims ? want[i] : 1))
			break;
	}
	if (i < GGUF_MAX_DIMS) {
		got = shape_str((*t)->ne, n_dims);
		exp = shape_str(want, n_dims);
		*cause = xstrfmt("tensor %s: shape %s, expected %s", name, got,
		    exp);
		free(got);
		free(exp);
		return -1;
	}
	if (quant_traits((*t)->type) == NULL) {
		ti = type_info((*t)->type);
		*cause = xstrfmt("tensor %s: type %s not supported", name,
		    ti != NULL && ti->name != NULL ? ti->name : "unknown");
		return -1;
	}
	m->bound = xreallocarray(m->bound, m->n_bound + 1, sizeof *m->bound);
	m->bound[m->n_bound].mat = out;
	m->bound[m->n_bound++].name = (*t)->name;
	return 1;
}

/*
 * Binds the tensor named by fmt and ap, of n_dims dimensions want, to the
 * matrix *o (rows x cols, its first rows) and clears *o before: 1 when
 * bound, 0 when absent and not required, -1 with *cause set (bind_tensor).
 */
static int
bind_mat_fmt(struct model *m, struct ops_mat *o, void *out, int required,
    int n_dims, const int64_t *want, char **cause, const char *fmt,
    va_list ap)
{
	const struct gguf_tensor	*t;
	char				*name;
	int				 rc;

	name = xvstrfmt(fmt, ap);
	memset(o, 0, sizeof *o);
	if ((rc = bind_tensor(m, out, name, required, n_dims, want, &t,
	    cause)) == 1) {
		o->type = t->type;
		o->rows = want[1];
		o->cols = want[0];
		o->row_size = type_row_size(t->type, want[0]);
		o->data = t->data;
	}
	free(name);
	return rc;
}

int
model_bind_mat(struct model *m, struct ops_mat *out, int required,
    int64_t cols, int64_t rows, char **cause, const char *fmt, ...)
{
	const int64_t	 want[2] = { cols, rows };
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	rc = bind_mat_fmt(m, out, out, required, 2, want, cause, fmt, ap);
	va_end(ap);
	return rc < 0 ? -1 : 0;
}

int
model_bind_experts(struct model *m, struct moe_experts *out, int required,
    int64_t cols, int64_t rows, int64_t n, char **cause, const char *fmt, ...)
{
	const int64_t	 want[3] = { cols, rows, n };
	va_list		 ap;
	int		 rc;

	memset(out, 0, sizeof *out);
	va_start(ap, fmt);
	rc = bind_mat_fmt(m, &out->m, out, required, 3, want, cause, fmt, ap);
	va_end(ap);
	if (rc == 1) {
		out->stride = out->m.row_size * (size_t)rows;
		out->n = (int)n;
	}
	return rc < 0 ? -1 : 0;
}

int
model_bind_vec(struct model *m, const float **out, int required, int64_t n,
    char **cause, const char *fmt, ...)
{
	const struct gguf_tensor	*t;
	va_list				 ap;
	char				*name;
	int				 rc = -1;

	va_start(ap, fmt);
	name = xvstrfmt(fmt, ap);
	va_end(ap);
	*out = NULL;
	if ((t = gguf_tensor_find(m->g, name)) == NULL) {
		if (!required)
			rc = 0;
		else
			*cause = xstrfmt("tensor %s: missing", name);
		goto out;
	}
	if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1) {
		*cause = xstrfmt("tensor %s: shape [%lld, %lld], expected "
		    "[%lld]", name, (long long)t->ne[0], (long long)t->ne[1],
		    (long long)n);
		goto out;
	}
	if (t->type != GGML_TYPE_F32) {
		*cause = xstrfmt("tensor %s: type %s, expected F32", name,
		    type_info(t->type) != NULL ? type_info(t->type)->name :
		    "unknown");
		goto out;
	}
	/* GGUF aligns tensor data to 32 bytes at least: floats are aligned */
	*out = t->data;
	rc = 0;
out:
	free(name);
	return rc;
}

/* Reads the common keys and checks them against each other. */
static int
model_read_hparams(struct model *m, char **cause)
{
	struct model_hparams	*hp = &m->hp;
	uint32_t		 u;
	size_t			 i;
	char			*type = NULL, *key;

	memset(hp, 0, sizeof *hp);
	for (i = 0; i < sizeof hp_keys / sizeof hp_keys[0]; i++) {
		if (model_key_u32(m, hp_keys[i].suffix, &u) != 0) {
			if (!hp_keys[i].required)
				continue;
			*cause = xstrfmt("key %s.%s: missing", m->arch->name,
			    hp_keys[i].suffix);
			return -1;
		}
		if (u > HP_MAX_WIDTH) {
			*cause = xstrfmt("key %s.%s: %u is out of range",
			    m->arch->name, hp_keys[i].suffix, u);
			return -1;
		}
		*(int *)((char *)hp + hp_keys[i].field) = (int)u;
	}
	if (hp->n_head_kv == 0)
		hp->n_head_kv = hp->n_head;
	if (hp->head_dim_k == 0 && hp->n_head > 0)
		hp->head_dim_k = hp->n_embd / hp->n_head;
	if (hp->head_dim_v == 0)
		hp->head_dim_v = hp->head_dim_k;
	if (hp->n_rot == 0)
		hp->n_rot = hp->head_dim_k;
	if (hp->n_ctx_train == 0)
		hp->n_ctx_train = 4096;
	if (hp->n_layer < 1 || hp->n_layer > HP_MAX_LAYERS ||
	    hp->n_embd < 1 || hp->n_head < 1 || hp->n_head_kv < 1 ||
	    hp->n_head % hp->n_head_kv != 0 || hp->head_dim_k < 2 ||
	    hp->head_dim_v < 1 || hp->n_rot < 2 || hp->n_rot % 2 != 0 ||
	    hp->n_rot > hp->head_dim_k) {
		*cause = xstrfmt("inconsistent hyper-parameters: %d layers, "
		    "embedding %d, %d heads, %d kv heads, head size %d/%d, "
		    "rope dimensions %d", hp->n_layer, hp->n_embd, hp->n_head,
		    hp->n_head_kv, hp->head_dim_k, hp->head_dim_v, hp->n_rot);
		return -1;
	}

	hp->rope_base = 10000.0f;
	model_key_f32(m, "rope.freq_base", &hp->rope_base);
	if (model_key_f32(m, "attention.layer_norm_rms_epsilon",
	    &hp->eps) != 0) {
		*cause = xstrfmt("key %s.attention.layer_norm_rms_epsilon: "
		    "missing", m->arch->name);
		return -1;
	}
	if (!(hp->rope_base > 0) || !(hp->eps >= 0)) {
		*cause = xstrfmt("inconsistent rope base %g or epsilon %g",
		    (double)hp->rope_base, (double)hp->eps);
		return -1;
	}

	/* rope scaling: none, linear (older key scale_linear), yarn */
	hp->rope_scale = 1.0f;
	if (model_key_f32(m, "rope.scaling.factor", &hp->rope_scale) != 0)
		model_key_f32(m, "rope.scale_linear", &hp->rope_scale);
	key = xstrfmt("%s.rope.scaling.type", m->arch->name);
	if (gguf_get_str(m->g, key, &type) != 0)
		type = xstrdup(hp->rope_scale != 1.0f ? "linear" : "none");
	free(key);
	m->yarn.freq_scale = 1.0f;
	m->yarn.ext_factor = 0.0f;
	m->yarn.attn_factor = 1.0f;
	m->yarn.beta_fast = 32.0f;
	m->yarn.beta_slow = 1.0f;
	m->yarn.n_ctx_orig = hp->n_ctx_train;
	if (strcmp(type, "none") == 0 || hp->rope_scale == 1.0f) {
		free(type);
		return 0;
	}
	if (!(hp->rope_scale > 0) || (strcmp(type, "linear") != 0 &&
	    strcmp(type, "yarn") != 0)) {
		*cause = xstrfmt("rope scaling %s (factor %g) not supported",
		    type, (double)hp->rope_scale);
		free(type);
		return -1;
	}
	m->rope_scaled = 1;
	m->yarn.freq_scale = 1.0f / hp->rope_scale;
	if (strcmp(type, "yarn") == 0) {
		m->yarn.ext_factor = 1.0f;
		if (model_key_u32(m, "rope.scaling.original_context_length",
		    &u) == 0 && u > 0 && u <= HP_MAX_WIDTH)
			m->yarn.n_ctx_orig = (int)u;
	}
	free(type);
	return 0;
}

static int	model_repack_on = 1;

/* Memory to leave beside a repacked copy. */
#define MODEL_REPACK_SPARE	((size_t)1 << 30)

void
model_set_repack(int on)
{
	model_repack_on = on;
}

static int
bound_cmp(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t)((const struct model_bound *)a)->mat;
	uintptr_t	y = (uintptr_t)((const struct model_bound *)b)->mat;

	return x < y ? -1 : x > y;
}

static int
mat_cmp(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t)((const struct arch_mat *)a)->bound;
	uintptr_t	y = (uintptr_t)((const struct arch_mat *)b)->bound;

	return x < y ? -1 : x > y;
}

/*
 * Every matrix of m (the embedding, the output unless tied, what the
 * architecture's layer_mats lists) into *out, sorted by address: how
 * many.  They must be those model_bind_* bound (m->bound), each once:
 * else -1 with *cause saying which is not, for a matrix an architecture
 * binds but does not list would be silently left out of model_repack.
 */
static int
model_mats(struct model *m, struct arch_mat **out, char **cause)
{
	struct arch_mat	*w;
	size_t		 n = 0, i, max;
	int		 il, k;

	max = 2 + (size_t)m->hp.n_layer * ARCH_MAX_MATS;
	w = xcalloc(max, sizeof *w);
	w[n++].bound = &m->tok_embd;	/* its rows are looked up */
	if (gguf_tensor_find(m->g, "output.weight") != NULL) {
		w[n].bound = &m->output;
		w[n++].repack = 1;
	}
	for (il = 0; il < m->hp.n_layer; il++) {
		if ((k = m->arch->layer_mats(m, il, w + n)) > ARCH_MAX_MATS) {
			*cause = xstrfmt("architecture %s: layer_mats lists %d "
			    "matrices, more than ARCH_MAX_MATS", m->arch->name,
			    k);
			free(w);
			return -1;
		}
		n += (size_t)k;
	}
	qsort(w, n, sizeof *w, mat_cmp);
	qsort(m->bound, m->n_bound, sizeof *m->bound, bound_cmp);
	for (i = 0; i < n || i < m->n_bound; i++) {
		if (i < n && i < m->n_bound && w[i].bound == m->bound[i].mat)
			continue;
		if (i < m->n_bound && (i == n ||
		    (uintptr_t)m->bound[i].mat < (uintptr_t)w[i].bound))
			*cause = xstrfmt("architecture %s: tensor %s is bound "
			    "but not listed by layer_mats", m->arch->name,
			    m->bound[i].name);
		else
			*cause = xstrfmt("architecture %s: layer_mats lists "
			    "a matrix twice or one not bound", m->arch->name);
		free(w);
		return -1;
	}
	*out = w;
	return (int)n;
}

/*
 * Repacks the n matrices of w that may be repacked (repack set) and that
 * the kernels have panels for (ops_repack_size) into one anonymous map
 * (huge pages where the kernel gives them), read-only once filled, unless
 * model_set_repack(0) or R1CHAT_REPACK=0.  The file's pages of a
 * repacked matrix are dropped from this process (MADV_DONTNEED: the map
 * is private and read-only, so a read would fault them in again; none
 * comes): each weight is resident once.  Without memory for the copy
 * (less than it and MODEL_REPACK_SPARE available: the file's cached pages
 * count, as the kernel can drop them), the weights stay in the file's
 * map.
 */
static void
model_repack(struct model *m, struct arch_mat *w, int n)
{
	struct ops_mat	*mat;
	const char	*env = getenv("R1CHAT_REPACK");
	size_t		 total = 0, o = 0, sz, want;
	size_t		 pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t	 a, b;
	char		*map;
	int		 i;

	if (!model_repack_on || (env != NULL && strcmp(env, "0") == 0))
		return;
	for (i = 0; i < n; i++) {
		if (w[i].repack)
			total += ops_repack_size(w[i].bound);
	}
	/* a copy that would not fit beside the rest stays unmade */
	if (total == 0 || total + MODEL_REPACK_SPARE > residency_ram() ||
	    (map = mmap(NULL, total, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return;
#ifdef MADV_HUGEPAGE
	(void)madvise(map, total, MADV_HUGEPAGE);
#endif
	for (i = 0; i < n; i++) {
		mat = w[i].bound;
		if (!w[i].repack || (want = ops_repack_size(mat)) == 0)
			continue;
		sz = mat->rows * mat->row_size;
		a = ((uintptr_t)mat->data + pg - 1) & ~(uintptr_t)(pg - 1);
		b = ((uintptr_t)mat->data + sz) & ~(uintptr_t)(pg - 1);
		if (ops_repack(mat, map + o) == 0 && b > a)
			(void)madvise((void *)a, b - a, MADV_DONTNEED);
		o += want;
	}
	(void)mprotect(map, total, PROT_READ);
	m->panels = map;
	m->panels_size = total;
}

struct model *
model_load(const struct gguf_file *g, char **cause)
{
	struct model		*m;
	const struct gguf_tensor *te;
	struct model_hparams	*hp;
	struct arch_mat		*w;
	char			*name = NULL;
	int			 il, n;

	m = xcalloc(1, sizeof *m);
	m->g = g;
	if (gguf_get_str(g, "general.architecture", &name) != 0) {
		*cause = xstrdup("key general.architecture: missing");
		goto fail;
	}
	if ((m->arch = arch_find(name)) == NULL) {
		*cause = xstrfmt("architecture %s not supported (supported: "
		    "%s)", name, arch_list());
		goto fail;
	}
	if (model_read_hparams(m, cause) != 0)
		goto fail;
	hp = &m->hp;

	if ((te = gguf_tensor_find(g, "token_embd.weight")) == NULL) {
		*cause = xstrdup("tensor token_embd.weight: missing");
		goto fail;
	}
	if (te->ne[1] < 1 || te->ne[1] > INT32_MAX) {
		*cause = xstrdup("tensor token_embd.weight: bad vocabulary "
		    "size");
		goto fail;
	}
	hp->n_vocab = (int)te->ne[1];
	if (model_bind_mat(m, &m->tok_embd, 1, hp->n_embd, hp->n_vocab,
	    cause, "token_embd.weight") != 0 ||
	    model_bind_vec(m, &m->output_norm, 1, hp->n_embd, cause,
	    "output_norm.weight") != 0 ||
	    model_bind_mat(m, &m->output, 0, hp->n_embd, hp->n_vocab, cause,
	    "output.weight") != 0 ||
	    model_bind_vec(m, &m->rope_freqs, 0, hp->n_rot / 2, cause,
	    "rope_freqs.weight") != 0)
		goto fail;
	if (m->output.data == NULL)
		m->output = m->tok_embd;	/* tied embeddings */

	if (m->arch->init(m, cause) != 0)
		goto fail;
	for (il = 0; il < hp->n_layer; il++) {
		if (m->arch->bind_layer(m, il, cause) != 0)
			goto fail;
	}
	if ((n = model_mats(m, &w, cause)) < 0)
		goto fail;
	model_repack(m, w, n);
	free(w);
	free(m->bound);
	m->bound = NULL;
	m->n_bound = 0;
	free(name);
	return m;
fail:
	free(name);
	model_free(m);
	return NULL;
}

struct model *
model_open(const struct gguf_file *g, int n_threads, char **cause)
{
	if (n_threads > 0)
		ops_set_threads(n_threads);
	return model_load(g, cause);
}

struct model *
model_open_file(const char *path, char **cause)
{
	struct gguf_file	*g;
	struct model		*m;

	if ((g = gguf_open(path, cause)) == NULL)
		return NULL;
	if ((m = model_load(g, cause)) == NULL) {
		gguf_close(g);
		return NULL;
	}
	m->owned = g;
	return m;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	if (m->arch != NULL && m->arch->free != NULL)
		m->arch->free(m);
	if (m->panels != NULL)
		munmap(m->panels, m->panels_size);
	gguf_close(m->owned);
	free(m->bound);
	free(m);
}

const struct gguf_file *
model_gguf(const struct model *m)
{
	return m->g;
}

const struct model_hparams *
model_hparams(const struct model *m)
{
	return &m->hp;
}

const char *
model_arch_name(const struct model *m)
{
	return m->arch->name;
}

int
model_default_ctx(const struct model *m)
{
	return m->hp.n_ctx_train < MODEL_DEFAULT_CTX ? m->hp.n_ctx_train :
	    MODEL_DEFAULT_CTX;
}

void
model_rope(const struct model *m, float *x, int n_head, int head_dim,
    int pos)
{
	if (m->rope_scaled)
		ops_rope_ext(x, n_head, head_dim, m->hp.n_rot, pos,
		    m->hp.rope_base, m->rope_freqs, m->arch->rope_neox,
		    &m->yarn);
	else
		ops_rope(x, n_head, head_dim, m->hp.n_rot, pos,
		    m->hp.rope_base, m->rope_freqs, m->arch->rope_neox);
}

/*
 * Attention over an F32 cache: the same arithmetic as ops_attention's
 * F16 path, for --kv-type f32.  Rows of K and V are contiguous per head,
 * so the inner loops vectorise.
 */
static void
attention_f32_head(const struct model_ctx *c, int il, const float *q,
    int head, int n_kv, float *sc, float *out)
{
	const struct model_hparams	*hp = &c->m->hp;
	const float			*k, *v, *kr, *vr;
	int				 kvh, p, i, dk, dv;
	size_t				 ks, vs;
	float				 max = -INFINITY, s, scale;
	double				 sum;

	dk = hp->head_dim_k;
	dv = hp->head_dim_v;
	ks = (size_t)hp->n_head_kv * dk;
	vs = (size_t)hp->n_head_kv * dv;
	kvh = head / (hp->n_head / hp->n_head_kv);
	k = (const float *)kv_keys(c->kv, il) + (size_t)kvh * dk;
	v = (const float *)kv_values(c->kv, il) + (size_t)kvh * dv;
	scale = 1.0f / sqrtf((float)dk);
	for (p = 0; p < n_kv; p++) {
		kr = k + p * ks;
		s = 0;
		for (i = 0; i < dk; i++)
			s += kr[i] * q[i];
		sc[p] = s * scale;
		if (sc[p] > max)
			max = sc[p];
	}
	sum = ops_exp_sum(sc, n_kv, max);
	for (i = 0; i < dv; i++)
		out[i] = 0;
	for (p = 0; p < n_kv; p++) {
		vr = v + p * vs;
		for (i = 0; i < dv; i++)
			out[i] += sc[p] * vr[i];
	}
	s = (float)(1.0 / sum);
	for (i = 0; i < dv; i++)
		out[i] *= s;
}

/* a's heads and their sizes, the rest of it zero */
static void
attn_shape(const struct model_hparams *hp, struct ops_attn *a)
{
	memset(a, 0, sizeof *a);
	a->n_head = hp->n_head;
	a->n_head_kv = hp->n_head_kv;
	a->dim_k = hp->head_dim_k;
	a->dim_v = hp->head_dim_v;
}

int
model_matmul(struct model_ctx *c, const struct ops_mat *w, const float *x,
    int n, float *y, int il, const char *what, char **cause)
{
	if (ops_matmul(w, x, n, y, &c->scratch) != 0) {
		*cause = xstrfmt("blk.%d.%s: matmul failed", il, what);
		return -1;
	}
	return 0;
}

int
model_attention(struct model_ctx *c, int il, const float *q, int n_tok,
    int pos0, float *out, char **cause)
{
	const struct model_hparams	*hp = &c->m->hp;
	struct ops_attn			 a;
	int				 nth, u, n_units;

	if (kv_type(c->kv) == KV_F16) {
		attn_shape(hp, &a);
		a.k_stride = (size_t)hp->n_head_kv * hp->head_dim_k;
		a.v_stride = (size_t)hp->n_head_kv * hp->head_dim_v;
		a.scale = 1.0f / sqrtf((float)hp->head_dim_k);
		a.k = kv_keys(c->kv, il);
		a.v = kv_values(c->kv, il);
		if (ops_attention(&a, q, n_tok, pos0, out,
		    &c->att_scratch) != 0) {
			*cause = xstrdup("out of memory for attention");
			return -1;
		}
		return 0;
	}
	nth = ops_threads();
	if (nth > c->att_threads)
		nth = c->att_threads;
	n_units = n_tok * hp->n_head;
#pragma omp parallel for num_threads(nth) if (nth > 1) schedule(static, 1)
	for (u = 0; u < n_units; u++) {
		int	me = 0, t = u / hp->n_head, h = u % hp->n_head;

#ifdef _OPENMP
		me = omp_get_thread_num();
#endif
		attention_f32_head(c, il,
		    q + ((size_t)t * hp->n_head + h) * hp->head_dim_k, h,
		    pos0 + t + 1, c->att_buf + (size_t)me * c->n_ctx,
		    out + ((size_t)t * hp->n_head + h) * hp->head_dim_v);
	}
	return 0;
}

/*
 * Sizes the F16 attention's scratch for a full context up front, as
 * ops_attention asks for it.  Grown on demand instead, it would be
 * reallocated every few tokens as the context fills (the matmul scratch,
 * apart, reaches its size with the first batch).
 */
static int
model_att_scratch(struct model_ctx *c, const struct model_hparams *hp)
{
	struct ops_attn	a;
	size_t		n;
	int		nth = ops_threads();

#ifdef _OPENMP
	if (omp_get_num_procs() > nth)
		nth = omp_get_num_procs();
#endif
	attn_shape(hp, &a);
	n = (ops_attention_scratch(&a, c->n_ctx, nth) + 63) & ~(size_t)63;
	if ((c->att_scratch.buf = aligned_alloc(64, n)) == NULL)
		return -1;
	c->att_scratch.size = n;
	return 0;
}

struct model_ctx *
model_ctx_new(const struct model *m, int n_ctx, char **cause)
{
	struct model_ctx_params	p;

	memset(&p, 0, sizeof p);
	p.n_ctx = n_ctx;
	p.kv_type = KV_F16;
	return model_ctx_new_ext(m, &p, cause);
}

struct model_ctx *
model_ctx_new_ext(const struct model *m, const struct model_ctx_params *p,
    char **cause)
{
	const struct model_hparams	*hp = &m->hp;
	struct model_ctx		*c;
	int				*kw, *vw, il;
	size_t				 nb, arena = 0;

	c = xcalloc(1, sizeof *c);
	c->m = m;
	c->n_ctx = p->n_ctx > 0 ? p->n_ctx : model_default_ctx(m);
	c->n_batch = p->n_batch > 0 ? p->n_batch : MODEL_DEFAULT_BATCH;
	if (c->n_batch > c->n_ctx)
		c->n_batch = c->n_ctx;
	if (c->n_ctx > (1 << 24)) {
		*cause = xstrfmt("context of %d tokens is too large", c->n_ctx);
		goto fail;
	}
	kw = xcalloc((size_t)hp->n_layer, sizeof *kw);
	vw = xcalloc((size_t)hp->n_layer, sizeof *vw);
	for (il = 0; il < hp->n_layer; il++)
		m->arch->kv_width(m, il, &kw[il], &vw[il]);
	c->kv = kv_new(hp->n_layer, c->n_ctx, kw, vw, p->kv_type, cause);
	free(kw);
	free(vw);
	if (c->kv == NULL)
		goto fail;

	nb = (size_t)c->n_batch;
	if (model_att_scratch(c, hp) != 0)
		goto oom;
	if (m->arch->scratch_floats != NULL)
		arena = m->arch->scratch_floats(m, c->n_batch);
	c->x = malloc(nb * (size_t)hp->n_embd * sizeof *c->x);
	c->xn = malloc(nb * (size_t)hp->n_embd * sizeof *c->xn);
	c->arena = malloc((arena ? arena : 1) * sizeof *c->arena);
	c->logits = malloc((size_t)hp->n_vocab * sizeof *c->logits);
	if (p->kv_type == KV_F32) {
#ifdef _OPENMP
		c->att_threads = omp_get_num_procs();
		if (ops_threads() > c->att_threads)
			c->att_threads = ops_threads();
#else
		c->att_threads = 1;
#endif
		c->att_buf = malloc((size_t)c->att_threads *
		    (size_t)c->n_ctx * sizeof *c->att_buf);
		if (c->att_buf == NULL)
			goto oom;
	}
	if (c->x == NULL || c->xn == NULL || c->arena == NULL ||
	    c->logits == NULL)
		goto oom;
	memset(c->logits, 0, (size_t)hp->n_vocab * sizeof *c->logits);
	return c;
oom:
	*cause = xstrfmt("out of memory for a context of %d tokens",
	    c->n_ctx);
fail:
	model_ctx_free(c);
	return NULL;
}

void
model_ctx_free(struct model_ctx *c)
{
	if (c == NULL)
		return;
	kv_free(c->kv);
	free(c->x);
	free(c->xn);
	free(c->arena);
	free(c->logits);
	free(c->att_buf);
	ops_scratch_free(&c->scratch);
	ops_scratch_free(&c->att_scratch);
	free(c);
}

uint64_t
model_kv_bytes(const struct model *m, int n_ctx, enum kv_type t)
{
	uint64_t	n = 0;
	int		il, k, v;

	for (il = 0; il < m->hp.n_layer; il++) {
		m->arch->kv_width(m, il, &k, &v);
		n += (uint64_t)(k + v);
	}
	return n * (uint64_t)n_ctx * (t == KV_F32 ? 4 : 2);
}

int
model_ctx_n_ctx(const struct model_ctx *c)
{
	return c->n_ctx;
}

size_t
model_ctx_kv_bytes(const struct model_ctx *c)
{
	return kv_bytes(c->kv);
}

int
model_ctx_pos(const struct model_ctx *c)
{
	return c->pos;
}

void
model_ctx_rewind(struct model_ctx *c, int pos)
{
	if (pos >= 0 && pos < c->pos)
		c->pos = pos;
}

const float *
model_logits(const struct model_ctx *c)
{
	return c->logits;
}

/* Final norm and output projection of n rows of x into out. */
static int
model_output(struct model_ctx *c, const float *x, int n, float *out,
    char **cause)
{
	const struct model	*m = c->m;
	int			 t, e = m->hp.n_embd;

	for (t = 0; t < n; t++)
		ops_rmsnorm(c->xn + (size_t)t * e, x + (size_t)t * e,
		    m->output_norm, e, m->hp.eps);
	if (ops_matmul(&m->output, c->xn, n, out, &c->scratch) != 0) {
		*cause = xstrdup("output: matmul failed");
		return -1;
	}
	return 0;
}

int
model_decode(struct model_ctx *c, const int32_t *ids, int n, float *logits,
    char **cause)
{
	const struct model		*m = c->m;
	const struct quant_traits	*qt;
	size_t				 e = (size_t)m->hp.n_embd;
	size_t				 nv = (size_t)m->hp.n_vocab;
	int				 done, nb, t, il, pos_start = c->pos;

	if (n <= 0)
		return 0;
	if (n > c->n_ctx - c->pos) {
		*cause = xstrfmt("%d tokens do not fit the context (%d of %d "
		    "positions used)", n, c->pos, c->n_ctx);
		return -1;
	}
	for (t = 0; t < n; t++) {
		if (ids[t] < 0 || ids[t] >= m->hp.n_vocab) {
			*cause = xstrfmt("token id %d out of range (vocabulary "
			    "of %d)", ids[t], m->hp.n_vocab);
			return -1;
		}
	}
	qt = quant_traits(m->tok_embd.type);
	for (done = 0; done < n; done += nb) {
		nb = n - done < c->n_batch ? n - done : c->n_batch;
		for (t = 0; t < nb; t++)
			qt->to_float((const char *)m->tok_embd.data +
			    (size_t)ids[done + t] * m->tok_embd.row_size,
			    c->x + t * e, (int64_t)e);
		for (il = 0; il < m->hp.n_layer; il++) {
			if (m->arch->layer_forward(c, il, c->x, nb, c->pos,
			    cause) != 0)
				goto fail;
		}
		c->pos += nb;
		if (logits != NULL) {
			if (model_output(c, c->x, nb, logits + done * nv,
			    cause) != 0)
				goto fail;
			if (done + nb == n)
				memcpy(c->logits, logits + (size_t)(n - 1) *
				    nv, nv * sizeof *c->logits);
		} else if (done + nb == n) {
			if (model_output(c, c->x + (size_t)(nb - 1) * e, 1,
			    c->logits, cause) != 0)
				goto fail;
		}
	}
	return 0;
fail:
	c->pos = pos_start;
	return -1;
}

const float *
model_eval(struct model_ctx *c, const int32_t *ids, int n, int pos,
    char **cause)
{
	if (pos < 0 || pos > c->pos) {
		*cause = xstrfmt("position %d is past the cache (%d)", pos,
		    c->pos);
		return NULL;
	}
	c->pos = pos;
	if (model_decode(c, ids, n, NULL, cause) != 0)
		return NULL;
	return c->logits;
}
