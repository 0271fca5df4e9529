/*
 * main.c: keyward-server start-up, signals and shutdown.
 *
 * Owns: the command line, process hardening (no core dumps), loading and
 * checking the config and secret files, wiring db -> keystore -> api ->
 * http, and the signal loop (SIGTERM/SIGINT stop, SIGHUP reloads what
 * can be reloaded).  Everything that can be wrong at start is reported
 * naming the file and the problem, and the server refuses to start.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "clustermon.h"
#include "drift.h"
#include "http.h"
#include "../kmip/dispatch.h"
#include "../kmip/listen.h"
#include "keystore.h"
#include "notify.h"
#include "rewrap.h"
#include "tlstrust.h"
#include "../db/db.h"
#include "../db/migrations.h"
#include "../lib/authcookie.h"
#include "../lib/clock.h"
#include "../lib/config.h"
#include "../lib/crypto.h"
#include "../lib/hsm.h"
#include "../lib/files.h"
#include "../lib/log.h"
#include "../lib/masterkey.h"
#include "../lib/secfile.h"
#include "../lib/version.h"

#define DEFAULT_CONFIG	"/etc/keyward/keyward.conf"
#define PEM_MAX		(1024 * 1024)

/* Everything loaded from files before the server starts. */
struct startup {
	struct kw_config	*cfg;
	struct masterkey	*mk;		/* where the keyring comes from */
	struct keyring		*ring;
	struct hsm		*hsm;		/* keys.hsm_module, or NULL */
	struct secbuf		*tls_key;
	struct secbuf		*db_password;
	struct secbuf		*cookie_secret;	/* pseudo auth only */
	char			*tls_cert;
	char			*client_ca;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: keyward-server [-nvV] [-c config] [--passphrase-fd N]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  --passphrase-fd N  read a sealed keyring's passphrase from descriptor N\n"
	    "  -n, --check        check the configuration and its files, then exit\n"
	    "  -v, --verbose      log debug messages (and with -n, print every setting)\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         this help\n", DEFAULT_CONFIG);
}

static void
harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		log_warn("could not disable core dumps");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("could not mark the process not dumpable");
}

static void
startup_free(struct startup *st)
{
	config_free(st->cfg);
	masterkey_free(st->mk);
	keyring_free(st->ring);
	hsm_free(st->hsm);		/* after every keyring naming it */
	secbuf_free(st->tls_key);
	secbuf_free(st->db_password);
	secbuf_free(st->cookie_secret);
	free(st->tls_cert);
	free(st->client_ca);
	memset(st, 0, sizeof(*st));
}

/*
 * Load config and every file it names (the keyring unsealed with the
 * passphrase from pass_fd, keys.passphrase_file or the terminal); 0 or
 * -1 with the reason logged.
 */
static int
startup_load(const char *path, int pass_fd, struct startup *st)
{
	struct masterkey_opts mo;
	struct hsm_opts ho;
	struct acls *acls;
	char err[512];

	memset(st, 0, sizeof(*st));
	if ((st->cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		return -1;
	}
	mo.path = st->cfg->master_key_file;
	mo.pass_file = st->cfg->passphrase_file;
	mo.pass_fd = pass_fd;
	mo.prompt = 1;
	if ((st->mk = masterkey_new(&mo)) == NULL ||
	    masterkey_load(st->mk, &st->ring, NULL, err, sizeof(err)) != 0) {
		log_errx("%s", st->mk != NULL ? err : "out of memory");
		return -1;
	}
	if (st->cfg->hsm_module[0] != '\0') {
		ho.module = st->cfg->hsm_module;
		ho.token_label = st->cfg->hsm_token_label;
		ho.key_label = st->cfg->hsm_key_label;
		ho.pin_file = st->cfg->hsm_pin_file;
		if ((st->hsm = hsm_open(&ho, err, sizeof(err))) == NULL ||
		    hsm_join(st->hsm, st->ring, 1, err, sizeof(err)) != 0) {
			log_errx("%s", err);
			return -1;
		}
	}
	st->tls_key = secfile_read_as("TLS key file", st->cfg->tls_key_file,
	    PEM_MAX, err, sizeof(err));
	if (st->tls_key == NULL) {
		log_errx("%s", err);
		return -1;
	}
	if ((st->tls_cert = file_read(st->cfg->tls_cert_file, PEM_MAX, NULL, err,
	    sizeof(err))) == NULL) {
		log_errx("TLS certificate: %s", err);
		return -1;
	}
	if (st->cfg->tls_client_ca_file[0] != '\0' &&
	    (st->client_ca = file_read(st->cfg->tls_client_ca_file, PEM_MAX,
	    NULL, err, sizeof(err))) == NULL) {
		log_errx("client CA: %s", err);
		return -1;
	}
	if (st->cfg->auth_mode == AUTH_MTLS && tlstrust_check(st->client_ca,
	    st->cfg->tls_crl_file, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	if (st->cfg->db_password_file[0] != '\0') {
		st->db_password = secfile_read_password(
		    st->cfg->db_password_file, err, sizeof(err));
		if (st->db_password == NULL) {
			log_errx("%s", err);
			return -1;
		}
	}
	if (st->cfg->auth_mode == AUTH_PSEUDO) {
		st->cookie_secret = secfile_read_as("cookie secret file",
		    st->cfg->cookie_secret_file, 4096, err, sizeof(err));
		if (st->cookie_secret == NULL) {
			log_errx("%s", err);
			return -1;
		}
		if (st->cookie_secret->len < AUTHCOOKIE_SECRET_MIN) {
			log_errx("cookie secret file \"%s\" holds %zu bytes, "
			    "at least %d are needed", st->cfg->cookie_secret_file,
			    st->cookie_secret->len, AUTHCOOKIE_SECRET_MIN);
			return -1;
		}
	}
	if ((acls = acls_load(st->cfg->acl_file, err, sizeof(err))) == NULL) {
		log_errx("access control file: %s", err);
		return -1;
	}
	acls_free(acls);
	return 0;
}

/*
 * The cluster monitor read the cache epoch: confirm or drop the cache;
 * and the active master key with it.
 */
static void
confirm_cache(void *arg, int moved, int64_t at_ms, const char *active_kek)
{
	ks_confirmed(arg, moved, at_ms);
	kekring_set_active(ks_keks(arg), active_kek);
}

/*
 * SIGHUP: the keyring file and the token's KEKs again; the old keyring
 * stays when the new one will not do.
 */
static void
reload_keyring(struct masterkey *mk, struct hsm *hsm, struct keystore *ks,
    struct rewrap *rw)
{
	struct keyring *ring = NULL;
	char err[512];

	if (masterkey_load(mk, &ring, NULL, err, sizeof(err)) != 0)
		goto fail;
	if (hsm != NULL && hsm_join(hsm, ring, 1, err, sizeof(err)) != 0) {
		keyring_free(ring);
		goto fail;
	}
	if (kekring_reload(ks_keks(ks), ring, err, sizeof(err)) != 0)
		goto fail;	/* ring freed */
	rewrap_kick(rw);
	return;
fail:
	log_warnx("master keyring not reloaded, keeping the running one: %s",
	    err);
}

/* Start the metrics.listen listener when set: 0, or -1 (logged). */
static int
metrics_listen(const struct kw_config *cfg, struct api_ctx *actx,
    struct http_plain **out)
{
	char host[256], err[512];
	int port;

	*out = NULL;
	if (cfg->metrics_listen[0] == '\0')
		return 0;
	if (config_parse_addr(cfg->metrics_listen, host, sizeof(host),
	    &port) != 0) {
		log_errx("bad metrics.listen \"%s\"", cfg->metrics_listen);
		return -1;
	}
	if ((*out = http_plain_start(host, port, api_metrics_only, actx, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		return -1;
	}
	log_info("metrics on http://%s/metrics", cfg->metrics_listen);
	return 0;
}

/* Start the kmip.listen listener when set: 0, or -1 (logged). */
static int
kmip_listen(const struct startup *st, struct svc *svc, struct tlstrust *trust,
    struct kmip_ctx **ctx, struct kmip_listener **out)
{
	const struct kw_config *cfg = st->cfg;
	struct kmip_listen_opts ko;
	char host[256], err[512];
	int port;

	*out = NULL;
	if (cfg->kmip_listen[0] == '\0')
		return 0;
	if (config_parse_addr(cfg->kmip_listen, host, sizeof(host),
	    &port) != 0) {
		log_errx("bad kmip.listen \"%s\"", cfg->kmip_listen);
		return -1;
	}
	if ((*ctx = kmip_ctx_new(svc,
	    (size_t)cfg->kmip_max_message_bytes)) == NULL) {
		log_errx("out of memory");
		return -1;
	}
	memset(&ko, 0, sizeof(ko));
	ko.host = host;
	ko.port = port;
	ko.cert_pem = st->tls_cert;
	ko.key_pem = (const char *)st->tls_key->data;
	ko.ca_pem = st->client_ca;
	ko.trust = trust;
	ko.priorities = cfg->tls_priorities;
	ko.identity = cfg->auth_identity;
	ko.max_message = (size_t)cfg->kmip_max_message_bytes;
	ko.timeout_s = (unsigned)cfg->request_timeout_s;
	ko.max_connections = (unsigned)cfg->max_connections;
	ko.max_per_ip = (unsigned)cfg->max_connections_per_ip;
	if ((*out = kmip_listen_start(&ko, kmip_handle, *ctx, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		return -1;
	}
	log_info("KMIP on %s", cfg->kmip_listen);
	return 0;
}

/* Wait for signals; returns on SIGTERM/SIGINT.  cfg is the running
 * configuration, for telling the operator what a reload cannot apply. */
static void
signal_loop(const char *config_path, const struct kw_config *cfg,
    struct authz *az, struct tlstrust *trust, struct masterkey *mk,
    struct hsm *hsm, struct keystore *ks, struct rewrap *rw)
{
	char names[512];
	sigset_t set;
	int sig;
	char err[512];
	struct kw_config *ncfg;
	int lvl;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP) {
			log_info("received signal %d, shutting down", sig);
			notify_stopping();
			return;
		}
		notify_reloading();
		(void)authz_reload(az);
		if (trust != NULL)
			(void)tlstrust_reload(trust);
		reload_keyring(mk, hsm, ks, rw);
		if ((ncfg = config_load(config_path, err, sizeof(err))) == NULL) {
			log_warnx("reload failed, keeping the running "
			    "configuration: %s", err);
			notify_ready("reload failed, running configuration kept");
			continue;
		}
		if ((lvl = log_level_parse(ncfg->log_level)) >= 0)
			log_set_level((enum log_level)lvl);
		log_info("reloaded %s: log level %s", config_path,
		    ncfg->log_level);
		if (config_restart_needed(cfg, ncfg, names, sizeof(names)) > 0)
			log_warnx("changed settings that need a restart to take "
			    "effect: %s", names);
		config_free(ncfg);
		notify_ready("reloaded");
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = DEFAULT_CONFIG;
	struct startup st;
	struct db *db = NULL;
	struct keystore *ks = NULL;
	struct cluster *cl = NULL;
	struct kekring *keks;
	struct rewrap *rw = NULL;
	struct http_server *srv = NULL;
	struct http_plain *msrv = NULL;
	struct kmip_listener *ksrv = NULL;
	struct kmip_ctx *kctx = NULL;
	struct tlstrust *trust = NULL;
	struct api_ctx actx;
	struct audit_opts ao;
	struct http_opts ho;
	char err[512], host[256], cookie_fp[65];
	int ch, check_only = 0, verbose = 0, port, lvl, sv, i, rc = 1;
	int pass_fd = -1;
	char *end;
	sigset_t set;

	log_init("keyward-server", LOG_LVL_INFO);
	memset(&actx, 0, sizeof(actx));		/* out: frees its parts */
	secure_json_alloc();	/* JSON carries material: wipe it */
	memset(&actx, 0, sizeof(actx));
	while ((ch = getopt_long(argc, argv, "c:nvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("keyward-server %s\n", KW_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'P':
			pass_fd = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || pass_fd < 0) {
				usage(stderr);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	harden();
	if (startup_load(config_path, pass_fd, &st) != 0)
		goto out;
	if ((lvl = log_level_parse(st.cfg->log_level)) >= 0)
		log_set_level((enum log_level)lvl);
	if (verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (config_listen_addr(st.cfg, host, sizeof(host), &port) != 0) {
		log_errx("%s: bad node.listen \"%s\"", config_path, st.cfg->listen);
		goto out;
	}
	if (check_only) {
		if (verbose)
			config_dump(stdout, st.cfg);
		printf("%s: configuration OK\n", config_path);
		rc = 0;
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	/* block the signals before any thread starts; main sigwaits */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	db = db_new(st.cfg->db_local, st.cfg->db_peer,
	    st.db_password != NULL ? (const char *)st.db_password->data : NULL,
	    st.cfg->db_pool_size, st.cfg->db_connect_timeout_s,
	    st.cfg->commit_deadline_ms);
	if (db == NULL) {
		log_errx("out of memory");
		goto out;
	}
	for (i = 0; (sv = db_schema_version(db)) < 0 &&
	    i + 1 < DB_STARTUP_TRIES; i++) {
		log_warnx("cannot read the database schema version yet; "
		    "trying again");
		clock_sleep_ms(DB_STARTUP_PAUSE_MS);
	}
	if (sv < 0) {
		log_errx("cannot read the database schema version (is the "
		    "database up? db.local = \"%s\")", st.cfg->db_local);
		goto out;
	}
	if (db_nmigrations > 0 && sv < db_migrations[db_nmigrations - 1].version) {
		log_errx("database schema is at version %d, this server needs "
		    "%d: run keyward-admin db migrate", sv,
		    db_migrations[db_nmigrations - 1].version);
		goto out;
	}
	log_debug("opened %d database connections", db_warm(db));
	keks = kekring_new(db, st.ring, st.cfg->node_name, err, sizeof(err));
	st.ring = NULL;		/* owned (or freed) by kekring_new */
	if (keks != NULL)
		ks = ks_new(db, keks, st.cfg->cache_ttl_ms, err, sizeof(err));
	if (ks == NULL) {
		log_errx("%s: %s", st.cfg->master_key_file, err);
		goto out;
	}

	ks_set_confirm_bound(ks, st.cfg->cache_confirm_ms);
	if ((actx.svc.authz = authz_new(st.cfg->acl_file,
	    st.cfg->acl_check_interval_ms, err, sizeof(err))) == NULL) {
		log_errx("access control file: %s", err);
		goto out;
	}
	cookie_fp[0] = '\0';
	if (st.cookie_secret != NULL && authcookie_fingerprint(
	    st.cookie_secret->data, st.cookie_secret->len, cookie_fp) != 0) {
		log_errx("could not fingerprint the cookie secret");
		goto out;
	}
	if ((actx.drift = drift_new(db, actx.svc.authz, st.cfg->node_name,
	    st.cfg->db_peer[0] != '\0' ? st.cfg->peer_name : NULL, cookie_fp,
	    sv)) == NULL) {
		log_errx("out of memory");
		goto out;
	}
	if ((cl = cluster_start(db, st.cfg, confirm_cache, ks,
	    actx.drift)) == NULL) {
		log_errx("could not start the cluster monitor");
		goto out;
	}
	if ((rw = rewrap_start(ks_keks(ks), cl, st.cfg->rewrap_batch,
	    st.cfg->rewrap_pause_ms)) == NULL) {
		log_errx("could not start the rewrap thread");
		goto out;
	}
	actx.svc.cl = cl;
	actx.svc.ks = ks;
	actx.svc.cfg = st.cfg;
	memset(&ao, 0, sizeof(ao));
	ao.path = st.cfg->audit_file;
	ao.max_bytes = st.cfg->audit_max_bytes;
	ao.keep = st.cfg->audit_keep;
	ao.to_stderr = st.cfg->audit_stderr;
	ao.aggregate_ms = st.cfg->audit_aggregate_ms;
	ao.node = st.cfg->node_name;
	if ((actx.svc.audit = audit_open(&ao, err, sizeof(err))) == NULL) {
		log_errx("audit log: %s", err);
		goto out;
	}
	/* KMIP clients always present certificates, whatever auth.mode */
	if ((st.cfg->auth_mode == AUTH_MTLS || st.cfg->kmip_listen[0] != '\0') &&
	    (trust = tlstrust_new(st.client_ca,
	    st.cfg->tls_crl_file, st.cfg->acl_check_interval_ms, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	memset(&ho, 0, sizeof(ho));
	ho.host = host;
	ho.trust = trust;
	ho.port = port;
	ho.cert_pem = st.tls_cert;
	ho.key_pem = (const char *)st.tls_key->data;
	ho.ca_pem = st.cfg->auth_mode == AUTH_MTLS ? st.client_ca : NULL;
	ho.priorities = st.cfg->tls_priorities;
	ho.auth_mode = st.cfg->auth_mode;
	ho.identity = st.cfg->auth_identity;
	if (st.cookie_secret != NULL) {
		ho.cookie_secret = st.cookie_secret->data;
		ho.cookie_secret_len = st.cookie_secret->len;
	}
	ho.cookie_ttl_s = (unsigned)st.cfg->cookie_ttl_s;
	ho.max_per_ip = (unsigned)st.cfg->max_connections_per_ip;
	ho.max_header_bytes = (size_t)st.cfg->max_header_bytes;
	ho.max_body = (size_t)st.cfg->max_body_bytes;
	ho.timeout_s = (unsigned)st.cfg->request_timeout_s;
	ho.max_connections = (unsigned)st.cfg->max_connections;
	if ((srv = http_start(&ho, api_handle, &actx, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	if (metrics_listen(st.cfg, &actx, &msrv) != 0)
		goto out;
	if (kmip_listen(&st, &actx.svc, trust, &kctx, &ksrv) != 0)
		goto out;
	log_info("node %s listening on https://%s:%d (auth %s, schema %d, "
	    "version %s)", st.cfg->node_name, host, port,
	    st.cfg->auth_mode == AUTH_MTLS ? "mtls" : "pseudo", sv, KW_VERSION);
	/* TLS is loaded (http_start), the pools warm (db_warm) */
	notify_ready("serving");
	signal_loop(config_path, st.cfg, actx.svc.authz, trust, st.mk, st.hsm, ks,
	    rw);
	rc = 0;
out:
	kmip_listen_stop(ksrv);
	kmip_ctx_free(kctx);
	http_plain_stop(msrv);
	http_stop(srv);
	/*
	 * the background threads before what they use: the monitor's drift
	 * check holds the ACLs (authz_hold), so freeing them first let it
	 * wait on a freed lock and SIGTERM hang now and then
	 */
	rewrap_stop(rw);
	cluster_stop(cl);
	tlstrust_free(trust);
	audit_close(actx.svc.audit);
	authz_free(actx.svc.authz);
	drift_free(actx.drift);
	ks_free(ks);
	db_free(db);
	startup_free(&st);
	return rc;
}
