/*
 * fuzz-request.c - libFuzzer target for serve's reading of a request body
 * (`make fuzz`): openai_request_parse, the function every
 * /v1/chat/completions body goes through before a model sees it.
 *
 * A body refused says why in one line; one taken holds at least one
 * message, the last the user's, every text NUL-terminated, and each
 * parameter it changed in its range (param_check).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "openai.h"
#include "params.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct openai_request	 r;
	struct chat_params	 p, def;
	const struct param_def	*d;
	char			*cause = NULL;
	size_t			 i;

	chat_params_default(&def);
	p = def;
	memset(&r, 0, sizeof r);
	if (openai_request_parse((const char *)data, size, &r, &p,
	    &cause) != 0) {
		if (cause == NULL || *cause == '\0' ||
		    strchr(cause, '\n') != NULL)
			abort();
		free(cause);
		openai_request_free(&r);
		return 0;
	}
	if (r.n_msgs == 0 || r.msgs[r.n_msgs - 1].role != CHAT_USER)
		abort();
	for (i = 0; i < r.n_msgs; i++) {
		if (r.msgs[i].content == NULL)
			abort();
		(void)strlen(r.msgs[i].content);
	}
	if (r.system != NULL)
		(void)strlen(r.system);
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if (param_get(d, &p) != param_get(d, &def) &&
		    param_check(d, &p, &cause) != 0)
			abort();
	}
	openai_request_free(&r);
	return 0;
}
