/*
 * fuzz-gguf.c - libFuzzer target for the GGUF reader (`make fuzz`).
 *
 * Each input is written to a file and opened, so gguf_open runs exactly as
 * on a model: mmap, validation, lookups.  The file is named as the first
 * of three shards, beside two valid shards 2 and 3 written at start, so
 * inputs saying split.count 3 (the seeds have some) reach the split code.
 * Whatever gguf_open accepts is then walked as a caller would, so that
 * anything validation lets through is also read.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"

static char	*fuzz_dir;
static char	*fuzz_path;

/* Writes shard no (1 or 2) of 3: two F32 tensors, six in all. */
static void
shard_write(const char *dir, int no)
{
	static const float	 zeros[8];
	static const int64_t	 ne[1] = { 8 };
	struct gguf_writer	*w = gguf_writer_new();
	char			 path[4096], name[16], *cause;
	int			 i;

	gguf_writer_set_u16(w, "split.no", (uint16_t)no);
	gguf_writer_set_u16(w, "split.count", 3);
	gguf_writer_set_i32(w, "split.tensors.count", 6);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof name, "s%d_%d", no, i);
		gguf_writer_add_tensor(w, name, 0, 1, ne, zeros);
	}
	snprintf(path, sizeof path, "%s/fz-%05d-of-00003.gguf", dir, no + 1);
	if (gguf_writer_write(w, path, &cause) != 0) {
		fprintf(stderr, "fuzz-gguf: %s: %s\n", path, cause);
		abort();
	}
	gguf_writer_free(w);
}

static void
fuzz_cleanup(void)
{
	char	path[4096];
	int	i;

	for (i = 1; i <= 3; i++) {
		snprintf(path, sizeof path, "%s/fz-%05d-of-00003.gguf",
		    fuzz_dir, i);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*dir;
	size_t		 n;

	/* Memory-backed if we can: the input is rewritten every run. */
	if (tmp == NULL && access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";

	n = strlen(tmp ? tmp : "/tmp") + 32;
	dir = malloc(n);
	snprintf(dir, n, "%s/fuzz-gguf.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	shard_write(dir, 1);
	shard_write(dir, 2);
	fuzz_path = malloc(n + 32);
	snprintf(fuzz_path, n + 32, "%s/fz-00001-of-00003.gguf", dir);
	fuzz_dir = dir;
	atexit(fuzz_cleanup);
}

/* Reads every item of every array, and every byte of every tensor. */
static unsigned
walk(const struct gguf_file *g)
{
	struct gguf_value	 item;
	const struct gguf_value	*v;
	const uint8_t		**idx, *p;
	const unsigned char	*d;
	unsigned		 sum = 0;
	uint64_t		 i, j, k;

	for (i = 0; i < g->n_kv; i++) {
		v = &g->kv[i].v;
		sum += (unsigned)strlen(g->kv[i].key);
		if (v->type == GGUF_STRING && v->s.len > 0)
			sum += (unsigned char)v->s.ptr[v->s.len - 1];
		if (v->type != GGUF_ARRAY)
			continue;
		p = v->arr.data;
		for (j = 0; j < v->arr.n && p != NULL; j++)
			p = gguf_arr_decode(v, p, &item);
		if (p != v->arr.end)
			abort();	/* the walk must end where validation did */
		if (v->arr.n > 0 && gguf_arr_item(v, v->arr.n - 1, &item) != 0)
			abort();
		if ((idx = gguf_arr_index(v)) != NULL) {
			if (idx[v->arr.n] != v->arr.end)
				abort();
			free(idx);
		}
	}
	for (i = 0; i < g->n_tensors; i++) {
		d = g->tensors[i].data;
		for (k = 0; k < g->tensors[i].size; k++)
			sum += d[k];
		if (gguf_tensor_find(g, g->tensors[i].name) != &g->tensors[i])
			abort();
	}
	return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_file	*g;
	char			*cause = NULL;
	uint64_t		 u;
	char			*s;

	FILE			*f;

	if (fuzz_path == NULL)
		fuzz_init();
	/* The previous input was unmapped by gguf_close: rewrite in place. */
	if ((f = fopen(fuzz_path, "wb")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();

	g = gguf_open(fuzz_path, &cause);
	if (g == NULL) {
		/* Every failure explains itself in one short line. */
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		return 0;
	}
	if (gguf_get_str(g, "general.architecture", &s) == 0)
		free(s);
	gguf_get_u64(g, "general.alignment", &u);
	(void)walk(g);
	gguf_close(g);
	return 0;
}
