/*
 * bench-tok.c - tokenizer benchmark and comparison helper (not a test).
 *
 *   bench-tok time MODEL FILE [-r N]       tokenize FILE N times, print ms
 *   bench-tok tokfile MODEL INP [--special] one " id id ..." line per case
 *                                          of INP, as `llref tokfile` does
 *
 * tokfile output compares with the reference's byte for byte (cmp), which
 * is how new text is checked against llama.cpp during development.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tok.h"
#include "util.h"

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

int
main(int argc, char **argv)
{
	struct gguf_file	*g;
	struct tok		*t;
	char			*cause = NULL, *warning = NULL, *text, *p, *e;
	const char		*sep = "\n__ggml_vocab_test__\n";
	int32_t			*ids;
	size_t			 len, n, i, k;
	int64_t			 t0, t1, best = INT64_MAX;
	int			 reps = 1, r, special;

	if (argc < 4) {
		fprintf(stderr, "usage: bench-tok time|tokfile MODEL FILE\n");
		return 2;
	}
	t0 = util_now_ns();
	if ((g = gguf_open(argv[2], &cause)) == NULL ||
	    (t = tok_open(g, &warning, &cause)) == NULL) {
		fprintf(stderr, "bench-tok: %s\n", cause);
		return 1;
	}
	gguf_close(g);
	t1 = util_now_ns();
	if (warning != NULL)
		fprintf(stderr, "bench-tok: warning: %s\n", warning);
	if ((text = slurp(argv[3], &len)) == NULL) {
		perror(argv[3]);
		return 1;
	}
	if (strcmp(argv[1], "tokfile") == 0) {
		special = argc > 4 && strcmp(argv[4], "--special") == 0;
		for (p = text; p != NULL && *p != '\0';) {
			e = strstr(p, sep);
			k = e != NULL ? (size_t)(e - p) : strlen(p);
			if (tok_encode(t, p, k, 0, special, &ids, &n,
			    &cause) != 0) {
				fprintf(stderr, "bench-tok: %s\n", cause);
				return 1;
			}
			for (i = 0; i < n; i++)
				printf(" %d", ids[i]);
			printf("\n");
			free(ids);
			p = e != NULL ? e + strlen(sep) : NULL;
		}
		return 0;
	}
	if (argc > 5 && strcmp(argv[4], "-r") == 0)
		reps = atoi(argv[5]);
	for (r = 0; r < reps; r++) {
		int64_t	a = util_now_ns(), d;

		if (tok_encode(t, text, len, 0, 1, &ids, &n, &cause) != 0) {
			fprintf(stderr, "bench-tok: %s\n", cause);
			return 1;
		}
		d = util_now_ns() - a;
		if (d < best)
			best = d;
		free(ids);
	}
	printf("load %.1f ms, %zu bytes -> %zu tokens in %.1f ms (best of "
	    "%d), %.2f MB/s\n", (double)(t1 - t0) / 1e6, len, n,
	    (double)best / 1e6, reps, (double)len / ((double)best / 1e9) / 1e6);
	tok_free(t);
	free(text);
	return 0;
}
