/*
 * fuzz-tok.c - libFuzzer target for the tokenizer (`make fuzz`).
 *
 * The input: a byte choosing the vocabulary (tests/data/vocab: the R1
 * Qwen distills', R1's, llama3's), specials parsed or not and BOS or not,
 * then the text.  Any bytes must encode into ids of the vocabulary; when
 * the text is valid UTF-8 (each other byte becomes U+FFFD), the pieces of
 * the ids (BOS left out) give it back byte for byte, and the streaming
 * decoder too when no control token was matched.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tok.h"

#ifndef FUZZ_DATA
#error "FUZZ_DATA must name tests/data"
#endif

static const char *const vocabs[] = {
	"deepseek-r1-qwen.gguf", "deepseek-r1.gguf", "llama-bpe.gguf"
};
#define N_VOCABS	(sizeof vocabs / sizeof vocabs[0])
static struct tok	*toks[N_VOCABS];

static void
fuzz_init(void)
{
	struct gguf_file	*g;
	char			 path[4096], *cause = NULL;
	size_t			 i;

	for (i = 0; i < N_VOCABS; i++) {
		snprintf(path, sizeof path, "%s/vocab/%s", FUZZ_DATA,
		    vocabs[i]);
		if ((g = gguf_open(path, &cause)) == NULL ||
		    (toks[i] = tok_open(g, NULL, &cause)) == NULL) {
			fprintf(stderr, "fuzz-tok: %s: %s\n", path, cause);
			abort();
		}
		gguf_close(g);
	}
}

/* Whether the n bytes of s are valid UTF-8 (no overlong, no surrogate). */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t		i = 0, k, j;
	uint32_t	c;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = s[i] >= 0xc2 && s[i] <= 0xdf ? 2 :
		    s[i] >= 0xe0 && s[i] <= 0xef ? 3 :
		    s[i] >= 0xf0 && s[i] <= 0xf4 ? 4 : 0;
		if (k == 0 || i + k > n)
			return 0;
		c = s[i] & (0x7f >> k);
		for (j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += k;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_stream	*st;
	struct tok		*t;
	const char		*text = (const char *)data + 1, *o;
	char			*back = NULL, *streamed = NULL, *cause = NULL;
	int32_t			*ids = NULL;
	size_t			 n = 0, i, len, blen = 0, slen = 0, olen;
	int			 special, bos, k, control = 0;

	if (size < 1)
		return 0;
	if (toks[0] == NULL)
		fuzz_init();
	t = toks[data[0] % N_VOCABS];
	special = (data[0] & 0x10) != 0;
	bos = (data[0] & 0x20) != 0;
	len = size - 1;
	if (tok_encode(t, text, len, bos, special, &ids, &n, &cause) != 0) {
		fprintf(stderr, "fuzz-tok: %s\n", cause);
		abort();
	}
	/* Each piece is at most a few bytes more than the text's bytes. */
	back = malloc(4 * len + 64 * n + 1);
	streamed = malloc(4 * len + 64 * n + 1);
	st = tok_stream_new(t);
	if (back == NULL || streamed == NULL || st == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= tok_n_vocab(t))
			abort();
		if (i == 0 && bos && tok_add_bos(t) && ids[0] == tok_bos(t))
			continue;
		k = tok_piece(t, ids[i], 1, back + blen, 64 + 4 * len);
		if (k < 0)
			abort();
		if (tok_piece(t, ids[i], 0, NULL, 0) != k)
			control = 1;
		blen += (size_t)k;
		o = tok_stream_push(st, ids[i], &olen);
		memcpy(streamed + slen, o, olen);
		slen += olen;
	}
	o = tok_stream_flush(st, &olen);
	memcpy(streamed + slen, o, olen);
	slen += olen;
	if (utf8_valid(data + 1, len)) {
		if (blen != len || memcmp(back, text, len) != 0)
			abort();
		if (!control && (slen != len || memcmp(streamed, text,
		    len) != 0))
			abort();
	}
	tok_stream_free(st);
	free(streamed);
	free(back);
	free(ids);
	return 0;
}
