/*
 * tok.c - the tokenizer: vocabulary and merges from GGUF metadata, special
 * tokens, encoding (specials, then pre-tokenizer, then BPE), decoding and
 * the streaming detokenizer.
 *
 * Behaviour follows llama.cpp's, which the test vectors come from:
 * user-defined tokens (type 4) are matched in text even when specials are
 * not parsed, control tokens only when they are; the longest special
 * text is matched first everywhere, then the next; bytes that are not
 * UTF-8 are read as U+FFFD.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tok-int.h"
#include "tok.h"
#include "util.h"

uint16_t tok_byte_cpt[256];
int16_t tok_cpt_byte[324];

/*
 * Token texts that end a turn, beside tokenizer.ggml.eos_token_id
 * (llama.cpp's list, with DeepSeek's spellings).
 */
static const char *const eog_texts[] = {
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
	"<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|EOT|>",
	"<|end\xe2\x96\x81of\xe2\x96\x81sentence|>",
	"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	"<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
};
#define N_EOG_TEXTS (sizeof eog_texts / sizeof eog_texts[0])

/* The keys of other special ids that end a turn, when a file has them. */
static const char *const eog_keys[] = {
	"tokenizer.ggml.eos_token_id",
	"tokenizer.ggml.eot_token_id",
	"tokenizer.ggml.eom_token_id",
};
#define N_EOG_KEYS (sizeof eog_keys / sizeof eog_keys[0])

void
tok_bytemap_init(void)
{
	int	b, n = 0;

	/*
	 * GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for
	 * themselves, the others for 256, 257, ... in byte order.
	 */
	for (b = 0; b < 324; b++)
		tok_cpt_byte[b] = -1;
	for (b = 0; b < 256; b++) {
		if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
		    b >= 0xae)
			tok_byte_cpt[b] = (uint16_t)b;
		else
			tok_byte_cpt[b] = (uint16_t)(256 + n++);
		tok_cpt_byte[tok_byte_cpt[b]] = (int16_t)b;
	}
}

uint64_t
tok_hash(const void *p, size_t n)
{
	const uint8_t	*s = p;
	uint64_t	 h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *s++) * 0x100000001b3ULL;
	/* Tables index by the low bits: fold the high ones in. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static uint64_t
pair_hash(int32_t a, int32_t b)
{
	uint64_t	h = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;

	/* splitmix64's finaliser: every input bit reaches the low bits. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

int
tok_ids_push(struct tok_ids *l, int32_t id)
{
	int32_t	*v;
	size_t	 c;

	if (l->n == l->cap) {
		c = l->cap ? 2 * l->cap : 64;
		if (c > SIZE_MAX / sizeof *v ||
		    (v = realloc(l->v, c * sizeof *v)) == NULL)
			return -1;
		l->v = v;
		l->cap = c;
	}
	l->v[l->n++] = id;
	return 0;
}

/* ---- the text table ----------------------------------------------------- */

static int32_t *
text_slot(const struct tok *t, const char *s, size_t n)
{
	size_t	i = tok_hash(s, n) & t->hash_mask;
	int32_t	id;

	for (;; i = (i + 1) & t->hash_mask) {
		id = t->hash[i];
		if (id < 0)
			return &t->hash[i];
		if (t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0)
			return &t->hash[i];
	}
}

int32_t
tok_lookup(const struct tok *t, const char *s, size_t n)
{
	return *text_slot(t, s, n);
}

static int
text_rehash(struct tok *t, size_t cap)
{
	int32_t	*old = t->hash, id;

	if ((t->hash = malloc(cap * sizeof *t->hash)) == NULL) {
		t->hash = old;
		return -1;
	}
	memset(t->hash, 0xff, cap * sizeof *t->hash);
	t->hash_mask = cap - 1;
	for (id = 0; id < t->n_all; id++) {
		/* Equal texts: the last id wins, as in llama.cpp's map. */
		*text_slot(t, t->arena + t->off[id], t->len[id]) = id;
	}
	free(old);
	return 0;
}

/*
 * Adds a text as the next id (a token when loading the vocabulary, a
 * merge's string otherwise).  Returns the id, or -1 on failure.
 */
static int32_t
text_add(struct tok *t, const char *s, size_t n)
{
	int32_t	id = t->n_all;

	if (t->arena_len + n + 1 > t->arena_cap || n > UINT32_MAX ||
	    (size_t)t->n_all >= t->off_cap || t->n_all == INT32_MAX)
		return -1;
	memcpy(t->arena + t->arena_len, s, n);
	t->arena[t->arena_len + n] = '\0';
	t->off[id] = (uint32_t)t->arena_len;
	t->len[id] = (uint32_t)n;
	t->arena_len += n + 1;
	t->n_all++;
	if (2 * (size_t)t->n_all > t->hash_mask + 1)
		return text_rehash(t, 2 * (t->hash_mask + 1)) == 0 ? id : -1;
	*text_slot(t, s, n) = id;
	return id;
}

/* The id of a merge's string, adding it when it is no token. */
static int32_t
text_id(struct tok *t, const char *s, size_t n)
{
	int32_t	id = tok_lookup(t, s, n);

	return id >= 0 ? id : text_add(t, s, n);
}

const struct tok_merge *
tok_merge_find(const struct tok *t, int32_t a, int32_t b)
{
	const struct tok_merge	*m;
	size_t			 i = pair_hash(a, b) & t->merge_mask;

	for (;; i = (i + 1) & t->merge_mask) {
		m = &t->merge[i];
		if (m->a < 0)
			return NULL;
		if (m->a == a && m->b == b)
			return m;
	}
}

/* ---- loading ------------------------------------------------------------ */

/* A string item of an indexed string array. */
static const char *
arr_str(const uint8_t **idx, uint64_t i, size_t *n)
{
	*n = (size_t)(idx[i + 1] - idx[i] - 8);
	return (const char *)idx[i] + 8;
}

/*
 * Indexes the string array tokenizer.ggml.WHAT (at least one item when
 * nonempty is set) and sets *np to its length.  Returns the index
 * (gguf_arr_index's, the caller frees it), or NULL with *cause set.
 */
static const uint8_t **
string_array(const struct gguf_file *g, const char *what, int nonempty,
    uint64_t *np, char **cause)
{
	const struct gguf_kv	*kv;
	const uint8_t		**idx;
	char			 key[64];

	snprintf(key, sizeof key, "tokenizer.ggml.%s", what);
	kv = gguf_find(g, key);
	if (kv == NULL || kv->v.type != GGUF_ARRAY ||
	    kv->v.arr.type != GGUF_STRING || (nonempty && kv->v.arr.n == 0)) {
		*cause = xstrfmt("no %s string array", key);
		return NULL;
	}
	if (kv->v.arr.n >= INT32_MAX / 4) {
		*cause = xstrfmt("%llu %s is too many",
		    (unsigned long long)kv->v.arr.n, what);
		return NULL;
	}
	if ((idx = gguf_arr_index(&kv->v)) == NULL) {
		*cause = xstrfmt("out of memory indexing the %s", what);
		return NULL;
	}
	*np = kv->v.arr.n;
	return idx;
}

static int
load_vocab(struct tok *t, const struct gguf_file *g, const uint8_t ***idxp,
    uint64_t *np, char **cause)
{
	const struct gguf_kv	*kv;
	struct gguf_value	 item;
	const uint8_t		**idx;
	uint64_t		 n, i;
	size_t			 len, bytes;
	const char		*s;

	if ((idx = string_array(g, "tokens", 1, &n, cause)) == NULL)
		return -1;
	*idxp = idx;
	*np = n;
	bytes = (size_t)(idx[n] - idx[0]);

	t->type = xcalloc(n, 1);
	kv = gguf_find(g, "tokenizer.ggml.token_type");
	for (i = 0; i < n; i++) {
		t->type[i] = TOK_NORMAL;
		if (kv == NULL)
			continue;
		if (kv->v.type != GGUF_ARRAY || kv->v.arr.n != n ||
		    gguf_arr_item(&kv->v, i, &item) != 0 ||
		    (item.type != GGUF_I32 && item.type != GGUF_U32 &&
		    item.type != GGUF_I8 && item.type != GGUF_U8)) {
			*cause = xstrdup("tokenizer.ggml.token_type is not one "
			    "integer per token");
			return -1;
		}
		t->type[i] = (uint8_t)(item.type == GGUF_I32 ||
		    item.type == GGUF_I8 ? (uint64_t)item.i : item.u);
	}

	/* Room for the tokens; the merges' strings are added in load_merges. */
	t->arena_cap = bytes + n;
	t->off_cap = (size_t)n;
	if ((t->arena = malloc(t->arena_cap)) == NULL ||
	    (t->off = malloc(t->off_cap * sizeof *t->off)) == NULL ||
	    (t->len = malloc(t->off_cap * sizeof *t->len)) == NULL) {
		*cause = xstrdup("out of memory loading the vocabulary");
		return -1;
	}
	t->hash_mask = 1023;
	while (t->hash_mask + 1 < 2 * n + 2)
		t->hash_mask = 2 * t->hash_mask + 1;
	if ((t->hash = malloc((t->hash_mask + 1) * sizeof *t->hash)) == NULL) {
		*cause = xstrdup("out of memory loading the vocabulary");
		return -1;
	}
	memset(t->hash, 0xff, (t->hash_mask + 1) * sizeof *t->hash);
	for (i = 0; i < n; i++) {
		s = arr_str(idx, i, &len);
		if (text_add(t, s, len) < 0) {
			*cause = xstrdup("out of memory loading the vocabulary");
			return -1;
		}
	}
	t->n_vocab = (int32_t)n;
	return 0;
}

static int
load_merges(struct tok *t, const struct gguf_file *g, char **cause)
{
	const uint8_t		**idx;
	struct tok_merge	*m;
	uint64_t		 n, i;
	size_t			 len, sp, bytes, k, cap;
	const char		*s;
	char			*buf = NULL;
	size_t			 buf_cap = 0;
	void			*p;
	int32_t			 a, b, r;

	if ((idx = string_array(g, "merges", 0, &n, cause)) == NULL)
		return -1;
	/* At most three new strings per merge: both halves and the result. */
	bytes = (size_t)(idx[n] - idx[0]);
	cap = t->arena_cap + 2 * bytes + 3 * n;
	if ((p = realloc(t->arena, cap)) == NULL)
		goto nomem;
	t->arena = p;
	t->arena_cap = cap;
	cap = t->off_cap + 3 * n;
	if ((p = realloc(t->off, cap * sizeof *t->off)) == NULL)
		goto nomem;
	t->off = p;
	if ((p = realloc(t->len, cap * sizeof *t->len)) == NULL)
		goto nomem;
	t->len = p;
	t->off_cap = cap;

	t->merge_mask = 1023;
	while (t->merge_mask + 1 < 2 * n + 2)
		t->merge_mask = 2 * t->merge_mask + 1;
	if ((t->merge = malloc((t->merge_mask + 1) * sizeof *t->merge)) == NULL)
		goto nomem;
	for (k = 0; k <= t->merge_mask; k++)
		t->merge[k].a = -1;

	for (i = 0; i < n; i++) {
		s = arr_str(idx, i, &len);
		/* "left right", split at the first space after the first byte. */
		for (sp = 1; sp < len && s[sp] != ' '; sp++)
			;
		if (sp >= len) {
			*cause = xstrfmt("merge %llu has no space",
			    (unsigned long long)i);
			free(buf);
			free(idx);
			return -1;
		}
		if (len > buf_cap) {
			buf_cap = 2 * len;
			buf = xreallocarray(buf, buf_cap, 1);
		}
		memcpy(buf, s, sp);
		memcpy(buf + sp, s + sp + 1, len - sp - 1);
		if ((a = text_id(t, s, sp)) < 0 ||
		    (b = text_id(t, s + sp + 1, len - sp - 1)) < 0 ||
		    (r = text_id(t, buf, len - 1)) < 0) {
			free(buf);
			goto nomem;
		}
		k = pair_hash(a, b) & t->merge_mask;
		for (;; k = (k + 1) & t->merge_mask) {
			m = &t->merge[k];
			if (m->a < 0) {
				m->a = a;
				m->b = b;
				m->rank = (int32_t)i;
				m->result = r;
				break;
			}
			/* A repeated pair keeps its first rank. */
			if (m->a == a && m->b == b)
				break;
		}
	}
	free(buf);
	free(idx);
	return 0;

nomem:
	free(idx);
	*cause = xstrdup("out of memory loading the merges");
	return -1;
}

struct spec_key {
	uint32_t	 len;
	int32_t		 id;
};

static int
spec_cmp(const void *pa, const void *pb)
{
	const struct spec_key	*a = pa, *b = pb;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
stream_text_cmp(const void *pa, const void *pb)
{
	return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int
is_special_type(uint8_t type)
{
	return type == TOK_CONTROL || type == TOK_USER_DEFINED ||
	    type == TOK_UNKNOWN;
}

static void
load_specials(struct tok *t)
{
	struct spec_key	*key;
	size_t		 i, j, h;
	int32_t		 id, *slot;
	const char	*s;

	key = xcalloc((size_t)t->n_vocab, sizeof *key);
	for (id = 0; id < t->n_vocab; id++) {
		if (is_special_type(t->type[id]) && t->len[id] > 0) {
			key[t->n_spec].len = t->len[id];
			key[t->n_spec++].id = id;
		}
	}
	/* Longest first, as llama.cpp matches them (ties: lower id). */
	qsort(key, t->n_spec, sizeof *key, spec_cmp);
	t->spec = xcalloc(t->n_spec + 1, sizeof *t->spec);
	for (i = 0; i < t->n_spec; i++)
		t->spec[i] = key[i].id;
	free(key);

	t->spec_hash_mask = 63;
	while (t->spec_hash_mask + 1 < 2 * t->n_spec + 2)
		t->spec_hash_mask = 2 * t->spec_hash_mask + 1;
	t->spec_hash = xcalloc(t->spec_hash_mask + 1, sizeof *t->spec_hash);
	memset(t->spec_hash, 0xff, (t->spec_hash_mask + 1) *
	    sizeof *t->spec_hash);
	t->spec_dup = xcalloc(t->n_spec + 1, sizeof *t->spec_dup);
	t->spec_lens = xcalloc(t->n_spec + 1, sizeof *t->spec_lens);
	t->spec_pair = xcalloc(65536 / 8, 1);
	t->stream_texts = xcalloc(t->n_spec + 1, sizeof *t->stream_texts);
	for (i = 0; i < t->n_spec; i++) {
		id = t->spec[i];
		s = t->arena + t->off[id];
		t->spec_dup[i] = -1;
		h = tok_hash(s, t->len[id]) & t->spec_hash_mask;
		for (;; h = (h + 1) & t->spec_hash_mask) {
			slot = &t->spec_hash[h];
			if (*slot < 0) {
				*slot = (int32_t)i;
				break;
			}
			if (t->len[t->spec[*slot]] == t->len[id] &&
			    memcmp(t->arena + t->off[t->spec[*slot]], s,
			    t->len[id]) == 0) {
				/* Equal texts: chain in priority order. */
				for (j = (size_t)*slot; t->spec_dup[j] >= 0;
				    j = (size_t)t->spec_dup[j])
					;
				t->spec_dup[j] = (int32_t)i;
				break;
			}
		}
		if (t->n_spec_lens == 0 ||
		    t->spec_lens[t->n_spec_lens - 1] != t->len[id])
			t->spec_lens[t->n_spec_lens++] = t->len[id];
		t->spec_first[(uint8_t)s[0]] |= t->len[id] == 1 ? 2 : 1;
		if (t->len[id] > 1) {
			j = (size_t)(uint8_t)s[0] << 8 | (uint8_t)s[1];
			t->spec_pair[j / 8] |= (uint8_t)(1 << (j % 8));
		}
		if (t->type[id] != TOK_UNKNOWN && strlen(s) == t->len[id])
			t->stream_texts[t->n_stream_texts++] = s;
	}
	qsort(t->stream_texts, t->n_stream_texts, sizeof *t->stream_texts,
	    stream_text_cmp);
}

static void
load_eog(struct tok *t, const struct gguf_file *g)
{
	uint32_t	id;
	size_t		i;
	int32_t		k;

	t->eog = xcalloc((size_t)t->n_vocab, 1);
	for (i = 0; i < N_EOG_KEYS; i++) {
		if (gguf_get_u32(g, eog_keys[i], &id) == 0 &&
		    id < (uint32_t)t->n_vocab)
			t->eog[id] = 1;
	}
	for (i = 0; i < N_EOG_TEXTS; i++) {
		k = tok_lookup(t, eog_texts[i], strlen(eog_texts[i]));
		if (k >= 0 && k < t->n_vocab && is_special_type(t->type[k]))
			t->eog[k] = 1;
	}
}

static int
load_special_id(const struct gguf_file *g, const char *key, int32_t n,
    int32_t *out, char **cause)
{
	uint32_t	id;

	*out = -1;
	if (gguf_find(g, key) == NULL)
		return 0;
	if (gguf_get_u32(g, key, &id) != 0 || id >= (uint32_t)n) {
		*cause = xstrfmt("%s is not a token id", key);
		return -1;
	}
	*out = (int32_t)id;
	return 0;
}

struct tok *
tok_open(const struct gguf_file *g, char **warning, char **cause)
{
	const struct tok_pre_def	*def;
	struct tok			*t;
	const uint8_t			**idx = NULL;
	uint64_t			 n;
	char				*model = NULL, *pre = NULL;
	int				 b;

	tok_bytemap_init();
	if (warning != NULL)
		*warning = NULL;
	if (gguf_get_str(g, "tokenizer.ggml.model", &model) != 0) {
		*cause = xstrdup("no tokenizer.ggml.model");
		return NULL;
	}
	if (strcmp(model, "gpt2") != 0) {
		*cause = xstrfmt("tokenizer model '%s' is not supported "
		    "(only byte-level BPE, gpt2)", model);
		free(model);
		return NULL;
	}
	free(model);

	t = xcalloc(1, sizeof *t);
	if (load_vocab(t, g, &idx, &n, cause) != 0) {
		free(idx);
		goto fail;
	}
	free(idx);
	if (load_merges(t, g, cause) != 0)
		goto fail;
	for (b = 0; b < 256; b++) {
		char	c[2];
		size_t	cl = 1;
		uint16_t cp = tok_byte_cpt[b];

		if (cp < 0x80)
			c[0] = (char)cp;
		else {
			c[0] = (char)(0xc0 | (cp >> 6));
			c[1] = (char)(0x80 | (cp & 0x3f));
			cl = 2;
		}
		/* A vocabulary without a byte's token still has its symbol. */
		if ((t->byte_id[b] = text_id(t, c, cl)) < 0) {
			*cause = xstrdup("out of memory loading the vocabulary");
			goto fail;
		}
	}
	if (load_special_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab,
	    &t->bos, cause) != 0 ||
	    load_special_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab,
	    &t->eos, cause) != 0)
		goto fail;

	def = NULL;
	if (gguf_get_str(g, "tokenizer.ggml.pre", &pre) != 0) {
		if (warning != NULL)
			*warning = xstrdup("no tokenizer.ggml.pre: using the "
			    "GPT-2 pre-tokenizer");
	} else if ((def = tok_pre_find(pre)) == NULL && warning != NULL)
		*warning = xstrfmt("unknown pre-tokenizer '%s': using the "
		    "GPT-2 one", pre);
	free(pre);
	if (def == NULL)
		def = tok_pre_default();
	if ((t->pre = tok_pre_new(def->regex, cause)) == NULL)
		goto fail;
	t->ignore_merges = def->ignore_merges;
	if (gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos) != 0)
		t->add_bos = def->add_bos;

	load_specials(t);
	load_eog(t, g);
	return t;

fail:
	tok_free(t);
	return NULL;
}

void
tok_free(struct tok *t)
{
	if (t == NULL)
		return;
	free(t->arena);
	free(t->off);
	free(t->len);
	free(t->type);
	free(t->hash);
	free(t->merge);
	free(t->eog);
	free(t->spec);
	free(t->spec_dup);
	free(t->spec_hash);
	free(t->spec_lens);
	free(t->spec_pair);
	free(t->stream_texts);
	tok_pre_free(t->pre);
	free(t);
}

/* ---- encoding ----------------------------------------------------------- */

struct occ {
	size_t		 pos;
	int32_t		 k;	/* index into spec */
};

struct enc {
	const struct tok	*t;
	struct tok_bpe_work	*w;
	struct tok_ids		*out;
};

static int
occ_cmp(const void *pa, const void *pb)
{
	const struct occ	*a = pa, *b = pb;

	if (a->k != b->k)
		return a->k < b->k ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int
occ_cmp_pos(const void *pa, const void *pb)
{
	const struct occ	*a = pa, *b = pb;

	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The first special of text s (n bytes) that may be matched, or -1. */
static int32_t
spec_find(const struct tok *t, const char *s, size_t n, int parse_special)
{
	size_t	h = tok_hash(s, n) & t->spec_hash_mask;
	int32_t	k, id;

	for (;; h = (h + 1) & t->spec_hash_mask) {
		if ((k = t->spec_hash[h]) < 0)
			return -1;
		id = t->spec[k];
		if (t->len[id] == n && memcmp(t->arena + t->off[id], s, n) == 0)
			break;
	}
	for (; k >= 0; k = t->spec_dup[k]) {
		if (parse_special || t->type[t->spec[k]] == TOK_USER_DEFINED)
			return k;
	}
	return -1;
}

/*
 * Finds the special tokens of text in llama.cpp's way: each special, in
 * order, takes all its occurrences left to right that do not overlap what
 * an earlier one took.  Every candidate is found in one pass, then they
 * are taken in that order.  Stores them sorted by position in *occp.
 */
static int
find_specials(const struct tok *t, const char *text, size_t len,
    int parse_special, struct occ **occp, size_t *np)
{
	struct occ	*occ = NULL, *o;
	size_t		 n = 0, cap = 0, p, i, j, l, taken;
	uint8_t		*used, c;
	unsigned	 pair;
	int32_t		 k;

	*occp = NULL;
	*np = 0;
	if (t->n_spec == 0)
		return 0;
	for (p = 0; p < len; p++) {
		c = (uint8_t)text[p];
		if (t->spec_first[c] == 0)
			continue;
		pair = p + 1 < len ? (unsigned)c << 8 | (uint8_t)text[p + 1] : 0;
		for (i = 0; i < t->n_spec_lens; i++) {
			l = t->spec_lens[i];
			if (l > len - p)
				continue;
			if (l > 1 && !(t->spec_pair[pair / 8] & (1 << (pair % 8))))
				continue;
			if ((k = spec_find(t, text + p, l, parse_special)) < 0)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				if ((o = realloc(occ, cap * sizeof *occ)) == NULL)
					goto nomem;
				occ = o;
			}
			occ[n].pos = p;
			occ[n++].k = k;
		}
	}
	if (n == 0)
		return 0;
	qsort(occ, n, sizeof *occ, occ_cmp);
	if ((used = calloc(len, 1)) == NULL)
		goto nomem;
	for (i = taken = 0; i < n; i++) {
		l = t->len[t->spec[occ[i].k]];
		for (j = 0; j < l && !used[occ[i].pos + j]; j++)
			;
		if (j < l)
			continue;
		memset(used + occ[i].pos, 1, l);
		occ[taken++] = occ[i];
	}
	free(used);
	qsort(occ, taken, sizeof *occ, occ_cmp_pos);
	*occp = occ;
	*np = taken;
	return 0;
nomem:
	free(occ);
	return -1;
}

static int
enc_piece(void *arg, const char *s, size_t len, char **cause)
{
	struct enc	*e = arg;

	return tok_bpe_word(e->t, e->w, (const uint8_t *)s, len, e->out,
	    cause);
}

/* Tokenizes text with no special tokens in it. */
static int
enc_raw(struct enc *e, const char *s, size_t len, char **cause)
{
	const char	*clean;
	size_t		 clen;
	int		 rc;

	if (len == 0)
		return 0;
	if ((clean = tok_utf8_clean(s, len, &clen)) == NULL) {
		*cause = xstrdup("out of memory");
		return -1;
	}
	rc = tok_pre_split(e->t->pre, clean, clen, enc_piece, e, cause);
	if (clean != s)
		free((char *)clean);
	return rc;
}

int
tok_encode(const struct tok *t, const char *text, size_t len, int add_bos,
    int parse_special, int32_t **ids, size_t *n, char **cause)
{
	struct tok_ids	 out = { 0 };
	struct enc	 e = { .t = t, .out = &out };
	struct occ	*occ = NULL;
	size_t		 n_occ, i, cur = 0;

	*ids = NULL;
	*n = 0;
	if (add_bos && t->add_bos && t->bos >= 0 &&
	    tok_ids_push(&out, t->bos) != 0)
		goto nomem;
	if (find_specials(t, text, len, parse_special, &occ, &n_occ) != 0)
		goto nomem;
	e.w = tok_bpe_work_new();
	for (i = 0; i <= n_occ; i++) {
		size_t	end = i < n_occ ? occ[i].pos : len;

		if (enc_raw(&e, text + cur, end - cur, cause) != 0)
			goto fail;
		if (i == n_occ)
			break;
		if (tok_ids_push(&out, t->spec[occ[i].k]) != 0)
			goto nomem;
		cur = end + t->len[t->spec[occ[i].k]];
	}
	tok_bpe_work_free(e.w);
	free(occ);
	*ids = out.v;
	*n = out.n;
	return 0;

nomem:
	*cause = xstrdup("out of memory tokenizing");
fail:
	tok_bpe_work_free(e.w);
	free(occ);
	free(out.v);
	return -1;
}

/* ---- lookups and decoding ----------------------------------------------- */

int32_t
tok_n_vocab(const struct tok *t)
{
	return t->n_vocab;
}

int32_t
tok_bos(const struct tok *t)
{
	return t->bos;
}

int32_t
tok_eos(const struct tok *t)
{
	return t->eos;
}

int
tok_add_bos(const struct tok *t)
{
	return t->add_bos && t->bos >= 0;
}

int
tok_is_eog(const struct tok *t, int32_t id)
{
	return id >= 0 && id < t->n_vocab && t->eog[id];
}

int32_t
tok_find(const struct tok *t, const char *s)
{
	int32_t	id = tok_lookup(t, s, strlen(s));

	return id < t->n_vocab ? id : -1;
}

const char *
tok_text(const struct tok *t, int32_t id)
{
	if (id < 0 || id >= t->n_vocab)
		return NULL;
	return t->arena + t->off[id];
}

/* Undoes the byte-level map of a normal token's text into buf. */
static size_t
piece_decode(const char *s, size_t n, char *buf, size_t cap)
{
	const uint8_t	*u = (const uint8_t *)s;
	size_t		 i, k, o = 0;
	uint32_t	 cp;

	for (i = 0; i < n; i += k) {
		k = tok_utf8_len(u + i, n - i);
		cp = k == 2 ? (uint32_t)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f) :
		    k == 1 ? u[i] : UINT32_MAX;
		if (cp < 324 && tok_cpt_byte[cp] >= 0) {
			if (o < cap)
				buf[o] = (char)tok_cpt_byte[cp];
			o++;
			continue;
		}
		/* Not of the map: kept as it is. */
		if (k == 0)
			k = 1;
		if (o + k <= cap)
			memcpy(buf + o, s + i, k);
		o += k;
	}
	return o;
}

int
tok_piece(const struct tok *t, int32_t id, int specials, char *buf,
    size_t cap)
{
	const char	*s;
	size_t		 n;

	if (id < 0 || id >= t->n_vocab)
		return -1;
	s = t->arena + t->off[id];
	n = t->len[id];
	switch (t->type[id]) {
	case TOK_NORMAL:
		n = piece_decode(s, n, buf, cap);
		break;
	case TOK_CONTROL:
	case TOK_UNKNOWN:
		if (!specials)
			return 0;
		/* FALLTHROUGH */
	case TOK_USER_DEFINED:
		if (cap > 0)
			memcpy(buf, s, n < cap ? n : cap);
		break;
	default:
		/* Unused and byte tokens print nothing, as in llama.cpp. */
		return 0;
	}
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* ---- streaming ---------------------------------------------------------- */

struct tok_stream {
	const struct tok	*t;
	char			*held;		/* bytes not given out yet */
	size_t			 held_len, held_cap;
	char			*out;
	size_t			 out_cap;
};

struct tok_stream *
tok_stream_new(const struct tok *t)
{
	struct tok_stream	*s = xcalloc(1, sizeof *s);

	s->t = t;
	s->held_cap = 64;
	s->held = xmalloc(s->held_cap);
	return s;
}

void
tok_stream_free(struct tok_stream *s)
{
	if (s == NULL)
		return;
	free(s->held);
	free(s->out);
	free(s);
}

/*
 * 1 when the n bytes at s (n >= 1) begin a UTF-8 character that more
 * bytes could still complete.
 */
static int
utf8_partial(const uint8_t *s, size_t n)
{
	return tok_utf8_need(s, n) > n;
}

/* 1 when s (n bytes) begins some special token's text but is not all of it. */
static int
special_prefix(const struct tok *t, const char *s, size_t n)
{
	size_t		 lo = 0, hi = t->n_stream_texts, mid, l;
	const char	*x;
	int		 c;

	/* The first text not below s; only it can start with s. */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		x = t->stream_texts[mid];
		l = strlen(x);
		c = memcmp(x, s, l < n ? l : n);
		if (c < 0 || (c == 0 && l < n))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->n_stream_texts)
		return 0;
	x = t->stream_texts[lo];
	return strlen(x) > n && memcmp(x, s, n) == 0;
}

/* Gives out held[0..n), every byte that is no UTF-8 as U+FFFD. */
static const char *
stream_give(struct tok_stream *s, size_t n, size_t *len)
{
	const uint8_t	*u = (const uint8_t *)s->held;
	size_t		 i, k, o = 0;

	if (s->out_cap < 3 * n + 1) {
		s->out_cap = 3 * n + 64;
		s->out = xreallocarray(s->out, s->out_cap, 1);
	}
	for (i = 0; i < n; i += k) {
		if ((k = tok_utf8_len(u + i, n - i)) == 0) {
			memcpy(s->out + o, "\xef\xbf\xbd", 3);
			o += 3;
			k = 1;
		} else {
			memcpy(s->out + o, s->held + i, k);
			o += k;
		}
	}
	memmove(s->held, s->held + n, s->held_len - n);
	s->held_len -= n;
	s->out[o] = '\0';
	*len = o;
	return s->out;
}

const char *
tok_stream_push(struct tok_stream *s, int32_t id, size_t *len)
{
	const uint8_t	*u;
	size_t		 i, k, end, l, max;
	int		 n;

	*len = 0;
	n = tok_piece(s->t, id, 0, NULL, 0);
	if (n < 0)
		n = 0;
	if (s->held_cap < s->held_len + (size_t)n) {
		s->held_cap = 2 * (s->held_len + (size_t)n) + 64;
		s->held = xreallocarray(s->held, s->held_cap, 1);
	}
	tok_piece(s->t, id, 0, s->held + s->held_len, (size_t)n);
	s->held_len += (size_t)n;

	/* Whole characters (and bytes that can never be one) may go. */
	u = (const uint8_t *)s->held;
	for (i = end = 0; i < s->held_len; i += k) {
		if ((k = tok_utf8_len(u + i, s->held_len - i)) == 0) {
			if (utf8_partial(u + i, s->held_len - i))
				break;
			k = 1;
		}
		end = i + k;
	}
	/*
	 * Of those, keep the longest tail that could still grow into a
	 * special token's text ("</thi" of "</think>").
	 */
	max = s->t->n_spec_lens > 0 ? s->t->spec_lens[0] : 0;
	if (max > end)
		max = end;
	for (l = max; l > 0; l--) {
		if (special_prefix(s->t, s->held + end - l, l)) {
			end -= l;
			break;
		}
	}
	return stream_give(s, end, len);
}

const char *
tok_stream_flush(struct tok_stream *s, size_t *len)
{
	return stream_give(s, s->held_len, len);
}
