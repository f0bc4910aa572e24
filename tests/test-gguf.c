/*
 * test-gguf.c - the GGUF reader and writer: files written with the writer
 * read back exactly (every value type, nested arrays, alignment, tensors,
 * split shards), the writer refuses what the reader would, and real files
 * made by llama.cpp's tools read as their README says.
 */
#include "config.h"

#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "tap.h"
#include "util.h"

static char	*tmpdir;

static char *
tmp_path(const char *name)
{
	return xstrfmt("%s/%s", tmpdir, name);
}

/* Writes w to name in the temporary directory and opens it again. */
static struct gguf_file *
roundtrip(struct gguf_writer *w, const char *name)
{
	struct gguf_file	*g;
	char			*path = tmp_path(name), *cause = NULL;

	if (gguf_writer_write(w, path, &cause) != 0) {
		diag("write %s: %s", path, cause);
		free(cause);
		free(path);
		gguf_writer_free(w);
		return NULL;
	}
	gguf_writer_free(w);
	if ((g = gguf_open(path, &cause)) == NULL) {
		diag("open %s: %s", path, cause);
		free(cause);
	}
	free(path);
	return g;
}

/* Opens path, expecting failure with a reason containing want. */
static int
open_fails(const char *path, const char *want)
{
	struct gguf_file	*g;
	char			*cause = NULL;
	int			 r;

	if ((g = gguf_open(path, &cause)) != NULL) {
		gguf_close(g);
		diag("%s: opened", path);
		return 0;
	}
	r = cause != NULL && strstr(cause, want) != NULL;
	if (!r)
		diag("%s: '%s', wanted '%s'", path, cause ? cause : "(null)",
		    want);
	free(cause);
	return r;
}

static void
le(uint8_t *p, uint64_t v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- metadata values ------------------------------------------------- */

static void
test_scalars(void)
{
	struct gguf_writer	*w = gguf_writer_new();
	struct gguf_file	*g;
	const struct gguf_kv	*kv;
	struct gguf_value	 v;
	uint64_t		 u64;
	uint32_t		 u32;
	int64_t			 i64;
	float			 f;
	int			 b;
	char			*s;

	v.type = GGUF_U8;  v.u = 200;		gguf_writer_set(w, "u8", &v);
	v.type = GGUF_I8;  v.i = -100;		gguf_writer_set(w, "i8", &v);
	v.type = GGUF_U16; v.u = 65535;		gguf_writer_set(w, "u16", &v);
	v.type = GGUF_I16; v.i = -32768;	gguf_writer_set(w, "i16", &v);
	gguf_writer_set_u32(w, "u32", 4000000000u);
	gguf_writer_set_i32(w, "i32", -2000000000);
	gguf_writer_set_f32(w, "f32", 0.15625f);
	gguf_writer_set_bool(w, "bool", 1);
	gguf_writer_set_str(w, "string", "h\xc3\xa9llo\nworld");
	gguf_writer_set_u64(w, "u64", UINT64_MAX);
	v.type = GGUF_I64; v.i = INT64_MIN;	gguf_writer_set(w, "i64", &v);
	v.type = GGUF_F64; v.f = -1e300;	gguf_writer_set(w, "f64", &v);
	v.type = GGUF_BOOL; v.u = 0;		gguf_writer_set(w, "false", &v);
	/* Setting a key again replaces it, in place. */
	gguf_writer_set_u32(w, "again", 1);
	gguf_writer_set_str(w, "again", "second");
	if ((g = roundtrip(w, "scalars.gguf")) == NULL) {
		ok(0, "scalars: written and read");
		return;
	}
	ok(g->n_kv == 14, "scalars: 14 keys (got %llu)",
	    (unsigned long long)g->n_kv);
	ok(g->shards[0].version == 3, "scalars: version 3");
	kv = gguf_find(g, "u8");
	ok(kv && kv->v.type == GGUF_U8 && kv->v.u == 200, "u8");
	kv = gguf_find(g, "i8");
	ok(kv && kv->v.type == GGUF_I8 && kv->v.i == -100, "i8");
	kv = gguf_find(g, "u16");
	ok(kv && kv->v.type == GGUF_U16 && kv->v.u == 65535, "u16");
	kv = gguf_find(g, "i16");
	ok(kv && kv->v.type == GGUF_I16 && kv->v.i == -32768, "i16");
	kv = gguf_find(g, "u32");
	ok(kv && kv->v.type == GGUF_U32 && kv->v.u == 4000000000u, "u32");
	kv = gguf_find(g, "i32");
	ok(kv && kv->v.type == GGUF_I32 && kv->v.i == -2000000000, "i32");
	kv = gguf_find(g, "f32");
	ok(kv && kv->v.type == GGUF_F32 && kv->v.f == 0.15625, "f32");
	kv = gguf_find(g, "bool");
	ok(kv && kv->v.type == GGUF_BOOL && kv->v.u == 1, "bool");
	kv = gguf_find(g, "string");
	ok(kv && kv->v.type == GGUF_STRING && kv->v.s.len == 12 &&
	    memcmp(kv->v.s.ptr, "h\xc3\xa9llo\nworld", 12) == 0, "string");
	kv = gguf_find(g, "u64");
	ok(kv && kv->v.type == GGUF_U64 && kv->v.u == UINT64_MAX, "u64");
	kv = gguf_find(g, "i64");
	ok(kv && kv->v.type == GGUF_I64 && kv->v.i == INT64_MIN, "i64");
	kv = gguf_find(g, "f64");
	ok(kv && kv->v.type == GGUF_F64 && kv->v.f == -1e300, "f64");
	kv = gguf_find(g, "again");
	ok(kv && kv->v.type == GGUF_STRING && kv->v.s.len == 6 &&
	    kv == &g->kv[13], "a key set twice keeps its place, last value");
	ok(gguf_find(g, "missing") == NULL, "missing key: NULL");

	/* Getters convert between integer types when the value fits. */
	ok(gguf_get_u64(g, "u8", &u64) == 0 && u64 == 200, "get_u64 of u8");
	ok(gguf_get_u64(g, "i8", &u64) == -1, "get_u64 of a negative: -1");
	ok(gguf_get_u32(g, "u64", &u32) == -1, "get_u32 of UINT64_MAX: -1");
	ok(gguf_get_u32(g, "u16", &u32) == 0 && u32 == 65535, "get_u32 u16");
	ok(gguf_get_i64(g, "i16", &i64) == 0 && i64 == -32768, "get_i64 i16");
	ok(gguf_get_i64(g, "u64", &i64) == -1, "get_i64 of UINT64_MAX: -1");
	ok(gguf_get_i64(g, "u32", &i64) == 0 && i64 == 4000000000,
	    "get_i64 of u32");
	ok(gguf_get_f32(g, "f32", &f) == 0 && f == 0.15625f, "get_f32");
	ok(gguf_get_f32(g, "f64", &f) == 0 && isinf(f), "get_f32 of f64");
	ok(gguf_get_f32(g, "u32", &f) == -1, "get_f32 of u32: -1");
	ok(gguf_get_bool(g, "bool", &b) == 0 && b == 1, "get_bool true");
	ok(gguf_get_bool(g, "false", &b) == 0 && b == 0, "get_bool false");
	ok(gguf_get_bool(g, "u8", &b) == -1, "get_bool of u8: -1");
	s = NULL;
	ok(gguf_get_str(g, "string", &s) == 0 &&
	    strcmp(s, "h\xc3\xa9llo\nworld") == 0, "get_str");
	free(s);
	ok(gguf_get_str(g, "u8", &s) == -1, "get_str of u8: -1");
	ok(gguf_get_u64(g, "missing", &u64) == -1, "get of a missing key: -1");
	gguf_close(g);
}

static void
test_arrays(void)
{
	static const uint8_t	 u8s[] = { 1, 2, 255 };
	static const int16_t	 i16s[] = { -1, 2, -32768, 32767 };
	static const float	 f32s[] = { 0.5f, -2.0f };
	static const double	 f64s[] = { 1e-300, 3.25 };
	static const int64_t	 i64s[] = { INT64_MIN, -1, 7 };
	static const uint8_t	 bools[] = { 0, 1, 1 };
	const char		*strs[] = { "", "a", "<think>", "\xef\xbd\x9c" };
	struct gguf_writer	*w = gguf_writer_new();
	struct gguf_file	*g;
	const struct gguf_kv	*kv;
	struct gguf_value	 v, item, sub;
	const uint8_t		**idx, *p;
	uint8_t			 raw[256], *q;
	uint64_t		 i;
	int			 good;

	gguf_writer_set_arr(w, "u8s", GGUF_U8, u8s, 3);
	gguf_writer_set_arr(w, "i16s", GGUF_I16, i16s, 4);
	gguf_writer_set_arr(w, "f32s", GGUF_F32, f32s, 2);
	gguf_writer_set_arr(w, "f64s", GGUF_F64, f64s, 2);
	gguf_writer_set_arr(w, "i64s", GGUF_I64, i64s, 3);
	gguf_writer_set_arr(w, "bools", GGUF_BOOL, bools, 3);
	gguf_writer_set_arr(w, "empty", GGUF_U32, NULL, 0);
	gguf_writer_set_str_arr(w, "strs", strs, 4);

	/* [[1, 2, 3], [-4]] as i32, and [["a", "bc"], []] as strings. */
	q = raw;
	le(q, GGUF_I32, 4); le(q + 4, 3, 8); q += 12;
	le(q, 1, 4); le(q + 4, 2, 4); le(q + 8, 3, 4); q += 12;
	le(q, GGUF_I32, 4); le(q + 4, 1, 8); q += 12;
	le(q, (uint32_t)-4, 4); q += 4;
	v.type = GGUF_ARRAY;
	v.arr.type = GGUF_ARRAY;
	v.arr.n = 2;
	v.arr.data = raw;
	v.arr.end = q;
	gguf_writer_set(w, "nested", &v);
	q = raw;
	le(q, GGUF_STRING, 4); le(q + 4, 2, 8); q += 12;
	le(q, 1, 8); q[8] = 'a'; q += 9;
	le(q, 2, 8); q[8] = 'b'; q[9] = 'c'; q += 10;
	le(q, GGUF_STRING, 4); le(q + 4, 0, 8); q += 12;
	v.arr.end = q;
	gguf_writer_set(w, "nested_strs", &v);

	if ((g = roundtrip(w, "arrays.gguf")) == NULL) {
		ok(0, "arrays: written and read");
		return;
	}
	kv = gguf_find(g, "u8s");
	ok(kv && kv->v.type == GGUF_ARRAY && kv->v.arr.type == GGUF_U8 &&
	    kv->v.arr.n == 3 && gguf_arr_item(&kv->v, 2, &item) == 0 &&
	    item.type == GGUF_U8 && item.u == 255, "u8 array");
	ok(kv && gguf_arr_item(&kv->v, 3, &item) == -1,
	    "item past the end: -1");
	kv = gguf_find(g, "i16s");
	good = kv != NULL && kv->v.arr.n == 4;
	for (i = 0; good && i < 4; i++)
		good = gguf_arr_item(&kv->v, i, &item) == 0 &&
		    item.i == i16s[i];
	ok(good, "i16 array, sign extended");
	kv = gguf_find(g, "f32s");
	ok(kv && gguf_arr_item(&kv->v, 1, &item) == 0 &&
	    item.type == GGUF_F32 && item.f == -2.0, "f32 array");
	kv = gguf_find(g, "f64s");
	ok(kv && gguf_arr_item(&kv->v, 0, &item) == 0 && item.f == 1e-300,
	    "f64 array");
	kv = gguf_find(g, "i64s");
	ok(kv && gguf_arr_item(&kv->v, 0, &item) == 0 &&
	    item.i == INT64_MIN, "i64 array");
	kv = gguf_find(g, "bools");
	ok(kv && gguf_arr_item(&kv->v, 1, &item) == 0 &&
	    item.type == GGUF_BOOL && item.u == 1, "bool array");
	kv = gguf_find(g, "empty");
	ok(kv && kv->v.arr.n == 0 && kv->v.arr.type == GGUF_U32 &&
	    kv->v.arr.data == kv->v.arr.end, "empty array");

	kv = gguf_find(g, "strs");
	good = kv != NULL && kv->v.arr.type == GGUF_STRING &&
	    kv->v.arr.n == 4;
	for (i = 0; good && i < 4; i++)
		good = gguf_arr_item(&kv->v, i, &item) == 0 &&
		    item.type == GGUF_STRING &&
		    item.s.len == strlen(strs[i]) &&
		    memcmp(item.s.ptr, strs[i], item.s.len) == 0;
	ok(good, "string array by gguf_arr_item");
	idx = kv ? gguf_arr_index(&kv->v) : NULL;
	good = idx != NULL && idx[4] == kv->v.arr.end;
	for (i = 0; good && i < 4; i++)
		good = gguf_arr_decode(&kv->v, idx[i], &item) == idx[i + 1] &&
		    item.s.len == strlen(strs[i]) &&
		    memcmp(item.s.ptr, strs[i], item.s.len) == 0;
	ok(good, "string array by gguf_arr_index");
	free(idx);

	kv = gguf_find(g, "nested");
	good = kv != NULL && kv->v.arr.type == GGUF_ARRAY &&
	    kv->v.arr.n == 2 && gguf_arr_item(&kv->v, 0, &sub) == 0 &&
	    sub.type == GGUF_ARRAY && sub.arr.type == GGUF_I32 &&
	    sub.arr.n == 3 && gguf_arr_item(&sub, 2, &item) == 0 &&
	    item.i == 3 && gguf_arr_item(&kv->v, 1, &sub) == 0 &&
	    sub.arr.n == 1 && gguf_arr_item(&sub, 0, &item) == 0 &&
	    item.i == -4;
	ok(good, "nested i32 arrays");
	kv = gguf_find(g, "nested_strs");
	p = kv ? kv->v.arr.data : NULL;
	good = kv != NULL && (p = gguf_arr_decode(&kv->v, p, &sub)) != NULL &&
	    sub.arr.n == 2 && gguf_arr_item(&sub, 1, &item) == 0 &&
	    item.s.len == 2 && memcmp(item.s.ptr, "bc", 2) == 0 &&
	    (p = gguf_arr_decode(&kv->v, p, &sub)) == kv->v.arr.end &&
	    sub.arr.type == GGUF_STRING && sub.arr.n == 0;
	ok(good, "nested string arrays, walked with gguf_arr_decode");
	gguf_close(g);
}

/* ---- tensors ----------------------------------------------------------- */

static uint8_t *
pattern(size_t n, unsigned seed)
{
	uint8_t	*p = xmalloc(n);
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
	return p;
}

struct ttest {
	const char	*name;
	uint32_t	 type;
	uint32_t	 n_dims;
	int64_t		 ne[4];
	uint64_t	 size;	/* rows x blocks x bytes per block (FACTS.md) */
};

static const struct ttest ttests[] = {
	{ "f32", GGML_TYPE_F32, 1, { 3 }, 12 },
	{ "f16.4d", GGML_TYPE_F16, 4, { 5, 2, 3, 2 }, 120 },
	{ "q4_0", GGML_TYPE_Q4_0, 2, { 64, 3 }, 3 * 2 * 18 },
	{ "q8_0", GGML_TYPE_Q8_0, 2, { 32, 5 }, 5 * 34 },
	{ "q4_k", GGML_TYPE_Q4_K, 2, { 512, 2 }, 2 * 2 * 144 },
	{ "q6_k", GGML_TYPE_Q6_K, 3, { 256, 1, 3 }, 3 * 210 },
	{ "iq1_s", GGML_TYPE_IQ1_S, 2, { 256, 1 }, 50 },
	{ "iq2_xxs", GGML_TYPE_IQ2_XXS, 1, { 768 }, 3 * 66 },
	{ "bf16", GGML_TYPE_BF16, 2, { 7, 1 }, 14 },
	{ "i64", GGML_TYPE_I64, 1, { 2 }, 16 },
	{ "name.of.exactly.sixty-four.bytes.which.is.the.limit.for.names.xy",
	    GGML_TYPE_I8, 1, { 1 }, 1 },
};
#define N_TTESTS (sizeof ttests / sizeof ttests[0])

static void
test_tensors(uint32_t alignment)
{
	struct gguf_writer		*w = gguf_writer_new();
	struct gguf_file		*g;
	const struct gguf_tensor	*t;
	uint8_t				*data[N_TTESTS];
	char				 name[64];
	size_t				 i;
	uint32_t			 d;
	int				 good;

	ok(strlen(ttests[N_TTESTS - 1].name) == GGUF_MAX_NAME,
	    "the long name is %d bytes", GGUF_MAX_NAME);
	if (alignment != 0)
		gguf_writer_set_u32(w, "general.alignment", alignment);
	gguf_writer_set_str(w, "general.architecture", "test");
	for (i = 0; i < N_TTESTS; i++) {
		data[i] = pattern(ttests[i].size, (unsigned)i);
		gguf_writer_add_tensor(w, ttests[i].name, ttests[i].type,
		    ttests[i].n_dims, ttests[i].ne, data[i]);
	}
	snprintf(name, sizeof name, "tensors-%u.gguf", alignment);
	if (alignment == 0)
		alignment = 32;
	g = roundtrip(w, name);
	ok(g != NULL, "%s: written and read", name);
	if (g == NULL)
		goto out;
	ok(g->alignment == alignment, "%s: alignment %u", name, g->alignment);
	ok(g->shards[0].data_offset % alignment == 0,
	    "%s: data section aligned (%llu)", name,
	    (unsigned long long)g->shards[0].data_offset);
	ok(g->n_tensors == N_TTESTS, "%s: %zu tensors", name, N_TTESTS);
	for (i = 0; i < N_TTESTS && i < g->n_tensors; i++) {
		t = &g->tensors[i];
		good = strcmp(t->name, ttests[i].name) == 0 &&
		    t->type == ttests[i].type &&
		    t->n_dims == ttests[i].n_dims &&
		    t->size == ttests[i].size &&
		    t->offset % alignment == 0 &&
		    (const uint8_t *)t->data == g->shards[0].map +
		    g->shards[0].data_offset + t->offset &&
		    ((uintptr_t)t->data - (uintptr_t)g->shards[0].map) %
		    alignment == 0 &&
		    memcmp(t->data, data[i], t->size) == 0 &&
		    gguf_tensor_find(g, ttests[i].name) == t;
		for (d = 0; d < 4; d++)
			good = good && t->ne[d] == (d < ttests[i].n_dims ?
			    ttests[i].ne[d] : 1);
		ok(good, "%s: tensor %s: shape, type, size, offset, data",
		    name, ttests[i].name);
	}
	ok(gguf_tensor_find(g, "nope") == NULL &&
	    gguf_tensor_find(g, "") == NULL, "%s: unknown tensor: NULL", name);
	gguf_close(g);
out:
	for (i = 0; i < N_TTESTS; i++)
		free(data[i]);
}

/* The writer checks what the reader would refuse, and writes nothing. */
static void
test_writer_refuses(void)
{
	static const struct {
		const char	*what;
		const char	*name;
		uint32_t	 type;
		uint32_t	 n_dims;
		int64_t		 ne0;
		uint32_t	 align;
		const char	*want;
	} cases[] = {
		{ "name of 65 bytes", "0123456789012345678901234567890123456789"
		    "0123456789012345678901234", 0, 1, 1, 0, "bad name length" },
		{ "empty name", "", 0, 1, 1, 0, "bad name length" },
		{ "type 4", "t", 4, 1, 32, 0, "unknown type 4" },
		{ "row not whole blocks", "t", GGML_TYPE_Q4_K, 1, 255, 0,
		    "not a multiple" },
		{ "zero dimension", "t", 0, 1, 0, 0, "bad dimension" },
		{ "5 dimensions", "t", 0, 5, 1, 0, "5 dimensions" },
		{ "duplicate name", "dup", 0, 1, 1, 0, "duplicate tensor" },
		{ "alignment 24", "t", 0, 1, 1, 24, "not a power of two" },
	};
	struct gguf_writer	*w;
	int64_t			 ne[5];
	char			*path = tmp_path("refused.gguf"), *cause;
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		w = gguf_writer_new();
		ne[0] = cases[i].ne0;
		ne[1] = ne[2] = ne[3] = ne[4] = 1;
		if (cases[i].align)
			gguf_writer_set_u32(w, "general.alignment",
			    cases[i].align);
		if (strcmp(cases[i].name, "dup") == 0)
			gguf_writer_add_tensor(w, "dup", 0, 1, ne, NULL);
		gguf_writer_add_tensor(w, cases[i].name, cases[i].type,
		    cases[i].n_dims, ne, NULL);
		cause = NULL;
		r = gguf_writer_write(w, path, &cause);
		ok(r == -1 && cause != NULL &&
		    strstr(cause, cases[i].want) != NULL &&
		    access(path, F_OK) != 0,
		    "writer refuses %s (%s)", cases[i].what,
		    cause ? cause : "no cause");
		free(cause);
		gguf_writer_free(w);
	}
	free(path);

	w = gguf_writer_new();
	path = xstrfmt("%s/no/such/dir/x.gguf", tmpdir);
	cause = NULL;
	ok(gguf_writer_write(w, path, &cause) == -1 && cause != NULL &&
	    strstr(cause, "No such file") != NULL,
	    "writer into a missing directory fails (%s)",
	    cause ? cause : "no cause");
	free(cause);
	free(path);
	gguf_writer_free(w);
}

/* Every key of one file copied into another reads back byte for byte. */
static void
test_copy_kv(void)
{
	struct gguf_file	*a, *b;
	struct gguf_writer	*w;
	char			*path = tmp_path("arrays.gguf"), *cause = NULL;
	const struct gguf_kv	*x, *y;
	uint64_t		 i;
	int			 same;

	if ((a = gguf_open(path, &cause)) == NULL) {
		ok(0, "copy_kv: source opens (%s)", cause);
		free(cause);
		free(path);
		return;
	}
	w = gguf_writer_new();
	for (i = 0; i < a->n_kv; i++)
		gguf_writer_copy_kv(w, &a->kv[i]);
	b = roundtrip(w, "copied.gguf");
	same = b != NULL && b->n_kv == a->n_kv;
	for (i = 0; same && i < a->n_kv; i++) {
		x = &a->kv[i];
		y = &b->kv[i];
		same = strcmp(x->key, y->key) == 0 && x->v.type == y->v.type &&
		    x->v.arr.type == y->v.arr.type && x->v.arr.n == y->v.arr.n &&
		    x->v.arr.end - x->v.arr.data == y->v.arr.end - y->v.arr.data &&
		    memcmp(x->v.arr.data, y->v.arr.data,
		    (size_t)(x->v.arr.end - x->v.arr.data)) == 0;
	}
	ok(same, "copy_kv: every key and array copied exactly");
	gguf_close(a);
	gguf_close(b);
	free(path);
}

/* Version 2 files read the same; version 1 is refused. */
static void
test_versions(void)
{
	char		*src = tmp_path("scalars.gguf"), *dst;
	struct gguf_file *g;
	FILE		*f;
	char		*cause = NULL;
	uint8_t		 buf[4096];
	size_t		 n;
	int		 v;

	f = fopen(src, "rb");
	n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	for (v = 1; v <= 2; v++) {
		dst = xstrfmt("%s/v%d.gguf", tmpdir, v);
		le(buf + 4, (uint32_t)v, 4);
		f = fopen(dst, "wb");
		if (f) {
			fwrite(buf, 1, n, f);
			fclose(f);
		}
		if (v == 1)
			ok(open_fails(dst, "unsupported version 1"),
			    "version 1 refused");
		else {
			g = gguf_open(dst, &cause);
			ok(g != NULL && g->shards[0].version == 2 &&
			    g->n_kv == 14, "version 2 read");
			gguf_close(g);
		}
		free(dst);
	}
	free(src);
}

/* ---- split models ------------------------------------------------------ */

static int write_shard_as(const char *, int, int, int, int, int, int,
    uint8_t *);

/* Writes shard no of count, holding tensors blk.FIRST .. of data. */
static int
write_shard(const char *prefix, int no, int count, int total, int first,
    int n, uint8_t *data)
{
	return write_shard_as(prefix, count, no, count, total, first, n, data);
}

/* As write_shard, but named as a shard of file_count. */
static int
write_shard_as(const char *prefix, int file_count, int no, int count,
    int total, int first, int n, uint8_t *data)
{
	struct gguf_writer	*w = gguf_writer_new();
	char			*path, *cause = NULL, name[32];
	int64_t			 ne[1] = { 64 };
	int			 i, r;

	if (no == 0) {
		gguf_writer_set_str(w, "general.architecture", "llama");
		gguf_writer_set_u32(w, "llama.context_length", 4096);
	} else
		gguf_writer_set_str(w, "only.in.later.shards", "x");
	gguf_writer_set_u16(w, "split.no", (uint16_t)no);
	gguf_writer_set_u16(w, "split.count", (uint16_t)count);
	gguf_writer_set_i32(w, "split.tensors.count", total);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "blk.%d.weight", first + i);
		gguf_writer_add_tensor(w, name, GGML_TYPE_F32, 1, ne,
		    data + (size_t)(first + i) * 256);
	}
	path = xstrfmt("%s-%05d-of-%05d.gguf", prefix, no + 1, file_count);
	r = gguf_writer_write(w, path, &cause);
	if (r != 0)
		diag("%s: %s", path, cause);
	free(cause);
	free(path);
	gguf_writer_free(w);
	return r;
}

/* Which names are a split model's shards, and their stem. */
static void
test_split_names(void)
{
	static const struct {
		const char	*path;
		int		 stem, k, n;
	} cases[] = {
		{ "R1-Q4_K_M-00001-of-00009.gguf", 9, 1, 9 },
		{ "/m/x-00003-of-00003.gguf", 4, 3, 3 },
		{ "x-00004-of-00003.gguf", -1, 0, 0 },
		{ "x-00000-of-00003.gguf", -1, 0, 0 },
		{ "x-0001-of-00003.gguf", -1, 0, 0 },
		{ "x-00001-of-00003.bin", -1, 0, 0 },
		{ "x-0a001-of-00003.gguf", -1, 0, 0 },
		{ "model.gguf", -1, 0, 0 },
	};
	size_t	i;
	int	stem, k, n;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		k = n = 0;
		stem = gguf_split_name(cases[i].path, &k, &n);
		ok(stem == cases[i].stem && (stem < 0 ||
		    (k == cases[i].k && n == cases[i].n)),
		    "split name %s: stem %d, shard %d of %d", cases[i].path,
		    stem, k, n);
	}
}

static void
test_splits(void)
{
	struct gguf_file		*g;
	const struct gguf_tensor	*t;
	uint8_t				*data = pattern(6 * 256, 9);
	char				*prefix = tmp_path("model"), *path;
	char				*cause = NULL, name[32];
	int				 i, k, good;

	/* Shards of 1, 2 and 3 tensors: blk.0 .. blk.5. */
	good = write_shard(prefix, 0, 3, 6, 0, 1, data) == 0 &&
	    write_shard(prefix, 1, 3, 6, 1, 2, data) == 0 &&
	    write_shard(prefix, 2, 3, 6, 3, 3, data) == 0;
	ok(good, "split: three shards written");
	for (k = 1; k <= 3; k++) {
		path = xstrfmt("%s-%05d-of-00003.gguf", prefix, k);
		g = gguf_open(path, &cause);
		ok(g != NULL, "split: opened from shard %d (%s)", k,
		    g ? "ok" : cause);
		if (g == NULL) {
			free(cause);
			cause = NULL;
			free(path);
			continue;
		}
		good = g->n_shards == 3 && g->n_tensors == 6;
		for (i = 0; good && i < 6; i++) {
			snprintf(name, sizeof name, "blk.%d.weight", i);
			t = gguf_tensor_find(g, name);
			good = t != NULL && t == &g->tensors[i] &&
			    t->shard == (i < 1 ? 0 : i < 3 ? 1 : 2) &&
			    memcmp(t->data, data + i * 256, 256) == 0;
		}
		ok(good, "split from shard %d: 6 tensors in order, each in "
		    "its shard with its data", k);
		ok(gguf_find(g, "llama.context_length") != NULL &&
		    gguf_find(g, "only.in.later.shards") == NULL &&
		    (strcmp(g->shards[0].path, path) != 0) == (k != 1),
		    "split from shard %d: metadata from the first shard", k);
		gguf_close(g);
		free(path);
	}

	/* Shard 3 missing, then present but of another split. */
	path = xstrfmt("%s-00003-of-00003.gguf", prefix);
	unlink(path);
	free(path);
	path = xstrfmt("%s-00002-of-00003.gguf", prefix);
	ok(open_fails(path, "shard 3 of 3 missing: "),
	    "split: a missing shard is named");
	write_shard_as(prefix, 3, 2, 4, 6, 3, 3, data);
	ok(open_fails(path, "-00003-of-00003.gguf: split.no 3 of split.count "
	    "4, expected 3 of 3"), "split: a mismatched shard is named");
	write_shard(prefix, 2, 3, 7, 3, 3, data);
	ok(open_fails(path, "split.tensors.count 7, expected 6"),
	    "split: shards disagreeing on the tensor count");
	write_shard(prefix, 2, 3, 6, 3, 2, data);
	ok(open_fails(path, "split.tensors.count 6 but the shards hold 5"),
	    "split: split.tensors.count checked against the tensors");
	write_shard(prefix, 2, 3, 6, 2, 3, data);
	ok(open_fails(path, "duplicate tensor 'blk.2.weight'"),
	    "split: tensor names unique across shards");
	free(path);
	free(prefix);
	free(data);
}

/* ---- real files -------------------------------------------------------- */

/*
 * The vocabulary files of tests/data were written by llama.cpp's and
 * gguf-py's writers; the ids are from its README.
 */
static void
test_real_vocab(void)
{
	struct gguf_file	*g;
	const struct gguf_kv	*kv;
	struct gguf_value	 item;
	const uint8_t		**idx;
	char			*path, *cause = NULL;
	int			 good;

	path = xstrfmt("%s/vocab/deepseek-r1-qwen.gguf", testdata());
	g = gguf_open(path, &cause);
	ok(g != NULL, "real vocab file opens (%s)", g ? "ok" : cause);
	free(cause);
	if (g == NULL) {
		free(path);
		return;
	}
	kv = gguf_find(g, "tokenizer.ggml.tokens");
	ok(kv && kv->v.type == GGUF_ARRAY && kv->v.arr.type == GGUF_STRING &&
	    kv->v.arr.n == 151936, "real vocab: 151936 tokens");
	idx = kv ? gguf_arr_index(&kv->v) : NULL;
	good = idx != NULL &&
	    gguf_arr_decode(&kv->v, idx[151648], &item) != NULL &&
	    item.s.len == 7 && memcmp(item.s.ptr, "<think>", 7) == 0 &&
	    gguf_arr_decode(&kv->v, idx[151649], &item) != NULL &&
	    item.s.len == 8 && memcmp(item.s.ptr, "</think>", 8) == 0;
	ok(good, "real vocab: 151648 is <think>, 151649 is </think>");
	good = kv != NULL && gguf_arr_item(&kv->v, 151646, &item) == 0 &&
	    item.s.len == strlen("<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81"
	    "sentence\xef\xbd\x9c>") && memcmp(item.s.ptr, "<\xef\xbd\x9c"
	    "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	    item.s.len) == 0;
	ok(good, "real vocab: 151646 is <\xef\xbd\x9c" "begin\xe2\x96\x81of"
	    "\xe2\x96\x81sentence\xef\xbd\x9c>");
	free(idx);
	gguf_close(g);
	free(path);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/test-gguf.XXXXXX", *cmd;
	int	 rc;

	if ((tmpdir = mkdtemp(tmpl)) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 99;
	}
	test_scalars();
	test_arrays();
	test_tensors(0);
	test_tensors(64);
	test_tensors(1);
	test_tensors(4096);
	test_writer_refuses();
	test_copy_kv();
	test_versions();
	test_split_names();
	test_splits();
	test_real_vocab();
	rc = done_testing();
	cmd = xstrfmt("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	free(cmd);
	return rc;
}
