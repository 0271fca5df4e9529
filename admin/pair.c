/*
 * pair.c: the context keyward-admin's pair commands share (pair.h):
 * config, password, the two databases' addresses and connections.
 */
#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "admin.h"
#include "pair.h"
#include "../db/db.h"
#include "../db/pgadmin.h"
#include "../lib/secfile.h"
#include "../lib/log.h"

/* An option's file argument made absolute (it must exist). */
static int
abs_file(const char *in, char *out, const char *what)
{
	if (realpath(in, out) == NULL) {
		log_errx("%s \"%s\": %s", what, in,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
pair_getopt(int argc, char **argv, const char *cmd, unsigned allowed,
    unsigned required, struct pair_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "datadir", required_argument, NULL, 'D' },
		{ "from", required_argument, NULL, 'F' },
		{ "pg-cert", required_argument, NULL, 'C' },
		{ "pg-key", required_argument, NULL, 'K' },
		{ "pg-ca", required_argument, NULL, 'A' },
		{ "force", no_argument, NULL, 'f' },
		{ "fresh", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { int ch; unsigned bit; const char *name; } need[] = {
		{ 'u', PO_USER, "--user" }, { 'D', PO_DATADIR, "--datadir" },
		{ 'F', PO_FROM, "--from" }, { 'C', PO_TLS, "--pg-cert" },
		{ 'K', PO_TLS, "--pg-key" }, { 'A', PO_TLS, "--pg-ca" },
		{ 'f', PO_FORCE, "--force" }, { 'r', PO_FRESH, "--fresh" },
		{ 'j', PO_JSON, "--json" }, { 't', PO_TIMEOUT, "--timeout" },
		{ 'P', PO_PASS, "--passphrase-file" },
	};
	size_t i;
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	o->config = ADMIN_DEFAULT_CONFIG;
	o->user = "keyward";
	o->timeout_s = 600;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:D:hf", longopts, NULL)) != -1) {
		if (ch == 'h') {
			admin_usage(cmd);
			return 1;
		}
		for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
			if (need[i].ch != ch)
				continue;
			if (!(allowed & need[i].bit)) {
				log_errx("%s takes no %s",
				    cmd, need[i].name);
				goto usage;
			}
		}
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'u': o->user = optarg; break;
		case 'D': o->datadir = optarg; break;
		case 'F': o->from = optarg; break;
		case 'C': o->pg_cert = optarg; break;
		case 'K': o->pg_key = optarg; break;
		case 'A': o->pg_ca = optarg; break;
		case 'f': o->force = 1; break;
		case 'r': o->fresh = 1; break;
		case 'j': o->json = 1; break;
		case 'P': o->pass_file = optarg; break;
		case 't':
			o->timeout_s = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->timeout_s < 10 ||
			    o->timeout_s > 86400) {
				log_errx("--timeout takes "
				    "seconds, 10 to 86400");
				goto usage;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc) {
		log_errx("%s: unexpected argument \"%s\"",
		    cmd, argv[optind]);
		goto usage;
	}
	if ((required & PO_DATADIR) && o->datadir == NULL) {
		log_errx("%s needs --datadir DIR", cmd);
		goto usage;
	}
	if ((required & PO_FROM) && o->from == NULL) {
		log_errx("%s needs --from HOST:PORT", cmd);
		goto usage;
	}
	if ((o->pg_cert == NULL) != (o->pg_key == NULL) ||
	    (o->pg_ca != NULL && o->pg_cert == NULL)) {
		log_errx("give --pg-cert and --pg-key "
		    "together (and --pg-ca only with them)");
		goto usage;
	}
	if (o->pg_cert != NULL) {
		if (abs_file(o->pg_cert, o->buf[0], "database TLS certificate") != 0 ||
		    abs_file(o->pg_key, o->buf[1], "database TLS key") != 0 ||
		    (o->pg_ca != NULL && abs_file(o->pg_ca, o->buf[2],
		    "database TLS CA") != 0))
			return -1;
		o->pg_cert = o->buf[0];
		o->pg_key = o->buf[1];
		o->pg_ca = o->pg_ca != NULL ? o->buf[2] : NULL;
	}
	return 0;
usage:
	admin_usage(cmd);
	return -1;
}

/* pg_addr_conninfo, with a Unix socket directory as host when socket. */
static int
addr_parse(const char *conninfo, int socket, struct pg_addr *out, char *err,
    size_t errlen)
{
	PQconninfoOption *opts, *o;
	char *perr = NULL;
	const char *host = "", *hostaddr = "", *port = "", *user = "",
	    *dbname = "";

	memset(out, 0, sizeof(*out));
	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		snprintf(err, errlen, "bad connection string \"%s\": %s",
		    conninfo, perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	if (*hostaddr != '\0')
		host = hostaddr;
	if (*host == '\0' || (*host == '/' && !socket) ||
	    strchr(host, ',') != NULL || strchr(port, ',') != NULL) {
		snprintf(err, errlen, "connection string \"%s\" must name one "
		    "TCP host (host=ADDRESS port=PORT): the pair's databases "
		    "replicate over TCP", conninfo);
		PQconninfoFree(opts);
		return -1;
	}
	snprintf(out->host, sizeof(out->host), "%s", host);
	snprintf(out->port, sizeof(out->port), "%s", *port != '\0' ? port :
	    "5432");
	snprintf(out->user, sizeof(out->user), "%s", *user != '\0' ? user :
	    "keyward");
	snprintf(out->dbname, sizeof(out->dbname), "%s", *dbname != '\0' ?
	    dbname : out->user);
	PQconninfoFree(opts);
	return 0;
}

int
pg_addr_conninfo(const char *conninfo, struct pg_addr *out, char *err,
    size_t errlen)
{
	return addr_parse(conninfo, 0, out, err, errlen);
}

int
pg_addr_hostport(const char *hp, const struct pg_addr *dflt,
    struct pg_addr *out, char *err, size_t errlen)
{
	const char *colon, *host = hp;
	size_t hlen;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (*hp == '[') {
		host = hp + 1;
		if ((colon = strstr(hp, "]:")) == NULL)
			goto bad;
		hlen = (size_t)(colon - host);
		colon++;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - hp);
	}
	port = strtol(colon + 1, &end, 10);
	if (hlen == 0 || hlen >= sizeof(out->host) || *end != '\0' ||
	    colon[1] == '\0' || port < 1 || port > 65535)
		goto bad;
	memcpy(out->host, host, hlen);
	snprintf(out->port, sizeof(out->port), "%ld", port);
	snprintf(out->user, sizeof(out->user), "%s", dflt->user);
	snprintf(out->dbname, sizeof(out->dbname), "%s", dflt->dbname);
	return 0;
bad:
	snprintf(err, errlen, "\"%s\" is not HOST:PORT", hp);
	return -1;
}

int
pg_addr_same(const struct pg_addr *a, const struct pg_addr *b)
{
	return strcmp(a->host, b->host) == 0 && strcmp(a->port, b->port) == 0;
}

void
pair_slot_name(const char *node, char *out, size_t len)
{
	size_t i, o = 0;
	char ch;

	for (i = 0; node[i] != '\0' && o + 1 < len && o < 63; i++) {
		ch = node[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '_';
		out[o++] = ch;
	}
	if (o == 0 && len > 8)
		o = (size_t)snprintf(out, len, "keyward");
	out[o] = '\0';
}

/* Read the database password: first line of the file, secret checks. */
static int
read_password(struct pair *p)
{
	char err[512];

	if (p->cfg->db_password_file[0] == '\0') {
		log_errx("%s: [db] password_file is "
		    "empty: the pair's databases authenticate with a password "
		    "(scram-sha-256)", p->cfg->path);
		return -1;
	}
	p->pw = secfile_read_password(p->cfg->db_password_file, err,
	    sizeof(err));
	if (p->pw == NULL) {
		log_errx("%s", err);
		return -1;
	}
	if (p->pw->len == 0) {
		log_errx("database password file \"%s\" "
		    "is empty", p->cfg->db_password_file);
		return -1;
	}
	return 0;
}

int
pair_open(struct pair *p, const char *path)
{
	char err[512];

	memset(p, 0, sizeof(*p));
	if ((p->cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		return -1;
	}
	if (pg_addr_conninfo(p->cfg->db_local, &p->local, err,
	    sizeof(err)) != 0) {
		log_errx("%s: [db] local: %s", path, err);
		return -1;
	}
	if (p->cfg->db_peer[0] != '\0' && pg_addr_conninfo(p->cfg->db_peer,
	    &p->peer, err, sizeof(err)) != 0) {
		log_errx("%s: [db] peer: %s", path, err);
		return -1;
	}
	if (p->peer.host[0] != '\0' && pg_addr_same(&p->local, &p->peer)) {
		log_errx("%s: [db] local and peer both "
		    "name %s:%s", path, p->local.host, p->local.port);
		return -1;
	}
	p->legacy = p->cfg->db_admin[0] == '\0';
	if (p->legacy)
		p->super = p->local;
	else if (addr_parse(p->cfg->db_admin, 1, &p->super, err,
	    sizeof(err)) != 0) {
		log_errx("%s: [db] admin: %s", path, err);
		return -1;
	}
	/* a config copied to another host or port must not reach the old */
	if (!p->legacy && strcmp(p->super.port, p->local.port) != 0) {
		log_errx("%s: [db] admin (port %s) and [db] "
		    "local (port %s) must name the same database", path,
		    p->super.port, p->local.port);
		return -1;
	}
	snprintf(p->repl_user, sizeof(p->repl_user), "%s", p->legacy ?
	    p->local.user : DB_ROLE_REPL);
	pair_slot_name(p->cfg->node_name, p->slot, sizeof(p->slot));
	return read_password(p);
}

int
pair_pg(struct pair *p, const char *user)
{
	char err[512];

	if (pgx_init(&p->pgx, user, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	return 0;
}

void
pair_close(struct pair *p)
{
	secbuf_free(p->pw);
	config_free(p->cfg);
	memset(p, 0, sizeof(*p));
}

struct pga *
pair_connect(const struct pair *p, const struct pg_addr *a,
    const char *dbname, int timeout_s, char *err, size_t errlen)
{
	return pga_connect(a->host, a->port, a->user,
	    dbname != NULL ? dbname : a->dbname,
	    p->pw != NULL ? (const char *)p->pw->data : NULL, timeout_s, err,
	    errlen);
}

struct pga *
pair_connect_super(const struct pair *p, const char *dbname, int timeout_s,
    char *err, size_t errlen)
{
	if (p->legacy && (strcmp(p->local.user, DB_ROLE_SERVER) == 0 ||
	    strcmp(p->local.user, DB_ROLE_REPL) == 0)) {
		snprintf(err, errlen, "%s: [db] local names the role %s and "
		    "there is no [db] admin: name the database superuser over "
		    "this node's Unix socket there (host=DATADIR.sock port=%s "
		    "dbname=%s user=keyward)", p->cfg->path, p->local.user,
		    p->local.port, p->local.dbname);
		return NULL;
	}
	return pga_connect(p->super.host, p->super.port, p->super.user,
	    dbname != NULL ? dbname : p->super.dbname,
	    p->pw != NULL ? (const char *)p->pw->data : NULL, timeout_s, err,
	    errlen);
}

struct pga *
pair_connect_repl(const struct pair *p, const struct pg_addr *a,
    int timeout_s, char *err, size_t errlen)
{
	return pga_connect(a->host, a->port, p->repl_user, a->dbname,
	    p->pw != NULL ? (const char *)p->pw->data : NULL, timeout_s, err,
	    errlen);
}

enum pair_role
pair_role(const struct pair *p, const struct pg_addr *a, int timeout_s,
    char *err, size_t errlen)
{
	struct pga *c;
	int rec;

	if ((c = pair_connect(p, a, NULL, timeout_s, err, errlen)) == NULL)
		return PAIR_DOWN;
	if (pga_in_recovery(c, &rec, err, errlen) != 0) {
		pga_close(c);
		return PAIR_DOWN;
	}
	pga_close(c);
	return rec ? PAIR_STANDBY : PAIR_PRIMARY;
}

int
pair_abs_dir(const char *in, char *out, size_t len)
{
	char cwd[PATH_MAX];
	size_t n;
	int w;

	if (*in == '\0') {
		log_errx("empty data directory path");
		return -1;
	}
	if (*in == '/') {
		w = snprintf(out, len, "%s", in);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			log_errx("getcwd: %s",
			    strerror(errno));
			return -1;
		}
		w = snprintf(out, len, "%s/%s", cwd, in);
	}
	if (w < 0 || (size_t)w >= len) {
		log_errx("path too long: %s", in);
		return -1;
	}
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

int
pair_exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

int
pair_has_cluster(const char *dir)
{
	return pair_exists(dir, "PG_VERSION");
}

void
pair_sockdir(const char *datadir, char *out, size_t len)
{
	snprintf(out, len, "%s.sock", datadir);
}

void
pair_logfile(const char *datadir, char *out, size_t len)
{
	snprintf(out, len, "%s.log", datadir);
}

int
pair_wait_standby(const struct pair *p, const struct pg_addr *a,
    int want_sync, int wait_ms, struct pga_standby *st, char *err,
    size_t errlen)
{
	long long end = pgx_now_ms() + wait_ms;
	struct pga_standby rows[4];
	struct pga *c;
	int n = 0, i;

	memset(st, 0, sizeof(*st));
	if ((c = pair_connect(p, a, NULL, PAIR_DB_TIMEOUT_S, err,
	    errlen)) == NULL)
		return -1;
	for (;;) {
		if (pga_standbys(c, rows, 4, &n, err, errlen) != 0) {
			pga_close(c);
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(rows[i].state, "streaming") != 0)
				continue;
			if (want_sync && strcmp(rows[i].sync_state, "sync") != 0)
				continue;
			*st = rows[i];
			pga_close(c);
			return 1;
		}
		if (pgx_now_ms() >= end)
			break;
		usleep(100 * 1000);
	}
	if (n > 0)
		*st = rows[0];
	pga_close(c);
	return 0;
}
