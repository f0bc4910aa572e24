/*
 * pull-hub.c - the plan of a pull from a hub of git-LFS repositories,
 * Hugging Face (or a mirror of it) or ModelScope: the repository's file
 * listing, the GGUF files a name picks, and a manifest of ollama's shape
 * for r1chat's store (store.h).
 *
 * Hugging Face, as huggingface_hub's list_repo_tree and hf_hub_download
 * speak it:
 *
 *	GET {endpoint}/api/models/{owner}/{repo}/tree/main?recursive=true
 *	    [Authorization: Bearer {HF_TOKEN}]
 *	-> 200, a JSON array of entries:
 *	   {"type": "file", "oid": GIT_SHA1, "size": N, "path": "A/B.gguf",
 *	    "lfs": {"oid": SHA256_HEX, "size": N, "pointerSize": 135}}
 *	   or {"type": "directory", "oid": ..., "size": 0, "path": "A"};
 *	   401 or 404 for a private or unknown repository, 429 when busy
 *	GET {endpoint}/{owner}/{repo}/resolve/main/{path} [Range: bytes=A-B]
 *	-> 302 to the storage (a CDN), which answers 206 with the range
 *
 * {endpoint} is $HF_ENDPOINT (a mirror, as huggingface_hub reads it) or
 * https://huggingface.co.  A GGUF is stored in LFS, whose oid is the
 * SHA-256 the file is checked against.  Listings of more than a thousand
 * files come in pages (a Link header); a GGUF repository has fewer.
 *
 * ModelScope, as its modelscope.hub (HubApi.get_model_files,
 * model_file_download) speaks it:
 *
 *	GET {endpoint}/api/v1/models/{owner}/{repo}/repo/files
 *	    ?Revision=master&Recursive=true
 *	-> 200, {"Code": 200, "Data": {"Files": [{"Name": "B.gguf",
 *	   "Path": "A/B.gguf", "Type": "blob", "Size": N, "Sha256": HEX, ...},
 *	   {"Type": "tree", "Path": "A", ...}]}, "Success": true}
 *	GET {endpoint}/api/v1/models/{owner}/{repo}/repo?Revision=master
 *	    &FilePath={path, %-escaped} [Range: bytes=A-B]
 *	-> the file, 206 with the range
 *
 * {endpoint} is $MODELSCOPE_ENDPOINT (a URL, r1chat's own, as HF_ENDPOINT),
 * else https:// and $MODELSCOPE_DOMAIN (as modelscope.hub reads it), else
 * https://modelscope.cn.  Private repositories, which want a login
 * cookie, are not supported.
 */
#define _GNU_SOURCE	/* strcasestr */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "pull.h"
#include "pull-int.h"
#include "store.h"
#include "util.h"

#define MODEL_MEDIA	STORE_MEDIA_MODEL
/* Models named in a "several match" message. */
#define NAMES_SHOWN	6

/* A hub: where its listing and files are, and how its listing reads. */
struct hub {
	const char	*host;		/* in names (store.h) */
	const char	*endpoint_env;	/* a URL */
	const char	*domain_env;	/* https://$it, or NULL */
	const char	*endpoint;	/* the default */
	const char	*token_env;	/* a bearer token, or NULL */
	const char	*listing;	/* endpoint, owner, repo */
	const char	*file_url;	/* endpoint, owner, repo, escaped path */
	const char	*path_keep;	/* what the escaped path leaves */
	const char	*files_in[2];	/* the keys to the entries' array */
	const char	*path_key;
	const char	*type_key;
	const char	*dir_type;	/* the type of a folder, skipped */
	const char	*hash_in;	/* SHA-256 and size in, or NULL: entry */
	const char	*hash_key;
	const char	*size_key;
};

static const struct hub hubs[] = {
	{ STORE_HF_HOST, "HF_ENDPOINT", NULL, "https://huggingface.co",
	    "HF_TOKEN", "%s/api/models/%s/%s/tree/main?recursive=true",
	    "%s/%s/%s/resolve/main/%s", "/", { NULL, NULL }, "path", "type",
	    "directory", "lfs", "oid", "size" },
	{ STORE_MS_HOST, "MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN",
	    "https://modelscope.cn", NULL,
	    "%s/api/v1/models/%s/%s/repo/files?Revision=master&Recursive=true",
	    "%s/api/v1/models/%s/%s/repo?Revision=master&FilePath=%s", "",
	    { "Data", "Files" }, "Path", "Type", "tree", NULL, "Sha256",
	    "Size" },
};
#define N_HUBS	(sizeof hubs / sizeof hubs[0])

/* A GGUF file of the listing. */
struct hub_file {
	const char	*path;
	const char	*hex;	/* LFS's SHA-256, or NULL */
	uint64_t	 size;
	size_t		 stem;	/* store_gguf_stem(path): its model */
};

static int
word_char(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Whether quant is in path, case aside, between non-word characters. */
static int
quant_in(const char *path, const char *quant)
{
	size_t	n = strlen(quant), i;

	for (i = 0; path[i] != '\0'; i++) {
		if (strncasecmp(path + i, quant, n) == 0 &&
		    (i == 0 || !word_char(path[i - 1])) &&
		    !word_char(path[i + n]))
			return 1;
	}
	return 0;
}

/* Whether files a and b are of one model (the same stem). */
static int
same_model(const struct hub_file *a, const struct hub_file *b)
{
	return a->stem == b->stem && strncmp(a->path, b->path, a->stem) == 0;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct hub_file *)a)->path,
	    ((const struct hub_file *)b)->path);
}

/* A string member of o, or NULL. */
static const char *
str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * The GGUF files of hub h's listing j (no mmproj: a vision projector is
 * no model), sorted by path, into *out (malloc'd).  Returns their count.
 */
static size_t
gguf_files(const struct hub *h, json_t *j, struct hub_file **out)
{
	struct hub_file	*f = NULL;
	json_t		*e, *at;
	const char	*path, *hex, *type;
	size_t		 i, n = 0, len;

	json_array_foreach(j, i, e) {
		path = str_of(e, h->path_key);
		type = str_of(e, h->type_key);
		if (path == NULL || (len = strlen(path)) < 5 ||
		    strcasecmp(path + len - 5, ".gguf") != 0 ||
		    strcasestr(path, "mmproj") != NULL || type == NULL ||
		    strcmp(type, h->dir_type) == 0)
			continue;
		at = h->hash_in != NULL ? json_object_get(e, h->hash_in) : e;
		hex = str_of(at, h->hash_key);
		f = xreallocarray(f, n + 1, sizeof *f);
		f[n].path = path;
		f[n].hex = hex != NULL && strlen(hex) == 64 &&
		    strspn(hex, "0123456789abcdef") == 64 ? hex : NULL;
		f[n].size = (uint64_t)json_integer_value(json_object_get(
		    at != NULL ? at : e, h->size_key));
		f[n].stem = store_gguf_stem(path);
		n++;
	}
	if (n > 0)
		qsort(f, n, sizeof *f, by_path);
	*out = f;
	return n;
}

/* The models of files as offers: a file, or a split's shards together. */
static void
offers_fill(struct pull_plan *plan, const struct hub_file *f, size_t n)
{
	struct pull_offer	*o;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (i > 0 && same_model(&f[i - 1], &f[i])) {
			o = &plan->offers[plan->n_offers - 1];
			o->size += f[i].size;
			o->n_files++;
			continue;
		}
		plan->offers = xreallocarray(plan->offers, plan->n_offers + 1,
		    sizeof *plan->offers);
		o = &plan->offers[plan->n_offers++];
		o->name = xstrndup(f[i].path, f[i].stem);
		o->size = f[i].size;
		o->n_files = 1;
	}
}

/*
 * Marks in pick[] the files n names: a path's model, or the model whose
 * paths have the quant.  Returns the first picked, or -1 with *cause
 * (none, or several models).
 */
static long
files_pick(const struct store_name *n, const char *text,
    const struct hub_file *f, size_t nf, int *pick, char **cause)
{
	long	 first = -1;
	size_t	 i, models = 0;
	char	*list = xstrdup(""), *t;

	for (i = 0; i < nf; i++) {
		if (n->file != NULL)
			pick[i] = strcmp(f[i].path, n->file) == 0;
		else
			pick[i] = quant_in(f[i].path, n->tag);
	}
	/* a shard picks its model's other shards */
	for (i = 0; n->file != NULL && i < nf; i++) {
		if (pick[i])
			first = (long)i;
	}
	for (i = 0; first >= 0 && i < nf; i++)
		pick[i] = same_model(&f[first], &f[i]);
	first = -1;
	for (i = 0; i < nf; i++) {
		if (!pick[i] || (first >= 0 && same_model(&f[i - 1], &f[i])))
			continue;
		if (first < 0)
			first = (long)i;
		if (models++ < NAMES_SHOWN) {
			t = xstrfmt("%s%s%.*s", list, models > 1 ? ", " : "",
			    (int)f[i].stem, f[i].path);
			free(list);
			list = t;
		}
	}
	if (models == 0)
		*cause = xstrfmt("%s: no GGUF file %s in the repository", text,
		    n->file != NULL ? "of that name" : "has that quant");
	else if (models > 1)
		*cause = xstrfmt("%s: %zu models match (%s%s): name the file, "
		    "hf.co/%s/%s/PATH.gguf", text, models, list,
		    models > NAMES_SHOWN ? ", ..." : "", n->ns, n->model);
	free(list);
	return models == 1 ? first : -1;
}

/* The manifest of the files picked, in ollama's shape. */
static char *
manifest_make(const struct hub_file *f, size_t nf, const int *pick)
{
	json_t	*m = json_object(), *layers = json_array(), *l;
	char	*s, digest[7 + 65];
	size_t	 i;

	for (i = 0; i < nf; i++) {
		if (!pick[i])
			continue;
		snprintf(digest, sizeof digest, "sha256:%s", f[i].hex);
		l = json_object();
		json_object_set_new(l, "mediaType", json_string(MODEL_MEDIA));
		json_object_set_new(l, "digest", json_string(digest));
		json_object_set_new(l, "size", json_integer((json_int_t)
		    f[i].size));
		json_array_append_new(layers, l);
	}
	json_object_set_new(m, "schemaVersion", json_integer(2));
	json_object_set_new(m, "mediaType", json_string(
	    "application/vnd.docker.distribution.manifest.v2+json"));
	json_object_set_new(m, "layers", layers);
	s = json_dumps(m, JSON_INDENT(1));
	json_decref(m);
	return s;
}

/* Fills plan's files and manifest from listing j; 0 or -1 with *cause. */
static int
plan_files(struct pull_plan *plan, const struct hub *h,
    const struct store_name *n, const char *text, const char *endpoint,
    json_t *j, char **cause)
{
	struct hub_file	*f;
	size_t		 nf, i;
	long		 first;
	int		*pick, rc = -1;
	char		*url, *path;
	const char	*label;

	nf = gguf_files(h, j, &f);
	if (!n->tag_given) {
		offers_fill(plan, f, nf);
		free(f);
		if (nf == 0)
			*cause = xstrfmt("%s: no GGUF file in the repository",
			    text);
		return nf > 0 ? 0 : -1;
	}
	pick = xcalloc(nf + 1, sizeof *pick);
	if ((first = files_pick(n, text, f, nf, pick, cause)) < 0)
		goto out;
	for (i = 0; i < nf; i++) {
		if (pick[i] && f[i].hex == NULL) {
			*cause = xstrfmt("%s: %s: no SHA-256 in the listing "
			    "(not in LFS)", text, f[i].path);
			goto out;
		}
	}
	for (i = 0; i < nf; i++) {
		if (!pick[i])
			continue;
		label = strrchr(f[i].path, '/') != NULL ?
		    strrchr(f[i].path, '/') + 1 : f[i].path;
		path = util_url_escape(f[i].path, h->path_keep);
		url = xstrfmt(h->file_url, endpoint, n->ns, n->model, path);
		pull_plan_add(plan, f[i].hex, f[i].size, label, url);
		free(url);
		free(path);
	}
	plan->manifest = manifest_make(f, nf, pick);
	rc = 0;
out:
	free(pick);
	free(f);
	return rc;
}

/* Hub h's endpoint, malloc'd, without a trailing slash. */
static char *
hub_endpoint(const struct hub *h)
{
	const char	*env;
	char		*e;

	if ((env = getenv(h->endpoint_env)) != NULL && *env != '\0')
		e = xstrdup(env);
	else if (h->domain_env != NULL && (env = getenv(h->domain_env)) !=
	    NULL && *env != '\0')
		e = xstrfmt("https://%s", env);
	else
		e = xstrdup(h->endpoint);
	if (e[0] != '\0' && e[strlen(e) - 1] == '/')
		e[strlen(e) - 1] = '\0';
	return e;
}

/* The array of entries in hub h's listing j (borrowed), or NULL. */
static json_t *
listing_files(const struct hub *h, json_t *j)
{
	size_t	i;

	for (i = 0; i < 2 && h->files_in[i] != NULL; i++)
		j = json_object_get(j, h->files_in[i]);
	return json_is_array(j) ? j : NULL;
}

int
pull_plan_hub(const char *text, struct pull_plan *plan, char **cause)
{
	struct store_name	 n;
	const struct hub	*h = NULL;
	json_t			*j = NULL, *files;
	const char		*env;
	char			*endpoint = NULL, *url = NULL, *listing = NULL;
	size_t			 i;
	int			 rc = -1;

	memset(plan, 0, sizeof *plan);
	if (store_name_parse(text, &n) != 0) {
		*cause = xstrfmt("%s: not a model name", text);
		return -1;
	}
	for (i = 0; i < N_HUBS && h == NULL; i++) {
		if (strcmp(n.host, hubs[i].host) == 0)
			h = &hubs[i];
	}
	if (h == NULL) {
		*cause = xstrfmt("%s: not a hub's name (hf.co/OWNER/REPO:QUANT, "
		    "ms.co/OWNER/REPO:QUANT)", text);
		goto out;
	}
	endpoint = hub_endpoint(h);
	if (h->token_env != NULL && (env = getenv(h->token_env)) != NULL &&
	    *env != '\0')
		plan->token = xstrdup(env);
	if (pull_plan_begin(plan, &n, cause) != 0)
		goto out;
	url = xstrfmt(h->listing, endpoint, n.ns, n.model);
	if (pull_text_get(url, "application/json", plan->token, text,
	    &listing, cause, NULL) != 0)
		goto out;
	j = json_loads(listing, 0, NULL);
	if ((files = listing_files(h, j)) == NULL) {
		*cause = xstrfmt("%s: the hub's answer is no file listing",
		    text);
		goto out;
	}
	rc = plan_files(plan, h, &n, text, endpoint, files, cause);
out:
	json_decref(j);
	free(listing);
	free(url);
	free(endpoint);
	store_name_free(&n);
	if (rc != 0)
		pull_plan_free(plan);
	return rc;
}
