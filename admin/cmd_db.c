/*
 * cmd_db.c: `keyward-admin db migrate`: bring the node's database schema
 * up to date and bind the database to this node's master key by storing
 * its check value (or verifying the one already there).  admin_migrate
 * is the same step for `db bootstrap`.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../db/db.h"
#include "../lib/crypto.h"
#include "../lib/secfile.h"

/* The database password from the config's password file, or NULL
 * (*failed set when the file could not be read). */
struct secbuf *
admin_read_password(const struct kw_config *cfg, int *failed)
{
	struct secbuf *pw;
	char err[512];

	*failed = 0;
	if (cfg->db_password_file[0] == '\0')
		return NULL;
	if ((pw = secfile_read_password(cfg->db_password_file, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "keyward-admin: %s\n", err);
		*failed = 1;
	}
	return pw;
}

#define ADMIN_CONNECT_S	10	/* connect timeout of admin commands */

/*
 * Read this node's master key (advice, when not NULL, ends the message
 * of a missing or unreadable file), compute its check value into check
 * and kek_id, and open the local database through conninfo.  0 with *dbp
 * set, or -1 with the reason printed.
 */
static int
kek_and_db(const struct kw_config *cfg, const char *conninfo,
    const char *password, const char *advice,
    unsigned char check[KW_CHECK_LEN],
    char kek_id[KW_KEK_ID_LEN + 1], struct db **dbp)
{
	struct secbuf *kek;
	char err[512];
	int rc = -1;

	*dbp = NULL;
	if ((kek = secfile_read_as("master key file", cfg->master_key_file,
	    4096, err, sizeof(err))) == NULL) {
		fprintf(stderr, "keyward-admin: %s%s\n", err,
		    advice != NULL ? advice : "");
		return -1;
	}
	if (kek->len != KW_KEK_LEN) {
		fprintf(stderr, "keyward-admin: master key file \"%s\" holds %zu "
		    "bytes, expected %d\n", cfg->master_key_file, kek->len,
		    KW_KEK_LEN);
		goto out;
	}
	if (crypto_kek_check(kek, check, kek_id) != 0) {
		fprintf(stderr, "keyward-admin: could not compute the master key "
		    "check value\n");
		goto out;
	}
	/* an operator's command can wait longer than a request */
	*dbp = db_new(conninfo, NULL, password, 1,
	    cfg->db_connect_timeout_s < ADMIN_CONNECT_S ? ADMIN_CONNECT_S :
	    cfg->db_connect_timeout_s, cfg->commit_deadline_ms);
	if (*dbp == NULL) {
		fprintf(stderr, "keyward-admin: out of memory\n");
		goto out;
	}
	rc = 0;
out:
	secbuf_free(kek);
	return rc;
}

int
admin_migrate(const struct kw_config *cfg, const char *password)
{
	struct db *db = NULL;
	unsigned char check[KW_CHECK_LEN];
	char err[512], kek_id[KW_KEK_ID_LEN + 1];
	int rc = -1, set;
	enum kw_err e;

	/* the superuser: migrations make roles and grant */
	if (kek_and_db(cfg, cfg->db_admin[0] != '\0' ? cfg->db_admin :
	    cfg->db_local, password, NULL, check, kek_id, &db) != 0)
		goto out;
	if (db_migrate(db, err, sizeof(err)) != KW_OK) {
		fprintf(stderr, "keyward-admin: migration failed: %s\n", err);
		goto out;
	}
	printf("database schema at version %d\n", db_schema_version(db));
	if (password != NULL) {
		if (db_roles_password(db, password, &set) != KW_OK) {
			fprintf(stderr, "keyward-admin: could not set the "
			    "passwords of roles " DB_ROLE_SERVER " and "
			    DB_ROLE_REPL "\n");
			goto out;
		}
		if (set)
			printf("roles " DB_ROLE_SERVER " and " DB_ROLE_REPL
			    " have the password of %s\n", cfg->db_password_file);
	}
	e = db_kek_check(db, kek_id, check, sizeof(check), 1);
	if (e == KW_ECRYPTO) {
		fprintf(stderr, "keyward-admin: master key \"%s\" does not match "
		    "the database: it was initialised with another master key\n",
		    cfg->master_key_file);
		goto out;
	}
	if (e != KW_OK) {
		fprintf(stderr, "keyward-admin: could not store or verify the "
		    "master key check value\n");
		goto out;
	}
	printf("master key %s matches the database\n", kek_id);
	rc = 0;
out:
	secure_wipe(check, sizeof(check));
	db_free(db);
	return rc;
}

int
admin_kek_verify(const struct kw_config *cfg, const char *password)
{
	struct db *db = NULL;
	unsigned char check[KW_CHECK_LEN];
	char kek_id[KW_KEK_ID_LEN + 1];
	int rc = -1;
	enum kw_err e;

	if (kek_and_db(cfg, cfg->db_local, password, ": copy the active's master.key to this "
	    "node (mode 0600, owned by the user that runs keyward-server)",
	    check, kek_id, &db) != 0)
		goto out;
	e = db_kek_check(db, kek_id, check, sizeof(check), 0);
	if (e == KW_OK) {
		printf("master key %s matches the database\n", kek_id);
		rc = 0;
	} else if (e == KW_ECRYPTO) {
		fprintf(stderr, "keyward-admin: master key \"%s\" (%s) is not the "
		    "pair's: copy the active's master.key over it (mode 0600); "
		    "keyward-server refuses to start until they match\n",
		    cfg->master_key_file, kek_id);
	} else if (e == KW_ENOTFOUND) {
		fprintf(stderr, "keyward-admin: the database holds no master key "
		    "check value: run keyward-admin db bootstrap (or db migrate) "
		    "on the active first\n");
	} else {
		fprintf(stderr, "keyward-admin: could not read the master key "
		    "check value from %s\n", cfg->db_local);
	}
out:
	secure_wipe(check, sizeof(check));
	db_free(db);
	return rc;
}

int
cmd_db_migrate(int argc, char **argv)
{
	const char *path;
	struct kw_config *cfg = NULL;
	struct secbuf *pw = NULL;
	char err[512];
	int ch, failed, rc = EXIT_FAIL;

	if ((ch = admin_config_arg(argc, argv, "db migrate", &path)) >= 0)
		return ch;
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "keyward-admin: %s\n", err);
		goto out;
	}
	pw = admin_read_password(cfg, &failed);
	if (failed)
		goto out;
	if (admin_migrate(cfg, pw != NULL ? (const char *)pw->data : NULL) == 0)
		rc = EXIT_OK;
out:
	secbuf_free(pw);
	config_free(cfg);
	return rc;
}
