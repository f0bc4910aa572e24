/*
 * tok-int.h - what the tokenizer's own files share (tok.c, tok-pre.c,
 * tok-bpe.c): the vocabulary, the pre-tokenizer table and the BPE step.
 * Other modules use tok.h only.
 */
#ifndef R1_TOK_INT_H
#define R1_TOK_INT_H

#include <stddef.h>
#include <stdint.h>

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum tok_type {
	TOK_UNDEFINED = 0,
	TOK_NORMAL = 1,
	TOK_UNKNOWN = 2,
	TOK_CONTROL = 3,
	TOK_USER_DEFINED = 4,
	TOK_UNUSED = 5,
	TOK_BYTE = 6,
};

/* A merge rule: the pair (a, b) merges into result at priority rank. */
struct tok_merge {
	int32_t		 a;		/* -1: empty slot */
	int32_t		 b;
	int32_t		 rank;
	int32_t		 result;
};

/* A growable list of ids; malloc'd, failures reported. */
struct tok_ids {
	int32_t		*v;
	size_t		 n;
	size_t		 cap;
};

struct tok_pre;

struct tok {
	/*
	 * Texts of the n_vocab tokens, then of the n_all - n_vocab strings
	 * the merges name that are not tokens (a merge's halves or result):
	 * BPE runs on ids, and these give every symbol one.
	 */
	int32_t			 n_vocab;
	int32_t			 n_all;
	char			*arena;		/* texts, each NUL-terminated */
	size_t			 arena_len, arena_cap;
	uint32_t		*off;		/* text i at arena + off[i] */
	uint32_t		*len;
	size_t			 off_cap;
	uint8_t			*type;		/* enum tok_type, n_vocab */

	int32_t			*hash;		/* text -> id; -1 empty */
	size_t			 hash_mask;

	struct tok_merge	*merge;		/* (a, b) -> rule */
	size_t			 merge_mask;

	int32_t			 byte_id[256];	/* the symbol of each byte */

	int32_t			 bos, eos;
	int			 add_bos;
	int			 ignore_merges;
	struct tok_pre		*pre;
	uint8_t			*eog;		/* n_vocab flags */

	/*
	 * Special tokens (control, user-defined, unknown) in llama.cpp's
	 * order of matching, longest text first; spec_hash maps a text to
	 * its first index in spec; spec_dup links equal texts.
	 */
	int32_t			*spec;
	int32_t			*spec_dup;
	size_t			 n_spec;
	int32_t			*spec_hash;
	size_t			 spec_hash_mask;
	size_t			*spec_lens;	/* distinct lengths, longest first */
	size_t			 n_spec_lens;
	uint8_t			 spec_first[256];
	uint8_t			*spec_pair;	/* 65536 bits: first two bytes */

	/* Special texts sorted bytewise, for the stream's hold-back. */
	const char		**stream_texts;
	size_t			 n_stream_texts;
};

/* The byte-level map of GPT-2: byte -> code point, and back (-1). */
extern uint16_t tok_byte_cpt[256];
extern int16_t tok_cpt_byte[324];
void tok_bytemap_init(void);

/* FNV-1a, the hash of every table here. */
uint64_t tok_hash(const void *p, size_t n);

/* Returns the id of the string s of n bytes among all texts, or -1. */
int32_t tok_lookup(const struct tok *t, const char *s, size_t n);

/* Returns the merge rule of the pair (a, b), or NULL. */
const struct tok_merge *tok_merge_find(const struct tok *t, int32_t a,
    int32_t b);

/* Appends id to l; returns -1 on allocation failure. */
int tok_ids_push(struct tok_ids *l, int32_t id);

/* ---- pre-tokenizers (tok-pre.c) ----------------------------------------- */

struct tok_pre_def {
	const char		*name;		/* tokenizer.ggml.pre */
	const char *const	*regex;		/* splits in sequence, NULL ends */
	int			 ignore_merges;	/* a word that is a token is kept */
	int			 add_bos;	/* when add_bos_token is absent */
};

/* Returns the row for a tokenizer.ggml.pre value, or NULL. */
const struct tok_pre_def *tok_pre_find(const char *name);

/* The row used when the file names none or one we do not know. */
const struct tok_pre_def *tok_pre_default(void);

/*
 * Compiles a NULL-terminated list of regexes (PCRE2, UTF and Unicode
 * properties, JIT when the library has it).  Returns NULL with *cause set
 * when PCRE2 rejects one.
 */
struct tok_pre *tok_pre_new(const char *const *regex, char **cause);
void tok_pre_free(struct tok_pre *p);

/*
 * Calls fn for each pre-token of s (len bytes of valid UTF-8, see
 * tok_utf8_clean): every regex splits the pieces the previous one made,
 * keeping both its matches and the text between them.  Stops at the
 * first fn that returns -1.  Returns 0, or -1 with *cause set.
 */
typedef int (*tok_piece_fn)(void *arg, const char *s, size_t len,
    char **cause);
int tok_pre_split(const struct tok_pre *p, const char *s, size_t len,
    tok_piece_fn fn, void *arg, char **cause);

/*
 * Returns the length of the valid UTF-8 character at s (n bytes left),
 * or 0 when the byte at s does not start one (Unicode's well-formed
 * table: no overlongs, surrogates or code points past U+10FFFF).
 */
size_t tok_utf8_len(const uint8_t *s, size_t n);

/*
 * Returns the length (1 to 4) of the UTF-8 character that s begins when
 * its first bytes, as many as n holds (n >= 1), are valid for it, even
 * when n is too short to hold all of it; 0 when they are not valid.
 */
size_t tok_utf8_need(const uint8_t *s, size_t n);

/*
 * Returns s itself when its len bytes are valid UTF-8, else a malloc'd
 * copy in which every byte that is not part of a valid character is
 * U+FFFD, as llama.cpp reads text (*out_len is set either way); NULL on
 * allocation failure.
 */
const char *tok_utf8_clean(const char *s, size_t len, size_t *out_len);

/* ---- BPE (tok-bpe.c) ---------------------------------------------------- */

/* Scratch space of one tok_encode call, reused from word to word. */
struct tok_bpe_work;

struct tok_bpe_work *tok_bpe_work_new(void);
void tok_bpe_work_free(struct tok_bpe_work *w);

/*
 * Appends to out the ids of the pre-token s (n raw bytes): byte symbols
 * merged lowest rank first, leftmost first among equals.  Results of
 * words seen before in this call come from the work's cache.  Returns 0,
 * or -1 with *cause set on allocation failure.
 */
int tok_bpe_word(const struct tok *t, struct tok_bpe_work *w,
    const uint8_t *s, size_t n, struct tok_ids *out, char **cause);

#endif
