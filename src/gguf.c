/*
 * gguf.c - GGUF reader (mmap, validation, split shards) and writer.
 *
 * The reader checks every byte it relies on against the end of the map
 * before it is used, and every count against the bytes left in the file
 * before anything is allocated for it, so that a hostile file fails fast
 * with a short reason instead of exhausting memory or reading past the
 * end.  Format facts come from ggml's docs/gguf.md.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "util.h"

#define GGUF_MAGIC		"GGUF"
#define GGUF_DEFAULT_ALIGN	32
#define GGUF_MAX_KEY		65535
/* Deeper nesting has no use and would let a file exhaust the stack. */
#define GGUF_MAX_DEPTH		8
/* Smallest encodings: a key/value (u64 len, 1 byte, u32 type, u8) and a
 * tensor info (u64 len, 1 byte, u32 n_dims, u64 dim, u32 type, u64 offset):
 * counts larger than the bytes left divided by these are lies. */
#define GGUF_MIN_KV		(8 + 1 + 4 + 1)
#define GGUF_MIN_TENSOR		(8 + 1 + 4 + 8 + 4 + 8)

static const size_t vtype_sizes[GGUF_VTYPE_COUNT] = {
	[GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2,
	[GGUF_U32] = 4, [GGUF_I32] = 4, [GGUF_F32] = 4, [GGUF_BOOL] = 1,
	[GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8,
};

static const char *vtype_names[GGUF_VTYPE_COUNT] = {
	[GGUF_U8] = "u8", [GGUF_I8] = "i8", [GGUF_U16] = "u16",
	[GGUF_I16] = "i16", [GGUF_U32] = "u32", [GGUF_I32] = "i32",
	[GGUF_F32] = "f32", [GGUF_BOOL] = "bool", [GGUF_STRING] = "string",
	[GGUF_ARRAY] = "array", [GGUF_U64] = "u64", [GGUF_I64] = "i64",
	[GGUF_F64] = "f64",
};

size_t
gguf_vtype_size(enum gguf_vtype t)
{
	if ((unsigned)t >= GGUF_VTYPE_COUNT)
		return 0;
	return vtype_sizes[t];
}

const char *
gguf_vtype_name(enum gguf_vtype t)
{
	if ((unsigned)t >= GGUF_VTYPE_COUNT)
		return "unknown";
	return vtype_names[t];
}

/* ---- bounded little-endian reading ------------------------------------ */

struct rd {
	const uint8_t	*p;
	const uint8_t	*end;
	const char	*err;	/* static reason of the last failure */
};

static uint64_t
rd_left(const struct rd *r)
{
	return (uint64_t)(r->end - r->p);
}

static uint64_t
le_get(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int
rd_uint(struct rd *r, size_t n, uint64_t *out, const char *err)
{
	if (rd_left(r) < n) {
		r->err = err;
		return -1;
	}
	*out = le_get(r->p, n);
	r->p += n;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *out, const char *err)
{
	uint64_t	v;

	if (rd_uint(r, 4, &v, err) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
rd_str(struct rd *r, struct gguf_str *s, const char *err)
{
	uint64_t	len;

	if (rd_uint(r, 8, &len, err) != 0)
		return -1;
	if (len > rd_left(r)) {
		r->err = "string past end of file";
		return -1;
	}
	s->ptr = (const char *)r->p;
	s->len = len;
	r->p += len;
	return 0;
}

static double
f32_from_bits(uint32_t bits)
{
	float	f;

	memcpy(&f, &bits, sizeof f);
	return f;
}

static double
f64_from_bits(uint64_t bits)
{
	double	d;

	memcpy(&d, &bits, sizeof d);
	return d;
}

/* Decodes a scalar of fixed size at p (bounds already checked). */
static void
scalar_decode(enum gguf_vtype t, const uint8_t *p, struct gguf_value *v)
{
	uint64_t	raw = le_get(p, vtype_sizes[t]);

	v->type = t;
	switch (t) {
	case GGUF_I8:
		v->i = (int8_t)raw;
		break;
	case GGUF_I16:
		v->i = (int16_t)raw;
		break;
	case GGUF_I32:
		v->i = (int32_t)raw;
		break;
	case GGUF_I64:
		v->i = (int64_t)raw;
		break;
	case GGUF_F32:
		v->f = f32_from_bits((uint32_t)raw);
		break;
	case GGUF_F64:
		v->f = f64_from_bits(raw);
		break;
	case GGUF_BOOL:
		v->u = raw != 0;
		break;
	default:
		v->u = raw;
		break;
	}
}

/*
 * Reads a value of type t at r into v, checking every length against the
 * end; arrays are walked entirely so that later walks need no checks.
 */
static int
value_read(struct rd *r, enum gguf_vtype t, int depth, struct gguf_value *v)
{
	struct gguf_value	 item;
	uint32_t		 et;
	uint64_t		 n, i;
	size_t			 sz;

	if ((unsigned)t >= GGUF_VTYPE_COUNT) {
		r->err = "unknown value type";
		return -1;
	}
	v->type = t;
	if (t == GGUF_STRING)
		return rd_str(r, &v->s, "truncated value");
	if (t != GGUF_ARRAY) {
		sz = vtype_sizes[t];
		if (rd_left(r) < sz) {
			r->err = "truncated value";
			return -1;
		}
		scalar_decode(t, r->p, v);
		r->p += sz;
		return 0;
	}

	if (depth >= GGUF_MAX_DEPTH) {
		r->err = "arrays nested too deep";
		return -1;
	}
	if (rd_u32(r, &et, "truncated array") != 0 ||
	    rd_uint(r, 8, &n, "truncated array") != 0)
		return -1;
	if (et >= GGUF_VTYPE_COUNT) {
		r->err = "unknown array item type";
		return -1;
	}
	v->arr.type = et;
	v->arr.n = n;
	v->arr.data = r->p;
	/* Every item takes at least this much: checked before the walk. */
	sz = et == GGUF_STRING ? 8 : et == GGUF_ARRAY ? 12 : vtype_sizes[et];
	if (n > rd_left(r) / sz) {
		r->err = "array past end of file";
		return -1;
	}
	if (et != GGUF_STRING && et != GGUF_ARRAY)
		r->p += n * sz;
	else {
		for (i = 0; i < n; i++) {
			if (value_read(r, et, depth + 1, &item) != 0)
				return -1;
		}
	}
	v->arr.end = r->p;
	return 0;
}

/* ---- one file -------------------------------------------------------- */

struct parsed {
	uint32_t		 version;
	struct gguf_kv		*kv;
	uint64_t		 n_kv;
	struct gguf_tensor	*t;
	uint64_t		 n_t;
	uint32_t		 alignment;
	uint64_t		 data_offset;
};

static void
parsed_free(struct parsed *p)
{
	uint64_t	i;

	for (i = 0; i < p->n_kv; i++)
		free(p->kv[i].key);
	free(p->kv);
	free(p->t);
	memset(p, 0, sizeof *p);
}

/* Copies a name from the file for a message, control bytes made '?'. */
static char *
name_for_msg(const char *p, uint64_t len)
{
	char	*s;
	size_t	 i, n = len > 64 ? 64 : (size_t)len;

	s = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		s[i] = ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) ? '?' : p[i];
	s[n] = '\0';
	return s;
}

static int
cmp_kv_key(const void *a, const void *b)
{
	const struct gguf_kv	*x = *(const struct gguf_kv *const *)a;
	const struct gguf_kv	*y = *(const struct gguf_kv *const *)b;

	return strcmp(x->key, y->key);
}

static int
cmp_tensor_name(const void *a, const void *b)
{
	const struct gguf_tensor	*x = *(const struct gguf_tensor *const *)a;
	const struct gguf_tensor	*y = *(const struct gguf_tensor *const *)b;

	return strcmp(x->name, y->name);
}

static int
cmp_tensor_offset(const void *a, const void *b)
{
	const struct gguf_tensor	*x = *(const struct gguf_tensor *const *)a;
	const struct gguf_tensor	*y = *(const struct gguf_tensor *const *)b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

/* Grows *p (of *cap items of size sz) to hold n; -1 when out of memory. */
static int
grow(void *pp, uint64_t *cap, uint64_t n, size_t sz)
{
	void		**p = pp, *q;
	uint64_t	  c = *cap;

	if (n <= c)
		return 0;
	c = c == 0 ? 16 : c * 2;
	if (c < n)
		c = n;
	if (c > SIZE_MAX / sz)
		return -1;
	if ((q = realloc(*p, (size_t)c * sz)) == NULL)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

/* Keys are ASCII names: control bytes would make messages unprintable. */
static int
key_valid(const struct gguf_str *key)
{
	uint64_t	i;

	if (key->len == 0 || key->len > GGUF_MAX_KEY)
		return 0;
	for (i = 0; i < key->len; i++) {
		if ((unsigned char)key->ptr[i] < 0x20 || key->ptr[i] == 0x7f)
			return 0;
	}
	return 1;
}

static int
kv_parse(struct rd *r, uint64_t n_kv, struct parsed *ps, char **cause)
{
	struct gguf_kv	**sorted;
	struct gguf_str	  key;
	uint64_t	  i, cap = 0;
	uint32_t	  t;
	char		 *name;

	for (i = 0; i < n_kv; i++) {
		if (rd_str(r, &key, "truncated key") != 0) {
			*cause = xstrfmt("key %llu: %s", (unsigned long long)i,
			    strcmp(r->err, "truncated key") == 0 ?
			    "truncated" : "name past end of file");
			return -1;
		}
		if (!key_valid(&key)) {
			*cause = xstrfmt("key %llu: bad name",
			    (unsigned long long)i);
			return -1;
		}
		name = name_for_msg(key.ptr, key.len);
		if (rd_u32(r, &t, "truncated value") != 0) {
			*cause = xstrfmt("key '%s': truncated", name);
			free(name);
			return -1;
		}
		if (grow(&ps->kv, &cap, i + 1, sizeof *ps->kv) != 0) {
			*cause = xstrfmt("out of memory");
			free(name);
			return -1;
		}
		if (value_read(r, t, 0, &ps->kv[i].v) != 0) {
			if (t >= GGUF_VTYPE_COUNT)
				*cause = xstrfmt("key '%s': unknown type %u",
				    name, t);
			else
				*cause = xstrfmt("key '%s': %s", name, r->err);
			free(name);
			return -1;
		}
		free(name);
		ps->kv[i].key = xstrndup(key.ptr, (size_t)key.len);
		ps->n_kv = i + 1;
	}

	if (ps->n_kv < 2)
		return 0;
	if ((sorted = malloc(ps->n_kv * sizeof *sorted)) == NULL) {
		*cause = xstrfmt("out of memory");
		return -1;
	}
	for (i = 0; i < ps->n_kv; i++)
		sorted[i] = &ps->kv[i];
	qsort(sorted, ps->n_kv, sizeof *sorted, cmp_kv_key);
	for (i = 1; i < ps->n_kv; i++) {
		if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0) {
			*cause = xstrfmt("duplicate key '%.64s'",
			    sorted[i]->key);
			free(sorted);
			return -1;
		}
	}
	free(sorted);
	return 0;
}

static const struct gguf_kv *
kv_find(const struct gguf_kv *kv, uint64_t n, const char *key)
{
	uint64_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(kv[i].key, key) == 0)
			return &kv[i];
	}
	return NULL;
}

static int
alignment_get(struct parsed *ps, char **cause)
{
	const struct gguf_kv	*kv;
	uint64_t		 a;

	ps->alignment = GGUF_DEFAULT_ALIGN;
	kv = kv_find(ps->kv, ps->n_kv, "general.alignment");
	if (kv == NULL)
		return 0;
	if (kv->v.type != GGUF_U32) {
		*cause = xstrfmt("general.alignment: type %s, expected u32",
		    gguf_vtype_name(kv->v.type));
		return -1;
	}
	a = kv->v.u;
	if (a == 0 || (a & (a - 1)) != 0) {
		*cause = xstrfmt("general.alignment: %llu not a power of two",
		    (unsigned long long)a);
		return -1;
	}
	ps->alignment = (uint32_t)a;
	return 0;
}

/* Reads one tensor info into t; its data is checked later. */
static int
tensor_parse(struct rd *r, uint64_t idx, uint32_t alignment,
    struct gguf_tensor *t, char **cause)
{
	static const char	*trunc = "truncated tensor info";
	const struct type_info	*ti;
	struct gguf_str		 name;
	uint64_t		 d, nel = 1, blocks, rows;
	uint32_t		 i;
	char			*n;

	memset(t, 0, sizeof *t);
	if (rd_str(r, &name, trunc) != 0) {
		*cause = xstrdup(trunc);
		return -1;
	}
	if (name.len == 0) {
		*cause = xstrfmt("tensor %llu: empty name",
		    (unsigned long long)idx);
		return -1;
	}
	if (name.len > GGUF_MAX_NAME) {
		n = name_for_msg(name.ptr, name.len);
		*cause = xstrfmt("tensor '%s...': name longer than %d bytes",
		    n, GGUF_MAX_NAME);
		free(n);
		return -1;
	}
	if (memchr(name.ptr, '\0', name.len) != NULL) {
		*cause = xstrfmt("tensor %llu: bad name",
		    (unsigned long long)idx);
		return -1;
	}
	memcpy(t->name, name.ptr, name.len);
	t->name[name.len] = '\0';
	n = name_for_msg(name.ptr, name.len);

	if (rd_u32(r, &t->n_dims, trunc) != 0)
		goto truncated;
	if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS) {
		*cause = xstrfmt("tensor '%s': %u dimensions", n, t->n_dims);
		goto fail;
	}
	for (i = 0; i < GGUF_MAX_DIMS; i++)
		t->ne[i] = 1;
	for (i = 0; i < t->n_dims; i++) {
		if (rd_uint(r, 8, &d, trunc) != 0)
			goto truncated;
		if (d == 0) {
			*cause = xstrfmt("tensor '%s': dimension %u is zero",
			    n, i);
			goto fail;
		}
		if (d > INT64_MAX || nel > (uint64_t)INT64_MAX / d) {
			*cause = xstrfmt("tensor '%s': too many elements", n);
			goto fail;
		}
		nel *= d;
		t->ne[i] = (int64_t)d;
	}
	if (rd_u32(r, &t->type, trunc) != 0)
		goto truncated;
	if ((ti = type_info(t->type)) == NULL) {
		*cause = xstrfmt("tensor '%s': unknown type %u", n, t->type);
		goto fail;
	}
	if (t->ne[0] % ti->blck != 0) {
		*cause = xstrfmt("tensor '%s': row of %lld not a multiple of "
		    "%s blocks of %d", n, (long long)t->ne[0], ti->name,
		    ti->blck);
		goto fail;
	}
	blocks = (uint64_t)t->ne[0] / (uint64_t)ti->blck;
	rows = nel / (uint64_t)t->ne[0];
	if (blocks > UINT64_MAX / ti->size ||
	    rows > UINT64_MAX / (blocks * ti->size)) {
		*cause = xstrfmt("tensor '%s': too large", n);
		goto fail;
	}
	t->size = blocks * ti->size * rows;
	if (rd_uint(r, 8, &t->offset, trunc) != 0)
		goto truncated;
	if (t->offset % alignment != 0) {
		*cause = xstrfmt("tensor '%s': offset not aligned", n);
		goto fail;
	}
	free(n);
	return 0;

truncated:
	*cause = xstrdup(trunc);
fail:
	free(n);
	return -1;
}

/* Checks that the tensors' data lie in the file and do not overlap. */
static int
tensors_check_data(struct parsed *ps, uint64_t file_size, char **cause)
{
	struct gguf_tensor	**by_off, *t, *u;
	uint64_t		  avail, i;
	char			 *a, *b;

	avail = file_size > ps->data_offset ? file_size - ps->data_offset : 0;
	for (i = 0; i < ps->n_t; i++) {
		t = &ps->t[i];
		if (t->offset > avail || t->size > avail - t->offset) {
			a = name_for_msg(t->name, strlen(t->name));
			*cause = xstrfmt("tensor '%s': data outside the file", a);
			free(a);
			return -1;
		}
	}
	if (ps->n_t < 2)
		return 0;
	if ((by_off = malloc(ps->n_t * sizeof *by_off)) == NULL) {
		*cause = xstrfmt("out of memory");
		return -1;
	}
	for (i = 0; i < ps->n_t; i++)
		by_off[i] = &ps->t[i];
	qsort(by_off, ps->n_t, sizeof *by_off, cmp_tensor_offset);
	for (i = 1; i < ps->n_t; i++) {
		t = by_off[i - 1];
		u = by_off[i];
		if (t->offset + t->size > u->offset) {
			a = name_for_msg(t->name, strlen(t->name));
			b = name_for_msg(u->name, strlen(u->name));
			*cause = xstrfmt("tensors '%s' and '%s' overlap", a, b);
			free(a);
			free(b);
			free(by_off);
			return -1;
		}
	}
	free(by_off);
	return 0;
}

/* Parses and validates the mapped file s into ps. */
static int
shard_parse(struct gguf_shard *s, struct parsed *ps, char **cause)
{
	struct rd	r = { s->map, s->map + s->size, NULL };
	uint64_t	n_t, n_kv, i, cap = 0, pos;
	uint32_t	version;

	memset(ps, 0, sizeof *ps);
	if (s->size < 4 || memcmp(s->map, GGUF_MAGIC, 4) != 0) {
		if (s->size < 4 && memcmp(s->map, GGUF_MAGIC, s->size) == 0)
			*cause = xstrdup("truncated header");
		else
			*cause = xstrdup("not a GGUF file");
		return -1;
	}
	r.p += 4;
	if (rd_u32(&r, &version, "") != 0) {
		*cause = xstrdup("truncated header");
		return -1;
	}
	if (version != 2 && version != 3) {
		if (version == 0x02000000 || version == 0x03000000)
			*cause = xstrdup("big-endian gguf not supported");
		else
			*cause = xstrfmt("unsupported version %u", version);
		return -1;
	}
	ps->version = version;
	if (rd_uint(&r, 8, &n_t, "") != 0 || rd_uint(&r, 8, &n_kv, "") != 0) {
		*cause = xstrdup("truncated header");
		return -1;
	}
	if (n_kv > rd_left(&r) / GGUF_MIN_KV) {
		*cause = xstrfmt("key count %llu too large for the file",
		    (unsigned long long)n_kv);
		return -1;
	}
	if (n_t > rd_left(&r) / GGUF_MIN_TENSOR) {
		*cause = xstrfmt("tensor count %llu too large for the file",
		    (unsigned long long)n_t);
		return -1;
	}
	if (kv_parse(&r, n_kv, ps, cause) != 0)
		goto fail;
	if (alignment_get(ps, cause) != 0)
		goto fail;
	for (i = 0; i < n_t; i++) {
		if (grow(&ps->t, &cap, i + 1, sizeof *ps->t) != 0) {
			*cause = xstrfmt("out of memory");
			goto fail;
		}
		if (tensor_parse(&r, i, ps->alignment, &ps->t[i], cause) != 0)
			goto fail;
		ps->n_t = i + 1;
	}
	pos = (uint64_t)(r.p - s->map);
	ps->data_offset = (pos + ps->alignment - 1) / ps->alignment *
	    ps->alignment;
	if (tensors_check_data(ps, s->size, cause) != 0)
		goto fail;
	for (i = 0; i < ps->n_t; i++)
		ps->t[i].data = s->map + ps->data_offset + ps->t[i].offset;
	s->version = version;
	s->data_offset = ps->data_offset;
	return 0;

fail:
	parsed_free(ps);
	return -1;
}

/*
 * The maps open, for gguf_map_owner: a slot is filled before its map is
 * used and emptied before it goes.  More shards than this are mapped all
 * the same, only not named on a SIGBUS.
 */
#define MAPS_MAX	128
static struct {
	const unsigned char *volatile	 base;
	volatile size_t			 size;
	const char *volatile		 path;
} maps[MAPS_MAX];

static void
maps_set(const struct gguf_shard *s, int add)
{
	size_t	i;

	for (i = 0; i < MAPS_MAX; i++) {
		if (maps[i].base != (add ? NULL : s->map))
			continue;
		maps[i].base = NULL;
		maps[i].path = s->path;
		maps[i].size = s->size;
		if (add)
			maps[i].base = s->map;
		return;
	}
}

const char *
gguf_map_owner(const void *addr)
{
	const unsigned char	*a = addr, *b;
	size_t			 i;

	for (i = 0; i < MAPS_MAX; i++) {
		b = maps[i].base;
		if (b != NULL && a >= b && a < b + maps[i].size)
			return maps[i].path;
	}
	return NULL;
}

static void
shard_unmap(struct gguf_shard *s)
{
	if (s->map != NULL)
		maps_set(s, 0);
	if (s->map != NULL && s->size > 0)
		munmap((void *)s->map, s->size);
	if (s->fd != -1)
		close(s->fd);
	free(s->path);
	s->map = NULL;
	s->fd = -1;
	s->path = NULL;
}

/* Opens and maps path into s; *cause is the reason without the path. */
static int
shard_map(struct gguf_shard *s, const char *path, char **cause)
{
	struct stat	 sb;
	void		*m;

	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->path = xstrdup(path);
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xstrdup(strerror(errno));
		return -1;
	}
	if (fstat(s->fd, &sb) != 0) {
		*cause = xstrdup(strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		*cause = xstrdup("not a regular file");
		return -1;
	}
	if (sb.st_size == 0) {
		*cause = xstrdup("empty file");
		return -1;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX) {
		*cause = xstrdup("file too large");
		return -1;
	}
	s->size = (size_t)sb.st_size;
	m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (m == MAP_FAILED) {
		*cause = xstrdup(strerror(errno));
		s->size = 0;
		return -1;
	}
	s->map = m;
	maps_set(s, 1);
#ifdef MADV_HUGEPAGE
	/*
	 * Only a wish: where the kernel keeps files in large folios, pages
	 * it reads in for this map come in 2 MiB folios mapped whole, and
	 * the weights stream with a TLB entry per 2 MiB instead of per
	 * 4 KiB (a token of a 1.5B Q4_K_M model was measured 13 % faster).
	 */
	(void)madvise(m, s->size, MADV_HUGEPAGE);
#endif
	return 0;
}

/* ---- split models ---------------------------------------------------- */

#define SPLIT_SUFFIX_LEN 20	/* "-00001-of-00005.gguf" */

int
gguf_split_name(const char *path, int *k, int *n)
{
	size_t		 len = strlen(path), i;
	const char	*s;

	if (len < SPLIT_SUFFIX_LEN)
		return -1;
	s = path + len - SPLIT_SUFFIX_LEN;
	if (s[0] != '-' || memcmp(s + 6, "-of-", 4) != 0 ||
	    strcmp(s + 15, ".gguf") != 0)
		return -1;
	for (i = 1; i < 15; i++) {
		if (i >= 6 && i < 10)
			continue;
		if (!isdigit((unsigned char)s[i]))
			return -1;
	}
	*k = (int)strtol(s + 1, NULL, 10);
	*n = (int)strtol(s + 10, NULL, 10);
	if (*k < 1 || *n < 1 || *k > *n)
		return -1;
	return (int)(len - SPLIT_SUFFIX_LEN);
}

/*
 * Reads an integer split key of the exact type llama.cpp writes; returns 1
 * when found, 0 when absent, -1 on a wrong type.
 */
static int
split_key(const struct parsed *ps, const char *key, enum gguf_vtype t,
    int64_t *out, char **cause)
{
	const struct gguf_kv	*kv = kv_find(ps->kv, ps->n_kv, key);

	if (kv == NULL)
		return 0;
	if (kv->v.type != t) {
		*cause = xstrfmt("%s: type %s, expected %s", key,
		    gguf_vtype_name(kv->v.type), gguf_vtype_name(t));
		return -1;
	}
	*out = t == GGUF_I32 ? kv->v.i : (int64_t)kv->v.u;
	return 1;
}

/* Returns split.count of ps (1 when absent), -1 with *cause on error. */
static int
split_info(const struct parsed *ps, int *no, int *count, int64_t *total,
    char **cause)
{
	int64_t	v;
	int	r;

	*no = 0;
	*count = 1;
	*total = -1;
	if ((r = split_key(ps, "split.count", GGUF_U16, &v, cause)) < 0)
		return -1;
	if (r == 0)
		return 0;
	if (v < 1) {
		*cause = xstrdup("split.count is zero");
		return -1;
	}
	*count = (int)v;
	if ((r = split_key(ps, "split.no", GGUF_U16, &v, cause)) < 0)
		return -1;
	if (r == 0) {
		*cause = xstrdup("split.no missing");
		return -1;
	}
	*no = (int)v;
	if (*no >= *count) {
		*cause = xstrfmt("split.no %d not below split.count %d", *no,
		    *count);
		return -1;
	}
	if ((r = split_key(ps, "split.tensors.count", GGUF_I32, &v,
	    cause)) < 0)
		return -1;
	if (r == 1) {
		if (v < 0) {
			*cause = xstrfmt("split.tensors.count %lld negative",
			    (long long)v);
			return -1;
		}
		*total = v;
	}
	return 0;
}

static void
file_free(struct gguf_file *g, struct parsed *ps)
{
	int	i;

	for (i = 0; i < g->n_shards; i++) {
		if (ps != NULL)
			parsed_free(&ps[i]);
		shard_unmap(&g->shards[i]);
	}
	free(ps);
	free(g->shards);
	free(g->sorted);
	free(g);
}

/* Joins the shards' tensor lists into g and checks names are unique. */
static int
file_join(struct gguf_file *g, struct parsed *ps, char **cause)
{
	uint64_t	n = 0, i, j = 0;
	int		s;
	char		*a;

	for (s = 0; s < g->n_shards; s++)
		n += ps[s].n_t;
	if (g->n_shards == 1) {
		g->tensors = ps[0].t;
		ps[0].t = NULL;
	} else {
		if ((g->tensors = malloc((n ? n : 1) * sizeof *g->tensors)) ==
		    NULL) {
			*cause = xstrfmt("out of memory");
			return -1;
		}
		for (s = 0; s < g->n_shards; s++) {
			if (ps[s].n_t > 0)
				memcpy(g->tensors + j, ps[s].t,
				    ps[s].n_t * sizeof *ps[s].t);
			j += ps[s].n_t;
		}
	}
	g->n_tensors = n;
	j = 0;
	for (s = 0; s < g->n_shards; s++) {
		for (i = 0; i < ps[s].n_t; i++)
			g->tensors[j++].shard = s;
	}
	if ((g->sorted = malloc((n ? n : 1) * sizeof *g->sorted)) == NULL) {
		*cause = xstrfmt("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		g->sorted[i] = &g->tensors[i];
	qsort(g->sorted, n, sizeof *g->sorted, cmp_tensor_name);
	for (i = 1; i < n; i++) {
		if (strcmp(g->sorted[i - 1]->name, g->sorted[i]->name) == 0) {
			a = name_for_msg(g->sorted[i]->name,
			    strlen(g->sorted[i]->name));
			*cause = xstrfmt("duplicate tensor '%s'", a);
			free(a);
			return -1;
		}
	}
	g->kv = ps[0].kv;
	g->n_kv = ps[0].n_kv;
	ps[0].kv = NULL;
	ps[0].n_kv = 0;
	g->alignment = ps[0].alignment;
	return 0;
}

static void
kv_free_all(struct gguf_kv *kv, uint64_t n)
{
	uint64_t	i;

	for (i = 0; i < n; i++)
		free(kv[i].key);
	free(kv);
}

struct gguf_file *
gguf_open(const char *path, char **cause)
{
	struct gguf_file	*g;
	struct gguf_shard	 first;
	struct parsed		*ps, p0;
	char			*why = NULL, *spath;
	int			 no, count, k, n, plen, i, sno, scount;
	int64_t			 total, stotal;
	uint64_t		 sum;

	if (shard_map(&first, path, cause) != 0 ||
	    shard_parse(&first, &p0, cause) != 0) {
		shard_unmap(&first);
		return NULL;
	}
	if (split_info(&p0, &no, &count, &total, cause) != 0) {
		parsed_free(&p0);
		shard_unmap(&first);
		return NULL;
	}

	g = xcalloc(1, sizeof *g);
	g->n_shards = count;
	g->shards = xcalloc((size_t)count, sizeof *g->shards);
	ps = xcalloc((size_t)count, sizeof *ps);
	for (i = 0; i < count; i++)
		g->shards[i].fd = -1;
	g->shards[no] = first;
	ps[no] = p0;

	if (count > 1) {
		plen = gguf_split_name(path, &k, &n);
		if (plen < 0) {
			*cause = xstrfmt("shard %d of %d: name not "
			    "NAME-%05d-of-%05d.gguf", no + 1, count, no + 1,
			    count);
			goto fail;
		}
		if (n != count || k != no + 1) {
			*cause = xstrfmt("split.no %d of split.count %d does "
			    "not match the file name", no + 1, count);
			goto fail;
		}
		for (i = 0; i < count; i++) {
			if (i == no)
				continue;
			spath = xstrfmt("%.*s-%05d-of-%05d.gguf", plen, path,
			    i + 1, count);
			if (access(spath, F_OK) != 0 && errno == ENOENT) {
				*cause = xstrfmt("shard %d of %d missing: %s",
				    i + 1, count, spath);
				free(spath);
				goto fail;
			}
			if (shard_map(&g->shards[i], spath, &why) != 0 ||
			    shard_parse(&g->shards[i], &ps[i], &why) != 0)
				goto shard_fail;
			if (split_info(&ps[i], &sno, &scount, &stotal,
			    &why) != 0)
				goto shard_fail;
			if (scount != count || sno != i) {
				why = xstrfmt("split.no %d of split.count %d, "
				    "expected %d of %d", sno + 1, scount,
				    i + 1, count);
				goto shard_fail;
			}
			if (stotal != -1 && total != -1 && stotal != total) {
				why = xstrfmt("split.tensors.count %lld, "
				    "expected %lld", (long long)stotal,
				    (long long)total);
				goto shard_fail;
			}
			free(spath);
			continue;
shard_fail:
			*cause = xstrfmt("%s: %s", spath, why);
			free(why);
			free(spath);
			goto fail;
		}
		if (total == -1) {
			if (split_info(&ps[0], &sno, &scount, &total,
			    cause) != 0)
				goto fail;
		}
		if (total == -1) {
			*cause = xstrdup("split.tensors.count missing");
			goto fail;
		}
		sum = 0;
		for (i = 0; i < count; i++)
			sum += ps[i].n_t;
		if ((uint64_t)total != sum) {
			*cause = xstrfmt("split.tensors.count %lld but the "
			    "shards hold %llu tensors", (long long)total,
			    (unsigned long long)sum);
			goto fail;
		}
		/* Metadata is the first shard's; the others' only checked. */
		for (i = 1; i < count; i++) {
			kv_free_all(ps[i].kv, ps[i].n_kv);
			ps[i].kv = NULL;
			ps[i].n_kv = 0;
		}
	}

	if (file_join(g, ps, cause) != 0)
		goto fail;
	for (i = 0; i < count; i++)
		parsed_free(&ps[i]);
	free(ps);
	return g;

fail:
	if (g->tensors != ps[0].t)
		free(g->tensors);
	file_free(g, ps);
	return NULL;
}

void
gguf_close(struct gguf_file *g)
{
	if (g == NULL)
		return;
	kv_free_all(g->kv, g->n_kv);
	free(g->tensors);
	file_free(g, NULL);
}

/* ---- lookups --------------------------------------------------------- */

const struct gguf_kv *
gguf_find(const struct gguf_file *g, const char *key)
{
	return kv_find(g->kv, g->n_kv, key);
}

const struct gguf_tensor *
gguf_tensor_find(const struct gguf_file *g, const char *name)
{
	uint64_t	lo = 0, hi = g->n_tensors, mid;
	int		c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, g->sorted[mid]->name);
		if (c == 0)
			return g->sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

uint64_t
gguf_n_elements(const struct gguf_file *g)
{
	uint64_t	n = 0, e, i;
	uint32_t	d;

	for (i = 0; i < g->n_tensors; i++) {
		e = 1;
		for (d = 0; d < g->tensors[i].n_dims; d++)
			e *= (uint64_t)g->tensors[i].ne[d];
		n += e;
	}
	return n;
}

static int
value_is_uint(const struct gguf_value *v)
{
	return v->type == GGUF_U8 || v->type == GGUF_U16 ||
	    v->type == GGUF_U32 || v->type == GGUF_U64;
}

static int
value_is_int(const struct gguf_value *v)
{
	return v->type == GGUF_I8 || v->type == GGUF_I16 ||
	    v->type == GGUF_I32 || v->type == GGUF_I64;
}

int
gguf_get_u64(const struct gguf_file *g, const char *key, uint64_t *out)
{
	const struct gguf_kv	*kv = gguf_find(g, key);

	if (kv == NULL)
		return -1;
	if (value_is_uint(&kv->v)) {
		*out = kv->v.u;
		return 0;
	}
	if (value_is_int(&kv->v) && kv->v.i >= 0) {
		*out = (uint64_t)kv->v.i;
		return 0;
	}
	return -1;
}

int
gguf_get_u32(const struct gguf_file *g, const char *key, uint32_t *out)
{
	uint64_t	v;

	if (gguf_get_u64(g, key, &v) != 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
gguf_get_i64(const struct gguf_file *g, const char *key, int64_t *out)
{
	const struct gguf_kv	*kv = gguf_find(g, key);

	if (kv == NULL)
		return -1;
	if (value_is_int(&kv->v)) {
		*out = kv->v.i;
		return 0;
	}
	if (value_is_uint(&kv->v) && kv->v.u <= INT64_MAX) {
		*out = (int64_t)kv->v.u;
		return 0;
	}
	return -1;
}

int
gguf_get_f32(const struct gguf_file *g, const char *key, float *out)
{
	const struct gguf_kv	*kv = gguf_find(g, key);

	if (kv == NULL ||
	    (kv->v.type != GGUF_F32 && kv->v.type != GGUF_F64))
		return -1;
	*out = (float)kv->v.f;
	return 0;
}

int
gguf_get_bool(const struct gguf_file *g, const char *key, int *out)
{
	const struct gguf_kv	*kv = gguf_find(g, key);

	if (kv == NULL || kv->v.type != GGUF_BOOL)
		return -1;
	*out = kv->v.u != 0;
	return 0;
}

int
gguf_get_str(const struct gguf_file *g, const char *key, char **out)
{
	const struct gguf_kv	*kv = gguf_find(g, key);
	char			*s;

	if (kv == NULL || kv->v.type != GGUF_STRING)
		return -1;
	if ((s = malloc((size_t)kv->v.s.len + 1)) == NULL)
		return -1;
	memcpy(s, kv->v.s.ptr, (size_t)kv->v.s.len);
	s[kv->v.s.len] = '\0';
	*out = s;
	return 0;
}

/* ---- arrays ---------------------------------------------------------- */

const uint8_t *
gguf_arr_decode(const struct gguf_value *v, const uint8_t *p,
    struct gguf_value *out)
{
	struct rd	r = { p, v->arr.end, NULL };

	if (p < v->arr.data || p >= v->arr.end)
		return NULL;
	/* The array was validated when read: this cannot fail on it. */
	if (value_read(&r, v->arr.type, 1, out) != 0)
		return NULL;
	return r.p;
}

int
gguf_arr_item(const struct gguf_value *v, uint64_t i, struct gguf_value *out)
{
	const uint8_t	*p = v->arr.data;
	size_t		 sz;
	uint64_t	 j;

	if (v->type != GGUF_ARRAY || i >= v->arr.n)
		return -1;
	sz = gguf_vtype_size(v->arr.type);
	if (sz != 0) {
		scalar_decode(v->arr.type, p + i * sz, out);
		return 0;
	}
	for (j = 0; j <= i; j++) {
		if ((p = gguf_arr_decode(v, p, out)) == NULL)
			return -1;
	}
	return 0;
}

const uint8_t **
gguf_arr_index(const struct gguf_value *v)
{
	struct gguf_value	  item;
	const uint8_t		**idx, *p = v->arr.data;
	uint64_t		  i;

	if (v->type != GGUF_ARRAY || v->arr.n >= SIZE_MAX / sizeof *idx)
		return NULL;
	if ((idx = malloc((size_t)(v->arr.n + 1) * sizeof *idx)) == NULL)
		return NULL;
	for (i = 0; i < v->arr.n; i++) {
		idx[i] = p;
		if ((p = gguf_arr_decode(v, p, &item)) == NULL) {
			free(idx);
			return NULL;
		}
	}
	idx[v->arr.n] = p;
	return idx;
}

/* ---- writer ---------------------------------------------------------- */

struct buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = b->cap ? b->cap : 64;
		while (b->len + n > b->cap)
			b->cap *= 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_le(struct buf *b, uint64_t v, size_t n)
{
	uint8_t	tmp[8];
	size_t	i;

	for (i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	buf_add(b, tmp, n);
}

static void
buf_str(struct buf *b, const char *s, size_t len)
{
	buf_le(b, len, 8);
	buf_add(b, s, len);
}

struct wkv {
	char		*key;
	struct buf	 val;	/* value type and value, as in the file */
};

struct wtensor {
	char		*name;
	uint32_t	 type;
	uint32_t	 n_dims;
	int64_t		 ne[GGUF_MAX_DIMS];
	const void	*data;
	uint64_t	 size;
	uint64_t	 offset;
};

struct gguf_writer {
	struct wkv	*kv;
	size_t		 n_kv;
	struct wtensor	*t;
	size_t		 n_t;
};

struct gguf_writer *
gguf_writer_new(void)
{
	return xcalloc(1, sizeof(struct gguf_writer));
}

void
gguf_writer_free(struct gguf_writer *w)
{
	size_t	i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		free(w->kv[i].val.p);
	}
	for (i = 0; i < w->n_t; i++)
		free(w->t[i].name);
	free(w->kv);
	free(w->t);
	free(w);
}

/* Returns the (emptied) value buffer of key, adding the key if new. */
static struct buf *
writer_kv(struct gguf_writer *w, const char *key, enum gguf_vtype t)
{
	struct wkv	*kv = NULL;
	size_t		 i;

	for (i = 0; i < w->n_kv; i++) {
		if (strcmp(w->kv[i].key, key) == 0) {
			kv = &w->kv[i];
			break;
		}
	}
	if (kv == NULL) {
		w->kv = xreallocarray(w->kv, w->n_kv + 1, sizeof *w->kv);
		kv = &w->kv[w->n_kv++];
		kv->key = xstrdup(key);
		memset(&kv->val, 0, sizeof kv->val);
	}
	kv->val.len = 0;
	buf_le(&kv->val, t, 4);
	return &kv->val;
}

static void
writer_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype t,
    uint64_t bits)
{
	buf_le(writer_kv(w, key, t), bits, vtype_sizes[t]);
}

void
gguf_writer_set_u16(struct gguf_writer *w, const char *key, uint16_t v)
{
	writer_scalar(w, key, GGUF_U16, v);
}

void
gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	writer_scalar(w, key, GGUF_U32, v);
}

void
gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v)
{
	writer_scalar(w, key, GGUF_I32, (uint32_t)v);
}

void
gguf_writer_set_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
	writer_scalar(w, key, GGUF_U64, v);
}

void
gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v)
{
	uint32_t	bits;

	memcpy(&bits, &v, sizeof bits);
	writer_scalar(w, key, GGUF_F32, bits);
}

void
gguf_writer_set_bool(struct gguf_writer *w, const char *key, int v)
{
	writer_scalar(w, key, GGUF_BOOL, v != 0);
}

void
gguf_writer_set_str(struct gguf_writer *w, const char *key, const char *v)
{
	buf_str(writer_kv(w, key, GGUF_STRING), v, strlen(v));
}

void
gguf_writer_set_arr(struct gguf_writer *w, const char *key,
    enum gguf_vtype t, const void *data, uint64_t n)
{
	struct buf	*b = writer_kv(w, key, GGUF_ARRAY);

	buf_le(b, t, 4);
	buf_le(b, n, 8);
	/* Items are given packed little-endian: copied as they are. */
	buf_add(b, data, (size_t)n * gguf_vtype_size(t));
}

void
gguf_writer_set_str_arr(struct gguf_writer *w, const char *key,
    const char *const *v, uint64_t n)
{
	struct buf	*b = writer_kv(w, key, GGUF_ARRAY);
	uint64_t	 i;

	buf_le(b, GGUF_STRING, 4);
	buf_le(b, n, 8);
	for (i = 0; i < n; i++)
		buf_str(b, v[i], strlen(v[i]));
}

void
gguf_writer_set(struct gguf_writer *w, const char *key,
    const struct gguf_value *v)
{
	struct buf	*b;
	double		 d;
	float		 f;
	uint32_t	 b32;
	uint64_t	 b64;

	switch (v->type) {
	case GGUF_STRING:
		b = writer_kv(w, key, GGUF_STRING);
		buf_str(b, v->s.ptr, (size_t)v->s.len);
		break;
	case GGUF_ARRAY:
		b = writer_kv(w, key, GGUF_ARRAY);
		buf_le(b, v->arr.type, 4);
		buf_le(b, v->arr.n, 8);
		buf_add(b, v->arr.data, (size_t)(v->arr.end - v->arr.data));
		break;
	case GGUF_F32:
		f = (float)v->f;
		memcpy(&b32, &f, sizeof b32);
		writer_scalar(w, key, GGUF_F32, b32);
		break;
	case GGUF_F64:
		d = v->f;
		memcpy(&b64, &d, sizeof b64);
		writer_scalar(w, key, GGUF_F64, b64);
		break;
	case GGUF_I8:
	case GGUF_I16:
	case GGUF_I32:
	case GGUF_I64:
		writer_scalar(w, key, v->type, (uint64_t)v->i);
		break;
	default:
		if ((unsigned)v->type < GGUF_VTYPE_COUNT)
			writer_scalar(w, key, v->type, v->u);
		break;
	}
}

void
gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv)
{
	gguf_writer_set(w, kv->key, &kv->v);
}

void
gguf_writer_add_tensor(struct gguf_writer *w, const char *name,
    uint32_t type, uint32_t n_dims, const int64_t *ne, const void *data)
{
	struct wtensor	*t;
	uint32_t	 i;

	w->t = xreallocarray(w->t, w->n_t + 1, sizeof *w->t);
	t = &w->t[w->n_t++];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	t->type = type;
	t->n_dims = n_dims;
	for (i = 0; i < GGUF_MAX_DIMS; i++)
		t->ne[i] = i < n_dims ? ne[i] : 1;
	t->data = data;
}

/* Checks what gguf_open would refuse, so we never write such a file. */
static int
writer_check(struct gguf_writer *w, uint32_t *alignment, char **cause)
{
	const struct type_info	*ti;
	struct wtensor		*t;
	struct buf		*b;
	uint64_t		 rows, a;
	size_t			 i, j;
	uint32_t		 d;

	*alignment = GGUF_DEFAULT_ALIGN;
	for (i = 0; i < w->n_kv; i++) {
		if (strcmp(w->kv[i].key, "general.alignment") != 0)
			continue;
		b = &w->kv[i].val;
		if (le_get(b->p, 4) != GGUF_U32) {
			*cause = xstrdup("general.alignment: not a u32");
			return -1;
		}
		a = le_get(b->p + 4, 4);
		if (a == 0 || (a & (a - 1)) != 0) {
			*cause = xstrfmt("general.alignment: %llu not a power "
			    "of two", (unsigned long long)a);
			return -1;
		}
		*alignment = (uint32_t)a;
	}
	for (i = 0; i < w->n_t; i++) {
		t = &w->t[i];
		if (*t->name == '\0' || strlen(t->name) > GGUF_MAX_NAME) {
			*cause = xstrfmt("tensor '%.64s': bad name length",
			    t->name);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(w->t[j].name, t->name) == 0) {
				*cause = xstrfmt("duplicate tensor '%s'",
				    t->name);
				return -1;
			}
		}
		if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS) {
			*cause = xstrfmt("tensor '%s': %u dimensions", t->name,
			    t->n_dims);
			return -1;
		}
		if ((ti = type_info(t->type)) == NULL) {
			*cause = xstrfmt("tensor '%s': unknown type %u",
			    t->name, t->type);
			return -1;
		}
		rows = 1;
		for (d = 0; d < t->n_dims; d++) {
			if (t->ne[d] <= 0 || (d > 0 &&
			    (uint64_t)t->ne[d] > UINT64_MAX / rows)) {
				*cause = xstrfmt("tensor '%s': bad dimension",
				    t->name);
				return -1;
			}
			if (d > 0)
				rows *= (uint64_t)t->ne[d];
		}
		if (t->ne[0] % ti->blck != 0) {
			*cause = xstrfmt("tensor '%s': row of %lld not a "
			    "multiple of %d", t->name, (long long)t->ne[0],
			    ti->blck);
			return -1;
		}
		t->size = (uint64_t)(t->ne[0] / ti->blck) * ti->size * rows;
	}
	return 0;
}

/* Writes n bytes of p, or skips n bytes when p is NULL: the hole reads
 * as zeros once the file is extended to its size. */
static int
write_all(FILE *f, const void *p, uint64_t n)
{
	if (p != NULL)
		return fwrite(p, 1, (size_t)n, f) == n ? 0 : -1;
	if (n > INT64_MAX)
		return -1;
	return fseeko(f, (off_t)n, SEEK_CUR);
}

int
gguf_writer_write(struct gguf_writer *w, const char *path, char **cause)
{
	struct buf	 h = { NULL, 0, 0 };
	struct wtensor	*t;
	uint64_t	 off = 0, pos, total;
	uint32_t	 alignment, d;
	size_t		 i;
	char		*tmp;
	FILE		*f;
	int		 fd, e;

	if (writer_check(w, &alignment, cause) != 0)
		return -1;

	buf_add(&h, GGUF_MAGIC, 4);
	buf_le(&h, 3, 4);
	buf_le(&h, w->n_t, 8);
	buf_le(&h, w->n_kv, 8);
	for (i = 0; i < w->n_kv; i++) {
		buf_str(&h, w->kv[i].key, strlen(w->kv[i].key));
		buf_add(&h, w->kv[i].val.p, w->kv[i].val.len);
	}
	for (i = 0; i < w->n_t; i++) {
		t = &w->t[i];
		t->offset = off;
		buf_str(&h, t->name, strlen(t->name));
		buf_le(&h, t->n_dims, 4);
		for (d = 0; d < t->n_dims; d++)
			buf_le(&h, (uint64_t)t->ne[d], 8);
		buf_le(&h, t->type, 4);
		buf_le(&h, t->offset, 8);
		off += (t->size + alignment - 1) / alignment * alignment;
	}
	pos = (h.len + alignment - 1) / alignment * alignment;
	while (h.len < pos)
		buf_le(&h, 0, 1);
	total = pos + off;

	tmp = xstrfmt("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd == -1 || (f = fdopen(fd, "wb")) == NULL) {
		e = errno;
		if (fd != -1)
			close(fd);
		*cause = xstrdup(strerror(e));
		goto fail;
	}
	e = write_all(f, h.p, h.len);
	for (i = 0; e == 0 && i < w->n_t; i++) {
		t = &w->t[i];
		e = write_all(f, t->data, t->size);
		if (e == 0)
			e = write_all(f, NULL, (alignment - t->size %
			    alignment) % alignment);
	}
	if (e == 0 && fflush(f) != 0)
		e = -1;
	if (e == 0 && ftruncate(fileno(f), (off_t)total) != 0)
		e = -1;
	if (e == 0 && fsync(fileno(f)) != 0 && errno != EINVAL)
		e = -1;
	e = e != 0 ? errno : 0;
	if (fclose(f) != 0 && e == 0)
		e = errno ? errno : EIO;
	if (e == 0 && rename(tmp, path) != 0)
		e = errno;
	if (e != 0) {
		*cause = xstrdup(strerror(e));
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	free(h.p);
	return 0;

fail:
	free(tmp);
	free(h.p);
	return -1;
}
