/*
 * fuzz-template.c - libFuzzer target for the chat templates (`make fuzz`).
 *
 * The input: a byte choosing the family, a byte of options (generation
 * prompt, BOS, EOS, --nothink), then messages, each a role byte and its
 * text up to a NUL.  The rendering must hold its segments end to end, in
 * order, adjacent ones of different kinds, its text NUL-terminated, and
 * every user message's text in one content segment: all of it from its
 * first printable ASCII character to its last (llama3 trims what is
 * around, Unicode's spaces included).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define HEAD	2

/* Whether the n bytes of s are inside one content segment of out. */
static int
in_content(const struct template_out *out, const char *s, size_t n)
{
	const struct template_seg	*g;
	size_t				 i, j;

	if (n == 0)
		return 1;
	for (i = 0; i < out->n_segs; i++) {
		g = &out->segs[i];
		if (g->kind != TEMPLATE_SEG_CONTENT || g->len < n)
			continue;
		for (j = 0; j + n <= g->len; j++) {
			if (memcmp(out->text + g->off + j, s, n) == 0)
				return 1;
		}
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum template_role	 roles[] = { TEMPLATE_SYSTEM,
	    TEMPLATE_USER, TEMPLATE_ASSISTANT };
	const struct template_family	*f;
	struct template_opts		 opts;
	struct template_out		 out;
	struct template_msg		*msgs;
	char				*text, *cause = NULL, *p, *end;
	size_t				 n_fam = 0, n = 0, i, off;

	if (size < HEAD)
		return 0;
	while (template_at(n_fam) != NULL)
		n_fam++;
	f = template_at(data[0] % n_fam);
	memset(&opts, 0, sizeof opts);
	opts.add_generation_prompt = data[1] & 1;
	opts.bos = data[1] & 2 ? "<BOS>" : NULL;
	opts.eos = data[1] & 4 ? "<EOS>" : NULL;
	opts.nothink = (data[1] & 8) != 0;
	if (data[1] & 16)
		opts.date = "1 Jan 2025";

	/* The messages: role byte, text, NUL; the last may lack its NUL. */
	if ((text = malloc(size - HEAD + 1)) == NULL)
		abort();
	memcpy(text, data + HEAD, size - HEAD);
	text[size - HEAD] = '\0';
	if ((msgs = calloc(size, sizeof *msgs)) == NULL)
		abort();
	for (p = text, end = text + (size - HEAD); p < end; n++) {
		msgs[n].role = roles[(unsigned char)*p % 3];
		msgs[n].content = p + 1;
		p += strlen(p + 1) + 2;
	}

	if (template_render(f, msgs, n, &opts, &out, &cause) != 0)
		abort();
	if (out.text == NULL || out.text[out.len] != '\0')
		abort();
	for (i = 0, off = 0; i < out.n_segs; i++) {
		if (out.segs[i].off != off || out.segs[i].len == 0 ||
		    (i > 0 && out.segs[i].kind == out.segs[i - 1].kind))
			abort();
		off += out.segs[i].len;
	}
	if (off != out.len)
		abort();
	for (i = 0; i < n; i++) {
		if (msgs[i].role != TEMPLATE_USER)
			continue;
		p = (char *)msgs[i].content;
		for (end = p + strlen(p); p < end && (*p <= ' ' || *p > '~');)
			p++;
		while (end > p && (end[-1] <= ' ' || end[-1] > '~'))
			end--;
		if (!in_content(&out, p, (size_t)(end - p)))
			abort();
	}
	template_out_free(&out);
	free(msgs);
	free(text);
	return 0;
}
