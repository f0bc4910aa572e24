/*
 * fuzz-sse.c - libFuzzer target for the Server-Sent Events parser (`make
 * fuzz`).
 *
 * The input: four bytes seeding the cuts, then the stream.  It is fed cut
 * as the seed says to one parser and whole to another: both must give the
 * same events (type, data, length, the data NUL-terminated) and the same
 * verdict.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-split.h"
#include "sse.h"

#define HEAD	4

/* The events of a stream, each as its type, a NUL, its length, its data. */
struct got {
	char	*p;
	size_t	 len;
};

static void
got_add(struct got *g, const void *p, size_t n)
{
	if ((g->p = realloc(g->p, g->len + n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(g->p + g->len, p, n);
	g->len += n;
}

static int
on_event(const char *type, const char *data, size_t len, void *arg)
{
	struct got	*g = arg;

	if (type == NULL || data == NULL || data[len] != '\0')
		abort();
	got_add(g, type, strlen(type) + 1);
	got_add(g, &len, sizeof len);
	got_add(g, data, len);
	return 0;
}

/* Feeds the n bytes of s, cut as sp says (NULL: whole); the verdict. */
static int
run(const char *s, size_t n, struct split *sp, struct got *g)
{
	struct sse	*p = sse_new(on_event, g);
	char		*cause = NULL;
	size_t		 off = 0, k;
	int		 rc = 0;

	if (p == NULL)
		abort();
	while (off < n && rc == 0) {
		k = sp != NULL ? split_next(sp, n - off) : n - off;
		rc = sse_push(p, s + off, k, &cause);
		off += k;
	}
	if (rc < 0) {
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
	}
	sse_free(p);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct got	 cut = { 0 }, whole = { 0 };
	struct split	 sp;

	if (size < HEAD)
		return 0;
	split_init(&sp, data, HEAD);
	if (run((const char *)data + HEAD, size - HEAD, &sp, &cut) !=
	    run((const char *)data + HEAD, size - HEAD, NULL, &whole))
		abort();
	if (cut.len != whole.len ||
	    (cut.len > 0 && memcmp(cut.p, whole.p, cut.len) != 0))
		abort();
	free(cut.p);
	free(whole.p);
	return 0;
}
