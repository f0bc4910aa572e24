/*
 * tui.h - the full-screen chat on a terminal: a reasoning pane, an answer
 * pane, a status line and a Readline input line, drawn with ncursesw.
 */
#ifndef R1_TUI_H
#define R1_TUI_H

struct repl;

/*
 * Runs the chat of r (r->chat) on the terminal until /bye, Ctrl-D,
 * SIGHUP, SIGTERM or an error, showing the notice banner first when it is
 * not NULL; after each turn the conversation is saved to r->session when
 * it is not NULL.  The terminal is restored on every way out, fatal
 * signals included.  Returns the exit status: 128 plus the signal's
 * number after SIGHUP or SIGTERM (the answer under way stopped and
 * saved), else 0.
 */
int tui_run(struct repl *r, const char *banner);

#endif
