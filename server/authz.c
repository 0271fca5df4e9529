/*
 * authz.c: the rules in force behind a writer-preferring read/write lock,
 * and the thread that reloads the file when it changes.
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "../lib/clock.h"
#include "../lib/log.h"

struct authz {
	pthread_rwlock_t lock;		/* guards acls */
	struct acls	*acls;
	char		*path;
	int		 check_ms;

	pthread_mutex_t	 mu;		/* guards what follows */
	pthread_cond_t	 cond;
	int		 stop;
	struct stat	 seen;		/* the file as last loaded or tried */
	int		 stat_failed;	/* logged that it cannot be seen */
	pthread_t	 thread;
	int		 started;
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

int
authz_reload(struct authz *az)
{
	struct acls *na, *old;
	struct stat st;
	char err[512];

	/* note the file before reading it: a change made while we read is
	 * seen again on the next check */
	pthread_mutex_lock(&az->mu);
	if (stat(az->path, &st) == 0)
		az->seen = st;
	pthread_mutex_unlock(&az->mu);
	if ((na = acls_load(az->path, err, sizeof(err))) == NULL) {
		log_warnx("access control file not reloaded, keeping the rules "
		    "in force: %s", err);
		return -1;
	}
	pthread_rwlock_wrlock(&az->lock);
	old = az->acls;
	az->acls = na;
	pthread_rwlock_unlock(&az->lock);
	acls_free(old);
	log_info("access control rules reloaded from \"%s\"", az->path);
	return 0;
}

static void *
watch(void *arg)
{
	struct authz *az = arg;
	struct timespec ts;
	struct stat st;
	int changed;

	pthread_mutex_lock(&az->mu);
	while (!az->stop) {
		clock_deadline(&ts, az->check_ms);
		pthread_cond_timedwait(&az->cond, &az->mu, &ts);
		if (az->stop)
			break;
		changed = 0;
		if (stat(az->path, &st) != 0) {
			if (!az->stat_failed)
				log_warn("access control file \"%s\" cannot be "
				    "read, keeping the rules in force",
				    az->path);
			az->stat_failed = 1;
		} else {
			az->stat_failed = 0;
			changed = !same_file(&st, &az->seen);
		}
		if (changed) {
			pthread_mutex_unlock(&az->mu);
			(void)authz_reload(az);
			pthread_mutex_lock(&az->mu);
		}
	}
	pthread_mutex_unlock(&az->mu);
	return NULL;
}

struct authz *
authz_new(const char *path, int check_ms, char *err, size_t errlen)
{
	pthread_rwlockattr_t attr;
	pthread_condattr_t cattr;
	struct authz *az;

	if ((az = calloc(1, sizeof(*az))) == NULL ||
	    (az->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(az);
		return NULL;
	}
	az->check_ms = check_ms > 0 ? check_ms : 1000;
	/* a steady stream of readers must not keep a reload out */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&az->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&az->mu, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&az->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	(void)stat(path, &az->seen);
	if ((az->acls = acls_load(path, err, errlen)) == NULL) {
		authz_free(az);
		return NULL;
	}
	if (pthread_create(&az->thread, NULL, watch, az) != 0) {
		snprintf(err, errlen, "could not start the access control "
		    "file watcher");
		authz_free(az);
		return NULL;
	}
	az->started = 1;
	return az;
}

void
authz_free(struct authz *az)
{
	if (az == NULL)
		return;
	if (az->started) {
		pthread_mutex_lock(&az->mu);
		az->stop = 1;
		pthread_cond_signal(&az->cond);
		pthread_mutex_unlock(&az->mu);
		pthread_join(az->thread, NULL);
	}
	acls_free(az->acls);
	pthread_rwlock_destroy(&az->lock);
	pthread_mutex_destroy(&az->mu);
	pthread_cond_destroy(&az->cond);
	free(az->path);
	free(az);
}

const struct acls *
authz_hold(struct authz *az)
{
	pthread_rwlock_rdlock(&az->lock);
	return az->acls;
}

void
authz_release(struct authz *az)
{
	pthread_rwlock_unlock(&az->lock);
}
