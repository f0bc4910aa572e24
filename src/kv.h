/*
 * kv.h - the key/value cache: per layer, one key row and one value row of
 * a width the architecture decides (full K and V heads for the dense
 * models; a compressed latent for MLA, with no value row), per position.
 */
#ifndef R1_KV_H
#define R1_KV_H

#include <stddef.h>
#include <stdint.h>

enum kv_type {
	KV_F16,		/* IEEE half, as llama.cpp's default cache */
	KV_F32
};

struct kv;

/*
 * Allocates a cache of n_ctx positions for n_layer layers, layer i
 * holding k_width[i] keys and v_width[i] values per position (0: none).
 * The memory is reserved, not touched: pages are only used as positions
 * fill.  Returns NULL with *cause set when it cannot be allocated.
 */
struct kv *kv_new(int n_layer, int n_ctx, const int *k_width,
    const int *v_width, enum kv_type type, char **cause);
void kv_free(struct kv *kv);

/*
 * Stores n positions starting at pos of layer il: k and v are n rows of
 * the layer's widths in F32 (v ignored when the width is 0), converted to
 * the cache's type.  The caller keeps pos + n <= n_ctx.
 */
void kv_store(struct kv *kv, int il, int pos, int n, const float *k,
    const float *v);

/* The layer's key or value rows, position 0 first, width apart. */
const void *kv_keys(const struct kv *kv, int il);
const void *kv_values(const struct kv *kv, int il);

enum kv_type kv_type(const struct kv *kv);

/* Bytes the full cache takes. */
size_t kv_bytes(const struct kv *kv);

/* Parses "f16" or "f32"; returns -1 for anything else. */
int kv_type_parse(const char *s, enum kv_type *out);

/* The name of the i-th element type ("f16", "f32"), NULL past the last. */
const char *kv_type_at(size_t i);

#endif
