/*
 * drift.c: publishing this node's configuration fingerprints and
 * comparing them with the peer's (drift.h).
 *
 * The ACL fingerprint hashes the file's text byte for byte (lib/acl
 * keeps the SHA-256 of what it parsed), not the parsed rules: both nodes
 * are meant to hold the same file, copied by the same tool, and a hash of
 * the bytes is what an operator can check with sha256sum.  A comment
 * that differs therefore counts as drift.
 *
 * Not here: the table (db/nodeconf.c), when the monitor runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "drift.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/version.h"

/* How often the peer's row is read (and a failed publish retried). */
#define DRIFT_READ_MS	1000

struct drift {
	struct db		*db;
	struct authz		*az;
	char			 peer_name[64];
	pthread_mutex_t		 mu;	/* guards st */
	struct drift_state	 st;
	int64_t			 next_ms;	/* next read, monitor only */
	int			 put_failed;	/* monitor only: logged */
};

static void
hex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

struct drift *
drift_new(struct db *db, struct authz *az, const char *node,
    const char *peer, const char *cookie_hmac, int schema_version)
{
	struct drift *d;
	struct db_nodeconf *s;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->db = db;
	d->az = az;
	snprintf(d->peer_name, sizeof(d->peer_name), "%s",
	    peer != NULL ? peer : "");
	s = &d->st.self;
	snprintf(s->node, sizeof(s->node), "%s", node);
	snprintf(s->cookie_hmac, sizeof(s->cookie_hmac), "%s", cookie_hmac);
	snprintf(s->version, sizeof(s->version), "%s", KW_VERSION);
	s->schema_version = schema_version;
	pthread_mutex_init(&d->mu, NULL);
	return d;
}

void
drift_free(struct drift *d)
{
	if (d == NULL)
		return;
	pthread_mutex_destroy(&d->mu);
	free(d);
}

size_t
drift_compare(const struct db_nodeconf *self, const struct db_nodeconf *peer,
    const char *peer_name, char what[DRIFT_MAX][DRIFT_MSG])
{
	size_t n = 0;

	if (strcmp(self->acl_sha256, peer->acl_sha256) != 0)
		snprintf(what[n++], DRIFT_MSG, "acls.conf differs from %s's",
		    peer_name);
	if (strcmp(self->cookie_hmac, peer->cookie_hmac) != 0)
		snprintf(what[n++], DRIFT_MSG, "%s", self->cookie_hmac[0] ==
		    '\0' ? "this node has no cookie secret, its peer has one" :
		    peer->cookie_hmac[0] == '\0' ? "this node has a cookie "
		    "secret, its peer has none" : "cookie secret differs from "
		    "the peer's");
	if (strcmp(self->version, peer->version) != 0)
		snprintf(what[n++], DRIFT_MSG, "version %.30s differs from "
		    "%s's %.30s", self->version, peer_name, peer->version);
	if (self->schema_version != peer->schema_version)
		snprintf(what[n++], DRIFT_MSG, "schema version %d differs from "
		    "%s's %d", self->schema_version, peer_name,
		    peer->schema_version);
	return n;
}

/* The ACL fingerprint in force into self; 1 when it changed. */
static int
refresh_acl(struct drift *d)
{
	char acl[65];
	int changed;

	hex(acl, acls_sha256(authz_hold(d->az)), 32);
	authz_release(d->az);
	pthread_mutex_lock(&d->mu);
	changed = strcmp(acl, d->st.self.acl_sha256) != 0;
	if (changed) {
		memcpy(d->st.self.acl_sha256, acl, sizeof(acl));
		d->st.published = 0;
	}
	pthread_mutex_unlock(&d->mu);
	return changed;
}

/* Publish self (when writes go through now); log a failure once. */
static void
publish(struct drift *d)
{
	struct db_nodeconf self;
	enum kw_err rc;

	pthread_mutex_lock(&d->mu);
	self = d->st.self;
	pthread_mutex_unlock(&d->mu);
	if ((rc = db_nodeconf_put(d->db, &self)) != KW_OK) {
		if (!d->put_failed)
			log_warnx("drift: configuration fingerprints of %s not "
			    "published (%s), retrying", self.node,
			    rc == KW_EUNAVAIL ? "the pair takes no writes" :
			    rc == KW_ENOTACK ? "not acknowledged" :
			    "database error");
		d->put_failed = 1;
		return;
	}
	if (d->put_failed)
		log_info("drift: configuration fingerprints of %s published",
		    self.node);
	d->put_failed = 0;
	pthread_mutex_lock(&d->mu);
	/* unless the ACLs changed meanwhile */
	if (strcmp(self.acl_sha256, d->st.self.acl_sha256) == 0)
		d->st.published = 1;
	pthread_mutex_unlock(&d->mu);
}

void
drift_tick(struct drift *d, int writable)
{
	struct db_nodeconf peer;
	struct drift_state *s = &d->st;
	char what[DRIFT_MAX][DRIFT_MSG];
	int64_t now = clock_mono_ms();
	int changed, published, moved = 0;
	enum kw_err rc;
	size_t n = 0, i;

	changed = refresh_acl(d);
	pthread_mutex_lock(&d->mu);
	published = s->published;
	pthread_mutex_unlock(&d->mu);
	if (!changed && now < d->next_ms)
		return;
	d->next_ms = now + DRIFT_READ_MS;
	if (!published && writable)
		publish(d);
	if (d->peer_name[0] == '\0')
		return;
	rc = db_nodeconf_get(d->db, d->peer_name, &peer);
	if (rc != KW_OK && rc != KW_ENOTFOUND)
		return;		/* keep what was last read */
	pthread_mutex_lock(&d->mu);
	s->have_peer = rc == KW_OK;
	if (s->have_peer) {
		s->peer = peer;
		n = drift_compare(&s->self, &peer, d->peer_name, what);
	}
	moved = n != s->n;
	for (i = 0; i < n; i++) {
		if (strcmp(what[i], s->what[i]) != 0)
			moved = 1;
		memcpy(s->what[i], what[i], DRIFT_MSG);
	}
	s->n = n;
	pthread_mutex_unlock(&d->mu);
	/* log when the differences change, not at every read */
	if (moved) {
		for (i = 0; i < n; i++)
			log_warnx("drift: %s", what[i]);
		if (n == 0)
			log_info("drift: configuration matches %s's",
			    d->peer_name);
	}
}

void
drift_view(struct drift *d, struct drift_state *out)
{
	pthread_mutex_lock(&d->mu);
	*out = d->st;
	pthread_mutex_unlock(&d->mu);
}
