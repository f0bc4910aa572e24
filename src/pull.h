/*
 * pull.h - models fetched into r1chat's store (store.h) over HTTP(S) with
 * libcurl: ollama's registry now; every file in byte ranges over parallel
 * connections, each resumable, each file checked against its SHA-256
 * before it takes its final name.
 */
#ifndef R1_PULL_H
#define R1_PULL_H

#include <stddef.h>
#include <stdint.h>

/* A file to fetch. */
struct pull_file {
	char		*label;		/* what progress calls it */
	char		*url;
	char		 hex[65];	/* its SHA-256, lowercase hex */
	uint64_t	 size;
	char		*path;		/* its final name in the store */
	uint64_t	 have;		/* bytes already on disk */
	int		 done;		/* already under its final name */
};

/* A model a repository offers (a repository named without a quant). */
struct pull_offer {
	char		*name;		/* the file's path, or a split's stem */
	uint64_t	 size;
	size_t		 n_files;
};

/* What a pull will fetch and write. */
struct pull_plan {
	char		*name;		/* the model's short name */
	char		*root;		/* r1chat's store */
	struct pull_file *files;
	size_t		 n_files;
	char		*manifest;	/* the manifest's text to write */
	char		*manifest_path;
	char		*token;		/* a bearer token, or NULL */
	struct pull_offer *offers;	/* no file chosen: what there is */
	size_t		 n_offers;
};

/* Where a pull is, for the progress shown. */
struct pull_progress {
	const struct pull_file *file;
	size_t		 index;		/* of file in the plan */
	uint64_t	 have;		/* bytes of file on disk */
	int		 finished;	/* file fetched and checked */
};

typedef void (*pull_progress_fn)(const struct pull_progress *, void *);

/*
 * Plans the pull of text: pull_plan_hub's for a hub's name (hf.co/,
 * ms.co/), else pull_plan_ollama's.
 */
int pull_plan(const char *text, const char *registry,
    struct pull_plan *plan, char **cause);

/*
 * Plans the pull of hf.co/OWNER/REPO:QUANT (the GGUF files whose path
 * has QUANT, case aside, between non-alphanumerics: all the shards of one
 * model, in a folder or not) or hf.co/OWNER/REPO/PATH.gguf (that file, or
 * all the shards of its model) from Hugging Face ($HF_ENDPOINT, e.g. a
 * mirror, else https://huggingface.co; $HF_TOKEN as a bearer token); the
 * same of ms.co/ (or modelscope.cn/) from ModelScope
 * ($MODELSCOPE_ENDPOINT, else https://$MODELSCOPE_DOMAIN, else
 * https://modelscope.cn).  OWNER/REPO alone fills plan->offers instead
 * of the files.  Returns 0, or -1 with *cause set: no file or several
 * models match, the hub's refusal, a listing without sizes or SHA-256s.
 */
int pull_plan_hub(const char *text, struct pull_plan *plan, char **cause);

/*
 * Plans the pull of text, an ollama name ([[HOST/]NS/]NAME[:TAG]) from
 * its registry, or registry (a URL, --registry) when not NULL: reads the
 * manifest and sees what of it is already on disk.  Returns 0 with *plan
 * filled (free with pull_plan_free), or -1 with *cause set: not a name,
 * the registry's refusal (404, 401, 429, ...) or a manifest r1chat
 * cannot use.
 */
int pull_plan_ollama(const char *text, const char *registry,
    struct pull_plan *plan, char **cause);

/* The bytes plan still has to fetch. */
uint64_t pull_plan_remaining(const struct pull_plan *plan);

/* The bytes free for r1chat's store where plan writes, or UINT64_MAX
 * when unknown. */
uint64_t pull_free_bytes(const struct pull_plan *plan);

/*
 * Fetches every file of plan not yet there, over at most connections
 * connections (byte ranges of a file on several), writing each to
 * PATH-partial, then, once its SHA-256 matches, renaming it PATH; then
 * writes the manifest.  progress, when not NULL, is called as bytes
 * arrive (a few times a second at most) and when a file is finished.
 * Returns 0, or -1 with *cause set: a network or disk error (what was
 * written stays for the next pull to resume), or a file whose SHA-256
 * does not match (it is discarded).
 */
int pull_run(struct pull_plan *plan, int connections, pull_progress_fn
    progress, void *arg, char **cause);

void pull_plan_free(struct pull_plan *plan);

#endif
