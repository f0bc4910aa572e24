/*
 * util.h - small helpers shared by every layer: allocation of bookkeeping
 * memory, formatted messages, clocks, directories.
 */
#ifndef R1_UTIL_H
#define R1_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Allocation for small bookkeeping (names, tables, messages): on failure
 * they print one line and abort(), as tmux's do, since nothing sensible
 * can follow.  Buffers sized by input (weights, caches, prompts) use
 * malloc and report failure instead.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Returns a malloc'd formatted string (for *cause messages). */
char *xstrfmt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
char *xvstrfmt(const char *fmt, va_list ap);

/*
 * A count as ollama's format.HumanNumber writes it (1.8B, 494.03M, 12K,
 * 999), malloc'd: what `r1chat show` and the REPL's /show info say.
 */
char *util_human_number(uint64_t n);

/* Monotonic time in nanoseconds. */
int64_t util_now_ns(void);

/*
 * Makes the directories path's file goes in, as mkdir -p does, new ones
 * with mode.  Returns 0, or -1 with *cause (when cause is not NULL) the
 * directory that failed and why.
 */
int util_mkdirs(const char *path, int mode, char **cause);

/*
 * s %-escaped for a URL: letters, digits, "-._~" and the characters of
 * keep as they are, every other byte %XX.  Malloc'd.
 */
char *util_url_escape(const char *s, const char *keep);

/*
 * Calls fn(path, name, arg) on each entry of the folder at path whose
 * name does not start with a dot, until fn returns other than 0.
 * Returns 0 or what fn returned, or -1 (errno set) when the folder
 * cannot be opened.
 */
int util_dir_each(const char *path,
    int (*fn)(const char *, const char *, void *), void *arg);

/*
 * $XDG_CACHE_HOME/r1chat/name (~/.cache/r1chat/name when XDG_CACHE_HOME
 * is unset or relative), malloc'd, or NULL when HOME is unset too.
 */
char *util_cache_path(const char *name);

#endif
