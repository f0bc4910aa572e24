/*
 * quant-wisdom.c - the cache of the kernels measured fastest on this
 * machine (quant-calib.c), so that the measure is paid once per CPU
 * model and version, as FFTW keeps its wisdom.  One text file:
 *
 *	r1chat-kernels 1
 *	key r1chat 0.1, AMD EPYC 7B13 64-Core Processor, family 25 model 1 stepping 1
 *	Q4_K tokens avx2
 *	Q4_K prompts avx2
 *	...
 *
 * Another key (another CPU, another version) or any line not of this
 * form makes the file foreign: the caller measures again and rewrites
 * it, by a temporary file and a rename, so that no reader sees half.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "quant-impl.h"
#include "util.h"

#define WISDOM_MAGIC	"r1chat-kernels 1"
#define WISDOM_NAME	"kernels"
/* The longest line a valid file has: the key's (a 48-byte brand). */
#define WISDOM_LINE	256

static const char *const wisdom_uses[QUANT_USE_COUNT] = {
	[QUANT_USE_TOKENS] = "tokens",
	[QUANT_USE_PROMPTS] = "prompts",
};

char *
quant_wisdom_path(void)
{
	return util_cache_path(WISDOM_NAME);
}

#if defined(__x86_64__) || defined(__i386__)
/* cpuid's brand string into brand (49 bytes), spaces collapsed. */
static void
wisdom_brand(char *brand)
{
	unsigned int	 r[12], max = __get_cpuid_max(0x80000000, NULL);
	char		 raw[49], *p, *q;
	int		 i;

	if (max < 0x80000004) {
		strcpy(brand, "unnamed");
		return;
	}
	for (i = 0; i < 3; i++)
		__get_cpuid(0x80000002 + i, &r[4 * i], &r[4 * i + 1],
		    &r[4 * i + 2], &r[4 * i + 3]);
	memcpy(raw, r, 48);
	raw[48] = '\0';
	for (p = raw, q = brand; *p != '\0'; p++) {
		if (*p <= ' ' || *p > '~') {
			if (q > brand && q[-1] != ' ')
				*q++ = ' ';
		} else
			*q++ = *p;
	}
	if (q > brand && q[-1] == ' ')
		q--;
	*q = '\0';
}
#endif

char *
quant_wisdom_key(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int	a = 0, b, c, d, family, model;
	char		brand[49];

	wisdom_brand(brand);
	__get_cpuid(1, &a, &b, &c, &d);
	family = (a >> 8) & 0xf;
	model = (a >> 4) & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	if (family >= 6)
		model |= ((a >> 16) & 0xf) << 4;
	return xstrfmt("%s %s, %s, family %u model %u stepping %u",
	    PACKAGE_NAME, PACKAGE_VERSION, brand, family, model, a & 0xf);
#else
	return xstrfmt("%s %s, an unnamed CPU", PACKAGE_NAME,
	    PACKAGE_VERSION);
#endif
}

/*
 * One choice line, "TYPE USE PATH\n", into pick; returns 0, or -1 when
 * it is not one or repeats a type and use.
 */
static int
wisdom_line(char *line, const struct quant_traits *names,
    enum quant_isa pick[GGML_TYPE_COUNT][QUANT_USE_COUNT])
{
	char	*f[3], *save = NULL;
	int	 t, u, p;

	if ((f[0] = strtok_r(line, " \n", &save)) == NULL ||
	    (f[1] = strtok_r(NULL, " \n", &save)) == NULL ||
	    (f[2] = strtok_r(NULL, " \n", &save)) == NULL ||
	    strtok_r(NULL, " \n", &save) != NULL)
		return -1;
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		if (names[t].name != NULL && strcmp(names[t].name, f[0]) == 0)
			break;
	}
	for (u = 0; u < QUANT_USE_COUNT; u++) {
		if (strcmp(wisdom_uses[u], f[1]) == 0)
			break;
	}
	for (p = 0; p < QUANT_ISA_COUNT; p++) {
		if (strcmp(quant_isa_name(p), f[2]) == 0)
			break;
	}
	if (t == GGML_TYPE_COUNT || u == QUANT_USE_COUNT ||
	    p == QUANT_ISA_COUNT || pick[t][u] != QUANT_ISA_COUNT)
		return -1;
	pick[t][u] = p;
	return 0;
}

int
quant_wisdom_read(const char *path, const char *key,
    const struct quant_traits *names,
    enum quant_isa pick[GGML_TYPE_COUNT][QUANT_USE_COUNT])
{
	FILE	*f;
	char	 line[WISDOM_LINE];
	int	 t, u, n, rc = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		for (u = 0; u < QUANT_USE_COUNT; u++)
			pick[t][u] = QUANT_ISA_COUNT;
	}
	for (n = 0; rc == 0 && fgets(line, sizeof line, f) != NULL; n++) {
		if (strchr(line, '\n') == NULL)
			rc = -1;	/* too long, or cut short */
		else if (n == 0)
			rc = strcmp(line, WISDOM_MAGIC "\n") == 0 ? 0 : -1;
		else if (n == 1)
			rc = strncmp(line, "key ", 4) == 0 &&
			    strncmp(line + 4, key, strlen(key)) == 0 &&
			    strcmp(line + 4 + strlen(key), "\n") == 0 ? 0 : -1;
		else
			rc = wisdom_line(line, names, pick);
	}
	if (ferror(f) || n < 2)
		rc = -1;
	fclose(f);
	return rc;
}

int
quant_wisdom_write(const char *path, const char *key,
    const struct quant_traits *names,
    enum quant_isa pick[GGML_TYPE_COUNT][QUANT_USE_COUNT], char **cause)
{
	FILE	*f;
	char	*tmp, *dir;
	int	 t, u, rc;

	dir = xstrdup(path);
	rc = util_mkdirs(dir, 0755, cause);
	free(dir);
	if (rc != 0)
		return -1;
	tmp = xstrfmt("%s.%ld.tmp", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		*cause = xstrfmt("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fprintf(f, "%s\nkey %s\n", WISDOM_MAGIC, key);
	for (t = 0; t < GGML_TYPE_COUNT; t++) {
		for (u = 0; u < QUANT_USE_COUNT; u++) {
			if (pick[t][u] != QUANT_ISA_COUNT)
				fprintf(f, "%s %s %s\n", names[t].name,
				    wisdom_uses[u], quant_isa_name(pick[t][u]));
		}
	}
	rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0 || rc != 0 || rename(tmp, path) != 0) {
		*cause = xstrfmt("%s: %s", rc != 0 ? tmp : path,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
