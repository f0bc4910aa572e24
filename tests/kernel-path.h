/*
 * kernel-path.h - for the tests that run on every kernel path: choosing
 * a path and the log lines that say which paths ran (a `make check`
 * summary reads them from the tests' logs: keep their form).
 */
#ifndef R1_KERNEL_PATH_H
#define R1_KERNEL_PATH_H

#include <stdlib.h>

#include "quant.h"
#include "tap.h"

/*
 * Chooses the kernel path isa (R1CHAT_ISA and quant_init) and returns 1,
 * or returns 0 when this CPU lacks it (logged, and a skipped test) or it
 * cannot be chosen (a failed test).
 */
static inline int
kernel_path_choose(enum quant_isa isa)
{
	const char	*name = quant_isa_name(isa);
	char		*cause = NULL;

	if (!quant_isa_supported(isa)) {
		diag("kernel path: %s skipped: this CPU lacks it", name);
		ok(1, "%s # SKIP this CPU lacks it", name);
		return 0;
	}
	setenv("R1CHAT_ISA", name, 1);
	if (!ok(quant_init(&cause) == 0 && quant_isa() == isa,
	    "quant_init %s", name)) {
		diag("%s", cause != NULL ? cause : "");
		free(cause);
		return 0;
	}
	return 1;
}

/* Logs that the checks of path isa ran. */
static inline void
kernel_path_ran(enum quant_isa isa)
{
	diag("kernel path: %s ran", quant_isa_name(isa));
}

#endif
