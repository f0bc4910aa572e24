/*
 * tap.h - a tiny Test Anything Protocol emitter for automake's TAP driver.
 *
 * ok(cond, fmt, ...) prints one test line; skip_all(why) plans no test and exits
 * any test; done_testing() prints the plan and returns the exit status.
 */
#ifndef R1_TAP_H
#define R1_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline int
tap_ok(int cond, const char *fmt, ...)
{
	va_list	ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}
#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

static inline void
diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline void
skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);	/* the TAP driver reads the skip from the plan */
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
