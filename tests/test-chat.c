/*
 * test-chat.c - the chat layer on the demo model (made here, in a
 * temporary cache): the events of a turn and their order, the history and
 * the KV cache reused, stopping, --nothink, the think budget, context
 * overflow and refusal, /save and /load, the REPL's commands, and every
 * row of the parameter table through each way in and out (the command
 * line, /set and /show, /save and /load, OpenAI requests).
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "chat.h"
#include "cmd.h"
#include "demo.h"
#include "openai.h"
#include "options.h"
#include "params.h"
#include "repl.h"
#include "sampler.h"
#include "tap.h"
#include "util.h"

struct rec {
	char		*reasoning;
	size_t		 rlen;
	char		*answer;
	size_t		 alen;
	char		*notices;
	size_t		 nlen;
	int		 n_progress;
	int		 n_stats;
	int		 order_ok;	/* no reasoning after the answer began */
	int		 after_stats;	/* events after the stats */
	int		 stop_after;	/* stop at this many answer events */
	int		 n_answer;
	struct chat_stats last;
};

static void
cat(char **s, size_t *len, const char *t, size_t n)
{
	*s = xreallocarray(*s, *len + n + 1, 1);
	memcpy(*s + *len, t, n);
	*len += n;
	(*s)[*len] = '\0';
}

static int
on_event(const struct chat_event *ev, void *arg)
{
	struct rec	*r = arg;

	if (r->n_stats > 0)
		r->after_stats++;
	switch (ev->type) {
	case CHAT_EVENT_REASONING:
		if (r->alen > 0)
			r->order_ok = 0;
		cat(&r->reasoning, &r->rlen, ev->text, ev->len);
		break;
	case CHAT_EVENT_ANSWER:
		cat(&r->answer, &r->alen, ev->text, ev->len);
		r->n_answer++;
		break;
	case CHAT_EVENT_NOTICE:
		cat(&r->notices, &r->nlen, ev->text, ev->len);
		cat(&r->notices, &r->nlen, "\n", 1);
		break;
	case CHAT_EVENT_PROGRESS:
		r->n_progress++;
		break;
	case CHAT_EVENT_STATS:
		r->n_stats++;
		r->last = *ev->stats;
		break;
	}
	return r->stop_after > 0 && r->n_answer >= r->stop_after;
}

static void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof *r);
	r->order_ok = 1;
	r->reasoning = xstrdup("");
	r->answer = xstrdup("");
	r->notices = xstrdup("");
}

static void
rec_free(struct rec *r)
{
	free(r->reasoning);
	free(r->answer);
	free(r->notices);
}

static int
turn(struct chat *c, const char *msg, struct rec *r)
{
	char	*cause = NULL;
	int	 rc;

	rec_init(r);
	rc = chat_turn(c, msg, strlen(msg), on_event, r, &cause);
	if (rc != 0) {
		diag("chat_turn: %s", cause);
		free(cause);
	}
	return rc;
}

static struct chat *
open_demo(const char *path, int think_budget, int num_predict, int num_ctx)
{
	struct chat_config	 cfg;
	struct chat		*c;
	char			*cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	chat_params_default(&cfg.params);
	cfg.model_path = path;
	cfg.n_threads = 1;
	cfg.params.temperature = 0;
	cfg.params.think_budget = think_budget;
	cfg.params.num_predict = num_predict;
	cfg.params.num_ctx = num_ctx;
	if ((c = chat_open(&cfg, NULL, &cause)) == NULL) {
		diag("chat_open: %s", cause);
		free(cause);
	}
	return c;
}

/* What leading whitespace the display drops: the rest must be equal. */
static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\n')
		s++;
	return s;
}

static void
test_turns(const char *model)
{
	struct chat			*c;
	const struct chat_message	*m;
	struct rec			 r, r2;

	c = open_demo(model, 5, 24, 0);
	ok(c != NULL, "the demo model opens");
	if (c == NULL)
		return;
	ok(strcmp(chat_info(c)->arch, "qwen2") == 0, "info: architecture");
	ok(strcmp(chat_info(c)->template_name, "deepseek-r1") == 0,
	    "info: the R1 template, found from the model's Jinja");
	ok(chat_info(c)->template_source != NULL, "info: the Jinja kept");

	ok(turn(c, "hello there", &r) == 0, "a turn runs");
	ok(r.rlen > 0 && r.alen > 0, "reasoning and answer both come (%zu, "
	    "%zu bytes)", r.rlen, r.alen);
	ok(r.order_ok, "no reasoning after the answer began");
	ok(r.n_stats == 1 && r.after_stats == 0, "one stats event, last");
	ok(r.n_progress > 0, "progress events (%d)", r.n_progress);
	ok(r.last.eval_n > 0 && r.last.eval_n <= 24, "eval count %d within "
	    "num_predict", r.last.eval_n);
	ok(r.last.prompt_n > 0 && r.last.load_ns > 0, "prompt count and load "
	    "time on the first turn");
	ok(r.last.ctx_used == r.last.prompt_n + r.last.eval_n,
	    "context used = prompt + generated (%d)", r.last.ctx_used);
	ok(chat_n_messages(c) == 2, "the history holds the question and the "
	    "answer");
	m = chat_message(c, 1);
	ok(m != NULL && m->role == CHAT_ASSISTANT &&
	    strcmp(skip_ws(m->content), skip_ws(r.answer)) == 0,
	    "the history keeps the answer shown");
	ok(m != NULL && m->reasoning != NULL &&
	    strcmp(skip_ws(m->reasoning), skip_ws(r.reasoning)) == 0,
	    "and its reasoning apart");
	ok(strstr(m->content, "</think>") == NULL, "no tag in the answer kept");

	ok(turn(c, "and then?", &r2) == 0, "a second turn runs");
	ok(r2.last.load_ns == 0, "no load time on the second turn");
	ok(r2.last.prompt_n < r2.last.ctx_used - r2.last.eval_n,
	    "the cache is reused: %d prompt tokens evaluated of %d",
	    r2.last.prompt_n, r2.last.ctx_used - r2.last.eval_n);
	ok(chat_n_messages(c) == 4, "four messages");
	rec_free(&r);
	rec_free(&r2);

	/* Stopping keeps what came. */
	rec_init(&r);
	r.stop_after = 2;
	{
		char	*cause = NULL;

		ok(chat_turn(c, "stop soon", 9, on_event, &r, &cause) == 0,
		    "a stopped turn returns 0");
	}
	m = chat_message(c, chat_n_messages(c) - 1);
	ok(r.n_answer == 2 && m->role == CHAT_ASSISTANT &&
	    strcmp(skip_ws(m->content), skip_ws(r.answer)) == 0 &&
	    *skip_ws(r.answer) != '\0',
	    "stopped after two answer events, the partial answer kept");
	rec_free(&r);

	chat_clear(c);
	ok(chat_n_messages(c) == 0, "/clear forgets the conversation");
	chat_free(c);
}

static void
test_think(const char *model)
{
	struct chat		*c;
	struct chat_params	 p;
	struct rec		 r;
	char			*cause = NULL;
	int			 n;

	c = open_demo(model, -1, 16, 0);
	if (c == NULL)
		return;
	p = *chat_get_params(c);
	p.think = 0;
	ok(chat_set_params(c, &p, &cause) == 0, "think off");
	ok(turn(c, "hello there", &r) == 0 && r.rlen == 0 && r.alen > 0,
	    "nothink: an answer and no reasoning");
	rec_free(&r);

	p.think = 1;
	p.think_budget = 0;
	chat_set_params(c, &p, &cause);
	ok(turn(c, "hello there", &r) == 0 && r.alen > 0,
	    "a budget of 0 closes the reasoning at once");
	rec_free(&r);

	p.think_budget = -1;
	p.num_predict = 12;
	chat_set_params(c, &p, &cause);
	n = turn(c, "hello there", &r);
	ok(n == 0 && r.alen == 0 && r.rlen > 0 &&
	    strstr(r.notices, "The answer was cut inside its reasoning: 12 "
	    "tokens, the limit of num_predict.") != NULL &&
	    strstr(r.notices, "never closed") == NULL,
	    "num_predict cuts the reasoning: all of it reasoning, and a notice "
	    "blaming num_predict, not the model: %s", r.notices);
	ok(chat_message(c, chat_n_messages(c) - 1)->content[0] == '\0',
	    "no answer kept for it");
	rec_free(&r);
	chat_free(c);
}

static void
test_context(const char *model)
{
	struct chat		*c;
	struct chat_params	 p;
	struct rec		 r;
	char			*cause = NULL, long_msg[2048];
	size_t			 i, before;
	int			 dropped = 0, n;

	c = open_demo(model, 2, 6, 64);
	if (c == NULL)
		return;
	chat_set_system(c, "Be brief.");
	for (n = 0; n < 12 && !dropped; n++) {
		if (turn(c, "tell me one more thing about it", &r) != 0)
			break;
		dropped = strstr(r.notices, "oldest") != NULL;
		rec_free(&r);
	}
	ok(dropped, "old turns are dropped, with a notice, after %d turns", n);
	ok(chat_get_system(c) != NULL &&
	    strcmp(chat_get_system(c), "Be brief.") == 0,
	    "the system prompt is kept");
	ok(chat_n_messages(c) >= 2 && chat_message(c, 0)->role == CHAT_USER,
	    "the history still starts with a question");

	before = chat_n_messages(c);
	for (i = 0; i + 5 < sizeof long_msg; i += 5)
		memcpy(long_msg + i, "word ", 5);
	long_msg[i] = '\0';
	ok(turn(c, long_msg, &r) == 0 && strstr(r.notices, "too long") &&
	    r.n_stats == 0, "a message longer than the context is refused");
	ok(chat_n_messages(c) == before, "and the history is as it was");
	ok(strstr(r.notices, "with the system prompt") != NULL &&
	    strstr(r.notices, "/set parameter num_ctx") != NULL,
	    "the refusal counts the system prompt, and gives REPL advice");
	rec_free(&r);
	chat_set_system(c, NULL);
	n = turn(c, long_msg, &r);
	ok(n == 0 && strstr(r.notices, "too long") &&
	    strstr(r.notices, "system prompt") == NULL,
	    "without a system prompt, the refusal does not name one: %s",
	    r.notices);
	rec_free(&r);
	chat_set_system(c, "Be brief.");
	ok(turn(c, "short again", &r) == 0 && r.n_stats == 1,
	    "the session goes on");
	rec_free(&r);

	p = *chat_get_params(c);
	p.num_ctx = 10;
	n = chat_set_params(c, &p, &cause);
	ok(n != 0 && cause != NULL, "num_ctx 10 is refused: %s",
	    cause ? cause : "");
	free(cause);
	cause = NULL;
	ok(chat_get_params(c)->num_ctx == 64, "and the old one kept");
	p.num_ctx = 256;
	p.temperature = -1;
	ok(chat_set_params(c, &p, &cause) != 0, "a negative temperature is "
	    "refused");
	free(cause);
	cause = NULL;
	p.temperature = 0.5f;
	ok(chat_set_params(c, &p, &cause) == 0 &&
	    chat_get_params(c)->num_ctx == 256, "num_ctx grows");
	ok(turn(c, "after the change", &r) == 0 && r.n_stats == 1 &&
	    r.last.ctx_size == 256, "a turn in the new context");
	rec_free(&r);
	chat_free(c);
}

/* The message "<｜User｜>" is text: more tokens than a one-letter one. */
static void
test_specials(const char *model)
{
	struct chat	*c;
	struct rec	 r;
	int		 plain, special;

	if ((c = open_demo(model, 0, 1, 0)) == NULL)
		return;
	turn(c, "x", &r);
	plain = r.last.prompt_n;
	rec_free(&r);
	chat_free(c);
	if ((c = open_demo(model, 0, 1, 0)) == NULL)
		return;
	turn(c, "<\xef\xbd\x9cUser\xef\xbd\x9c>", &r);
	special = r.last.prompt_n;
	rec_free(&r);
	chat_free(c);
	ok(special > plain + 2, "a control token's text in a message is not "
	    "the token (%d vs %d prompt tokens)", special, plain);
}

static int
dir_entries(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	int		 n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void
test_save(const char *model, const char *dir)
{
	struct chat			*c, *d;
	struct chat_params		 p;
	struct rec			 r;
	const struct chat_message	*a, *b;
	char				*path, *bad, *cause = NULL, *sub;
	const char			*expect;
	FILE				*f;
	size_t				 i;
	int				 same;

	if ((c = open_demo(model, 3, 10, 0)) == NULL)
		return;
	sub = xstrfmt("%s/save", dir);
	ok(mkdir(sub, 0700) == 0, "a directory for /save");
	chat_set_system(c, "Sys \"quoted\"\nline two");
	turn(c, "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd", &r);
	rec_free(&r);
	turn(c, "bad \xff\xfe bytes", &r);
	rec_free(&r);
	p = *chat_get_params(c);
	p.top_k = 17;
	p.temperature = 0.25f;
	chat_set_params(c, &p, &cause);

	path = xstrfmt("%s/conv.json", sub);
	ok(chat_save(c, path, &cause) == 0, "/save writes");
	ok(dir_entries(sub) == 1, "no temporary file is left beside it");
	ok(chat_save(c, path, &cause) == 0 && dir_entries(sub) == 1,
	    "/save over an old file replaces it");

	d = open_demo(model, -1, 5, 0);
	ok(d != NULL && chat_load(d, path, &cause) == 0, "/load reads it");
	if (d == NULL) {
		chat_free(c);
		return;
	}
	same = chat_n_messages(d) == chat_n_messages(c);
	for (i = 0; same && i < chat_n_messages(c); i++) {
		a = chat_message(c, i);
		b = chat_message(d, i);
		/* Message 2 had bytes that are not UTF-8. */
		expect = i == 2 ? "bad \xef\xbf\xbd\xef\xbf\xbd bytes" :
		    a->content;
		same = a->role == b->role && strcmp(b->content, expect) == 0 &&
		    (a->reasoning == NULL) == (b->reasoning == NULL) &&
		    (a->reasoning == NULL ||
		    strcmp(a->reasoning, b->reasoning) == 0);
	}
	ok(same, "the messages come back (bytes not UTF-8 as U+FFFD)");
	ok(chat_get_system(d) != NULL &&
	    strcmp(chat_get_system(d), "Sys \"quoted\"\nline two") == 0,
	    "the system prompt comes back");
	ok(chat_get_params(d)->top_k == 17 &&
	    chat_get_params(d)->temperature == 0.25f &&
	    chat_get_params(d)->think_budget == 3, "the parameters come back");
	ok(turn(d, "go on", &r) == 0 && r.n_stats == 1,
	    "a loaded conversation goes on");
	rec_free(&r);

	bad = xstrfmt("%s/bad.json", sub);
	f = fopen(bad, "w");
	fputs("{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}",
	    f);
	fclose(f);
	i = chat_n_messages(d);
	same = chat_load(d, bad, &cause);
	ok(same != 0 && cause != NULL, "a malformed file is refused: %s",
	    cause ? cause : "");
	free(cause);
	cause = NULL;
	ok(chat_n_messages(d) == i, "and the conversation is as it was");
	f = fopen(bad, "w");
	fputs("{\"messages\": [], \"parameters\": {\"num_ctx\": 3}}", f);
	fclose(f);
	ok(chat_load(d, bad, &cause) != 0 && chat_n_messages(d) == i,
	    "parameters out of range are refused, nothing changed");
	free(cause);
	cause = NULL;
	f = fopen(bad, "w");
	fputs("{\"messages\": [", f);
	fclose(f);
	ok(chat_load(d, bad, &cause) != 0, "broken JSON is refused");
	free(cause);
	cause = NULL;
	free(bad);
	bad = xstrfmt("%s/no/such/dir/x.json", sub);
	ok(chat_save(c, bad, &cause) != 0 && cause != NULL,
	    "/save into a missing directory fails with a reason");
	free(cause);
	free(bad);
	free(path);
	free(sub);
	chat_free(c);
	chat_free(d);
}

static char	*printed;
static size_t	 printed_len;

static void
print(void *arg, const char *text, size_t len)
{
	cat(&printed, &printed_len, text, len);
}

/* Whether what was printed holds s (or is s, when whole). */
static int
said_as(const char *s, int whole)
{
	int	found = printed != NULL && (whole ? strcmp(printed, s) == 0 :
		    strstr(printed, s) != NULL);

	if (!found)
		diag("printed: %s", printed != NULL ? printed : "nothing");
	free(printed);
	printed = NULL;
	printed_len = 0;
	return found;
}

static int
said(const char *s)
{
	return said_as(s, 0);
}

static void
test_repl(const char *model, const char *dir)
{
	struct chat	*c;
	struct repl	 r;
	size_t		 len;
	char		*line, *want, *path;
	FILE		*f;

	if ((c = open_demo(model, 2, 4, 0)) == NULL)
		return;
	repl_init(&r, c, print, NULL);
	ok(strcmp(repl_prompt(&r), ">>> ") == 0, "the prompt");
	ok(repl_line(&r, "/set parameter temperature 0.3") == REPL_NONE &&
	    chat_get_params(c)->temperature == 0.3f &&
	    said("Set parameter 'temperature' to '0.3'"),
	    "/set parameter temperature");
	ok(repl_line(&r, "/set parameter num_ctx 512") == REPL_NONE &&
	    chat_get_params(c)->num_ctx == 512, "/set parameter num_ctx");
	ok(repl_line(&r, "/set parameter top_k x") == REPL_NONE &&
	    said("Couldn't set parameter 'top_k'"), "a bad value is refused");
	ok(repl_line(&r, "/set parameter warmth 3") == REPL_NONE &&
	    said("Unknown parameter 'warmth'"), "an unknown parameter");
	ok(repl_line(&r, "/set parameter seed 42") == REPL_NONE &&
	    chat_get_params(c)->seed == 42, "/set parameter seed");
	ok(repl_line(&r, "/foo bar") == REPL_NONE &&
	    said("Unknown command '/foo'. Type /? for help"),
	    "an unknown command");
	ok(repl_line(&r, "") == REPL_NONE && repl_line(&r, "   ") ==
	    REPL_NONE, "empty lines do nothing");
	ok(repl_line(&r, "/set system  Be kind. ") == REPL_NONE &&
	    strcmp(chat_get_system(c), "Be kind.") == 0,
	    "/set system");
	ok(repl_line(&r, "/show system") == REPL_NONE && said("Be kind."),
	    "/show system");
	ok(repl_line(&r, "/set system \"\"\"one") == REPL_MORE &&
	    repl_line(&r, "two\"\"\"") == REPL_NONE &&
	    strcmp(chat_get_system(c), "one\ntwo") == 0,
	    "/set system over several lines");
	ok(repl_line(&r, "\"\"\"first") == REPL_MORE &&
	    strcmp(repl_prompt(&r), "... ") == 0 &&
	    repl_line(&r, "second") == REPL_MORE &&
	    repl_line(&r, "third\"\"\"") == REPL_SEND &&
	    strcmp(repl_message(&r, &len), "first\nsecond\nthird") == 0 &&
	    len == 18, "\"\"\" collects a message of several lines");
	ok(repl_line(&r, "\"\"\"one line\"\"\"") == REPL_SEND &&
	    strcmp(repl_message(&r, &len), "one line") == 0,
	    "\"\"\"one line\"\"\"");
	ok(repl_line(&r, "\"\"\"dropped") == REPL_MORE && repl_interrupt(&r) &&
	    strcmp(repl_prompt(&r), ">>> ") == 0, "Ctrl-C drops a message "
	    "being collected");
	ok(repl_line(&r, "plain words") == REPL_SEND &&
	    strcmp(repl_message(&r, &len), "plain words") == 0,
	    "a line is a message");
	ok(repl_line(&r, "/set nothink") == REPL_NONE &&
	    chat_get_params(c)->think == 0 && said("Set 'nothink' mode."),
	    "/set nothink");
	ok(repl_line(&r, "/set think") == REPL_NONE &&
	    chat_get_params(c)->think == 1, "/set think");
	ok(repl_line(&r, "/set verbose") == REPL_NONE && r.verbose == 1 &&
	    repl_line(&r, "/set quiet") == REPL_NONE && r.verbose == 0,
	    "/set verbose, /set quiet");
	ok(repl_line(&r, "/set hidethinking") == REPL_NONE &&
	    r.hidethinking == 1 && repl_line(&r, "/set showthinking") ==
	    REPL_NONE && r.hidethinking == 0,
	    "/set hidethinking, /set showthinking");
	ok(repl_line(&r, "/show info") == REPL_NONE && said("architecture"),
	    "/show info");
	ok(repl_line(&r, "/show parameters") == REPL_NONE &&
	    said("temperature                    0.3"), "/show parameters");
	ok(repl_line(&r, "/set parameter think_budget 7") == REPL_NONE &&
	    chat_get_params(c)->think_budget == 7 &&
	    said("Set parameter 'think_budget' to '7'"),
	    "/set parameter think_budget");
	ok(repl_line(&r, "/show parameters") == REPL_NONE &&
	    said("think_budget                   7"),
	    "/show parameters shows think_budget");
	ok(repl_line(&r, "/set parameter think false") == REPL_NONE &&
	    chat_get_params(c)->think == 0 &&
	    repl_line(&r, "/show parameters") == REPL_NONE &&
	    said("think                          false"),
	    "/set parameter think false, shown");
	ok(repl_line(&r, "/show template") == REPL_NONE &&
	    said("deepseek-r1"), "/show template");
	ok(repl_line(&r, "/?") == REPL_NONE && said("/set") &&
	    repl_line(&r, "/help") == REPL_NONE && said("\"\"\""),
	    "/? and /help");
	ok(repl_line(&r, "/set") == REPL_NONE && said("/set parameter"),
	    "/set alone lists its words");
	ok(repl_line(&r, "/save") == REPL_NONE && said("Usage"),
	    "/save without a file says how");
	ok(repl_line(&r, "/clear") == REPL_RESET &&
	    said("Cleared session context"), "/clear");
	ok(repl_line(&r, "/load /nonexistent/file.json") == REPL_NONE &&
	    said_as("r1chat: /load: /nonexistent/file.json: No such file or "
	    "directory\n", 1), "/load of a missing file: one line, the path "
	    "once, strerror's words");
	line = xstrfmt("/load %s", dir);
	want = xstrfmt("r1chat: /load: %s: Is a directory\n", dir);
	ok(repl_line(&r, line) == REPL_NONE && said_as(want, 1),
	    "/load of a directory: one line, strerror's words");
	free(line);
	free(want);
	path = xstrfmt("%s/broken.json", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("{\"messages\": [", f);
		fclose(f);
	}
	line = xstrfmt("/load %s", path);
	want = xstrfmt("r1chat: /load: %s: line 1: ", path);
	ok(repl_line(&r, line) == REPL_NONE && said(want),
	    "/load of broken JSON: the line jansson stopped at");
	unlink(path);
	free(path);
	free(line);
	free(want);
	ok(repl_line(&r, "/save /nonexistent/dir/x.json") == REPL_NONE &&
	    said_as("r1chat: /save: /nonexistent/dir/x.json: No such file or "
	    "directory\n", 1), "/save into a missing directory: one line");
	ok(repl_line(&r, "/bye") == REPL_QUIT, "/bye");
	repl_free(&r);
	chat_free(c);
}

/*
 * A template whose special tokens the vocabulary lacks (the demo's has
 * DeepSeek's, not chatml's <|im_start|>) is warned of, once.
 */
static void
test_template_tokens(const char *model)
{
	static const struct {
		const char	*name;
		const char	*missing;	/* NULL: no warning */
	} cases[] = {
		{ "chatml", "<|im_start|>" }, { "llama3", "<|start_header_id|>" },
		{ "deepseek-r1", NULL },
	};
	struct chat_config	 cfg;
	struct chat		*c;
	char			*cause = NULL, *warning, *p;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&cfg, 0, sizeof cfg);
		chat_params_default(&cfg.params);
		cfg.model_path = model;
		cfg.n_threads = 1;
		cfg.template_name = cases[i].name;
		if ((c = chat_open(&cfg, &warning, &cause)) == NULL) {
			ok(0, "chat_open: %s", cause);
			free(cause);
			continue;
		}
		if (cases[i].missing == NULL)
			ok(warning == NULL, "--template %s: no warning (%s)",
			    cases[i].name, warning ? warning : "");
		else
			ok(warning != NULL && (p = strstr(warning,
			    cases[i].missing)) != NULL && strstr(p + 1,
			    cases[i].missing) == NULL && strchr(warning, '\n') ==
			    NULL, "--template %s: one warning naming %s: %s",
			    cases[i].name, cases[i].missing,
			    warning ? warning : "none");
		free(warning);
		chat_free(c);
	}
}

/* A backend that only tells its model's facts: fake_params parameters. */
static uint64_t	fake_params;

static void *
fake_open(const struct chat_config *cfg, struct chat_info *in, char **cause)
{
	in->name = "fake";
	in->arch = "qwen2";
	in->n_params = fake_params;
	in->template_name = "chatml";
	return &fake_params;
}

static int
fake_turn(void *b, const char *system, const struct chat_message *msgs,
    size_t n, const struct chat_params *p, backend_cb cb, void *arg,
    struct backend_counts *counts, char **cause)
{
	return 0;
}

static void
fake_close(void *b)
{
}

static const struct backend_ops backend_fake = {
	fake_open, fake_turn, fake_close
};

/*
 * /show info writes the parameter count as `r1chat show` does: ollama's
 * format.HumanNumber (show.sh holds its test vectors).
 */
static void
test_show_info(void)
{
	static const struct {
		uint64_t	 n;
		const char	*want;
	} cases[] = {
		{ 494032768, "494.03M" }, { 500500000, "500.50M" },
		{ 12345, "12K" }, { 1777088000, "1.8B" }, { 999, "999" },
	};
	struct chat_config	 cfg;
	struct chat		*c;
	struct repl		 r;
	char			*cause = NULL, *line;
	size_t			 i;

	memset(&cfg, 0, sizeof cfg);
	chat_params_default(&cfg.params);
	cfg.backend = &backend_fake;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fake_params = cases[i].n;
		if ((c = chat_open(&cfg, NULL, &cause)) == NULL) {
			ok(0, "chat_open: %s", cause);
			free(cause);
			return;
		}
		repl_init(&r, c, print, NULL);
		line = xstrfmt("\n    parameters          %s\n", cases[i].want);
		ok(repl_line(&r, "/show info") == REPL_NONE && said(line),
		    "/show info: %llu parameters are %s",
		    (unsigned long long)cases[i].n, cases[i].want);
		free(line);
		repl_free(&r);
		chat_free(c);
	}
}

/* A value of d other than its default, in its range (exact in a float). */
static double
other_value(const struct param_def *d)
{
	if (d->kind == PARAM_BOOL)
		return !d->def;
	if (d->max != HUGE_VAL && d->kind == PARAM_FLOAT)
		return (d->min + d->max) / 2 != d->def ? (d->min + d->max) / 2 :
		    (d->def + d->max) / 2;
	if (d->max != HUGE_VAL)
		return d->min + 1 != d->def ? d->min + 1 : d->min + 2;
	return d->kind == PARAM_FLOAT ? floor(d->def) + 1.5 : d->def + 3;
}

/* Every parameter of c set to other_value. */
static int
set_others(struct chat *c)
{
	const struct param_def	*d;
	struct chat_params	 p = *chat_get_params(c);
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; (d = param_at(i)) != NULL; i++)
		param_set(d, &p, other_value(d));
	if (chat_set_params(c, &p, &cause) != 0) {
		diag("chat_set_params: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* The table's defaults, and what the sampler makes of them. */
static void
test_param_defaults(void)
{
	struct chat_params	p;
	struct sampler_params	sp;
	char			*cause = NULL;

	chat_params_default(&p);
	params_sampler(&p, 4096, &sp);
	ok(sp.temp == 0.6f && sp.top_p == 0.95f, "DeepSeek's temperature "
	    "0.6, top-p 0.95");
	ok(sp.top_k == 40 && sp.min_p == 0.05f && sp.repeat_penalty == 1.0f &&
	    sp.repeat_last_n == 64, "llama.cpp's top-k 40, min-p 0.05, "
	    "repeat penalty off over 64");
	ok(sp.seed == SAMPLER_SEED_RANDOM && p.think == 1 &&
	    p.think_budget == -1 && p.num_predict == -1 && p.num_ctx == 0,
	    "a random seed, thinking, no budget, no limit, the model's "
	    "context");
	p.num_ctx = 4096;
	ok(params_check(&p, &cause) == 0, "the defaults pass the check");
	p.repeat_last_n = -1;
	params_sampler(&p, 4096, &sp);
	ok(sp.repeat_last_n == 4096, "repeat_last_n -1: the whole context");
}

/* Every row of the table through /save and /load. */
static void
test_param_save(const char *model, const char *dir)
{
	const struct param_def	*d;
	struct chat		*c, *e;
	struct chat_params	 before;
	char			*path, *cause = NULL;
	size_t			 i;

	if ((c = open_demo(model, -1, 5, 0)) == NULL)
		return;
	if ((e = open_demo(model, -1, 5, 0)) == NULL) {
		chat_free(c);
		return;
	}
	path = xstrfmt("%s/params.json", dir);
	ok(set_others(c) == 0 && chat_save(c, path, &cause) == 0,
	    "every parameter set and saved");
	before = *chat_get_params(e);
	ok(chat_load(e, path, &cause) == 0, "and loaded: %s",
	    cause != NULL ? cause : "");
	for (i = 0; (d = param_at(i)) != NULL; i++)
		ok(param_get(d, chat_get_params(e)) == other_value(d) &&
		    param_get(d, &before) != other_value(d),
		    "%s round-trips through /save and /load", d->name);
	unlink(path);
	free(path);
	chat_free(e);
	chat_free(c);
}

/* The chat's command line argv read and checked: 0, or -1 with *cause. */
static int
cli(int argc, char **argv, struct options *o, char **cause)
{
	char	*warning = NULL;
	int	 rc;

	rc = options_parse(argc, argv, o, cause) == 0 &&
	    options_check(o, CMD_CHAT, NULL, &warning, cause) == 0 ? 0 : -1;
	free(warning);
	return rc;
}

/*
 * Every row with an option on the command line and with /set (and shown
 * by /show parameters); a value out of range refused on the command line
 * naming the option, and in param_check's words by the chat (chat_open,
 * for values from elsewhere) and by /set.
 */
static void
test_param_cli(const char *model)
{
	const struct param_def	*d, *e;
	struct options		 o;
	struct chat_config	 cfg;
	struct chat_params	 p;
	struct chat		*c, *x;
	struct repl		 r;
	char			*argv[4], *opt, *val, *want, *line, *cause;
	size_t			 i, j;
	int			 given;

	if ((c = open_demo(model, -1, 5, 0)) == NULL)
		return;
	repl_init(&r, c, print, NULL);
	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if (d->option == NULL)
			continue;
		chat_params_default(&p);
		param_set(d, &p, other_value(d));
		val = param_format(d, &p);
		opt = xstrfmt("--%s%s", d->kind == PARAM_BOOL &&
		    param_get(d, &p) == 0 ? "no" : "", d->option);
		argv[0] = "r1chat";
		argv[1] = opt;
		argv[2] = d->kind == PARAM_BOOL ? NULL : val;
		argv[3] = NULL;
		cause = NULL;
		given = cli(d->kind == PARAM_BOOL ? 2 : 3, argv, &o,
		    &cause) == 0 && param_get(d, &o.params) == other_value(d);
		for (j = 0; (e = param_at(j)) != NULL; j++)
			given = given && (e == d) == param_given(e, &o.params);
		ok(given, "%s%s%s sets %s alone", opt, argv[2] ? " " : "",
		    argv[2] ? val : "", d->name);
		options_free(&o);
		free(cause);
		free(opt);
		line = xstrfmt("/set parameter %s %s", d->name, val);
		opt = xstrfmt("%-30s %s", d->name, val);
		ok(repl_line(&r, line) == REPL_NONE &&
		    param_get(d, chat_get_params(c)) == other_value(d) &&
		    repl_line(&r, "/show parameters") == REPL_NONE && said(opt),
		    "%s, and /show parameters says it", line);
		free(line);
		free(opt);
		free(val);

		if (d->kind == PARAM_BOOL || d->min == -HUGE_VAL)
			continue;
		/* Just out of range, below. */
		chat_params_default(&p);
		param_set(d, &p, (d->flags & PARAM_ABOVE_MIN) ? d->min :
		    d->min - 1);
		val = param_format(d, &p);
		want = NULL;
		param_check(d, &p, &want);
		opt = xstrfmt("--%s: %s: %s", d->option, val,
		    want + strlen(d->name) + 1);
		argv[1] = xstrfmt("--%s", d->option);
		argv[2] = val;
		cause = NULL;
		given = cli(3, argv, &o, &cause);
		ok(given != 0 && cause != NULL && strcmp(cause, opt) == 0,
		    "%s %s refused: %s", argv[1], val, cause ? cause : "");
		options_free(&o);
		free(cause);
		free(argv[1]);
		cause = NULL;
		memset(&cfg, 0, sizeof cfg);
		cfg.params = p;
		cfg.model_path = model;
		cfg.n_threads = 1;
		x = chat_open(&cfg, NULL, &cause);
		chat_free(x);
		ok(want != NULL && cause != NULL && strcmp(cause, want) == 0,
		    "chat_open refuses %s %s: %s", d->name, val,
		    cause ? cause : "");
		free(cause);
		line = xstrfmt("/set parameter %s %s", d->name, val);
		cause = xstrfmt("Couldn't set parameter '%s': %s", d->name,
		    want);
		ok(repl_line(&r, line) == REPL_NONE && said(cause),
		    "%s refused by /set with the same words", line);
		free(cause);
		free(line);
		free(want);
		free(opt);
		free(val);
	}
	argv[1] = "--think";
	argv[2] = "--nothink";
	cause = NULL;
	ok(cli(3, argv, &o, &cause) != 0, "--think and --nothink: refused");
	options_free(&o);
	free(cause);
	repl_free(&r);
	chat_free(c);
}

/* Every row with a request name through an OpenAI request, both ways. */
static void
test_param_requests(void)
{
	const struct param_def	*d;
	struct openai_request	 req;
	struct chat_message	 m = { CHAT_USER, "hi", NULL };
	struct chat_params	 p, q;
	char			*body, *cause = NULL, *want = NULL;
	size_t			 i;

	for (i = 0; (d = param_at(i)) != NULL; i++) {
		if (d->request == NULL)
			continue;
		chat_params_default(&p);
		param_set(d, &p, other_value(d));
		body = openai_request_build("m", NULL, &m, 1, &p);
		chat_params_default(&q);
		ok(openai_request_parse(body, strlen(body), &req, &q,
		    &cause) == 0 && param_get(d, &q) == other_value(d) &&
		    memcmp(&p, &q, sizeof p) == 0,
		    "%s goes through a request as \"%s\"", d->name,
		    d->request);
		openai_request_free(&req);
		free(body);
		free(cause);
		cause = NULL;
	}
	/* A value out of range: param_check's words for a 400. */
	chat_params_default(&p);
	p.think_budget = -2;
	param_check(param_find("think_budget", 12), &p, &want);
	body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	    "\"think_budget\":-2}";
	chat_params_default(&q);
	i = openai_request_parse(body, strlen(body), &req, &q, &cause) != 0;
	ok(i && want != NULL && strcmp(cause, want) == 0,
	    "a request out of range is refused: %s", cause ? cause : "");
	free(cause);
	free(want);
	cause = NULL;
	body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	    "\"max_completion_tokens\":7}";
	chat_params_default(&q);
	ok(openai_request_parse(body, strlen(body), &req, &q, &cause) == 0 &&
	    q.num_predict == 7, "max_completion_tokens is num_predict too");
	openai_request_free(&req);
}

int
main(void)
{
	char	 dir[] = "/tmp/r1chat-test-chat.XXXXXX";
	char	*model, *cause = NULL, *cmd;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_CACHE_HOME", dir, 1);
	model = demo_model(&cause);
	ok(model != NULL, "the demo model is made: %s",
	    model ? model : cause);
	if (model == NULL)
		return done_testing();
	test_turns(model);
	test_think(model);
	test_context(model);
	test_specials(model);
	test_save(model, dir);
	test_repl(model, dir);
	test_show_info();
	test_template_tokens(model);
	test_param_defaults();
	test_param_save(model, dir);
	test_param_cli(model);
	test_param_requests();
	free(model);
	cmd = xstrfmt("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	free(cmd);
	return done_testing();
}
