/*
 * test-tok.c - the tokenizer against llama.cpp's ids on real vocabularies.
 *
 * Every vocab $R1CHAT_TESTDATA/vocab/NAME.gguf: each case of NAME.inp must
 * tokenize (no BOS, specials not parsed) to its line of NAME.out, each
 * case of NAME.special.inp (specials parsed) to NAME.special.out, and the
 * ids must decode back to the case's bytes; the streaming decoder must
 * give the same bytes.  The .out files were made by llama.cpp (see
 * tests/data/README.md).  Then bad input, the stream's hold-back,
 * and the error paths.
 *
 * Ids written below come from the reference, by the command quoted
 * beside them, or from FACTS.md.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "tap.h"
#include "tok-int.h"
#include "tok.h"
#include "util.h"

#define SEP	"\n__ggml_vocab_test__\n"

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*p = NULL;
	size_t	 cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (n + 65536 > cap) {
			cap = 2 * cap + 65536;
			p = xreallocarray(p, cap, 1);
		}
		r = fread(p + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

/* The bytes of ids, through tok_piece (specials as text). */
static char *
decode(const struct tok *t, const int32_t *ids, size_t n, int specials,
    size_t *len)
{
	size_t	cap = 64, o = 0, i;
	char	*s = xmalloc(cap);
	int	k;

	for (i = 0; i < n; i++) {
		for (;;) {
			k = tok_piece(t, ids[i], specials, s + o, cap - o);
			if (k >= 0 && (size_t)k <= cap - o)
				break;
			cap *= 2;
			s = xreallocarray(s, cap, 1);
		}
		o += (size_t)k;
	}
	*len = o;
	return s;
}

/* The ids through a stream, all chunks concatenated; checks each chunk. */
static char *
stream_all(const struct tok *t, const int32_t *ids, size_t n, size_t *len,
    int *bad_chunk)
{
	struct tok_stream	*st = tok_stream_new(t);
	const char		*c;
	size_t			 cap = 64, o = 0, i, k, j, cl;
	char			*s = xmalloc(cap);

	*bad_chunk = 0;
	for (i = 0; i <= n; i++) {
		c = i < n ? tok_stream_push(st, ids[i], &k) :
		    tok_stream_flush(st, &k);
		for (j = 0; j < k; j += cl) {
			if ((cl = tok_utf8_len((const uint8_t *)c + j,
			    k - j)) == 0) {
				*bad_chunk = 1;
				cl = 1;
			}
		}
		if (o + k > cap) {
			cap = 2 * (o + k);
			s = xreallocarray(s, cap, 1);
		}
		memcpy(s + o, c, k);
		o += k;
	}
	tok_stream_free(st);
	*len = o;
	return s;
}

/* Parses one .out line (" 1 2 3") into ids; returns the count. */
static size_t
parse_ids(const char *line, size_t len, int32_t **ids)
{
	size_t	n = 0;
	char	*end;
	const char *p = line, *e = line + len;

	*ids = xcalloc(len / 2 + 1, sizeof **ids);
	while (p < e) {
		while (p < e && *p == ' ')
			p++;
		if (p >= e)
			break;
		(*ids)[n++] = (int32_t)strtol(p, &end, 10);
		p = end;
	}
	return n;
}

static int
same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void
print_ids(const char *what, const int32_t *ids, size_t n)
{
	size_t	i;

	printf("# %s:", what);
	for (i = 0; i < n && i < 64; i++)
		printf(" %d", ids[i]);
	printf("%s\n", n > 64 ? " ..." : "");
}

/* Runs the cases of INP against OUT; returns 0 when the files are absent. */
static int
run_cases(const struct tok *t, const char *name, const char *inp,
    const char *out, int special)
{
	char		*in_text, *out_text, *p, *e, *q, *qe, *dec, *str;
	size_t		 in_len, out_len, k, n, nw, dlen, slen;
	int32_t		*ids, *want;
	int		 i = 0, bad;
	char		*cause = NULL;

	if ((in_text = slurp(inp, &in_len)) == NULL)
		return 0;
	if ((out_text = slurp(out, &out_len)) == NULL) {
		ok(0, "%s: %s present", name, out);
		free(in_text);
		return 1;
	}
	q = out_text;
	for (p = in_text; p != NULL && *p != '\0'; i++) {
		e = strstr(p, SEP);
		k = e != NULL ? (size_t)(e - p) : strlen(p);
		qe = strchr(q, '\n');
		if (qe == NULL) {
			ok(0, "%s%s case %d: has an .out line", name,
			    special ? " special" : "", i);
			break;
		}
		nw = parse_ids(q, (size_t)(qe - q), &want);
		q = qe + 1;
		if (tok_encode(t, p, k, 0, special, &ids, &n, &cause) != 0) {
			ok(0, "%s case %d: %s", name, i, cause);
			free(cause);
			cause = NULL;
			free(want);
			break;
		}
		if (!ok(same_ids(ids, n, want, nw), "%s%s case %d: ids", name,
		    special ? " special" : "", i)) {
			print_ids("got ", ids, n);
			print_ids("want", want, nw);
		}
		dec = decode(t, ids, n, 1, &dlen);
		ok(dlen == k && memcmp(dec, p, k) == 0,
		    "%s%s case %d: decodes to the input", name,
		    special ? " special" : "", i);
		if (!special) {
			str = stream_all(t, ids, n, &slen, &bad);
			ok(slen == k && memcmp(str, p, k) == 0 && !bad,
			    "%s case %d: the stream gives the input", name, i);
			free(str);
		}
		free(dec);
		free(ids);
		free(want);
		p = e != NULL ? e + strlen(SEP) : NULL;
	}
	ok(*q == '\0', "%s%s: as many cases as .out lines (%d)", name,
	    special ? " special" : "", i);
	free(in_text);
	free(out_text);
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct tok *
open_vocab(const char *path)
{
	struct gguf_file	*g;
	struct tok		*t;
	char			*cause = NULL, *warning = NULL;

	if ((g = gguf_open(path, &cause)) == NULL) {
		ok(0, "%s opens: %s", path, cause);
		free(cause);
		return NULL;
	}
	t = tok_open(g, &warning, &cause);
	gguf_close(g);
	ok(t != NULL, "%s: tokenizer loads%s%s", path, t ? "" : ": ",
	    t ? "" : cause);
	ok(warning == NULL, "%s: no warning (%s)", path,
	    warning ? warning : "none");
	free(cause);
	free(warning);
	return t;
}

static int
encode(const struct tok *t, const char *s, size_t len, int special,
    int32_t **ids, size_t *n)
{
	char	*cause = NULL;

	if (tok_encode(t, s, len, 0, special, ids, n, &cause) != 0) {
		diag("tok_encode: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Bytes that are not UTF-8 read as U+FFFD each, as llama.cpp reads them:
 * the ids must equal those of the text with every bad byte replaced.
 */
static void
test_invalid_utf8(const struct tok *t, const char *name)
{
	static const struct {
		const char	*bad, *good;
		size_t		 blen;
	} cases[] = {
		{ "a\xff" "b", "a\xef\xbf\xbd" "b", 3 },
		{ "\xc3", "\xef\xbf\xbd", 1 },
		{ "x\xe4\xb8" "a", "x\xef\xbf\xbd\xef\xbf\xbd" "a", 4 },
		{ "\xc0\x80 ok", "\xef\xbf\xbd\xef\xbf\xbd ok", 5 },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 3 },
		{ "\xf5\x80\x80\x80y", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		  "\xef\xbf\xbdy", 5 },
		{ "<think>\x80</think>", "<think>\xef\xbf\xbd</think>", 16 },
	};
	int32_t	*a, *b;
	size_t	 na, nb, i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (encode(t, cases[i].bad, cases[i].blen, 0, &a, &na) != 0 ||
		    encode(t, cases[i].good, strlen(cases[i].good), 0, &b,
		    &nb) != 0) {
			ok(0, "%s: invalid UTF-8 case %zu encodes", name, i);
			continue;
		}
		ok(na > 0 && same_ids(a, na, b, nb),
		    "%s: invalid UTF-8 case %zu reads as U+FFFD", name, i);
		free(a);
		free(b);
	}
}

static void
test_nul(const struct tok *t, const char *name)
{
	static const char	 text[] = "a\0b\0\0 c";
	int32_t			*ids;
	size_t			 n, dlen;
	char			*dec;

	if (encode(t, text, sizeof text - 1, 0, &ids, &n) != 0) {
		ok(0, "%s: NUL bytes encode", name);
		return;
	}
	dec = decode(t, ids, n, 0, &dlen);
	ok(dlen == sizeof text - 1 && memcmp(dec, text, dlen) == 0,
	    "%s: NUL bytes are tokens and decode back", name);
	free(dec);
	free(ids);
}

/* 10 MB of one byte: one pre-token for BPE, or one long regex run. */
static void
test_big(const struct tok *t, const char *name, int c)
{
	size_t	 len = 10 * 1000 * 1000, n, dlen;
	char	*s = xmalloc(len), *dec;
	int32_t	*ids;
	int64_t	 t0 = util_now_ns();

	memset(s, c, len);
	if (encode(t, s, len, 0, &ids, &n) != 0) {
		ok(0, "%s: 10 MB of '%c' encodes", name, c);
		free(s);
		return;
	}
	dec = decode(t, ids, n, 0, &dlen);
	ok(dlen == len && memcmp(dec, s, len) == 0,
	    "%s: 10 MB of '%c' -> %zu tokens, decodes back (%.1f s)", name, c,
	    n, (double)(util_now_ns() - t0) / 1e9);
	free(dec);
	free(ids);
	free(s);
}

/* Pushes the ids of each text in turn and checks what comes out. */
struct push_step {
	const char	*text;		/* tokenized with specials off */
	const char	*want;		/* output of this step */
};

static void
test_stream_steps(const struct tok *t, const char *what,
    const struct push_step *steps, size_t n_steps, const char *flush)
{
	struct tok_stream	*st = tok_stream_new(t);
	const char		*c;
	char			 got[256];
	size_t			 i, j, n, k, o;
	int32_t			*ids;
	int			 good = 1;

	for (i = 0; i < n_steps; i++) {
		o = 0;
		if (encode(t, steps[i].text, strlen(steps[i].text), 0, &ids,
		    &n) != 0) {
			good = 0;
			break;
		}
		for (j = 0; j < n; j++) {
			c = tok_stream_push(st, ids[j], &k);
			if (o + k < sizeof got) {
				memcpy(got + o, c, k);
				o += k;
			}
		}
		free(ids);
		got[o] = '\0';
		if (strcmp(got, steps[i].want) != 0) {
			diag("%s: after \"%s\" got \"%s\", want \"%s\"", what,
			    steps[i].text, got, steps[i].want);
			good = 0;
		}
	}
	c = tok_stream_flush(st, &k);
	if (k != strlen(flush) || memcmp(c, flush, k) != 0) {
		diag("%s: flush gave %zu bytes, want \"%s\"", what, k, flush);
		good = 0;
	}
	ok(good, "stream: %s", what);
	tok_stream_free(st);
}

/* The id of the byte-level token of byte b. */
static int32_t
byte_token(const struct tok *t, uint8_t b)
{
	char		s[3];
	uint16_t	c = tok_byte_cpt[b];

	if (c < 0x80) {
		s[0] = (char)c;
		s[1] = '\0';
	} else {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		s[2] = '\0';
	}
	return tok_find(t, s);
}

static void
test_stream(const struct tok *t)
{
	static const struct push_step think[] = {
		{ "so ", "so " },
		{ "</", "" },
		{ "th", "" },
		{ "ink", "" },
		{ ">", "</think>" },
		{ "\n\nok", "\n\nok" },
	};
	static const struct push_step broken[] = {
		{ "a</th", "a" },
		{ "x", "</thx" },
		{ "<", "" },
	};
	static const uint8_t zh[] = { 0xe4, 0xb8, 0xad };	/* 中 */
	struct tok_stream	*st;
	const char		*c;
	size_t			 k, i;
	int			 good;

	test_stream_steps(t, "</think> in pieces comes out whole", think,
	    sizeof think / sizeof think[0], "");
	test_stream_steps(t, "a tail that stops matching is let go", broken,
	    sizeof broken / sizeof broken[0], "<");

	st = tok_stream_new(t);
	good = 1;
	for (i = 0; i < 3; i++) {
		c = tok_stream_push(st, byte_token(t, zh[i]), &k);
		if ((i < 2 && k != 0) ||
		    (i == 2 && (k != 3 || memcmp(c, zh, 3) != 0)))
			good = 0;
	}
	ok(good, "stream: a character in byte tokens comes out once whole");
	c = tok_stream_push(st, byte_token(t, 0xff), &k);
	ok(k == 3 && memcmp(c, "\xef\xbf\xbd", 3) == 0,
	    "stream: a byte that is never UTF-8 comes out as U+FFFD");
	c = tok_stream_push(st, byte_token(t, 0xe4), &k);
	ok(k == 0, "stream: half a character is held");
	c = tok_stream_push(st, byte_token(t, 'a'), &k);
	ok(k == 4 && memcmp(c, "\xef\xbf\xbd" "a", 4) == 0,
	    "stream: an unfinished character before ASCII becomes U+FFFD");
	c = tok_stream_push(st, byte_token(t, 0xe4), &k);
	c = tok_stream_push(st, byte_token(t, 0xb8), &k);
	c = tok_stream_flush(st, &k);
	ok(k == 6 && memcmp(c, "\xef\xbf\xbd\xef\xbf\xbd", 6) == 0,
	    "stream: flush gives a held half character as U+FFFD");
	c = tok_stream_push(st, tok_eos(t), &k);
	ok(k == 0, "stream: end of sentence (control) prints nothing");
	c = tok_stream_flush(st, &k);
	ok(k == 0 && c != NULL && c[0] == '\0', "stream: empty flush");
	tok_stream_free(st);
}

/* Facts of DeepSeek-R1-Distill-Qwen's vocabulary (FACTS.md, README). */
static void
test_r1_qwen(const struct tok *t)
{
	int32_t	*ids;
	size_t	 n;
	char	 buf[64];
	int	 k;
	/* llref tokenize deepseek-r1-qwen.gguf 'Hello world' */
	static const int32_t hello[] = { 151646, 9707, 1879 };
	/* llref tokenize deepseek-r1-qwen.gguf '<｜User｜>Hi<think>' --no-bos */
	static const int32_t user[] = { 151644, 13048, 151648 };
	/* llref tokfile on the same text (specials not parsed) */
	static const int32_t user_plain[] = { 27, 130957, 1474, 130957, 29,
	    13048, 151648 };
	static const char user_text[] = "<\xef\xbd\x9cUser\xef\xbd\x9c>Hi"
	    "<think>";
	char	*cause = NULL;

	ok(tok_bos(t) == 151646 && tok_eos(t) == 151643 && tok_add_bos(t),
	    "r1-qwen: bos 151646, eos 151643, BOS added");
	ok(tok_find(t, "<think>") == 151648 &&
	    tok_find(t, "</think>") == 151649, "r1-qwen: <think> ids");
	ok(tok_is_eog(t, 151643) && !tok_is_eog(t, 151648) &&
	    !tok_is_eog(t, 9707), "r1-qwen: end of generation is eos only");
	ok(tok_is_eog(t, tok_find(t, "<|EOT|>")), "r1-qwen: <|EOT|> ends");
	if (tok_encode(t, "Hello world", 11, 1, 1, &ids, &n, &cause) == 0) {
		ok(same_ids(ids, n, hello, 3), "r1-qwen: BOS is added");
		free(ids);
	} else
		ok(0, "r1-qwen: encode: %s", cause);
	if (encode(t, user_text, sizeof user_text - 1, 1, &ids, &n) == 0) {
		ok(same_ids(ids, n, user, 3), "r1-qwen: specials parsed");
		free(ids);
	}
	if (encode(t, user_text, sizeof user_text - 1, 0, &ids, &n) == 0) {
		ok(same_ids(ids, n, user_plain, 7),
		    "r1-qwen: control tokens are text unparsed, "
		    "user-defined <think> is still a token");
		free(ids);
	}
	k = tok_piece(t, 151644, 0, buf, sizeof buf);
	ok(k == 0, "r1-qwen: a control token's piece is empty without "
	    "specials");
	k = tok_piece(t, 151644, 1, buf, sizeof buf);
	ok(k == 12 && memcmp(buf, "<\xef\xbd\x9cUser\xef\xbd\x9c>", 12) == 0,
	    "r1-qwen: and its text with specials");
	ok(tok_piece(t, -1, 1, buf, sizeof buf) == -1 &&
	    tok_piece(t, tok_n_vocab(t), 1, buf, sizeof buf) == -1,
	    "r1-qwen: ids out of range are refused");
	ok(strcmp(tok_text(t, 1879), "\xc4\xa0world") == 0,
	    "r1-qwen: tok_text is the stored (byte-level) text");
}

/* A pre-tokenizer regex PCRE2 rejects fails cleanly, naming the regex. */
static void
test_bad_regex(void)
{
	static const char *const bad1[] = { "\\p{L}+", "(unclosed", NULL };
	static const char *const bad2[] = { "[\\p{NoSuchProperty}]", NULL };
	static const char *const good[] = { "\\p{N}{1,3}", "\\s+", NULL };
	struct tok_pre	*p;
	char		*cause = NULL;

	p = tok_pre_new(bad1, &cause);
	ok(p == NULL && cause != NULL && strstr(cause, "regex 2") != NULL,
	    "a regex PCRE2 rejects is an error: %s", cause ? cause : "none");
	free(cause);
	cause = NULL;
	p = tok_pre_new(bad2, &cause);
	ok(p == NULL && cause != NULL, "an unknown property is an error: %s",
	    cause ? cause : "none");
	free(cause);
	cause = NULL;
	p = tok_pre_new(good, &cause);
	ok(p != NULL, "the same code compiles good regexes");
	tok_pre_free(p);
	ok(tok_pre_find("deepseek-v3") != NULL &&
	    tok_pre_find("deepseek-r1-qwen") != NULL &&
	    tok_pre_find("llama-bpe")->ignore_merges &&
	    tok_pre_find("no-such-pre") == NULL, "the pre-tokenizer table");
}

/*
 * A copy of a vocab with another tokenizer.ggml.pre: an unknown value is
 * a warning naming it, and the GPT-2 regex is used.
 */
static void
test_unknown_pre(const char *path)
{
	struct gguf_file	*g, *g2;
	struct gguf_writer	*w;
	struct tok		*t;
	char			 tmp[] = "/tmp/test-tok-XXXXXX";
	char			*cause = NULL, *warning = NULL;
	uint64_t		 i;
	int32_t			*ids;
	size_t			 n;
	int			 fd;

	if ((g = gguf_open(path, &cause)) == NULL) {
		ok(0, "unknown pre: %s", cause);
		free(cause);
		return;
	}
	w = gguf_writer_new();
	for (i = 0; i < g->n_kv; i++) {
		if (strcmp(g->kv[i].key, "tokenizer.ggml.pre") == 0)
			gguf_writer_set_str(w, "tokenizer.ggml.pre",
			    "no-such-pre");
		else
			gguf_writer_copy_kv(w, &g->kv[i]);
	}
	if ((fd = mkstemp(tmp)) < 0) {
		ok(0, "unknown pre: mkstemp");
		return;
	}
	close(fd);
	if (gguf_writer_write(w, tmp, &cause) != 0) {
		ok(0, "unknown pre: write %s: %s", tmp, cause);
		free(cause);
		gguf_writer_free(w);
		gguf_close(g);
		unlink(tmp);
		return;
	}
	gguf_writer_free(w);
	gguf_close(g);
	g2 = gguf_open(tmp, &cause);
	t = g2 != NULL ? tok_open(g2, &warning, &cause) : NULL;
	ok(t != NULL && warning != NULL && strstr(warning, "no-such-pre"),
	    "an unknown pre-tokenizer is a warning naming it: %s",
	    warning ? warning : cause ? cause : "none");
	if (t != NULL && encode(t, "a\n\nb", 4, 0, &ids, &n) == 0) {
		/*
		 * Qwen2's regex keeps "\n\n" one piece (one token, 271);
		 * GPT-2's has no rule for newlines before a letter and cuts
		 * "\n" "\n" (198 198).
		 */
		ok(n == 4 && ids[1] == 198 && ids[2] == 198,
		    "and the GPT-2 pre-tokenizer is used (%zu ids)", n);
		free(ids);
	}
	tok_free(t);
	gguf_close(g2);
	free(warning);
	free(cause);
	unlink(tmp);
}

int
main(void)
{
	const char	*data = testdata();
	char		 dir[4096], path[4200], inp[4300], out[4300];
	char		**names = NULL;
	size_t		 n_names = 0, i, l;
	struct dirent	*de;
	struct tok	*t;
	DIR		*d;
	int		 big = 0;

	snprintf(dir, sizeof dir, "%s/vocab", data);
	if ((d = opendir(dir)) == NULL)
		bail_out("no vocab directory in $R1CHAT_TESTDATA");
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".gguf") == 0) {
			names = xreallocarray(names, n_names + 1,
			    sizeof *names);
			names[n_names++] = xstrndup(de->d_name, l - 5);
		}
	}
	closedir(d);
	if (n_names == 0)
		bail_out("no vocab files in $R1CHAT_TESTDATA/vocab");
	qsort(names, n_names, sizeof *names, name_cmp);

	test_bad_regex();
	for (i = 0; i < n_names; i++) {
		snprintf(path, sizeof path, "%s/%s.gguf", dir, names[i]);
		if ((t = open_vocab(path)) == NULL)
			continue;
		snprintf(inp, sizeof inp, "%s/%s.inp", dir, names[i]);
		snprintf(out, sizeof out, "%s/%s.out", dir, names[i]);
		ok(run_cases(t, names[i], inp, out, 0),
		    "%s: has test vectors", names[i]);
		snprintf(inp, sizeof inp, "%s/%s.special.inp", dir, names[i]);
		snprintf(out, sizeof out, "%s/%s.special.out", dir, names[i]);
		run_cases(t, names[i], inp, out, 1);
		test_invalid_utf8(t, names[i]);
		test_nul(t, names[i]);
		if (strcmp(names[i], "deepseek-r1-qwen") == 0) {
			test_r1_qwen(t);
			test_stream(t);
			test_unknown_pre(path);
		}
		if (!big) {
			/* Slow by nature (seconds): once is enough. */
			test_big(t, names[i], 'a');
			test_big(t, names[i], ' ');
			big = 1;
		}
		tok_free(t);
	}
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return done_testing();
}
