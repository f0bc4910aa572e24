/*
 * test-sse.c - the Server-Sent Events parser: worked examples of each rule
 * (the three line ends, multi-line data, comments, named events, an event
 * without data, one left unfinished), the same stream cut at every pair
 * of places giving the same events, the callback stopping the stream, and
 * an oversized event refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "tap.h"

/* The events seen, written as "type=data|" one after the other. */
struct seen {
	char	out[4096];
	size_t	n;
	int	stop_after;	/* stop after this many events; 0: never */
	int	events;
};

static int
collect(const char *type, const char *data, size_t len, void *arg)
{
	struct seen	*s = arg;
	int		 k;

	k = snprintf(s->out + s->n, sizeof s->out - s->n, "%s=%.*s|", type,
	    (int)len, data);
	if (k > 0)
		s->n += (size_t)k;
	s->events++;
	return s->stop_after != 0 && s->events >= s->stop_after;
}

/* Runs text through a parser in the chunks cut at a and b. */
static int
run(const char *text, size_t a, size_t b, struct seen *s, char **cause)
{
	struct sse	*p = sse_new(collect, s);
	size_t		 n = strlen(text);
	int		 rc;

	if ((rc = sse_push(p, text, a, cause)) == 0 &&
	    (rc = sse_push(p, text + a, b - a, cause)) == 0)
		rc = sse_push(p, text + b, n - b, cause);
	sse_free(p);
	return rc;
}

static const struct {
	const char	*name;
	const char	*in;
	const char	*want;
} examples[] = {
	{ "one event", "data: {\"a\":1}\n\n", "message={\"a\":1}|" },
	{ "no space after the colon", "data:x\n\n", "message=x|" },
	{ "only the first space goes", "data:  x\n\n", "message= x|" },
	{ "CRLF line ends", "data: a\r\n\r\ndata: b\r\n\r\n",
	  "message=a|message=b|" },
	{ "CR line ends", "data: a\r\rdata: b\r\r", "message=a|message=b|" },
	{ "data lines joined by newlines", "data: a\ndata: b\ndata\n\n",
	  "message=a\nb\n|" },
	{ "comments are ignored", ": keep-alive\n\ndata: x\n: c\n\n",
	  "message=x|" },
	{ "a named event", "event: error\ndata: bad\n\ndata: ok\n\n",
	  "error=bad|message=ok|" },
	{ "other fields are ignored", "id: 7\nretry: 10\ndata: x\n\n",
	  "message=x|" },
	{ "a blank line without data is no event", "\n\n\nevent: e\n\n",
	  "" },
	{ "an unfinished event is not given", "data: a\n\ndata: b\n",
	  "message=a|" },
	{ "the OpenAI end marker", "data: {}\n\ndata: [DONE]\n\n",
	  "message={}|message=[DONE]|" },
};
#define N_EXAMPLES (sizeof examples / sizeof examples[0])

int
main(void)
{
	struct seen	 s, whole;
	struct sse	*p;
	char		*cause = NULL, *big;
	size_t		 i, a, b, n;
	int		 bad, rc;

	for (i = 0; i < N_EXAMPLES; i++) {
		memset(&s, 0, sizeof s);
		n = strlen(examples[i].in);
		rc = run(examples[i].in, n, n, &s, &cause);
		ok(rc == 0 && strcmp(s.out, examples[i].want) == 0,
		    "%s: got \"%s\"", examples[i].name, s.out);
	}

	for (i = 0; i < N_EXAMPLES; i++) {
		memset(&whole, 0, sizeof whole);
		n = strlen(examples[i].in);
		run(examples[i].in, n, n, &whole, &cause);
		bad = 0;
		for (a = 0; a <= n; a++) {
			for (b = a; b <= n; b++) {
				memset(&s, 0, sizeof s);
				if (run(examples[i].in, a, b, &s, &cause) != 0 ||
				    strcmp(s.out, whole.out) != 0)
					bad++;
			}
		}
		ok(bad == 0, "%s: every cut in three gives the same events "
		    "(%d differ)", examples[i].name, bad);
	}

	memset(&s, 0, sizeof s);
	s.stop_after = 1;
	rc = run("data: a\n\ndata: b\n\n", 18, 18, &s, &cause);
	ok(rc == 1 && strcmp(s.out, "message=a|") == 0,
	    "the callback stops the stream (rc %d, \"%s\")", rc, s.out);

	n = SSE_MAX_EVENT + 16;
	big = malloc(n);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n - 6);
	memset(&s, 0, sizeof s);
	p = sse_new(collect, &s);
	rc = 0;
	for (i = 0; i < n && rc == 0; i += 65536)
		rc = sse_push(p, big + i, n - i < 65536 ? n - i : 65536,
		    &cause);
	ok(rc == -1 && cause != NULL && s.events == 0,
	    "an event larger than SSE_MAX_EVENT is refused: %s",
	    cause != NULL ? cause : "(accepted)");
	sse_free(p);
	free(cause);
	free(big);
	return done_testing();
}
