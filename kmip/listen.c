/*
 * listen.c: the KMIP listener (see listen.h): accepting under the
 * connection limits, a thread per connection, TLS through GnuTLS with
 * every read bounded by a deadline, message framing by the TTLV header.
 * Does not own: certificate trust (tlstrust.c), identities (identity.c),
 * what a message means (the handler).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "listen.h"
#include "ttlv.h"
#include "../lib/clock.h"
#include "../lib/crypto.h"
#include "../lib/log.h"
#include "../lib/secbuf.h"
#include "../server/identity.h"
#include "../server/tlstrust.h"

/* TLS 1.2 is the least KMIP profiles ask for: drop anything older. */
#define KMIP_MIN_TLS	":-VERS-TLS1.1:-VERS-TLS1.0:-VERS-SSL3.0"

struct kmip_listener {
	struct kmip_listen_opts	 o;
	kmip_handler_fn		 handler;
	void			*ctx;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t	 prio;
	int			 lfd;
	int			 wake[2];	/* stop: wakes the acceptor */
	pthread_t		 acceptor;
	pthread_mutex_t		 mu;
	pthread_cond_t		 idle;		/* active reached 0 */
	unsigned		 active;
	int			 stopping;
	struct kmip_conn	**conns;	/* max_connections slots */
	unsigned long		 nconn;
	char			 id_prefix[9];
};

struct kmip_conn {
	struct kmip_listener	*kl;
	int			 fd;
	unsigned		 slot;
	unsigned long		 id;
	char			 peer[INET6_ADDRSTRLEN];
	int64_t			 deadline;	/* monotonic ms: reads end */
	char			 identity[IDENTITY_MAX];
	char			 why[256];
	unsigned long		 trust_gen;
	int			 checked;
};

/* --------------------------------------------------- deadline reads */

/* GnuTLS's pull: recv, but never past c->deadline. */
static ssize_t
conn_pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct kmip_conn *c = p;
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	int64_t left;
	ssize_t r;
	int pr;

	for (;;) {
		left = c->deadline - clock_mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pr = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr <= 0)
			continue;
		r = recv(c->fd, buf, n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return r;
	}
}

static int
conn_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct kmip_conn *c = p;
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	int64_t left = c->deadline - clock_mono_ms();

	if (left <= 0)
		return 0;
	if (ms != GNUTLS_INDEFINITE_TIMEOUT && (int64_t)ms < left)
		left = ms;
	return poll(&pfd, 1, (int)left);
}

static ssize_t
conn_push(gnutls_transport_ptr_t p, const void *buf, size_t n)
{
	struct kmip_conn *c = p;

	return send(c->fd, buf, n, MSG_NOSIGNAL);
}

/* Read exactly n bytes: 1, 0 at a clean end before the first byte, -1. */
static int
read_full(gnutls_session_t s, unsigned char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = gnutls_record_recv(s, buf + got, n - got);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == 0 && got == 0)
			return 0;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 1;
}

static int
write_full(gnutls_session_t s, const unsigned char *buf, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = gnutls_record_send(s, buf + off, n - off);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/* ------------------------------------------------------ connections */

static void
conn_identity(struct kmip_conn *c, gnutls_session_t s)
{
	struct kmip_listener *kl = c->kl;

	if (c->checked && c->trust_gen == tlstrust_generation(kl->o.trust))
		return;
	c->checked = 1;
	c->trust_gen = tlstrust_generation(kl->o.trust);
	if (identity_from_session(s, kl->o.trust, kl->o.identity, c->identity,
	    sizeof(c->identity), c->why, sizeof(c->why)) != 0)
		log_info("kmip %s: client certificate refused: %s", c->peer,
		    c->why);
}

/* Answer one message (or framing error); 0 to go on, -1 to close. */
static int
conn_answer(struct kmip_conn *c, gnutls_session_t s, unsigned long n,
    const unsigned char *msg, size_t len, const char *ferr)
{
	struct kmip_conn_info ci;
	char rid[48];
	unsigned char *out;
	size_t outlen = 0;
	int rc;

	snprintf(rid, sizeof(rid), "k%s-%lu-%lu", c->kl->id_prefix, c->id, n);
	ci.identity = c->identity[0] != '\0' ? c->identity : NULL;
	ci.why = c->why;
	ci.peer = c->peer;
	ci.request_id = rid;
	out = c->kl->handler(c->kl->ctx, &ci, msg, len, ferr, &outlen);
	if (out == NULL)
		return -1;
	rc = write_full(s, out, outlen);
	secure_wipe(out, outlen);
	free(out);
	return rc;
}

/* Serve messages until the client leaves, errs or idles too long. */
static void
conn_serve(struct kmip_conn *c, gnutls_session_t s)
{
	struct kmip_listener *kl = c->kl;
	struct ttlv_limits lim = { kl->o.max_message, TTLV_DEFAULT_MAX_DEPTH };
	unsigned char hdr[TTLV_HEADER_LEN], *msg;
	char ferr[128];
	size_t total;
	unsigned long n;
	int r;

	for (n = 1;; n++) {
		c->deadline = clock_mono_ms() + (int64_t)kl->o.timeout_s * 1000;
		if ((r = read_full(s, hdr, sizeof(hdr))) <= 0)
			return;
		conn_identity(c, s);
		if (ttlv_frame_len(hdr, sizeof(hdr), &lim, &total, ferr,
		    sizeof(ferr)) != TTLV_OK) {
			(void)conn_answer(c, s, n, hdr, sizeof(hdr), ferr);
			return;
		}
		if ((msg = malloc(total)) == NULL)
			return;
		memcpy(msg, hdr, sizeof(hdr));
		c->deadline = clock_mono_ms() + (int64_t)kl->o.timeout_s * 1000;
		r = read_full(s, msg + sizeof(hdr), total - sizeof(hdr));
		if (r > 0)
			r = conn_answer(c, s, n, msg, total, NULL) == 0;
		secure_wipe(msg, total);	/* may hold key material */
		free(msg);
		if (r <= 0)
			return;
	}
}

static void *
conn_main(void *arg)
{
	struct kmip_conn *c = arg;
	struct kmip_listener *kl = c->kl;
	gnutls_session_t s = NULL;
	int r;

	if (gnutls_init(&s, GNUTLS_SERVER) != GNUTLS_E_SUCCESS)
		goto out;
	if (gnutls_priority_set(s, kl->prio) != GNUTLS_E_SUCCESS ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, kl->cred) !=
	    GNUTLS_E_SUCCESS)
		goto out;
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_transport_set_ptr(s, c);
	gnutls_transport_set_pull_function(s, conn_pull);
	gnutls_transport_set_pull_timeout_function(s, conn_pull_timeout);
	gnutls_transport_set_push_function(s, conn_push);
	c->deadline = clock_mono_ms() + (int64_t)kl->o.timeout_s * 1000;
	do {
		r = gnutls_handshake(s);
	} while (r < 0 && !gnutls_error_is_fatal(r) &&
	    clock_mono_ms() < c->deadline);
	if (r < 0) {
		log_debug("kmip %s: TLS handshake failed: %s", c->peer,
		    gnutls_strerror(r));
		goto out;
	}
	conn_serve(c, s);
	c->deadline = clock_mono_ms() + 1000;
	(void)gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	if (s != NULL)
		gnutls_deinit(s);
	pthread_mutex_lock(&kl->mu);
	kl->conns[c->slot] = NULL;
	close(c->fd);
	if (--kl->active == 0)
		pthread_cond_broadcast(&kl->idle);
	pthread_mutex_unlock(&kl->mu);
	free(c);
	return NULL;
}

/* The text of a peer address. */
static void
peer_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), buf,
	    (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "?");
}

/* Under kl->mu: a slot for a connection from peer, or -1 past a limit. */
static int
conn_slot(struct kmip_listener *kl, const char *peer)
{
	unsigned i, same = 0;
	int free_slot = -1;

	if (kl->stopping || kl->active >= kl->o.max_connections)
		return -1;
	for (i = 0; i < kl->o.max_connections; i++) {
		if (kl->conns[i] == NULL) {
			if (free_slot < 0)
				free_slot = (int)i;
		} else if (strcmp(kl->conns[i]->peer, peer) == 0)
			same++;
	}
	return same >= kl->o.max_per_ip ? -1 : free_slot;
}

static void
accept_one(struct kmip_listener *kl)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct kmip_conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int fd, slot;

	if ((fd = accept4(kl->lfd, (struct sockaddr *)&ss, &sl,
	    SOCK_CLOEXEC)) < 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->kl = kl;
	c->fd = fd;
	peer_text(&ss, c->peer, sizeof(c->peer));
	pthread_mutex_lock(&kl->mu);
	if ((slot = conn_slot(kl, c->peer)) < 0) {
		pthread_mutex_unlock(&kl->mu);
		log_info("kmip %s: connection refused: limit reached", c->peer);
		close(fd);
		free(c);
		return;
	}
	c->slot = (unsigned)slot;
	c->id = ++kl->nconn;
	kl->conns[slot] = c;
	kl->active++;
	pthread_mutex_unlock(&kl->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, c) != 0) {
		pthread_mutex_lock(&kl->mu);
		kl->conns[slot] = NULL;
		kl->active--;
		pthread_mutex_unlock(&kl->mu);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *
accept_main(void *arg)
{
	struct kmip_listener *kl = arg;
	struct pollfd pfd[2] = { { kl->lfd, POLLIN, 0 }, { kl->wake[0], POLLIN, 0 } };

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents & POLLIN)
			accept_one(kl);
	}
	return NULL;
}

/* ----------------------------------------------------- start, stop */

static int
listen_socket(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char ps[16];
	int fd = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(ps, sizeof(ps), "%d", port);
	if ((e = getaddrinfo(host, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "kmip.listen: bad address \"%s\": %s",
		    host, gai_strerror(e));
		return -1;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		snprintf(err, errlen, "could not listen for KMIP on %s:%d: %s",
		    host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int
tls_setup(struct kmip_listener *kl, char *err, size_t errlen)
{
	gnutls_datum_t cert, key, ca;
	char *prio;
	size_t n;
	int r;

	cert.data = (unsigned char *)(uintptr_t)kl->o.cert_pem;
	cert.size = (unsigned)strlen(kl->o.cert_pem);
	key.data = (unsigned char *)(uintptr_t)kl->o.key_pem;
	key.size = (unsigned)strlen(kl->o.key_pem);
	ca.data = (unsigned char *)(uintptr_t)kl->o.ca_pem;
	ca.size = (unsigned)strlen(kl->o.ca_pem);
	if (gnutls_certificate_allocate_credentials(&kl->cred) < 0)
		goto fail;
	if ((r = gnutls_certificate_set_x509_key_mem(kl->cred, &cert, &key,
	    GNUTLS_X509_FMT_PEM)) < 0 ||
	    (r = gnutls_certificate_set_x509_trust_mem(kl->cred, &ca,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		snprintf(err, errlen, "KMIP TLS: %s", gnutls_strerror(r));
		return -1;
	}
	n = strlen(kl->o.priorities) + sizeof(KMIP_MIN_TLS);
	if ((prio = malloc(n)) == NULL)
		goto fail;
	snprintf(prio, n, "%s%s", kl->o.priorities, KMIP_MIN_TLS);
	r = gnutls_priority_init(&kl->prio, prio, NULL);
	free(prio);
	if (r < 0) {
		snprintf(err, errlen, "KMIP TLS priorities: %s",
		    gnutls_strerror(r));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
listener_free(struct kmip_listener *kl)
{
	if (kl->prio != NULL)
		gnutls_priority_deinit(kl->prio);
	if (kl->cred != NULL)
		gnutls_certificate_free_credentials(kl->cred);
	if (kl->lfd >= 0)
		close(kl->lfd);
	if (kl->wake[0] >= 0)
		close(kl->wake[0]);
	if (kl->wake[1] >= 0)
		close(kl->wake[1]);
	pthread_mutex_destroy(&kl->mu);
	pthread_cond_destroy(&kl->idle);
	free(kl->conns);
	free(kl);
}

struct kmip_listener *
kmip_listen_start(const struct kmip_listen_opts *o, kmip_handler_fn handler,
    void *ctx, char *err, size_t errlen)
{
	struct kmip_listener *kl;
	unsigned char rnd[4];

	if ((kl = calloc(1, sizeof(*kl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kl->o = *o;
	kl->handler = handler;
	kl->ctx = ctx;
	kl->lfd = kl->wake[0] = kl->wake[1] = -1;
	pthread_mutex_init(&kl->mu, NULL);
	pthread_cond_init(&kl->idle, NULL);
	if (crypto_random(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	snprintf(kl->id_prefix, sizeof(kl->id_prefix), "%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	if ((kl->conns = calloc(o->max_connections, sizeof(*kl->conns))) ==
	    NULL || pipe2(kl->wake, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "out of memory or descriptors");
		goto fail;
	}
	if (tls_setup(kl, err, errlen) != 0 ||
	    (kl->lfd = listen_socket(o->host, o->port, err, errlen)) < 0)
		goto fail;
	if (pthread_create(&kl->acceptor, NULL, accept_main, kl) != 0) {
		snprintf(err, errlen, "could not start the KMIP acceptor");
		goto fail;
	}
	return kl;
fail:
	listener_free(kl);
	return NULL;
}

void
kmip_listen_stop(struct kmip_listener *kl)
{
	unsigned i;

	if (kl == NULL)
		return;
	pthread_mutex_lock(&kl->mu);
	kl->stopping = 1;
	pthread_mutex_unlock(&kl->mu);
	if (write(kl->wake[1], "x", 1) != 1)
		log_warn("could not wake the KMIP acceptor");
	pthread_join(kl->acceptor, NULL);
	pthread_mutex_lock(&kl->mu);
	for (i = 0; i < kl->o.max_connections; i++)
		if (kl->conns[i] != NULL)
			shutdown(kl->conns[i]->fd, SHUT_RDWR);
	while (kl->active > 0)
		pthread_cond_wait(&kl->idle, &kl->mu);
	pthread_mutex_unlock(&kl->mu);
	listener_free(kl);
}
