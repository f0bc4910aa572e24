/*
 * fakeserver.c - an OpenAI-compatible server that misbehaves on purpose,
 * for remote.sh: plain sockets, one connection at a time.
 *
 *	fakeserver [-l LOG] [-n] MODE [FILE]
 *
 * Listens on a free loopback port and writes it on stdout.  GET
 * /v1/models lists one model, "fake-r1"; POST /v1/chat/completions
 * answers as MODE says:
 *
 *	reasoning	a stream with reasoning_content, then content, usage
 *	inline		a stream with <think> tags in content, cut mid-tag
 *	timings		the reasoning stream with llama-server's timings
 *	json		one whole response, not a stream
 *	cut		a stream that stops mid-answer (the connection closed)
 *	length		a stream ended by finish_reason "length", its usage
 *			filling max_model_len
 *	error-event	a stream whose second chunk is an error object
 *	http500		500 with an error body
 *	http401		401 with an error body
 *	slow		the headers, then silence for 60 s
 *	replay		FILE's bytes as the stream, as recorded
 *
 * -l LOG: appends each request (head and body) to LOG.  -n: the model
 * list says no context length.
 */
#define _GNU_SOURCE	/* strcasestr */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MODELS_HEAD "{\"object\":\"list\",\"data\":[{\"id\":\"fake-r1\"," \
	"\"object\":\"model\",\"owned_by\":\"fake\""
#define MODELS		MODELS_HEAD ",\"max_model_len\":32768}]}"
#define MODELS_NO_CTX	MODELS_HEAD "}]}"

#define CHUNK(delta, finish) "data: {\"id\":\"c1\",\"object\":" \
	"\"chat.completion.chunk\",\"created\":1,\"model\":\"fake-r1\"," \
	"\"choices\":[{\"index\":0,\"delta\":{" delta "},\"finish_reason\":" \
	finish "}]}\n\n"

static const char *stream_reasoning[] = {
	CHUNK("\"role\":\"assistant\",\"content\":\"\"", "null"),
	CHUNK("\"reasoning_content\":\"Let me\"", "null"),
	CHUNK("\"reasoning_content\":\" think.\"", "null"),
	CHUNK("\"content\":\"The answer\"", "null"),
	CHUNK("\"content\":\" is 4.\"", "null"),
	CHUNK("", "\"stop\""),
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
	"\"created\":1,\"model\":\"fake-r1\",\"choices\":[],\"usage\":"
	"{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}"
	"\n\n",
	"data: [DONE]\n\n",
	NULL
};

static const char *stream_inline[] = {
	CHUNK("\"role\":\"assistant\",\"content\":\"<thi\"", "null"),
	CHUNK("\"content\":\"nk>\\nLet me\"", "null"),
	CHUNK("\"content\":\" think.</th\"", "null"),
	CHUNK("\"content\":\"ink>\\n\\nThe answer\"", "null"),
	CHUNK("\"content\":\" is 4.\"", "null"),
	CHUNK("", "\"stop\""),
	"data: [DONE]\n\n",
	NULL
};

static const char *stream_timings[] = {
	CHUNK("\"reasoning_content\":\"Let me think.\"", "null"),
	CHUNK("\"content\":\"The answer is 4.\"", "null"),
	"data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,"
	"\"delta\":{}}],\"created\":1,\"id\":\"c1\",\"model\":\"fake-r1\","
	"\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":"
	"9,\"prompt_tokens\":30,\"total_tokens\":39},\"timings\":{\"prompt_n\":"
	"5,\"prompt_ms\":12.5,\"predicted_n\":9,\"predicted_ms\":80.1}}\n\n",
	"data: [DONE]\n\n",
	NULL
};

static const char *stream_length[] = {
	CHUNK("\"reasoning_content\":\"Let me think.\"", "null"),
	CHUNK("\"content\":\"The answer\"", "null"),
	CHUNK("", "\"length\""),
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
	"\"created\":1,\"model\":\"fake-r1\",\"choices\":[],\"usage\":"
	"{\"prompt_tokens\":32000,\"completion_tokens\":768,"
	"\"total_tokens\":32768}}\n\n",
	"data: [DONE]\n\n",
	NULL
};

static const char *stream_cut[] = {
	CHUNK("\"reasoning_content\":\"Let me think.\"", "null"),
	CHUNK("\"content\":\"The answer\"", "null"),
	NULL
};

static const char *stream_error[] = {
	CHUNK("\"content\":\"The answer\"", "null"),
	"data: {\"error\":{\"message\":\"out of memory\",\"code\":500}}\n\n",
	NULL
};

static const char json_whole[] = "{\"id\":\"c1\",\"object\":"
	"\"chat.completion\",\"created\":1,\"model\":\"fake-r1\",\"choices\":"
	"[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
	"\"The answer is 4.\",\"reasoning_content\":\"Let me think.\"},"
	"\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
	"\"completion_tokens\":7}}";

static void
put(int fd, const char *s, size_t n)
{
	ssize_t	w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

static void
puts_fd(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

static void
head(int fd, int status, const char *reason, const char *type)
{
	char	buf[256];

	snprintf(buf, sizeof buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Connection: close\r\n\r\n", status, reason, type);
	puts_fd(fd, buf);
}

static void
stream(int fd, const char **chunks)
{
	head(fd, 200, "OK", "text/event-stream");
	for (; *chunks != NULL; chunks++) {
		puts_fd(fd, *chunks);
		usleep(20000);
	}
}

static void
replay(int fd, const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	 buf[512];
	size_t	 n;

	head(fd, 200, "OK", "text/event-stream");
	if (f == NULL)
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		put(fd, buf, n);
	fclose(f);
}

/* Reads one request: its head, then Content-Length bytes of body. */
static char *
read_request(int fd, size_t *len)
{
	char	*b = NULL, *end, *cl;
	size_t	 n = 0, cap = 0, want = 0;
	ssize_t	 r;

	for (;;) {
		if (n + 4096 > cap) {
			cap = (n + 4096) * 2;
			if ((b = realloc(b, cap + 1)) == NULL)
				exit(1);
		}
		if ((r = read(fd, b + n, 4096)) <= 0)
			break;
		n += (size_t)r;
		b[n] = '\0';
		if ((end = strstr(b, "\r\n\r\n")) == NULL)
			continue;
		if (want == 0) {
			cl = strcasestr(b, "\r\nContent-Length:");
			want = (size_t)(end + 4 - b) +
			    (cl != NULL && cl < end ? strtoul(cl + 17, NULL,
			    10) : 0);
		}
		if (n >= want)
			break;
	}
	if (b != NULL)
		b[n] = '\0';
	*len = n;
	return b;
}

static void
do_reasoning(int fd, const char *file)
{
	stream(fd, stream_reasoning);
}

static void
do_inline(int fd, const char *file)
{
	stream(fd, stream_inline);
}

static void
do_timings(int fd, const char *file)
{
	stream(fd, stream_timings);
}

static void
do_cut(int fd, const char *file)
{
	stream(fd, stream_cut);
}

static void
do_length(int fd, const char *file)
{
	stream(fd, stream_length);
}

static void
do_error_event(int fd, const char *file)
{
	stream(fd, stream_error);
}

static void
do_json(int fd, const char *file)
{
	head(fd, 200, "OK", "application/json");
	puts_fd(fd, json_whole);
}

static void
do_http500(int fd, const char *file)
{
	head(fd, 500, "Internal Server Error", "application/json");
	puts_fd(fd, "{\"error\":{\"message\":\"model overloaded\","
	    "\"type\":\"server_error\"}}");
}

static void
do_http401(int fd, const char *file)
{
	head(fd, 401, "Unauthorized", "application/json");
	puts_fd(fd, "{\"error\":{\"message\":\"Incorrect API key provided\","
	    "\"type\":\"invalid_request_error\"}}");
}

static void
do_slow(int fd, const char *file)
{
	head(fd, 200, "OK", "text/event-stream");
	sleep(60);
}

static const struct {
	const char	*name;
	void		(*fn)(int, const char *);
} modes[] = {
	{ "reasoning", do_reasoning },
	{ "inline", do_inline },
	{ "timings", do_timings },
	{ "cut", do_cut },
	{ "length", do_length },
	{ "error-event", do_error_event },
	{ "json", do_json },
	{ "http500", do_http500 },
	{ "http401", do_http401 },
	{ "slow", do_slow },
	{ "replay", replay },
};
#define N_MODES (sizeof modes / sizeof modes[0])

static int	no_ctx;		/* -n */

/* Answers one request. */
static void
answer(int fd, const char *req, size_t m, const char *file)
{
	if (strncmp(req, "GET /v1/models ", 15) == 0) {
		head(fd, 200, "OK", "application/json");
		puts_fd(fd, no_ctx ? MODELS_NO_CTX : MODELS);
	} else if (strncmp(req, "POST /v1/chat/completions ", 26) == 0)
		modes[m].fn(fd, file);
	else {
		head(fd, 404, "Not Found", "application/json");
		puts_fd(fd, "{\"error\":\"no such endpoint\"}");
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sa;
	socklen_t		 sl = sizeof sa;
	const char		*file, *log = NULL;
	char			*req;
	size_t			 len, m;
	FILE			*lf;
	int			 s, fd, c, one = 1;

	while ((c = getopt(argc, argv, "l:n")) != -1) {
		if (c == 'n')
			no_ctx = 1;
		else if (c == 'l')
			log = optarg;
		else
			return 2;
	}
	for (m = 0; optind < argc && m < N_MODES; m++) {
		if (strcmp(argv[optind], modes[m].name) == 0)
			break;
	}
	if (optind >= argc || m == N_MODES) {
		fprintf(stderr, "usage: fakeserver [-l LOG] [-n] MODE [FILE]\n");
		return 2;
	}
	file = optind + 1 < argc ? argv[optind + 1] : "/dev/null";
	signal(SIGPIPE, SIG_IGN);

	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(s, 16) != 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) != 0) {
		perror("fakeserver");
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	while ((fd = accept(s, NULL, NULL)) >= 0) {
		if ((req = read_request(fd, &len)) != NULL) {
			if (log != NULL && (lf = fopen(log, "a")) != NULL) {
				fwrite(req, 1, len, lf);
				fputs("\n", lf);
				fclose(lf);
			}
			answer(fd, req, m, file);
		}
		free(req);
		close(fd);
	}
	return 0;
}
