/*
 * pull.c - a model fetched into r1chat's store: ollama's registry
 * protocol, then every file in byte ranges over parallel connections
 * (libcurl's multi interface, one thread), resumable, checked.
 *
 * ollama's registry is Docker's registry HTTP API v2 (the OCI
 * distribution spec), as ollama's server/images.go speaks it:
 *
 *	GET {registry}/v2/{ns}/{name}/manifests/{tag}
 *	    Accept: application/vnd.docker.distribution.manifest.v2+json
 *	-> 200, the manifest (store.c shows its shape); 404 with
 *	   {"errors":[{"code":"MANIFEST_UNKNOWN","message":...}]} for an
 *	   unknown name or tag; 401 or 429 likewise
 *	GET {registry}/v2/{ns}/{name}/blobs/sha256:{hex}
 *	    [Range: bytes=A-B]
 *	-> 307 to the storage's URL (registry.ollama.ai sends its blobs from
 *	   a CDN), which answers 206 with the range, or 200 with it all
 *
 * {registry} is https://HOST (registry.ollama.ai) or --registry's URL.
 * A registry that wants a token (Docker's token authentication, as
 * ollama's registry client follows it) answers the manifest's GET with
 *
 *	401, WWW-Authenticate: Bearer realm="URL",service="S",scope="SCOPE"
 *	GET {realm}?service={S}&scope={SCOPE}
 *	-> 200, {"token": T} (or "access_token")
 *
 * and T goes as "Authorization: Bearer T" with the manifest's GET again
 * and every blob's.  (ollama's public models need none.)
 *
 * On disk, a file being fetched is PATH-partial (its bytes at their
 * offsets, holes where none arrived yet) and PATH-partial.parts: a header
 * (magic, size, part size) and, for each part, the bytes of it written.
 * A part's count is written after its bytes, so a pull killed at any
 * moment resumes from what is on disk and asks no byte twice.  The file
 * takes its final name once its SHA-256 is the digest's.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pull.h"
#include "pull-int.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

#define MANIFEST_ACCEPT	"application/vnd.docker.distribution.manifest.v2+json"
/* The most of a manifest or a listing read into memory. */
#define MANIFEST_MAX	(4 << 20)
#define PARTS_MAGIC	"r1part1\n"
/*
 * A part: at least 1 MiB (a smaller file is one request), at most 64 MiB
 * (a slow connection holds up little at the end), else a quarter of a
 * connection's share.  The size is kept in .parts, so a resumed pull cuts
 * the file the same way whatever its --connections.
 */
#define PART_MIN	((uint64_t)1 << 20)
#define PART_MAX	((uint64_t)64 << 20)
/* Tries of a part that brings no byte before the pull gives up. */
#define PART_TRIES	3
/* Progress calls, at most this often (ns). */
#define PROGRESS_NS	100000000LL
#define HASH_CHUNK	(1 << 20)

/* What a registry's refusal means, by HTTP status. */
static const struct {
	long		 code;
	const char	*why;
} refusals[] = {
	{ 400, "the registry refused the request" },
	{ 401, "unauthorized: the registry wants a login" },
	{ 403, "forbidden by the registry" },
	{ 404, "no such model in the registry" },
	{ 416, "the registry refused the byte range" },
	{ 429, "too many requests: the registry asks to try again later" },
};

/* The cause for a response of status code (HTTP code) about what. */
static char *
status_cause(const char *what, long code)
{
	size_t	i;

	for (i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		if (refusals[i].code == code)
			return xstrfmt("%s: %s (HTTP %ld)", what,
			    refusals[i].why, code);
	}
	return xstrfmt("%s: the server answered HTTP %ld", what, code);
}

/* Once for the process: libcurl's global state. */
static void
curl_once(void)
{
	static int	done;

	if (!done)
		curl_global_init(CURL_GLOBAL_DEFAULT);
	done = 1;
}

/*
 * A handle for url: HTTP(S) only, redirects followed (to HTTP(S)), a
 * stalled transfer given up after a minute; *headers (free with
 * curl_slist_free_all) has accept and the bearer token, when given.
 */
static CURL *
easy_new(const char *url, const char *accept, const char *token,
    struct curl_slist **headers)
{
	CURL	*h;
	char	*s;

	curl_once();
	if ((h = curl_easy_init()) == NULL)
		return NULL;
	*headers = NULL;
	if (accept != NULL) {
		s = xstrfmt("Accept: %s", accept);
		*headers = curl_slist_append(*headers, s);
		free(s);
	}
	if (token != NULL) {
		s = xstrfmt("Authorization: Bearer %s", token);
		*headers = curl_slist_append(*headers, s);
		free(s);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, PACKAGE_NAME "/"
	    PACKAGE_VERSION);
	return h;
}

/* The cause of a failed transfer of h about what. */
static char *
transfer_cause(CURL *h, CURLcode rc, const char *what)
{
	long	code = 0;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_HTTP_RETURNED_ERROR && code >= 400)
		return status_cause(what, code);
	return xstrfmt("%s: %s", what, curl_easy_strerror(rc));
}

/* A response body in memory, up to MANIFEST_MAX bytes. */
struct text {
	char	*p;
	size_t	 n;
};

static size_t
text_write(char *p, size_t size, size_t n, void *arg)
{
	struct text	*t = arg;

	if (t->n + n > MANIFEST_MAX)
		return 0;
	t->p = xreallocarray(t->p, t->n + n + 1, 1);
	memcpy(t->p + t->n, p, n);
	t->n += n;
	t->p[t->n] = '\0';
	return n * size;
}

int
pull_text_get(const char *url, const char *accept, const char *token,
    const char *what, char **out, char **cause, char **challenge)
{
	struct curl_slist	*headers;
	struct curl_header	*www;
	struct text		 t = { NULL, 0 };
	CURL			*h;
	CURLcode		 rc;
	long			 code = 0;

	if (challenge != NULL)
		*challenge = NULL;
	if ((h = easy_new(url, accept, token, &headers)) == NULL) {
		*cause = xstrfmt("%s: libcurl cannot start", what);
		return -1;
	}
	/* the status read here, so that a 401's headers are kept */
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, text_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 400) {
		*cause = status_cause(what, code);
		if (challenge != NULL && code == 401 && curl_easy_header(h,
		    "WWW-Authenticate", 0, CURLH_HEADER, -1, &www) ==
		    CURLHE_OK)
			*challenge = xstrdup(www->value);
	} else if (rc != CURLE_OK)
		*cause = t.n >= MANIFEST_MAX ? xstrfmt("%s: more than %d "
		    "bytes", what, MANIFEST_MAX) : transfer_cause(h, rc, what);
	if (rc != CURLE_OK || code >= 400) {
		free(t.p);
		t.p = NULL;
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	*out = t.p != NULL ? t.p : NULL;
	return t.p != NULL ? 0 : -1;
}

/*
 * The value of parameter key in challenge (a WWW-Authenticate header's
 * parameters, key="value" or key=token, after the scheme), malloc'd, or
 * NULL.
 */
static char *
challenge_param(const char *challenge, const char *key)
{
	const char	*p = challenge + strcspn(challenge, " "), *v, *e;
	size_t		 k = strlen(key);
	int		 match;

	while (*p != '\0') {
		p += strspn(p, " ,");
		v = p + strcspn(p, "=,");
		if (*v != '=')
			return NULL;
		match = (size_t)(v - p) == k && strncasecmp(p, key, k) == 0;
		v++;
		if (*v == '"') {
			if ((e = strchr(++v, '"')) == NULL)
				return NULL;
		} else
			e = v + strcspn(v, ", ");
		if (match)
			return xstrndup(v, (size_t)(e - v));
		p = e + (*e == '"');
	}
	return NULL;
}

/*
 * The bearer token a registry's challenge (a 401's WWW-Authenticate)
 * points to, from its realm, into *token.  Returns 0, or -1 with *cause
 * set, about what.
 */
static int
registry_token(const char *challenge, const char *what, char **token,
    char **cause)
{
	char		*realm, *service, *scope, *url, *text, *s1, *s2;
	const char	*t;
	json_t		*j;
	int		 rc = -1;

	if (strncasecmp(challenge, "Bearer ", 7) != 0 ||
	    (realm = challenge_param(challenge, "realm")) == NULL) {
		*cause = xstrfmt("%s: the registry wants a login (HTTP 401, "
		    "%s)", what, challenge);
		return -1;
	}
	service = challenge_param(challenge, "service");
	scope = challenge_param(challenge, "scope");
	s1 = util_url_escape(service != NULL ? service : "", "");
	s2 = util_url_escape(scope != NULL ? scope : "", ":");
	url = xstrfmt("%s%cservice=%s&scope=%s", realm,
	    strchr(realm, '?') != NULL ? '&' : '?', s1, s2);
	if (pull_text_get(url, "application/json", NULL, what, &text, cause,
	    NULL) == 0) {
		j = json_loads(text, 0, NULL);
		t = json_string_value(json_object_get(j, "token"));
		if (t == NULL)
			t = json_string_value(json_object_get(j,
			    "access_token"));
		if (t != NULL && *t != '\0') {
			*token = xstrdup(t);
			rc = 0;
		} else
			*cause = xstrfmt("%s: the registry's token service "
			    "gave no token", what);
		json_decref(j);
		free(text);
	}
	free(url);
	free(s1);
	free(s2);
	free(scope);
	free(service);
	free(realm);
	return rc;
}

int
pull_plan_begin(struct pull_plan *plan, const struct store_name *n,
    char **cause)
{
	plan->name = store_name_format(n);
	if ((plan->root = store_root(STORE_OWN)) == NULL) {
		*cause = xstrdup("no store: neither XDG_DATA_HOME nor HOME is "
		    "set");
		return -1;
	}
	plan->manifest_path = xstrfmt("%s/manifests/%s/%s/%s/%s", plan->root,
	    n->host, n->ns, n->model, n->tag);
	return 0;
}

/* The header of PATH-partial.parts. */
struct parts_head {
	char		magic[8];
	uint64_t	size;
	uint64_t	part;
};

static uint64_t
part_size(uint64_t size, int connections)
{
	uint64_t	p = size / ((uint64_t)connections * 4) + 1;

	return p < PART_MIN ? PART_MIN : p > PART_MAX ? PART_MAX : p;
}

/*
 * The bytes of f already in PATH-partial, by its .parts (0 when there is
 * none, or one of another file).
 */
static uint64_t
partial_have(const struct pull_file *f)
{
	struct parts_head	 h;
	uint64_t		 n, k, d, sum = 0;
	char			*path = xstrfmt("%s-partial.parts", f->path);
	FILE			*s;

	if ((s = fopen(path, "rb")) != NULL) {
		if (fread(&h, sizeof h, 1, s) == 1 &&
		    memcmp(h.magic, PARTS_MAGIC, 8) == 0 && h.size == f->size &&
		    h.part > 0) {
			n = (h.size + h.part - 1) / h.part;
			for (k = 0; k < n && fread(&d, 8, 1, s) == 1; k++)
				sum += d;
		}
		fclose(s);
	}
	free(path);
	return sum;
}

/* Fills f's path, done and have from what is on disk. */
static void
file_state(const char *root, struct pull_file *f)
{
	struct stat	st;

	f->path = xstrfmt("%s/blobs/sha256-%s", root, f->hex);
	f->done = stat(f->path, &st) == 0 && (uint64_t)st.st_size == f->size;
	f->have = f->done ? f->size : partial_have(f);
}

/* Whether d is "sha256:" and 64 lowercase hex digits. */
static int
digest_valid(const char *d)
{
	return d != NULL && strncmp(d, "sha256:", 7) == 0 &&
	    strlen(d) == 7 + 64 && strspn(d + 7, "0123456789abcdef") == 64;
}

/*
 * Adds the blob of JSON object l (a layer or the config) to plan, from
 * base (the repository's URL).  Returns 0, or -1 with *cause.
 */
static int
plan_blob(struct pull_plan *plan, const char *base, json_t *l,
    char **cause)
{
	const char		*d = json_string_value(json_object_get(l,
				    "digest"));
	char			*url, *label;
	json_int_t		 size = json_integer_value(json_object_get(l,
				    "size"));
	size_t			 i;

	if (!digest_valid(d) || size < 0 || size > ((json_int_t)1 << 50)) {
		*cause = xstrfmt("%s: the manifest has a bad layer",
		    plan->name);
		return -1;
	}
	for (i = 0; i < plan->n_files; i++) {
		if (strcmp(plan->files[i].hex, d + 7) == 0)
			return 0;
	}
	url = xstrfmt("%s/blobs/%s", base, d);
	label = xstrndup(d + 7, 12);
	pull_plan_add(plan, d + 7, (uint64_t)size, label, url);
	free(label);
	free(url);
	return 0;
}

void
pull_plan_add(struct pull_plan *plan, const char *hex, uint64_t size,
    const char *label, const char *url)
{
	struct pull_file	*f;

	plan->files = xreallocarray(plan->files, plan->n_files + 1,
	    sizeof *plan->files);
	f = &plan->files[plan->n_files++];
	memset(f, 0, sizeof *f);
	snprintf(f->hex, sizeof f->hex, "%s", hex);
	f->size = size;
	f->label = xstrdup(label);
	f->url = xstrdup(url);
	file_state(plan->root, f);
}

int
pull_plan_ollama(const char *text, const char *registry,
    struct pull_plan *plan, char **cause)
{
	struct store_name	 n;
	json_t			*j, *layers, *l;
	char			*base, *url, *reg, *challenge;
	size_t			 i;
	int			 rc = -1, model = 0, k;

	memset(plan, 0, sizeof *plan);
	if (store_name_parse(text, &n) != 0) {
		*cause = xstrfmt("%s: not a model name", text);
		return -1;
	}
	if (pull_plan_begin(plan, &n, cause) != 0) {
		store_name_free(&n);
		pull_plan_free(plan);
		return -1;
	}
	reg = registry != NULL ? xstrndup(registry, strlen(registry) -
	    (registry[strlen(registry) - 1] == '/')) :
	    xstrfmt("https://%s", n.host);
	base = xstrfmt("%s/v2/%s/%s", reg, n.ns, n.model);
	url = xstrfmt("%s/manifests/%s", base, n.tag);
	if (pull_text_get(url, MANIFEST_ACCEPT, NULL, plan->name,
	    &plan->manifest, cause, &challenge) != 0) {
		if (challenge == NULL)
			goto out;
		free(*cause);
		*cause = NULL;
		k = registry_token(challenge, plan->name, &plan->token, cause);
		free(challenge);
		if (k != 0 || pull_text_get(url, MANIFEST_ACCEPT, plan->token,
		    plan->name, &plan->manifest, cause, NULL) != 0)
			goto out;
	}
	j = json_loads(plan->manifest, 0, NULL);
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		*cause = xstrfmt("%s: the registry's answer is no manifest",
		    plan->name);
		json_decref(j);
		goto out;
	}
	rc = 0;
	if (json_object_get(j, "config") != NULL)
		rc = plan_blob(plan, base, json_object_get(j, "config"), cause);
	json_array_foreach(layers, i, l) {
		if (rc == 0)
			rc = plan_blob(plan, base, l, cause);
		model |= json_is_string(json_object_get(l, "mediaType")) &&
		    strcmp(json_string_value(json_object_get(l, "mediaType")),
		    STORE_MEDIA_MODEL) == 0;
	}
	json_decref(j);
	if (rc == 0 && !model) {
		*cause = xstrfmt("%s: no GGUF layer in the manifest (%s)",
		    plan->name, STORE_MEDIA_MODEL);
		rc = -1;
	}
out:
	free(url);
	free(base);
	free(reg);
	store_name_free(&n);
	if (rc != 0)
		pull_plan_free(plan);
	return rc;
}

int
pull_plan(const char *text, const char *registry, struct pull_plan *plan,
    char **cause)
{
	struct store_name	n;
	int			hub;

	if (store_name_parse(text, &n) != 0) {
		memset(plan, 0, sizeof *plan);
		*cause = xstrfmt("%s: not a model name", text);
		return -1;
	}
	hub = store_hub(n.host);
	store_name_free(&n);
	if (hub)
		return pull_plan_hub(text, plan, cause);
	return pull_plan_ollama(text, registry, plan, cause);
}

uint64_t
pull_plan_remaining(const struct pull_plan *plan)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < plan->n_files; i++)
		n += plan->files[i].size - plan->files[i].have;
	return n;
}

uint64_t
pull_free_bytes(const struct pull_plan *plan)
{
	struct statvfs	 v;
	char		*blobs = xstrfmt("%s/blobs/", plan->root);
	int		 rc;

	rc = util_mkdirs(blobs, 0755, NULL) == 0 && statvfs(blobs, &v) == 0;
	free(blobs);
	return rc ? (uint64_t)v.f_bavail * v.f_frsize : UINT64_MAX;
}

/* --- fetching a file ------------------------------------------------- */

/* A file being fetched: its .parts in memory, mirrored to disk. */
struct fetch {
	const struct pull_file *file;
	const char	*token;
	int		 data;		/* PATH-partial */
	int		 parts;		/* PATH-partial.parts */
	uint64_t	 part;		/* bytes a part */
	uint64_t	*done;		/* per part */
	struct xfer	**xfers;	/* per part: its transfer, or NULL */
	int		*tries;		/* per part: tries without a byte */
	size_t		 n;
	char		*cause;		/* the first fatal error */
};

/* A transfer: one range of one part. */
struct xfer {
	struct fetch	*f;
	size_t		 k;		/* the part */
	CURL		*h;
	struct curl_slist *headers;
	int		 started;	/* bytes came */
	char		*cause;		/* why the write stopped */
};

static uint64_t
part_len(const struct fetch *f, size_t k)
{
	uint64_t	start = f->part * k;

	return f->file->size - start < f->part ? f->file->size - start :
	    f->part;
}

static size_t
xfer_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	struct fetch	*f = x->f;
	uint64_t	 at = f->part * x->k + f->done[x->k];
	long		 code = 0;
	off_t		 off;

	if (!x->started) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
		/* a 200 is the whole file: right only from its start */
		if (code != 206 && !(code == 200 && at == 0 &&
		    part_len(f, x->k) == f->file->size)) {
			x->cause = xstrfmt("%s: the server ignores byte ranges "
			    "(HTTP %ld)", f->file->label, code);
			return 0;
		}
	}
	if (f->done[x->k] + n > part_len(f, x->k)) {
		x->cause = xstrfmt("%s: the server sent more than asked",
		    f->file->label);
		return 0;
	}
	if (pwrite(f->data, p, n, (off_t)at) != (ssize_t)n) {
		x->cause = xstrfmt("%s-partial: %s", f->file->path,
		    strerror(errno));
		return 0;
	}
	x->started = 1;
	f->done[x->k] += n;
	f->tries[x->k] = 0;
	off = (off_t)(sizeof(struct parts_head) + 8 * x->k);
	if (pwrite(f->parts, &f->done[x->k], 8, off) != 8) {
		x->cause = xstrfmt("%s-partial.parts: %s", f->file->path,
		    strerror(errno));
		return 0;
	}
	return n * size;
}

/* Starts a transfer of the rest of part k on m.  Returns 0 or -1. */
static int
xfer_start(CURLM *m, struct fetch *f, size_t k)
{
	struct xfer	*x = xcalloc(1, sizeof *x);
	char		 range[64];
	uint64_t	 a = f->part * k + f->done[k];

	x->f = f;
	x->k = k;
	if ((x->h = easy_new(f->file->url, NULL, f->token, &x->headers)) ==
	    NULL) {
		free(x);
		return -1;
	}
	snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)a,
	    (unsigned long long)(f->part * k + part_len(f, k) - 1));
	curl_easy_setopt(x->h, CURLOPT_RANGE, range);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_multi_add_handle(m, x->h);
	f->xfers[k] = x;
	return 0;
}

/* Ends the transfer x, whose result is rc: part done, to try again, or
 * the fetch's fatal cause. */
static void
xfer_end(CURLM *m, struct xfer *x, CURLcode rc)
{
	struct fetch	*f = x->f;

	f->xfers[x->k] = NULL;
	if (rc == CURLE_OK && f->done[x->k] < part_len(f, x->k))
		x->cause = xstrfmt("%s: the server sent less than asked",
		    f->file->label);
	else if (rc != CURLE_OK && x->cause == NULL)
		x->cause = transfer_cause(x->h, rc, f->file->label);
	if (x->cause != NULL && ++f->tries[x->k] >= PART_TRIES &&
	    f->cause == NULL) {
		f->cause = x->cause;
		x->cause = NULL;
	}
	free(x->cause);
	curl_multi_remove_handle(m, x->h);
	curl_easy_cleanup(x->h);
	curl_slist_free_all(x->headers);
	free(x);
}

/* Opens PATH-partial and its .parts, resuming them when they fit f. */
static int
fetch_open(struct fetch *f, int connections, char **cause)
{
	struct parts_head	 h;
	char			*data = xstrfmt("%s-partial", f->file->path);
	char			*parts = xstrfmt("%s-partial.parts",
				    f->file->path);
	int			 fresh, rc = -1;

	f->data = open(data, O_RDWR | O_CREAT, 0644);
	f->parts = open(parts, O_RDWR | O_CREAT, 0644);
	if (f->data < 0 || f->parts < 0) {
		*cause = xstrfmt("%s: %s", f->data < 0 ? data : parts,
		    strerror(errno));
		goto out;
	}
	fresh = pread(f->parts, &h, sizeof h, 0) != sizeof h ||
	    memcmp(h.magic, PARTS_MAGIC, 8) != 0 || h.size != f->file->size ||
	    h.part == 0;
	if (fresh) {
		memcpy(h.magic, PARTS_MAGIC, 8);
		h.size = f->file->size;
		h.part = part_size(f->file->size, connections);
	}
	f->part = h.part;
	f->n = f->file->size == 0 ? 0 : (size_t)((h.size + h.part - 1) /
	    h.part);
	f->done = xcalloc(f->n + 1, sizeof *f->done);
	f->xfers = xcalloc(f->n + 1, sizeof *f->xfers);
	f->tries = xcalloc(f->n + 1, sizeof *f->tries);
	if (fresh) {
		if (ftruncate(f->data, 0) != 0 || ftruncate(f->parts, 0) != 0 ||
		    pwrite(f->parts, &h, sizeof h, 0) != sizeof h ||
		    pwrite(f->parts, f->done, 8 * f->n, sizeof h) !=
		    (ssize_t)(8 * f->n)) {
			*cause = xstrfmt("%s: %s", parts, strerror(errno));
			goto out;
		}
	} else if (pread(f->parts, f->done, 8 * f->n, sizeof h) !=
	    (ssize_t)(8 * f->n)) {
		memset(f->done, 0, 8 * f->n);
	}
	rc = 0;
out:
	free(data);
	free(parts);
	return rc;
}

static void
fetch_close(struct fetch *f)
{
	if (f->data >= 0)
		close(f->data);
	if (f->parts >= 0)
		close(f->parts);
	free(f->done);
	free(f->xfers);
	free(f->tries);
	free(f->cause);
}

/* The bytes of f on disk. */
static uint64_t
fetch_have(const struct fetch *f)
{
	uint64_t	n = 0;
	size_t		k;

	for (k = 0; k < f->n; k++)
		n += f->done[k];
	return n;
}

/*
 * Whether PATH-partial hashes to f's digest: 1, 0, or -1 with *cause on
 * a read error.
 */
static int
fetch_check(const struct fetch *f, char **cause)
{
	struct sha256	 s;
	char		 hex[65];
	unsigned char	*buf = xmalloc(HASH_CHUNK);
	uint64_t	 at = 0;
	ssize_t		 k;

	sha256_init(&s);
	while (at < f->file->size && (k = pread(f->data, buf, HASH_CHUNK,
	    (off_t)at)) > 0) {
		sha256_update(&s, buf, (size_t)k);
		at += (uint64_t)k;
	}
	free(buf);
	if (at != f->file->size) {
		*cause = xstrfmt("%s-partial: %s", f->file->path,
		    at < f->file->size ? "shorter than its size" :
		    strerror(errno));
		return -1;
	}
	sha256_final(&s, NULL, hex);
	return strcmp(hex, f->file->hex) == 0;
}

/* Reports the progress of file index of plan, at most so often. */
struct reporter {
	pull_progress_fn fn;
	void		*arg;
	int64_t		 last;
};

static void
report(struct reporter *r, const struct pull_plan *plan, size_t index,
    uint64_t have, int finished)
{
	struct pull_progress	p;
	int64_t			now = util_now_ns();

	if (r->fn == NULL || (!finished && now - r->last < PROGRESS_NS))
		return;
	r->last = now;
	p.file = &plan->files[index];
	p.index = index;
	p.have = have;
	p.finished = finished;
	r->fn(&p, r->arg);
}

/* Fetches file index of plan over connections; 0 or -1 with *cause. */
static int
fetch_file(struct pull_plan *plan, size_t index, int connections,
    struct reporter *r, char **cause)
{
	struct fetch	 f;
	struct CURLMsg	*msg;
	struct xfer	*x;
	char		*final = plan->files[index].path, *partial;
	CURLM		*m;
	size_t		 k;
	int		 active = 0, running, left, ok;

	memset(&f, 0, sizeof f);
	f.file = &plan->files[index];
	f.token = plan->token;
	f.data = f.parts = -1;
	if (util_mkdirs(final, 0755, cause) != 0 ||
	    fetch_open(&f, connections, cause) != 0) {
		if (*cause == NULL)
			*cause = xstrfmt("%s: %s", final, strerror(errno));
		fetch_close(&f);
		return -1;
	}
	m = curl_multi_init();
	for (;;) {
		for (k = 0; k < f.n && active < connections &&
		    f.cause == NULL; k++) {
			if (f.xfers[k] == NULL && f.done[k] < part_len(&f, k) &&
			    f.tries[k] < PART_TRIES && xfer_start(m, &f, k) == 0)
				active++;
		}
		if (active == 0 || f.cause != NULL)
			break;
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			xfer_end(m, x, msg->data.result);
			active--;
		}
		report(r, plan, index, fetch_have(&f), 0);
		if (active > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	/* after a fatal error, the other parts stop where they are */
	for (k = 0; k < f.n; k++) {
		if (f.xfers[k] != NULL)
			xfer_end(m, f.xfers[k], CURLE_ABORTED_BY_CALLBACK);
	}
	curl_multi_cleanup(m);
	if (f.cause != NULL || fetch_have(&f) != f.file->size) {
		*cause = f.cause != NULL ? f.cause : xstrfmt("%s: the transfer "
		    "stopped short", f.file->label);
		f.cause = NULL;
		fetch_close(&f);
		return -1;
	}
	partial = xstrfmt("%s-partial", final);
	if ((ok = fetch_check(&f, cause)) == 1 && (fsync(f.data) != 0 ||
	    rename(partial, final) != 0)) {
		*cause = xstrfmt("%s: %s", final, strerror(errno));
		ok = -1;
	} else if (ok == 0) {
		*cause = xstrfmt("%s: the download does not match its sha256 "
		    "(discarded: pull again)", f.file->label);
		unlink(partial);
		ok = -1;
	}
	if (ok == 1 || access(partial, F_OK) != 0) {
		free(partial);
		partial = xstrfmt("%s-partial.parts", final);
		unlink(partial);
	}
	free(partial);
	fetch_close(&f);
	if (ok != 1)
		return -1;
	plan->files[index].done = 1;
	plan->files[index].have = plan->files[index].size;
	report(r, plan, index, plan->files[index].size, 1);
	return 0;
}

/* Writes the manifest under its name, whole or not at all. */
static int
manifest_write(const struct pull_plan *plan, char **cause)
{
	char	*tmp = xstrfmt("%s.tmp", plan->manifest_path);
	FILE	*f;
	int	 rc = -1;

	if (util_mkdirs(tmp, 0755, NULL) == 0 &&
	    (f = fopen(tmp, "wb")) != NULL) {
		rc = fputs(plan->manifest, f) >= 0 ? 0 : -1;
		if (fclose(f) != 0)
			rc = -1;
		if (rc == 0)
			rc = rename(tmp, plan->manifest_path);
	}
	if (rc != 0) {
		*cause = xstrfmt("%s: %s", plan->manifest_path,
		    strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

int
pull_run(struct pull_plan *plan, int connections, pull_progress_fn
    progress, void *arg, char **cause)
{
	struct reporter	r = { progress, arg, 0 };
	size_t		i;

	for (i = 0; i < plan->n_files; i++) {
		if (plan->files[i].done) {
			report(&r, plan, i, plan->files[i].size, 1);
			continue;
		}
		if (fetch_file(plan, i, connections, &r, cause) != 0)
			return -1;
	}
	return manifest_write(plan, cause);
}

void
pull_plan_free(struct pull_plan *plan)
{
	size_t	i;

	for (i = 0; i < plan->n_files; i++) {
		free(plan->files[i].label);
		free(plan->files[i].url);
		free(plan->files[i].path);
	}
	free(plan->files);
	for (i = 0; i < plan->n_offers; i++)
		free(plan->offers[i].name);
	free(plan->offers);
	free(plan->name);
	free(plan->root);
	free(plan->manifest);
	free(plan->manifest_path);
	free(plan->token);
	memset(plan, 0, sizeof *plan);
}
