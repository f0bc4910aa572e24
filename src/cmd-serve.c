/*
 * cmd-serve.c - `r1chat serve MODEL [--host 127.0.0.1] [--port 11435]`:
 * the server's settings from the options (options.c checked their ranges),
 * its key read, the model loaded, then the OpenAI-compatible server until
 * SIGINT or SIGTERM.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cmd.h"
#include "options.h"
#include "serve.h"
#include "store.h"
#include "util.h"

/* The options' defaults; options.c's table holds their ranges. */
#define DEFAULT_HOST		"127.0.0.1"
#define DEFAULT_PORT		11435
#define DEFAULT_QUEUE		8
#define DEFAULT_MAX_BODY	(1 << 20)
#define DEFAULT_MAX_TOKENS	8192

/*
 * The model's id: --alias, else the name it was found by (store.c), else
 * the file's name without its folder and .gguf or a split model's
 * -0000K-of-0000N.gguf (general.name may have spaces, and says less which
 * file it is).
 */
static char *
model_id(const struct options *o)
{
	const char	*name = o->model, *slash;

	if (o->alias != NULL)
		return xstrdup(o->alias);
	if (o->found != NULL && o->found->name != NULL)
		return xstrdup(o->found->name);
	if ((slash = strrchr(name, '/')) != NULL)
		name = slash + 1;
	return xstrndup(name, store_gguf_stem(name));
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
	int			 rc;

	memset(&sc, 0, sizeof sc);
	sc.host = o->host != NULL ? o->host : DEFAULT_HOST;
	sc.port = OPT_OR(o->port, DEFAULT_PORT);
	sc.queue = OPT_OR(o->queue, DEFAULT_QUEUE);
	sc.max_body = (size_t)OPT_OR(o->max_body, DEFAULT_MAX_BODY);
	sc.max_tokens = OPT_OR(o->max_tokens, DEFAULT_MAX_TOKENS);
	sc.inline_reasoning = o->reasoning_format != NULL &&
	    strcmp(o->reasoning_format, "none") == 0;
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
	cfg.words = CHAT_WORDS_COMMAND;	/* a client's refusal names options */
	if ((c = chat_open(&cfg, &warning, &cause)) == NULL) {
		free(key);
		return cmd_open_error(&cfg, cause);
	}
	if (warning != NULL)
		cmd_error("warning: %s", warning);
	free(warning);
	cmd_ctx_warn(o, chat_info(c)->ctx_train);
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
