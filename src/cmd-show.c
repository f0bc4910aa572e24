/*
 * cmd-show.c - `r1chat show MODEL [--verbose]`: what `ollama show` prints
 * in its Model section, and with --verbose every key and every tensor.
 *
 * The layout follows ollama's (a section title indented by two spaces,
 * rows in left-aligned columns each followed by four spaces, though none
 * end a line here) so that scripts written against `ollama show` read
 * ours too.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "gguf.h"
#include "options.h"
#include "params.h"
#include "fit.h"
#include "quant.h"
#include "residency.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define SHOW_COLS	5
#define SHOW_PAD	4	/* spaces after a cell */
/* Display widths past which verbose values are cut short. */
#define SHOW_STR_MAX	60
#define SHOW_ARR_MAX	48

struct show_table {
	char	*(*rows)[SHOW_COLS];
	size_t	  n;
};

/* Adds a row of the cells given, up to a NULL; an empty first column
 * indents it as ollama's tables are. */
static void
table_add(struct show_table *t, const char *a, const char *b, const char *c,
    const char *d)
{
	const char	*cells[SHOW_COLS] = { "", a, b, c, d };
	size_t		 j;

	t->rows = xreallocarray(t->rows, t->n + 1, sizeof *t->rows);
	for (j = 0; j < SHOW_COLS; j++) {
		if (j > 0 && cells[j - 1] == NULL)
			cells[j] = NULL;
		t->rows[t->n][j] = cells[j] != NULL ? xstrdup(cells[j]) : NULL;
	}
	t->n++;
}

/* Width on a terminal, counting each UTF-8 sequence as one column. */
static size_t
text_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

/*
 * Prints s after the pad spaces owed and returns the spaces owed then:
 * those s ends with.  Spaces are written only before text, so that no
 * line ends with them.
 */
static size_t
table_put(const char *s, size_t pad)
{
	size_t	n = strlen(s), k = n;

	while (k > 0 && s[k - 1] == ' ')
		k--;
	if (k == 0)
		return pad + n;
	printf("%*s%.*s", (int)pad, "", (int)k, s);
	return n - k;
}

/*
 * Prints and frees t as ollama's tablewriter does, every cell padded to
 * its column's width and followed by the padding, but with no spaces at
 * the end of a line.
 */
static void
table_print(const char *title, struct show_table *t)
{
	size_t	w[SHOW_COLS] = { 0 }, i, j, n, pad;

	if (t->n == 0)
		return;
	printf("  %s\n", title);
	for (i = 0; i < t->n; i++) {
		for (j = 0; j < SHOW_COLS && t->rows[i][j] != NULL; j++) {
			if ((n = text_width(t->rows[i][j])) > w[j])
				w[j] = n;
		}
	}
	for (i = 0; i < t->n; i++) {
		pad = 0;
		for (j = 0; j < SHOW_COLS && t->rows[i][j] != NULL; j++) {
			pad = table_put(t->rows[i][j], pad);
			pad += w[j] - text_width(t->rows[i][j]) + SHOW_PAD;
		}
		putchar('\n');
		for (j = 0; j < SHOW_COLS; j++)
			free(t->rows[i][j]);
	}
	putchar('\n');
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

/* The chat template's family as the chat tells it (template.c), "none"
 * or "unknown". */
static const char *
template_family(const struct gguf_file *g)
{
	const struct gguf_kv		*kv;
	const struct template_family	*f;
	char				*s;

	kv = gguf_find(g, "tokenizer.chat_template");
	if (kv == NULL || kv->v.type != GGUF_STRING)
		return "none";
	/* The template is not NUL-terminated in the map. */
	s = xstrndup(kv->v.s.ptr, (size_t)kv->v.s.len);
	f = template_detect(s);
	free(s);
	return f != NULL ? f->name : "unknown";
}

/* Appends s to b for display: quoted when asked, control bytes escaped,
 * cut at max columns. */
static void
str_append(char **b, const char *s, uint64_t len, int quote, size_t max)
{
	char	*out, *p;
	size_t	 cols = 0;
	uint64_t i;

	/* Worst case: every byte escaped as \xNN. */
	out = xmalloc((size_t)(len > max * 4 ? max * 4 : len) * 4 + 8);
	p = out;
	if (quote)
		*p++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];

		/* Bytes are capped too: invalid UTF-8 may be all tails. */
		if (((c & 0xc0) != 0x80 && cols++ >= max) || i >= max * 4) {
			p += sprintf(p, "...");
			break;
		}
		if (c == '\n')
			p += sprintf(p, "\\n");
		else if (c == '\t')
			p += sprintf(p, "\\t");
		else if (c == '"' && quote)
			p += sprintf(p, "\\\"");
		else if (c == '\\' && quote)
			p += sprintf(p, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
	}
	if (quote)
		*p++ = '"';
	*p = '\0';
	p = xstrfmt("%s%s", *b, out);
	free(out);
	free(*b);
	*b = p;
}

static void
scalar_append(char **b, const struct gguf_value *v, int quote, size_t max)
{
	char	*p;

	switch (v->type) {
	case GGUF_STRING:
		str_append(b, v->s.ptr, v->s.len, quote, max);
		return;
	case GGUF_BOOL:
		p = xstrfmt("%s%s", *b, v->u ? "true" : "false");
		break;
	case GGUF_F32:
	case GGUF_F64:
		p = xstrfmt("%s%g", *b, v->f);
		break;
	case GGUF_I8:
	case GGUF_I16:
	case GGUF_I32:
	case GGUF_I64:
		p = xstrfmt("%s%" PRId64, *b, v->i);
		break;
	case GGUF_ARRAY:
		p = xstrfmt("%s[%s; %" PRIu64 "]", *b,
		    gguf_vtype_name(v->arr.type), v->arr.n);
		break;
	default:
		p = xstrfmt("%s%" PRIu64, *b, v->u);
		break;
	}
	free(*b);
	*b = p;
}

/* The type column: "u32", or "string[151936]" for an array. */
static char *
value_type(const struct gguf_value *v)
{
	if (v->type == GGUF_ARRAY)
		return xstrfmt("%s[%" PRIu64 "]", gguf_vtype_name(v->arr.type),
		    v->arr.n);
	return xstrdup(gguf_vtype_name(v->type));
}

/* The value column; a long array shows its first items, as ollama does. */
static char *
value_text(const struct gguf_value *v)
{
	struct gguf_value	 item;
	const uint8_t		*p;
	char			*b = xstrdup("");
	uint64_t		 i;

	if (v->type != GGUF_ARRAY) {
		scalar_append(&b, v, 0, SHOW_STR_MAX);
		return b;
	}
	str_append(&b, "[", 1, 0, 1);
	p = v->arr.data;
	for (i = 0; i < v->arr.n; i++) {
		if (i > 0 && text_width(b) >= SHOW_ARR_MAX)
			break;
		if ((p = gguf_arr_decode(v, p, &item)) == NULL)
			break;
		if (i > 0)
			str_append(&b, ", ", 2, 0, 2);
		scalar_append(&b, &item, 1, 24);
	}
	if (i < v->arr.n) {
		char	*m = xstrfmt("%s ...+%" PRIu64 " more", b, v->arr.n - i);

		free(b);
		b = m;
	}
	str_append(&b, "]", 1, 0, 1);
	return b;
}

static void
show_metadata(const struct gguf_file *g)
{
	struct show_table	 t = { NULL, 0 };
	const struct gguf_kv	**kv;
	char			*ty, *val;
	uint64_t		 i, j;

	/* Sorted by key, as ollama's Metadata section is. */
	kv = xreallocarray(NULL, g->n_kv ? g->n_kv : 1, sizeof *kv);
	for (i = 0; i < g->n_kv; i++) {
		for (j = i; j > 0 && strcmp(kv[j - 1]->key, g->kv[i].key) > 0;
		    j--)
			kv[j] = kv[j - 1];
		kv[j] = &g->kv[i];
	}
	for (i = 0; i < g->n_kv; i++) {
		ty = value_type(&kv[i]->v);
		val = value_text(&kv[i]->v);
		table_add(&t, kv[i]->key, ty, val, NULL);
		free(ty);
		free(val);
	}
	free(kv);
	table_print("Metadata", &t);
}

static void
show_tensors(const struct gguf_file *g)
{
	struct show_table		 t = { NULL, 0 };
	const struct gguf_tensor	*x;
	const struct type_info		*ti;
	char				 shape[128], off[64];
	uint64_t			 i;
	uint32_t			 d;
	int				 n;

	for (i = 0; i < g->n_tensors; i++) {
		x = &g->tensors[i];
		ti = type_info(x->type);
		n = snprintf(shape, sizeof shape, "[");
		for (d = 0; d < x->n_dims; d++)
			n += snprintf(shape + n, sizeof shape - n, "%s%" PRId64,
			    d ? " " : "", x->ne[d]);
		snprintf(shape + n, sizeof shape - n, "]");
		if (g->n_shards > 1)
			snprintf(off, sizeof off, "%" PRIu64 " (shard %d)",
			    x->offset, x->shard + 1);
		else
			snprintf(off, sizeof off, "%" PRIu64, x->offset);
		table_add(&t, x->name, ti->name, shape, off);
	}
	table_print("Tensors", &t);
}

/* How many tensors each type has, in type id order (a file's mixture). */
static void
show_type_counts(const struct gguf_file *g)
{
	struct show_table	 t = { NULL, 0 };
	uint64_t		 count[GGML_TYPE_COUNT] = { 0 }, i;
	char			*s;
	int			 k;

	for (i = 0; i < g->n_tensors; i++)
		count[g->tensors[i].type]++;
	for (k = 0; k < GGML_TYPE_COUNT; k++) {
		if (count[k] == 0)
			continue;
		s = xstrfmt("%" PRIu64, count[k]);
		table_add(&t, type_info(k)->name, s, NULL, NULL);
		free(s);
	}
	table_print("Tensor types", &t);
}

/* A text under its section title, each line indented as ollama's. */
static void
text_print(const char *title, const char *text)
{
	const char	*p, *nl;

	printf("  %s\n", title);
	for (p = text; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		printf("    %.*s\n", (int)(nl - p), p);
	}
	putchar('\n');
}

/*
 * The manifest's layers of a model found by name (store.c): its params
 * as ollama shows them (a row a value, an array's one per element), its
 * system prompt, and with --verbose its template.
 */
static void
show_layers(const struct store_model *m, int verbose)
{
	struct show_table	 t = { NULL, 0 };
	json_t			*j, *v, *e;
	const char		*key;
	char			*s;
	size_t			 i;

	if (m->params != NULL &&
	    (j = json_loads(m->params, 0, NULL)) != NULL) {
		json_object_foreach(j, key, v) {
			for (i = 0; i < (json_is_array(v) ?
			    json_array_size(v) : 1); i++) {
				e = json_is_array(v) ? json_array_get(v, i) : v;
				s = json_dumps(e, JSON_ENCODE_ANY |
				    JSON_REAL_PRECISION(6));
				table_add(&t, key, s, NULL, NULL);
				free(s);
			}
		}
		json_decref(j);
		table_print("Parameters", &t);
	}
	if (m->system != NULL)
		text_print("System", m->system);
	if (verbose && m->template != NULL)
		text_print("Template", m->template);
}

/*
 * The Fit section: the memory the weights and a context need against
 * what there is (a mixture's dense part apart: its experts can be paged
 * in), and the generation rate to expect, said as an estimate.
 */
static void
show_fit(const struct gguf_file *g, const struct options *o)
{
	struct show_table	 t = { NULL, 0 };
	struct fit		 f;
	char			*cause = NULL, *a, *b, *c, *d, *e, *s;
	const char		*verdict;
	uint64_t		 need;
	int			 dots;

	if (fit_estimate(g, o->params.num_ctx != PARAM_UNSET ?
	    o->params.num_ctx : 0, &f, &cause) != 0) {
		free(cause);	/* show says what the file is, runnable or not */
		return;
	}
	need = f.dense + f.experts + f.kv;
	a = cmd_bytes(f.dense + f.experts);
	b = cmd_bytes(f.dense);
	c = cmd_bytes(f.experts);
	s = f.experts > 0 ? xstrfmt("%s (dense %s, experts %s)", a, b, c) :
	    xstrdup(a);
	table_add(&t, "weights", s, NULL, NULL);
	free(a);
	free(b);
	free(c);
	free(s);
	a = cmd_bytes(f.kv);
	s = xstrfmt("%s (%d tokens, F16 cache)", a, f.n_ctx);
	table_add(&t, "context", s, NULL, NULL);
	free(a);
	free(s);
	a = cmd_bytes(need);
	table_add(&t, "needs", a, NULL, NULL);
	free(a);
	if (f.ram > 0) {
		a = cmd_bytes(f.ram);
		table_add(&t, "available", a, NULL, NULL);
		free(a);
		if (need <= f.ram)
			verdict = "yes";
		else if (f.experts > 0 && f.dense + f.kv <= f.ram)
			verdict = "the dense part; experts paged in from disk";
		else
			verdict = "no";
		table_add(&t, "fits", verdict, NULL, NULL);
	}
	if (f.tps > 0) {
		a = cmd_bytes((uint64_t)f.speed);
		b = cmd_bytes(f.per_token - f.expert_token);
		c = cmd_bytes(f.expert_token);
		e = f.expert_token > 0 ? xstrfmt(", and %s of experts at x "
		    "%.2f of it", c, FIT_EXPERTS) : xstrdup("");
		/* compute-bound: the dots set the speed, not the read */
		dots = f.speed < f.bandwidth * FIT_EFFICIENCY;
		d = cmd_bytes((uint64_t)(dots ? f.compute : f.bandwidth));
		s = xstrfmt("%.1f tokens/s, an estimate (%s a token at %s/s: "
		    "%s/s %s x %.2f%s)", f.tps, b, a, d, dots ?
		    "through the dots" : "read", dots ? FIT_EFFICIENCY_DOTS :
		    FIT_EFFICIENCY, e);
		free(d);
		table_add(&t, "generation", s, NULL, NULL);
		free(a);
		free(b);
		free(c);
		free(e);
		free(s);
	}
	table_print("Fit", &t);
}

int
cmd_show(struct options *o)
{
	struct gguf_file	*g;
	struct show_table	 t = { NULL, 0 };
	const char		*ft_name = "unknown";
	struct residency	 mem;
	char			*cause = NULL, *arch = NULL, *key, *s;
	uint64_t		 v;
	uint32_t		 ft;

	if (o->n_args > 0) {
		cmd_error("show: %s: one model only (usage: show MODEL "
		    "[--verbose])", o->args[0]);
		return 2;
	}
	if ((g = gguf_open(o->model, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		free(cause);
		return 1;
	}

	if (gguf_get_str(g, "general.architecture", &arch) == 0)
		table_add(&t, "architecture", arch, NULL, NULL);
	s = util_human_number(gguf_n_elements(g));
	table_add(&t, "parameters", s, NULL, NULL);
	free(s);
	if (arch != NULL) {
		key = xstrfmt("%s.context_length", arch);
		if (gguf_get_u64(g, key, &v) == 0) {
			s = xstrfmt("%" PRIu64, v);
			table_add(&t, "context length", s, NULL, NULL);
			free(s);
		}
		free(key);
		key = xstrfmt("%s.embedding_length", arch);
		if (gguf_get_u64(g, key, &v) == 0) {
			s = xstrfmt("%" PRIu64, v);
			table_add(&t, "embedding length", s, NULL, NULL);
			free(s);
		}
		free(key);
	}
	if (gguf_get_u32(g, "general.file_type", &ft) == 0 &&
	    type_ftype_name(ft) != NULL)
		ft_name = type_ftype_name(ft);
	table_add(&t, "quantization", ft_name, NULL, NULL);
	table_add(&t, "chat template", template_family(g), NULL, NULL);
	residency_measure(g, &mem);
	if (mem.experts > 0) {
		/* what must stay in memory, what can be paged in */
		s = residency_size(mem.dense, "dense");
		table_add(&t, "resident", s, NULL, NULL);
		free(s);
		s = residency_size(mem.experts, "experts");
		table_add(&t, "streamed", s, NULL, NULL);
		free(s);
	}
	table_print("Model", &t);
	show_fit(g, o);
	if (o->found != NULL && o->found->name != NULL)
		show_layers(o->found, o->verbose);
	s = quant_choice_summary();
	table_add(&t, s, NULL, NULL, NULL);
	free(s);
	table_print("Kernels", &t);
	if ((s = residency_warning(&mem)) != NULL) {
		cmd_error("warning: %s", s);
		free(s);
	}

	if (o->verbose) {
		show_metadata(g);
		show_type_counts(g);
		show_tensors(g);
	}
	free(arch);
	gguf_close(g);
	return 0;
}
