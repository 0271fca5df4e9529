/*
 * cmd_verify.c: `keyward-admin verify`: prove that the node's database and
 * master key belong together, key by key: the master key matches the check
 * value, and every version of every key unwraps under it (AES-256-GCM with
 * the name, version and KEK id as associated data).  keyward-restore runs
 * it after a restore and for --verify-only.  It reads only; it never
 * prints key material.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../db/db.h"
#include "../lib/crypto.h"
#include "../lib/secfile.h"


/*
 * Unwrap every version of every key; count keys, versions and failures
 * (each failure printed by name and version).  0 when the database
 * answered every query, -1 when not (printed).
 */
static int
verify_keys(struct db *db, const struct secbuf *kek, const char *kek_id,
    size_t *nkeys, size_t *nversions, size_t *nbad)
{
	struct db_key_version *vs = NULL;
	struct secbuf *mat;
	char **names = NULL;
	size_t i, j, n = 0, nv = 0;
	enum kw_err e;
	int rc = -1;

	*nkeys = *nversions = *nbad = 0;
	if (db_key_names(db, &names, &n) != KW_OK) {
		fprintf(stderr, "keyward-admin: could not list the keys\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = db_key_versions(db, names[i], &vs, &nv);
		if (e == KW_ENOTFOUND)
			continue;	/* deleted since the listing */
		if (e != KW_OK) {
			fprintf(stderr, "keyward-admin: could not read the versions "
			    "of key \"%s\"\n", names[i]);
			goto out;
		}
		(*nkeys)++;
		for (j = 0; j < nv; j++) {
			(*nversions)++;
			if (strcmp(vs[j].kek_id, kek_id) != 0) {
				fprintf(stderr, "keyward-admin: key \"%s\" version %u "
				    "is wrapped under master key %s, not %s\n",
				    names[i], vs[j].version, vs[j].kek_id, kek_id);
				(*nbad)++;
				continue;
			}
			mat = crypto_unwrap(kek, vs[j].kek_id, names[i],
			    vs[j].version, vs[j].wrapped, vs[j].wrapped_len);
			if (mat == NULL) {
				fprintf(stderr, "keyward-admin: key \"%s\" version %u "
				    "does not unwrap under master key %s\n",
				    names[i], vs[j].version, kek_id);
				(*nbad)++;
			}
			secbuf_free(mat);
		}
		db_key_versions_free(vs, nv);
		vs = NULL;
		nv = 0;
	}
	rc = 0;
out:
	db_key_versions_free(vs, nv);
	db_names_free(names, n);
	return rc;
}

int
cmd_verify(int argc, char **argv)
{
	const char *path;
	struct kw_config *cfg = NULL;
	struct secbuf *pw = NULL, *kek = NULL;
	struct db *db = NULL;
	unsigned char check[KW_CHECK_LEN];
	char err[512], kek_id[KW_KEK_ID_LEN + 1];
	size_t nkeys, nversions, nbad;
	int ch, failed, rc = EXIT_FAIL;

	if ((ch = admin_config_arg(argc, argv, "verify", &path)) >= 0)
		return ch;
	memset(check, 0, sizeof(check));
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "keyward-admin: %s\n", err);
		goto out;
	}
	pw = admin_read_password(cfg, &failed);
	if (failed)
		goto out;
	if (admin_kek_verify(cfg, pw != NULL ? (const char *)pw->data : NULL) != 0)
		goto out;
	if ((kek = secfile_read_as("master key file", cfg->master_key_file,
	    4096, err, sizeof(err))) == NULL) {
		fprintf(stderr, "keyward-admin: %s\n", err);
		goto out;
	}
	if (kek->len != KW_KEK_LEN || crypto_kek_check(kek, check, kek_id) != 0) {
		fprintf(stderr, "keyward-admin: master key file \"%s\" is not a "
		    "usable master key\n", cfg->master_key_file);
		goto out;
	}
	db = db_new(cfg->db_local, NULL, pw != NULL ? (const char *)pw->data :
	    NULL, 1, cfg->db_connect_timeout_s < 10 ? 10 :
	    cfg->db_connect_timeout_s, cfg->commit_deadline_ms);
	if (db == NULL) {
		fprintf(stderr, "keyward-admin: out of memory\n");
		goto out;
	}
	if (verify_keys(db, kek, kek_id, &nkeys, &nversions, &nbad) != 0)
		goto out;
	printf("keys %zu versions %zu unwrap-failures %zu\n", nkeys,
	    nversions, nbad);
	if (nbad != 0) {
		fprintf(stderr, "keyward-admin: %zu of %zu versions do not unwrap "
		    "under master key %s\n", nbad, nversions, kek_id);
		goto out;
	}
	printf("every version of every key unwraps under master key %s\n",
	    kek_id);
	rc = EXIT_OK;
out:
	secure_wipe(check, sizeof(check));
	db_free(db);
	secbuf_free(kek);
	secbuf_free(pw);
	config_free(cfg);
	return rc;
}
