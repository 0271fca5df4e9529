/*
 * kwload: keyward's load generator for test/bench (wrk cannot present a
 * client certificate).  Drives one keyward-server (or test/bench/kwnull)
 * over keep-alive HTTPS with mutual TLS: CONNS connections spread over
 * THREADS threads, each thread an epoll loop over non-blocking OpenSSL
 * connections, one request in flight per connection.  Bounded by
 * seconds and by a request count, whichever comes first.
 *
 *   kwload -p PORT --cert F --key F --ca F [-c CONNS] [-t THREADS]
 *          [-d SECONDS] [-n REQUESTS] OP ARG...
 *
 * OPs:  decrypt VERSION BODY  POST keyversion/VERSION/_eek?eek_op=decrypt
 *       generate KEY          GET key/KEY/_eek?eek_op=generate&num_keys=1
 *       create PREFIX         POST keys, a fresh name PREFIX-CONN-N each
 *       roll PREFIX           POST key/PREFIX-CONN {} (each connection
 *                             first creates its key, outside the count)
 *       get PATH              GET PATH (the null handler, /v1/health)
 *
 * Prints one JSON line on stdout: the operation, connections, threads,
 * seconds measured, requests answered, successes (2xx), successes per
 * second, failures by status ("conn" for a connection lost or refused
 * mid-request), p50/p99/max latency in ms of the successes.  Exit 0
 * when at least one request succeeded, 1 when none did, 2 on a usage or
 * set-up error.  It owns no server and judges no rate.
 *
 * Responses are read by Content-Length (what libmicrohttpd sends for a
 * buffer response); a chunked one ends at its "0\r\n\r\n".
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_CONNS	4096
#define MAX_THREADS	64
#define REQ_MAX		4096
#define SETUP_SECS	20
#define NSTATUS		600

enum op { OP_DECRYPT, OP_GENERATE, OP_CREATE, OP_ROLL, OP_GET };
static const char *const op_names[] = { "decrypt", "generate", "create",
    "roll", "get" };

enum cstate { C_CLOSED, C_HANDSHAKE, C_SEND, C_RECV };

struct conn {
	int		 fd;
	SSL		*ssl;
	int		 idx;		/* over all threads: names keys */
	enum cstate	 st;
	int		 ready;		/* handshake done (roll: key made) */
	int		 prep;		/* the request in flight is set-up */
	unsigned long	 seq;
	char		 req[REQ_MAX];
	size_t		 reqlen;
	char		*buf;
	size_t		 blen, bcap;
	uint64_t	 t0;
};

struct worker {
	pthread_t	 tid;
	int		 ep;
	struct conn	*conns;
	int		 nconns;
	uint64_t	 start, end;
	uint64_t	*lat;		/* ns, of the successes */
	size_t		 nlat, caplat;
	unsigned long	 answered, ok, connfail;
	unsigned long	 status[NSTATUS];
	int		 measuring;
	uint64_t	 deadline;
};

static struct {
	const char	*host;
	int		 port;
	struct sockaddr_in sa;
	SSL_CTX		*ctx;
	enum op		 op;
	const char	*arg1, *arg2;
	int		 conns, threads;
	double		 secs;
	unsigned long	 max_requests;
	atomic_ulong	 issued;
	pthread_barrier_t barrier;
} g;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
usage(void)
{
	fprintf(stderr, "usage: kwload -p PORT [-H HOST] --cert FILE --key "
	    "FILE --ca FILE\n"
	    "              [-c CONNS] [-t THREADS] [-d SECONDS] "
	    "[-n REQUESTS] OP ARG...\n"
	    "  OP: decrypt VERSION BODY | generate KEY | create PREFIX |\n"
	    "      roll PREFIX | get PATH\n");
}

/* Fill c->req with the next request; the set-up create of roll when the
 * connection's key is not made yet. */
static void
build_request(struct conn *c)
{
	char path[1024], body[1024];
	const char *method = "GET";
	int n;

	body[0] = '\0';
	c->prep = 0;
	switch (g.op) {
	case OP_DECRYPT:
		method = "POST";
		snprintf(path, sizeof(path),
		    "/kms/v1/keyversion/%s/_eek?eek_op=decrypt", g.arg1);
		snprintf(body, sizeof(body), "%s", g.arg2);
		break;
	case OP_GENERATE:
		snprintf(path, sizeof(path),
		    "/kms/v1/key/%s/_eek?eek_op=generate&num_keys=1", g.arg1);
		break;
	case OP_CREATE:
		method = "POST";
		snprintf(path, sizeof(path), "/kms/v1/keys");
		snprintf(body, sizeof(body), "{\"name\":\"%s-%d-%lu\","
		    "\"length\":128}", g.arg1, c->idx, c->seq++);
		break;
	case OP_ROLL:
		method = "POST";
		if (!c->ready) {
			c->prep = 1;
			snprintf(path, sizeof(path), "/kms/v1/keys");
			snprintf(body, sizeof(body), "{\"name\":\"%s-%d\","
			    "\"length\":128}", g.arg1, c->idx);
		} else {
			snprintf(path, sizeof(path), "/kms/v1/key/%s-%d",
			    g.arg1, c->idx);
			snprintf(body, sizeof(body), "{}");
		}
		break;
	case OP_GET:
		snprintf(path, sizeof(path), "%s", g.arg1);
		break;
	}
	if (strcmp(method, "POST") == 0)
		n = snprintf(c->req, sizeof(c->req), "POST %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", path, g.host, g.port,
		    strlen(body), body);
	else
		n = snprintf(c->req, sizeof(c->req), "GET %s HTTP/1.1\r\n"
		    "Host: %s:%d\r\n\r\n", path, g.host, g.port);
	c->reqlen = n > 0 && (size_t)n < sizeof(c->req) ? (size_t)n : 0;
}

static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->st = C_CLOSED;
	c->blen = 0;
}

/* Start a connection: non-blocking connect, TLS client state; 0 or -1. */
static int
conn_open(struct worker *w, struct conn *c)
{
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&g.sa, sizeof(g.sa)) != 0 &&
	    errno != EINPROGRESS)
		goto fail;
	if ((c->ssl = SSL_new(g.ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), g.host) != 1)
		goto fail;
	SSL_set_connect_state(c->ssl);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		goto fail;
	c->st = C_HANDSHAKE;
	c->blen = 0;
	return 0;
fail:
	conn_close(w, c);
	return -1;
}

/* Whether another counted request may start (the count bound). */
static int
may_issue(struct worker *w)
{
	if (!w->measuring)
		return 1;
	if (now_ns() >= w->deadline)
		return 0;
	return atomic_fetch_add(&g.issued, 1) < g.max_requests;
}

static void
start_request(struct conn *c)
{
	build_request(c);
	c->st = C_SEND;
	c->t0 = now_ns();
}

static void
record(struct worker *w, struct conn *c, int status)
{
	uint64_t *nl;

	if (c->prep) {
		/* roll's set-up create: made now, or made before */
		if (status != 201 && status != 409)
			w->status[status]++;
		c->ready = 1;
		return;
	}
	if (!w->measuring)
		return;
	w->answered++;
	if (status >= 200 && status < 300) {
		w->ok++;
		if (w->nlat == w->caplat) {
			size_t ncap = w->caplat ? w->caplat * 2 : 65536;

			if ((nl = realloc(w->lat, ncap * sizeof(*nl))) == NULL)
				return;
			w->lat = nl;
			w->caplat = ncap;
		}
		w->lat[w->nlat++] = now_ns() - c->t0;
	} else {
		w->status[status]++;
	}
}

/* A complete response in c->buf?  1 (status, close filled in), 0 not
 * yet, -1 malformed. */
static int
parse_response(struct conn *c, int *status, int *close_after)
{
	char *hend, *p, *line;
	size_t hlen, clen = 0;
	int chunked = 0;

	c->buf[c->blen] = '\0';
	if ((hend = strstr(c->buf, "\r\n\r\n")) == NULL)
		return c->blen > 65536 ? -1 : 0;
	hlen = (size_t)(hend - c->buf) + 4;
	if (strncmp(c->buf, "HTTP/1.", 7) != 0 || c->blen < 12)
		return -1;
	*status = atoi(c->buf + 9);
	if (*status < 100 || *status >= NSTATUS)
		return -1;
	*close_after = 0;
	for (line = strstr(c->buf, "\r\n"); line != NULL && line < hend;
	    line = strstr(line + 2, "\r\n")) {
		p = line + 2;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			clen = strtoul(p + 15, NULL, 10);
		else if (strncasecmp(p, "Transfer-Encoding:", 18) == 0 &&
		    strstr(p, "chunked") != NULL &&
		    strstr(p, "chunked") < strstr(p, "\r\n"))
			chunked = 1;
		else if (strncasecmp(p, "Connection:", 11) == 0 &&
		    strncasecmp(p + 11 + strspn(p + 11, " "), "close", 5) == 0)
			*close_after = 1;
	}
	if (chunked)
		return c->blen >= hlen + 5 &&
		    memcmp(c->buf + c->blen - 5, "0\r\n\r\n", 5) == 0;
	return c->blen >= hlen + clen;
}

/* Move c on until it would block; called on each epoll event. */
static void
conn_drive(struct worker *w, struct conn *c)
{
	int r = 0, err, status = 0, close_after = 0, pr;
	char *nb;

	for (;;) {
		switch (c->st) {
		case C_CLOSED:
			return;
		case C_HANDSHAKE:
			if ((r = SSL_do_handshake(c->ssl)) != 1)
				goto would_block;
			if (!w->measuring) {
				/* set-up: park it, once roll's key is made */
				if (g.op != OP_ROLL || c->ready) {
					c->ready = 1;
					return;
				}
			} else if (!may_issue(w)) {
				conn_close(w, c);
				return;
			}
			start_request(c);
			break;
		case C_SEND:
			if ((r = SSL_write(c->ssl, c->req, (int)c->reqlen)) <= 0)
				goto would_block;
			c->st = C_RECV;
			c->blen = 0;
			break;
		case C_RECV:
			if (c->bcap - c->blen < 16384 + 1) {
				size_t ncap = c->bcap ? c->bcap * 2 : 32768;

				if ((nb = realloc(c->buf, ncap)) == NULL)
					goto lost;
				c->buf = nb;
				c->bcap = ncap;
			}
			r = SSL_read(c->ssl, c->buf + c->blen,
			    (int)(c->bcap - c->blen - 1));
			if (r <= 0)
				goto would_block;
			c->blen += (size_t)r;
			if ((pr = parse_response(c, &status, &close_after)) < 0)
				goto lost;
			if (pr == 0)
				break;
			record(w, c, status);
			if (close_after) {
				conn_close(w, c);
				if (may_issue(w) && conn_open(w, c) != 0)
					w->connfail++;
				return;
			}
			if (!w->measuring) {
				c->st = C_HANDSHAKE;	/* parked, ready */
				return;
			}
			if (!may_issue(w)) {
				conn_close(w, c);
				return;
			}
			start_request(c);
			break;
		}
	}
would_block:
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return;
lost:
	/* a request lost with its connection, or a refused handshake (in
	 * the set-up, say, while the server still counts the connections of
	 * a run just ended against its per-address limit: tried again) */
	if (w->measuring)
		w->connfail++;
	ERR_clear_error();
	conn_close(w, c);
	if (w->measuring && may_issue(w) && conn_open(w, c) != 0)
		w->connfail++;
}

static void
loop_once(struct worker *w, int timeout_ms)
{
	struct epoll_event evs[256];
	int n, i;

	n = epoll_wait(w->ep, evs, 256, timeout_ms);
	for (i = 0; i < n; i++)
		conn_drive(w, evs[i].data.ptr);
}

static int
all_ready(struct worker *w)
{
	int i;

	for (i = 0; i < w->nconns; i++)
		if (!w->conns[i].ready)
			return 0;
	return 1;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t setup_end = now_ns() + SETUP_SECS * 1000000000ULL;
	int i, open;
	struct conn *c;

	/* set-up, outside the measurement: handshakes (and roll's keys) */
	while (!all_ready(w) && now_ns() < setup_end) {
		for (i = 0; i < w->nconns; i++) {
			c = &w->conns[i];
			if (c->st == C_CLOSED && !c->ready)
				(void)conn_open(w, c);
		}
		loop_once(w, 50);
	}
	pthread_barrier_wait(&g.barrier);

	w->measuring = 1;
	w->start = now_ns();
	w->deadline = w->start + (uint64_t)(g.secs * 1e9);
	for (i = 0; i < w->nconns; i++) {
		c = &w->conns[i];
		if (c->st == C_HANDSHAKE && c->ready &&
		    SSL_is_init_finished(c->ssl)) {
			if (may_issue(w)) {
				start_request(c);
				conn_drive(w, c);
			} else {
				conn_close(w, c);
			}
		} else if (c->st == C_CLOSED && may_issue(w)) {
			if (conn_open(w, c) != 0)
				w->connfail++;
		}
	}
	for (;;) {
		for (open = 0, i = 0; i < w->nconns; i++)
			open += w->conns[i].st != C_CLOSED;
		if (open == 0 || now_ns() >= w->deadline)
			break;
		loop_once(w, 20);
	}
	w->end = now_ns();
	for (i = 0; i < w->nconns; i++)
		conn_close(w, &w->conns[i]);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p of the n sorted values, in ms. */
static double
pct_ms(const uint64_t *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0.0;
	k = (size_t)((p / 100.0) * (double)n + 0.999999);
	k = k == 0 ? 0 : k - 1;
	if (k >= n)
		k = n - 1;
	return (double)v[k] / 1e6;
}

static int
report(struct worker *ws)
{
	unsigned long answered = 0, ok = 0, connfail = 0, st[NSTATUS];
	uint64_t *all = NULL, t0 = UINT64_MAX, t1 = 0;
	size_t n = 0, k;
	double secs;
	int i, j, first = 1;

	memset(st, 0, sizeof(st));
	for (i = 0; i < g.threads; i++)
		n += ws[i].nlat;
	if (n > 0 && (all = malloc(n * sizeof(*all))) == NULL)
		n = 0;
	for (k = 0, i = 0; i < g.threads; i++) {
		answered += ws[i].answered;
		ok += ws[i].ok;
		connfail += ws[i].connfail;
		for (j = 0; j < NSTATUS; j++)
			st[j] += ws[i].status[j];
		if (all != NULL && ws[i].nlat > 0) {
			memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
			k += ws[i].nlat;
		}
		if (ws[i].start < t0)
			t0 = ws[i].start;
		if (ws[i].end > t1)
			t1 = ws[i].end;
	}
	if (all != NULL)
		qsort(all, n, sizeof(*all), cmp_u64);
	secs = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0.0;
	printf("{\"op\": \"%s\", \"conns\": %d, \"threads\": %d, "
	    "\"seconds\": %.3f, \"answered\": %lu, \"ok\": %lu, "
	    "\"rps\": %.1f, \"failed\": {", op_names[g.op], g.conns,
	    g.threads, secs, answered, ok, secs > 0 ? (double)ok / secs : 0.0);
	for (j = 0; j < NSTATUS; j++) {
		if (st[j] == 0)
			continue;
		printf("%s\"%d\": %lu", first ? "" : ", ", j, st[j]);
		first = 0;
	}
	if (connfail > 0)
		printf("%s\"conn\": %lu", first ? "" : ", ", connfail);
	printf("}, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
	    pct_ms(all, n, 50), pct_ms(all, n, 99),
	    n > 0 ? (double)all[n - 1] / 1e6 : 0.0);
	fflush(stdout);
	free(all);
	return ok > 0 ? 0 : 1;
}

static SSL_CTX *
make_ctx(const char *cert, const char *key, const char *ca)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "ca", required_argument, NULL, 'A' },
		{ "conns", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cert = NULL, *key = NULL, *ca = NULL;
	struct worker *ws;
	int ch, i, per, extra, next = 0, nargs, rc;
	size_t j;

	g.host = "127.0.0.1";
	g.conns = 16;
	g.threads = 2;
	g.secs = 5;
	g.max_requests = 10000000;
	while ((ch = getopt_long(argc, argv, "H:p:c:t:d:n:h", lopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'H': g.host = optarg; break;
		case 'p': g.port = atoi(optarg); break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'A': ca = optarg; break;
		case 'c': g.conns = atoi(optarg); break;
		case 't': g.threads = atoi(optarg); break;
		case 'd': g.secs = atof(optarg); break;
		case 'n': g.max_requests = strtoul(optarg, NULL, 10); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage();
		return 2;
	}
	for (j = 0; j < sizeof(op_names) / sizeof(op_names[0]); j++)
		if (strcmp(argv[0], op_names[j]) == 0)
			break;
	nargs = j == OP_DECRYPT ? 2 : 1;
	if (j == sizeof(op_names) / sizeof(op_names[0]) || argc != 1 + nargs ||
	    g.port <= 0 || g.port > 65535 || cert == NULL || key == NULL ||
	    ca == NULL || g.conns < 1 || g.conns > MAX_CONNS ||
	    g.threads < 1 || g.threads > MAX_THREADS || !(g.secs > 0) ||
	    g.max_requests < 1) {
		usage();
		return 2;
	}
	g.op = (enum op)j;
	g.arg1 = argv[1];
	g.arg2 = nargs == 2 ? argv[2] : NULL;
	if (g.threads > g.conns)
		g.threads = g.conns;
	g.sa.sin_family = AF_INET;
	g.sa.sin_port = htons((uint16_t)g.port);
	if (inet_pton(AF_INET, g.host, &g.sa.sin_addr) != 1) {
		fprintf(stderr, "kwload: %s is not an IPv4 address\n", g.host);
		return 2;
	}
	if ((g.ctx = make_ctx(cert, key, ca)) == NULL) {
		fprintf(stderr, "kwload: could not load the client certificate, "
		    "key or CA\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);	/* a closed connection: EPIPE */
	atomic_init(&g.issued, 0);
	if ((ws = calloc((size_t)g.threads, sizeof(*ws))) == NULL ||
	    pthread_barrier_init(&g.barrier, NULL, (unsigned)g.threads) != 0)
		return 2;
	per = g.conns / g.threads;
	extra = g.conns % g.threads;
	for (i = 0; i < g.threads; i++) {
		struct worker *w = &ws[i];
		int k;

		w->nconns = per + (i < extra);
		if ((w->conns = calloc((size_t)w->nconns,
		    sizeof(*w->conns))) == NULL ||
		    (w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
			return 2;
		for (k = 0; k < w->nconns; k++) {
			w->conns[k].fd = -1;
			w->conns[k].idx = next++;
		}
	}
	for (i = 0; i < g.threads; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
			fprintf(stderr, "kwload: could not start a thread\n");
			return 2;
		}
	for (i = 0; i < g.threads; i++)
		pthread_join(ws[i].tid, NULL);
	rc = report(ws);
	for (i = 0; i < g.threads; i++) {
		free(ws[i].lat);
		for (j = 0; j < (size_t)ws[i].nconns; j++)
			free(ws[i].conns[j].buf);
		free(ws[i].conns);
		close(ws[i].ep);
	}
	free(ws);
	SSL_CTX_free(g.ctx);
	return rc;
}
