/*
 * tap.h - a tiny Test Anything Protocol emitter for automake's TAP driver.
 *
 * ok(cond, fmt, ...) prints one test line; skip_all(why) plans no test and exits
 * any test; bail_out(why) stops the run as an error; done_testing() prints
 * the plan and returns the exit status.  testdata() names the test data.
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

static inline void
bail_out(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(99);	/* the TAP driver reports an ERROR */
}

/*
 * Returns the test data directory: $R1CHAT_TESTDATA (`make check` sets
 * it, by default to the source tree's tests/data), else tests/data below
 * the current directory.  The data is part of the source tree, so a test
 * that does not find it must fail, not skip.
 */
static inline const char *
testdata(void)
{
	const char	*dir = getenv("R1CHAT_TESTDATA");

	return dir != NULL && *dir != '\0' ? dir : "tests/data";
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
