/*
 * conntrack.h: the deadline between requests.  libmicrohttpd's timeout
 * is an idle timeout that every received byte restarts, so a client that
 * sends its TLS handshake or request headers one byte at a time could hold
 * a connection for ever.  conntrack keeps every open connection's socket
 * and, from a thread of its own, shuts down (shutdown(2), which makes the
 * connection's own thread see the end of it and close) each one that has
 * spent longer than timeout_s outside a request: in the handshake, sending
 * headers, or idle between keep-alive requests.  A request being served
 * (from complete headers to the end of its response) is never cut.
 * Thread-safe; no libmicrohttpd types.
 */
#ifndef KW_CONNTRACK_H
#define KW_CONNTRACK_H

struct conntrack;
struct ct_conn;

/* Start the thread; NULL on failure. */
struct conntrack *conntrack_new(unsigned timeout_s);
/* Stop the thread and free; every connection must be removed first
 * (NULL is a no-op). */
void	conntrack_free(struct conntrack *ct);
/* A new connection on socket fd, outside a request; NULL when out of
 * memory (the connection is then simply not tracked). */
struct ct_conn *conntrack_add(struct conntrack *ct, int fd);
/* The connection is closing: forget it before its socket is closed. */
void	conntrack_remove(struct conntrack *ct, struct ct_conn *cc);
/* A request began (headers complete) or ended on cc. */
void	conntrack_busy(struct conntrack *ct, struct ct_conn *cc, int busy);
/* Connections shut down so far (for tests and logs). */
unsigned long conntrack_cut(struct conntrack *ct);

#endif
