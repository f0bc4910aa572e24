/*
 * sse.c - the Server-Sent Events parser.
 *
 * A line is gathered until its end ("\n", "\r\n" or "\r"; a "\r" ending one
 * chunk may be followed by the "\n" beginning the next), then taken apart
 * as the WHATWG specification says: "data" lines add to the event's data,
 * "event" names it, a line starting with ':' is a comment, other fields
 * are ignored, and a blank line dispatches the event when it has data.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "util.h"

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

struct sse {
	sse_cb		 cb;
	void		*arg;
	struct buf	 line;
	struct buf	 data;
	int		 has_data;	/* a data line came, maybe empty */
	char		*type;		/* NULL: "message" */
	int		 after_cr;	/* the last byte seen ended a line in \r */
};

static int
buf_add(struct buf *b, const char *p, size_t n)
{
	char	*q;
	size_t	 cap;

	if (b->len + n + 1 > SSE_MAX_EVENT)
		return -1;
	if (b->len + n + 1 > b->cap) {
		cap = (b->len + n + 1) * 2;
		if ((q = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

struct sse *
sse_new(sse_cb cb, void *arg)
{
	struct sse	*s = xcalloc(1, sizeof *s);

	s->cb = cb;
	s->arg = arg;
	return s;
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	free(s->line.p);
	free(s->data.p);
	free(s->type);
	free(s);
}

/* Hands the event gathered to the callback and starts the next. */
static int
dispatch(struct sse *s)
{
	int	rc = 0;

	if (s->has_data)
		rc = s->cb(s->type != NULL ? s->type : "message",
		    s->data.p != NULL ? s->data.p : "", s->data.len, s->arg);
	s->data.len = 0;
	s->has_data = 0;
	free(s->type);
	s->type = NULL;
	return rc != 0;
}

/* Takes apart one complete line (without its end). */
static int
line_end(struct sse *s, char **cause)
{
	const char	*l = s->line.p != NULL ? s->line.p : "", *v;
	size_t		 n = s->line.len, name;

	s->line.len = 0;
	if (n == 0)
		return dispatch(s);
	if (l[0] == ':')
		return 0;
	v = memchr(l, ':', n);
	name = v != NULL ? (size_t)(v - l) : n;
	v = v != NULL ? v + 1 : l + n;
	if (v < l + n && *v == ' ')
		v++;
	if (name == 4 && memcmp(l, "data", 4) == 0) {
		if ((s->has_data && buf_add(&s->data, "\n", 1) != 0) ||
		    buf_add(&s->data, v, (size_t)(l + n - v)) != 0) {
			*cause = xstrdup("an event is too large");
			return -1;
		}
		s->has_data = 1;
	} else if (name == 5 && memcmp(l, "event", 5) == 0) {
		free(s->type);
		s->type = xstrndup(v, (size_t)(l + n - v));
	}
	return 0;
}

int
sse_push(struct sse *s, const char *buf, size_t len, char **cause)
{
	size_t	i, start = 0;
	int	rc;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n' && buf[i] != '\r') {
			s->after_cr = 0;
			continue;
		}
		if (buf[i] == '\n' && s->after_cr && i == start) {
			/* The \n of a \r\n: the line ended already. */
			s->after_cr = 0;
			start = i + 1;
			continue;
		}
		if (buf_add(&s->line, buf + start, i - start) != 0) {
			*cause = xstrdup("a line is too long");
			return -1;
		}
		s->after_cr = buf[i] == '\r';
		start = i + 1;
		if ((rc = line_end(s, cause)) != 0)
			return rc;
	}
	if (start < len && buf_add(&s->line, buf + start, len - start) != 0) {
		*cause = xstrdup("a line is too long");
		return -1;
	}
	return 0;
}
