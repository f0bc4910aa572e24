/*
 * session.h - the conversations the full-screen chat keeps, one file each
 * in $XDG_STATE_HOME/r1chat/sessions (else ~/.local/state/r1chat/sessions),
 * in /save's format, so that --resume or /load continues one.
 */
#ifndef R1_SESSION_H
#define R1_SESSION_H

/* The sessions kept: starting one removes the oldest past this many. */
#define SESSION_KEEP	50

/*
 * $XDG_STATE_HOME/r1chat/REL (else ~/.local/state/r1chat/REL), malloc'd,
 * the directories before its last '/' made; NULL with *cause set when
 * there is no home or a directory cannot be made.
 */
char *session_state_path(const char *rel, char **cause);

/*
 * The file of a new session (named by the local time and the process),
 * not yet written, malloc'd; the oldest sessions past SESSION_KEEP - 1
 * are removed first.  NULL with *cause set when there is no directory.
 */
char *session_new(char **cause);

/*
 * The file of the session name (a file in the sessions directory, with or
 * without ".json", or a path holding a '/'), or of the newest session
 * when name is NULL; malloc'd.  NULL with *cause set when there is none.
 */
char *session_find(const char *name, char **cause);

/*
 * The model a saved conversation at path was held with, malloc'd; NULL
 * with *cause set when path cannot be read or names none.
 */
char *session_model(const char *path, char **cause);

#endif
