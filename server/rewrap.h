/*
 * rewrap.h: the background master-key work of a server, in a thread of
 * its own: record the KEKs this server holds (after start and every
 * reload) and move key versions still wrapped under an older KEK to the
 * active one, a bounded batch at a time, each batch an acknowledged
 * write.  It works only while the pair takes writes.  The server whose
 * database is the primary works from one end, the other server from the
 * other end, so either alone finishes the job and together they meet in
 * the middle; the progress is in the database itself (which versions
 * are under which KEK), so a crash or restart of either node loses
 * nothing and the work resumes.  Thread-safe.
 */
#ifndef KW_REWRAP_H
#define KW_REWRAP_H

#include "clustermon.h"
#include "kekring.h"

struct rewrap;

/* Start the thread: batch versions per batch, pause_ms between batches.
 * NULL when it cannot start. */
struct rewrap *rewrap_start(struct kekring *kr, struct cluster *cl,
	    int batch, int pause_ms);
/* Wake it now (a reload or a rotation). */
void	rewrap_kick(struct rewrap *rw);
/* Stop (waiting for the batch under way) and free; NULL is a no-op. */
void	rewrap_stop(struct rewrap *rw);

#endif
