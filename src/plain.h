/*
 * plain.h - one turn without a screen: the reasoning on stderr between
 * "Thinking..." and "...done thinking.", the answer alone on stdout.
 */
#ifndef R1_PLAIN_H
#define R1_PLAIN_H

#include <stddef.h>

struct chat;

/*
 * Sends the message msg (len bytes) as one turn of c and writes what
 * comes back: the reasoning to stderr (nothing when hidethinking), the
 * answer to stdout, the notices (worded CHAT_WORDS_COMMAND) to stderr as
 * "r1chat: " lines, and when verbose ollama's summary.  Ctrl-C stops the
 * answer where it is, as a failed write does: the reader gone (EPIPE,
 * SIGPIPE ignored) ends it quietly with 128 + SIGPIPE, as the signal
 * would; another failure says "r1chat: write error: WHY".  Returns the
 * exit status.
 */
int plain_run(struct chat *c, const char *msg, size_t len, int hidethinking,
    int verbose);

#endif
