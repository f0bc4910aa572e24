/*
 * gguf.h - read (mmap, split shards) and write GGUF files.
 *
 * The reader validates the whole file before returning it: every count,
 * length, dimension and offset is checked against the file, so a caller
 * may trust what it gets.  It knows nothing of models: keys and tensors
 * are looked up by name.
 */
#ifndef R1_GGUF_H
#define R1_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "types.h"

enum gguf_vtype {
	GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3,
	GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6, GGUF_BOOL = 7,
	GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11,
	GGUF_F64 = 12,
	GGUF_VTYPE_COUNT
};

/* A string inside the mapped file: not NUL-terminated. */
struct gguf_str {
	const char	*ptr;
	uint64_t	 len;
};

/*
 * A metadata value.  Scalars are decoded; an array points at its raw
 * little-endian items in the map (strings as u64 length + bytes, nested
 * arrays as their own headers): walk it with gguf_arr_*.
 */
struct gguf_value {
	enum gguf_vtype	 type;
	union {
		uint64_t	 u;	/* U8 U16 U32 U64 BOOL */
		int64_t		 i;	/* I8 I16 I32 I64 */
		double		 f;	/* F32 F64 */
		struct gguf_str	 s;
		struct {
			enum gguf_vtype	 type;
			uint64_t	 n;
			const uint8_t	*data;	/* first item */
			const uint8_t	*end;	/* one past the last item */
		} arr;
	};
};

struct gguf_kv {
	char			*key;	/* NUL-terminated copy */
	struct gguf_value	 v;
};

#define GGUF_MAX_NAME 64
#define GGUF_MAX_DIMS 4

struct gguf_tensor {
	char		 name[GGUF_MAX_NAME + 1];
	uint32_t	 n_dims;
	int64_t		 ne[GGUF_MAX_DIMS];	/* ne[0] is the row length; unused = 1 */
	uint32_t	 type;			/* enum ggml_type */
	uint64_t	 offset;		/* from the data section of its shard */
	uint64_t	 size;			/* bytes */
	const void	*data;			/* in the map */
	int		 shard;			/* index into the shard list */
};

struct gguf_shard {
	char		*path;
	int		 fd;
	const uint8_t	*map;
	size_t		 size;
	uint32_t	 version;
	uint64_t	 data_offset;	/* from the start of the file */
};

struct gguf_file {
	struct gguf_shard	*shards;
	int			 n_shards;
	struct gguf_kv		*kv;		/* the first shard's metadata */
	uint64_t		 n_kv;
	struct gguf_tensor	*tensors;	/* all shards', in file order */
	uint64_t		 n_tensors;
	uint32_t		 alignment;	/* the first shard's */
	struct gguf_tensor	**sorted;	/* private: by name, for lookup */
};

/*
 * Opens and validates path.  When path names a shard of a split model
 * (NAME-0000K-of-0000N.gguf) every shard is opened and the tensors of all
 * are presented as one list.  Returns NULL on failure with *cause set to a
 * malloc'd message ("not a GGUF file", "shard 3 of 5 missing: FILE") that the
 * caller frees.
 */
struct gguf_file *gguf_open(const char *path, char **cause);

/*
 * Parses NAME-0000K-of-0000N.gguf: returns the length of NAME and stores
 * K and N, or returns -1 when path is not named like a shard.
 */
int gguf_split_name(const char *path, int *k, int *n);

/* Unmaps and frees everything gguf_open returned; NULL is ignored. */
void gguf_close(struct gguf_file *g);

/*
 * The path of the open file whose map holds addr, or NULL: what a SIGBUS
 * handler names when a mapped file shrank under it (async-signal-safe; the
 * files are opened and closed by one thread at a time).
 */
const char *gguf_map_owner(const void *addr);

/* Returns the metadata entry named key, or NULL. */
const struct gguf_kv *gguf_find(const struct gguf_file *g, const char *key);

/*
 * Typed getters: return 0 and store the value when key exists and holds
 * a value of a compatible kind (any integer type for the integer getters
 * if it fits, F32/F64 for gguf_get_f32), -1 otherwise.  gguf_get_str
 * returns a malloc'd NUL-terminated copy.
 */
int gguf_get_u64(const struct gguf_file *g, const char *key, uint64_t *out);
int gguf_get_u32(const struct gguf_file *g, const char *key, uint32_t *out);
int gguf_get_i64(const struct gguf_file *g, const char *key, int64_t *out);
int gguf_get_f32(const struct gguf_file *g, const char *key, float *out);
int gguf_get_bool(const struct gguf_file *g, const char *key, int *out);
int gguf_get_str(const struct gguf_file *g, const char *key, char **out);

/*
 * Array iteration: gguf_arr_item(v, i, out) decodes item i of array v (a
 * validated value) into *out as a scalar, string or (nested) array value;
 * -1 when i is out of range.  Items of fixed-size types are O(1); strings
 * and arrays are O(i): to walk them, start at p = v->arr.data and call
 * p = gguf_arr_decode(v, p, &item) n times (each O(1) for strings), or
 * build gguf_arr_index once: a malloc'd table (the caller frees it, NULL
 * when out of memory) of n + 1 pointers, idx[i] the start of item i and
 * idx[n] the end, so gguf_arr_decode(v, idx[i], &item) is item i.
 */
int gguf_arr_item(const struct gguf_value *v, uint64_t i,
    struct gguf_value *out);
const uint8_t *gguf_arr_decode(const struct gguf_value *v, const uint8_t *p,
    struct gguf_value *out);
const uint8_t **gguf_arr_index(const struct gguf_value *v);

/* The elements of all its tensors: a model's parameter count. */
uint64_t gguf_n_elements(const struct gguf_file *g);

/* Returns the tensor named name, or NULL. */
const struct gguf_tensor *gguf_tensor_find(const struct gguf_file *g,
    const char *name);

/* Returns the size in bytes of one item of scalar value type t, 0 if not. */
size_t gguf_vtype_size(enum gguf_vtype t);

/* Returns the name of value type t ("u32", "string", ...). */
const char *gguf_vtype_name(enum gguf_vtype t);

/*
 * Writer.  Metadata and tensors are added in order (setting a key again
 * replaces its value in place); data is copied when written, not when
 * added (the pointer must stay valid until gguf_writer_write; NULL leaves
 * a hole that reads as zeros, so huge test files cost no disk).
 * general.alignment, if set, must be a u32 power of two.
 * gguf_writer_write checks the tensors as gguf_open would, writes a
 * temporary file beside path and renames it, so an interrupted write
 * leaves no partial file; it returns 0, or -1 with *cause set.
 */
struct gguf_writer;

struct gguf_writer *gguf_writer_new(void);
void gguf_writer_free(struct gguf_writer *w);
void gguf_writer_set_u16(struct gguf_writer *w, const char *key, uint16_t v);
void gguf_writer_set_u32(struct gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(struct gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_u64(struct gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_f32(struct gguf_writer *w, const char *key, float v);
void gguf_writer_set_bool(struct gguf_writer *w, const char *key, int v);
void gguf_writer_set_str(struct gguf_writer *w, const char *key,
    const char *v);
/* An array of n items of scalar type t, packed little-endian in data. */
void gguf_writer_set_arr(struct gguf_writer *w, const char *key,
    enum gguf_vtype t, const void *data, uint64_t n);
void gguf_writer_set_str_arr(struct gguf_writer *w, const char *key,
    const char *const *v, uint64_t n);
/*
 * Sets key to value v of any type; an array's items are copied raw from
 * v->arr.data to v->arr.end (so nested arrays are written as given).
 */
void gguf_writer_set(struct gguf_writer *w, const char *key,
    const struct gguf_value *v);
/* Copies a metadata entry of another file as it is (any type, arrays). */
void gguf_writer_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv);
void gguf_writer_add_tensor(struct gguf_writer *w, const char *name,
    uint32_t type, uint32_t n_dims, const int64_t *ne, const void *data);
int gguf_writer_write(struct gguf_writer *w, const char *path, char **cause);

#endif
