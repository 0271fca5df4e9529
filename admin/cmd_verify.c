/*
 * cmd_verify.c: `keyward-admin verify`: prove that the node's database and
 * master keyring belong together, key by key: the database's active KEK
 * is in the keyring, and every version of every key unwraps under the
 * KEK its row names (AES-256-GCM with the name, version and KEK id as
 * associated data), whichever KEKs a rotation left them under.
 * keyward-restore runs it after a restore and for --verify-only.  It
 * reads only; it never prints key material.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../db/db.h"
#include "../lib/crypto.h"
#include "../lib/masterkey.h"
#include "../lib/log.h"

struct tally {
	size_t	keys, versions, bad;
	size_t	per[64];		/* versions per keyring entry */
};

/* Versions read per round trip: bounds verify's memory at any key count. */
#define VERIFY_PAGE	10000

/*
 * Unwrap every version of every key under the KEK it names, a page at a
 * time; count keys, versions, versions per KEK and failures (each failure
 * printed by name and version).  0 when the database answered every
 * query, -1 when not (printed).
 */
static int
verify_keys(struct db *db, const struct keyring *ring, struct tally *t)
{
	struct db_scan_pos pos = { 0, 0 };
	struct db_scan_row *rows = NULL, *r;
	const struct keyring_kek *k;
	struct secbuf *mat;
	int64_t last_key = 0;
	size_t i, n = 0;

	memset(t, 0, sizeof(*t));
	do {
		if (db_scan_versions(db, &pos, VERIFY_PAGE, &rows, &n) !=
		    KW_OK) {
			log_errx("could not read the key versions");
			return -1;
		}
		for (i = 0; i < n; i++) {
			r = &rows[i];
			if (r->key_id != last_key)
				t->keys++;
			last_key = r->key_id;
			t->versions++;
			if ((k = keyring_find(ring, r->v.kek_id)) == NULL) {
				log_errx("key \"%s\" version %u "
				    "is wrapped under master key %s, which the "
				    "keyring lacks", r->name, r->v.version,
				    r->v.kek_id);
				t->bad++;
				continue;
			}
			t->per[k - keyring_at(ring, 0)]++;
			mat = keyring_unwrap(k, r->name, r->v.version,
			    r->v.wrapped, r->v.wrapped_len);
			if (mat == NULL) {
				log_errx("key \"%s\" version %u "
				    "does not unwrap under master key %s",
				    r->name, r->v.version, r->v.kek_id);
				t->bad++;
			}
			secbuf_free(mat);
		}
		db_scan_rows_free(rows, n);
	} while (n == VERIFY_PAGE);
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	const char *path, *pass_file;
	struct kw_config *cfg = NULL;
	struct secbuf *pw = NULL;
	struct masterkey *mk = NULL;
	struct keyring *ring = NULL;
	struct hsm *hsm = NULL;
	struct db *db = NULL;
	struct tally t;
	char err[512], active[KW_KEK_ID_LEN + 1];
	size_t i;
	int ch, failed, rc = EXIT_FAIL;

	if ((ch = admin_config_pass_arg(argc, argv, "verify", &path,
	    &pass_file)) >= 0)
		return ch;
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	pw = admin_read_password(cfg, &failed);
	if (failed)
		goto out;
	if (admin_load_keyring(cfg, pass_file, &mk, &ring, NULL) != 0 ||
	    admin_join_hsm(cfg, ring, 1, &hsm) != 0)
		goto out;
	if ((db = admin_db(cfg, cfg->db_local, 0, pw != NULL ?
	    (const char *)pw->data : NULL)) == NULL)
		goto out;
	if (admin_ring_bind(db, ring, cfg->master_key_file, 0, active) != 0)
		goto out;
	printf("master key %s matches the database\n", active);
	if (verify_keys(db, ring, &t) != 0)
		goto out;
	printf("keys %zu versions %zu unwrap-failures %zu\n", t.keys,
	    t.versions, t.bad);
	for (i = 0; i < keyring_count(ring); i++)
		printf("master key %s: %zu versions%s\n", keyring_at(ring, i)->id,
		    t.per[i], strcmp(keyring_at(ring, i)->id, active) == 0 ?
		    " (active)" : "");
	if (t.bad != 0) {
		log_errx("%zu of %zu versions do not unwrap "
		    "under the master keyring", t.bad, t.versions);
		goto out;
	}
	printf("every version of every key unwraps under the master keyring\n");
	rc = EXIT_OK;
out:
	db_free(db);
	keyring_free(ring);
	hsm_free(hsm);
	masterkey_free(mk);
	secbuf_free(pw);
	config_free(cfg);
	return rc;
}
