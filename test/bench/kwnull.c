/*
 * kwnull: the ceiling of keyward's HTTPS stack, for test/bench.  A
 * libmicrohttpd daemon set up as keyward-server's listener is
 * (server/http.c: a thread per connection, GnuTLS with the same
 * priorities, the client CA as MHD_OPTION_HTTPS_MEM_TRUST, the same
 * timeout and connection limits) that answers every request, once the
 * body is read, with a fixed small JSON body.  A client certificate is
 * required: it is verified against the CA once per connection (as
 * keyward does, and caches), and a connection without a valid one gets
 * 401.  No routing, ACL, audit, JSON, key or database work: what is left
 * is the cost of TLS, libmicrohttpd and the kernel per request.
 *
 *   kwnull -l HOST:PORT --cert FILE --key FILE --ca FILE
 *          [--priorities STRING]
 *
 * Runs until SIGTERM or SIGINT; exit 1 when the daemon does not start.
 */

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* keyward's defaults (lib/config_table.c): tls.priorities,
 * limits.request_timeout_s, max_connections, max_connections_per_ip,
 * max_header_bytes */
#define DEF_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define DEF_TIMEOUT_S	30
#define DEF_MAX_CONNS	512
#define DEF_MAX_PER_IP	64
#define DEF_MAX_HEADER	16384

static const char body[] = "{\"null\":true}";

/* per connection: 0 not checked yet, 1 verified, -1 refused */
struct conn_state {
	int	verified;
};

static char *
read_file(const char *path)
{
	FILE *f;
	char *buf = NULL;
	long n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static void
notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = calloc(1, sizeof(struct conn_state));
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
	}
}

/* The client's certificate chain verified against the trust MHD loaded. */
static int
client_verified(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	struct conn_state *cs;
	gnutls_session_t s;
	unsigned int status = 1, n = 0;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	cs = ci != NULL ? ci->socket_context : NULL;
	if (cs != NULL && cs->verified != 0)
		return cs->verified > 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL)
		return 0;
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0 ||
	    gnutls_certificate_verify_peers2(s, &status) != 0)
		status = 1;
	if (cs != NULL)
		cs->verified = status == 0 ? 1 : -1;
	return status == 0;
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	*con_cls = NULL;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	static int started;
	struct MHD_Response *r;
	enum MHD_Result ret;
	int ok;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;	/* the body is read and dropped */
		return MHD_YES;
	}
	ok = client_verified(c);
	r = MHD_create_response_from_buffer(ok ? sizeof(body) - 1 : 2,
	    (void *)(ok ? body : "{}"), MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	ret = MHD_queue_response(c, ok ? MHD_HTTP_OK : MHD_HTTP_UNAUTHORIZED,
	    r);
	MHD_destroy_response(r);
	return ret;
}

static void
usage(void)
{
	fprintf(stderr, "usage: kwnull -l HOST:PORT --cert FILE --key FILE "
	    "--ca FILE [--priorities STRING]\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "ca", required_argument, NULL, 'A' },
		{ "priorities", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *listen = NULL, *prio = DEF_PRIORITIES;
	char *cert = NULL, *key = NULL, *ca = NULL, host[64], *colon;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	sigset_t set;
	int ch, sig, port;

	while ((ch = getopt_long(argc, argv, "l:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'l': listen = optarg; break;
		case 'C': cert = read_file(optarg); break;
		case 'K': key = read_file(optarg); break;
		case 'A': ca = read_file(optarg); break;
		case 'P': prio = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc || listen == NULL || cert == NULL || key == NULL ||
	    ca == NULL || (colon = strrchr(listen, ':')) == NULL ||
	    (size_t)(colon - listen) >= sizeof(host)) {
		usage();
		return 2;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = atoi(colon + 1);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "kwnull: bad listen address %s\n", listen);
		return 2;
	}
	/* block the stop signals before MHD's threads inherit the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_HTTPS_PRIORITIES, prio,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)DEF_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)DEF_MAX_CONNS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)DEF_MAX_PER_IP,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)DEF_MAX_HEADER,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
	    MHD_OPTION_HTTPS_MEM_TRUST, ca,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "kwnull: could not start HTTPS on %s\n", listen);
		return 1;
	}
	fprintf(stderr, "kwnull: listening on https://%s\n", listen);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	free(cert);
	free(ca);
	free(key);
	return 0;
}
