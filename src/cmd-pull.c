/*
 * cmd-pull.c - `r1chat pull NAME [--registry URL] [--connections N]`:
 * the model fetched into r1chat's store (pull.c), with the size and the
 * room on the disk said first, then a progress bar on a terminal (bytes,
 * rate, time left), a line a file otherwise.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fit.h"
#include "options.h"
#include "pull.h"
#include "residency.h"
#include "util.h"

#define BAR_WIDTH	25
#define DEFAULT_CONNECTIONS 4

/* The progress of one file: when it started, with how much on disk. */
struct shown {
	int		 tty;
	size_t		 index;
	int64_t		 t0;
	uint64_t	 have0;
};

/* "1m05s", "42s": a time left. */
static char *
eta(double seconds)
{
	if (seconds >= 3600)
		return xstrfmt("%dh%02dm", (int)(seconds / 3600),
		    (int)(seconds / 60) % 60);
	if (seconds >= 60)
		return xstrfmt("%dm%02ds", (int)(seconds / 60),
		    (int)seconds % 60);
	return xstrfmt("%ds", (int)seconds);
}

static void
on_progress(const struct pull_progress *p, void *arg)
{
	struct shown	*s = arg;
	const struct pull_file *f = p->file;
	char		*have, *size, *rate, *left, bar[BAR_WIDTH + 1];
	double		 dt, bps;
	int		 fill, pct;

	if (p->index != s->index || s->t0 == 0) {
		s->index = p->index;
		s->t0 = util_now_ns();
		s->have0 = p->have;
	}
	dt = (double)(util_now_ns() - s->t0) / 1e9;
	bps = dt > 0 ? (double)(p->have - s->have0) / dt : 0;
	size = cmd_bytes(f->size);
	if (!s->tty) {
		if (p->finished)
			fprintf(stderr, "pulling %s: %s, sha256 checked\n",
			    f->label, size);
		free(size);
		return;
	}
	pct = f->size > 0 ? (int)(100 * p->have / f->size) : 100;
	fill = f->size > 0 ? (int)(BAR_WIDTH * p->have / f->size) : BAR_WIDTH;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, ' ', (size_t)(BAR_WIDTH - fill));
	bar[BAR_WIDTH] = '\0';
	have = cmd_bytes(p->have);
	rate = cmd_bytes((uint64_t)bps);
	left = bps > 0 ? eta((double)(f->size - p->have) / bps) :
	    xstrdup("?");
	fprintf(stderr, "\rpulling %s: %3d%% [%s] %s/%s  %s/s  %s   %s",
	    f->label, pct, bar, have, size, rate, p->finished ? "" : left,
	    p->finished ? "\n" : "");
	fflush(stderr);
	free(have);
	free(size);
	free(rate);
	free(left);
}

/*
 * Whether a model of size bytes fits ram ("yes", "no", "?" when ram is
 * 0), and the tokens/s to expect from bandwidth bw were a token to read
 * it all, into *tps (malloc'd, "?" when unknown).
 */
static const char *
fit_words(uint64_t size, uint64_t ram, double bw, char **tps)
{
	*tps = bw > 0 && size > 0 ? xstrfmt("%.1f", bw * FIT_EFFICIENCY /
	    (double)size) : xstrdup("?");
	return ram == 0 ? "?" : size <= ram ? "yes" : "no";
}

/*
 * A repository named without a quant: the models it offers, a line each,
 * with whether the file fits the memory there is and the generation rate
 * to expect, as if every byte were read a token (a mixture of experts
 * reads less): before any download, so the user picks.
 */
static void
offers_print(const struct pull_plan *plan, const char *text)
{
	uint64_t	 ram = residency_ram();
	double		 bw = fit_bandwidth();
	size_t		 i, w = 4;
	char		*size, *tps, *mem;
	const char	*fits;

	for (i = 0; i < plan->n_offers; i++) {
		if (strlen(plan->offers[i].name) > w)
			w = strlen(plan->offers[i].name);
	}
	printf("%-*s    %-8s    %-6s    %-4s    %s\n", (int)w, "FILE", "SIZE",
	    "SHARDS", "FITS", "TOKENS/S");
	for (i = 0; i < plan->n_offers; i++) {
		size = cmd_bytes(plan->offers[i].size);
		fits = fit_words(plan->offers[i].size, ram, bw, &tps);
		printf("%-*s    %-8s    %-6zu    %-4s    %s\n", (int)w,
		    plan->offers[i].name, size, plan->offers[i].n_files, fits,
		    tps);
		free(size);
		free(tps);
	}
	mem = cmd_bytes(ram);
	fprintf(stderr, "fits: the file in the %s of memory there is; "
	    "tokens/s: an estimate, as if a token read the whole file\n"
	    "pick one: r1chat pull %s:QUANT (or %s/FILE.gguf)\n", mem, text,
	    text);
	free(mem);
}

int
cmd_pull_ask(struct options *o, const char *cause)
{
	char	line[64];

	fprintf(stderr, "r1chat: %s\npull %s now? [y/N] ", cause, o->model);
	fflush(stderr);
	if (fgets(line, sizeof line, stdin) == NULL ||
	    (strcmp(line, "y\n") != 0 && strcmp(line, "yes\n") != 0 &&
	    strcmp(line, "Y\n") != 0))
		return 1;
	return cmd_pull(o) != 0;
}

int
cmd_pull(struct options *o)
{
	struct pull_plan	 plan;
	struct shown		 s;
	uint64_t		 total = 0, need, room, ram;
	char			*cause = NULL, *a, *b, *tps;
	const char		*fits;
	size_t			 i;
	int			 rc = 1;

	if (o->n_args > 0) {
		cmd_error("pull: %s: one model at a time", o->args[0]);
		return 2;
	}
	if (pull_plan(o->model, o->registry, &plan, &cause) != 0) {
		cmd_error("pull: %s", cause);
		free(cause);
		return 1;
	}
	if (plan.n_offers > 0) {
		offers_print(&plan, o->model);
		rc = 0;
		goto out;
	}
	for (i = 0; i < plan.n_files; i++)
		total += plan.files[i].size;
	need = pull_plan_remaining(&plan);
	a = cmd_bytes(total);
	b = cmd_bytes(total - need);
	fprintf(stderr, "pulling %s: %zu file%s, %s%s%s%s\n", plan.name,
	    plan.n_files, plan.n_files == 1 ? "" : "s", a, need < total ? " (" : "", need < total ? b : "",
	    need < total ? " already here)" : "");
	free(a);
	free(b);
	/* before paying for the download: will it fit, how fast */
	ram = residency_ram();
	fits = fit_words(total, ram, fit_bandwidth(), &tps);
	a = cmd_bytes(ram);
	fprintf(stderr, "fits: %s (in the %s of memory there is); about %s "
	    "tokens/s, an estimate (r1chat show %s says more)\n", fits,
	    ram > 0 ? a : "?", tps, plan.name);
	free(a);
	free(tps);
	if ((room = pull_free_bytes(&plan)) < need) {
		a = cmd_bytes(need);
		b = cmd_bytes(room);
		cmd_error("pull: %s: needs %s more, the disk has %s free (%s)",
		    plan.name, a, b, plan.root);
		free(a);
		free(b);
		goto out;
	}
	memset(&s, 0, sizeof s);
	s.tty = isatty(STDERR_FILENO);
	if (pull_run(&plan, OPT_OR(o->connections, DEFAULT_CONNECTIONS),
	    on_progress, &s, &cause) != 0) {
		if (s.tty)
			fputc('\n', stderr);
		cmd_error("pull: %s: %s", plan.name, cause);
		free(cause);
		goto out;
	}
	fprintf(stderr, "success: %s\n", plan.name);
	rc = 0;
out:
	pull_plan_free(&plan);
	return rc;
}
