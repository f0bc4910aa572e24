/*
 * test-duration.c - Go's time.Duration.String() and ollama's summary.
 *
 * The expectations follow Go's documented algorithm (time/time.go,
 * Duration.String): below one second the unit is ns, µs (U+00B5) or ms so
 * that the integer part is not zero, with 0, 3 and 6 fraction digits at
 * most; from one second on, h/m/s with the leading zero units dropped and
 * the seconds always present; trailing zeros of the fraction dropped, the
 * point too when nothing is left; "0s" for zero; "-" before negatives.
 * The examples quoted in FACTS.md are among them.  The rates were computed
 * as Go computes them (count / Duration.Seconds(), "%.2f", correctly
 * rounded, ties to even), with Python's float formatting, which is also
 * correctly rounded.
 */
#include "config.h"

#include <inttypes.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "tap.h"

#define US	1000LL
#define MS	1000000LL
#define SEC	1000000000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

static const struct {
	int64_t		 ns;
	const char	*want;
} cases[] = {
	{ 0, "0s" },
	{ 1, "1ns" },
	{ 999, "999ns" },
	{ 1 * US, "1\xc2\xb5s" },
	{ 1001, "1.001\xc2\xb5s" },
	{ 1500, "1.5\xc2\xb5s" },
	{ 1010, "1.01\xc2\xb5s" },
	{ 999999, "999.999\xc2\xb5s" },
	{ 1 * MS, "1ms" },
	{ 1 * MS + 1, "1.000001ms" },
	{ 1100 * US, "1.1ms" },
	{ 97885315, "97.885315ms" },
	{ 539138037, "539.138037ms" },
	{ 999999999, "999.999999ms" },
	{ 1 * SEC, "1s" },
	{ 1 * SEC + 1, "1.000000001s" },
	{ 1 * SEC + 500 * MS, "1.5s" },
	{ 18293521648LL, "18.293521648s" },
	{ 59 * SEC + 900 * MS, "59.9s" },
	{ 1 * MIN, "1m0s" },
	{ 1 * MIN + 1, "1m0.000000001s" },
	{ 61 * SEC + 500 * MS, "1m1.5s" },
	{ 136440943797LL, "2m16.440943797s" },
	{ 163589481292LL, "2m43.589481292s" },
	{ 59 * MIN + 59 * SEC, "59m59s" },
	{ 1 * HOUR, "1h0m0s" },
	{ 3 * HOUR, "3h0m0s" },
	{ 1 * HOUR + 1, "1h0m0.000000001s" },
	{ 1 * HOUR + 1 * SEC, "1h0m1s" },
	{ 72 * HOUR + 3 * MIN + 500 * MS, "72h3m0.5s" },
	{ 100 * HOUR + 10 * US, "100h0m0.00001s" },
	{ -1, "-1ns" },
	{ -1500 * MS, "-1.5s" },
	{ -(3 * HOUR), "-3h0m0s" },
	{ -1500, "-1.5\xc2\xb5s" },
	{ INT64_MAX, "2562047h47m16.854775807s" },
	{ INT64_MIN, "-2562047h47m16.854775808s" },
};

/*
 * Reads a Go duration back into nanoseconds and checks its shape: each
 * unit at most once in h, m, s order or a single sub-second unit, no
 * fraction ending in 0, no leading zero in a sub-second integer part.
 * Returns 0 and the value, or -1 when the text breaks a rule.
 */
static int
parse_go(const char *s, int64_t *out)
{
	static const struct {
		const char	*unit;
		uint64_t	 scale;
		uint64_t	 limit;
	} units[] = {
		{ "h", 3600000000000ULL, UINT64_MAX },
		{ "m", 60000000000ULL, 60 },
		{ "s", 1000000000ULL, 60 },
		{ "ms", 1000000ULL, 1000 },
		{ "\xc2\xb5s", 1000ULL, 1000 },
		{ "ns", 1ULL, 1000 },
	};
	uint64_t	 total = 0;
	int		 neg = 0, last = -1, n_parts = 0;
	size_t		 u;

	if (strcmp(s, "0s") == 0) {
		*out = 0;
		return 0;
	}
	if (*s == '-') {
		neg = 1;
		s++;
	}
	while (*s != '\0') {
		uint64_t	 ip = 0, fp = 0, fscale = 1;
		int		 nd = 0, nf = 0, lead0;
		size_t		 best = SIZE_MAX, blen = 0;

		lead0 = *s == '0';
		while (*s >= '0' && *s <= '9') {
			ip = ip * 10 + (*s++ - '0');
			nd++;
		}
		if (nd == 0 || (lead0 && nd > 1))
			return -1;
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				fp = fp * 10 + (*s - '0');
				fscale *= 10;
				nf++;
				s++;
			}
			if (nf == 0 || s[-1] == '0')
				return -1;
		}
		/* The longest unit name that matches ("ms" before "m"). */
		for (u = 0; u < sizeof units / sizeof units[0]; u++) {
			size_t	len = strlen(units[u].unit);

			if (strncmp(s, units[u].unit, len) == 0 && len > blen) {
				best = u;
				blen = len;
			}
		}
		if (best == SIZE_MAX || (int)best <= last)
			return -1;
		/* A leading unit is not zero; each is below the next. */
		if ((last < 0 && ip == 0) || ip >= units[best].limit)
			return -1;
		/* Only the last part may have a fraction. */
		s += blen;
		if (nf > 0 && *s != '\0')
			return -1;
		total += ip * units[best].scale +
		    fp * (units[best].scale / fscale);
		if (units[best].scale / fscale * fscale != units[best].scale)
			return -1;
		last = best;
		n_parts++;
	}
	/* Sub-second units stand alone. */
	if (n_parts == 0 || (last >= 3 && n_parts != 1))
		return -1;
	/* From a minute on, the seconds are always there. */
	if (last >= 0 && last < 2)
		return -1;
	*out = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

/* ok() on two strings, showing both when they differ. */
static void
is_str(const char *got, const char *want, const char *name)
{
	if (!ok(strcmp(got, want) == 0, "%s", name))
		diag("got:\n%s\n# want:\n%s", got, want);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
test_format(void)
{
	char	buf[DURATION_BUFSZ];
	size_t	i, n;
	int	bad;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = duration_format(cases[i].ns, buf, sizeof buf);
		ok(strcmp(buf, cases[i].want) == 0 && n == strlen(buf),
		    "%" PRId64 " ns -> %s (got %s)", cases[i].ns,
		    cases[i].want, buf);
	}

	/* snprintf-like truncation. */
	n = duration_format(136440943797LL, buf, 5);
	ok(n == 15 && strcmp(buf, "2m16") == 0, "truncates, returns %zu", n);
	n = duration_format(1, NULL, 0);
	ok(n == 3, "cap 0 gives the length only");

	/* The checker below must be able to fail. */
	{
		static const char *const wrong[] = {
			"1.50s", "0.5s", "60s", "1m", "1000ms", "01s", "1h0m",
			"1s5ms", "1.5ns", "1.0000001ms", "2m60s", "", "5",
		};
		int64_t	v;

		bad = 0;
		for (i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
			bad += parse_go(wrong[i], &v) == 0;
		ok(bad == 0, "the shape checker rejects malformed durations");
	}

	/* Round trip and shape over many magnitudes. */
	bad = 0;
	for (i = 0; i < 200000; i++) {
		uint64_t	 r = next_rand();
		int64_t		 v, back;

		/* Spread over every magnitude, not just the huge ones. */
		v = (int64_t)(r >> (r % 64));
		if (i % 3 == 0)
			v = v / 1000 * 1000;
		if (i % 5 == 0)
			v = -v;
		duration_format(v, buf, sizeof buf);
		if (parse_go(buf, &back) != 0 || back != v) {
			if (bad++ < 5)
				diag("%" PRId64 " -> %s", v, buf);
		}
	}
	ok(bad == 0, "200000 random durations read back with Go's shape "
	    "(%d bad)", bad);
}

static void
test_summary(void)
{
	struct duration_stats	 st;
	char			 buf[1024], small[40];
	size_t			 n;

	memset(&st, 0, sizeof st);
	st.total_ns = 136440943797LL;
	st.load_ns = 18293521648LL;
	st.prompt_eval_count = 26;
	st.prompt_eval_ns = 539138037;
	st.eval_count = 417;
	st.eval_ns = 18293521648LL;
	n = duration_summary(&st, buf, sizeof buf);
	ok(n == strlen(buf), "summary length");
	is_str(buf,
	    "total duration:       2m16.440943797s\n"
	    "load duration:        18.293521648s\n"
	    "prompt eval count:    26 token(s)\n"
	    "prompt eval duration: 539.138037ms\n"
	    "prompt eval rate:     48.23 tokens/s\n"
	    "eval count:           417 token(s)\n"
	    "eval duration:        18.293521648s\n"
	    "eval rate:            22.79 tokens/s\n", "full summary");

	/* Zero values leave their lines out; a rate follows its duration. */
	memset(&st, 0, sizeof st);
	st.prompt_eval_ns = 5;
	st.eval_count = 123;
	st.eval_ns = 97885315;
	duration_summary(&st, buf, sizeof buf);
	is_str(buf,
	    "prompt eval duration: 5ns\n"
	    "prompt eval rate:     0.00 tokens/s\n"
	    "eval count:           123 token(s)\n"
	    "eval duration:        97.885315ms\n"
	    "eval rate:            1256.57 tokens/s\n",
	    "lines only for values > 0");

	memset(&st, 0, sizeof st);
	st.load_ns = -5;
	n = duration_summary(&st, buf, sizeof buf);
	ok(n == 0 && buf[0] == '\0', "nothing for an all-zero block");

	/* Rates rounded as Go rounds: ties to even on the exact binary value. */
	memset(&st, 0, sizeof st);
	st.eval_count = 1;
	st.eval_ns = 8 * SEC;
	duration_summary(&st, buf, sizeof buf);
	ok(strstr(buf, "eval rate:            0.12 tokens/s\n") != NULL,
	    "0.125 -> 0.12");
	st.eval_count = 3;
	duration_summary(&st, buf, sizeof buf);
	ok(strstr(buf, "eval rate:            0.38 tokens/s\n") != NULL,
	    "0.375 -> 0.38");
	st.eval_count = 1;
	st.eval_ns = 3;
	duration_summary(&st, buf, sizeof buf);
	ok(strstr(buf, "eval rate:            333333333.33 tokens/s\n") !=
	    NULL, "1 token in 3ns");
	st.eval_count = 1000;
	st.eval_ns = 136440943797LL;
	duration_summary(&st, buf, sizeof buf);
	ok(strstr(buf, "eval rate:            7.33 tokens/s\n") != NULL,
	    "1000 tokens in 2m16s");

	/* Truncation keeps a NUL and reports the full length. */
	memset(&st, 0, sizeof st);
	st.total_ns = 136440943797LL;
	st.eval_count = 7;
	st.eval_ns = SEC;
	n = duration_summary(&st, small, sizeof small);
	ok(n == strlen("total duration:       2m16.440943797s\n"
	    "eval count:           7 token(s)\n"
	    "eval duration:        1s\n"
	    "eval rate:            7.00 tokens/s\n") &&
	    strlen(small) == sizeof small - 1 &&
	    strncmp(small, "total duration:       2m16.440943797s\neval",
	    sizeof small - 1) == 0, "truncated summary, full length %zu", n);

	/* A decimal comma locale must not leak into the rates. */
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL ||
	    setlocale(LC_NUMERIC, "fr_FR.UTF-8") != NULL) {
		duration_summary(&st, buf, sizeof buf);
		ok(strstr(buf, "eval rate:            7.00 tokens/s\n") !=
		    NULL, "rates keep '.' under %s",
		    setlocale(LC_NUMERIC, NULL));
		setlocale(LC_NUMERIC, "C");
	} else
		diag("no decimal-comma locale installed: locale check skipped");
}

static void
test_print(void)
{
	struct duration_stats	 st;
	FILE			*f;
	char			 buf[256];
	size_t			 n;

	memset(&st, 0, sizeof st);
	st.eval_count = 7;
	st.eval_ns = SEC;
	f = tmpfile();
	if (f == NULL) {
		ok(0, "tmpfile");
		return;
	}
	ok(duration_summary_print(&st, f) == 0, "print returns 0");
	rewind(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	ok(strcmp(buf, "eval count:           7 token(s)\n"
	    "eval duration:        1s\n"
	    "eval rate:            7.00 tokens/s\n") == 0,
	    "print writes the block");
}

int
main(void)
{
	test_format();
	test_summary();
	test_print();
	return done_testing();
}
