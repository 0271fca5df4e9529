/*
 * reason.c: libpq's failure messages sorted into a few reasons.
 *
 * libpq tells a connection failure apart from others only by its text (a
 * failed connection has no SQLSTATE a client can read), so this matches
 * fragments of it: the C library's strerror words, libpq's own
 * messages (keyward-server sets no locale, so they are in English) and
 * the server's FATAL messages.  What matches nothing gets the caller's
 * fallback: the worst case is a vaguer reason, never a leaked detail.
 */
#include <string.h>

#include "reason.h"

static const struct {
	const char	*fragment;	/* in libpq's message */
	const char	*reason;	/* keyward's words */
} reasons[] = {
	/* the first match wins: specific before general */
	{ "Connection refused", "connection refused" },
	{ "timeout expired", "timed out" },
	{ "timed out", "timed out" },
	{ "authentication failed", "authentication failed" },
	{ "no password supplied", "authentication failed" },
	{ "no pg_hba.conf entry", "authentication failed" },
	{ "pg_hba.conf rejects", "authentication failed" },
	{ "SCRAM", "authentication failed" },
	{ "does not exist", "database or role does not exist" },
	{ "is not permitted to log in", "authentication failed" },
	{ "could not translate host name", "host name not found" },
	{ "No route to host", "network unreachable" },
	{ "Network is unreachable", "network unreachable" },
	{ "starting up", "database starting up" },
	{ "not yet accepting connections", "database starting up" },
	{ "shutting down", "database shutting down" },
	{ "too many clients", "too many connections" },
	{ "connection slots are reserved", "too many connections" },
	{ "SSL", "TLS failed" },
	{ "terminating connection", "connection lost" },
	{ "server closed the connection", "connection lost" },
	{ "could not receive data", "connection lost" },
	{ "could not send data", "connection lost" },
	{ "connection to server was lost", "connection lost" },
	{ "no connection to the server", "connection lost" },
	{ "Connection reset", "connection lost" },
	{ "out of memory", "out of memory" },
};

const char *
db_reason(const char *msg, const char *fallback)
{
	size_t i;

	if (msg == NULL)
		return fallback;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strstr(msg, reasons[i].fragment) != NULL)
			return reasons[i].reason;
	return fallback;
}
