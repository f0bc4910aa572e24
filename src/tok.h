/*
 * tok.h - the model's own tokenizer: byte-level BPE (tokenizer.ggml.model
 * "gpt2") with the pre-tokenizer named by tokenizer.ggml.pre, special
 * tokens, and a streaming detokenizer.
 */
#ifndef R1_TOK_H
#define R1_TOK_H

#include <stddef.h>
#include <stdint.h>

struct gguf_file;
struct tok;

/*
 * Builds the tokenizer from g's tokenizer.* metadata (a vocabulary-only
 * file is enough).  Returns NULL with *cause set (malloc'd) when the
 * metadata is missing or inconsistent.  A warning that is not an error
 * (an unknown pre-tokenizer, replaced by the GPT-2 default) is stored in
 * *warning (malloc'd) when warning is not NULL, else dropped.  Nothing
 * points into g afterwards: it may be closed.
 */
struct tok *tok_open(const struct gguf_file *g, char **warning,
    char **cause);
void tok_free(struct tok *t);

/*
 * Tokenizes len bytes of text.  add_bos: prepend BOS when the model asks
 * for it (tokenizer.ggml.add_bos_token, else the pre-tokenizer's default:
 * yes for llama3, no for the others).  parse_special: match control
 * tokens as whole tokens first; otherwise they are text.  User-defined
 * tokens (<think> and </think> in the R1 vocabularies) are matched either
 * way, as llama.cpp and Hugging Face do.  Stores a malloc'd array in *ids
 * and its length in *n.  Returns 0, or -1 with *cause set on allocation
 * failure or a PCRE2 matching error.  Any bytes are accepted: each byte
 * that is not part of valid UTF-8 is read as U+FFFD, as llama.cpp does.
 */
int tok_encode(const struct tok *t, const char *text, size_t len,
    int add_bos, int parse_special, int32_t **ids, size_t *n, char **cause);

/* Number of tokens in the vocabulary. */
int32_t tok_n_vocab(const struct tok *t);

/* Special ids, -1 when the model has none. */
int32_t tok_bos(const struct tok *t);
int32_t tok_eos(const struct tok *t);

/* 1 when tok_encode's add_bos adds a BOS for this model. */
int tok_add_bos(const struct tok *t);

/* 1 when id ends generation (eos, eot, <|EOT|>, <｜end▁of▁sentence｜>...). */
int tok_is_eog(const struct tok *t, int32_t id);

/* Returns the id of the token whose text is exactly s (as stored), or -1. */
int32_t tok_find(const struct tok *t, const char *s);

/*
 * The token's text as stored in the vocabulary (byte-level encoded for
 * normal tokens), NUL-terminated; NULL for an id out of range.
 */
const char *tok_text(const struct tok *t, int32_t id);

/*
 * Writes the bytes id stands for (the byte-level map undone; a
 * user-defined token's text; a control token's text when specials is set,
 * nothing otherwise; nothing for unused tokens) into buf of cap bytes.
 * Returns the number of bytes, which may exceed cap (then buf is
 * truncated), or -1 for an id out of range.
 */
int tok_piece(const struct tok *t, int32_t id, int specials, char *buf,
    size_t cap);

/*
 * Streaming detokenizer for generation: push ids, get out only whole UTF-8
 * characters, holding back a tail that could still become part of a special
 * token's text (control or user-defined: "</thi" may become "</think>").
 * Control tokens add nothing.  Output is always valid UTF-8: a byte that
 * can no longer be part of a character comes out as U+FFFD.  Concatenated,
 * the pushes and the flush give tok_piece of every id, specials off.
 * tok_stream_flush gives out whatever is held.
 */
struct tok_stream;

struct tok_stream *tok_stream_new(const struct tok *t);
void tok_stream_free(struct tok_stream *s);
/* Returns a pointer to *len bytes (NUL-terminated) valid until the next call. */
const char *tok_stream_push(struct tok_stream *s, int32_t id, size_t *len);
const char *tok_stream_flush(struct tok_stream *s, size_t *len);

#endif
