/*
 * cmd.h - the subcommands.  Each takes the parsed options, prints its
 * errors as "r1chat: WHAT: WHY" and returns the exit status.
 */
#ifndef R1_CMD_H
#define R1_CMD_H

struct options;

int cmd_show(struct options *o);

/* Prints "r1chat: " and the formatted message on stderr, one line. */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
