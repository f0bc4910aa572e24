/*
 * demo.h - the model behind `r1chat --demo`: DeepSeek-R1-Distill-Qwen's
 * shape and template, a small vocabulary built in, random weights.
 */
#ifndef R1_DEMO_H
#define R1_DEMO_H

/* What the demo says first, and plainly. */
#define DEMO_BANNER							\
	"This is r1chat's demo model: its weights are random numbers, so "	\
	"its words are noise.  It shows how a chat looks: reasoning above, "	\
	"the answer below (its reasoning is cut short by a think budget).  "	\
	"Try /? for the commands; /bye to leave."

/*
 * Returns the path (malloc'd) of the demo model, writing it first when
 * $XDG_CACHE_HOME/r1chat/ (default ~/.cache/r1chat/) does not hold it yet.
 * Returns NULL with *cause set when it cannot be written.
 */
char *demo_model(char **cause);

#endif
