/*
 * demo.h - a model for the tests (test-chat): DeepSeek-R1-Distill-Qwen's
 * shape and template, a small vocabulary built in, random weights.  It was
 * `r1chat --demo`'s until the trained share/r1chat-demo.gguf; the chat
 * layer's tests keep it for its exact, small shapes.
 */
#ifndef R1_DEMO_H
#define R1_DEMO_H

/*
 * Returns the path (malloc'd) of the demo model, writing it first when
 * $XDG_CACHE_HOME/r1chat/ (default ~/.cache/r1chat/) does not hold it yet.
 * Returns NULL with *cause set when it cannot be written.
 */
char *demo_model(char **cause);

#endif
