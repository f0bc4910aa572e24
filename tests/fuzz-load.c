/*
 * fuzz-load.c - libFuzzer target for /load's reading of a saved
 * conversation (`make fuzz`): chat_load on the demo model's chat.
 *
 * Each input is written to a file and loaded.  A file refused says why in
 * one line; one taken is saved and loaded again, and must come back the
 * same: the messages, their roles, texts and reasoning.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"

#ifndef FUZZ_DEMO
#error "FUZZ_DEMO must name share/r1chat-demo.gguf"
#endif

static struct chat	*chat;
static char		*dir, *in_path, *out_path;

static void
fuzz_cleanup(void)
{
	unlink(in_path);
	unlink(out_path);
	rmdir(dir);
	chat_free(chat);
}

static void
fuzz_init(void)
{
	struct chat_config	 cfg;
	const char		*tmp = getenv("TMPDIR");
	char			*cause = NULL;
	size_t			 n;

	if (tmp == NULL)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	n = strlen(tmp) + 64;
	dir = malloc(n);
	in_path = malloc(n);
	out_path = malloc(n);
	snprintf(dir, n, "%s/fuzz-load.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(in_path, n, "%s/in.json", dir);
	snprintf(out_path, n, "%s/out.json", dir);
	memset(&cfg, 0, sizeof cfg);
	chat_params_default(&cfg.params);
	cfg.model_path = FUZZ_DEMO;
	cfg.n_threads = 1;
	if ((chat = chat_open(&cfg, NULL, &cause)) == NULL) {
		fprintf(stderr, "fuzz-load: %s: %s\n", FUZZ_DEMO, cause);
		abort();
	}
	atexit(fuzz_cleanup);
}

/* A copy of the conversation's messages, *n of them. */
static struct chat_message *
messages(size_t *n)
{
	struct chat_message		*v;
	const struct chat_message	*m;
	size_t				 i;

	*n = chat_n_messages(chat);
	if ((v = calloc(*n + 1, sizeof *v)) == NULL)
		abort();
	for (i = 0; i < *n; i++) {
		m = chat_message(chat, i);
		v[i].role = m->role;
		v[i].content = strdup(m->content);
		v[i].reasoning = m->reasoning != NULL ?
		    strdup(m->reasoning) : NULL;
	}
	return v;
}

static void
messages_free(struct chat_message *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].content);
		free(v[i].reasoning);
	}
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct chat_message	*m;
	struct chat_message		*was;
	char				*cause = NULL;
	size_t				 i, n;
	FILE				*f;

	if (chat == NULL)
		fuzz_init();
	if ((f = fopen(in_path, "wb")) == NULL ||
	    (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	if (chat_load(chat, in_path, &cause) != 0) {
		if (cause == NULL || strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		return 0;
	}
	was = messages(&n);
	if (chat_save(chat, out_path, &cause) != 0 ||
	    chat_load(chat, out_path, &cause) != 0) {
		fprintf(stderr, "fuzz-load: %s\n", cause);
		abort();
	}
	if (chat_n_messages(chat) != n)
		abort();
	for (i = 0; i < n; i++) {
		m = chat_message(chat, i);
		if (m->role != was[i].role ||
		    strcmp(m->content, was[i].content) != 0 ||
		    (m->reasoning == NULL) != (was[i].reasoning == NULL) ||
		    (m->reasoning != NULL &&
		    strcmp(m->reasoning, was[i].reasoning) != 0))
			abort();
	}
	messages_free(was, n);
	return 0;
}
