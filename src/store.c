/*
 * store.c - models by name in ollama's store and in r1chat's own (the
 * same layout, store.h), listed and removed.
 *
 * A manifest, as ollama writes it (server/images.go's Manifest, Docker's
 * image manifest v2):
 *
 *	{ "schemaVersion": 2,
 *	  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
 *	  "config": { "mediaType": "application/vnd.docker.container.image.v1+json",
 *		      "digest": "sha256:HEX", "size": N },
 *	  "layers": [ { "mediaType": "application/vnd.ollama.image.model",
 *			"digest": "sha256:HEX", "size": N }, ... ] }
 *
 * The other layers r1chat reads are ...image.template, ...image.params
 * (a JSON object: "stop": [...], "temperature": 0.6, ...) and
 * ...image.system; the digest "sha256:HEX" is the blob blobs/sha256-HEX.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "gguf.h"
#include "store.h"
#include "util.h"

#define DEFAULT_HOST	"registry.ollama.ai"
#define DEFAULT_NS	"library"
#define DEFAULT_TAG	"latest"
#define MEDIA_PREFIX	"application/vnd.ollama.image."
/* A manifest or a text layer larger than this is no one's. */
#define TEXT_MAX	(1 << 20)
#define DIGEST_HEX	64

/* Whether s[0..n) is a non-empty part of a name (the host: ports too). */
static int
part_valid(const char *s, size_t n, int host)
{
	static const char	chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t			i;

	if (n == 0 || n > 255 || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (strchr(chars, s[i]) == NULL && !(host && s[i] == ':'))
			return 0;
	}
	return 1;
}

size_t
store_gguf_stem(const char *path)
{
	size_t	n = strlen(path);
	int	stem, k, of;

	if ((stem = gguf_split_name(path, &k, &of)) >= 0)
		return (size_t)stem;
	if (n >= 5 && strcasecmp(path + n - 5, ".gguf") == 0)
		return n - 5;
	return n;
}

/* The hubs' prefixes in names, and the host each stands for. */
static const struct {
	const char	*prefix;
	const char	*host;
} hub_prefixes[] = {
	{ "hf.co/", STORE_HF_HOST },
	{ "huggingface.co/", STORE_HF_HOST },
	{ "ms.co/", STORE_MS_HOST },
	{ "modelscope.cn/", STORE_MS_HOST },
};
#define N_HUB_PREFIXES	(sizeof hub_prefixes / sizeof hub_prefixes[0])

int
store_hub(const char *host)
{
	size_t	i;

	for (i = 0; i < N_HUB_PREFIXES; i++) {
		if (strcmp(host, hub_prefixes[i].host) == 0)
			return 1;
	}
	return 0;
}

/*
 * A hub's names, after its prefix p: OWNER/REPO[:QUANT] or
 * OWNER/REPO/FILE.
 */
static int
hub_parse(const char *p, const char *host, struct store_name *n)
{
	const char	*repo, *end;
	size_t		 stem;

	if ((repo = strchr(p, '/')) == NULL ||
	    !part_valid(p, (size_t)(repo - p), 0))
		return -1;
	repo++;
	end = repo + strcspn(repo, "/:");
	if (!part_valid(repo, (size_t)(end - repo), 0))
		return -1;
	n->host = xstrdup(host);
	n->ns = xstrndup(p, (size_t)(repo - 1 - p));
	n->model = xstrndup(repo, (size_t)(end - repo));
	if (*end == '/') {
		n->file = xstrdup(end + 1);
		stem = store_gguf_stem(n->file);
		p = strrchr(n->file, '/') != NULL ? strrchr(n->file, '/') + 1 :
		    n->file;
		n->tag = xstrndup(p, stem - (size_t)(p - n->file));
		n->tag_given = 1;
		if (stem == strlen(n->file) || strstr(n->file, "..") != NULL ||
		    !part_valid(n->tag, strlen(n->tag), 0))
			goto bad;
	} else if (*end == ':') {
		n->tag = xstrdup(end + 1);
		n->tag_given = 1;
		if (!part_valid(n->tag, strlen(n->tag), 0))
			goto bad;
	} else
		n->tag = xstrdup(DEFAULT_TAG);
	return 0;
bad:
	store_name_free(n);
	return -1;
}

int
store_name_parse(const char *text, struct store_name *n)
{
	const char	*parts[3], *end, *slash, *colon, *tag = NULL;
	size_t		 len[3], k = 0, i, tlen = 0;
	const char	*p = text;

	memset(n, 0, sizeof *n);
	for (i = 0; i < N_HUB_PREFIXES; i++) {
		tlen = strlen(hub_prefixes[i].prefix);
		if (strncmp(text, hub_prefixes[i].prefix, tlen) == 0)
			return hub_parse(text + tlen, hub_prefixes[i].host, n);
	}
	tlen = 0;
	slash = strrchr(text, '/');
	colon = strchr(slash != NULL ? slash : text, ':');
	end = colon != NULL ? colon : text + strlen(text);
	if (colon != NULL) {
		tag = colon + 1;
		tlen = strlen(tag);
		if (!part_valid(tag, tlen, 0) || tlen > 128)
			return -1;
	}
	while (p < end) {
		if (k == 3)
			return -1;
		slash = memchr(p, '/', (size_t)(end - p));
		parts[k] = p;
		len[k] = slash != NULL ? (size_t)(slash - p) : (size_t)(end - p);
		p += len[k] + (slash != NULL);
		if (slash != NULL && p == end)
			return -1;
		k++;
	}
	if (k == 0)
		return -1;
	for (i = 0; i < k; i++) {
		if (!part_valid(parts[i], len[i], k == 3 && i == 0))
			return -1;
	}
	if (len[k - 1] >= 5 &&
	    strncasecmp(parts[k - 1] + len[k - 1] - 5, ".gguf", 5) == 0)
		return -1;
	n->host = k == 3 ? xstrndup(parts[0], len[0]) : xstrdup(DEFAULT_HOST);
	n->ns = k >= 2 ? xstrndup(parts[k - 2], len[k - 2]) :
	    xstrdup(DEFAULT_NS);
	n->model = xstrndup(parts[k - 1], len[k - 1]);
	n->tag = tag != NULL ? xstrndup(tag, tlen) : xstrdup(DEFAULT_TAG);
	n->tag_given = tag != NULL;
	return 0;
}

void
store_name_free(struct store_name *n)
{
	free(n->host);
	free(n->ns);
	free(n->model);
	free(n->tag);
	free(n->file);
	memset(n, 0, sizeof *n);
}

char *
store_name_format(const struct store_name *n)
{
	if (strcmp(n->host, DEFAULT_HOST) != 0)
		return xstrfmt("%s/%s/%s:%s", n->host, n->ns, n->model, n->tag);
	if (strcmp(n->ns, DEFAULT_NS) != 0)
		return xstrfmt("%s/%s:%s", n->ns, n->model, n->tag);
	return xstrfmt("%s:%s", n->model, n->tag);
}

/* Where each store is: the variable naming it, else under $HOME. */
static const struct {
	const char	*env;		/* the folder itself */
	const char	*env_base;	/* a folder it is under */
	const char	*under_base;
	const char	*under_home;
} roots[STORE_COUNT] = {
	[STORE_OLLAMA] = { "OLLAMA_MODELS", NULL, NULL, ".ollama/models" },
	[STORE_OWN] = { NULL, "XDG_DATA_HOME", "r1chat/models",
	    ".local/share/r1chat/models" },
};

char *
store_root(enum store_kind k)
{
	const char	*v;

	if (roots[k].env != NULL && (v = getenv(roots[k].env)) != NULL &&
	    *v != '\0')
		return xstrdup(v);
	if (roots[k].env_base != NULL &&
	    (v = getenv(roots[k].env_base)) != NULL && *v == '/')
		return xstrfmt("%s/%s", v, roots[k].under_base);
	if ((v = getenv("HOME")) == NULL || *v == '\0')
		return NULL;
	return xstrfmt("%s/%s", v, roots[k].under_home);
}

/*
 * The blob of digest "sha256:HEX" under root, malloc'd, or NULL when the
 * digest is not of that form (a manifest cannot point outside blobs/).
 */
static char *
blob_path(const char *root, const char *digest)
{
	size_t	i;

	if (strncmp(digest, "sha256:", 7) != 0 ||
	    strlen(digest + 7) != DIGEST_HEX)
		return NULL;
	for (i = 7; i < 7 + DIGEST_HEX; i++) {
		if (strchr("0123456789abcdef", digest[i]) == NULL)
			return NULL;
	}
	return xstrfmt("%s/blobs/sha256-%s", root, digest + 7);
}

/* The text of a small file, malloc'd and NUL-terminated, or NULL. */
static char *
text_read(const char *path)
{
	FILE	*f;
	char	*s;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    n > TEXT_MAX || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	s = xmalloc((size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	} else
		s[n] = '\0';
	fclose(f);
	return s;
}

/* The text layers a model shows, by media type suffix. */
static const struct {
	const char	*suffix;
	size_t		 field;
} text_layers[] = {
	{ "template", offsetof(struct store_model, template) },
	{ "params", offsetof(struct store_model, params) },
	{ "system", offsetof(struct store_model, system) },
};

/*
 * The first of the names a split model's shards (blobs, in order) have
 * for gguf_open to find them all: links r1chat's store keeps in
 * shards/HEX/ (HEX: the first blob's), made when missing, as
 * model-0000K-of-0000N.gguf.  Returns it malloc'd, or NULL with *cause.
 */
static char *
shards_link(char **blobs, size_t n, char **cause)
{
	char	*root, *dir, *link, *first = NULL, target[4096];
	size_t	 i;
	ssize_t	 k;

	if ((root = store_root(STORE_OWN)) == NULL) {
		*cause = xstrdup("no store for a split model's links: neither "
		    "XDG_DATA_HOME nor HOME is set");
		return NULL;
	}
	dir = xstrfmt("%s/shards/%s", root, strrchr(blobs[0], '/') + 8);
	for (i = 0; i < n; i++) {
		link = xstrfmt("%s/model-%05zu-of-%05zu.gguf", dir, i + 1, n);
		k = readlink(link, target, sizeof target - 1);
		if (k < 0 || (size_t)k != strlen(blobs[i]) ||
		    memcmp(target, blobs[i], (size_t)k) != 0) {
			unlink(link);
			if (util_mkdirs(link, 0755, NULL) != 0 ||
			    symlink(blobs[i], link) != 0) {
				*cause = xstrfmt("%s: %s", link,
				    strerror(errno));
				free(link);
				break;
			}
		}
		if (i == 0)
			first = link;
		else
			free(link);
	}
	if (i < n) {
		free(first);
		first = NULL;
	}
	free(dir);
	free(root);
	return first;
}

/*
 * Reads the manifest at path in the store at root into *m: the GGUF
 * layer's blob, the text layers, the size.  Returns 0, or -1 with *cause.
 */
static int
manifest_read(const char *root, const char *path, struct store_model *m,
    char **cause)
{
	json_t		*j, *layers, *l, *config;
	json_error_t	 err;
	const char	*type, *digest;
	char		*blob, *text, **shards = NULL;
	struct stat	 st;
	size_t		 i, k, n_shards = 0;
	int		 rc = -1;

	if (stat(path, &st) != 0) {
		*cause = xstrfmt("%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_size > TEXT_MAX || (text = text_read(path)) == NULL) {
		*cause = xstrfmt("%s: not a manifest", path);
		return -1;
	}
	j = json_loads(text, 0, &err);
	free(text);
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		*cause = xstrfmt("%s: not a manifest", path);
		json_decref(j);
		return -1;
	}
	m->manifest = xstrdup(path);
	m->mtime = st.st_mtime;
	config = json_object_get(j, "config");
	m->size = (uint64_t)json_integer_value(json_object_get(config, "size"));
	json_array_foreach(layers, i, l) {
		type = json_string_value(json_object_get(l, "mediaType"));
		digest = json_string_value(json_object_get(l, "digest"));
		if (type == NULL || digest == NULL ||
		    (blob = blob_path(root, digest)) == NULL)
			continue;
		m->size += (uint64_t)json_integer_value(json_object_get(l,
		    "size"));
		if (strcmp(type, STORE_MEDIA_MODEL) == 0) {
			shards = xreallocarray(shards, n_shards + 1,
			    sizeof *shards);
			shards[n_shards++] = blob;
			continue;
		}
		for (k = 0; k < sizeof text_layers / sizeof text_layers[0];
		    k++) {
			char	**field = (char **)((char *)m +
			    text_layers[k].field);

			if (strncmp(type, MEDIA_PREFIX, strlen(MEDIA_PREFIX))
			    == 0 && strcmp(type + strlen(MEDIA_PREFIX),
			    text_layers[k].suffix) == 0 && *field == NULL)
				*field = text_read(blob);
		}
		free(blob);
	}
	json_decref(j);
	for (i = 0; i < n_shards; i++) {
		if (access(shards[i], R_OK) != 0) {
			*cause = xstrfmt("%s: %s", shards[i], strerror(errno));
			goto out;
		}
	}
	if (n_shards == 0)
		*cause = xstrfmt("%s: no GGUF layer (%s)", path,
		    STORE_MEDIA_MODEL);
	else if (n_shards == 1)
		m->path = xstrdup(shards[0]);
	else
		m->path = shards_link(shards, n_shards, cause);
	rc = m->path != NULL ? 0 : -1;
out:
	for (i = 0; i < n_shards; i++)
		free(shards[i]);
	free(shards);
	return rc;
}

/* The manifest of n in the store at root, malloc'd. */
static char *
manifest_path(const char *root, const struct store_name *n)
{
	return xstrfmt("%s/manifests/%s/%s/%s/%s", root, n->host, n->ns,
	    n->model, n->tag);
}

/* A folder's entry looked for, case aside. */
struct ci_find {
	const char	*want;
	char		*found;		/* its path, malloc'd */
};

static int
ci_entry(const char *dir, const char *name, void *arg)
{
	struct ci_find	*f = arg;

	if (strcasecmp(name, f->want) != 0)
		return 0;
	f->found = xstrfmt("%s/%s", dir, name);
	return 1;
}

/*
 * n's manifest in the store at root with the parts' case aside, as
 * ollama matches names (Deepseek-R1:7B is deepseek-r1:7b): its path,
 * malloc'd, or NULL.
 */
static char *
manifest_path_ci(const char *root, const struct store_name *n)
{
	const char	*parts[4] = { n->host, n->ns, n->model, n->tag };
	struct ci_find	 f;
	char		*dir = xstrfmt("%s/manifests", root);
	size_t		 i;

	for (i = 0; i < 4 && dir != NULL; i++) {
		f.want = parts[i];
		f.found = NULL;
		util_dir_each(dir, ci_entry, &f);
		free(dir);
		dir = f.found;
	}
	return dir;
}

/*
 * Looks n up in the stores from first on (its exact spelling, else case
 * aside): 0 with *m filled, 1 when no store has it, -1 with *cause on a
 * broken manifest.
 */
static int
name_find(const struct store_name *n, enum store_kind first,
    struct store_model *m, char **cause)
{
	enum store_kind	 k;
	char		*root, *path;
	int		 rc = 1;

	for (k = first; rc == 1 && k < STORE_COUNT; k++) {
		if ((root = store_root(k)) == NULL)
			continue;
		path = manifest_path(root, n);
		if (access(path, F_OK) != 0) {
			free(path);
			path = manifest_path_ci(root, n);
		}
		if (path != NULL && access(path, F_OK) == 0) {
			m->store = k;
			m->name = store_name_format(n);
			rc = manifest_read(root, path, m, cause);
		}
		free(path);
		free(root);
	}
	return rc;
}

int
store_resolve(const char *arg, struct store_model *m, char **cause)
{
	struct store_name	n;
	int			rc;

	memset(m, 0, sizeof *m);
	if (access(arg, F_OK) == 0 || store_name_parse(arg, &n) != 0) {
		m->path = xstrdup(arg);
		return 0;
	}
	rc = name_find(&n, STORE_OLLAMA, m, cause);
	store_name_free(&n);
	if (rc == 1)
		*cause = xstrfmt("%s: no such model here (r1chat pull %s "
		    "fetches it)", arg, arg);
	if (rc != 0)
		store_model_free(m);
	return rc;
}

void
store_model_free(struct store_model *m)
{
	free(m->path);
	free(m->name);
	free(m->manifest);
	free(m->template);
	free(m->params);
	free(m->system);
	memset(m, 0, sizeof *m);
}

/* A walk of manifests/HOST/NS/NAME/TAG: the parts found so far. */
struct walk {
	const char	*root;
	enum store_kind	 kind;
	const char	*parts[4];
	int		 depth;
	struct store_model *list;
	size_t		 n;
};

static int
walk_entry(const char *dir, const char *name, void *arg)
{
	struct walk		*w = arg;
	struct store_name	 n;
	struct store_model	 m;
	char			*path, *cause = NULL;

	path = xstrfmt("%s/%s", dir, name);
	w->parts[w->depth] = name;
	if (w->depth < 3) {
		w->depth++;
		util_dir_each(path, walk_entry, w);
		w->depth--;
		free(path);
		return 0;
	}
	memset(&m, 0, sizeof m);
	n.host = (char *)w->parts[0];
	n.ns = (char *)w->parts[1];
	n.model = (char *)w->parts[2];
	n.tag = (char *)w->parts[3];
	if (manifest_read(w->root, path, &m, &cause) == 0) {
		m.name = store_name_format(&n);
		m.store = w->kind;
		w->list = xreallocarray(w->list, w->n + 1, sizeof *w->list);
		w->list[w->n++] = m;
	} else
		store_model_free(&m);
	free(cause);
	free(path);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	const struct store_model *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Appends the models of store k to w's list, sorted by name. */
static void
store_walk(enum store_kind k, struct walk *w)
{
	char	*root, *dir;
	size_t	 first = w->n;

	if ((root = store_root(k)) == NULL)
		return;
	dir = xstrfmt("%s/manifests", root);
	w->root = root;
	w->kind = k;
	w->depth = 0;
	util_dir_each(dir, walk_entry, w);
	if (w->n > first)	/* w->list may be NULL: nothing found */
		qsort(w->list + first, w->n - first, sizeof *w->list,
		    by_name);
	free(dir);
	free(root);
}

int
store_list(struct store_model **out, size_t *n)
{
	struct walk	w;
	enum store_kind	k;

	memset(&w, 0, sizeof w);
	for (k = 0; k < STORE_COUNT; k++)
		store_walk(k, &w);
	*out = w.list;
	*n = w.n;
	return 0;
}

void
store_list_free(struct store_model *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		store_model_free(&list[i]);
	free(list);
}

/* The digests of the manifest at path (its config and layers), as JSON. */
static json_t *
manifest_digests(const char *path)
{
	json_t		*j, *out = json_array(), *l;
	char		*text;
	size_t		 i;

	if ((text = text_read(path)) == NULL)
		return out;
	j = json_loads(text, 0, NULL);
	free(text);
	json_array_append(out, json_object_get(json_object_get(j, "config"),
	    "digest"));
	json_array_foreach(json_object_get(j, "layers"), i, l)
		json_array_append(out, json_object_get(l, "digest"));
	json_decref(j);
	return out;
}

static int
unlink_entry(const char *dir, const char *name, void *arg)
{
	char	*path = xstrfmt("%s/%s", dir, name);

	unlink(path);
	free(path);
	return 0;
}

/*
 * Removes the blobs of digests no manifest under root names any more,
 * and the links to the shards of a split model whose first they were.
 */
static void
blobs_unused_remove(const char *root, json_t *digests)
{
	struct walk	 w;
	json_t		*used, *d, *u;
	size_t		 i, k, l;
	char		*blob;
	int		 keep;

	memset(&w, 0, sizeof w);
	store_walk(STORE_OWN, &w);
	used = json_array();
	for (i = 0; i < w.n; i++) {
		u = manifest_digests(w.list[i].manifest);
		json_array_extend(used, u);
		json_decref(u);
	}
	store_list_free(w.list, w.n);
	json_array_foreach(digests, i, d) {
		keep = 0;
		json_array_foreach(used, k, u)
			keep |= json_equal(d, u);
		for (l = 0; l < i; l++)
			keep |= json_equal(d, json_array_get(digests, l));
		if (!keep && json_is_string(d) &&
		    (blob = blob_path(root, json_string_value(d))) != NULL) {
			unlink(blob);
			free(blob);
			blob = xstrfmt("%s/shards/%s", root,
			    json_string_value(d) + 7);
			util_dir_each(blob, unlink_entry, NULL);
			rmdir(blob);
			free(blob);
		}
	}
	json_decref(used);
}

int
store_remove(const char *text, char **cause)
{
	struct store_name	 n;
	struct store_model	 m;
	json_t			*digests;
	char			*root, *dir, *slash, *why = NULL;
	int			 rc;

	if (store_name_parse(text, &n) != 0) {
		*cause = xstrfmt("%s: not a model name", text);
		return -1;
	}
	memset(&m, 0, sizeof m);
	if ((rc = name_find(&n, STORE_OWN, &m, cause)) == 1) {
		store_model_free(&m);
		if (name_find(&n, STORE_OLLAMA, &m, &why) == 0)
			*cause = xstrfmt("%s: in ollama's store, which r1chat "
			    "leaves alone (ollama rm %s removes it)", text,
			    text);
		else
			*cause = xstrfmt("%s: no such model in r1chat's store",
			    text);
		free(why);
		rc = -1;
	}
	if (rc != 0) {
		store_model_free(&m);
		store_name_free(&n);
		return -1;
	}
	digests = manifest_digests(m.manifest);
	if (unlink(m.manifest) != 0) {
		*cause = xstrfmt("%s: %s", m.manifest, strerror(errno));
		rc = -1;
	} else {
		/* the manifest's folders, up to manifests/, when empty */
		dir = xstrdup(m.manifest);
		while ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if ((slash = strrchr(dir, '/')) == NULL ||
			    strcmp(slash, "/manifests") == 0 || rmdir(dir) != 0)
				break;
		}
		free(dir);
		root = store_root(STORE_OWN);
		blobs_unused_remove(root, digests);
		free(root);
	}
	json_decref(digests);
	store_model_free(&m);
	store_name_free(&n);
	return rc;
}
