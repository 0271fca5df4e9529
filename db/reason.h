/*
 * reason.h: a database failure in keyward's words.
 *
 * libpq's messages name the server's host, port, user and database, and
 * the health and cluster endpoints answer anyone: they give this short
 * reason instead, and the caller logs libpq's text for the operator.
 * Pure string work, thread-safe, unit-tested by check_reason.c.
 */
#ifndef KW_DB_REASON_H
#define KW_DB_REASON_H

/*
 * The reason for libpq message msg (NULL counts as ""): "connection
 * refused", "timed out", "authentication failed", "connection lost",
 * ... or fallback (say "cannot connect") when none fits.  A static
 * string that never quotes msg.
 */
const char *db_reason(const char *msg, const char *fallback);

#endif
