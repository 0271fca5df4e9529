/*
 * authz.c: the rules in force behind a writer-preferring read/write lock;
 * filewatch.c notices when the file changes.
 */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "filewatch.h"
#include "metrics.h"
#include "../lib/log.h"

struct authz {
	pthread_rwlock_t lock;		/* guards acls */
	struct acls	*acls;
	char		*path;
	struct filewatch *fw;
};

int
authz_reload(struct authz *az)
{
	struct acls *na, *old;
	char err[512];

	filewatch_note(az->fw);
	if ((na = acls_load(az->path, err, sizeof(err))) == NULL) {
		log_warnx("access control file not reloaded, keeping the rules "
		    "in force: %s", err);
		metrics_inc(MC_ACL_RELOAD_FAILURES);
		return -1;
	}
	pthread_rwlock_wrlock(&az->lock);
	old = az->acls;
	az->acls = na;
	pthread_rwlock_unlock(&az->lock);
	acls_free(old);
	metrics_inc(MC_ACL_RELOADS);
	log_info("access control rules reloaded from \"%s\"", az->path);
	return 0;
}

static void
changed(void *arg)
{
	(void)authz_reload(arg);
}

struct authz *
authz_new(const char *path, int check_ms, char *err, size_t errlen)
{
	struct authz *az;
	struct acls *na;

	if ((az = calloc(1, sizeof(*az))) == NULL ||
	    (az->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(az);
		return NULL;
	}
	filewatch_lock_init(&az->lock);
	/* the file is noted before it is read, as in authz_reload */
	if ((az->fw = filewatch_start(path, "access control file", check_ms,
	    changed, az)) == NULL) {
		snprintf(err, errlen, "could not start the access control "
		    "file watcher");
		authz_free(az);
		return NULL;
	}
	if ((na = acls_load(path, err, errlen)) == NULL) {
		authz_free(az);
		return NULL;
	}
	/* unless the watcher was quicker */
	pthread_rwlock_wrlock(&az->lock);
	if (az->acls == NULL) {
		az->acls = na;
		na = NULL;
	}
	pthread_rwlock_unlock(&az->lock);
	acls_free(na);
	return az;
}

void
authz_free(struct authz *az)
{
	if (az == NULL)
		return;
	filewatch_stop(az->fw);
	acls_free(az->acls);
	pthread_rwlock_destroy(&az->lock);
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
