/*
 * main.c: keyward-admin, the operator's tool.  Finds the command in the
 * table and runs it; every command has --help and exits 0 on success,
 * 1 on failure, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../lib/log.h"
#include "../lib/version.h"

static const struct admin_cmd cmds[] = {
	{ "init", "--confdir DIR [--node-name NAME] [--listen HOST:PORT] "
	    "[--url URL] [--peer-name NAME] [--peer-url URL] "
	    "[--db-local CONNINFO] [--db-peer CONNINFO] "
	    "[--db-admin CONNINFO] [--db-password-file FILE] [--auth mtls|pseudo] "
	    "[--tls-cert FILE --tls-key FILE] [--client-ca FILE] "
	    "[--admin NAME] [--hsm-module FILE --hsm-pin-file FILE "
	    "[--hsm-token-label LABEL] [--hsm-key-label LABEL]] [--force]",
	    "create a node's config directory: keyward.conf, master.key, "
	    "acls.conf, cookie secret, TLS material", cmd_init,
	    "  With --hsm-module the node is token-only: its master key is an\n"
	    "  AES-256 key in the PKCS#11 token (made there unless the token\n"
	    "  holds one with the key label), master.key holds no key, and\n"
	    "  keys.hsm_* are written to the config." },
	{ "db migrate", "[-c CONFIG] [--passphrase-file FILE]",
	    "apply the database schema and store (or verify) the master key "
	    "check value", cmd_db_migrate, NULL },
	{ "config show", "[-c CONFIG]",
	    "print every setting with its effective value", cmd_config_show,
	    NULL },
	{ "db bootstrap", "[-c CONFIG] --datadir DIR [--user USER] "
	    "[--pg-cert FILE --pg-key FILE [--pg-ca FILE]] "
	    "[--passphrase-file FILE]",
	    "make the active's database: initdb, config, start, schema",
	    cmd_db_bootstrap,
	    "  Creates DIR with initdb as the service user (--user, default\n"
	    "  keyward; created when missing; PostgreSQL refuses root), superuser\n"
	    "  and replication user = the user of [db] local, password from\n"
	    "  [db] password_file, scram-sha-256, data checksums.  Writes\n"
	    "  postgresql.conf (replication, synchronous_commit = remote_apply),\n"
	    "  keyward-node.conf (listen on the host and port of [db] local,\n"
	    "  Unix socket in DIR.sock), pg_hba.conf (this node's and the peer's\n"
	    "  database addresses), starts it (log: DIR.log), creates the\n"
	    "  database and applies the schema and master-key check value.\n"
	    "  --pg-cert/--pg-key turn on TLS between the databases (hostssl;\n"
	    "  with --pg-ca the standby verifies the primary's certificate).\n"
	    "  An existing DIR is only started (when needed) and checked.\n"
	    "  Binaries: pg_config --bindir, or $PG_BINDIR." },
	{ "db init-passive", "[-c CONFIG] --datadir DIR [--from HOST:PORT] "
	    "[--user USER] [--timeout S] [--pg-cert FILE --pg-key FILE "
	    "[--pg-ca FILE]]",
	    "make the passive's database a hot standby of the active's",
	    cmd_db_init_passive,
	    "  Before: copy the active's master key to this node, e.g.\n"
	    "    scp kw-a:/etc/keyward/master.key /etc/keyward/master.key\n"
	    "    chmod 600 /etc/keyward/master.key\n"
	    "  (owned by the user that runs keyward-server).  Then this takes a\n"
	    "  base backup of the active's database (--from, default [db] peer)\n"
	    "  through a replication slot named after this node, writes this\n"
	    "  node's own settings over the copied ones, starts it as a hot\n"
	    "  standby, waits until it streams and checks the master key against\n"
	    "  the database.  --timeout bounds the base backup (default 600 s).\n"
	    "  An existing standby in DIR is only started.  Next: on the active,\n"
	    "  keyward-admin db enable-sync." },
	{ "db enable-sync", "[-c CONFIG]",
	    "make the streaming standby the primary's synchronous standby",
	    cmd_db_enable_sync,
	    "  On whichever of [db] local and [db] peer is primary: refuses\n"
	    "  unless a standby streams from it, then sets\n"
	    "  synchronous_standby_names = '*' (ALTER SYSTEM) and waits up to\n"
	    "  10 s for sync_state = sync.  From then on a commit returns only\n"
	    "  once the standby has applied it." },
	{ "db configure", "[-c CONFIG] --datadir DIR [--user USER] "
	    "[--pg-cert FILE --pg-key FILE [--pg-ca FILE]]",
	    "write this node's PostgreSQL settings again from the config",
	    cmd_db_configure,
	    "  Rewrites keyward-node.conf (listen address and port of [db]\n"
	    "  local, socket directory, TLS files: kept unless --pg-cert is\n"
	    "  given), pg_hba.conf ([db] local's and [db] peer's addresses) and\n"
	    "  pg_ident.conf, and reloads a running database.  Run it on the\n"
	    "  surviving node after pointing [db] peer at a rebuilt node's new\n"
	    "  address, before init-passive or rejoin there.  A new listen\n"
	    "  address, port or TLS file takes a restart (db stop, db start)." },
	{ "db start", "--datadir DIR [--user USER]",
	    "start a node's PostgreSQL (as the service user)", cmd_db_start,
	    NULL },
	{ "db stop", "--datadir DIR [--user USER]",
	    "stop a node's PostgreSQL (fast shutdown)", cmd_db_stop, NULL },
	{ "status", "[-c CONFIG] [--json]",
	    "both databases, replication, sync state, lag, whether writes are "
	    "allowed", cmd_status,
	    "  Probes both databases as keyward-server's cluster monitor does.\n"
	    "  Exit status 0 when writes are allowed, 1 when they are refused\n"
	    "  (the reason is printed), 2 on a usage error." },
	{ "db settle", "[-c CONFIG] [--force]",
	    "settle every unconfirmed key row on this node's database (after "
	    "a restore)", cmd_db_settle,
	    "  Makes every key, version and delete that writes left\n"
	    "  unconfirmed final on this node's primary database, asking no\n"
	    "  standby: for a restored database or one whose standby is gone\n"
	    "  for good.  Refused while the peer's database answers, unless\n"
	    "  --force.  keyward-restore runs it." },
	{ "promote", "[-c CONFIG] [--force]",
	    "make this node's database the primary (the passive takes over)",
	    cmd_promote,
	    "  Refused while the peer's database still answers as primary,\n"
	    "  unless --force.  Promotes this node's standby, sets\n"
	    "  synchronous_standby_names = '*' on it, and says what to do next:\n"
	    "  rejoin the old active as the passive (keyward-admin rejoin).\n"
	    "  Until then keyward-server refuses writes (no synchronous standby)." },
	{ "rejoin", "[-c CONFIG] --datadir DIR [--from HOST:PORT] [--fresh] "
	    "[--user USER] [--timeout S] [--pg-cert FILE --pg-key FILE "
	    "[--pg-ca FILE]]",
	    "turn a former active into the passive of the new active",
	    cmd_rejoin,
	    "  Stops this node's database, rewinds it onto the new primary\n"
	    "  (--from, default [db] peer) with pg_rewind, or when that fails\n"
	    "  (or with --fresh) moves DIR aside to DIR.old-TIME and takes a new\n"
	    "  base backup; writes this node's own settings again, makes it a\n"
	    "  standby through its replication slot, starts it and waits until\n"
	    "  it is the synchronous standby.  Works on any host and address:\n"
	    "  nothing needs rebuilding under the old name." },
	{ "verify", "[-c CONFIG] [--passphrase-file FILE]",
	    "check that every version of every key unwraps under the master "
	    "keyring", cmd_verify,
	    "  The database's active master key must be in the keyring, and\n"
	    "  every version must unwrap under the master key its row names.\n"
	    "  Prints the versions per master key.  A sealed keyring opens with\n"
	    "  --passphrase-file (its first line), keys.passphrase_file or the\n"
	    "  terminal." },
	{ "keys import", "[-c CONFIG] [--passphrase-file FILE] --count N "
	    "[--prefix P] [--start S] [--versions V] [--length 128|256] "
	    "[--batch B]",
	    "make N keys at once, wrapped as the server does, in batches of "
	    "acknowledged writes", cmd_keys_import,
	    "  Names are PREFIX followed by S, S+1, ... (--prefix default\n"
	    "  \"import-\": letters, digits, '.', '_', '-').  Each key gets V\n"
	    "  versions (default 2) of new random material of --length bits,\n"
	    "  wrapped under the database's active master key, and is written\n"
	    "  settled, as a create and its rollovers leave it, B keys (default\n"
	    "  5000) per write.  Refused while the pair cannot take writes; a\n"
	    "  taken name fails its batch, and nothing of a failed batch is\n"
	    "  written.  Prints no key material." },
	{ "master-key status", "[-c CONFIG] [--passphrase-file FILE] [--json]",
	    "the master keys: which is active, which each server holds, how "
	    "many versions each wraps (the rewrap's progress)",
	    cmd_master_key_status, NULL },
	{ "master-key add", "[-c CONFIG] [--passphrase-file FILE] [--hsm]",
	    "add a new random master key to this node's keyring (not active "
	    "yet)", cmd_master_key_add,
	    "  With --hsm the key is made in the PKCS#11 token of\n"
	    "  keys.hsm_module (AES-256, sensitive, not extractable) and never\n"
	    "  leaves it; the keyring file is not changed.\n"
	    "  Converts a single master key from before keyrings on the way\n"
	    "  and keeps a sealed keyring sealed.  Then copy the file to the\n"
	    "  other node, reload both servers (SIGHUP: each records the master\n"
	    "  keys it holds in the database) and run master-key rotate." },
	{ "master-key rotate", "[-c CONFIG] [--passphrase-file FILE] [--to ID]",
	    "make a master key active (default: the keyring's newest); the "
	    "servers then rewrap every version under it", cmd_master_key_rotate,
	    "  A write: refused unless both databases are healthy and both\n"
	    "  servers have reported holding the key.  Runs over [db] admin\n"
	    "  (the superuser, on the node whose database is the primary) when\n"
	    "  configured.  Both servers wrap new versions under it within a\n"
	    "  monitor interval and move the existing ones in batches\n"
	    "  (keys.rewrap_batch) in the background; a restart of either\n"
	    "  resumes it.  Progress: master-key status." },
	{ "master-key retire", "[-c CONFIG] [--passphrase-file FILE] ID",
	    "remove a master key from this node's keyring once no version "
	    "refers to it", cmd_master_key_retire,
	    "  Refused for the active key, and while either database holds a\n"
	    "  version wrapped under it (or does not answer).  Do the same on\n"
	    "  the other node, then reload both servers." },
	{ "master-key check", "[-c CONFIG] [--passphrase-file FILE] [--token] "
	    "[--json] [ID]...",
	    "does this node's keyring file and token hold every master key "
	    "its database (or the IDs) needs", cmd_master_key_check,
	    "  Without IDs: every master key a version in the database is\n"
	    "  wrapped under, and the active one.  Prints where each is (the\n"
	    "  keyring file or the token) or MISSING; exit status 1 names the\n"
	    "  missing ones.  --token looks in the token only (the keyring file\n"
	    "  is not read).  keyward-backup and keyward-restore run it." },
	{ "master-key convert", "[-c CONFIG]",
	    "rewrite a single master key from before keyrings as a keyring",
	    cmd_master_key_convert, NULL },
	{ "master-key seal", "[-c CONFIG] [--new-passphrase-file FILE] "
	    "[--scrypt-n N]",
	    "seal the keyring file under a passphrase (scrypt, AES-256-GCM)",
	    cmd_master_key_seal,
	    "  The passphrase is the first line of --new-passphrase-file, or is\n"
	    "  asked twice on the terminal.  scrypt's cost N (default 32768,\n"
	    "  r 8, p 1) is recorded in the file.  keyward-server then needs the\n"
	    "  passphrase at start: keys.passphrase_file, --passphrase-fd or\n"
	    "  the terminal." },
	{ "master-key unseal", "[-c CONFIG] [--passphrase-file FILE]",
	    "write the keyring file in the clear again", cmd_master_key_unseal,
	    NULL },
	{ "master-key change-passphrase", "[-c CONFIG] [--passphrase-file FILE] "
	    "[--new-passphrase-file FILE] [--scrypt-n N]",
	    "seal the keyring file under a new passphrase",
	    cmd_master_key_change_passphrase, NULL },
	{ "audit", "[-c CONFIG] [-n COUNT] [--key NAME] [--user NAME] "
	    "[--result OK|DENIED|UNAUTHENTICATED|ERROR] [--json]",
	    "print the newest audit records, oldest first", cmd_audit,
	    "  Reads audit.file and its rotated copies (FILE.1 ... FILE.keep)\n"
	    "  and prints the newest COUNT (default 20) records that match:\n"
	    "  --key the key name, --user the identity or the proxy's real\n"
	    "  user, --result the result.  A table by default (an aggregated\n"
	    "  record shows its count); --json prints the records as written,\n"
	    "  one JSON object per line.  Lines that are not JSON are skipped\n"
	    "  and counted on stderr." },
	{ "backup open", "--input FILE --into DIR [--key KEY [--cert CERT]] "
	    "--signer CERT... [--insecure-unsigned] [--cleartext]",
	    "check a backup's signature and unpack it into a new private "
	    "directory", cmd_backup_open,
	    "  Decrypts FILE with a recipient's KEY, checks that one of the\n"
	    "  --signer certificates signed it and that its archive holds only\n"
	    "  regular files and directories with safe relative names, then\n"
	    "  makes DIR (mode 0700; it must not exist) and unpacks into it.\n"
	    "  Nothing is written unless every check passes.  --cleartext\n"
	    "  accepts a backup that is not encrypted, --insecure-unsigned one\n"
	    "  that is not signed.  keyward-restore runs this." },
	{ "backup keygen", "[-c CONFIG]",
	    "make the node's backup signing key and certificate (when missing)",
	    cmd_backup_keygen,
	    "  Writes backup-signing.key (mode 0600) and backup-signing.pem\n"
	    "  beside CONFIG, unless both exist.  keyward-backup signs with\n"
	    "  the key; keyward-restore --signer takes the certificate." },
	{ "config set", "[-c CONFIG] [--db-host HOST] [--db-port PORT] "
	    "[SECTION.NAME=VALUE]...",
	    "change settings in keyward.conf, keeping the rest of the file",
	    cmd_config_set,
	    "  Each SECTION.NAME must be a setting of keyward.conf(5); its line\n"
	    "  is replaced (or added to its section).  --db-host and --db-port\n"
	    "  set host (and hostaddr, when present) and port in db.local's\n"
	    "  connection string, keeping its other keywords and their quoting\n"
	    "  right.  The new file must load, or nothing is changed." },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	size_t i, w = 0;

	fprintf(fp, "usage: keyward-admin COMMAND [ARGS]   (keyward %s)\n\n"
	    "commands:\n", KW_VERSION);
	for (i = 0; i < NCMDS; i++)
		if (strlen(cmds[i].name) > w)
			w = strlen(cmds[i].name);
	/* two spaces at least after the name: test/docs/check-man reads it */
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %-*s  %s\n", (int)w, cmds[i].name, cmds[i].help);
	fprintf(fp, "\n`keyward-admin COMMAND --help` shows a command's "
	    "arguments.  Exit status: 0 success, 1 failure, 2 usage error.\n");
}

void
admin_usage(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0) {
			fprintf(stderr, "usage: keyward-admin %s %s\n  %s\n",
			    cmds[i].name, cmds[i].usage, cmds[i].help);
			if (cmds[i].detail != NULL)
				fprintf(stderr, "\n%s\n", cmds[i].detail);
		}
}

int
admin_config_arg(int argc, char **argv, const char *name, const char **path)
{
	return admin_config_pass_arg(argc, argv, name, path, NULL);
}

int
admin_config_pass_arg(int argc, char **argv, const char *name,
    const char **path, const char **pass_file)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*path = ADMIN_DEFAULT_CONFIG;
	if (pass_file != NULL)
		*pass_file = NULL;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*path = optarg;
			break;
		case 'h':
			admin_usage(name);
			return EXIT_OK;
		case 'p':
			if (pass_file != NULL) {
				*pass_file = optarg;
				break;
			}
			/* FALLTHROUGH */
		default:
			admin_usage(name);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		admin_usage(name);
		return EXIT_USAGE;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	char two[64];
	size_t i;

	log_init_mode("keyward-admin", LOG_LVL_INFO, LOG_MODE_COMMAND);
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("keyward-admin %s\n", KW_VERSION);
		return EXIT_OK;
	}
	if (argc >= 3) {
		snprintf(two, sizeof(two), "%s %s", argv[1], argv[2]);
		for (i = 0; i < NCMDS; i++)
			if (strcmp(cmds[i].name, two) == 0)
				return cmds[i].exec(argc - 2, argv + 2);
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, argv[1]) == 0)
			return cmds[i].exec(argc - 1, argv + 1);
	log_errx("unknown command \"%s\"", argv[1]);
	usage_all(stderr);
	return EXIT_USAGE;
}
