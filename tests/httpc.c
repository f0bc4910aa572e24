/*
 * httpc.c - a small HTTP client for the tests, through libcurl:
 *
 *	httpc [-i] [-X METHOD] [-H HEADER]... [-d FILE] [-w FILE] [-j PATH] URL
 *
 * GETs URL, or POSTs the JSON in FILE (-d), and writes "HTTP STATUS" on a
 * line then the body on stdout as it comes.  -i: the response's headers
 * follow the status line, one a line.  -X: another method (OPTIONS).  -H:
 * a header to send ("Authorization: Bearer KEY").  -w FILE: creates FILE when
 * the first bytes of the body arrive (for a test to act while a stream is
 * under way).  -j PATH: writes instead the JSON value at PATH in the body
 * ("choices.0.message.content"; a string raw, anything else as JSON).
 * Exits 0 when the transfer ended, 1 with a message when it failed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

struct state {
	CURL		*curl;
	const char	*ready;
	int		 headed;
	int		 show_headers;	/* -i */
	char		*headers;	/* what came, kept for -i */
	size_t		 headers_len;
	char		*body;		/* kept for -j */
	size_t		 len;
	int		 keep;
};

/* Appends n bytes at p to *b of *len bytes; 0 when out of memory. */
static int
keep(char **b, size_t *len, const char *p, size_t n)
{
	char	*nb;

	if ((nb = realloc(*b, *len + n + 1)) == NULL)
		return 0;
	*b = nb;
	memcpy(*b + *len, p, n);
	*len += n;
	(*b)[*len] = '\0';
	return 1;
}

/* Keeps the final response's header lines for -i (not a 100's). */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct state	*s = arg;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		s->headers_len = 0;
	else if (n > 2 && !keep(&s->headers, &s->headers_len, p, n))
		return 0;
	return n;
}

/* Writes the status line, and the headers with -i, once. */
static void
head(struct state *s)
{
	long	 status = 0;
	FILE	*f;
	size_t	 i;

	if (s->headed)
		return;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	printf("HTTP %ld\n", status);
	for (i = 0; s->show_headers && i < s->headers_len; i++) {
		if (s->headers[i] != '\r')
			putchar(s->headers[i]);
	}
	s->headed = 1;
	if (s->ready != NULL && (f = fopen(s->ready, "w")) != NULL)
		fclose(f);
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct state	*s = arg;

	head(s);
	if (s->keep) {
		if (!keep(&s->body, &s->len, p, n))
			return 0;
	} else
		fwrite(p, 1, n, stdout);
	fflush(stdout);
	return n;
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	*b;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		exit(1);
	}
	rewind(f);
	b = malloc((size_t)n + 1);
	if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	b[n] = '\0';
	fclose(f);
	return b;
}

/* Writes the value at a dotted path of keys and array indices. */
static int
print_path(const char *body, const char *path)
{
	json_t	*root = json_loads(body, 0, NULL), *v = root;
	char	*p = strdup(path), *tok, *save = NULL, *end, *s;
	long	 i;

	for (tok = strtok_r(p, ".", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, ".", &save)) {
		i = strtol(tok, &end, 10);
		v = json_is_array(v) && *end == '\0' ? json_array_get(v,
		    (size_t)i) : json_object_get(v, tok);
	}
	free(p);
	if (v == NULL) {
		fprintf(stderr, "httpc: %s: not in the body\n", path);
		json_decref(root);
		return 1;
	}
	if (json_is_string(v))
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
	else {
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		fputs(s, stdout);
		free(s);
	}
	putchar('\n');
	json_decref(root);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: httpc [-i] [-X METHOD] [-H HEADER]... "
	    "[-d FILE] [-w FILE] [-j PATH] URL\n");
}

int
main(int argc, char **argv)
{
	struct state		 s;
	struct curl_slist	*h = NULL;
	const char		*path = NULL;
	char			*data = NULL;
	CURLcode		 cc;
	const char		*method = NULL;
	int			 c, rc = 0;

	memset(&s, 0, sizeof s);
	while ((c = getopt(argc, argv, "iX:H:d:w:j:")) != -1) {
		switch (c) {
		case 'i':
			s.show_headers = 1;
			break;
		case 'X':
			method = optarg;
			break;
		case 'H':
			h = curl_slist_append(h, optarg);
			break;
		case 'd':
			data = slurp(optarg);
			break;
		case 'w':
			s.ready = optarg;
			break;
		case 'j':
			path = optarg;
			s.keep = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage();
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s.curl = curl_easy_init();
	curl_easy_setopt(s.curl, CURLOPT_URL, argv[optind]);
	if (data != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(s.curl, CURLOPT_POSTFIELDS, data);
	}
	curl_easy_setopt(s.curl, CURLOPT_HTTPHEADER, h);
	if (method != NULL)
		curl_easy_setopt(s.curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(s.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s.curl, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
	if ((cc = curl_easy_perform(s.curl)) != CURLE_OK) {
		fprintf(stderr, "httpc: %s\n", curl_easy_strerror(cc));
		rc = 1;
	} else
		head(&s);
	if (rc == 0 && path != NULL)
		rc = print_path(s.body != NULL ? s.body : "", path);
	curl_easy_cleanup(s.curl);
	curl_slist_free_all(h);
	free(data);
	free(s.body);
	free(s.headers);
	return rc;
}
