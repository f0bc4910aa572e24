/*
 * sse.h - a streaming parser of Server-Sent Events (text/event-stream), as
 * OpenAI-compatible servers stream chat completions: lines of "field:
 * value", events ended by a blank line.  Fed bytes in chunks of any size;
 * calls back once per complete event.
 */
#ifndef R1_SSE_H
#define R1_SSE_H

#include <stddef.h>

/* The most bytes one event may hold before the stream is refused. */
#define SSE_MAX_EVENT	(16u << 20)

/*
 * Receives one event: its type (the "event:" field, "message" when none)
 * and its data ("data:" lines joined by "\n", NUL-terminated, len bytes).
 * Returns nonzero to stop the stream.
 */
typedef int (*sse_cb)(const char *type, const char *data, size_t len,
    void *arg);

struct sse;

struct sse *sse_new(sse_cb cb, void *arg);
void sse_free(struct sse *s);

/*
 * Feeds len bytes of the stream.  Returns 0, 1 when the callback asked to
 * stop (the rest of buf is ignored), or -1 with *cause set when an event
 * outgrows SSE_MAX_EVENT or memory runs out.
 */
int sse_push(struct sse *s, const char *buf, size_t len, char **cause);

#endif
