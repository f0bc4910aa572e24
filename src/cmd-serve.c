/*
 * cmd-serve.c - `r1chat serve MODEL [--host 127.0.0.1] [--port 11435]`:
 * the chat's options, the server's limits and its key checked, the model
 * loaded, then the OpenAI-compatible server until SIGINT or SIGTERM.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cmd.h"
#include "options.h"
#include "serve.h"
#include "util.h"

#define DEFAULT_HOST		"127.0.0.1"
#define DEFAULT_PORT		11435
#define DEFAULT_QUEUE		8
#define DEFAULT_MAX_BODY	(1 << 20)
#define DEFAULT_MAX_TOKENS	8192
#define MAX_QUEUE		1024

/* --reasoning-format: llama-server's names. */
static const struct {
	const char	*name;
	int		 inline_reasoning;
} reasoning_formats[] = {
	{ "deepseek", 0 },
	{ "none", 1 },
};

/* An int option within [lo, hi], or def when not given; -1 if out. */
static int
limit(const char *name, int v, int def, int lo, int hi, int *out)
{
	if (v == OPT_UNSET) {
		*out = def;
		return 0;
	}
	if (v < lo || v > hi) {
		cmd_error("--%s: must be between %d and %d", name, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * The model's id: --alias, else the file's name without its folder and
 * .gguf (general.name may have spaces, and says less which file it is).
 */
static char *
model_id(const struct options *o)
{
	const char	*name = o->model, *slash;
	size_t		 n;

	if (o->alias != NULL)
		return xstrdup(o->alias);
	if ((slash = strrchr(name, '/')) != NULL)
		name = slash + 1;
	n = strlen(name);
	if (n > 5 && strcmp(name + n - 5, ".gguf") == 0)
		n -= 5;
	return xstrndup(name, n);
}

/*
 * Whether s is what a browser sends as Origin, * or SCHEME://HOST[:PORT]:
 * it goes into a header as it is.
 */
static int
origin_valid(const char *s)
{
	static const char	alpha[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	static const char	host[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]";
	size_t			n;

	if (strcmp(s, "*") == 0)
		return 1;
	n = strspn(s, alpha);
	return n > 0 && strncmp(s + n, "://", 3) == 0 && s[n + 3] != '\0' &&
	    strspn(s + n + 3, host) == strlen(s + n + 3);
}

int
cmd_serve(struct options *o)
{
	struct serve_config	 sc;
	struct chat_config	 cfg;
	struct chat		*c;
	char			*cause = NULL, *warning = NULL, *key = NULL;
	char			*id;
	size_t			 i;
	int			 max_body, rc;

	memset(&sc, 0, sizeof sc);
	sc.host = o->host != NULL ? o->host : DEFAULT_HOST;
	if (limit("port", o->port, DEFAULT_PORT, 0, 65535, &sc.port) != 0 ||
	    limit("queue", o->queue, DEFAULT_QUEUE, 0, MAX_QUEUE,
	    &sc.queue) != 0 ||
	    limit("max-body", o->max_body, DEFAULT_MAX_BODY, 1024, 1 << 30,
	    &max_body) != 0 ||
	    limit("max-tokens", o->max_tokens, DEFAULT_MAX_TOKENS, 1,
	    1 << 20, &sc.max_tokens) != 0)
		return 2;
	sc.max_body = (size_t)max_body;
	if (o->reasoning_format != NULL) {
		for (i = 0; i < sizeof reasoning_formats /
		    sizeof reasoning_formats[0]; i++) {
			if (strcmp(o->reasoning_format,
			    reasoning_formats[i].name) == 0)
				break;
		}
		if (i == sizeof reasoning_formats /
		    sizeof reasoning_formats[0]) {
			cmd_error("--reasoning-format: %s: not deepseek or none",
			    o->reasoning_format);
			return 2;
		}
		sc.inline_reasoning = reasoning_formats[i].inline_reasoning;
	}
	if (o->cors != NULL && !origin_valid(o->cors)) {
		cmd_error("--cors: ORIGIN must be * or SCHEME://HOST[:PORT]");
		return 2;
	}
	sc.cors = o->cors;
	sc.quiet = o->quiet;
	if (o->n_args > 0) {
		cmd_error("serve: %s: unexpected argument", o->args[0]);
		return 2;
	}
	if (o->api_key_file != NULL &&
	    cmd_key_read(o->api_key_file, &key, &cause) != 0) {
		cmd_error("%s", cause);
		free(cause);
		return 1;
	}
	sc.api_key = key;
	cmd_chat_config(o, o->model, &cfg);
	if ((c = chat_open(&cfg, &warning, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		free(cause);
		free(key);
		return 1;
	}
	if (warning != NULL)
		cmd_error("warning: %s", warning);
	free(warning);
	sc.model = id = model_id(o);
	rc = serve_run(c, &sc, &cause);
	if (rc != 0) {
		cmd_error("serve: %s", cause);
		free(cause);
	}
	chat_free(c);
	free(id);
	free(key);
	return rc != 0;
}
