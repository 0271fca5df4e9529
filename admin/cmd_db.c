/*
 * cmd_db.c: `keyward-admin db migrate`: bring the node's database schema
 * up to date and bind the database to this node's master keyring: a new
 * database takes the keyring's newest KEK as the active one (its check
 * value), an existing one must find its active KEK in the keyring.
 * admin_migrate is the same step for `db bootstrap`.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../db/db.h"
#include "../lib/masterkey.h"
#include "../lib/secfile.h"
#include "../lib/log.h"

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
		log_errx("%s", err);
		*failed = 1;
	}
	return pw;
}

int
admin_migrate(const struct kw_config *cfg, const char *password,
    const char *pass_file)
{
	struct masterkey *mk = NULL;
	struct keyring *ring = NULL;
	struct hsm *hsm = NULL;
	struct db *db = NULL;
	char err[512], active[KW_KEK_ID_LEN + 1];
	int rc = -1, set;

	/* the token's keys too: a new database takes the newest KEK */
	if (admin_load_keyring(cfg, pass_file, &mk, &ring, NULL) != 0 ||
	    admin_join_hsm(cfg, ring, 1, &hsm) != 0)
		goto out;
	/* the superuser: migrations make roles and grant */
	if ((db = admin_db(cfg, cfg->db_admin[0] != '\0' ? cfg->db_admin :
	    cfg->db_local, 0, password)) == NULL)
		goto out;
	if (db_migrate(db, err, sizeof(err)) != KW_OK) {
		log_errx("migration failed: %s", err);
		goto out;
	}
	printf("database schema at version %d\n", db_schema_version(db));
	if (password != NULL) {
		if (db_roles_password(db, password, &set) != KW_OK) {
			log_errx("could not set the "
			    "passwords of roles " DB_ROLE_SERVER " and "
			    DB_ROLE_REPL);
			goto out;
		}
		if (set)
			printf("roles " DB_ROLE_SERVER " and " DB_ROLE_REPL
			    " have the password of %s\n", cfg->db_password_file);
	}
	if (admin_ring_bind(db, ring, cfg->master_key_file, 1, active) != 0)
		goto out;
	printf("master key %s matches the database\n", active);
	rc = 0;
out:
	db_free(db);
	keyring_free(ring);
	hsm_free(hsm);
	masterkey_free(mk);
	return rc;
}

int
admin_kek_verify(const struct kw_config *cfg, const char *password)
{
	struct masterkey *mk = NULL;
	struct keyring *ring = NULL;
	struct hsm *hsm = NULL;
	struct db *db = NULL;
	char active[KW_KEK_ID_LEN + 1];
	int rc = -1;

	if (admin_load_keyring(cfg, NULL, &mk, &ring, NULL) != 0) {
		log_errx("copy the active's master key "
		    "file to this node (mode 0600, owned by the user that runs "
		    "keyward-server)");
		goto out;
	}
	if (admin_join_hsm(cfg, ring, 1, &hsm) != 0)
		goto out;
	if ((db = admin_db(cfg, cfg->db_local, 0, password)) == NULL)
		goto out;
	if (admin_ring_bind(db, ring, cfg->master_key_file, 0, active) != 0)
		goto out;
	printf("master key %s matches the database\n", active);
	rc = 0;
out:
	db_free(db);
	keyring_free(ring);
	hsm_free(hsm);
	masterkey_free(mk);
	return rc;
}

int
cmd_db_migrate(int argc, char **argv)
{
	const char *path, *pass_file;
	struct kw_config *cfg = NULL;
	struct secbuf *pw = NULL;
	char err[512];
	int ch, failed, rc = EXIT_FAIL;

	if ((ch = admin_config_pass_arg(argc, argv, "db migrate", &path,
	    &pass_file)) >= 0)
		return ch;
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	pw = admin_read_password(cfg, &failed);
	if (failed)
		goto out;
	if (admin_migrate(cfg, pw != NULL ? (const char *)pw->data : NULL,
	    pass_file) == 0)
		rc = EXIT_OK;
out:
	secbuf_free(pw);
	config_free(cfg);
	return rc;
}
