/*
 * tok-bpe.c - the BPE merge step on one pre-token.
 *
 * Symbols start as one per byte and live in a linked list; candidate
 * pairs wait in a heap ordered by (rank, position).  Each symbol keeps the
 * rule of the pair it starts, refreshed whenever that pair changes; a
 * popped entry is still valid when that rule has the entry's rank: a rank
 * names one pair of texts, and the text at a position only grows, so a
 * stale entry can never look current.  That makes a word of n bytes
 * cost O(n log n), however long: a 10 MB run of one letter is one word.
 *
 * Results are cached per tok_encode call for words up to CACHE_MAX_WORD
 * bytes, which is where repeats are.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tok-int.h"
#include "util.h"

#define CACHE_MAX_WORD	64
/* Past this many words the cache stops growing (memory stays bounded). */
#define CACHE_MAX_ITEMS	(1u << 20)

/*
 * A 4-ary heap: half the levels of a binary one, and a node's children
 * share a cache line, which is what a word of millions of symbols needs.
 */
#define HEAP_ARITY	4

struct heap_ent {
	int32_t		 rank;
	int32_t		 left;
};

struct cache_ent {
	uint32_t	 key_off;	/* into keys; UINT32_MAX: empty */
	uint32_t	 key_len;
	uint32_t	 ids_off;	/* into ids */
	uint32_t	 n_ids;
};

struct tok_bpe_work {
	int32_t			*id, *prev, *next;
	const struct tok_merge	**rule;		/* of the pair a symbol starts */
	size_t			 cap;
	struct heap_ent		*heap;
	size_t			 heap_n, heap_cap;
	char			*enc;		/* a word in its byte-level text */
	size_t			 enc_cap;

	struct cache_ent	*cache;
	size_t			 cache_mask, cache_n;
	char			*keys;
	size_t			 keys_len, keys_cap;
	struct tok_ids		 ids;
	int			 cache_off;	/* an allocation failed */
};

struct tok_bpe_work *
tok_bpe_work_new(void)
{
	return xcalloc(1, sizeof(struct tok_bpe_work));
}

void
tok_bpe_work_free(struct tok_bpe_work *w)
{
	if (w == NULL)
		return;
	free(w->id);
	free(w->prev);
	free(w->next);
	free(w->rule);
	free(w->heap);
	free(w->enc);
	free(w->cache);
	free(w->keys);
	free(w->ids.v);
	free(w);
}

/* Grows *p to hold n items of size sz; -1 when memory is short. */
static int
grow(void *pp, size_t *cap, size_t n, size_t sz)
{
	void	**p = pp, *q;
	size_t	  c = *cap ? *cap : 16;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	if (c > SIZE_MAX / sz || (q = realloc(*p, c * sz)) == NULL)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int
heap_less(const struct heap_ent *a, const struct heap_ent *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int
heap_push(struct tok_bpe_work *w, int32_t rank, int32_t left)
{
	struct heap_ent	e = { rank, left };
	size_t		i, up;

	if (grow(&w->heap, &w->heap_cap, w->heap_n + 1, sizeof *w->heap) != 0)
		return -1;
	i = w->heap_n++;
	while (i > 0) {
		up = (i - 1) / HEAP_ARITY;
		if (!heap_less(&e, &w->heap[up]))
			break;
		w->heap[i] = w->heap[up];
		i = up;
	}
	w->heap[i] = e;
	return 0;
}

static struct heap_ent
heap_pop(struct tok_bpe_work *w)
{
	struct heap_ent	top = w->heap[0], last = w->heap[--w->heap_n];
	size_t		i = 0, c, j, end;

	for (;;) {
		c = HEAP_ARITY * i + 1;
		if (c >= w->heap_n)
			break;
		end = c + HEAP_ARITY < w->heap_n ? c + HEAP_ARITY : w->heap_n;
		for (j = c + 1; j < end; j++) {
			if (heap_less(&w->heap[j], &w->heap[c]))
				c = j;
		}
		if (!heap_less(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->heap_n > 0)
		w->heap[i] = last;
	return top;
}

/* Notes the rule of the pair starting at symbol left and queues it. */
static int
pair_push(const struct tok *t, struct tok_bpe_work *w, int32_t left)
{
	const struct tok_merge	*m;
	int32_t			 right;

	if (left < 0)
		return 0;
	right = w->next[left];
	m = right < 0 ? NULL : tok_merge_find(t, w->id[left], w->id[right]);
	w->rule[left] = m;
	return m == NULL ? 0 : heap_push(w, m->rank, left);
}

/*
 * Appends the ids of a final symbol.  A symbol whose text is no token
 * (a vocabulary whose merges make strings it lacks) falls back to the
 * single bytes of its text that are tokens, as llama.cpp does.
 */
static int
emit_symbol(const struct tok *t, int32_t id, struct tok_ids *out)
{
	const char	*s;
	size_t		 i;
	int32_t		 b;

	if (id < t->n_vocab)
		return tok_ids_push(out, id);
	s = t->arena + t->off[id];
	for (i = 0; i < t->len[id]; i++) {
		if ((b = tok_lookup(t, s + i, 1)) >= 0 && b < t->n_vocab &&
		    tok_ids_push(out, b) != 0)
			return -1;
	}
	return 0;
}

/* The byte-level text of s, for the ignore_merges lookup. */
static const char *
word_text(struct tok_bpe_work *w, const uint8_t *s, size_t n, size_t *len)
{
	size_t		i, o = 0;
	uint16_t	c;

	if (grow(&w->enc, &w->enc_cap, 2 * n + 1, 1) != 0)
		return NULL;
	for (i = 0; i < n; i++) {
		c = tok_byte_cpt[s[i]];
		if (c < 0x80)
			w->enc[o++] = (char)c;
		else {
			w->enc[o++] = (char)(0xc0 | (c >> 6));
			w->enc[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	*len = o;
	return w->enc;
}

static int
bpe_merge(const struct tok *t, struct tok_bpe_work *w, const uint8_t *s,
    size_t n, struct tok_ids *out)
{
	const struct tok_merge	*m;
	struct heap_ent		 e;
	const char		*enc;
	size_t			 i, elen;
	int32_t			 l, r, id;

	if (t->ignore_merges) {
		if ((enc = word_text(w, s, n, &elen)) == NULL)
			return -1;
		if ((id = tok_lookup(t, enc, elen)) >= 0 && id < t->n_vocab)
			return tok_ids_push(out, id);
	}
	if (n > INT32_MAX)
		return -1;
	if (n > w->cap) {
		/* id, prev and next share one capacity. */
		free(w->id);
		free(w->prev);
		free(w->next);
		free(w->rule);
		w->cap = n < 256 ? 256 : n;
		w->id = malloc(w->cap * sizeof *w->id);
		w->prev = malloc(w->cap * sizeof *w->prev);
		w->next = malloc(w->cap * sizeof *w->next);
		w->rule = malloc(w->cap * sizeof *w->rule);
		if (w->id == NULL || w->prev == NULL || w->next == NULL ||
		    w->rule == NULL) {
			w->cap = 0;
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		w->id[i] = t->byte_id[s[i]];
		w->prev[i] = (int32_t)i - 1;
		w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
		w->rule[i] = NULL;
	}
	w->heap_n = 0;
	for (i = 0; i + 1 < n; i++) {
		if (pair_push(t, w, (int32_t)i) != 0)
			return -1;
	}
	while (w->heap_n > 0) {
		e = heap_pop(w);
		l = e.left;
		m = w->rule[l];
		if (w->id[l] < 0 || m == NULL || m->rank != e.rank)
			continue;
		r = w->next[l];
		w->id[l] = m->result;
		w->id[r] = -1;
		w->next[l] = w->next[r];
		if (w->next[r] >= 0)
			w->prev[w->next[r]] = l;
		if (pair_push(t, w, w->prev[l]) != 0 ||
		    pair_push(t, w, l) != 0)
			return -1;
	}
	for (l = 0; l >= 0; l = w->next[l]) {
		if (emit_symbol(t, w->id[l], out) != 0)
			return -1;
	}
	return 0;
}

/* Finds the cache slot of word s: its entry, or the empty slot for it. */
static struct cache_ent *
cache_slot(struct tok_bpe_work *w, const uint8_t *s, size_t n)
{
	struct cache_ent	*c;
	size_t			 i = tok_hash(s, n) & w->cache_mask;

	for (;; i = (i + 1) & w->cache_mask) {
		c = &w->cache[i];
		if (c->key_off == UINT32_MAX)
			return c;
		if (c->key_len == n && memcmp(w->keys + c->key_off, s, n) == 0)
			return c;
	}
}

static int
cache_grow(struct tok_bpe_work *w)
{
	struct cache_ent	*old = w->cache, *c;
	size_t			 old_n = w->cache ? w->cache_mask + 1 : 0;
	size_t			 n = old_n ? 2 * old_n : 4096, i;

	if ((w->cache = malloc(n * sizeof *w->cache)) == NULL) {
		w->cache = old;
		return -1;
	}
	for (i = 0; i < n; i++)
		w->cache[i].key_off = UINT32_MAX;
	w->cache_mask = n - 1;
	for (i = 0; i < old_n; i++) {
		if (old[i].key_off == UINT32_MAX)
			continue;
		c = cache_slot(w, (uint8_t *)w->keys + old[i].key_off,
		    old[i].key_len);
		*c = old[i];
	}
	free(old);
	return 0;
}

/* Remembers the ids[from..] just made for word s; failure only disables. */
static void
cache_put(struct tok_bpe_work *w, const uint8_t *s, size_t n,
    const struct tok_ids *out, size_t from)
{
	struct cache_ent	*c;
	size_t			 k = out->n - from, i;

	if (w->cache_off || w->cache_n >= CACHE_MAX_ITEMS)
		return;
	if ((2 * (w->cache_n + 1) > w->cache_mask + 1 || w->cache == NULL) &&
	    cache_grow(w) != 0)
		goto off;
	if (grow(&w->keys, &w->keys_cap, w->keys_len + n, 1) != 0 ||
	    w->keys_len + n > UINT32_MAX || w->ids.n + k > UINT32_MAX)
		goto off;
	c = cache_slot(w, s, n);
	memcpy(w->keys + w->keys_len, s, n);
	c->key_off = (uint32_t)w->keys_len;
	c->key_len = (uint32_t)n;
	c->ids_off = (uint32_t)w->ids.n;
	c->n_ids = (uint32_t)k;
	w->keys_len += n;
	for (i = 0; i < k; i++) {
		if (tok_ids_push(&w->ids, out->v[from + i]) != 0)
			goto off;
	}
	w->cache_n++;
	return;
off:
	/* The entry may be half made: drop the whole cache. */
	w->cache_off = 1;
	if (w->cache != NULL) {
		for (i = 0; i <= w->cache_mask; i++)
			w->cache[i].key_off = UINT32_MAX;
	}
}

int
tok_bpe_word(const struct tok *t, struct tok_bpe_work *w, const uint8_t *s,
    size_t n, struct tok_ids *out, char **cause)
{
	struct cache_ent	*c;
	size_t			 from = out->n, i;

	if (n == 0)
		return 0;
	if (n <= CACHE_MAX_WORD && w->cache != NULL && !w->cache_off) {
		c = cache_slot(w, s, n);
		if (c->key_off != UINT32_MAX) {
			for (i = 0; i < c->n_ids; i++) {
				if (tok_ids_push(out,
				    w->ids.v[c->ids_off + i]) != 0)
					goto nomem;
			}
			return 0;
		}
	}
	if (bpe_merge(t, w, s, n, out) != 0)
		goto nomem;
	if (n <= CACHE_MAX_WORD)
		cache_put(w, s, n, out, from);
	return 0;
nomem:
	*cause = xstrfmt("out of memory tokenizing a word of %zu bytes", n);
	return -1;
}
