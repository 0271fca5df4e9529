/*
 * filewatch.c: the watcher thread, a condition variable on the monotonic
 * clock so that filewatch_stop ends its wait at once.
 */
#include <sys/stat.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filewatch.h"
#include "../lib/clock.h"
#include "../lib/log.h"

struct filewatch {
	char		*path;
	char		*what;
	int		 check_ms;
	filewatch_fn	 changed;
	void		*arg;

	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cond;
	int		 stop;
	struct stat	 seen;		/* the file as last noted */
	int		 stat_failed;	/* logged that it cannot be seen */
	pthread_t	 thread;
};

/* Whether a and b look like the same file contents. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void
filewatch_lock_init(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

void
filewatch_note(struct filewatch *fw)
{
	struct stat st;

	if (fw == NULL)
		return;
	pthread_mutex_lock(&fw->mu);
	if (stat(fw->path, &st) == 0)
		fw->seen = st;
	pthread_mutex_unlock(&fw->mu);
}

static void *
watch(void *arg)
{
	struct filewatch *fw = arg;
	struct timespec ts;
	struct stat st;
	int changed;

	pthread_mutex_lock(&fw->mu);
	while (!fw->stop) {
		clock_deadline(&ts, fw->check_ms);
		pthread_cond_timedwait(&fw->cond, &fw->mu, &ts);
		if (fw->stop)
			break;
		changed = 0;
		if (stat(fw->path, &st) != 0) {
			if (!fw->stat_failed)
				log_warn("%s \"%s\" cannot be read, keeping what "
				    "is in force", fw->what, fw->path);
			fw->stat_failed = 1;
		} else {
			fw->stat_failed = 0;
			changed = !same_file(&st, &fw->seen);
		}
		if (changed) {
			pthread_mutex_unlock(&fw->mu);
			fw->changed(fw->arg);
			pthread_mutex_lock(&fw->mu);
		}
	}
	pthread_mutex_unlock(&fw->mu);
	return NULL;
}

struct filewatch *
filewatch_start(const char *path, const char *what, int check_ms,
    filewatch_fn changed, void *arg)
{
	pthread_condattr_t cattr;
	struct filewatch *fw;

	if ((fw = calloc(1, sizeof(*fw))) == NULL ||
	    (fw->path = strdup(path)) == NULL ||
	    (fw->what = strdup(what)) == NULL)
		goto fail;
	fw->check_ms = check_ms > 0 ? check_ms : 1000;
	fw->changed = changed;
	fw->arg = arg;
	pthread_mutex_init(&fw->mu, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&fw->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	(void)stat(path, &fw->seen);
	if (pthread_create(&fw->thread, NULL, watch, fw) != 0) {
		pthread_cond_destroy(&fw->cond);
		pthread_mutex_destroy(&fw->mu);
		goto fail;
	}
	return fw;
fail:
	if (fw != NULL) {
		free(fw->what);
		free(fw->path);
	}
	free(fw);
	return NULL;
}

void
filewatch_stop(struct filewatch *fw)
{
	if (fw == NULL)
		return;
	pthread_mutex_lock(&fw->mu);
	fw->stop = 1;
	pthread_cond_signal(&fw->cond);
	pthread_mutex_unlock(&fw->mu);
	pthread_join(fw->thread, NULL);
	pthread_cond_destroy(&fw->cond);
	pthread_mutex_destroy(&fw->mu);
	free(fw->what);
	free(fw->path);
	free(fw);
}
