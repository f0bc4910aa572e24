/*
 * duration.h - durations as Go's time.Duration prints them, and ollama's
 * --verbose summary block built from them.
 */
#ifndef R1_DURATION_H
#define R1_DURATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Enough for any int64 duration ("-2562047h47m16.854775808s") and a NUL. */
#define DURATION_BUFSZ 32

/*
 * Writes ns nanoseconds as Go's time.Duration.String() does ("2m16.44s",
 * "539.138037ms", "1.5µs", "0s", "3h0m0s") into buf of cap bytes, always
 * NUL-terminated when cap > 0.  Returns the length of the full text, which
 * exceeds cap - 1 when it was truncated (as snprintf).
 */
size_t duration_format(int64_t ns, char *buf, size_t cap);

/* What one answer cost; a field that is 0 (or less) is left out. */
struct duration_stats {
	int64_t		total_ns;
	int64_t		load_ns;
	int64_t		prompt_eval_count;
	int64_t		prompt_eval_ns;
	int64_t		eval_count;
	int64_t		eval_ns;
	int		draft_on;	/* speculative decoding: the two below */
	int64_t		draft_count;	/* tokens guessed */
	int64_t		draft_accepted;	/* of them, taken */
};

/*
 * Writes ollama's --verbose block ("total duration:       2m16.44s\n" ...,
 * values from column 23, each line only when its value is > 0, the rates
 * with their durations), then with draft_on the guesses' three lines
 * ("draft count:", "draft accepted:", "draft acceptance:" as a percentage)
 * into buf of cap bytes, NUL-terminated when cap > 0.
 * Returns the length of the full text, as snprintf.
 */
size_t duration_summary(const struct duration_stats *st, char *buf,
    size_t cap);

/* Writes the same block to f.  Returns 0, or -1 on a write error. */
int duration_summary_print(const struct duration_stats *st, FILE *f);

#endif
