/*
 * filewatch.h: a thread that notices when a file changes.
 *
 * Every check_ms it compares the file's inode, device, size, modification
 * and change times with what was noted last, and calls a function when
 * they differ: how acls.conf and the certificate revocation list are
 * reloaded without a restart.  A file that cannot be seen is logged once
 * (until it can be seen again) and nothing is called.  Thread-safe.
 */
#ifndef KW_FILEWATCH_H
#define KW_FILEWATCH_H

#include <pthread.h>

struct filewatch;

typedef void (*filewatch_fn)(void *arg);

/*
 * Note path as it is now and start watching it; changed(arg) runs in the
 * watcher's thread.  what names the file in log lines ("access control
 * file").  NULL when the thread cannot be started.
 */
struct filewatch *filewatch_start(const char *path, const char *what,
	    int check_ms, filewatch_fn changed, void *arg);
/* Stop the thread and free; NULL is a no-op. */
void	filewatch_stop(struct filewatch *fw);
/* Initialise the lock that guards what is loaded from a watched file:
 * writer-preferring, so a steady stream of readers cannot keep a reload
 * out. */
void	filewatch_lock_init(pthread_rwlock_t *lock);
/* Note the file as it is now (before reading it, so that a change made
 * while it is read is seen at the next check); NULL is a no-op. */
void	filewatch_note(struct filewatch *fw);

#endif
