/*
 * cmd-serve.c - `r1chat serve MODEL [--host 127.0.0.1] [--port 11435]`:
 * the server's settings from the options (options.c checked them), the
 * model loaded, then the OpenAI-compatible server until SIGINT or SIGTERM.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cmd.h"
#include "options.h"
#include "serve.h"

/* The options' defaults; options.c's table holds their ranges. */
#define DEFAULT_HOST		"127.0.0.1"
#define DEFAULT_PORT		11435
#define DEFAULT_QUEUE		8
#define DEFAULT_MAX_BODY	(1 << 20)
#define DEFAULT_MAX_TOKENS	8192

int
cmd_serve(struct options *o)
{
	struct serve_config	 sc;
	struct chat_config	 cfg;
	struct chat		*c;
	char			*cause = NULL, *warning = NULL;
	int			 rc;

	memset(&sc, 0, sizeof sc);
	sc.host = o->host != NULL ? o->host : DEFAULT_HOST;
	sc.port = OPT_OR(o->port, DEFAULT_PORT);
	sc.queue = OPT_OR(o->queue, DEFAULT_QUEUE);
	sc.max_body = (size_t)OPT_OR(o->max_body, DEFAULT_MAX_BODY);
	sc.max_tokens = OPT_OR(o->max_tokens, DEFAULT_MAX_TOKENS);
	sc.inline_reasoning = o->reasoning_format != NULL &&
	    strcmp(o->reasoning_format, "none") == 0;
	if (o->n_args > 0) {
		cmd_error("serve: %s: unexpected argument", o->args[0]);
		return 2;
	}
	cmd_chat_config(o, o->model, &cfg);
	if ((c = chat_open(&cfg, &warning, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		free(cause);
		return 1;
	}
	if (warning != NULL)
		cmd_error("warning: %s", warning);
	free(warning);
	cmd_ctx_warn(o, chat_info(c)->ctx_train);
	rc = serve_run(c, &sc, &cause);
	if (rc != 0) {
		cmd_error("serve: %s", cause);
		free(cause);
	}
	chat_free(c);
	return rc != 0;
}
