/*
 * tok-pre.c - pre-tokenizers: the regexes that cut text into words before
 * BPE, one table row per tokenizer.ggml.pre value, matched with PCRE2.
 *
 * The regexes are the models' own (their tokenizer.json, as llama.cpp's
 * llama-vocab.cpp lists them).  Several in a row split in sequence: each
 * one cuts the pieces the previous one made, and both its matches and the
 * text between them are pieces.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tok-int.h"
#include "util.h"

/*
 * Unicode's White_Space, spelled out: PCRE2's \s also takes U+180E, which
 * left White_Space in Unicode 6.3 (and is not space to llama.cpp or to
 * Hugging Face's tokenizers).
 */
#define WS	"\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
		"\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define SP	"[" WS "]"
#define NSP	"[^" WS "]"

/* Qwen2 and the R1 distills of it. */
static const char *const pre_qwen2[] = {
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
	"|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
	"| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|" SP "*[\\r\\n]+"
	"|" SP "+(?!" NSP ")|" SP "+",
	NULL
};

/* Llama 3: the same with numbers in groups of up to three digits. */
static const char *const pre_llama3[] = {
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
	"|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
	"| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|" SP "*[\\r\\n]+"
	"|" SP "+(?!" NSP ")|" SP "+",
	NULL
};

/* DeepSeek V3 and R1: digits, then CJK and kana runs, then the rest. */
static const char *const pre_deepseek_v3[] = {
	"\\p{N}{1,3}",
	"[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
	"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"
	"|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
	"| ?[\\p{P}\\p{S}]+[\\r\\n]*|" SP "*[\\r\\n]+|" SP "+(?!" NSP ")"
	"|" SP "+",
	NULL
};

/*
 * DeepSeek LLM (V1): the cased letters of Unicode spelled out as ranges,
 * ASCII and full-width punctuation, trailing space, CJK and Hangul, and
 * numbers.
 */
static const char *const pre_deepseek_llm[] = {
	"[\\r\\n]",
	SP "?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}"
	"\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}"
	"\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
	"\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}"
	"\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}"
	"\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
	"\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}"
	"\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
	"\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}"
	"\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}"
	"\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}"
	"\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
	"\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
	"\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}"
	"\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
	"\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"
	"\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}"
	"\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
	"\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}"
	"\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}"
	"\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
	"\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
	"\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
	SP "?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}"
	"\\x{3000}-\\x{3002}]+",
	SP "+$",
	"[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
	"\\p{N}+",
	NULL
};

/* GPT-2's, the default of byte-level BPE. */
static const char *const pre_gpt2[] = {
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
	"|" SP "+(?!" NSP ")",
	NULL
};

static const struct tok_pre_def pre_table[] = {
	{ .name = "default", .regex = pre_gpt2 },
	{ .name = "gpt-2", .regex = pre_gpt2 },
	{ .name = "deepseek-r1-qwen", .regex = pre_qwen2 },
	{ .name = "qwen2", .regex = pre_qwen2 },
	{ .name = "deepseek-v3", .regex = pre_deepseek_v3 },
	{ .name = "deepseek-llm", .regex = pre_deepseek_llm },
	{ .name = "llama-bpe", .regex = pre_llama3, .ignore_merges = 1,
	  .add_bos = 1 },
	{ .name = "llama3", .regex = pre_llama3, .ignore_merges = 1,
	  .add_bos = 1 },
	{ .name = "llama-v3", .regex = pre_llama3, .ignore_merges = 1,
	  .add_bos = 1 },
};
#define N_PRE (sizeof pre_table / sizeof pre_table[0])

#define PRE_MAX_REGEX 8

struct tok_pre {
	pcre2_code		*re[PRE_MAX_REGEX];
	int			 n;
	pcre2_match_context	*mctx;
};

const struct tok_pre_def *
tok_pre_find(const char *name)
{
	size_t	i;

	for (i = 0; i < N_PRE; i++) {
		if (strcmp(pre_table[i].name, name) == 0)
			return &pre_table[i];
	}
	return NULL;
}

const struct tok_pre_def *
tok_pre_default(void)
{
	return &pre_table[0];
}

struct tok_pre *
tok_pre_new(const char *const *regex, char **cause)
{
	struct tok_pre	*p;
	PCRE2_SIZE	 erroff;
	PCRE2_UCHAR	 msg[256];
	int		 err;

	p = xcalloc(1, sizeof *p);
	/*
	 * A run of 10 MB of spaces makes "\s*[\r\n]+" backtrack 10 MB
	 * once before "\s+" takes the run whole: linear, but past PCRE2's
	 * default limit of ten million steps.
	 */
	if ((p->mctx = pcre2_match_context_create(NULL)) == NULL) {
		*cause = xstrdup("pre-tokenizer: out of memory");
		goto fail;
	}
	pcre2_set_match_limit(p->mctx, UINT32_MAX);
	pcre2_set_depth_limit(p->mctx, UINT32_MAX);
	pcre2_set_heap_limit(p->mctx, 4u << 20);	/* KiB: 4 GiB */
	for (; *regex != NULL; regex++) {
		if (p->n == PRE_MAX_REGEX) {
			*cause = xstrfmt("more than %d pre-tokenizer regexes",
			    PRE_MAX_REGEX);
			goto fail;
		}
		/* $ means the end of the piece, as in the regexes' origin. */
		p->re[p->n] = pcre2_compile((PCRE2_SPTR)*regex,
		    PCRE2_ZERO_TERMINATED,
		    PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err,
		    &erroff, NULL);
		if (p->re[p->n] == NULL) {
			pcre2_get_error_message(err, msg, sizeof msg);
			*cause = xstrfmt("pre-tokenizer regex %d, offset %zu: "
			    "%s", p->n + 1, (size_t)erroff, (char *)msg);
			goto fail;
		}
		/* Without JIT the interpreter does the same, slower. */
		(void)pcre2_jit_compile(p->re[p->n], PCRE2_JIT_COMPLETE);
		p->n++;
	}
	return p;

fail:
	tok_pre_free(p);
	return NULL;
}

void
tok_pre_free(struct tok_pre *p)
{
	int	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		pcre2_code_free(p->re[i]);
	pcre2_match_context_free(p->mctx);
	free(p);
}

struct split {
	const struct tok_pre	*p;
	pcre2_match_data	*md;
	tok_piece_fn		 fn;
	void			*arg;
};

static int split_level(struct split *, int, const char *, size_t, char **);

/* Hands a piece to the next regex, or to the caller after the last. */
static int
split_emit(struct split *sp, int level, const char *s, size_t len,
    char **cause)
{
	if (len == 0)
		return 0;
	if (level + 1 < sp->p->n)
		return split_level(sp, level + 1, s, len, cause);
	return sp->fn(sp->arg, s, len, cause);
}

static int
split_level(struct split *sp, int level, const char *s, size_t len,
    char **cause)
{
	PCRE2_SIZE	*ov;
	size_t		 off = 0, gap = 0, ms, me;
	int		 rc;

	while (off < len) {
		/*
		 * The text was validated once; checking it again on every
		 * call would make the split quadratic.
		 */
		rc = pcre2_match(sp->p->re[level], (PCRE2_SPTR)s, len, off,
		    PCRE2_NO_UTF_CHECK, sp->md, sp->p->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			PCRE2_UCHAR	msg[256];

			pcre2_get_error_message(rc, msg, sizeof msg);
			*cause = xstrfmt("pre-tokenizer: %s", (char *)msg);
			return -1;
		}
		ov = pcre2_get_ovector_pointer(sp->md);
		ms = ov[0];
		me = ov[1];
		if (me <= ms) {
			/* An empty match cuts nothing: step over a character. */
			off = ms + 1;
			while (off < len && ((uint8_t)s[off] & 0xc0) == 0x80)
				off++;
			continue;
		}
		if (split_emit(sp, level, s + gap, ms - gap, cause) != 0 ||
		    split_emit(sp, level, s + ms, me - ms, cause) != 0)
			return -1;
		off = gap = me;
	}
	return split_emit(sp, level, s + gap, len - gap, cause);
}

int
tok_pre_split(const struct tok_pre *p, const char *s, size_t len,
    tok_piece_fn fn, void *arg, char **cause)
{
	struct split	sp = { .p = p, .fn = fn, .arg = arg };
	int		rc;

	if (len == 0)
		return 0;
	if (p->n == 0)
		return fn(arg, s, len, cause);
	/* One pair of offsets: the regexes capture nothing that is used. */
	if ((sp.md = pcre2_match_data_create(1, NULL)) == NULL) {
		*cause = xstrdup("pre-tokenizer: out of memory");
		return -1;
	}
	rc = split_level(&sp, 0, s, len, cause);
	pcre2_match_data_free(sp.md);
	return rc;
}

size_t
tok_utf8_need(const uint8_t *s, size_t n)
{
	uint8_t	c = s[0], lo = 0x80, hi = 0xbf;
	size_t	k, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	k = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	/* The second byte's range excludes overlongs, surrogates, > 10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n > 1 && (s[1] < lo || s[1] > hi))
		return 0;
	for (i = 2; i < k && i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return k;
}

size_t
tok_utf8_len(const uint8_t *s, size_t n)
{
	size_t	k = tok_utf8_need(s, n);

	return k <= n ? k : 0;
}

const char *
tok_utf8_clean(const char *s, size_t len, size_t *out_len)
{
	const uint8_t	*u = (const uint8_t *)s;
	size_t		 i, k, bad = 0, o;
	char		*d;

	for (i = 0; i < len; i += k) {
		if ((k = tok_utf8_len(u + i, len - i)) == 0) {
			bad++;
			k = 1;
		}
	}
	*out_len = len;
	if (bad == 0)
		return s;
	*out_len = len + 2 * bad;
	if ((d = malloc(*out_len)) == NULL)
		return NULL;
	for (i = o = 0; i < len; i += k) {
		if ((k = tok_utf8_len(u + i, len - i)) == 0) {
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
			k = 1;
		} else {
			memcpy(d + o, s + i, k);
			o += k;
		}
	}
	return d;
}
