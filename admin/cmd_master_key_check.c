/*
 * cmd_master_key_check.c: `keyward-admin master-key check`: does this
 * node hold every master key (KEK) a database, or a list of ids, needs?
 *
 * A KEK is held when it is in the keyring file or in the PKCS#11 token
 * of keys.hsm_module.  Without ids the database's own needs are checked:
 * every KEK a version is wrapped under and the active one.  --token looks
 * in the token only (the keyring file is not read, so a sealed one needs
 * no passphrase): keyward-backup uses it to record which of a database's
 * KEKs are token keys, keyward-restore the full check to refuse a node
 * whose token lacks one before it touches a database.  Never prints key
 * material: only ids and where each is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "mkey.h"
#include "../db/db.h"
#include "../lib/log.h"

#define CHECK_MAX	128	/* ids one check looks at */

/* Add id to ids (n of them) unless it is there or malformed: 0 or -1. */
static int
want(char (*ids)[KW_KEK_ID_LEN + 1], size_t *n, const char *id)
{
	size_t i;

	if (strlen(id) != KW_KEK_ID_LEN ||
	    strspn(id, "0123456789abcdef") != KW_KEK_ID_LEN) {
		log_errx("\"%s\" is not a master key id (%d hex digits)", id,
		    KW_KEK_ID_LEN);
		return -1;
	}
	for (i = 0; i < *n; i++)
		if (strcmp(ids[i], id) == 0)
			return 0;
	if (*n == CHECK_MAX) {
		log_errx("more than %d master key ids to check", CHECK_MAX);
		return -1;
	}
	snprintf(ids[(*n)++], KW_KEK_ID_LEN + 1, "%s", id);
	return 0;
}

/* The ids the database needs (versions' KEKs and the active): 0 or -1. */
static int
db_needs(struct db *db, char (*ids)[KW_KEK_ID_LEN + 1], size_t *n)
{
	struct db_kek_use *use = NULL;
	unsigned char check[DB_KEK_CHECK_LEN];
	char active[KW_KEK_ID_LEN + 1];
	size_t i, nu = 0;
	enum kw_err e;
	int rc = -1;

	if ((e = db_kek_active(db, active, check)) != KW_OK &&
	    e != KW_ENOTFOUND) {
		log_errx("could not read the active master key from the "
		    "database");
		return -1;
	}
	if (e == KW_OK && want(ids, n, active) != 0)
		goto out;
	if (db_kek_usage(db, &use, &nu) != KW_OK) {
		log_errx("could not count the key versions per master key in "
		    "the database");
		goto out;
	}
	for (i = 0; i < nu; i++)
		if (use[i].versions > 0 && want(ids, n, use[i].kek_id) != 0)
			goto out;
	rc = 0;
out:
	free(use);
	return rc;
}

int
cmd_master_key_check(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	const struct keyring_kek *k;
	char (*ids)[KW_KEK_ID_LEN + 1] = NULL, missing[256];
	const char *where;
	json_t *arr = NULL, *o;
	char *text;
	size_t i, n = 0, nmissing = 0;
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key check", MK_IDS | MK_TOKEN |
	    MK_JSON, &a)) >= 0)
		return ch;
	a.lenient = 1;		/* a token without keys: all MISSING */
	memset(&m, 0, sizeof(m));
	if ((ids = calloc(CHECK_MAX, sizeof(*ids))) == NULL) {
		log_errx("out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)a.nids; i++)
		if (want(ids, &n, a.ids[i]) != 0) {
			rc = EXIT_USAGE;
			goto out;
		}
	if (mkey_open(&m, &a, a.nids == 0, 0) != 0)
		goto out;
	if (a.token && m.hsm == NULL) {
		log_errx("--token needs keys.hsm_module (this node has no token)");
		goto out;
	}
	if (a.nids == 0 && db_needs(m.db, ids, &n) != 0)
		goto out;
	missing[0] = '\0';
	arr = a.json ? json_array() : NULL;
	for (i = 0; i < n; i++) {
		k = keyring_find(m.ring, ids[i]);
		where = k == NULL ? "missing" : k->hsm != NULL ? "token" :
		    "keyring";
		if (k == NULL) {
			nmissing++;
			snprintf(missing + strlen(missing), sizeof(missing) -
			    strlen(missing), "%s%s", nmissing > 1 ? ", " : "",
			    ids[i]);
		}
		if (arr != NULL)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "id",
			    ids[i], "where", where));
		else if (k == NULL)
			printf("master key %s: MISSING\n", ids[i]);
		else if (k->hsm != NULL)
			printf("master key %s: in token \"%s\"\n", ids[i],
			    m.cfg->hsm_token_label);
		else
			printf("master key %s: in the keyring file\n", ids[i]);
	}
	if (arr != NULL) {
		o = json_pack("{s:o, s:b}", "keks", arr, "ok", nmissing == 0);
		arr = NULL;
		if (o == NULL || (text = json_dumps(o, JSON_INDENT(2))) == NULL) {
			json_decref(o);
			log_errx("out of memory");
			goto out;
		}
		printf("%s\n", text);
		free(text);
		json_decref(o);
	}
	if (nmissing > 0) {
		log_errx("this node lacks %zu of the %zu master keys %s: %s "
		    "(%s)", nmissing, n, a.nids > 0 ? "asked for" :
		    "its database needs", missing, a.token ? "looked in token "
		    "only" : m.hsm != NULL ? "neither in the keyring file nor "
		    "in the token" : "not in the keyring file");
		goto out;
	}
	rc = EXIT_OK;
out:
	json_decref(arr);
	free(ids);
	mkey_close(&m);
	return rc;
}
