/*
 * cmd-tokenize.c - `r1chat tokenize MODEL [TEXT] [--ids] [--no-bos]
 * [--no-special]`: the ids the model's tokenizer makes of TEXT, or of
 * stdin without it.
 *
 * As llama-tokenize does by default: BOS when the model adds one, special
 * tokens parsed.  One line per token, the id right-aligned and the piece
 * (its bytes, control tokens as their text) quoted; --ids prints only the
 * list, "[1, 2, 3]".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gguf.h"
#include "options.h"
#include "tok.h"
#include "util.h"

static void
print_tokens(const struct tok *t, const int32_t *ids, size_t n, int bare)
{
	char	 small[256], *buf;
	size_t	 i;
	int	 len;

	if (bare) {
		printf("[");
		for (i = 0; i < n; i++)
			printf("%s%d", i > 0 ? ", " : "", ids[i]);
		printf("]\n");
		return;
	}
	for (i = 0; i < n; i++) {
		buf = small;
		len = tok_piece(t, ids[i], 1, buf, sizeof small);
		if (len > (int)sizeof small) {
			buf = xmalloc((size_t)len);
			tok_piece(t, ids[i], 1, buf, (size_t)len);
		}
		printf("%6d  '", ids[i]);
		fwrite(buf, 1, len > 0 ? (size_t)len : 0, stdout);
		printf("'\n");
		if (buf != small)
			free(buf);
	}
}

int
cmd_tokenize(struct options *o)
{
	struct gguf_file	*g;
	struct tok		*t;
	char			*cause = NULL, *warning = NULL, *text;
	int32_t			*ids;
	size_t			 n, len;
	int			 rc;

	/* no TEXT: stdin as it is, final newline and all, as llama-tokenize
	 * --stdin reads it */
	if (cmd_text(o, "text", o->n_args == 0 ? CMD_TEXT_STDIN : 0, &text,
	    &len, &cause) != 0) {
		cmd_error("tokenize: %s", cause);
		free(cause);
		return 1;
	}
	if (o->n_args == 0 && len == 0) {
		cmd_error("tokenize: no text given");
		free(text);
		return 2;
	}
	if ((g = gguf_open(o->model, &cause)) == NULL) {
		cmd_error("%s: %s", o->model, cause);
		free(cause);
		free(text);
		return 1;
	}
	t = tok_open(g, &warning, &cause);
	gguf_close(g);
	if (warning != NULL) {
		cmd_error("%s: warning: %s", o->model, warning);
		free(warning);
	}
	if (t == NULL) {
		cmd_error("%s: %s", o->model, cause);
		free(cause);
		free(text);
		return 1;
	}
	rc = tok_encode(t, text, len, !o->no_bos, !o->no_special, &ids, &n,
	    &cause);
	free(text);
	if (rc != 0) {
		cmd_error("tokenize: %s", cause);
		free(cause);
		tok_free(t);
		return 1;
	}
	print_tokens(t, ids, n, o->ids);
	free(ids);
	tok_free(t);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cmd_error("tokenize: write error");
		return 1;
	}
	return 0;
}
