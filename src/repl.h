/*
 * repl.h - the interactive session's commands, as ollama's: /? /help, /set,
 * /show, /clear, /save, /load, /bye, and """ for multi-line messages.  It
 * reads lines given to it and writes through a print callback, so any
 * front end (the TUI, a plain terminal) can drive it.
 */
#ifndef R1_REPL_H
#define R1_REPL_H

#include <stddef.h>

struct chat;

enum repl_action {
	REPL_NONE,	/* handled; read the next line */
	REPL_MORE,	/* inside """: read a continuation line */
	REPL_SEND,	/* a message is ready in repl_message() */
	REPL_QUIT,	/* /bye */
	REPL_RESET	/* the history was replaced (/clear, /load) */
};

/* Writes len bytes of output (whole lines, each ending in \n). */
typedef void (*repl_print_cb)(void *arg, const char *text, size_t len);

struct repl {
	struct chat	*chat;
	int		 verbose;	/* the summary after each answer */
	int		 hidethinking;	/* hide the reasoning */
	const char	*session;	/* the TUI saves here after each turn */
	int		 nohistory;	/* the TUI keeps no input history */

	repl_print_cb	 print;
	void		*arg;

	/* Private. */
	int		 multiline;	/* 0, or what """ is collecting */
	char		*buf;		/* the message being collected */
	size_t		 len;
	size_t		 cap;
	char		*msg;		/* the message to send */
	size_t		 msg_len;
};

/* Sets r up over c, printing through print(arg, ...). */
void repl_init(struct repl *r, struct chat *c, repl_print_cb print,
    void *arg);

/* Frees what r holds (not its chat). */
void repl_free(struct repl *r);

/*
 * Takes one line as typed (no newline) and says what to do next.  After
 * REPL_SEND the message is repl_message(r) until the next call.
 */
enum repl_action repl_line(struct repl *r, const char *line);

/* The message REPL_SEND announced, with its length in *len. */
const char *repl_message(const struct repl *r, size_t *len);

/* Drops a message being collected (Ctrl-C).  Returns 1 if there was one. */
int repl_interrupt(struct repl *r);

/* The prompt for the next line: ">>> ", or "... " inside """. */
const char *repl_prompt(const struct repl *r);

/* The text shown in an empty input line. */
const char *repl_placeholder(const struct repl *r);

#endif
