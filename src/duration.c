/*
 * duration.c - Go's time.Duration.String() and ollama's timing summary.
 *
 * ollama prints its --verbose numbers with Go's formatting, and users
 * compare the two programs side by side, so the bytes must be the same:
 * the largest unit first, units below a second only for durations below a
 * second, trailing zeros of the fraction dropped.
 */
#include "config.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

#define NS_PER_US	1000ULL
#define NS_PER_MS	1000000ULL
#define NS_PER_S	1000000000ULL

/*
 * Writes the prec low decimal digits of v as a fraction ending at *w (the
 * text grows leftwards), without trailing zeros and without the point when
 * they are all zero.  Returns v with those digits removed.
 */
static uint64_t
put_frac(char *buf, size_t *w, uint64_t v, int prec)
{
	int	i, printing = 0;

	for (i = 0; i < prec; i++) {
		unsigned	digit = v % 10;

		printing = printing || digit != 0;
		if (printing)
			buf[--*w] = '0' + digit;
		v /= 10;
	}
	if (printing)
		buf[--*w] = '.';
	return v;
}

/* Writes v in decimal ending at *w, growing leftwards. */
static void
put_int(char *buf, size_t *w, uint64_t v)
{
	do {
		buf[--*w] = '0' + v % 10;
		v /= 10;
	} while (v != 0);
}

static void
put_str(char *buf, size_t *w, const char *s)
{
	size_t	n = strlen(s);

	*w -= n;
	memcpy(buf + *w, s, n);
}

size_t
duration_format(int64_t ns, char *buf, size_t cap)
{
	char		 tmp[DURATION_BUFSZ];
	size_t		 w = sizeof tmp, n;
	uint64_t	 u = (uint64_t)ns;
	int		 neg = ns < 0;

	/* Unsigned negation is exact even for INT64_MIN. */
	if (neg)
		u = -u;
	if (u == 0)
		put_str(tmp, &w, "0s");
	else if (u < NS_PER_S) {
		/* Below a second: the unit that makes the first digit non-zero. */
		static const struct {
			uint64_t	 below;
			const char	*unit;
			int		 prec;
		} small[] = {
			{ NS_PER_US, "ns", 0 },
			{ NS_PER_MS, "\xc2\xb5s", 3 },	/* U+00B5 MICRO SIGN */
			{ NS_PER_S, "ms", 6 },
		};
		size_t	i;

		for (i = 0; u >= small[i].below; i++)
			;
		put_str(tmp, &w, small[i].unit);
		u = put_frac(tmp, &w, u, small[i].prec);
		put_int(tmp, &w, u);
	} else {
		put_str(tmp, &w, "s");
		u = put_frac(tmp, &w, u, 9);
		put_int(tmp, &w, u % 60);
		u /= 60;
		if (u > 0) {
			put_str(tmp, &w, "m");
			put_int(tmp, &w, u % 60);
			u /= 60;
			if (u > 0) {
				put_str(tmp, &w, "h");
				put_int(tmp, &w, u);
			}
		}
	}
	if (neg)
		put_str(tmp, &w, "-");

	n = sizeof tmp - w;
	if (cap > 0) {
		size_t	copy = n < cap - 1 ? n : cap - 1;

		memcpy(buf, tmp + w, copy);
		buf[copy] = '\0';
	}
	return n;
}

/* Go's Duration.Seconds(): whole seconds plus the rest, so the rates
 * divide by exactly the double ollama divides by. */
static double
seconds(int64_t ns)
{
	int64_t	sec = ns / (int64_t)NS_PER_S, rest = ns % (int64_t)NS_PER_S;

	return (double)sec + (double)rest / 1e9;
}

/* An output that appends to a buffer, counting what did not fit. */
struct out {
	char	*buf;
	size_t	 cap;
	size_t	 len;
};

static void
out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	size_t	 room = o->len < o->cap ? o->cap - o->len : 0;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += n;
}

/* Labels are padded so that every value starts at column 23. */
static void
out_duration(struct out *o, const char *label, int64_t ns)
{
	char	d[DURATION_BUFSZ];

	duration_format(ns, d, sizeof d);
	out_printf(o, "%-22s%s\n", label, d);
}

/*
 * Go's "%.2f" ignores the locale; C's follows LC_NUMERIC, which a front
 * end calling setlocale(LC_ALL, "") for wide characters may have changed.
 * The digits are the same either way: put '.' back in place of the
 * locale's decimal point.
 */
static void
out_rate(struct out *o, const char *label, int64_t count, int64_t ns)
{
	char		 tmp[512];
	const char	*dp = localeconv()->decimal_point;
	size_t		 dplen = dp != NULL ? strlen(dp) : 1;
	int		 n;

	n = snprintf(tmp, sizeof tmp, "%.2f", (double)count / seconds(ns));
	if (n < 0 || (size_t)n >= sizeof tmp || (size_t)n < dplen + 3)
		return;
	out_printf(o, "%-22s%.*s.%s tokens/s\n", label,
	    (int)((size_t)n - 2 - dplen), tmp, tmp + n - 2);
}

/* Speculative decoding's counts; the rate in hundredths, no locale. */
static void
out_draft(struct out *o, int64_t count, int64_t accepted)
{
	int64_t	bp = count > 0 ? (accepted * 10000 + count / 2) / count : 0;

	out_printf(o, "%-22s%lld token(s)\n", "draft count:", (long long)count);
	out_printf(o, "%-22s%lld token(s)\n", "draft accepted:",
	    (long long)accepted);
	out_printf(o, "%-22s%lld.%02lld%%\n", "draft acceptance:",
	    (long long)(bp / 100), (long long)(bp % 100));
}

size_t
duration_summary(const struct duration_stats *st, char *buf, size_t cap)
{
	struct out	o = { buf, cap, 0 };

	if (cap > 0)
		buf[0] = '\0';
	if (st->total_ns > 0)
		out_duration(&o, "total duration:", st->total_ns);
	if (st->load_ns > 0)
		out_duration(&o, "load duration:", st->load_ns);
	if (st->prompt_eval_count > 0)
		out_printf(&o, "%-22s%lld token(s)\n", "prompt eval count:",
		    (long long)st->prompt_eval_count);
	if (st->prompt_eval_ns > 0) {
		out_duration(&o, "prompt eval duration:", st->prompt_eval_ns);
		out_rate(&o, "prompt eval rate:", st->prompt_eval_count,
		    st->prompt_eval_ns);
	}
	if (st->eval_count > 0)
		out_printf(&o, "%-22s%lld token(s)\n", "eval count:",
		    (long long)st->eval_count);
	if (st->eval_ns > 0) {
		out_duration(&o, "eval duration:", st->eval_ns);
		out_rate(&o, "eval rate:", st->eval_count, st->eval_ns);
	}
	if (st->draft_on)
		out_draft(&o, st->draft_count, st->draft_accepted);
	return o.len;
}

int
duration_summary_print(const struct duration_stats *st, FILE *f)
{
	/* Eight lines of at most 22 + 32 + "token(s)" bytes. */
	char	buf[1024];
	size_t	n;

	n = duration_summary(st, buf, sizeof buf);
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	if (fwrite(buf, 1, n, f) != n || fflush(f) != 0)
		return -1;
	return 0;
}
