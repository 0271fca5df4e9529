/*
 * config_table.c: every keyward.conf setting, in one table.
 *
 * Each entry gives the section, name, type, default (as it would be
 * written in the file), bounds or allowed values, flags (required,
 * reloadable on SIGHUP), the field of struct kw_config it fills, and
 * help text.  config.c parses with this table; config_print.c prints
 * `-n -v` output, the help listing and packaging/keyward.conf.example
 * from it.  Adding a setting means adding a field to struct kw_config
 * and one entry here, nothing else (then regenerate the example file).
 */
#include <stddef.h>

#include "config.h"
#include "config_table.h"

/* Index order is enum auth_mode. */
static const char *const cfg_auth_modes[] = { "mtls", "pseudo", NULL };
/* Index order is enum auth_identity. */
static const char *const cfg_identities[] = {
	"cn", "san-dns", "san-uri", NULL
};
static const char *const cfg_no_yes[] = { "no", "yes", NULL };
static const char *const cfg_log_levels[] = {
	"debug", "info", "warn", "error", NULL
};

#define F(field)	offsetof(struct kw_config, field)
#define STR(sec, nm, ty, def, fl, field, help) \
	{ sec, nm, ty, def, 0, 0, NULL, fl, F(field), help }
#define INT(sec, nm, def, lo, hi, fl, field, help) \
	{ sec, nm, CFG_INT, def, lo, hi, NULL, fl, F(field), help }
#define ONEOF(sec, nm, ty, def, ch, fl, field, help) \
	{ sec, nm, ty, def, 0, 0, ch, fl, F(field), help }

const struct cfg_setting cfg_table[] = {
	STR("node", "name", CFG_STRING, "keyward", CFG_REQUIRED, node_name,
	    "Name of this node.  It appears in health and cluster output, in "
	    "log lines, audit records and backup file names.  Give each node "
	    "of a pair its own name."),
	STR("node", "listen", CFG_STRING, "127.0.0.1:9600", CFG_REQUIRED,
	    listen,
	    "Address and port the HTTPS server listens on: HOST:PORT or "
	    "[IPV6]:PORT.  Use 0.0.0.0:PORT or [::]:PORT for every "
	    "interface."),
	STR("node", "peer_url", CFG_STRING, "", 0, peer_url,
	    "Base URL of the other node of the pair, such as "
	    "https://kw-b.example:9600, published by the cluster endpoint so "
	    "that clients and operators can find both nodes.  Empty for a "
	    "single node."),
	STR("node", "peer_name", CFG_STRING, "peer", 0, peer_name,
	    "Name of the other node of the pair, as its own node.name says.  "
	    "It names the peer in health and cluster output and in the "
	    "reason writes are refused."),
	STR("node", "url", CFG_STRING, "", 0, url,
	    "Base URL clients use for this node, such as "
	    "https://kw-a.example:9600, published by the cluster endpoint.  "
	    "Empty: https://LISTEN."),

	STR("tls", "cert_file", CFG_PATH, "tls/server.pem",
	    CFG_REQUIRED, tls_cert_file,
	    "PEM file with the server certificate, followed by any "
	    "intermediate CA certificates.  A relative path is taken from "
	    "the directory of this file, like every path here."),
	STR("tls", "key_file", CFG_PATH, "tls/server.key",
	    CFG_REQUIRED, tls_key_file,
	    "PEM file with the private key of cert_file.  It must be owned by "
	    "the user keyward runs as and not be accessible by group or "
	    "others (mode 0600), or the server refuses to start."),
	STR("tls", "client_ca_file", CFG_PATH, "", 0,
	    tls_client_ca_file,
	    "PEM file with the CA certificates that issue client "
	    "certificates; a client must present a certificate that chains "
	    "to one of them, is not revoked (crl_file) and, when it has an "
	    "extended key usage extension, lists clientAuth in it.  Required "
	    "when auth.mode is mtls (the default)."),
	STR("tls", "crl_file", CFG_PATH, "", 0, tls_crl_file,
	    "File with the certificate revocation lists (PEM, one or more, "
	    "or one in DER) of the CAs in client_ca_file; a client "
	    "certificate they list is refused (HTTP 401).  Checked on every "
	    "new connection, re-read on SIGHUP and when the file changes "
	    "(checked every acl.check_interval_ms).  A list that does not "
	    "load, or that no CA of client_ca_file signed, stops the server "
	    "at start; later it is ignored with an error in the log and the "
	    "list in force stays.  Empty: no revocation list."),
	STR("tls", "priorities", CFG_STRING,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    CFG_REQUIRED, tls_priorities,
	    "GnuTLS priority string selecting protocol versions and cipher "
	    "suites (see gnutls_priority_init(3)).  The default allows TLS "
	    "1.3 and 1.2 only."),

	ONEOF("auth", "mode", CFG_ENUM, "mtls", cfg_auth_modes, 0, auth_mode,
	    "How clients are identified.  mtls: by the subject of a client "
	    "certificate verified against tls.client_ca_file.  pseudo: by "
	    "the user.name query parameter, as in Hadoop's pseudo "
	    "authentication; anyone can claim any name, so use it for tests "
	    "only."),
	ONEOF("auth", "identity", CFG_ENUM, "cn", cfg_identities, 0,
	    auth_identity,
	    "Under mtls, which part of the verified client certificate is "
	    "the client's identity: cn, the subject common name; san-dns, "
	    "the first DNS name of its subjectAltName; san-uri, the first "
	    "URI of its subjectAltName (such as a SPIFFE ID).  A certificate "
	    "without that part is refused (HTTP 401)."),
	STR("auth", "cookie_secret_file", CFG_PATH, "auth-cookie.secret", 0,
	    cookie_secret_file,
	    "File holding the secret (at least 32 bytes, mode 0600) that "
	    "signs the hadoop.auth cookies issued under pseudo "
	    "authentication.  Both nodes of a pair must hold the same "
	    "secret so that a cookie from one is accepted by the other.  "
	    "Required when mode is pseudo."),
	INT("auth", "cookie_ttl_s", "36000", 1, 2592000, 0, cookie_ttl_s,
	    "Seconds a hadoop.auth cookie stays valid after it is issued; an "
	    "expired cookie is refused (HTTP 401) and the client "
	    "authenticates again."),

	STR("acl", "file", CFG_PATH, "acls.conf", CFG_REQUIRED, acl_file,
	    "The access control file (see keyward-acls.conf(5)): who may do "
	    "which operation on which key, groups and proxy users.  Re-read "
	    "on SIGHUP and when its modification time changes; a file that "
	    "does not parse is ignored with an error in the log and the "
	    "rules in force stay.  A missing or unreadable file at start "
	    "stops the server."),
	INT("acl", "check_interval_ms", "1000", 100, 600000, 0,
	    acl_check_interval_ms,
	    "Milliseconds between checks of the access control file's "
	    "modification time, and of the certificate revocation list's "
	    "(tls.crl_file)."),

	STR("audit", "file", CFG_PATH, "audit.log", 0, audit_file,
	    "File the audit log is appended to: one JSON object per line for "
	    "every key operation (time, node, identity, real user of a "
	    "proxy, operation, key, version, result, HTTP status, request "
	    "id), never key material.  Created with mode 0600.  Empty: no "
	    "audit file."),
	INT("audit", "max_bytes", "67108864", 65536, 1073741824, 0,
	    audit_max_bytes,
	    "Size in bytes at which the audit file is rotated: FILE becomes "
	    "FILE.1, FILE.1 becomes FILE.2, and so on."),
	INT("audit", "keep", "10", 1, 1000, 0, audit_keep,
	    "Rotated audit files kept (FILE.1 to FILE.keep); older ones are "
	    "removed."),
	ONEOF("audit", "stderr", CFG_ENUM, "no", cfg_no_yes, 0, audit_stderr,
	    "yes: also write every audit record to standard error, after the "
	    "prefix \"audit: \"."),
	INT("audit", "aggregate_ms", "10000", 0, 600000, 0,
	    audit_aggregate_ms,
	    "Successful generate and decrypt operations are counted per "
	    "identity, operation and key and written as one record per this "
	    "many milliseconds, as Hadoop KMS does; writes, other reads, "
	    "denials and failures are always written one by one.  0 writes "
	    "every operation singly."),

	STR("db", "local", CFG_CONNINFO,
	    "host=127.0.0.1 port=11381 dbname=keyward user=keyward",
	    CFG_REQUIRED, db_local,
	    "libpq connection string of this node's PostgreSQL database.  "
	    "Keep passwords out of it: use password_file."),
	STR("db", "peer", CFG_CONNINFO, "", 0, db_peer,
	    "libpq connection string of the other node's database, used to "
	    "follow the health of the pair and to serve reads while the "
	    "local database is down.  Empty for a single node."),
	STR("db", "password_file", CFG_PATH, "", 0, db_password_file,
	    "File holding the database password, owned by the service user "
	    "with mode 0600: the password of the roles keyward_server (what "
	    "local and peer connect as) and keyward_repl (replication), which "
	    "keyward-admin db migrate sets from this file.  Empty when the "
	    "database needs no password (peer or certificate "
	    "authentication)."),
	STR("db", "admin", CFG_CONNINFO, "", 0, db_admin,
	    "libpq connection string keyward-admin uses for the set-up steps "
	    "that need the database superuser (db bootstrap, db migrate, db "
	    "enable-sync, promote, rejoin): the superuser over this node's "
	    "Unix socket, such as host=/var/lib/keyward/pgdata.sock "
	    "port=11381 dbname=keyward user=keyward.  keyward-server never "
	    "uses it.  Empty: local, for an install from before the "
	    "keyward_server role, where local names the superuser."),
	INT("db", "pool_size", "8", 1, 256, 0, db_pool_size,
	    "Connections kept open to each database for serving requests."),
	INT("db", "connect_timeout_s", "2", 1, 60, 0, db_connect_timeout_s,
	    "Seconds to wait for a database connection before giving up on "
	    "that database."),
	INT("db", "commit_deadline_ms", "2000", 100, 60000, 0,
	    commit_deadline_ms,
	    "Milliseconds a write waits for the synchronous standby to "
	    "confirm its commit.  A write not confirmed in time is cancelled "
	    "and reported to the client as not acknowledged (HTTP 503)."),
	INT("db", "monitor_interval_ms", "250", 50, 10000, 0,
	    monitor_interval_ms,
	    "Milliseconds between the cluster monitor's checks of which "
	    "database is primary and whether the standby streams in sync.  "
	    "Writes are refused from the first failed check."),
	INT("db", "probe_timeout_ms", "1000", 100, 30000, 0,
	    probe_timeout_ms,
	    "How long the cluster monitor waits for each database to answer "
	    "a probe.  A database that refuses connections is down at once; "
	    "one slower than this is down from its second slow probe in a "
	    "row: reads then go to the other one and writes are refused."),
	INT("db", "standby_stale_ms", "3000", 500, 60000, 0,
	    standby_stale_ms,
	    "A synchronous standby whose last reply to the primary is older "
	    "than this counts as out of sync (a frozen standby keeps looking "
	    "in sync until wal_sender_timeout).  Keep it above the standby's "
	    "wal_receiver_status_interval (1 s in keyward's template)."),

	STR("keys", "master_key_file", CFG_PATH, "master.key", CFG_REQUIRED,
	    master_key_file,
	    "File holding the master keyring: the master keys (KEKs) that "
	    "wrap all key material, as written by keyward-admin (a file of "
	    "32 raw bytes, from before keyrings, is read as a keyring of one "
	    "key).  It must be owned by the service user with mode 0600, and "
	    "both nodes of a pair must hold the same keys.  It may be sealed "
	    "with a passphrase (keyward-admin master-key seal).  SIGHUP "
	    "reads it again."),
	STR("keys", "passphrase_file", CFG_PATH, "", 0, passphrase_file,
	    "File whose first line is the passphrase of a sealed master_key_"
	    "file, such as a systemd credential "
	    "(/run/credentials/keyward-server.service/NAME).  Owned by the "
	    "service user, not readable by group or others.  Empty: the "
	    "passphrase comes from keyward-server --passphrase-fd or the "
	    "terminal."),
	STR("keys", "hsm_module", CFG_PATH, "", 0, hsm_module,
	    "PKCS#11 module (such as /usr/lib/softhsm/libsofthsm2.so) of a "
	    "token holding master keys that never leave it: key versions "
	    "are wrapped and unwrapped in the token.  Its master keys join "
	    "those of master_key_file; moving into or out of the token is a "
	    "rotation.  Empty: no token."),
	STR("keys", "hsm_token_label", CFG_STRING, "keyward", 0,
	    hsm_token_label,
	    "Label of the PKCS#11 token (with hsm_module)."),
	STR("keys", "hsm_key_label", CFG_STRING, "keyward-kek", 0,
	    hsm_key_label,
	    "Label of the master keys in the token: every AES-256 secret key "
	    "with this label, sensitive and not extractable, is one."),
	STR("keys", "hsm_pin_file", CFG_PATH, "", 0, hsm_pin_file,
	    "File whose first line is the token's user PIN (with "
	    "hsm_module).  Owned by the service user, not readable by group "
	    "or others."),
	INT("keys", "rewrap_batch", "500", 1, 10000, 0, rewrap_batch,
	    "After a master key rotation each server moves the key versions "
	    "still wrapped under an older master key to the active one in "
	    "the background, this many versions per batch; each batch is "
	    "one acknowledged write."),
	INT("keys", "rewrap_pause_ms", "20", 0, 60000, 0,
	    rewrap_pause_ms,
	    "Milliseconds a server pauses between two rewrap batches, to "
	    "leave the databases to requests."),
	INT("keys", "cache_ttl_ms", "10000", 0, 3600000, 0,
	    cache_ttl_ms,
	    "Milliseconds unwrapped key versions and each key's current "
	    "version stay cached in memory; 0 disables the cache.  Longer "
	    "means fewer database reads, but a rollover made through the "
	    "other node is seen later."),
	INT("keys", "cache_confirm_ms", "3000", 100, 600000, 0,
	    cache_confirm_ms,
	    "Milliseconds cached keys may be served since the cluster "
	    "monitor last confirmed them with a database (it reads the "
	    "cache epoch every monitor interval).  A node that reaches "
	    "neither database stops serving key material this long after "
	    "its last confirmation: requests then fail with 503 and "
	    "/v1/health says so.  Keep it a few monitor intervals plus "
	    "probe timeouts long."),

	INT("limits", "max_body_bytes", "4194304", 1024, 67108864, 0,
	    max_body_bytes,
	    "Largest request body accepted, in bytes; a larger request is "
	    "refused with HTTP 413."),
	INT("limits", "max_num_keys", "1000", 1, 100000, 0,
	    max_num_keys,
	    "Largest num_keys accepted in one generate-EEK request."),
	INT("limits", "max_batch", "10000", 1, 100000, 0, max_batch,
	    "Largest number of EEKs accepted in one reencrypt batch request."),
	INT("limits", "request_timeout_s", "30", 1, 3600, 0,
	    request_timeout_s,
	    "Seconds a client connection may spend outside a request (in "
	    "the TLS handshake, sending request headers, or idle between "
	    "requests) before the server closes it, and the longest a "
	    "client may take to send one request body, however slowly the "
	    "bytes trickle in."),
	INT("limits", "max_connections", "512", 1, 65535, 0, max_connections,
	    "Most client connections served at once; more are refused."),
	INT("limits", "max_connections_per_ip", "64", 1, 65535, 0,
	    max_connections_per_ip,
	    "Most connections served at once from one client address; more "
	    "from that address are closed at once while other clients are "
	    "still served."),
	INT("limits", "max_header_bytes", "16384", 4096, 1048576, 0,
	    max_header_bytes,
	    "Memory for one connection's request line and headers, in bytes; "
	    "a request whose headers do not fit is refused (HTTP 431 or "
	    "414)."),

	ONEOF("log", "level", CFG_WORD, "info", cfg_log_levels, CFG_RELOAD,
	    log_level,
	    "Lowest level of messages written to the log (standard error): "
	    "debug, info, warn or error."),

	STR("metrics", "listen", CFG_STRING, "", 0, metrics_listen,
	    "Address and port (HOST:PORT or [IPV6]:PORT) of a plain-HTTP "
	    "listener that answers GET /metrics (Prometheus text) to anyone "
	    "who reaches it, without TLS or a client certificate: bind it to "
	    "loopback or a management network.  Empty (the default): no such "
	    "listener; /metrics is then served only on node.listen, over "
	    "HTTPS, to clients that authenticate as for the KMS API (any "
	    "identity; no ACL is consulted).  Metrics never carry key names "
	    "or client identities."),

	STR("kmip", "listen", CFG_STRING, "", 0, kmip_listen,
	    "Address and port (HOST:PORT or [IPV6]:PORT) of the KMIP "
	    "listener (OASIS KMIP 1.0 to 1.4 and 2.0, binary TTLV over TLS; "
	    "the registered port is 5696).  Clients must present a "
	    "certificate that tls.client_ca_file verifies, whatever "
	    "auth.mode says; auth.identity picks their identity, the ACLs "
	    "of acl.file authorize them and the audit log records them as "
	    "for the HTTPS API.  tls.priorities applies, with TLS 1.2 as the "
	    "lowest version, and so do limits.max_connections, "
	    "limits.max_connections_per_ip and limits.request_timeout_s.  "
	    "Empty (the default): no KMIP listener."),
	INT("kmip", "max_message_bytes", "1048576", 1024, 16777216, 0,
	    kmip_max_message_bytes,
	    "Largest KMIP request message accepted, in bytes, and the "
	    "largest response sent.  A request whose header announces more "
	    "is answered with a KMIP error (Invalid Message) and the "
	    "connection closed."),
};

#undef F
#undef STR
#undef INT
#undef ONEOF

const size_t cfg_nsettings = sizeof(cfg_table) / sizeof(cfg_table[0]);

_Static_assert(sizeof(cfg_table) / sizeof(cfg_table[0]) <= CFG_MAX_SETTINGS,
    "raise CFG_MAX_SETTINGS");
