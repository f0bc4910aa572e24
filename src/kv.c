/*
 * kv.c - the key/value cache.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "ops.h"
#include "util.h"

struct kv_layer {
	int	 k_width;
	int	 v_width;
	void	*k;
	void	*v;
};

struct kv {
	enum kv_type	 type;
	int		 n_layer;
	int		 n_ctx;
	size_t		 bytes;
	struct kv_layer	*layers;
};

static size_t
kv_elem_size(enum kv_type t)
{
	return t == KV_F32 ? sizeof(float) : sizeof(uint16_t);
}

struct kv *
kv_new(int n_layer, int n_ctx, const int *k_width, const int *v_width,
    enum kv_type type, char **cause)
{
	struct kv	*kv;
	size_t		 es = kv_elem_size(type), nk, nv;
	int		 i;

	kv = xcalloc(1, sizeof *kv);
	kv->type = type;
	kv->n_layer = n_layer;
	kv->n_ctx = n_ctx;
	kv->layers = xcalloc((size_t)n_layer, sizeof *kv->layers);
	for (i = 0; i < n_layer; i++) {
		struct kv_layer	*l = &kv->layers[i];

		l->k_width = k_width[i];
		l->v_width = v_width[i];
		nk = (size_t)n_ctx * (size_t)l->k_width * es;
		nv = (size_t)n_ctx * (size_t)l->v_width * es;
		/* malloc, not calloc: positions are written before read */
		if (nk != 0 && (l->k = malloc(nk)) == NULL)
			goto fail;
		if (nv != 0 && (l->v = malloc(nv)) == NULL)
			goto fail;
		kv->bytes += nk + nv;
	}
	return kv;
fail:
	*cause = xstrfmt("cannot allocate the KV cache (%d positions, "
	    "%zu MiB so far)", n_ctx, kv->bytes >> 20);
	kv_free(kv);
	return NULL;
}

void
kv_free(struct kv *kv)
{
	int	i;

	if (kv == NULL)
		return;
	for (i = 0; i < kv->n_layer; i++) {
		free(kv->layers[i].k);
		free(kv->layers[i].v);
	}
	free(kv->layers);
	free(kv);
}

static void
kv_put(enum kv_type t, void *dst, const float *src, size_t n)
{
	if (t == KV_F32)
		memcpy(dst, src, n * sizeof *src);
	else
		ops_f32_to_f16(dst, src, (int)n);
}

void
kv_store(struct kv *kv, int il, int pos, int n, const float *k,
    const float *v)
{
	struct kv_layer	*l = &kv->layers[il];
	size_t		 es = kv_elem_size(kv->type);

	if (l->k_width != 0)
		kv_put(kv->type, (char *)l->k + (size_t)pos * l->k_width * es,
		    k, (size_t)n * l->k_width);
	if (l->v_width != 0)
		kv_put(kv->type, (char *)l->v + (size_t)pos * l->v_width * es,
		    v, (size_t)n * l->v_width);
}

const void *
kv_keys(const struct kv *kv, int il)
{
	return kv->layers[il].k;
}

const void *
kv_values(const struct kv *kv, int il)
{
	return kv->layers[il].v;
}

enum kv_type
kv_type(const struct kv *kv)
{
	return kv->type;
}

size_t
kv_bytes(const struct kv *kv)
{
	return kv->bytes;
}

/* The cache's element types by name, as llama.cpp's -ctk spells them. */
static const struct {
	const char	*name;
	enum kv_type	 type;
} kv_types[] = {
	{ "f16", KV_F16 },
	{ "f32", KV_F32 },
};

const char *
kv_type_at(size_t i)
{
	return i < sizeof kv_types / sizeof kv_types[0] ? kv_types[i].name :
	    NULL;
}

int
kv_type_parse(const char *s, enum kv_type *out)
{
	size_t	i;

	for (i = 0; i < sizeof kv_types / sizeof kv_types[0]; i++) {
		if (strcasecmp(s, kv_types[i].name) == 0) {
			*out = kv_types[i].type;
			return 0;
		}
	}
	return -1;
}
