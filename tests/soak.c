/*
 * soak.c - a bounded soak of `r1chat serve` on loopback (soak.sh, make
 * soak):
 *
 *	soak PORT PID CLIENTS REQUESTS SECONDS MAX_TOKENS MAX_BODY
 *
 * CLIENTS threads send REQUESTS requests in all, or stop at SECONDS,
 * each one of a fixed rotation of kinds: plain, streamed, bad JSON, a body
 * over MAX_BODY, a stream hung up after its first bytes, max_tokens at
 * MAX_TOKENS.  Each kind has the statuses it may get (503: the queue
 * full, for those that reach the model).  Then the server must still
 * answer /health.  Prints the requests by kind and status, and the
 * server's (PID's) RSS and open descriptors before and after.  Exit 0
 * when every request got a status its kind allows and the server still
 * answered, 1 otherwise, 2 on a usage error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define STATUSES	600	/* 0: no status came */

enum kind { PLAIN, STREAM, BAD_JSON, OVERSIZED, HANGUP, AT_LIMIT, N_KINDS };

static const struct {
	const char	*name;
	int		 ok[3];		/* the statuses allowed; 0 ends */
} kinds[N_KINDS] = {
	[PLAIN] = { "plain", { 200, 503 } },
	[STREAM] = { "streamed", { 200, 503 } },
	[BAD_JSON] = { "bad JSON", { 400 } },
	[OVERSIZED] = { "oversized", { 413 } },
	[HANGUP] = { "hung up", { 200, 503 } },
	[AT_LIMIT] = { "max_tokens", { 200, 503 } },
};

static int		 port, max_tokens, max_body, n_requests;
static time_t		 deadline;
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static int		 next, counts[N_KINDS][STATUSES];

/* A connected socket to the server, reads timing out after 60 s. */
static int
dial(void)
{
	struct sockaddr_in	sa;
	struct timeval		tv = { 60, 0 };
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The request of kind k, malloc'd. */
static char *
request(enum kind k, size_t *len)
{
	char	*body, *req;
	size_t	 n;

	switch (k) {
	case BAD_JSON:
		body = strdup("{\"messages\": [{\"role\": \"user\", \"con");
		break;
	case OVERSIZED:
		n = (size_t)max_body * 2;
		body = malloc(n + 1);
		memset(body, ' ', n);
		memcpy(body, "{\"messages\":", 12);
		body[n] = '\0';
		break;
	default:
		n = 256;
		body = malloc(n);
		snprintf(body, n, "{\"messages\":[{\"role\":\"user\","
		    "\"content\":\"Say something.\"}],\"max_tokens\":%d%s}",
		    k == AT_LIMIT ? max_tokens : 4,
		    k == STREAM || k == HANGUP ? ",\"stream\":true" : "");
		break;
	}
	n = strlen(body) + 256;
	req = malloc(n);
	snprintf(req, n, "POST /v1/chat/completions HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(body));
	*len = strlen(req) + strlen(body);
	req = realloc(req, *len + 1);
	strcat(req, body);
	free(body);
	return req;
}

/*
 * Sends req, reads the status (0 when none came) and, unless hangup, the
 * rest of the answer; hangup closes after the first bytes past the head.
 */
static int
exchange(const char *req, size_t len, int hangup)
{
	char	 buf[8192];
	size_t	 off = 0, got = 0;
	ssize_t	 r;
	int	 fd, status = 0;

	if ((fd = dial()) == -1)
		return 0;
	while (off < len && (r = send(fd, req + off, len - off,
	    MSG_NOSIGNAL)) > 0)
		off += (size_t)r;
	while ((r = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0) {
		got += (size_t)r;
		buf[got] = '\0';
		if (status == 0 && strstr(buf, "\r\n") != NULL)
			sscanf(buf, "HTTP/1.%*d %d", &status);
		if (hangup && status == 200 && strstr(buf, "\r\n\r\n") != NULL
		    && got > (size_t)(strstr(buf, "\r\n\r\n") - buf) + 4)
			break;
		if (got > sizeof buf / 2)
			got = 0;	/* only the head is looked at */
	}
	close(fd);
	return status;
}

static void *
client(void *arg)
{
	enum kind	 k;
	char		*req;
	size_t		 len;
	int		 i, status;

	for (;;) {
		pthread_mutex_lock(&lock);
		i = next++;
		pthread_mutex_unlock(&lock);
		if (i >= n_requests || time(NULL) >= deadline)
			return NULL;
		k = (enum kind)(i % N_KINDS);
		req = request(k, &len);
		status = exchange(req, len, k == HANGUP);
		free(req);
		if (status < 0 || status >= STATUSES)
			status = 0;
		pthread_mutex_lock(&lock);
		counts[k][status]++;
		pthread_mutex_unlock(&lock);
	}
}

/* pid's resident set in KiB and open descriptors, from /proc. */
static void
measure(const char *pid, long *rss, int *fds)
{
	char		 path[64], line[256];
	FILE		*f;
	DIR		*d;
	struct dirent	*de;

	*rss = -1;
	*fds = 0;
	snprintf(path, sizeof path, "/proc/%s/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL)
			sscanf(line, "VmRSS: %ld", rss);
		fclose(f);
	}
	snprintf(path, sizeof path, "/proc/%s/fd", pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			*fds += de->d_name[0] != '.';
		closedir(d);
	}
}

static int
health(void)
{
	static const char	req[] = "GET /health HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";

	return exchange(req, sizeof req - 1, 0);
}

int
main(int argc, char **argv)
{
	pthread_t	*th;
	long		 rss0, rss1;
	int		 fds0, fds1, n_clients, seconds, i, s, j, bad = 0, h;
	int		 allowed, sent = 0;
	char		*warm;
	size_t		 len;

	if (argc != 8) {
		fprintf(stderr, "usage: soak PORT PID CLIENTS REQUESTS "
		    "SECONDS MAX_TOKENS MAX_BODY\n");
		return 2;
	}
	port = atoi(argv[1]);
	n_clients = atoi(argv[3]);
	n_requests = atoi(argv[4]);
	seconds = atoi(argv[5]);
	max_tokens = atoi(argv[6]);
	max_body = atoi(argv[7]);
	if (n_clients < 1 || n_requests < 1 || seconds < 1) {
		fprintf(stderr, "soak: CLIENTS, REQUESTS, SECONDS above 0\n");
		return 2;
	}
	/* One answer first: what the first one allocates is not a leak. */
	warm = request(PLAIN, &len);
	exchange(warm, len, 0);
	free(warm);
	measure(argv[2], &rss0, &fds0);
	deadline = time(NULL) + seconds;
	th = calloc((size_t)n_clients, sizeof *th);
	for (i = 0; i < n_clients; i++)
		pthread_create(&th[i], NULL, client, NULL);
	for (i = 0; i < n_clients; i++)
		pthread_join(th[i], NULL);
	free(th);
	h = health();
	/*
	 * The server lets go of the last connections by itself (a stream
	 * hung up is noticed at its next write): up to 10 s for it, a leak
	 * stays.
	 */
	for (i = 0; i < 100; i++) {
		measure(argv[2], &rss1, &fds1);
		if (fds1 <= fds0)
			break;
		usleep(100000);
	}

	for (i = 0; i < N_KINDS; i++) {
		printf("%-10s", kinds[i].name);
		for (s = 0; s < STATUSES; s++) {
			if (counts[i][s] == 0)
				continue;
			for (allowed = 0, j = 0; j < 3 && kinds[i].ok[j]; j++)
				allowed |= kinds[i].ok[j] == s;
			printf(" %d:%d%s", s, counts[i][s], allowed ? "" : "!");
			bad += !allowed;
			sent += counts[i][s];
		}
		printf("\n");
	}
	printf("requests   %d of %d sent\n", sent, n_requests);
	printf("rss        %ld KiB at start, %ld KiB at end\n", rss0, rss1);
	printf("fds        %d at start, %d at end\n", fds0, fds1);
	printf("health     %d after\n", h);
	return bad == 0 && h == 200 ? 0 : 1;
}
