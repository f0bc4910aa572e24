/*
 * store.h - models by name: ollama's local store and r1chat's own, which
 * has ollama's layout so that one code path reads both.
 *
 * A store is a folder holding
 *
 *	manifests/HOST/NS/NAME/TAG	a JSON manifest (Docker's image
 *					manifest v2 shape, ollama's layers)
 *	blobs/sha256-HEX		each layer, named by its digest
 *
 * ollama's is $OLLAMA_MODELS, else ~/.ollama/models; r1chat's is
 * $XDG_DATA_HOME/r1chat/models, else ~/.local/share/r1chat/models.  A
 * name is ollama's: [[HOST/]NS/]NAME[:TAG], HOST registry.ollama.ai, NS
 * library and TAG latest when left out.  The GGUF is the layer of media
 * type application/vnd.ollama.image.model, used where it lies.
 */
#ifndef R1_STORE_H
#define R1_STORE_H

#include <stdint.h>
#include <time.h>

/* A name's parts, each malloc'd. */
struct store_name {
	char	*host;
	char	*ns;
	char	*model;
	char	*tag;
	int	 tag_given;	/* 0: the default, latest */
	char	*file;		/* a hub's OWNER/REPO/FILE.gguf's FILE, or NULL */
};

/*
 * The hubs' hosts in names: Hugging Face's (huggingface.co is read as it)
 * and ModelScope's (ms.co is read as it).
 */
#define STORE_HF_HOST	"hf.co"
#define STORE_MS_HOST	"modelscope.cn"

/* Whether host (a name's) is a hub's, hf.co or modelscope.cn. */
int store_hub(const char *host);

/* The stores, in the order names are looked up in. */
enum store_kind { STORE_OLLAMA, STORE_OWN, STORE_COUNT };

/* A model found in a store. */
struct store_model {
	char		*path;		/* the GGUF to open (first shard) */
	char		*name;		/* its short name; NULL: a path given */
	enum store_kind	 store;
	char		*manifest;	/* the manifest's path */
	uint64_t	 size;		/* every layer's bytes */
	time_t		 mtime;		/* the manifest's */
	char		*template;	/* the layers' text, NULL when none */
	char		*params;	/* JSON */
	char		*system;
};

/* The media type of the GGUF layer, and the prefix of ollama's others. */
#define STORE_MEDIA_MODEL	"application/vnd.ollama.image.model"

/*
 * Parses text as a model name into *n (free with store_name_free).
 * Returns 0, or -1 when text is no name (then it can only be a path): a
 * name has one to three parts of [A-Za-z0-9._-] (the host also ':'),
 * then an optional :TAG, and does not end in .gguf; or it is a hub's,
 * hf.co/OWNER/REPO[:QUANT] or hf.co/OWNER/REPO/PATH.gguf (Hugging Face;
 * ms.co/ or modelscope.cn/ for ModelScope), whose tag is QUANT, or PATH's
 * file name without .gguf and shard number.
 */
int store_name_parse(const char *text, struct store_name *n);
void store_name_free(struct store_name *n);

/*
 * The length of path without its shard suffix (-00001-of-00003.gguf) or,
 * for one file, its .gguf.
 */
size_t store_gguf_stem(const char *path);

/* The short name of n as ollama lists it (deepseek-r1:7b), malloc'd. */
char *store_name_format(const struct store_name *n);

/*
 * The folder of store k (a fixed spot under $HOME when the environment
 * names none), malloc'd, or NULL when neither it nor $HOME is set.
 */
char *store_root(enum store_kind k);


/*
 * What MODEL the user gave: a file that exists is always that file (a
 * name never hides it); else a name, looked up in ollama's store, then in
 * r1chat's; else a path left for the opener to report.  Returns 0 with *m
 * filled (free with store_model_free), 1 with *cause set for a name in
 * neither store, or -1 with *cause set: a manifest unreadable or without
 * a GGUF layer, a missing blob.
 */
int store_resolve(const char *arg, struct store_model *m, char **cause);

/* Frees what *m holds. */
void store_model_free(struct store_model *m);

/*
 * Every model of both stores, ollama's first, each sorted by name: *out
 * malloc'd, *n entries (free with store_list_free).  A manifest that
 * cannot be read is left out.  Returns 0.
 */
int store_list(struct store_model **out, size_t *n);
void store_list_free(struct store_model *list, size_t n);

/*
 * Removes the model named text from r1chat's store: its manifest, then
 * the blobs no other manifest there uses.  Refuses (-1, *cause) a model
 * only in ollama's store, which ollama manages, and an unknown name.
 */
int store_remove(const char *text, char **cause);

#endif
