/*
 * mkbad.c - writes GGUF files for the show and malformed-input tests.
 *
 *   mkbad good PATH [TEMPLATE_FILE]   a small valid model (qwen2 keys,
 *                                     four tensors, a chat template)
 *   mkbad params PATH N               a model of exactly N parameters,
 *                                     written sparse (one I8 tensor)
 *   mkbad split DIR PREFIX            a valid model split in three shards,
 *                                     DIR/PREFIX-0000K-of-00003.gguf
 *   mkbad corpus DIR                  malformed files and DIR/cases, one
 *                                     line "FILE<TAB>expected reason" each
 *
 * Malformed files are built byte by byte, not with the writer, since the
 * writer refuses to produce them.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "util.h"

#define R1_TEMPLATE \
	"{{bos_token}}{% for m in messages %}{% if m['role'] == 'user' %}" \
	"<\xef\xbd\x9cUser\xef\xbd\x9c>{{m['content']}}{% else %}" \
	"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>" \
	"{{m['content'].split('</think>')[-1]}}{% endif %}{% endfor %}"

/* ---- the good model ---------------------------------------------------- */

/* Tensor data: deterministic bytes, so reads can be compared. */
static uint8_t *
pattern(size_t n, unsigned seed)
{
	uint8_t	*p = xmalloc(n);
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 17) >> 1);
	return p;
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	*s;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fprintf(stderr, "mkbad: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	rewind(f);
	s = xmalloc((size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "mkbad: %s: short read\n", path);
		exit(1);
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

static void
finish(struct gguf_writer *w, const char *path)
{
	char	*cause;

	if (gguf_writer_write(w, path, &cause) != 0) {
		fprintf(stderr, "mkbad: %s: %s\n", path, cause);
		exit(1);
	}
	gguf_writer_free(w);
}

/*
 * 256x4 F32 + 256x8 Q4_K + 64x3 Q8_0 + 32 F16: 3296 parameters.  The last
 * tensor is 64 bytes, a whole number of alignments, so the file ends with
 * data: cutting any byte off makes it invalid.
 */
static void
write_good(const char *path, const char *template_file)
{
	struct gguf_writer	*w = gguf_writer_new();
	static const int64_t	 ne_a[] = { 256, 4 }, ne_b[] = { 256, 8 },
				 ne_c[] = { 64, 3 }, ne_d[] = { 32 };
	const char		*tokens[] = { "a", "b", "<think>" };
	char			*tmpl;
	uint8_t			*a, *b, *c, *d;

	tmpl = template_file ? slurp(template_file) : xstrdup(R1_TEMPLATE);
	gguf_writer_set_str(w, "general.architecture", "qwen2");
	gguf_writer_set_str(w, "general.name", "mkbad test model");
	gguf_writer_set_u32(w, "general.file_type", 15);
	gguf_writer_set_u32(w, "qwen2.context_length", 131072);
	gguf_writer_set_u32(w, "qwen2.embedding_length", 1536);
	gguf_writer_set_f32(w, "qwen2.rope.freq_base", 10000.0f);
	gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_writer_set_str_arr(w, "tokenizer.ggml.tokens", tokens, 3);
	gguf_writer_set_str(w, "tokenizer.chat_template", tmpl);
	a = pattern(256 * 4 * 4, 1);
	b = pattern(8 * 144, 2);
	c = pattern(3 * 2 * 34, 3);
	d = pattern(64, 4);
	gguf_writer_add_tensor(w, "token_embd.weight", 0, 2, ne_a, a);
	gguf_writer_add_tensor(w, "blk.0.attn_q.weight", 12, 2, ne_b, b);
	gguf_writer_add_tensor(w, "blk.0.attn_k.weight", 8, 2, ne_c, c);
	gguf_writer_add_tensor(w, "output_norm.weight", 1, 1, ne_d, d);
	finish(w, path);
	free(a);
	free(b);
	free(c);
	free(d);
	free(tmpl);
}

static void
write_params(const char *path, const char *count)
{
	struct gguf_writer	*w = gguf_writer_new();
	int64_t			 ne[1];
	char			*end;

	ne[0] = strtoll(count, &end, 10);
	if (*end != '\0' || ne[0] < 0) {
		fprintf(stderr, "mkbad: %s: bad count\n", count);
		exit(1);
	}
	gguf_writer_set_str(w, "general.architecture", "llama");
	/* NULL data: the writer leaves a hole, so N bytes cost nothing. */
	if (ne[0] > 0)
		gguf_writer_add_tensor(w, "weights", 24, 1, ne, NULL);
	finish(w, path);
}

/* ---- raw byte building ------------------------------------------------- */

struct raw {
	uint8_t	*p;
	size_t	 len;
};

static void
put(struct raw *r, const void *p, size_t n)
{
	r->p = xreallocarray(r->p, r->len + n + 1, 1);
	memcpy(r->p + r->len, p, n);
	r->len += n;
}

static void
put_le(struct raw *r, uint64_t v, size_t n)
{
	uint8_t	b[8];
	size_t	i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(r, b, n);
}

#define put_u8(r, v)	put_le(r, v, 1)
#define put_u16(r, v)	put_le(r, v, 2)
#define put_u32(r, v)	put_le(r, v, 4)
#define put_u64(r, v)	put_le(r, v, 8)

static void
put_str(struct raw *r, const char *s)
{
	put_u64(r, strlen(s));
	put(r, s, strlen(s));
}

static void
hdr(struct raw *r, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	put(r, "GGUF", 4);
	put_u32(r, version);
	put_u64(r, n_tensors);
	put_u64(r, n_kv);
}

static void
kv_u32(struct raw *r, const char *key, uint32_t v)
{
	put_str(r, key);
	put_u32(r, GGUF_U32);
	put_u32(r, v);
}

static void
kv_str(struct raw *r, const char *key, const char *v)
{
	put_str(r, key);
	put_u32(r, GGUF_STRING);
	put_str(r, v);
}

/* A tensor info of up to four dimensions (unused ones ignored). */
static void
tinfo(struct raw *r, const char *name, uint32_t n_dims, uint64_t d0,
    uint64_t d1, uint32_t type, uint64_t offset)
{
	uint64_t	d[4] = { d0, d1, 1, 1 };
	uint32_t	i;

	put_str(r, name);
	put_u32(r, n_dims);
	for (i = 0; i < n_dims; i++)
		put_u64(r, i < 4 ? d[i] : 1);
	put_u32(r, type);
	put_u64(r, offset);
}

/* Pads to the alignment, then appends n data bytes. */
static void
data(struct raw *r, size_t align, size_t n)
{
	while (r->len % align != 0)
		put_u8(r, 0);
	while (n-- > 0)
		put_u8(r, 0x5a);
}

static const char	*corpus_dir;
static FILE		*cases;

static void
emit(const char *name, struct raw *r, const char *expect)
{
	char	*path = xstrfmt("%s/%s", corpus_dir, name);
	FILE	*f = fopen(path, "wb");

	if (f == NULL || (r->len > 0 && fwrite(r->p, 1, r->len, f) !=
	    r->len) || fclose(f) != 0) {
		fprintf(stderr, "mkbad: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (expect != NULL)
		fprintf(cases, "%s\t%s\n", name, expect);
	free(path);
	free(r->p);
	r->p = NULL;
	r->len = 0;
}

/* One valid F32 tensor "t" of 8 elements: the base of the tensor cases. */
static void
one_tensor(struct raw *r, const char *name, uint32_t n_dims, uint64_t d0,
    uint64_t d1, uint32_t type, uint64_t offset, size_t bytes)
{
	hdr(r, 3, 1, 1);
	kv_str(r, "general.architecture", "llama");
	tinfo(r, name, n_dims, d0, d1, type, offset);
	data(r, 32, bytes);
}

static void
corpus_header(void)
{
	struct raw	r = { NULL, 0 };

	put(&r, "GGUX", 4);
	put_u32(&r, 3);
	put_u64(&r, 0);
	put_u64(&r, 0);
	emit("bad-magic.gguf", &r, "not a GGUF file");
	put(&r, "GG", 2);
	emit("short-magic.gguf", &r, "truncated header");
	emit("empty.gguf", &r, "empty file");
	put(&r, "<html>\n", 7);
	emit("html.gguf", &r, "not a GGUF file");
	hdr(&r, 0, 0, 0);
	emit("version-0.gguf", &r, "unsupported version 0");
	hdr(&r, 1, 0, 0);
	emit("version-1.gguf", &r, "unsupported version 1");
	hdr(&r, 99, 0, 0);
	emit("version-99.gguf", &r, "unsupported version 99");
	hdr(&r, 0x03000000, 0, 0);
	emit("big-endian.gguf", &r, "big-endian");
	hdr(&r, 3, 1ULL << 63, 0);
	emit("tensors-2p63.gguf", &r, "tensor count");
	hdr(&r, 3, 0, 1ULL << 63);
	emit("keys-2p63.gguf", &r, "key count");
	hdr(&r, 3, UINT64_MAX, UINT64_MAX);
	emit("counts-max.gguf", &r, "count");
	hdr(&r, 2, 0, 1ULL << 63);
	kv_u32(&r, "a", 1);
	emit("v2-keys-2p63.gguf", &r, "key count");
	/* Counts that fit the file size but not its contents. */
	hdr(&r, 3, 0, 3);
	kv_u32(&r, "a", 1);
	put(&r, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
	    30);
	emit("keys-past-end.gguf", &r, "key 1: bad name");
}

static void
corpus_kv(void)
{
	struct raw	r = { NULL, 0 };
	int		i;

	hdr(&r, 3, 0, 1);
	put_u64(&r, 1ULL << 63);
	put(&r, "abcdefghijklmnop", 16);
	emit("key-len-2p63.gguf", &r, "key 0: name past end of file");
	hdr(&r, 3, 0, 1);
	put_u64(&r, 100);
	put(&r, "abcdefgh", 8);
	put_u32(&r, GGUF_U8);
	emit("key-len-past-eof.gguf", &r, "key 0: name past end of file");
	hdr(&r, 3, 0, 1);
	put_u64(&r, 0);
	put_u32(&r, GGUF_U16);
	put_u16(&r, 0);
	emit("key-empty.gguf", &r, "key 0: bad name");
	hdr(&r, 3, 0, 1);
	put_u64(&r, 3);
	put(&r, "a\nb", 3);
	put_u32(&r, GGUF_U8);
	put_u8(&r, 0);
	emit("key-control.gguf", &r, "key 0: bad name");
	hdr(&r, 3, 0, 1);
	put_str(&r, "general.name");
	put_u32(&r, GGUF_STRING);
	put_u64(&r, 1ULL << 63);
	put(&r, "abcdefgh", 8);
	emit("string-len-2p63.gguf", &r,
	    "key 'general.name': string past end of file");
	hdr(&r, 3, 0, 1);
	put_str(&r, "general.name");
	put_u32(&r, GGUF_STRING);
	put_u64(&r, 9);
	put(&r, "abcdefgh", 8);
	emit("string-len-past-eof.gguf", &r,
	    "key 'general.name': string past end of file");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, 13);
	put_u32(&r, 0);
	emit("value-type-13.gguf", &r, "key 'x': unknown type 13");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, 0xffffffff);
	put_u32(&r, 0);
	emit("value-type-max.gguf", &r, "key 'x': unknown type 4294967295");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_U64);
	put_u32(&r, 0);
	emit("value-truncated.gguf", &r, "key 'x': truncated value");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_ARRAY);
	put_u32(&r, GGUF_U8);
	put_u64(&r, 1ULL << 63);
	put(&r, "abcdefgh", 8);
	emit("array-2p63.gguf", &r, "key 'x': array past end of file");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_ARRAY);
	put_u32(&r, GGUF_U32);
	put_u64(&r, 3);
	put_u32(&r, 1);
	put_u32(&r, 2);
	put_u16(&r, 3);
	emit("array-past-eof.gguf", &r, "key 'x': array past end of file");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_ARRAY);
	put_u32(&r, GGUF_STRING);
	put_u64(&r, 2);
	put_str(&r, "ok");
	put_u64(&r, 1ULL << 62);
	put(&r, "abcd", 4);
	emit("array-string-past-eof.gguf", &r,
	    "key 'x': string past end of file");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_ARRAY);
	put_u32(&r, GGUF_ARRAY);
	put_u64(&r, 1ULL << 62);
	put_u32(&r, GGUF_U8);
	put_u64(&r, 0);
	emit("array-nested-2p62.gguf", &r, "key 'x': array past end of file");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_ARRAY);
	for (i = 0; i < 100; i++) {
		put_u32(&r, GGUF_ARRAY);
		put_u64(&r, 1);
	}
	put_u32(&r, GGUF_U8);
	put_u64(&r, 0);
	emit("array-deep.gguf", &r, "key 'x': arrays nested too deep");
	hdr(&r, 3, 0, 1);
	put_str(&r, "x");
	put_u32(&r, GGUF_ARRAY);
	put_u32(&r, 200);
	put_u64(&r, 0);
	emit("array-type-200.gguf", &r, "key 'x': unknown array item type");
	hdr(&r, 3, 0, 2);
	kv_u32(&r, "general.alignment", 32);
	kv_u32(&r, "general.alignment", 64);
	emit("key-duplicate.gguf", &r, "duplicate key 'general.alignment'");
	hdr(&r, 3, 0, 1);
	kv_u32(&r, "general.alignment", 0);
	emit("align-0.gguf", &r, "general.alignment: 0 not a power of two");
	hdr(&r, 3, 0, 1);
	kv_u32(&r, "general.alignment", 48);
	emit("align-48.gguf", &r, "general.alignment: 48 not a power of two");
	hdr(&r, 3, 0, 1);
	kv_str(&r, "general.alignment", "32");
	emit("align-string.gguf", &r, "general.alignment: type string");
}

#define NAME32 "tttttttttttttttttttttttttttttttt"
#define NAME65 NAME32 NAME32 "x"

static void
corpus_tensors(void)
{
	struct raw	r = { NULL, 0 };

	one_tensor(&r, "t", 1, 0, 0, 0, 0, 32);
	emit("dim-0.gguf", &r, "tensor 't': dimension 0 is zero");
	one_tensor(&r, "t", 2, 8, 0, 0, 0, 32);
	emit("dim1-0.gguf", &r, "tensor 't': dimension 1 is zero");
	one_tensor(&r, "t", 1, 1ULL << 40, 0, 0, 0, 32);
	emit("dim-2p40.gguf", &r, "tensor 't': data outside the file");
	one_tensor(&r, "t", 2, 1ULL << 40, 1ULL << 40, 0, 0, 32);
	emit("dims-2p40-2p40.gguf", &r, "tensor 't': too many elements");
	one_tensor(&r, "t", 1, 1ULL << 63, 0, 0, 0, 32);
	emit("dim-2p63.gguf", &r, "tensor 't': too many elements");
	one_tensor(&r, "t", 2, 1ULL << 61, 2, 28, 0, 32);
	emit("bytes-overflow.gguf", &r, "tensor 't': too large");
	one_tensor(&r, "t", 0, 8, 0, 0, 0, 32);
	emit("ndims-0.gguf", &r, "tensor 't': 0 dimensions");
	hdr(&r, 3, 1, 0);
	put_str(&r, "t");
	put_u32(&r, 5);
	put_u64(&r, 8);
	put_u64(&r, 1);
	put_u64(&r, 1);
	put_u64(&r, 1);
	put_u64(&r, 1);
	put_u32(&r, 0);
	put_u64(&r, 0);
	data(&r, 32, 32);
	emit("ndims-5.gguf", &r, "tensor 't': 5 dimensions");
	one_tensor(&r, "t", 1, 32, 0, 4, 0, 32);
	emit("type-4.gguf", &r, "tensor 't': unknown type 4");
	one_tensor(&r, "t", 1, 32, 0, 5, 0, 32);
	emit("type-5.gguf", &r, "tensor 't': unknown type 5");
	one_tensor(&r, "t", 1, 32, 0, 200, 0, 32);
	emit("type-200.gguf", &r, "tensor 't': unknown type 200");
	one_tensor(&r, "t", 1, 32, 0, 31, 0, 32);
	emit("type-31.gguf", &r, "tensor 't': unknown type 31");
	one_tensor(&r, "t", 1, 33, 0, 2, 0, 64);
	emit("row-not-blocks.gguf", &r, "tensor 't': row of 33");
	one_tensor(&r, "t", 2, 128, 2, 12, 0, 288);
	emit("row-not-k-blocks.gguf", &r, "tensor 't': row of 128");
	one_tensor(&r, "t", 1, 8, 0, 0, 1, 64);
	emit("offset-misaligned.gguf", &r, "tensor 't': offset not aligned");
	one_tensor(&r, "t", 1, 8, 0, 0, 32, 32);
	emit("offset-past-eof.gguf", &r, "tensor 't': data outside the file");
	one_tensor(&r, "t", 1, 16, 0, 0, 0, 32);
	emit("data-short.gguf", &r, "tensor 't': data outside the file");
	one_tensor(&r, "t", 1, 8, 0, 0, UINT64_MAX - 31, 32);
	emit("offset-max.gguf", &r, "tensor 't': data outside the file");
	one_tensor(&r, "", 1, 8, 0, 0, 0, 32);
	emit("name-empty.gguf", &r, "tensor 0: empty name");
	one_tensor(&r, NAME65, 1, 8, 0, 0, 0, 32);
	emit("name-65.gguf", &r, "name longer than 64 bytes");
	hdr(&r, 3, 1, 0);
	put_u64(&r, 1ULL << 63);
	put(&r, NAME32 NAME32, 64);
	emit("name-len-2p63.gguf", &r, "truncated tensor info");
	hdr(&r, 3, 2, 0);
	tinfo(&r, "a", 1, 8, 0, 0, 0);
	tinfo(&r, "a", 1, 8, 0, 0, 32);
	data(&r, 32, 64);
	emit("tensor-duplicate.gguf", &r, "duplicate tensor 'a'");
	hdr(&r, 3, 2, 0);
	tinfo(&r, "a", 1, 16, 0, 0, 0);
	tinfo(&r, "b", 1, 8, 0, 0, 32);
	data(&r, 32, 96);
	emit("tensor-overlap.gguf", &r, "tensors 'a' and 'b' overlap");
	hdr(&r, 3, 2, 0);
	tinfo(&r, "a", 1, 8, 0, 0, 64);
	tinfo(&r, "b", 1, 8, 0, 0, 64);
	data(&r, 32, 96);
	emit("tensor-same-offset.gguf", &r, "overlap");
	hdr(&r, 3, 1, 1);
	kv_u32(&r, "general.alignment", 64);
	tinfo(&r, "t", 1, 8, 0, 0, 32);
	data(&r, 64, 128);
	emit("offset-misaligned-64.gguf", &r, "tensor 't': offset not aligned");
	/* A tensor info cut short inside each of its fields. */
	hdr(&r, 3, 1, 0);
	put_str(&r, NAME32);
	put_u32(&r, 2);
	put_u64(&r, 8);
	emit("tinfo-cut-dims.gguf", &r, "truncated tensor info");
	hdr(&r, 3, 1, 0);
	put_str(&r, NAME32);
	put_u32(&r, 1);
	put_u64(&r, 8);
	put_u32(&r, 0);
	put_u32(&r, 0);
	emit("tinfo-cut-offset.gguf", &r, "truncated tensor info");
}

/* A model in three shards; any of them may then be spoilt. */
static void
shard(struct raw *r, int no, int count, int32_t total, int n_tensors,
    const char *first_name)
{
	int	 i;
	char	 name[32];

	hdr(r, 3, (uint64_t)n_tensors, no == 0 ? 4 : 3);
	if (no == 0)
		kv_str(r, "general.architecture", "llama");
	put_str(r, "split.no");
	put_u32(r, GGUF_U16);
	put_u16(r, (uint16_t)no);
	put_str(r, "split.count");
	put_u32(r, GGUF_U16);
	put_u16(r, (uint16_t)count);
	put_str(r, "split.tensors.count");
	put_u32(r, GGUF_I32);
	put_u32(r, (uint32_t)total);
	for (i = 0; i < n_tensors; i++) {
		snprintf(name, sizeof name, "%s%d", first_name, i);
		tinfo(r, name, 1, 8, 0, 0, (uint64_t)i * 32);
	}
	data(r, 32, (size_t)n_tensors * 32);
}

static void
split_set(const char *prefix, int spoil)
{
	struct raw	 r = { NULL, 0 };
	char		*name;
	int		 i;

	for (i = 0; i < 3; i++) {
		if (spoil == 1 && i == 1)
			continue;	/* missing */
		if (spoil == 2 && i == 2)
			shard(&r, 1, 3, 6, 2, "s2_");
		else if (spoil == 3 && i == 2)
			shard(&r, 2, 4, 6, 2, "s2_");
		else if (spoil == 4 && i == 2)
			shard(&r, 2, 3, 7, 2, "s2_");
		else if (spoil == 5 && i == 1)
			put(&r, "GGUX0000000000000000000000", 24);
		else if (spoil == 6 && i == 2)
			shard(&r, 2, 3, 6, 2, "s0_");
		else
			shard(&r, i, 3, 6, 2, i == 0 ? "s0_" : i == 1 ?
			    "s1_" : "s2_");
		name = xstrfmt("%s-%05d-of-00003.gguf", prefix, i + 1);
		emit(name, &r, NULL);
		free(name);
	}
}

static void
corpus_splits(void)
{
	struct raw	r = { NULL, 0 };

	split_set("split-missing", 1);
	fprintf(cases, "split-missing-00001-of-00003.gguf\tshard 2 of 3 "
	    "missing: %s/split-missing-00002-of-00003.gguf\n", corpus_dir);
	fprintf(cases, "split-missing-00003-of-00003.gguf\tshard 2 of 3 "
	    "missing\n");
	split_set("split-no", 2);
	fprintf(cases, "split-no-00002-of-00003.gguf\t"
	    "split-no-00003-of-00003.gguf: split.no 2 of split.count 3, "
	    "expected 3 of 3\n");
	split_set("split-count", 3);
	fprintf(cases, "split-count-00001-of-00003.gguf\t"
	    "split-count-00003-of-00003.gguf: split.no 3 of split.count 4\n");
	split_set("split-total", 4);
	fprintf(cases, "split-total-00001-of-00003.gguf\t"
	    "split-total-00003-of-00003.gguf: split.tensors.count 7, "
	    "expected 6\n");
	split_set("split-badshard", 5);
	fprintf(cases, "split-badshard-00003-of-00003.gguf\t"
	    "split-badshard-00002-of-00003.gguf: not a GGUF file\n");
	split_set("split-dupname", 6);
	fprintf(cases, "split-dupname-00001-of-00003.gguf\t"
	    "duplicate tensor 's0_0'\n");
	/* A shard that says it is one but is not named like one. */
	shard(&r, 0, 3, 6, 2, "t");
	emit("split-unnamed.gguf", &r, "name not NAME-00001-of-00003.gguf");
	/* Named shard 2 but saying it is shard 1. */
	shard(&r, 0, 3, 6, 2, "t");
	emit("split-renamed-00002-of-00003.gguf", &r,
	    "split.no 1 of split.count 3 does not match the file name");
	hdr(&r, 3, 0, 1);
	kv_u32(&r, "split.count", 3);
	emit("split-count-u32.gguf", &r, "split.count: type u32, expected u16");
	hdr(&r, 3, 0, 1);
	put_str(&r, "split.count");
	put_u32(&r, GGUF_U16);
	put_u16(&r, 0);
	emit("split-count-0.gguf", &r, "split.count is zero");
	hdr(&r, 3, 0, 2);
	put_str(&r, "split.count");
	put_u32(&r, GGUF_U16);
	put_u16(&r, 2);
	put_str(&r, "split.no");
	put_u32(&r, GGUF_U16);
	put_u16(&r, 5);
	emit("split-no-5.gguf", &r, "split.no 5 not below split.count 2");
}

/* The good model cut at byte offsets: all must fail, whatever the reason. */
static void
corpus_truncated(void)
{
	struct raw	 r = { NULL, 0 };
	struct gguf_file *g;
	char		*good, *cause, *name, *all;
	size_t		 n, cut, data_start;

	good = xstrfmt("%s/good.tmp", corpus_dir);
	write_good(good, NULL);
	all = slurp(good);	/* binary: only its bytes are used */
	if ((g = gguf_open(good, &cause)) == NULL) {
		fprintf(stderr, "mkbad: %s: %s\n", good, cause);
		exit(1);
	}
	n = g->shards[0].size;
	data_start = g->shards[0].data_offset;
	gguf_close(g);
	unlink(good);
	free(good);
	/* Every offset through the metadata, then every 97th in the data. */
	for (cut = 0; cut < n; cut += cut < data_start ? 1 : 97) {
		if (cut == 0)
			continue;	/* that is empty.gguf */
		put(&r, all, cut);
		name = xstrfmt("cut-%05zu.gguf", cut);
		emit(name, &r, "");
		free(name);
	}
	put(&r, all, n - 1);
	emit("cut-last-byte.gguf", &r, "data outside the file");
	free(all);
}

int
main(int argc, char **argv)
{
	char	*path;

	if (argc >= 3 && strcmp(argv[1], "good") == 0) {
		write_good(argv[2], argc > 3 ? argv[3] : NULL);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "params") == 0) {
		write_params(argv[2], argv[3]);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "split") == 0) {
		/* three valid shards: DIR/PREFIX-0000K-of-00003.gguf */
		corpus_dir = argv[2];
		split_set(argv[3], 0);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "corpus") != 0) {
		fprintf(stderr, "usage: mkbad good PATH [TEMPLATE] | "
		    "params PATH N | split DIR PREFIX | corpus DIR\n");
		return 2;
	}
	corpus_dir = argv[2];
	if (mkdir(corpus_dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkbad: %s: %s\n", corpus_dir, strerror(errno));
		return 1;
	}
	path = xstrfmt("%s/cases", corpus_dir);
	if ((cases = fopen(path, "w")) == NULL) {
		fprintf(stderr, "mkbad: %s: %s\n", path, strerror(errno));
		return 1;
	}
	corpus_header();
	corpus_kv();
	corpus_tensors();
	corpus_splits();
	corpus_truncated();
	if (fclose(cases) != 0) {
		fprintf(stderr, "mkbad: %s: %s\n", path, strerror(errno));
		return 1;
	}
	free(path);
	return 0;
}
