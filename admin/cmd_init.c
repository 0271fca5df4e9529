/*
 * cmd_init.c: `keyward-admin init`: create a node's config directory.
 *
 * Writes keyward.conf (commented), master.key (32 random bytes, mode
 * 0600; with --hsm-module a token-only keyring file and the master key
 * in the PKCS#11 token, made there unless it holds one), acls.conf (everything for the --admin identity, nothing for
 * anyone else), auth-cookie.secret (32 random bytes, mode 0600, signs
 * pseudo-auth cookies), the backup signing key and certificate
 * (cmd_backup_keygen.c) and, unless certificates are given, a self-signed
 * TLS certificate and key.  Refuses to touch an initialised directory
 * without --force, and even with --force never replaces an existing
 * master key (that would make every stored key unreadable), ACL file or
 * cookie secret.
 */
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "../lib/crypto.h"
#include "../lib/hsm.h"
#include "../lib/keyring.h"
#include "../lib/log.h"
#include "../lib/masterkey.h"
#include "../lib/secfile.h"

struct init_opts {
	const char	*confdir;
	const char	*node;
	const char	*listen;
	const char	*db_local;
	const char	*db_peer;
	const char	*db_admin;
	const char	*url;
	const char	*peer_name;
	const char	*peer_url;
	const char	*db_password_file;
	const char	*auth;
	const char	*tls_cert;
	const char	*tls_key;
	const char	*client_ca;
	const char	*admin;		/* the identity acls.conf lets in */
	const char	*hsm_module;	/* a token-only node (keys.hsm_*) */
	const char	*hsm_token;
	const char	*hsm_key;
	const char	*hsm_pin;
	int		 force;
};

/* out = a + b, refusing paths that do not fit; 0 or -1. */
static int
join(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s%s", a, b);

	if (n < 0 || (size_t)n >= len) {
		log_errx("path too long: %s%s", a, b);
		return -1;
	}
	return 0;
}

/* Absolute form of a path given on the command line (must exist). */
static int
abs_path(const char *in, char *out, size_t len, const char *what)
{
	char buf[PATH_MAX];

	if (realpath(in, buf) == NULL) {
		log_errx("%s \"%s\": %s", what, in,
		    strerror(errno));
		return -1;
	}
	snprintf(out, len, "%s", buf);
	return 0;
}

static int
write_config(const struct init_opts *o, const char *path, const char *cert,
    const char *key, const char *ca, const char *pwfile)
{
	FILE *fp;
	char tmp[PATH_MAX];
	time_t now = time(NULL);
	char date[32];

	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (join(tmp, sizeof(tmp), path, ".tmp") != 0)
		return -1;
	if ((fp = fopen(tmp, "we")) == NULL) {
		log_errx("could not create \"%s\": %s",
		    tmp, strerror(errno));
		return -1;
	}
	fprintf(fp,
	    "; keyward.conf for node %s, written by keyward-admin init on %s.\n"
	    "; Every setting and its default: keyward.conf(5) and\n"
	    "; keyward.conf.example.  Relative paths are relative to this file.\n"
	    "\n[node]\n"
	    "; the node's name in health, logs and audit\n"
	    "name = %s\n"
	    "; address and port of the HTTPS listener\n"
	    "listen = %s\n"
	    "%s%s%s"
	    "%s%s%s"
	    "%s%s%s"
	    "\n[tls]\n"
	    "cert_file = %s\n"
	    "; the private key: mode 0600, owned by the service user\n"
	    "key_file = %s\n"
	    "; CA that signs client certificates (auth = mtls)\n"
	    "client_ca_file = %s\n"
	    "\n[auth]\n"
	    "; mtls: client certificate CN; pseudo: ?user.name= (development only)\n"
	    "mode = %s\n"
	    "\n[db]\n"
	    "; libpq connection string of this node's PostgreSQL\n"
	    "local = %s\n"
	    "%s%s%s"
	    "password_file = %s\n"
	    "%s%s%s"
	    "\n[keys]\n"
	    "%s"
	    "master_key_file = master.key\n"
	    "%s%s%s%s%s%s%s%s%s",
	    o->node, date, o->node, o->listen,
	    o->url ? "; the URL clients use for this node\nurl = " : "",
	    o->url ? o->url : "", o->url ? "\n" : "",
	    o->peer_name ? "; the other node of the pair\npeer_name = " : "",
	    o->peer_name ? o->peer_name : "", o->peer_name ? "\n" : "",
	    o->peer_url ? "peer_url = " : "", o->peer_url ? o->peer_url : "",
	    o->peer_url ? "\n" : "",
	    cert, key, ca, o->auth, o->db_local,
	    o->db_peer ? "; libpq connection string of the peer's PostgreSQL\n"
	    "peer = " : "", o->db_peer ? o->db_peer : "", o->db_peer ? "\n" : "",
	    pwfile, o->db_admin ? "; keyward-admin's: the database superuser "
	    "over the Unix socket\nadmin = " : "", o->db_admin ? o->db_admin : "",
	    o->db_admin ? "\n" : "",
	    o->hsm_module == NULL ? "; the master keyring, mode 0600; the same "
	    "file on both nodes of a pair\n" : "; token-only: every master key "
	    "is in the PKCS#11 token below\n",
	    o->hsm_module ? "hsm_module = " : "", o->hsm_module ?
	    o->hsm_module : "", o->hsm_module ? "\nhsm_token_label = " : "",
	    o->hsm_module ? o->hsm_token : "", o->hsm_module ?
	    "\nhsm_key_label = " : "", o->hsm_module ? o->hsm_key : "",
	    o->hsm_module ? "\n; the user PIN (first line): mode 0600, owned "
	    "by the service user\nhsm_pin_file = " : "", o->hsm_module ?
	    o->hsm_pin : "", o->hsm_module ? "\n" : "");
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || ferror(fp)) {
		log_errx("could not write \"%s\"", tmp);
		fclose(fp);
		unlink(tmp);
		return -1;
	}
	fclose(fp);
	if (rename(tmp, path) != 0) {
		log_errx("could not rename \"%s\": %s",
		    tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The subjectAltName for a self-signed certificate of this node. */
static void
san_for(const struct init_opts *o, char *out, size_t len)
{
	char host[256];
	const char *colon = strrchr(o->listen, ':');
	size_t n = colon != NULL ? (size_t)(colon - o->listen) : strlen(o->listen);
	unsigned char addr[16];

	if (n >= sizeof(host))
		n = sizeof(host) - 1;
	memcpy(host, o->listen, n);
	host[n] = '\0';
	snprintf(out, len, "DNS:localhost,IP:127.0.0.1,DNS:%s", o->node);
	if (inet_pton(AF_INET, host, addr) == 1 && strcmp(host, "127.0.0.1") != 0 &&
	    strcmp(host, "0.0.0.0") != 0)
		snprintf(out + strlen(out), len - strlen(out), ",IP:%s", host);
}

/* Whether name can stand in an ACL line as one user name. */
static int
acl_name_ok(const char *name)
{
	const unsigned char *p;

	if (*name == '\0' || strlen(name) > 255 || strcmp(name, "*") == 0 ||
	    strcmp(name, "-") == 0)
		return 0;
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == '#')
			return 0;
	return 1;
}

/* acls.conf granting admin every operation on every key, unless one is
 * there already (the operator's rules are never replaced). */
static int
make_acls(const char *path, const char *admin, int *kept)
{
	static const char *const ops[] = {
		"CREATE", "DELETE", "ROLLOVER", "GET", "GET_KEYS",
		"GET_METADATA", "SET_KEY_MATERIAL", "GENERATE_EEK",
		"DECRYPT_EEK",
	};
	char text[4096], err[512];
	size_t i, n;

	*kept = 0;
	if (access(path, F_OK) == 0) {
		*kept = 1;
		return 0;
	}
	n = (size_t)snprintf(text, sizeof(text),
	    "# keyward access control, written by keyward-admin init: see\n"
	    "# keyward-acls.conf(5).  Only %s may do anything; anyone not\n"
	    "# named here is refused (HTTP 403).  The server applies changes\n"
	    "# to this file without a restart.\n\n", admin);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]) && n < sizeof(text); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "hadoop.kms.acl.%s = %s\n", ops[i], admin);
	if (n < sizeof(text))
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "\n# every key, unless key.acl.NAME lines say otherwise\n"
		    "default.key.acl.ALL = %s\n", admin);
	if (n >= sizeof(text)) {
		log_errx("--admin name too long");
		return -1;
	}
	if (secfile_write(path, text, n, 0, err, sizeof(err)) != 0) {
		log_errx("access control file: %s", err);
		return -1;
	}
	return 0;
}

/* 32 random bytes, mode 0600, unless the file is there already (a pair's
 * second node gets a copy of the first node's before its init). */
static int
make_secret(const char *path, const char *what, int *kept)
{
	unsigned char k[32];
	char err[512];
	int rc;

	*kept = 0;
	if (access(path, F_OK) == 0) {
		*kept = 1;
		return 0;
	}
	if (crypto_random(k, sizeof(k)) != 0) {
		log_errx("no random bytes for the %s",
		    what);
		return -1;
	}
	rc = secfile_write(path, k, sizeof(k), 0, err, sizeof(err));
	secure_wipe(k, sizeof(k));
	if (rc != 0)
		log_errx("%s: %s", what, err);
	return rc;
}

static int
make_master_key(const char *path, int *kept)
{
	unsigned char k[KW_KEK_LEN];
	char err[512];
	int rc;

	*kept = 0;
	if (access(path, F_OK) == 0) {
		*kept = 1;
		return 0;
	}
	if (crypto_random(k, sizeof(k)) != 0) {
		log_errx("no random bytes for the master key");
		return -1;
	}
	rc = secfile_write(path, k, sizeof(k), 0, err, sizeof(err));
	secure_wipe(k, sizeof(k));
	if (rc != 0)
		log_errx("master key: %s", err);
	return rc;
}

/*
 * A token-only keyring file: the token's master keys (one made when it
 * holds none) and a file that holds no key, unless the file is there
 * already (a pair's second node gets a copy of the first node's).
 */
static int
make_token_master_key(const struct init_opts *o, const char *path,
    int *kept)
{
	struct hsm_opts ho;
	struct hsm *h = NULL;
	struct hsm_kek keks[16];
	struct keyring *ring = NULL;
	char err[512];
	size_t n = 0, i;
	int made = 0, rc = -1;

	*kept = 0;
	if (access(path, F_OK) == 0) {
		*kept = 1;
		return 0;
	}
	ho.module = o->hsm_module;
	ho.token_label = o->hsm_token;
	ho.key_label = o->hsm_key;
	ho.pin_file = o->hsm_pin;
	if ((h = hsm_open(&ho, err, sizeof(err))) == NULL ||
	    hsm_keks(h, keks, 16, &n, err, sizeof(err)) != 0)
		goto fail;
	if (n == 0) {
		if (hsm_generate(h, &keks[0], err, sizeof(err)) != 0)
			goto fail;
		n = made = 1;
	}
	if ((ring = keyring_new()) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (keyring_add_hsm(ring, h, keks[i].handle, keks[i].check, err,
		    sizeof(err)) != 0)
			goto fail;
	if (masterkey_save(path, ring, NULL, NULL, err, sizeof(err)) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		printf("master key %s is in token \"%s\" (%s; it cannot leave "
		    "the token)\n", keks[i].id, o->hsm_token, made ? "made now" :
		    "found there");
	printf("wrote %s: token-only, it holds no key (copy it to the passive "
	    "node, whose token must hold the same keys)\n", path);
	rc = 0;
	goto out;
fail:
	log_errx("master key in the token: %s", err);
out:
	keyring_free(ring);
	hsm_free(h);
	return rc;
}

/*
 * Load the config just written, as the server will: a value it cannot
 * take (a listen address without a port, a name cut short by a ';') is
 * refused now, and the file removed, rather than at the server's start.
 */
static int
check_written(const struct init_opts *o, const char *conf)
{
	struct kw_config *cfg;
	char err[512], host[256];
	int port, rc = -1;

	if ((cfg = config_load(conf, err, sizeof(err))) == NULL) {
		log_errx("the config would not load: %s",
		    err);
		goto out;
	}
	if (config_listen_addr(cfg, host, sizeof(host), &port) != 0) {
		log_errx("--listen \"%s\" is not "
		    "HOST:PORT", o->listen);
		goto out;
	}
	if (strcmp(cfg->node_name, o->node) != 0) {
		log_errx("--node-name \"%s\" does not "
		    "survive the config file (it reads back as \"%s\"): use "
		    "letters, digits, '-', '_' and '.'", o->node,
		    cfg->node_name);
		goto out;
	}
	if (o->hsm_module != NULL && (strcmp(cfg->hsm_token_label,
	    o->hsm_token) != 0 || strcmp(cfg->hsm_key_label, o->hsm_key) != 0)) {
		log_errx("--hsm-token-label or --hsm-key-label does not survive "
		    "the config file (a ';' or '#' in it?)");
		goto out;
	}
	rc = 0;
out:
	config_free(cfg);
	if (rc != 0) {
		unlink(conf);
		log_info("removed \"%s\"", conf);
	}
	return rc;
}

static int
parse_init(int argc, char **argv, struct init_opts *o)
{
	static const struct option longopts[] = {
		{ "confdir", required_argument, NULL, 'd' },
		{ "node-name", required_argument, NULL, 'N' },
		{ "listen", required_argument, NULL, 'l' },
		{ "db-local", required_argument, NULL, 'D' },
		{ "db-peer", required_argument, NULL, 'E' },
		{ "db-admin", required_argument, NULL, 'S' },
		{ "url", required_argument, NULL, 'U' },
		{ "peer-name", required_argument, NULL, 'M' },
		{ "peer-url", required_argument, NULL, 'R' },
		{ "db-password-file", required_argument, NULL, 'P' },
		{ "auth", required_argument, NULL, 'a' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "client-ca", required_argument, NULL, 'A' },
		{ "admin", required_argument, NULL, 'W' },
		{ "hsm-module", required_argument, NULL, 'H' },
		{ "hsm-token-label", required_argument, NULL, 'T' },
		{ "hsm-key-label", required_argument, NULL, 'L' },
		{ "hsm-pin-file", required_argument, NULL, 'I' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->node = "keyward";
	o->admin = "admin";
	o->listen = "127.0.0.1:9600";
	o->db_local = "host=127.0.0.1 port=11381 dbname=keyward user=keyward";
	o->auth = "mtls";
	o->hsm_token = "keyward";
	o->hsm_key = "keyward-kek";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->confdir = optarg; break;
		case 'N': o->node = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'D': o->db_local = optarg; break;
		case 'E': o->db_peer = optarg; break;
		case 'S': o->db_admin = optarg; break;
		case 'U': o->url = optarg; break;
		case 'M': o->peer_name = optarg; break;
		case 'R': o->peer_url = optarg; break;
		case 'P': o->db_password_file = optarg; break;
		case 'a': o->auth = optarg; break;
		case 'C': o->tls_cert = optarg; break;
		case 'K': o->tls_key = optarg; break;
		case 'A': o->client_ca = optarg; break;
		case 'W': o->admin = optarg; break;
		case 'H': o->hsm_module = optarg; break;
		case 'T': o->hsm_token = optarg; break;
		case 'L': o->hsm_key = optarg; break;
		case 'I': o->hsm_pin = optarg; break;
		case 'f': o->force = 1; break;
		case 'h': return 1;
		default: return -1;
		}
	}
	{
		const char *vals[] = { o->node, o->listen, o->db_local,
		    o->db_peer, o->db_admin, o->url, o->peer_name, o->peer_url,
		    o->auth, o->hsm_module, o->hsm_token, o->hsm_key,
		    o->hsm_pin };
		size_t i;

		for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
			if (vals[i] != NULL && strpbrk(vals[i], "\r\n") != NULL) {
				log_errx("option values may "
				    "not hold line breaks");
				return -1;
			}
	}
	if (optind != argc) {
		log_errx("init takes no argument \"%s\" "
		    "(options only)", argv[optind]);
		return -1;
	}
	if (o->confdir == NULL) {
		log_errx("init needs --confdir");
		return -1;
	}
	if (strcmp(o->auth, "mtls") != 0 && strcmp(o->auth, "pseudo") != 0) {
		log_errx("--auth must be mtls or pseudo");
		return -1;
	}
	if (strcmp(o->auth, "mtls") == 0 && o->client_ca == NULL) {
		log_errx("--auth mtls needs --client-ca "
		    "(the CA that signs client certificates)");
		return -1;
	}
	if (!acl_name_ok(o->admin)) {
		log_errx("--admin must be one user name: "
		    "no spaces, commas or '#', not '*' or '-'");
		return -1;
	}
	if ((o->hsm_module == NULL) != (o->hsm_pin == NULL)) {
		log_errx("give both --hsm-module and --hsm-pin-file, or neither");
		return -1;
	}
	if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
		log_errx("give both --tls-cert and "
		    "--tls-key, or neither");
		return -1;
	}
	return 0;
}

int
cmd_init(int argc, char **argv)
{
	struct init_opts o;
	char conf[PATH_MAX], mk[PATH_MAX], tlsdir[PATH_MAX], cert[PATH_MAX],
	    acl[PATH_MAX], secret[PATH_MAX],
	    key[PATH_MAX], ca[PATH_MAX] = "", pw[PATH_MAX] = "", san[512],
	    err[512], hsmmod[PATH_MAX], hsmpin[PATH_MAX];
	int r, kept;

	if ((r = parse_init(argc, argv, &o)) != 0) {
		admin_usage("init");
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	if (mkdir(o.confdir, 0750) != 0 && errno != EEXIST) {
		log_errx("could not create \"%s\": %s",
		    o.confdir, strerror(errno));
		return EXIT_FAIL;
	}
	if (join(conf, sizeof(conf), o.confdir, "/keyward.conf") != 0 ||
	    join(mk, sizeof(mk), o.confdir, "/master.key") != 0 ||
	    join(acl, sizeof(acl), o.confdir, "/acls.conf") != 0 ||
	    join(secret, sizeof(secret), o.confdir, "/auth-cookie.secret") != 0 ||
	    join(tlsdir, sizeof(tlsdir), o.confdir, "/tls") != 0)
		return EXIT_FAIL;
	if (access(conf, F_OK) == 0 && !o.force) {
		log_errx("\"%s\" exists: this node is "
		    "already initialised (--force rewrites the config and TLS "
		    "files but keeps master.key)", conf);
		return EXIT_FAIL;
	}
	if (o.client_ca != NULL && abs_path(o.client_ca, ca, sizeof(ca),
	    "client CA") != 0)
		return EXIT_FAIL;
	if (o.db_password_file != NULL && abs_path(o.db_password_file, pw,
	    sizeof(pw), "database password file") != 0)
		return EXIT_FAIL;
	if (o.tls_cert != NULL) {
		if (abs_path(o.tls_cert, cert, sizeof(cert), "TLS certificate") != 0 ||
		    abs_path(o.tls_key, key, sizeof(key), "TLS key") != 0)
			return EXIT_FAIL;
	} else {
		if (mkdir(tlsdir, 0750) != 0 && errno != EEXIST) {
			log_errx("could not create \"%s\": "
			    "%s", tlsdir, strerror(errno));
			return EXIT_FAIL;
		}
		if (join(cert, sizeof(cert), tlsdir, "/server.pem") != 0 ||
		    join(key, sizeof(key), tlsdir, "/server.key") != 0)
			return EXIT_FAIL;
		san_for(&o, san, sizeof(san));
		if (tlsgen_self_signed(o.node, san, 825, cert, key, err,
		    sizeof(err)) != 0) {
			log_errx("%s", err);
			return EXIT_FAIL;
		}
		printf("made a self-signed TLS certificate %s (%s) and key %s\n",
		    cert, san, key);
		snprintf(cert, sizeof(cert), "tls/server.pem");
		snprintf(key, sizeof(key), "tls/server.key");
	}
	if (o.hsm_module != NULL) {
		/* absolute, as the config names them */
		if (abs_path(o.hsm_module, hsmmod, sizeof(hsmmod),
		    "PKCS#11 module") != 0 || abs_path(o.hsm_pin, hsmpin,
		    sizeof(hsmpin), "token PIN file") != 0)
			return EXIT_FAIL;
		o.hsm_module = hsmmod;
		o.hsm_pin = hsmpin;
		if (make_token_master_key(&o, mk, &kept) != 0)
			return EXIT_FAIL;
		if (kept)
			printf("kept the existing master key file %s\n", mk);
	} else {
		if (make_master_key(mk, &kept) != 0)
			return EXIT_FAIL;
		printf(kept ? "kept the existing master key %s\n" :
		    "made master key %s (32 random bytes, mode 0600): copy it "
		    "to the passive node and keep a sealed backup\n", mk);
	}
	if (make_acls(acl, o.admin, &kept) != 0)
		return EXIT_FAIL;
	if (kept)
		printf("kept the existing access control file %s\n", acl);
	else
		printf("wrote %s: only \"%s\" may use keys until you add others "
		    "(keyward-acls.conf(5))\n", acl, o.admin);
	if (make_secret(secret, "cookie secret", &kept) != 0)
		return EXIT_FAIL;
	printf(kept ? "kept the existing cookie secret %s\n" :
	    "made cookie secret %s (signs pseudo-auth cookies; the passive "
	    "node needs a copy)\n", secret);
	if (admin_backup_keygen(o.confdir, o.node) != 0)
		return EXIT_FAIL;
	if (write_config(&o, conf, cert, key, ca, pw) != 0 ||
	    check_written(&o, conf) != 0)
		return EXIT_FAIL;
	printf("wrote %s (node %s, listen %s, auth %s%s%s)\n", conf, o.node,
	    o.listen, o.auth, o.db_peer ? ", peer database " : "",
	    o.db_peer ? o.db_peer : "");
	if (o.db_peer != NULL)
		printf("next: keyward-admin db bootstrap -c %s --datadir DIR (the "
		    "active), or db init-passive (the passive)\n", conf);
	else
		printf("next: keyward-admin db migrate -c %s\n", conf);
	return EXIT_OK;
}
