/*
 * pgconf.c: PostgreSQL files of a keyward node, from the templates in db/
 * (see pgconf.h).  Owns rendering, quoting and the atomic writes; the
 * commands decide when each file is written.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgconf.h"
#include "../lib/files.h"
#include "../lib/secbuf.h"

/* Unix socket paths are limited to 107 bytes; PostgreSQL adds 18. */
#define SOCK_MAX	107
#define NODE_CONF	"keyward-node.conf"
#define PASSFILE	"keyward.pgpass"

/* A growing string. */
struct sbuf {
	char	*s;
	size_t	 len, cap;
	int	 oom;
};

static void
sb_add(struct sbuf *b, const char *p, size_t n)
{
	char *t;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((t = realloc(b->s, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* The string, or NULL (freed) when an allocation failed. */
static char *
sb_done(struct sbuf *b)
{
	if (b->oom || b->s == NULL) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

char *
pgconf_render(const char *name, const char *const *vars, char *err,
    size_t errlen)
{
	const char *text = NULL, *p, *q, *val;
	struct sbuf b = { NULL, 0, 0, 0 };
	size_t i, klen;
	char *out;

	for (i = 0; i < pgconf_ntemplates; i++)
		if (strcmp(pgconf_templates[i].name, name) == 0)
			text = pgconf_templates[i].text;
	if (text == NULL) {
		snprintf(err, errlen, "no template \"%s\" in this build", name);
		return NULL;
	}
	for (p = text; *p != '\0'; p = q) {
		/* a placeholder is @[A-Z][A-Z_]*@; any other @ is text */
		if (*p == '@' && p[1] >= 'A' && p[1] <= 'Z') {
			for (q = p + 1; (*q >= 'A' && *q <= 'Z') || *q == '_'; q++)
				;
			if (*q == '@') {
				klen = (size_t)(q - p - 1);
				val = NULL;
				for (i = 0; vars != NULL && vars[i] != NULL;
				    i += 2)
					if (strlen(vars[i]) == klen &&
					    strncmp(vars[i], p + 1, klen) == 0)
						val = vars[i + 1];
				if (val == NULL) {
					snprintf(err, errlen, "template %s: no "
					    "value for @%.*s@", name, (int)klen,
					    p + 1);
					free(b.s);
					return NULL;
				}
				sb_str(&b, val);
				q++;
				continue;
			}
		}
		for (q = p + 1; *q != '\0' && *q != '@'; q++)
			;
		sb_add(&b, p, (size_t)(q - p));
	}
	if ((out = sb_done(&b)) == NULL)
		snprintf(err, errlen, "out of memory");
	return out;
}

/* 'value' with quotes doubled, as postgresql.conf wants it. */
static void
sb_conf_quoted(struct sbuf *b, const char *v)
{
	sb_str(b, "'");
	for (; *v != '\0'; v++) {
		if (*v == '\'')
			sb_str(b, "''");
		else
			sb_add(b, v, 1);
	}
	sb_str(b, "'");
}

static char *
conf_quote(const char *v)
{
	struct sbuf b = { NULL, 0, 0, 0 };

	sb_conf_quoted(&b, v);
	return sb_done(&b);
}

/* key=value for a libpq connection string, quoted when it must be. */
static void
sb_conninfo_kv(struct sbuf *b, const char *key, const char *v)
{
	int quote = *v == '\0' || strpbrk(v, " \t\n'\\") != NULL;

	if (b->len > 0)
		sb_str(b, " ");
	sb_str(b, key);
	sb_str(b, quote ? "='" : "=");
	for (; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			sb_str(b, "\\");
		sb_add(b, v, 1);
	}
	if (quote)
		sb_str(b, "'");
}

char *
pgconf_conninfo(const struct pgconf_node *n, const struct pg_addr *a,
    const char *user, const char *dbname, const char *app,
    const char *passfile)
{
	struct sbuf ci = { NULL, 0, 0, 0 };

	sb_conninfo_kv(&ci, "host", a->host);
	sb_conninfo_kv(&ci, "port", a->port);
	sb_conninfo_kv(&ci, "user", user);
	if (dbname != NULL)
		sb_conninfo_kv(&ci, "dbname", dbname);
	if (passfile != NULL)
		sb_conninfo_kv(&ci, "passfile", passfile);
	if (app != NULL)
		sb_conninfo_kv(&ci, "application_name", app);
	sb_conninfo_kv(&ci, "connect_timeout", "5");
	sb_conninfo_kv(&ci, "keepalives_idle", "10");
	sb_conninfo_kv(&ci, "keepalives_interval", "5");
	sb_conninfo_kv(&ci, "keepalives_count", "3");
	if (n->ssl_ca != NULL) {
		sb_conninfo_kv(&ci, "sslmode", "verify-full");
		sb_conninfo_kv(&ci, "sslrootcert", n->ssl_ca);
	} else {
		sb_conninfo_kv(&ci, "sslmode", n->ssl_cert != NULL ? "require" :
		    "prefer");
	}
	return sb_done(&ci);
}

/*
 * Write text to dir/name: temporary file, fsync, rename; mode 0600 and
 * owned by the service user.  0 or -1.
 */
static int
write_file(const struct pgx *x, const char *dir, const char *name,
    const char *text, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "path too long: %s/%s", dir, name);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "could not create \"%s\": %s", tmp,
		    strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "could not write \"%s\": %s", tmp,
			    strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "could not fsync \"%s\": %s", tmp,
		    strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (pgx_chown(x, tmp, err, errlen) != 0)
		goto fail;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "could not rename \"%s\": %s", tmp,
		    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* Render template into dir/name.  0 or -1. */
static int
render_to(const struct pgx *x, const char *dir, const char *name,
    const char *tmpl, const char *const *vars, char *err, size_t errlen)
{
	char *text;
	int rc;

	if ((text = pgconf_render(tmpl, vars, err, errlen)) == NULL)
		return -1;
	rc = write_file(x, dir, name, text, err, errlen);
	free(text);
	return rc;
}

int
pgconf_write_shared(const struct pgx *x, const char *datadir, char *err,
    size_t errlen)
{
	return render_to(x, datadir, "postgresql.conf", "postgresql.conf.in",
	    NULL, err, errlen);
}

/*
 * The pg_hba lines for every address host resolves to: one per (database,
 * user) pair in dbuser ("db", "user", ..., NULL).
 */
static int
hba_lines(struct sbuf *b, const char *type, const char *host,
    const char *const *dbuser, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char addr[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 8], line[256];
	int rc, i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "could not resolve \"%s\" for pg_hba.conf: "
		    "%s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)
			    ai->ai_addr)->sin_addr, addr, sizeof(addr));
			snprintf(cidr, sizeof(cidr), "%s/32", addr);
		} else if (ai->ai_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)
			    ai->ai_addr)->sin6_addr, addr, sizeof(addr));
			snprintf(cidr, sizeof(cidr), "%s/128", addr);
		} else {
			continue;
		}
		snprintf(line, sizeof(line), " %s ", cidr);
		if (b->s != NULL && strstr(b->s, line) != NULL)
			continue;	/* already there */
		for (i = 0; dbuser[i] != NULL; i += 2) {
			snprintf(line, sizeof(line),
			    "%-7s %-12s %-15s %-20s scram-sha-256\n", type,
			    dbuser[i], dbuser[i + 1], cidr);
			sb_str(b, line);
		}
	}
	freeaddrinfo(res);
	return 0;
}

int
pgconf_write_node(const struct pgconf_node *n, char *err, size_t errlen)
{
	const struct pair *p = n->pair;
	const struct pgx *x = &p->pgx;
	struct sbuf ssl = { NULL, 0, 0, 0 }, hosts = { NULL, 0, 0, 0 };
	char *listen = NULL, *sock = NULL, *cluster = NULL, *ssl_s = NULL,
	    *hosts_s = NULL, port[16], sockdir[PATH_MAX + 8];
	const char *type = n->ssl_cert != NULL ? "hostssl" : "host";
	/*
	 * Over TCP: the server's role to the keyward database only, the
	 * replication role to replication and to the keyward database
	 * (pg_rewind and the slot of a rejoin connect there; it may read no
	 * table).  Before the roles (no [db] admin) the superuser did both.
	 */
	const char *roles[] = { p->local.dbname, p->local.user,
	    "replication", p->repl_user, p->local.dbname, p->repl_user, NULL };
	const char *legacy[] = { "all", p->local.user, "replication",
	    p->local.user, NULL };
	const char *const *dbuser = p->legacy ? legacy : roles;
	/* root runs keyward-admin; the service user may use psql */
	char ident_root[160] = "";
	int rc = -1;

	if (n->ssl_cert != NULL) {
		if (!pgx_can(x, n->ssl_cert, R_OK) ||
		    !pgx_can(x, n->ssl_key, R_OK) ||
		    (n->ssl_ca != NULL && !pgx_can(x, n->ssl_ca, R_OK))) {
			snprintf(err, errlen, "user %s cannot read the database "
			    "TLS files (%s, %s%s%s): make them readable by it "
			    "(the key owned by %s, mode 0600)", x->user,
			    n->ssl_cert, n->ssl_key, n->ssl_ca ? ", " : "",
			    n->ssl_ca ? n->ssl_ca : "", x->user);
			return -1;
		}
		sb_str(&ssl, "ssl = on\nssl_min_protocol_version = 'TLSv1.2'\n"
		    "ssl_cert_file = ");
		sb_conf_quoted(&ssl, n->ssl_cert);
		sb_str(&ssl, "\nssl_key_file = ");
		sb_conf_quoted(&ssl, n->ssl_key);
		if (n->ssl_ca != NULL) {
			sb_str(&ssl, "\nssl_ca_file = ");
			sb_conf_quoted(&ssl, n->ssl_ca);
		}
		sb_str(&ssl, "\n");
	} else {
		sb_str(&ssl, "ssl = off\n");
	}
	if (hba_lines(&hosts, type, p->local.host, dbuser, err, errlen) != 0)
		goto out;
	if (p->peer.host[0] != '\0' && hba_lines(&hosts, type, p->peer.host,
	    dbuser, err, errlen) != 0)
		goto out;
	pair_sockdir(n->datadir, sockdir, sizeof(sockdir));
	if (strlen(sockdir) + 18 > SOCK_MAX)
		printf("note: \"%s\" is too long for a Unix socket path: the "
		    "database listens on TCP only\n", n->datadir);
	snprintf(port, sizeof(port), "%s", p->local.port);
	listen = conf_quote(p->local.host);
	sock = conf_quote(strlen(sockdir) + 18 > SOCK_MAX ? "" : sockdir);
	cluster = conf_quote(p->cfg->node_name);
	ssl_s = sb_done(&ssl);
	ssl.s = NULL;
	hosts_s = sb_done(&hosts);
	hosts.s = NULL;
	if (listen == NULL || sock == NULL || cluster == NULL || ssl_s == NULL ||
	    hosts_s == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	{
		const char *node_vars[] = { "COMMAND", n->command, "NODE",
		    p->cfg->node_name, "LISTEN", listen, "PORT", port,
		    "SOCKDIR", sock, "CLUSTER", cluster, "SSL", ssl_s, NULL };
		const char *hba_vars[] = { "NODE", p->cfg->node_name, "DBUSER",
		    p->super.user, "HOSTS", hosts_s, NULL };
		const char *ident_vars[] = { "OSUSER", x->user, "DBUSER",
		    p->super.user, "ROOT", ident_root, NULL };

		if (strcmp(x->user, "root") != 0)
			snprintf(ident_root, sizeof(ident_root),
			    "keyward    root             %s\n", p->super.user);

		if (render_to(x, n->datadir, NODE_CONF, "postgresql.node.conf.in",
		    node_vars, err, errlen) != 0 ||
		    render_to(x, n->datadir, "pg_hba.conf", "pg_hba.conf.in",
		    hba_vars, err, errlen) != 0 ||
		    render_to(x, n->datadir, "pg_ident.conf", "pg_ident.conf.in",
		    ident_vars, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	free(ssl.s);
	free(hosts.s);
	free(listen);
	free(sock);
	free(cluster);
	free(ssl_s);
	free(hosts_s);
	return rc;
}

/* Is line a setting of key (leading blanks, then key, blanks, '=')? */
static int
sets(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key), i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i < k || strncmp(line + i, key, k) != 0)
		return 0;
	for (i += k; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	return i < len && line[i] == '=';
}

int
pgconf_write_standby(const struct pgconf_node *n,
    const struct pg_addr *primary, char *err, size_t errlen)
{
	const struct pair *p = n->pair;
	const struct pgx *x = &p->pgx;
	struct sbuf ac = { NULL, 0, 0, 0 };
	char path[PATH_MAX + 32], *old = NULL, *line = NULL, *cis = NULL, *acs;
	const char *s, *e;
	int rc = -1;

	/* the replication password, for the WAL receiver */
	if ((line = pgx_passfile_line(p->repl_user,
	    (const char *)p->pw->data)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (write_file(x, n->datadir, PASSFILE, line, err, errlen) != 0)
		goto out;

	snprintf(path, sizeof(path), "%s/%s", n->datadir, PASSFILE);
	if ((cis = pgconf_conninfo(n, primary, p->repl_user, NULL, p->slot,
	    path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/* postgresql.auto.conf without old primary_* settings, then ours */
	snprintf(path, sizeof(path), "%s/postgresql.auto.conf", n->datadir);
	if (access(path, F_OK) == 0 &&
	    (old = file_read(path, 1 << 20, NULL, err, errlen)) == NULL)
		goto out;
	if (old == NULL)
		sb_str(&ac, "# Do not edit this file manually!\n"
		    "# It will be overwritten by the ALTER SYSTEM command.\n");
	for (s = old; s != NULL && *s != '\0'; s = e) {
		e = strchr(s, '\n');
		e = e != NULL ? e + 1 : s + strlen(s);
		if (sets(s, (size_t)(e - s), "primary_conninfo") ||
		    sets(s, (size_t)(e - s), "primary_slot_name"))
			continue;
		sb_add(&ac, s, (size_t)(e - s));
		if (e[-1] != '\n')
			sb_str(&ac, "\n");
	}
	sb_str(&ac, "primary_conninfo = ");
	sb_conf_quoted(&ac, cis);
	sb_str(&ac, "\nprimary_slot_name = ");
	sb_conf_quoted(&ac, p->slot);
	sb_str(&ac, "\n");
	if ((acs = sb_done(&ac)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ac.s = NULL;
	rc = write_file(x, n->datadir, "postgresql.auto.conf", acs, err,
	    errlen);
	free(acs);
	if (rc != 0)
		goto out;
	rc = -1;

	snprintf(path, sizeof(path), "%s/recovery.signal", n->datadir);
	unlink(path);
	if (write_file(x, n->datadir, "standby.signal", "", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (line != NULL) {
		secure_wipe(line, strlen(line));
		free(line);
	}
	free(ac.s);
	free(cis);
	free(old);
	return rc;
}

/* The value of setting key in text (a quoted string), malloc'd or NULL. */
static char *
setting(const char *text, const char *key)
{
	const char *s, *e, *q;
	struct sbuf b = { NULL, 0, 0, 0 };

	for (s = text; *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		if ((e = strchr(s, '\n')) == NULL)
			e = s + strlen(s);
		if (!sets(s, (size_t)(e - s), key))
			continue;
		if ((q = memchr(s, '\'', (size_t)(e - s))) == NULL)
			continue;
		for (q++; q < e; q++) {
			if (*q == '\'') {
				if (q + 1 < e && q[1] == '\'') {
					sb_add(&b, q, 1);
					q++;
					continue;
				}
				break;
			}
			sb_add(&b, q, 1);
		}
		if (b.s == NULL)
			return NULL;
		return sb_done(&b);
	}
	return NULL;
}

void
pgconf_read_ssl(const char *datadir, char **cert, char **key, char **ca)
{
	char path[PATH_MAX + 32], err[256], *text;

	*cert = *key = *ca = NULL;
	snprintf(path, sizeof(path), "%s/%s", datadir, NODE_CONF);
	if ((text = file_read(path, 1 << 16, NULL, err, sizeof(err))) == NULL)
		return;
	*cert = setting(text, "ssl_cert_file");
	*key = setting(text, "ssl_key_file");
	*ca = setting(text, "ssl_ca_file");
	if (*cert == NULL || *key == NULL) {
		free(*cert);
		free(*key);
		free(*ca);
		*cert = *key = *ca = NULL;
	}
	free(text);
}
