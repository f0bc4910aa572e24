/*
 * util.c - allocation, messages, numbers for people, clocks, directories
 * (made, walked), URLs.
 */
#include "config.h"

#include <sys/stat.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static void
oom(size_t n)
{
	fprintf(stderr, "r1chat: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void	*q;

	if (size != 0 && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	q = realloc(p, (n * size) != 0 ? n * size : 1);
	if (q == NULL)
		oom(n * size);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvstrfmt(const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 n;
	char	*p;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return xstrdup("(bad message format)");
	p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
xstrfmt(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = xvstrfmt(fmt, ap);
	va_end(ap);
	return p;
}

char *
util_human_number(uint64_t n)
{
	/* decimals when not whole; the thousands never have any */
	static const struct {
		double		 scale;
		const char	*unit;
		int		 decimals;
	} units[] = {
		{ 1e9, "B", 1 }, { 1e6, "M", 2 }, { 1e3, "K", 0 },
	};
	size_t	i;
	double	v;

	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if ((double)n < units[i].scale)
			continue;
		v = (double)n / units[i].scale;
		return xstrfmt("%.*f%s", v == (double)(uint64_t)v ? 0 :
		    units[i].decimals, v, units[i].unit);
	}
	return xstrfmt("%" PRIu64, n);
}

int64_t
util_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
util_mkdirs(const char *path, int mode, char **cause)
{
	char	*dir = xstrdup(path), *p;
	int	 rc = 0;

	for (p = dir + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, (mode_t)mode) != 0 && errno != EEXIST) {
			if (cause != NULL)
				*cause = xstrfmt("%s: %s", dir,
				    strerror(errno));
			rc = -1;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

char *
util_cache_path(const char *name)
{
	const char	*cache = getenv("XDG_CACHE_HOME");
	const char	*home = getenv("HOME");

	if (cache != NULL && cache[0] == '/')
		return xstrfmt("%s/r1chat/%s", cache, name);
	if (home != NULL && home[0] != '\0')
		return xstrfmt("%s/.cache/r1chat/%s", home, name);
	return NULL;
}

char *
util_url_escape(const char *s, const char *keep)
{
	char	*out = xmalloc(3 * strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL ||
		    strchr(keep, *s) != NULL)
			*o++ = *s;
		else
			o += sprintf(o, "%%%02X", (unsigned char)*s);
	}
	*o = '\0';
	return out;
}

int
util_dir_each(const char *path, int (*fn)(const char *, const char *, void *),
    void *arg)
{
	DIR		*d;
	struct dirent	*e;
	int		 rc = 0;

	if ((d = opendir(path)) == NULL)
		return -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			rc = fn(path, e->d_name, arg);
	}
	closedir(d);
	return rc;
}
