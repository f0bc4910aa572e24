/*
 * plain.c - one turn written to stdout and stderr, as `ollama run` does
 * when it is not on a terminal, except that the reasoning goes to stderr so
 * that stdout holds the answer alone.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "duration.h"
#include "plain.h"

struct plain {
	int	hidethinking;
	int	verbose;
	int	thinking;	/* "Thinking..." written, not closed yet */
	int	think_nl;	/* the reasoning so far ends in \n */
	int	answered;	/* some answer was written */
	int	answer_nl;	/* the answer so far ends in \n */
	int	failed;		/* a write failed */
	int	error;		/* the first failed write's errno */
	int	ended;		/* the turn ran to its end (stats came) */
};

static volatile sig_atomic_t	stop;

static void
on_int(int sig)
{
	stop = 1;
}

/* Writes s; a failure is kept (the first's errno) and ends the turn. */
static void
put(struct plain *p, FILE *f, const char *s, size_t n)
{
	if ((n > 0 && fwrite(s, 1, n, f) != n) || fflush(f) != 0) {
		if (!p->failed)
			p->error = errno;
		p->failed = 1;
	}
}

static void
think_close(struct plain *p)
{
	if (!p->thinking)
		return;
	if (!p->think_nl)
		put(p, stderr, "\n", 1);
	put(p, stderr, "...done thinking.\n\n", 19);
	p->thinking = 0;
}

static int
on_event(const struct chat_event *ev, void *arg)
{
	struct plain		*p = arg;
	struct duration_stats	 d;

	switch (ev->type) {
	case CHAT_EVENT_REASONING:
		if (p->hidethinking || ev->len == 0)
			break;
		if (!p->thinking && !p->answered) {
			put(p, stderr, "Thinking...\n", 12);
			p->thinking = 1;
		}
		put(p, stderr, ev->text, ev->len);
		p->think_nl = ev->text[ev->len - 1] == '\n';
		break;
	case CHAT_EVENT_ANSWER:
		if (ev->len == 0)
			break;
		think_close(p);
		put(p, stdout, ev->text, ev->len);
		p->answered = 1;
		p->answer_nl = ev->text[ev->len - 1] == '\n';
		break;
	case CHAT_EVENT_NOTICE:
		think_close(p);
		if (p->answered && !p->answer_nl) {
			put(p, stdout, "\n", 1);
			p->answer_nl = 1;
		}
		fprintf(stderr, "r1chat: %.*s\n", (int)ev->len, ev->text);
		break;
	case CHAT_EVENT_STATS:
		p->ended = 1;
		think_close(p);
		if (p->answered && !p->answer_nl) {
			put(p, stdout, "\n", 1);
			p->answer_nl = 1;
		}
		if (!p->verbose)
			break;
		d.total_ns = ev->stats->total_ns;
		d.load_ns = ev->stats->load_ns;
		d.prompt_eval_count = ev->stats->prompt_n;
		d.prompt_eval_ns = ev->stats->prompt_ns;
		d.eval_count = ev->stats->eval_n;
		d.eval_ns = ev->stats->eval_ns;
		d.draft_on = ev->stats->draft_on;
		d.draft_count = ev->stats->draft_n;
		d.draft_accepted = ev->stats->draft_accepted;
		put(p, stderr, "\n", 1);
		if (duration_summary_print(&d, stderr) != 0)
			p->failed = 1;
		if (ev->stats->source != NULL)
			fprintf(stderr, "(%s; durations measured by r1chat)\n",
			    ev->stats->source);
		break;
	case CHAT_EVENT_PROGRESS:
		break;
	}
	return stop != 0 || p->failed;
}

int
plain_run(struct chat *c, const char *msg, size_t len, int hidethinking,
    int verbose)
{
	struct plain		 p;
	struct sigaction	 sa, old;
	char			*cause = NULL;
	int			 rc;

	memset(&p, 0, sizeof p);
	p.hidethinking = hidethinking;
	p.verbose = verbose;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_int;
	sigemptyset(&sa.sa_mask);
	stop = 0;
	sigaction(SIGINT, &sa, &old);
	rc = chat_turn(c, msg, len, on_event, &p, &cause);
	sigaction(SIGINT, &old, NULL);
	think_close(&p);
	if (p.answered && !p.answer_nl)
		put(&p, stdout, "\n", 1);
	if (rc != 0) {
		fprintf(stderr, "r1chat: %s\n", cause);
		free(cause);
		return 1;
	}
	if (!p.failed && fflush(stdout) != 0) {
		p.failed = 1;
		p.error = errno;
	}
	/* The reader left (| head): as SIGPIPE would end it, quietly. */
	if (p.failed && p.error == EPIPE)
		return 128 + SIGPIPE;
	if (p.failed) {
		fprintf(stderr, "r1chat: write error: %s\n",
		    strerror(p.error));
		return 1;
	}
	if (stop)
		return 130;
	/* No stats: the message was refused (a notice said why). */
	return p.ended ? 0 : 1;
}
