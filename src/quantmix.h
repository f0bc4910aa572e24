/*
 * quantmix.h - which type each tensor gets when a model is quantized to a
 * file type (llama_ftype) such as Q4_K_M: llama.cpp's per-tensor rules
 * (src/llama-quant.cpp, llama_tensor_get_type), so that a file made here
 * has the tensor types llama.cpp's own quantizer would give it.
 *
 * The rules look at a tensor's name, shape and place among its kind (the
 * n-th attn_v, the n-th ffn_down), so each tensor is asked about once, in
 * llama.cpp's order: by layer (blk.N), the others first, then by name.
 * A file written layer by layer gives the same counts in file order.
 */
#ifndef R1_QUANTMIX_H
#define R1_QUANTMIX_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

/* What the rules need to know of the model, from its metadata. */
struct quantmix_model {
	const char	*arch;		/* general.architecture */
	int		 n_layer;	/* {arch}.block_count */
	int		 n_head;	/* {arch}.attention.head_count */
	int		 n_head_kv;	/* .head_count_kv, else n_head */
	int		 n_expert;	/* {arch}.expert_count, else 0 */
};

struct quantmix {
	uint32_t	 ftype;
	enum ggml_type	 default_type;
	int		 n_layer;
	int		 n_gqa;
	int		 n_expert;
	int		 is_70b;
	int		 falcon;	/* falcon has rules of its own */
	int		 tied_embeddings;	/* no output.weight */
	int		 n_attn_v;
	int		 i_attn_v;
	int		 i_ffn_down;
	int		 i_ffn_gate;
	int		 i_ffn_up;
	int		 n_fallback;	/* tensors given a smaller block */
};

/*
 * Looks up a file type by its name ("Q4_K_M", "q4_k_m"; "Q4_K" is
 * Q4_K_M as in llama-quantize).  Returns 0 and stores the llama_ftype, or
 * -1 when r1chat cannot make that file type.
 */
int quantmix_ftype(const char *name, uint32_t *ftype);

/* Returns the names of the file types quantmix_ftype knows, for usage. */
const char *quantmix_ftype_names(void);

/*
 * Prepares the rules for quantizing model m to ftype; names are the n
 * tensor names of the file in order (the rules count some of them first).
 */
void quantmix_init(struct quantmix *q, uint32_t ftype,
    const struct quantmix_model *m, const char *const *names, size_t n);

/*
 * Returns the type for the next tensor, named name, of n_dims dimensions
 * ne, now of type cur: cur itself for tensors left alone (1-D, norms,
 * anything not ending in "weight").  Call once per tensor, in the order
 * above.
 */
uint32_t quantmix_type(struct quantmix *q, const char *name, uint32_t n_dims,
    const int64_t *ne, uint32_t cur);

#endif
