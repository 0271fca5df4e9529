/*
 * standby.c: turning a data directory into the hot standby of a primary,
 * shared by `db init-passive` and `rejoin` (see pair.h): the base backup
 * through the node's replication slot, the node's own files, the standby
 * settings, start, and the checks that tell the operator it worked.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "pair.h"
#include "pgconf.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

/* How long init-passive and rejoin wait for the standby to stream. */
#define STREAM_WAIT_MS	15000

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0) {
		log_errx("could not remove \"%s\": %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

int
standby_remove_tree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

static int
make_datadir(const struct pair *p, const char *dir)
{
	char path[PATH_MAX], err[512], *s;
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	for (s = path + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0750) == 0) {
			if (pgx_chown(&p->pgx, path, err, sizeof(err)) != 0) {
				log_errx("%s", err);
				return -1;
			}
		} else if (errno != EEXIST) {
			log_errx("could not create \"%s\": "
			    "%s", path, strerror(errno));
			return -1;
		}
		*s = '/';
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_errx("could not create \"%s\": %s",
		    dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_errx("\"%s\" is not a directory", dir);
		return -1;
	}
	if (chmod(dir, 0700) != 0 || pgx_chown(&p->pgx, dir, err,
	    sizeof(err)) != 0) {
		log_errx("could not give \"%s\" to %s "
		    "(mode 0700)", dir, p->pgx.user);
		return -1;
	}
	if (!pgx_can(&p->pgx, dir, W_OK | X_OK)) {
		log_errx("user %s cannot reach \"%s\": make "
		    "every directory above it searchable by %s (chmod o+x)",
		    p->pgx.user, dir, p->pgx.user);
		return -1;
	}
	return 0;
}

/* Is dir missing or an empty directory? */
static int
empty_or_missing(const char *dir)
{
	struct dirent *de;
	int empty = 1;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

int
standby_prepare_dir(const struct pair *p, const char *dir)
{
	if (!empty_or_missing(dir)) {
		log_errx("\"%s\" exists and is not an "
		    "empty directory: refusing to touch it", dir);
		return -1;
	}
	return make_datadir(p, dir);
}

int
standby_basebackup(struct pair *p, const struct pair_opts *o,
    const struct pg_addr *src, const char *datadir)
{
	struct pgconf_node n;
	struct pgx_secret sec;
	const char *env[2] = { NULL, NULL };
	struct pga *c;
	char err[512], out[4096], from[320], *conninfo = NULL;
	long long t0;
	int created, rc, made = 0;

	if (!empty_or_missing(datadir)) {
		log_errx("\"%s\" exists and is not an "
		    "empty directory: refusing to touch it", datadir);
		return -1;
	}
	if ((c = pair_connect_repl(p, src, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		log_errx("the active's database does not "
		    "answer: %s", err);
		return -1;
	}
	if (pga_slot_ensure(c, p->slot, &created, err, sizeof(err)) != 0) {
		log_errx("could not create replication "
		    "slot \"%s\": %s", p->slot, err);
		pga_close(c);
		return -1;
	}
	pga_close(c);
	printf("%s replication slot \"%s\" on %s:%s\n", created ? "created" :
	    "reusing", p->slot, src->host, src->port);
	if (standby_prepare_dir(p, datadir) != 0)
		return -1;
	made = 1;
	if (pgx_secret_new(&p->pgx, p->repl_user, (const char *)p->pw->data,
	    &sec, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		goto fail;
	}
	env[0] = sec.env;
	memset(&n, 0, sizeof(n));
	n.ssl_cert = o->pg_cert;
	n.ssl_ca = o->pg_ca;
	if ((conninfo = pgconf_conninfo(&n, src, p->repl_user, NULL, p->slot,
	    NULL)) == NULL) {
		pgx_secret_free(&sec);
		log_errx("out of memory");
		goto fail;
	}
	t0 = pgx_now_ms();
	{
		const char *argv[] = { "pg_basebackup", "-D", datadir, "-d",
		    conninfo, "-X", "stream", "-S", p->slot, "-c", "fast", "-w",
		    "-l", p->cfg->node_name, NULL };

		rc = pgx_run(&p->pgx, o->timeout_s, env, out, sizeof(out), argv);
	}
	pgx_secret_free(&sec);
	free(conninfo);
	if (rc != 0) {
		snprintf(from, sizeof(from), "from %s:%s", src->host,
		    src->port);
		pgx_report("pg_basebackup", from, rc, o->timeout_s,
		    out);
		goto fail;
	}
	printf("base backup from %s:%s into %s (%.1f s)\n", src->host,
	    src->port, datadir, (double)(pgx_now_ms() - t0) / 1000);
	return 0;
fail:
	if (made && standby_remove_tree(datadir) == 0)
		printf("removed the incomplete \"%s\"\n", datadir);
	return -1;
}

/* Wait for the local standby's WAL receiver to stream.  1, 0, -1. */
static int
wait_streaming(const struct pair *p, char *status, size_t slen, char *err,
    size_t errlen)
{
	long long end = pgx_now_ms() + STREAM_WAIT_MS;
	char sender[256];
	struct pga *c = NULL;
	int rc = 0;

	*status = '\0';
	while (pgx_now_ms() < end) {
		if (c == NULL)
			c = pair_connect(p, &p->local, NULL, PAIR_DB_TIMEOUT_S,
			    err, errlen);
		if (c != NULL) {
			if (pga_receiver(c, status, slen, sender, sizeof(sender),
			    err, errlen) != 0) {
				pga_close(c);
				c = NULL;
			} else if (strcmp(status, "streaming") == 0) {
				rc = 1;
				break;
			}
		}
		usleep(100 * 1000);
	}
	if (rc == 0 && c == NULL)
		rc = -1;
	pga_close(c);
	return rc;
}

int
standby_finish(struct pair *p, const struct pair_opts *o,
    const struct pg_addr *src, const char *datadir, const char *cmd)
{
	struct pgconf_node n;
	char err[2048], logfile[PATH_MAX + 8],
	    sockdir[PATH_MAX + 8], status[32];
	long long t0;
	int started, rc;

	memset(&n, 0, sizeof(n));
	n.command = cmd;
	n.datadir = datadir;
	n.pair = p;
	n.ssl_cert = o->pg_cert;
	n.ssl_key = o->pg_key;
	n.ssl_ca = o->pg_ca;
	if (pgconf_write_node(&n, err, sizeof(err)) != 0 ||
	    pgconf_write_standby(&n, src, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	printf("wrote this node's settings (keyward-node.conf: listen %s, port "
	    "%s%s; pg_hba.conf; pg_ident.conf) and the standby settings "
	    "(standby.signal; primary_conninfo host=%s port=%s "
	    "application_name=%s; primary_slot_name=%s)\n", p->local.host,
	    p->local.port, o->pg_cert != NULL ? ", TLS on" : "", src->host,
	    src->port, p->slot, p->slot);
	pair_logfile(datadir, logfile, sizeof(logfile));
	pair_sockdir(datadir, sockdir, sizeof(sockdir));
	t0 = pgx_now_ms();
	if (pgx_start(&p->pgx, datadir, logfile, sockdir, &started, err,
	    sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	printf("%s PostgreSQL as a hot standby (%.1f s); log: %s\n",
	    started ? "started" : "already running:", (double)(pgx_now_ms() -
	    t0) / 1000, logfile);
	rc = wait_streaming(p, status, sizeof(status), err, sizeof(err));
	if (rc != 1) {
		log_errx("the standby is not streaming from "
		    "%s:%s after %d s (WAL receiver: %s)%s%s; see %s",
		    src->host, src->port, STREAM_WAIT_MS / 1000,
		    *status ? status : "none", rc < 0 ? ": " : "",
		    rc < 0 ? err : "", logfile);
		return -1;
	}
	printf("streaming from %s:%s (%.1f s after start)\n", src->host,
	    src->port, (double)(pgx_now_ms() - t0) / 1000);
	if (admin_kek_verify(p->cfg, (const char *)p->pw->data) != 0)
		return -1;
	return 0;
}
