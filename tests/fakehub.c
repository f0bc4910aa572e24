/*
 * fakehub.c - a model registry on the loopback for pull.sh: ollama's
 * registry (Docker's registry API v2) over the files of a folder, blobs
 * redirected to a "CDN" path that honours byte ranges, as the real one
 * redirects to its storage.  A process per connection, so that parallel
 * ranges run in parallel.
 *
 *	fakehub [-r BYTES_PER_SECOND] [-l LOG] [-c COUNT] DIR
 *
 * Listens on a free port of 127.0.0.1 and writes it on stdout.
 *
 *	GET /v2/NS/NAME/manifests/TAG	DIR/v2/NS/NAME/manifests/TAG, only
 *		with the Accept header ollama sends
 *		(application/vnd.docker.distribution.manifest.v2+json), else
 *		400; a name http-401 or http-429 answers that status
 *	GET /v2/NS/NAME/blobs/sha256:HEX  307 to /cdn/sha256-HEX
 *	GET /cdn/FILE			DIR/blobs/FILE, whole (200) or the
 *		Range "bytes=A-B" or "bytes=A-" asked (206)
 *
 * and Hugging Face's (huggingface_hub's list_repo_tree, hf_hub_download)
 * over DIR/hf/OWNER/REPO/:
 *
 *	GET /api/models/OWNER/REPO/tree/main?recursive=true  its tree.json
 *	GET /OWNER/REPO/resolve/main/PATH  302 to /cdn-hf/OWNER/REPO/files/PATH
 *	GET /cdn-hf/...			DIR/hf/..., byte ranges as /cdn/
 *
 * both 401 without "Authorization: Bearer TOKEN" when DIR/hf/OWNER/REPO/
 * token holds TOKEN; and ModelScope's (modelscope.hub's get_model_files,
 * model_file_download) over DIR/ms/OWNER/REPO/:
 *
 *	GET /api/v1/models/OWNER/REPO/repo/files?Revision=master&Recursive=true
 *					its files.json
 *	GET /api/v1/models/OWNER/REPO/repo?Revision=master&FilePath=PATH
 *					DIR/ms/OWNER/REPO/files/PATH (%-escaped
 *		in the query), byte ranges as /cdn/
 *
 * The registry wants a token for NS/NAME when DIR/v2/NS/NAME/token holds
 * one: without "Authorization: Bearer TOKEN" a manifest's or blob's GET
 * is a 401 with Docker's challenge (WWW-Authenticate: Bearer realm=
 * "http://127.0.0.1:PORT/token",service="fakehub",scope=
 * "repository:NS/NAME:pull"), and
 *
 *	GET /token?service=fakehub&scope=repository:NS/NAME:pull
 *					{"token": TOKEN}
 *
 * A missing file is a 404 with the registry's error body ({"errors":
 * [{"code": "MANIFEST_UNKNOWN", ...}]}, Docker's registry API spec).
 * -r sends bodies at that rate per connection; -l appends a line a request
 * ("GET PATH RANGE"); -c writes, when SIGTERM stops the hub, the bytes of
 * bodies sent in all.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_TYPE	"application/vnd.docker.distribution.manifest.v2+json"

static const char	*dir, *log_path, *count_path;
static int		 port;
static long		 rate;
static uint64_t		*sent;		/* shared by every process */
static volatile sig_atomic_t stop;

static void
put(int fd, const void *p, size_t n)
{
	const char	*s = p;
	ssize_t		 k;

	while (n > 0 && (k = write(fd, s, n)) > 0) {
		s += k;
		n -= (size_t)k;
	}
}

static void
status(int fd, int code, const char *reason, const char *errcode)
{
	char	body[256], head[512];
	int	n, m;

	n = snprintf(body, sizeof body, "{\"errors\":[{\"code\":\"%s\","
	    "\"message\":\"%s\"}]}", errcode, reason);
	m = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %d\r\nConnection: close\r\n"
	    "\r\n", code, reason, n);
	put(fd, head, (size_t)m);
	put(fd, body, (size_t)n);
}

/* Sends bytes [a, b] of the file at path, at the rate asked. */
static void
body(int fd, int file, uint64_t a, uint64_t b)
{
	char		buf[8192];
	size_t		n;
	ssize_t		k;
	struct timespec	ts;

	while (a <= b) {
		n = b - a + 1 < sizeof buf ? (size_t)(b - a + 1) : sizeof buf;
		if (rate > 0 && n > (size_t)rate / 20 + 1)
			n = (size_t)rate / 20 + 1;
		if ((k = pread(file, buf, n, (off_t)a)) <= 0)
			return;
		if (write(fd, buf, (size_t)k) != k)
			return;
		__atomic_add_fetch(sent, (uint64_t)k, __ATOMIC_SEQ_CST);
		a += (uint64_t)k;
		if (rate > 0) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(1e9 * (double)k / (double)rate);
			nanosleep(&ts, NULL);
		}
	}
}

/* Serves the file at path, or the range asked (NULL: none). */
static void
file(int fd, const char *path, const char *type, const char *range)
{
	struct stat	st;
	uint64_t	a = 0, b;
	char		head[512];
	int		f, n, partial = 0;

	if ((f = open(path, O_RDONLY)) < 0 || fstat(f, &st) != 0) {
		status(fd, 404, "not found", "BLOB_UNKNOWN");
		return;
	}
	b = (uint64_t)st.st_size - 1;
	if (range != NULL) {
		partial = 1;
		if (sscanf(range, "bytes=%" SCNu64 "-%" SCNu64, &a, &b) < 1 ||
		    a > b || b >= (uint64_t)st.st_size) {
			status(fd, 416, "range not satisfiable", "RANGE");
			close(f);
			return;
		}
	}
	n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %" PRIu64 "\r\n", partial ? "206 Partial Content" :
	    "200 OK", type, b - a + 1);
	if (partial)
		n += snprintf(head + n, sizeof head - (size_t)n, "Content-Range: "
		    "bytes %" PRIu64 "-%" PRIu64 "/%jd\r\n", a, b,
		    (intmax_t)st.st_size);
	n += snprintf(head + n, sizeof head - (size_t)n,
	    "Connection: close\r\n\r\n");
	put(fd, head, (size_t)n);
	if (st.st_size > 0)
		body(fd, f, a, b);
	close(f);
}

/* The value of header name in the request, cut at its line's end, or
 * NULL. */
static char *
header(char *req, const char *name)
{
	char	*p, *e;
	size_t	 n = strlen(name);

	for (p = strstr(req, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			p += 3 + n;
			p += strspn(p, " ");
			if ((e = strstr(p, "\r\n")) == NULL)
				return NULL;
			return strndup(p, (size_t)(e - p));
		}
	}
	return NULL;
}

/*
 * The token in DIR/kind/repo/token into token (size 256): 1, or 0 when
 * there is none.
 */
static int
token_of(const char *kind, const char *repo, char *token)
{
	char	path[8192];
	FILE	*f;
	int	 ok;

	snprintf(path, sizeof path, "%s/%s/%s/token", dir, kind, repo);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	ok = fgets(token, 256, f) != NULL;
	fclose(f);
	token[strcspn(token, "\n")] = '\0';
	return ok;
}

/* Whether auth (the Authorization header, or NULL) opens kind's repo. */
static int
authorized(const char *kind, const char *repo, const char *auth)
{
	char	token[256];

	if (!token_of(kind, repo, token))
		return 1;
	return auth != NULL && strncmp(auth, "Bearer ", 7) == 0 &&
	    strcmp(auth + 7, token) == 0;
}

/* Hugging Face's routes; 0 when target is none of them. */
static int
serve_hf(int fd, char *target, const char *range, const char *auth)
{
	char	path[8192], head[8192], *p;
	int	n;

	if (strncmp(target, "/api/models/", 12) == 0) {
		target[strcspn(target, "?")] = '\0';
		if ((p = strstr(target, "/tree/main")) == NULL)
			return 0;
		*p = '\0';
		snprintf(path, sizeof path, "%s/hf/%s/tree.json", dir,
		    target + 12);
		if (!authorized("hf", target + 12, auth))
			status(fd, 401, "unauthorized", "UNAUTHORIZED");
		else if (access(path, R_OK) != 0)
			status(fd, 404, "repository not found", "NOT_FOUND");
		else
			file(fd, path, "application/json", NULL);
		return 1;
	}
	if (strncmp(target, "/cdn-hf/", 8) == 0) {
		snprintf(path, sizeof path, "%s/hf/%s", dir, target + 8);
		file(fd, path, "application/octet-stream", range);
		return 1;
	}
	if ((p = strstr(target, "/resolve/main/")) == NULL)
		return 0;
	*p = '\0';
	if (!authorized("hf", target + 1, auth)) {
		status(fd, 401, "unauthorized", "UNAUTHORIZED");
		return 1;
	}
	n = snprintf(head, sizeof head, "HTTP/1.1 302 Found\r\nLocation: "
	    "/cdn-hf/%s/files/%s\r\nContent-Length: 0\r\nConnection: close"
	    "\r\n\r\n", target + 1, p + 14);
	put(fd, head, (size_t)n);
	return 1;
}

/* s's %-escapes decoded in place. */
static void
unescape(char *s)
{
	char		*o = s;
	unsigned	 c;

	for (; *s != '\0'; s++) {
		if (*s == '%' && sscanf(s + 1, "%2x", &c) == 1) {
			*o++ = (char)c;
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* ModelScope's routes; 0 when target is none of them. */
static int
serve_ms(int fd, char *target, const char *range)
{
	char	path[8192], *p, *q;

	if (strncmp(target, "/api/v1/models/", 15) != 0)
		return 0;
	target += 15;
	if ((p = strstr(target, "/repo/files?")) != NULL) {
		if (strstr(p, "Revision=master") == NULL ||
		    strstr(p, "Recursive=true") == NULL) {
			status(fd, 400, "Revision and Recursive wanted", "BAD");
			return 1;
		}
		*p = '\0';
		snprintf(path, sizeof path, "%s/ms/%s/files.json", dir, target);
		file(fd, path, "application/json", NULL);
		return 1;
	}
	if ((p = strstr(target, "/repo?")) == NULL ||
	    (q = strstr(p, "FilePath=")) == NULL)
		return 0;
	*p = '\0';
	q += 9;
	q[strcspn(q, "&")] = '\0';
	unescape(q);
	if (strstr(q, "..") != NULL) {
		status(fd, 400, "bad path", "NAME_INVALID");
		return 1;
	}
	snprintf(path, sizeof path, "%s/ms/%s/files/%s", dir, target, q);
	file(fd, path, "application/octet-stream", range);
	return 1;
}

/*
 * The registry's token check of /v2/NS/NAME/...: 1 when auth opens it,
 * else 0 after the 401 and its challenge.
 */
static int
registry_open(int fd, const char *target, const char *auth)
{
	char	repo[4096], head[8192];
	size_t	n;
	int	k;

	n = strcspn(target + 4, "?");
	if (n >= sizeof repo)
		n = sizeof repo - 1;
	memcpy(repo, target + 4, n);
	repo[n] = '\0';
	if (strstr(repo, "/manifests/") != NULL)
		*strstr(repo, "/manifests/") = '\0';
	else if (strstr(repo, "/blobs/") != NULL)
		*strstr(repo, "/blobs/") = '\0';
	if (authorized("v2", repo, auth))
		return 1;
	k = snprintf(head, sizeof head, "HTTP/1.1 401 Unauthorized\r\n"
	    "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
	    "service=\"fakehub\",scope=\"repository:%s:pull\"\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", port, repo);
	put(fd, head, (size_t)k);
	return 0;
}

/* GET /token?service=fakehub&scope=repository:NS/NAME:pull */
static void
serve_token(int fd, char *target)
{
	char	token[256], head[512], body[300], *scope, *e;
	int	n, m;

	unescape(target);
	if (strstr(target, "service=fakehub") == NULL ||
	    (scope = strstr(target, "scope=repository:")) == NULL ||
	    (e = strstr(scope, ":pull")) == NULL) {
		status(fd, 400, "service and scope wanted", "BAD");
		return;
	}
	*e = '\0';
	if (!token_of("v2", scope + 17, token)) {
		status(fd, 404, "no such repository", "NOT_FOUND");
		return;
	}
	n = snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
	m = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %d\r\nConnection: close"
	    "\r\n\r\n", n);
	put(fd, head, (size_t)m);
	put(fd, body, (size_t)n);
}

static void
serve(int fd)
{
	char	req[8192], target[4096], path[8192], *range, *accept, *auth;
	char	*p;
	char	head[512];
	size_t	len = 0;
	ssize_t	k;
	int	n, lf;

	while (len < sizeof req - 1 && (k = read(fd, req + len,
	    sizeof req - 1 - len)) > 0) {
		len += (size_t)k;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	if (sscanf(req, "GET %4095s", target) != 1) {
		status(fd, 405, "method not allowed", "UNSUPPORTED");
		return;
	}
	range = header(req, "Range");
	accept = header(req, "Accept");
	auth = header(req, "Authorization");
	if (log_path != NULL &&
	    (lf = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644)) >= 0) {
		dprintf(lf, "GET %s %s\n", target, range != NULL ? range : "-");
		close(lf);
	}
	if (strstr(target, "..") != NULL)
		status(fd, 400, "bad path", "NAME_INVALID");
	else if (strstr(target, "/http-401/") != NULL)
		status(fd, 401, "authentication required", "UNAUTHORIZED");
	else if (strstr(target, "/http-429/") != NULL)
		status(fd, 429, "too many requests", "TOOMANYREQUESTS");
	else if (serve_hf(fd, target, range, auth) ||
	    serve_ms(fd, target, range))
		;
	else if (strncmp(target, "/token?", 7) == 0)
		serve_token(fd, target);
	else if (strncmp(target, "/v2/", 4) == 0 &&
	    !registry_open(fd, target, auth))
		;
	else if (strncmp(target, "/v2/", 4) == 0 &&
	    strstr(target, "/manifests/") != NULL) {
		if (accept == NULL || strstr(accept, MANIFEST_TYPE) == NULL)
			status(fd, 400, "no manifest type accepted",
			    "MANIFEST_INVALID");
		else {
			snprintf(path, sizeof path, "%s%s", dir, target);
			if (access(path, R_OK) != 0)
				status(fd, 404, "manifest unknown",
				    "MANIFEST_UNKNOWN");
			else
				file(fd, path, MANIFEST_TYPE, NULL);
		}
	} else if (strncmp(target, "/v2/", 4) == 0 &&
	    (p = strstr(target, "/blobs/sha256:")) != NULL) {
		n = snprintf(head, sizeof head, "HTTP/1.1 307 Temporary "
		    "Redirect\r\nLocation: /cdn/sha256-%s\r\nContent-Length: 0"
		    "\r\nConnection: close\r\n\r\n", p + 14);
		put(fd, head, (size_t)n);
	} else if (strncmp(target, "/cdn/", 5) == 0) {
		snprintf(path, sizeof path, "%s/blobs/%s", dir, target + 5);
		file(fd, path, "application/octet-stream", range);
	} else
		status(fd, 404, "not found", "NOT_FOUND");
	free(range);
	free(accept);
	free(auth);
}

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 a;
	struct sigaction	 sa;
	socklen_t		 alen = sizeof a;
	FILE			*f;
	int			 s, c, opt, one = 1;

	while ((opt = getopt(argc, argv, "r:l:c:")) != -1) {
		switch (opt) {
		case 'r':
			rate = atol(optarg);
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'c':
			count_path = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: fakehub [-r RATE] [-l LOG] [-c COUNT] "
		    "DIR\n");
		return 2;
	}
	dir = argv[optind];
	sent = mmap(NULL, sizeof *sent, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sent == MAP_FAILED)
		return 1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s, 64) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
		perror("fakehub");
		return 1;
	}
	port = ntohs(a.sin_port);
	printf("%d\n", port);
	fflush(stdout);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;	/* no SA_RESTART: accept returns */
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		if ((c = accept(s, NULL, NULL)) < 0)
			continue;
		if (fork() == 0) {
			signal(SIGTERM, SIG_DFL);
			close(s);
			serve(c);
			shutdown(c, SHUT_WR);
			close(c);
			_exit(0);
		}
		close(c);
	}
	if (count_path != NULL && (f = fopen(count_path, "w")) != NULL) {
		fprintf(f, "%" PRIu64 "\n", __atomic_load_n(sent,
		    __ATOMIC_SEQ_CST));
		fclose(f);
	}
	return 0;
}
