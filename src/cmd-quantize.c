/*
 * cmd-quantize.c - `r1chat quantize IN.gguf OUT.gguf TYPE`: rewrite a
 * model's weights in another type, tensor by tensor as llama.cpp's
 * quantizer chooses them (quantmix), with ggml's reference quantizers so
 * the bytes are llama.cpp's too.
 *
 * Every quantized tensor is kept in memory until the writer, which puts
 * the file in place with one rename at the end: an interrupted run leaves
 * no output file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include "gguf.h"
#include "options.h"
#include "quant.h"
#include "quantmix.h"
#include "util.h"

/* ggml's GGML_QNT_VERSION: the block layouts' version, 2 since 2023. */
#define QUANT_VERSION 2

/*
 * Keys of the input not copied: the output is one file, and the two keys
 * set afterwards go at the end, where llama.cpp puts them.
 */
static const char *quantize_drop[] = {
	"split.no", "split.count", "split.tensors.count",
	"general.quantization_version", "general.file_type",
};

/*
 * llama-quantize's types that need an importance matrix, which r1chat
 * does not make: it reads such files but writes none.
 */
static const char *quantize_imatrix_types[] = {
	"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS",
	"IQ3_XS", "IQ3_S", "IQ3_M",
};

/* 1 when name is one of quantize_imatrix_types (any case). */
static int
quantize_needs_imatrix(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof quantize_imatrix_types /
	    sizeof quantize_imatrix_types[0]; i++) {
		if (strcasecmp(name, quantize_imatrix_types[i]) == 0)
			return 1;
	}
	return 0;
}

struct quantize_job {
	const struct gguf_tensor	*t;
	uint32_t			 type;	/* the output's */
	void				*out;	/* malloc'd if converted */
	size_t				 size;	/* bytes out */
};

/* Reads the hyper-parameters the type rules look at. */
static void
quantize_model(const struct gguf_file *g, struct quantmix_model *m,
    char **arch)
{
	char		 key[128];
	uint32_t	 v;

	memset(m, 0, sizeof *m);
	if (gguf_get_str(g, "general.architecture", arch) != 0)
		*arch = xstrdup("");
	m->arch = *arch;
	snprintf(key, sizeof key, "%s.block_count", *arch);
	if (gguf_get_u32(g, key, &v) == 0)
		m->n_layer = (int)v;
	snprintf(key, sizeof key, "%s.attention.head_count", *arch);
	if (gguf_get_u32(g, key, &v) == 0)
		m->n_head = (int)v;
	snprintf(key, sizeof key, "%s.attention.head_count_kv", *arch);
	m->n_head_kv = gguf_get_u32(g, key, &v) == 0 ? (int)v : m->n_head;
	snprintf(key, sizeof key, "%s.expert_count", *arch);
	if (gguf_get_u32(g, key, &v) == 0)
		m->n_expert = (int)v;
}

/*
 * Converts tensor j->t to j->type into j->out, rows in parallel: each row
 * goes through F32 (ggml quantizes from F32 too, so a F16 source gives
 * llama.cpp's bytes).  Returns 0, or -1 with *cause set.
 */
static int
quantize_tensor(struct quantize_job *j, char **cause)
{
	const struct quant_traits	*src, *dst;
	const struct gguf_tensor	*t = j->t;
	int64_t				 n0 = t->ne[0], rows, r;
	size_t				 in_rs, out_rs;
	int				 failed = 0;

	src = quant_traits(t->type);
	dst = quant_traits(j->type);
	if (src == NULL || dst == NULL || dst->from_float_ref == NULL) {
		*cause = xstrfmt("%s: cannot convert %s to %s", t->name,
		    type_info(t->type)->name, type_info(j->type)->name);
		return -1;
	}
	rows = (int64_t)(t->size / type_row_size(t->type, n0));
	in_rs = type_row_size(t->type, n0);
	out_rs = type_row_size(j->type, n0);
	j->size = out_rs * (size_t)rows;
	j->out = malloc(j->size ? j->size : 1);
	if (j->out == NULL) {
		*cause = xstrfmt("%s: out of memory for %zu bytes", t->name,
		    j->size);
		return -1;
	}

	#pragma omp parallel
	{
		float	*row = malloc((size_t)n0 * sizeof *row);

		if (row == NULL) {
			#pragma omp atomic write
			failed = 1;
		}
		#pragma omp for schedule(dynamic, 16)
		for (r = 0; r < rows; r++) {
			if (row == NULL)
				continue;
			src->to_float((const uint8_t *)t->data + r * in_rs,
			    row, n0);
			dst->from_float_ref(row, (uint8_t *)j->out + r * out_rs,
			    n0);
		}
		free(row);
	}
	if (failed) {
		*cause = xstrfmt("%s: out of memory", t->name);
		return -1;
	}
	return 0;
}

/*
 * One line, redrawn in place, only when stderr is a terminal: the share
 * of the input done and the tensor now converted.
 */
static void
quantize_progress(int tty, size_t i, size_t n, const struct quantize_job *j,
    uint64_t done, uint64_t total)
{
	if (!tty)
		return;
	fprintf(stderr, "\r\033[K%3d%% [%zu/%zu] %s %s -> %s",
	    total ? (int)(100 * done / total) : 100, i + 1, n, j->t->name,
	    type_info(j->t->type)->name, type_info(j->type)->name);
	fflush(stderr);
}

/* Fills w from the jobs: metadata, then tensors, converting as planned. */
static int
quantize_run(const struct gguf_file *g, struct quantize_job *jobs,
    struct gguf_writer *w, uint32_t ftype, int tty, char **cause)
{
	const struct gguf_tensor	*t;
	size_t				 i, k, n_drop;
	uint64_t			 u, done = 0, total = 0;

	n_drop = sizeof quantize_drop / sizeof quantize_drop[0];
	for (u = 0; u < g->n_kv; u++) {
		for (k = 0; k < n_drop; k++) {
			if (strcmp(g->kv[u].key, quantize_drop[k]) == 0)
				break;
		}
		if (k == n_drop)
			gguf_writer_copy_kv(w, &g->kv[u]);
	}
	gguf_writer_set_u32(w, "general.quantization_version",
	    QUANT_VERSION);
	gguf_writer_set_u32(w, "general.file_type", ftype);

	for (i = 0; i < g->n_tensors; i++)
		total += jobs[i].t->size;
	for (i = 0; i < g->n_tensors; i++) {
		t = jobs[i].t;
		quantize_progress(tty, i, g->n_tensors, &jobs[i], done, total);
		done += t->size;
		if (jobs[i].type != t->type) {
			if (quantize_tensor(&jobs[i], cause) != 0)
				return -1;
		}
		gguf_writer_add_tensor(w, t->name, jobs[i].type, t->n_dims,
		    t->ne, jobs[i].out != NULL ? jobs[i].out : t->data);
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	return 0;
}

/* The layer of blk.N.*, -1 for the others. */
static int
quantize_layer(const char *name)
{
	int	l = -1;

	if (sscanf(name, "blk.%d.", &l) != 1)
		return -1;
	return l;
}

/*
 * llama.cpp's order for tensors (its loader's map): by layer, the
 * others first, then by name.  The type rules count tensors in this
 * order, and writing them in it too gives llama.cpp's very bytes.
 */
static int
quantize_cmp(const void *a, const void *b)
{
	const struct quantize_job	*ja = a, *jb = b;
	int				 la = quantize_layer(ja->t->name);
	int				 lb = quantize_layer(jb->t->name);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(ja->t->name, jb->t->name);
}

/*
 * Plans each tensor's type; refuses to requantize (a quantized tensor
 * to another type loses twice, and llama.cpp refuses it too by default),
 * but writes F32 from any type.
 */
static int
quantize_plan(const struct gguf_file *g, uint32_t ftype,
    struct quantize_job *jobs, int *n_fallback, char **cause)
{
	struct quantmix_model	 m;
	struct quantmix		 q;
	const struct gguf_tensor	*t;
	const char		**names;
	char			*arch;
	uint64_t		 i;
	int			 rc = 0;

	quantize_model(g, &m, &arch);
	for (i = 0; i < g->n_tensors; i++)
		jobs[i].t = &g->tensors[i];
	qsort(jobs, g->n_tensors, sizeof *jobs, quantize_cmp);
	names = xcalloc(g->n_tensors + 1, sizeof *names);
	for (i = 0; i < g->n_tensors; i++)
		names[i] = jobs[i].t->name;
	quantmix_init(&q, ftype, &m, names, g->n_tensors);
	free(names);

	for (i = 0; i < g->n_tensors && rc == 0; i++) {
		t = jobs[i].t;
		jobs[i].type = quantmix_type(&q, t->name, t->n_dims, t->ne,
		    t->type);
		if (jobs[i].type == t->type)
			continue;
		/* To F32 is dequantizing, which loses nothing. */
		if (type_info(t->type)->blck > 1 &&
		    jobs[i].type != GGML_TYPE_F32) {
			*cause = xstrfmt("%s is %s: requantizing is not "
			    "supported, start from F32, F16 or BF16 (F32 "
			    "can be written from any type)", t->name,
			    type_info(t->type)->name);
			rc = -1;
		} else if (quant_traits(t->type) == NULL) {
			*cause = xstrfmt("%s: cannot convert from %s", t->name,
			    type_info(t->type)->name);
			rc = -1;
		}
	}
	*n_fallback = q.n_fallback;
	free(arch);
	return rc;
}

int
cmd_quantize(struct options *o)
{
	struct gguf_file	*g = NULL;
	struct gguf_writer	*w = NULL;
	struct quantize_job	*jobs = NULL;
	const char		*in = o->model, *out, *tname;
	char			*cause = NULL;
	uint32_t		 ftype, from;
	uint64_t		 i, in_bytes = 0, out_bytes = 0;
	int64_t			 start = util_now_ns();
	int			 rc = 1, n_fallback;
	int			 tty = isatty(STDERR_FILENO);

	if (o->n_args != 2) {
		cmd_error("quantize: usage: r1chat quantize MODEL OUT.gguf "
		    "TYPE");
		return 2;
	}
	out = o->args[0];
	tname = o->args[1];
	if (quantmix_ftype(tname, &ftype) != 0) {
		if (quantize_needs_imatrix(tname))
			cmd_error("quantize: %s: needs an importance matrix, "
			    "which r1chat does not make (it runs such files; "
			    "it writes %s)", tname, quantmix_ftype_names());
		else
			cmd_error("quantize: %s: unknown type (one of %s)",
			    tname, quantmix_ftype_names());
		return 2;
	}
	if ((g = gguf_open(in, &cause)) == NULL) {
		cmd_error("%s: %s", in, cause);
		free(cause);
		return 1;
	}
	jobs = xcalloc(g->n_tensors + 1, sizeof *jobs);
	if (quantize_plan(g, ftype, jobs, &n_fallback, &cause) != 0) {
		cmd_error("%s: %s", in, cause);
		goto out;
	}
	w = gguf_writer_new();
	if (quantize_run(g, jobs, w, ftype, tty, &cause) != 0) {
		cmd_error("%s: %s", in, cause);
		goto out;
	}
	if (gguf_writer_write(w, out, &cause) != 0) {
		cmd_error("%s: %s", out, cause);
		goto out;
	}
	for (i = 0; i < g->n_tensors; i++) {
		in_bytes += jobs[i].t->size;
		out_bytes += jobs[i].out != NULL ? jobs[i].size :
		    jobs[i].t->size;
	}
	/*
	 * What was done, as llama-quantize's closing lines say it, on
	 * stdout as its times are: stderr is for errors and the progress.
	 */
	if (gguf_get_u32(g, "general.file_type", &from) != 0 ||
	    type_ftype_name(from) == NULL)
		printf("%s -> %s (%s)\n", in, out, type_ftype_name(ftype));
	else
		printf("%s (%s) -> %s (%s)\n", in, type_ftype_name(from), out,
		    type_ftype_name(ftype));
	printf("model size = %.2f MiB\n", in_bytes / 1048576.0);
	printf("quant size = %.2f MiB\n", out_bytes / 1048576.0);
	if (n_fallback > 0)
		printf("%d tensors in another type: rows not whole blocks\n",
		    n_fallback);
	printf("quantize time = %.2f ms\n", (util_now_ns() - start) / 1e6);
	rc = 0;

out:
	free(cause);
	if (jobs != NULL) {
		for (i = 0; i < g->n_tensors; i++)
			free(jobs[i].out);
	}
	free(jobs);
	gguf_writer_free(w);
	gguf_close(g);
	return rc;
}
