/*
 * tui.c - the full-screen chat: a reasoning pane (dim) above an answer
 * pane, a status line, and an input line driven by GNU Readline's
 * callback interface, all drawn with ncursesw.
 *
 * Readline never touches the terminal here: ncurses reads the keys, hands
 * plain bytes to Readline through rl_getc_function, maps the function keys
 * to Readline commands itself, and draws the line when Readline asks
 * (rl_redisplay_function).  Signals only set flags and wake poll() through
 * a pipe; fatal ones put the terminal back first, using nothing but
 * tcsetattr and write.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>
#include <readline/readline.h>
#include <readline/history.h>

#include "chat.h"
#include "duration.h"
#include "repl.h"
#include "session.h"
#include "tui.h"
#include "util.h"

#define HISTORY_MAX	1000
#define DRAW_EVERY_NS	(33 * 1000 * 1000)	/* redraw at most ~30/s */
#define TAB_SPACES	4

/* How each kind of line is drawn. */
enum style {
	ST_ANSWER,
	ST_REASONING,
	ST_USER,
	ST_INFO,
	ST_NOTICE,
	ST_STATS,
	ST_COUNT
};

static const struct {
	attr_t	attr;
	short	fg;		/* a colour when the terminal has them, or -1 */
} style_table[ST_COUNT] = {
	[ST_ANSWER] = { A_NORMAL, -1 },
	[ST_REASONING] = { A_DIM, -1 },
	[ST_USER] = { A_BOLD, -1 },
	[ST_INFO] = { A_NORMAL, -1 },
	[ST_NOTICE] = { A_BOLD, COLOR_YELLOW },
	[ST_STATS] = { A_DIM, -1 },
};

static const char *phase_name[] = {
	[CHAT_PHASE_IDLE] = "idle",
	[CHAT_PHASE_READING] = "reading",
	[CHAT_PHASE_THINKING] = "thinking",
	[CHAT_PHASE_ANSWERING] = "answering",
};

/* A logical line: wrapped to the pane's width when drawn. */
struct line {
	char		*s;
	size_t		 len;
	size_t		 cap;
	enum style	 style;
	int		 open;		/* text may still be added */
	int		 rows;		/* display rows at the pane's width */
	size_t		 tail;		/* where the last of them starts */
};

struct pane {
	const char	*title;
	struct line	*lines;
	size_t		 n;
	size_t		 cap;
	int		 width;		/* rows are counted for this width */
	long		 total;		/* display rows of all lines */
	long		 top;		/* first row shown unless following */
	int		 follow;	/* show the end as text arrives */
	int		 title_y;	/* -1: no title row */
	int		 y;
	int		 h;
};

#define INQ_SIZE 4096

static struct tui {
	struct repl		*r;
	struct pane		 think;
	struct pane		 answer;
	int			 hidden;	/* reasoning pane not shown */
	int			 status_y;
	int			 input_y;
	int			 hscroll;	/* input line, in columns */

	int			 generating;
	struct chat_stats	 st;		/* the turn's, or the last one's */

	int			 inq[INQ_SIZE];	/* bytes and KEY_ codes read */
	int			 inq_n;
	int			 inq_pos;
	char			*line;		/* Readline's finished line */
	int			 line_ready;
	int			 quit;

	char			*out;		/* REPL output of one command */
	size_t			 out_len;
	char			*history;
	int64_t			 last_draw;
	int			 active;	/* curses is on */
	int			 save_failed;	/* the session's last save */
	SCREEN			*screen;
} tui;

static volatile sig_atomic_t	sig_int;
static volatile sig_atomic_t	sig_winch;
static volatile sig_atomic_t	sig_quit;	/* SIGHUP or SIGTERM came */
static int			sig_pipe[2] = { -1, -1 };
static struct termios		saved_tio;
static int			have_tio;
static char			reset_seq[256];
static size_t			reset_len;

/* The signals that end r1chat; a fault's comes again when it returns. */
static const struct {
	int	sig;
	int	fault;
} fatal_signals[] = {
	{ SIGQUIT, 0 }, { SIGILL, 1 }, { SIGABRT, 0 }, { SIGBUS, 1 },
	{ SIGFPE, 1 }, { SIGSEGV, 1 }
};
#define N_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

/*
 * The signals that end the chat as /bye does, the answer under way
 * stopped and kept: the terminal gone (SIGHUP), or asked to (SIGTERM).
 */
static const int quit_signals[] = { SIGHUP, SIGTERM };
#define N_QUIT (sizeof quit_signals / sizeof quit_signals[0])
static struct sigaction	old_fatal[N_FATAL], old_quit[N_QUIT], old_int;
static struct sigaction	old_winch;

/* --- text --------------------------------------------------------------- */

/*
 * Decodes one UTF-8 character of s (n > 0 bytes).  Returns its length,
 * or 0 when the bytes are not valid UTF-8 (overlong, surrogate, cut).
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t	min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t			len, i;
	uint32_t		c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Columns a character takes; what may not be drawn was replaced before. */
static int
cp_width(uint32_t cp)
{
	int	w = wcwidth((wchar_t)cp);

	return w < 0 ? 1 : w;
}

static void
line_grow(struct line *l, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		l->cap = (l->len + n + 1) * 2;
		if (l->cap < 64)
			l->cap = 64;
		l->s = xreallocarray(l->s, l->cap, 1);
	}
}

/*
 * Appends n bytes to l, made safe to draw: invalid UTF-8 and characters
 * with no width (controls, unassigned) become U+FFFD, tabs spaces.
 */
static void
line_put(struct line *l, const char *s, size_t n)
{
	static const char	repl[] = "\xef\xbf\xbd";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k;
	uint32_t		 cp;

	line_grow(l, n * 3);
	while (i < n) {
		k = utf8_decode(p + i, n - i, &cp);
		if (k == 0) {
			memcpy(l->s + l->len, repl, 3);
			l->len += 3;
			i++;
			continue;
		}
		if (cp == '\t') {
			line_grow(l, TAB_SPACES + n * 3);
			memset(l->s + l->len, ' ', TAB_SPACES);
			l->len += TAB_SPACES;
		} else if (cp == '\r') {
			/* nothing: a line ends at \n */
		} else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
		    wcwidth((wchar_t)cp) < 0) {
			memcpy(l->s + l->len, repl, 3);
			l->len += 3;
		} else {
			memcpy(l->s + l->len, s + i, k);
			l->len += k;
		}
		i += k;
	}
	l->s[l->len] = '\0';
}

/*
 * Finds the display row of s (len bytes) starting at byte i in width
 * columns: stores where it ends in *end and where the next row starts in
 * *next (after the space it broke at, if any).  Breaks at the last space
 * that fits, else where the width runs out; always takes one character.
 */
static void
wrap_row(const char *s, size_t len, size_t i, int width, size_t *end,
    size_t *next)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 j = i, k, brk = 0, brk_next = 0;
	int			 col = 0, w, have_brk = 0;
	uint32_t		 cp;

	while (j < len) {
		if ((k = utf8_decode(p + j, len - j, &cp)) == 0) {
			k = 1;
			cp = 0xfffd;
		}
		w = cp_width(cp);
		if (col + w > width && j > i) {
			if (cp == ' ') {
				*end = j;
				*next = j + 1;
			} else if (have_brk) {
				*end = brk;
				*next = brk_next;
			} else
				*end = *next = j;
			return;
		}
		if (cp == ' ' && j > i) {
			have_brk = 1;
			brk = j;
			brk_next = j + 1;
		}
		col += w;
		j += k;
	}
	*end = *next = len;
}

/*
 * Counts l's display rows at width again, from its last row on unless
 * all is set: text is only ever appended, and rows that ended because
 * the next character did not fit stay as they were.
 */
static void
line_wrap(struct line *l, int width, int all)
{
	size_t	i, end, next;

	if (all || l->tail > l->len) {
		l->tail = 0;
		l->rows = 1;
	}
	if (width < 1)
		return;
	i = l->tail;
	for (;;) {
		wrap_row(l->s, l->len, i, width, &end, &next);
		if (next >= l->len)
			break;
		l->rows++;
		i = l->tail = next;
	}
}

/* --- panes --------------------------------------------------------------- */

static void
pane_init(struct pane *p, const char *title)
{
	memset(p, 0, sizeof *p);
	p->title = title;
	p->follow = 1;
	p->title_y = -1;
}

static void
pane_clear(struct pane *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		free(p->lines[i].s);
	free(p->lines);
	p->lines = NULL;
	p->n = p->cap = 0;
	p->total = 0;
	p->top = 0;
	p->follow = 1;
}

static void
pane_set_width(struct pane *p, int width)
{
	size_t	i;
	long	max;

	if (width == p->width)
		return;
	p->width = width;
	p->total = 0;
	for (i = 0; i < p->n; i++) {
		line_wrap(&p->lines[i], width, 1);
		p->total += p->lines[i].rows;
	}
	max = p->total > p->h ? p->total - p->h : 0;
	if (p->top > max)
		p->top = max;
}

/* The line to add text of style to: the last if still open, else new. */
static struct line *
pane_line(struct pane *p, enum style style)
{
	struct line	*l;

	if (p->n > 0) {
		l = &p->lines[p->n - 1];
		if (l->open && l->style == style)
			return l;
		l->open = 0;
	}
	if (p->n == p->cap) {
		p->cap = p->cap == 0 ? 64 : p->cap * 2;
		p->lines = xreallocarray(p->lines, p->cap, sizeof *p->lines);
	}
	l = &p->lines[p->n++];
	memset(l, 0, sizeof *l);
	line_grow(l, 0);
	l->s[0] = '\0';
	l->style = style;
	l->open = 1;
	l->rows = 1;
	p->total++;
	return l;
}

static void
pane_add(struct pane *p, enum style style, const char *s, size_t n)
{
	struct line	*l;
	const char	*nl;
	size_t		 k;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) : n;
		l = pane_line(p, style);
		if (k > 0) {
			line_put(l, s, k);
			p->total -= l->rows;
			line_wrap(l, p->width, 0);
			p->total += l->rows;
		}
		if (nl != NULL) {
			l->open = 0;
			k++;
		}
		s += k;
		n -= k;
	}
}

static void
pane_puts(struct pane *p, enum style style, const char *s)
{
	pane_add(p, style, s, strlen(s));
}

/* Ends the current line, so that what follows starts a new one. */
static void
pane_end(struct pane *p)
{
	if (p->n > 0 && p->lines[p->n - 1].open) {
		if (p->lines[p->n - 1].len == 0) {
			free(p->lines[--p->n].s);
			p->total--;
		} else
			p->lines[p->n - 1].open = 0;
	}
}

/* Ends the current line and leaves one blank line before what follows. */
static void
pane_gap(struct pane *p)
{
	pane_end(p);
	if (p->n > 0 && p->lines[p->n - 1].len != 0)
		pane_puts(p, p->lines[p->n - 1].style, "\n");
}

static void
pane_scroll(struct pane *p, int pages)
{
	long	max = p->total > p->h ? p->total - p->h : 0;
	long	top = p->follow ? max : p->top;
	long	step = p->h > 2 ? p->h - 1 : 1;

	top += pages * step;
	if (top < 0)
		top = 0;
	if (top > max)
		top = max;
	p->top = top;
	p->follow = top >= max;
}

static void
pane_draw(struct pane *p)
{
	const struct line	*l;
	size_t			 i = 0, start, end, next;
	long			 first, row = 0, skip;
	int			 y = 0, pair;

	if (p->h <= 0)
		return;
	first = p->follow ? (p->total > p->h ? p->total - p->h : 0) : p->top;
	while (i < p->n && row + p->lines[i].rows <= first)
		row += p->lines[i++].rows;
	skip = first - row;
	for (; i < p->n && y < p->h; i++) {
		l = &p->lines[i];
		pair = style_table[l->style].fg >= 0 && has_colors() ?
		    (int)l->style + 1 : 0;
		attrset(style_table[l->style].attr | COLOR_PAIR(pair));
		start = 0;
		do {
			wrap_row(l->s, l->len, start, p->width, &end, &next);
			if (skip > 0)
				skip--;
			else {
				mvaddnstr(p->y + y, 0, l->s + start,
				    (int)(end - start));
				y++;
			}
			start = next;
		} while (start < l->len && y < p->h);
	}
	attrset(A_NORMAL);
}

static void
title_draw(const struct pane *p)
{
	char	buf[128];

	if (p->title_y < 0)
		return;
	attrset(A_DIM);
	mvhline(p->title_y, 0, ACS_HLINE, COLS);
	snprintf(buf, sizeof buf, " %s%s ", p->title,
	    p->follow ? "" : " (scrolled)");
	mvaddnstr(p->title_y, 2, buf, COLS > 2 ? COLS - 2 : 0);
	attrset(A_NORMAL);
}

/* --- drawing -------------------------------------------------------------- */

static void
layout(void)
{
	int	avail = LINES - 2, th;

	tui.hidden = tui.r->hidethinking || avail < 8;
	tui.status_y = LINES >= 2 ? LINES - 2 : 0;
	tui.input_y = LINES - 1;
	if (tui.hidden) {
		tui.think.h = 0;
		tui.think.title_y = -1;
		tui.answer.title_y = -1;
		tui.answer.y = 0;
		tui.answer.h = avail > 0 ? avail : 0;
	} else {
		th = avail / 3;
		tui.think.title_y = 0;
		tui.think.y = 1;
		tui.think.h = th - 1;
		tui.answer.title_y = th;
		tui.answer.y = th + 1;
		tui.answer.h = avail - th - 1;
	}
	pane_set_width(&tui.think, COLS);
	pane_set_width(&tui.answer, COLS);
	/* Heights changed: a scrolled pane must still be in range. */
	pane_scroll(&tui.think, 0);
	pane_scroll(&tui.answer, 0);
}

static double
rate(int n, int64_t ns)
{
	return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

/* A count for the status line: '?' when unknown (-1). */
static const char *
count_text(char *buf, size_t len, int n)
{
	if (n < 0)
		return "?";
	snprintf(buf, len, "%d", n);
	return buf;
}

static void
status_draw(void)
{
	const struct chat_info	*in = chat_info(tui.r->chat);
	const struct chat_stats	*st = &tui.st;
	char			 buf[512], u[16], z[16];
	double			 tps;
	int			 used = st->ctx_used, size = st->ctx_size;

	if (tui.status_y == tui.input_y)
		return;
	/* At rest, the chat's: /clear, /load and num_ctx change it. */
	if (!tui.generating)
		chat_context(tui.r->chat, &used, &size);
	tps = st->phase == CHAT_PHASE_READING ?
	    rate(st->prompt_n, st->prompt_ns) : rate(st->eval_n, st->eval_ns);
	/* What changes first: a narrow terminal cuts the model's name. */
	snprintf(buf, sizeof buf, " %s | ctx %s/%s | %.1f tok/s |%s %s",
	    phase_name[tui.generating ? st->phase : CHAT_PHASE_IDLE],
	    count_text(u, sizeof u, used), count_text(z, sizeof z, size), tps,
	    tui.r->hidethinking ? " reasoning hidden |" : "", in->name);
	attrset(A_REVERSE);
	mvhline(tui.status_y, 0, ' ', COLS);
	mvaddnstr(tui.status_y, 0, buf, COLS);
	attrset(A_NORMAL);
}

static int
str_width(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k;
	uint32_t		 cp;
	int			 w = 0;

	while (i < n) {
		if ((k = utf8_decode(p + i, n - i, &cp)) == 0) {
			k = 1;
			cp = '?';
		}
		w += cp < 0x20 ? 1 : cp_width(cp);
		i += k;
	}
	return w;
}

/* Draws the input line, scrolled sideways to keep the cursor in view. */
static void
input_draw(void)
{
	const unsigned char	*p;
	const char		*prompt, *ph;
	size_t			 i, k, n;
	uint32_t		 cp;
	int			 pw, avail, cur, col, w;

	attrset(A_NORMAL);
	move(tui.input_y, 0);
	clrtoeol();
	if (tui.generating) {
		attrset(A_DIM);
		mvaddnstr(tui.input_y, 0, "(generating: Ctrl-C stops)", COLS);
		attrset(A_NORMAL);
		return;
	}
	prompt = rl_display_prompt != NULL ? rl_display_prompt :
	    repl_prompt(tui.r);
	pw = str_width(prompt, strlen(prompt));
	if (pw > COLS / 2)
		pw = COLS / 2;
	mvaddnstr(tui.input_y, 0, prompt, pw);
	avail = COLS - pw - 1;
	if (avail < 1)
		return;
	ph = repl_placeholder(tui.r);
	if (rl_end == 0 && *ph != '\0' && rl_display_prompt == rl_prompt) {
		attrset(A_DIM);
		mvaddnstr(tui.input_y, pw, ph, avail);
		attrset(A_NORMAL);
		move(tui.input_y, pw);
		return;
	}
	p = (const unsigned char *)rl_line_buffer;
	n = (size_t)rl_end;
	cur = str_width(rl_line_buffer, (size_t)rl_point);
	if (cur < tui.hscroll)
		tui.hscroll = cur;
	if (cur > tui.hscroll + avail)
		tui.hscroll = cur - avail;
	for (i = 0, col = 0; i < n; i += k, col += w) {
		if ((k = utf8_decode(p + i, n - i, &cp)) == 0) {
			k = 1;
			cp = '?';
		}
		w = cp < 0x20 ? 1 : cp_width(cp);
		if (col < tui.hscroll)
			continue;
		if (col + w > tui.hscroll + avail)
			break;
		if (cp < 0x20)
			mvaddch(tui.input_y, pw + col - tui.hscroll, '?');
		else
			mvaddnstr(tui.input_y, pw + col - tui.hscroll,
			    rl_line_buffer + i, (int)k);
	}
	move(tui.input_y, pw + cur - tui.hscroll);
}

static void
draw(void)
{
	erase();
	if (!tui.hidden) {
		title_draw(&tui.think);
		pane_draw(&tui.think);
	}
	title_draw(&tui.answer);
	pane_draw(&tui.answer);
	status_draw();
	curs_set(tui.generating ? 0 : 1);
	input_draw();
	refresh();
	tui.last_draw = util_now_ns();
}

/* --- the terminal ----------------------------------------------------------- */

/*
 * Puts the terminal back as it was, from a signal handler: only tcsetattr
 * and write, with the escape sequences worked out at start.
 */
static void
term_restore_raw(void)
{
	ssize_t	rc;

	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	if (reset_len > 0)
		rc = write(STDOUT_FILENO, reset_seq, reset_len);
	(void)rc;
}

static void
reset_seq_add(const char *cap)
{
	char	*s = tigetstr(cap);
	size_t	 n;

	if (s == NULL || s == (char *)-1)
		return;
	n = strlen(s);
	if (reset_len + n < sizeof reset_seq) {
		memcpy(reset_seq + reset_len, s, n);
		reset_len += n;
	}
}

/*
 * A fatal signal: the terminal back, then the action there was before the
 * TUI's (the default, or main's SIGBUS line) takes it.  A fault comes
 * again when its instruction runs again on return; any other signal (one
 * sent, a keyboard's SIGQUIT) is raised again, to come on return.
 */
static void
on_fatal(int sig, siginfo_t *info, void *ctx)
{
	size_t	i;
	int	fault = 0;

	term_restore_raw();
	for (i = 0; i < N_FATAL; i++) {
		if (fatal_signals[i].sig != sig)
			continue;
		sigaction(sig, &old_fatal[i], NULL);
		fault = fatal_signals[i].fault;
	}
	if (!fault || info->si_code <= 0)
		raise(sig);
	(void)ctx;
}

static void
on_signal(int sig)
{
	int	saved = errno;
	ssize_t	rc;

	if (sig == SIGINT)
		sig_int = 1;
	else if (sig == SIGWINCH)
		sig_winch = 1;
	else
		sig_quit = sig;
	rc = write(sig_pipe[1], "", 1);
	(void)rc;
	errno = saved;
}

static int
signals_install(void)
{
	struct sigaction	sa;
	size_t			i;

	if (pipe(sig_pipe) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFL, fcntl(sig_pipe[i], F_GETFL) |
		    O_NONBLOCK);
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGWINCH, &sa, &old_winch);
	for (i = 0; i < N_QUIT; i++)
		sigaction(quit_signals[i], &sa, &old_quit[i]);
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO;
	for (i = 0; i < N_FATAL; i++)
		sigaction(fatal_signals[i].sig, &sa, &old_fatal[i]);
	return 0;
}

static void
signals_remove(void)
{
	size_t	i;

	for (i = 0; i < N_FATAL; i++)
		sigaction(fatal_signals[i].sig, &old_fatal[i], NULL);
	for (i = 0; i < N_QUIT; i++)
		sigaction(quit_signals[i], &old_quit[i], NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGWINCH, &old_winch, NULL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
}

static void
term_atexit(void)
{
	if (tui.active) {
		tui.active = 0;
		endwin();
	}
}

static void
resize(void)
{
	struct winsize	ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	layout();
	draw();
}

/* --- Readline --------------------------------------------------------------- */

/* Keys ncurses decodes that Readline gets as its own commands. */
static const struct {
	int			 key;
	rl_command_func_t	*fn;
} key_table[] = {
	{ KEY_LEFT, rl_backward_char },
	{ KEY_RIGHT, rl_forward_char },
	{ KEY_UP, rl_get_previous_history },
	{ KEY_DOWN, rl_get_next_history },
	{ KEY_HOME, rl_beg_of_line },
	{ KEY_END, rl_end_of_line },
	{ KEY_DC, rl_delete },
	{ KEY_BACKSPACE, rl_rubout },
};

/* Keys that scroll a pane, by pages. */
static const struct {
	int	key;
	int	think;		/* the reasoning pane, else the answers */
	int	pages;
} scroll_table[] = {
	{ KEY_PPAGE, 0, -1 },
	{ KEY_NPAGE, 0, 1 },
	{ KEY_SPREVIOUS, 1, -1 },
	{ KEY_SNEXT, 1, 1 },
};

/* Handles a scroll or resize key; returns 0 when k is neither. */
static int
key_view(int k)
{
	size_t	i;

	if (k == KEY_RESIZE) {
		/* ncurses has the new size already (resizeterm sends this). */
		layout();
		draw();
		return 1;
	}
	for (i = 0; i < sizeof scroll_table / sizeof scroll_table[0]; i++) {
		if (scroll_table[i].key == k) {
			pane_scroll(scroll_table[i].think ? &tui.think :
			    &tui.answer, scroll_table[i].pages);
			draw();
			return 1;
		}
	}
	return 0;
}

static void
key_command(int k)
{
	size_t	i;

	if (key_view(k))
		return;
	for (i = 0; i < sizeof key_table / sizeof key_table[0]; i++) {
		if (key_table[i].key == k) {
			key_table[i].fn(1, 0);
			(*rl_redisplay_function)();
			return;
		}
	}
}

/*
 * Readline's source of bytes: the queue, or when Readline wants more than
 * was read (the rest of a character), the keyboard, waiting.
 */
static int
rl_getc_hook(FILE *f)
{
	int	c;

	while (tui.inq_pos < tui.inq_n) {
		c = tui.inq[tui.inq_pos++];
		if (c < KEY_MIN)
			return c;
	}
	nodelay(stdscr, FALSE);
	while ((c = getch()) != ERR && c >= KEY_MIN)
		;
	nodelay(stdscr, TRUE);
	return c == ERR ? '\a' : c;
}

static int
rl_avail_hook(void)
{
	return tui.inq_pos < tui.inq_n && tui.inq[tui.inq_pos] < KEY_MIN;
}

static void
rl_redisplay_hook(void)
{
	if (!tui.active)
		return;
	input_draw();
	refresh();
}

static void
rl_prep_hook(int meta)
{
}

static void
rl_deprep_hook(void)
{
}

static void
on_line(char *line)
{
	tui.line = line;
	tui.line_ready = 1;
}

/* $XDG_STATE_HOME/r1chat/history, or NULL when there is no home. */
static char *
history_path(void)
{
	char	*path, *cause = NULL;
	int	 fd;

	if ((path = session_state_path("history", &cause)) == NULL) {
		free(cause);
		return NULL;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

static void
history_add(const char *line)
{
	HIST_ENTRY	*last;

	if (line[strspn(line, " \t")] == '\0')
		return;
	last = history_get(history_base + history_length - 1);
	if (last != NULL && strcmp(last->line, line) == 0)
		return;
	add_history(line);
	if (tui.history != NULL)
		append_history(1, tui.history);
}

static void
readline_start(void)
{
	rl_readline_name = "r1chat";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_prep_term_function = rl_prep_hook;
	rl_deprep_term_function = rl_deprep_hook;
	rl_getc_function = rl_getc_hook;
	rl_input_available_hook = rl_avail_hook;
	rl_redisplay_function = rl_redisplay_hook;
	rl_outstream = fopen("/dev/null", "w");
	using_history();
	if (!tui.r->nohistory && (tui.history = history_path()) != NULL)
		read_history(tui.history);
	rl_callback_handler_install(repl_prompt(tui.r), on_line);
	/* A tab is text here, not completion. */
	rl_bind_key('\t', rl_insert);
}

static void
readline_stop(void)
{
	rl_callback_handler_remove();
	if (tui.history != NULL)
		history_truncate_file(tui.history, HISTORY_MAX);
	free(tui.history);
	tui.history = NULL;
	if (rl_outstream != NULL && rl_outstream != stdout) {
		fclose(rl_outstream);
		rl_outstream = NULL;
	}
}

/* --- the chat ----------------------------------------------------------------- */

static void
repl_out(void *arg, const char *text, size_t len)
{
	tui.out = xreallocarray(tui.out, tui.out_len + len + 1, 1);
	memcpy(tui.out + tui.out_len, text, len);
	tui.out_len += len;
	tui.out[tui.out_len] = '\0';
}

static void
repl_out_flush(void)
{
	if (tui.out_len == 0)
		return;
	pane_end(&tui.answer);
	pane_add(&tui.answer, ST_INFO, tui.out, tui.out_len);
	tui.out_len = 0;
}

/*
 * Polls the keyboard while generating: the view keys act now, the others
 * wait in the queue for the prompt (typing ahead).
 */
static void
keys_during_turn(void)
{
	int	k;

	if (tui.inq_pos == tui.inq_n)
		tui.inq_pos = tui.inq_n = 0;
	while (tui.inq_n < INQ_SIZE && (k = getch()) != ERR) {
		if (!key_view(k))
			tui.inq[tui.inq_n++] = k == KEY_ENTER ? '\r' : k;
	}
}

static void
stats_add(const struct chat_stats *st)
{
	struct duration_stats	 d;
	char			 buf[1024];

	d.total_ns = st->total_ns;
	d.load_ns = st->load_ns;
	d.prompt_eval_count = st->prompt_n;
	d.prompt_eval_ns = st->prompt_ns;
	d.eval_count = st->eval_n;
	d.eval_ns = st->eval_ns;
	d.draft_on = st->draft_on;
	d.draft_count = st->draft_n;
	d.draft_accepted = st->draft_accepted;
	duration_summary(&d, buf, sizeof buf);
	if (st->source != NULL && strlen(buf) < sizeof buf)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
		    "(%s; durations measured by r1chat)\n", st->source);
	pane_gap(&tui.answer);
	pane_puts(&tui.answer, ST_STATS, buf);
}

static int
on_event(const struct chat_event *ev, void *arg)
{
	int	now = 0;

	tui.st = *ev->stats;
	switch (ev->type) {
	case CHAT_EVENT_REASONING:
		pane_add(&tui.think, ST_REASONING, ev->text, ev->len);
		break;
	case CHAT_EVENT_ANSWER:
		pane_add(&tui.answer, ST_ANSWER, ev->text, ev->len);
		break;
	case CHAT_EVENT_NOTICE:
		pane_end(&tui.answer);
		pane_add(&tui.answer, ST_NOTICE, ev->text, ev->len);
		pane_end(&tui.answer);
		now = 1;
		break;
	case CHAT_EVENT_STATS:
		if (tui.r->verbose)
			stats_add(ev->stats);
		now = 1;
		break;
	case CHAT_EVENT_PROGRESS:
		break;
	}
	keys_during_turn();
	if (sig_winch) {
		sig_winch = 0;
		resize();
	} else if (now || util_now_ns() - tui.last_draw >= DRAW_EVERY_NS)
		draw();
	return sig_int != 0 || sig_quit != 0;
}

/*
 * Keeps the conversation in the session's file after a turn (chat_save
 * replaces it whole or not at all); says why once when it cannot.
 */
static void
session_save(void)
{
	char	*cause = NULL;

	if (tui.r->session == NULL || chat_n_messages(tui.r->chat) == 0)
		return;
	if (chat_save(tui.r->chat, tui.r->session, &cause) == 0) {
		tui.save_failed = 0;
		return;
	}
	if (!tui.save_failed) {
		pane_end(&tui.answer);
		pane_puts(&tui.answer, ST_NOTICE, "r1chat: session: ");
		pane_puts(&tui.answer, ST_NOTICE, cause);
		pane_end(&tui.answer);
	}
	tui.save_failed = 1;
	free(cause);
}

static void
turn_run(const char *msg, size_t len)
{
	char	*cause = NULL;

	pane_gap(&tui.think);
	pane_end(&tui.answer);
	tui.generating = 1;
	sig_int = 0;
	memset(&tui.st, 0, sizeof tui.st);
	tui.st.phase = CHAT_PHASE_READING;
	draw();
	if (chat_turn(tui.r->chat, msg, len, on_event, NULL, &cause) != 0) {
		pane_end(&tui.answer);
		pane_puts(&tui.answer, ST_NOTICE, "r1chat: ");
		pane_puts(&tui.answer, ST_NOTICE, cause);
		free(cause);
	}
	pane_end(&tui.think);
	pane_end(&tui.answer);
	session_save();
	sig_int = 0;
	tui.generating = 0;
	tui.st.phase = CHAT_PHASE_IDLE;
}

/* Shows the conversation again after /load or /clear. */
static void
replay(void)
{
	const struct chat_message	*m;
	size_t				 i;

	pane_clear(&tui.think);
	pane_clear(&tui.answer);
	for (i = 0; i < chat_n_messages(tui.r->chat); i++) {
		m = chat_message(tui.r->chat, i);
		if (m->role == CHAT_USER) {
			pane_gap(&tui.answer);
			pane_puts(&tui.answer, ST_USER, ">>> ");
			pane_puts(&tui.answer, ST_USER, m->content);
			pane_end(&tui.answer);
			continue;
		}
		if (m->reasoning != NULL && *m->reasoning != '\0') {
			pane_gap(&tui.think);
			pane_puts(&tui.think, ST_REASONING, m->reasoning);
			pane_end(&tui.think);
		}
		pane_puts(&tui.answer, ST_ANSWER, m->content);
		pane_end(&tui.answer);
	}
}

static void
line_process(char *line)
{
	enum repl_action	 a;
	const char		*msg, *prompt = repl_prompt(tui.r);
	size_t			 len;

	if (line == NULL) {
		tui.quit = 1;
		return;
	}
	history_add(line);
	if (strcmp(prompt, ">>> ") == 0)
		pane_gap(&tui.answer);
	else
		pane_end(&tui.answer);
	pane_puts(&tui.answer, ST_USER, prompt);
	pane_puts(&tui.answer, ST_USER, line);
	pane_end(&tui.answer);
	tui.hscroll = 0;

	a = repl_line(tui.r, line);
	if (a == REPL_RESET) {
		/* The last answer's rate is not this conversation's. */
		memset(&tui.st, 0, sizeof tui.st);
		replay();
	}
	repl_out_flush();
	layout();
	switch (a) {
	case REPL_SEND:
		msg = repl_message(tui.r, &len);
		turn_run(msg, len);
		break;
	case REPL_QUIT:
		tui.quit = 1;
		break;
	case REPL_NONE:
	case REPL_MORE:
	case REPL_RESET:
		break;
	}
	rl_set_prompt(repl_prompt(tui.r));
	draw();
}

/* Ctrl-C at the prompt: drop the line, or say how to leave. */
static void
prompt_interrupt(void)
{
	int	empty = rl_end == 0;

	rl_callback_sigcleanup();
	rl_replace_line("", 0);
	rl_point = rl_end = 0;
	repl_interrupt(tui.r);
	rl_set_prompt(repl_prompt(tui.r));
	tui.hscroll = 0;
	if (empty) {
		pane_end(&tui.answer);
		pane_puts(&tui.answer, ST_INFO,
		    "Use Ctrl + d or /bye to exit.\n");
	}
	draw();
}

/* Reads what the keyboard has and gives it to Readline, a line at a time. */
static void
keys_read(void)
{
	int	k;

	if (tui.inq_pos == tui.inq_n)
		tui.inq_pos = tui.inq_n = 0;
	while (tui.inq_n < INQ_SIZE && (k = getch()) != ERR)
		tui.inq[tui.inq_n++] = k == KEY_ENTER ? '\r' : k;
	while (tui.inq_pos < tui.inq_n && !tui.line_ready && !tui.quit) {
		if (tui.inq[tui.inq_pos] >= KEY_MIN)
			key_command(tui.inq[tui.inq_pos++]);
		else
			rl_callback_read_char();	/* takes it from the queue */
	}
}

/* Modified PgUp/PgDn as xterm sends them. */
static const struct {
	const char	*seq;
	int		 key;
} shift_keys[] = {
	{ "\033[5;2~", KEY_SPREVIOUS }, { "\033[6;2~", KEY_SNEXT },
	{ "\033[5;3~", KEY_SPREVIOUS }, { "\033[6;3~", KEY_SNEXT },
	{ "\033[5;5~", KEY_SPREVIOUS }, { "\033[6;5~", KEY_SNEXT },
};

/* --- the loop ------------------------------------------------------------------ */

static int
curses_start(void)
{
	size_t	i;

	if ((tui.screen = newterm(NULL, stdout, stdin)) == NULL)
		return -1;
	tui.active = 1;
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	if (has_colors()) {
		start_color();
		use_default_colors();
		for (i = 0; i < ST_COUNT; i++) {
			if (style_table[i].fg >= 0)
				init_pair((short)(i + 1), style_table[i].fg, -1);
		}
	}
	/*
	 * Shift+PgUp/PgDn in xterm's form, which not every terminfo entry
	 * names; Ctrl and Alt too, as terminals often keep Shift+PgUp for
	 * their own scrollback.
	 */
	for (i = 0; i < sizeof shift_keys / sizeof shift_keys[0]; i++)
		define_key(shift_keys[i].seq, shift_keys[i].key);
	reset_len = 0;
	reset_seq_add("sgr0");
	reset_seq_add("cnorm");
	reset_seq_add("rmkx");
	reset_seq_add("rmcup");
	return 0;
}

int
tui_run(struct repl *r, const char *banner)
{
	struct pollfd	 pfd[2];
	char		 drain[64];
	static int	 registered;

	memset(&tui, 0, sizeof tui);
	tui.r = r;
	pane_init(&tui.think, "reasoning");
	pane_init(&tui.answer, "answer");
	r->print = repl_out;
	r->arg = NULL;

	if (setlocale(LC_ALL, "") == NULL ||
	    strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		setlocale(LC_CTYPE, "C.UTF-8");
	if (tcgetattr(STDIN_FILENO, &saved_tio) == 0)
		have_tio = 1;
	if (signals_install() != 0) {
		fprintf(stderr, "r1chat: pipe: %s\n", strerror(errno));
		return 1;
	}
	if (!registered) {
		atexit(term_atexit);
		registered = 1;
	}
	if (curses_start() != 0) {
		signals_remove();
		fprintf(stderr, "r1chat: cannot drive this terminal (TERM=%s)\n",
		    getenv("TERM") != NULL ? getenv("TERM") : "");
		return 1;
	}
	readline_start();
	layout();
	/* A resumed conversation, shown as /load shows it. */
	replay();
	if (banner != NULL) {
		pane_puts(&tui.answer, ST_NOTICE, banner);
		pane_end(&tui.answer);
	}
	draw();

	sig_quit = 0;
	while (!tui.quit && !sig_quit) {
		if (sig_winch) {
			sig_winch = 0;
			resize();
		}
		if (sig_int) {
			sig_int = 0;
			prompt_interrupt();
		}
		if (tui.line_ready) {
			tui.line_ready = 0;
			line_process(tui.line);
			free(tui.line);
			tui.line = NULL;
			continue;
		}
		if (tui.inq_pos < tui.inq_n) {
			keys_read();
			continue;
		}
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = sig_pipe[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			while (read(sig_pipe[0], drain, sizeof drain) > 0)
				;
		}
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		if (pfd[0].revents & POLLIN)
			keys_read();
	}

	readline_stop();
	tui.active = 0;
	endwin();
	delscreen(tui.screen);
	signals_remove();
	pane_clear(&tui.think);
	pane_clear(&tui.answer);
	free(tui.out);
	free(tui.line);
	/* As the signal's death would say it, the terminal back first. */
	return sig_quit != 0 ? 128 + sig_quit : 0;
}
