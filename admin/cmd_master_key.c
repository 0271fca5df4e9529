/*
 * cmd_master_key.c: `keyward-admin master-key add | rotate | retire |
 * status | convert`: the life of the pair's master keys (KEKs).
 *
 * The keyring file (keys.master_key_file) says which KEKs a node holds;
 * the database says which one is active (kek_check) and which KEKs each
 * server reported holding (kek_holders).  add puts a new KEK in this
 * node's file; rotate makes a KEK active, a write refused unless both
 * servers hold it; the servers then rewrap every version under it in the
 * background; retire takes a KEK out of this node's file once no version
 * on either database is wrapped under it.  The sealing commands are in
 * cmd_master_key_seal.c; the options they share are parsed here.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "mkey.h"
#include "../db/db.h"
#include "../lib/log.h"
#include "../lib/masterkey.h"

int
mkey_args(int argc, char **argv, const char *name, unsigned allowed,
    struct mkey_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "new-passphrase-file", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "to", required_argument, NULL, 't' },
		{ "scrypt-n", required_argument, NULL, 's' },
		{ "hsm", no_argument, NULL, 'H' },
		{ "token", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
	a->config = ADMIN_DEFAULT_CONFIG;
	a->seal.n = KEYRING_SCRYPT_N;
	a->seal.r = KEYRING_SCRYPT_R;
	a->seal.p = KEYRING_SCRYPT_P;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->config = optarg;
			continue;
		case 'h':
			admin_usage(name);
			return EXIT_OK;
		case 'p':
			a->pass_file = optarg;
			continue;
		case 'n':
			if (allowed & MK_NEWPASS) {
				a->new_pass_file = optarg;
				continue;
			}
			break;
		case 'j':
			if (allowed & MK_JSON) {
				a->json = 1;
				continue;
			}
			break;
		case 't':
			if (allowed & MK_TO) {
				a->to = optarg;
				continue;
			}
			break;
		case 'H':
			if (allowed & MK_HSM) {
				a->hsm = 1;
				continue;
			}
			break;
		case 'T':
			if (allowed & MK_TOKEN) {
				a->token = 1;
				continue;
			}
			break;
		case 's':
			a->seal.n = strtoull(optarg, &end, 10);
			if ((allowed & MK_NEWPASS) && *end == '\0' &&
			    a->seal.n >= 1024 && (a->seal.n & (a->seal.n - 1)) == 0)
				continue;
			break;
		default:
			break;
		}
		admin_usage(name);
		return EXIT_USAGE;
	}
	if ((allowed & MK_ID) && optind + 1 == argc)
		a->id = argv[optind++];
	if (allowed & MK_IDS) {
		a->ids = argv + optind;
		a->nids = argc - optind;
		optind = argc;
	}
	if (optind != argc || ((allowed & MK_ID) && a->id == NULL)) {
		admin_usage(name);
		return EXIT_USAGE;
	}
	return -1;
}

int
mkey_open(struct mkey *m, const struct mkey_args *a, int need_db, int admin)
{
	char err[512];
	int failed;

	memset(m, 0, sizeof(*m));
	if ((m->cfg = config_load(a->config, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		return -1;
	}
	if (a->token) {
		/* the token alone: a sealed file needs no passphrase */
		m->form = KEYRING_PLAIN;
		if ((m->ring = keyring_new()) == NULL) {
			log_errx("out of memory");
			return -1;
		}
	} else if (admin_load_keyring(m->cfg, a->pass_file, &m->mk, &m->ring,
	    &m->form) != 0)
		return -1;
	if (admin_join_hsm(m->cfg, m->ring, !a->lenient, &m->hsm) != 0)
		return -1;
	if (!need_db)
		return 0;
	m->pw = admin_read_password(m->cfg, &failed);
	if (failed)
		return -1;
	/* the superuser over the socket when configured: kek_check is its */
	m->db = admin_db(m->cfg, admin && m->cfg->db_admin[0] != '\0' ?
	    m->cfg->db_admin : m->cfg->db_local, 1, m->pw != NULL ?
	    (const char *)m->pw->data : NULL);
	return m->db != NULL ? 0 : -1;
}

void
mkey_close(struct mkey *m)
{
	db_free(m->db);
	secbuf_free(m->pw);
	keyring_free(m->ring);
	hsm_free(m->hsm);
	masterkey_free(m->mk);
	config_free(m->cfg);
	memset(m, 0, sizeof(*m));
}

int
mkey_save(struct mkey *m, const struct secbuf *pass)
{
	char err[512];

	if (masterkey_save(m->cfg->master_key_file, m->ring, pass,
	    pass != NULL ? masterkey_seal(m->mk) : NULL, err,
	    sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	return 0;
}

const char *
mkey_form_name(enum keyring_form f)
{
	switch (f) {
	case KEYRING_LEGACY:
		return "a single master key (from before keyrings)";
	case KEYRING_SEALED:
		return "a sealed keyring";
	default:
		return "a keyring";
	}
}

/* The nodes whose servers must hold a KEK before it is made active. */
static size_t
pair_nodes(const struct kw_config *cfg, const char *nodes[2])
{
	nodes[0] = cfg->node_name;
	nodes[1] = cfg->peer_name;
	return cfg->db_peer[0] != '\0' ? 2 : 1;
}

/* Does holders list node holding id? */
static int
holds(const struct db_kek_holder *h, size_t n, const char *node,
    const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(h[i].node, node) == 0 && strcmp(h[i].kek_id, id) == 0)
			return 1;
	return 0;
}

/* master-key add --hsm: a new KEK made in the token; closes m. */
static int
add_in_token(struct mkey *m)
{
	struct hsm_kek k;
	char err[512];
	int rc = EXIT_FAIL;

	if (m->hsm == NULL) {
		log_errx("--hsm needs keys.hsm_module "
		    "(and hsm_token_label, hsm_key_label, hsm_pin_file)");
		goto out;
	}
	if (hsm_generate(m->hsm, &k, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		goto out;
	}
	printf("added master key %s in token \"%s\" (label \"%s\"; it "
	    "cannot leave the token)\n", k.id, m->cfg->hsm_token_label,
	    m->cfg->hsm_key_label);
	printf("next: reload both servers (SIGHUP: each records the master "
	    "keys it holds in the database; the other node needs a token "
	    "holding the same key), then keyward-admin master-key rotate\n");
	rc = EXIT_OK;
out:
	mkey_close(m);
	return rc;
}

int
cmd_master_key_add(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	const struct keyring_kek *k;
	char err[512];
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key add", MK_HSM, &a)) >= 0)
		return ch;
	a.lenient = a.hsm;	/* a token-only file, an empty token: the first */
	if (mkey_open(&m, &a, 0, 0) != 0)
		goto out;
	if (a.hsm)
		return add_in_token(&m);
	if (keyring_add(m.ring, NULL, &k, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		goto out;
	}
	if (mkey_save(&m, masterkey_passphrase(m.mk)) != 0)
		goto out;
	printf("added master key %s to %s (%zu keys%s)\n", k->id,
	    m.cfg->master_key_file, keyring_count(m.ring),
	    m.form == KEYRING_SEALED ? ", sealed as before" : "");
	printf("next: copy %s to the other node (mode 0600, owned by the user "
	    "that runs keyward-server), reload both servers (SIGHUP), then "
	    "keyward-admin master-key rotate\n", m.cfg->master_key_file);
	rc = EXIT_OK;
out:
	mkey_close(&m);
	return rc;
}

int
cmd_master_key_convert(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key convert", 0, &a)) >= 0)
		return ch;
	if (mkey_open(&m, &a, 0, 0) != 0)
		goto out;
	if (m.form != KEYRING_LEGACY) {
		printf("%s is already %s\n", m.cfg->master_key_file,
		    mkey_form_name(m.form));
		rc = EXIT_OK;
		goto out;
	}
	if (mkey_save(&m, NULL) != 0)
		goto out;
	printf("converted %s to a keyring holding master key %s\n",
	    m.cfg->master_key_file, keyring_at(m.ring, 0)->id);
	rc = EXIT_OK;
out:
	mkey_close(&m);
	return rc;
}

int
cmd_master_key_rotate(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	struct db_kek_holder *h = NULL;
	const struct keyring_kek *k;
	const char *nodes[2];
	unsigned char check[DB_KEK_CHECK_LEN];
	char active[KW_KEK_ID_LEN + 1];
	size_t i, nn, nh = 0, holding;
	enum kw_err e;
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key rotate", MK_TO, &a)) >= 0)
		return ch;
	if (mkey_open(&m, &a, 1, 1) != 0)
		goto out;
	k = a.to != NULL ? keyring_find(m.ring, a.to) :
	    keyring_at(m.ring, keyring_count(m.ring) - 1);
	if (k == NULL) {
		log_errx("master key %s is not in %s",
		    a.to, m.cfg->master_key_file);
		goto out;
	}
	if (db_kek_active(m.db, active, check) != KW_OK) {
		log_errx("could not read the active master "
		    "key from the database");
		goto out;
	}
	if (strcmp(active, k->id) == 0) {
		printf("master key %s is already the active one\n", k->id);
		rc = EXIT_OK;
		goto out;
	}
	nn = pair_nodes(m.cfg, nodes);
	e = db_kek_activate(m.db, k->id, k->check, nodes, nn, &holding);
	switch (e) {
	case KW_OK:
		printf("master key %s is active (was %s): both servers wrap new "
		    "versions under it within a monitor interval and rewrap the "
		    "existing ones in the background; follow with keyward-admin "
		    "master-key status\n", k->id, active);
		rc = EXIT_OK;
		goto out;
	case KW_ENOTFOUND:
		if (db_kek_holders(m.db, &h, &nh) != KW_OK)
			nh = 0;
		for (i = 0; i < nn; i++)
			if (!holds(h, nh, nodes[i], k->id))
				log_errx("the server of %s has "
				    "not reported holding master key %s: install "
				    "the keyring there and reload its server "
				    "(SIGHUP)", nodes[i], k->id);
		log_errx("rotation refused: %zu of %zu "
		    "servers hold master key %s", holding, nn, k->id);
		break;
	case KW_EUNAVAIL:
		log_errx("rotation refused: the pair takes "
		    "no writes now (both databases must be healthy; see "
		    "keyward-admin status)");
		break;
	case KW_ENOTACK:
		log_errx("the rotation was not acknowledged "
		    "by both databases: it may or may not take effect; see "
		    "keyward-admin master-key status and run it again");
		break;
	default:
		log_errx("the rotation failed (run it on "
		    "the node whose database is the primary)");
		break;
	}
out:
	free(h);
	mkey_close(&m);
	return rc;
}

int
cmd_master_key_retire(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	const struct keyring_kek *k;
	unsigned char check[DB_KEK_CHECK_LEN];
	char active[KW_KEK_ID_LEN + 1];
	int64_t nl, np;
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key retire", MK_ID, &a)) >= 0)
		return ch;
	if (mkey_open(&m, &a, 1, 0) != 0)
		goto out;
	if ((k = keyring_find(m.ring, a.id)) == NULL) {
		log_errx("master key %s is not in %s",
		    a.id, m.cfg->master_key_file);
		goto out;
	}
	if (k->hsm != NULL) {
		/* the file never held it: nothing here to take out, and
		 * destroying it in the token would make older backups
		 * unrestorable (a backup never holds a token key) */
		log_errx("master key %s is in token \"%s\", not in %s: it stays "
		    "there (and the servers keep holding it) until it is removed "
		    "with the token's own tools, once no backup that needs it "
		    "is kept", a.id, m.cfg->hsm_token_label,
		    m.cfg->master_key_file);
		goto out;
	}
	if (db_kek_active(m.db, active, check) != KW_OK) {
		log_errx("could not read the active master "
		    "key from the database");
		goto out;
	}
	if (strcmp(active, a.id) == 0) {
		log_errx("retire refused: master key %s is "
		    "the active one (rotate to another first)", a.id);
		goto out;
	}
	if (db_kek_refs(m.db, a.id, &nl, &np) != KW_OK || nl < 0 ||
	    (m.cfg->db_peer[0] != '\0' && np < 0)) {
		log_errx("retire refused: both databases "
		    "must answer to show that no version is wrapped under %s",
		    a.id);
		goto out;
	}
	if (nl > 0 || np > 0) {
		log_errx("retire refused: %lld key versions "
		    "are still wrapped under master key %s (the rewrap has not "
		    "finished: keyward-admin master-key status)",
		    (long long)(nl > np ? nl : np), a.id);
		goto out;
	}
	if (keyring_remove(m.ring, a.id) != 0 ||
	    mkey_save(&m, masterkey_passphrase(m.mk)) != 0)
		goto out;
	printf("retired master key %s: removed from %s (%zu keys left%s); do "
	    "the same on the other node, then reload both servers (SIGHUP)\n",
	    a.id, m.cfg->master_key_file, keyring_count(m.ring),
	    keyring_count(m.ring) == keyring_count_hsm(m.ring) ? ", all in the "
	    "token: the file is token-only now and holds no key" : "");
	rc = EXIT_OK;
out:
	mkey_close(&m);
	return rc;
}

/* One KEK id seen anywhere (keyring, database, holders). */
struct kek_row {
	char	id[KW_KEK_ID_LEN + 1];
	int	in_ring;
	int	in_token;
	int64_t	versions;
};

static struct kek_row *
row_for(struct kek_row *rows, size_t *n, size_t max, const char *id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(rows[i].id, id) == 0)
			return &rows[i];
	if (*n == max)
		return NULL;
	memset(&rows[*n], 0, sizeof(rows[0]));
	snprintf(rows[*n].id, sizeof(rows[0].id), "%s", id);
	return &rows[(*n)++];
}

int
cmd_master_key_status(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	struct db_kek_use *use = NULL;
	struct db_kek_holder *h = NULL;
	struct kek_row rows[128], *r;
	const char *nodes[2];
	unsigned char check[DB_KEK_CHECK_LEN];
	char active[KW_KEK_ID_LEN + 1], held[160];
	size_t i, j, n = 0, nu = 0, nh = 0, nn;
	int64_t total = 0, under = 0;
	json_t *o = NULL, *arr = NULL, *who;
	char *text;
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key status", MK_JSON, &a)) >= 0)
		return ch;
	if (mkey_open(&m, &a, 1, 0) != 0)
		goto out;
	if (db_kek_active(m.db, active, check) != KW_OK ||
	    db_kek_usage(m.db, &use, &nu) != KW_OK ||
	    db_kek_holders(m.db, &h, &nh) != KW_OK) {
		log_errx("could not read the master keys' "
		    "state from either database");
		goto out;
	}
	for (i = 0; i < keyring_count(m.ring); i++)
		if ((r = row_for(rows, &n, 128, keyring_at(m.ring, i)->id))) {
			r->in_ring = 1;
			r->in_token = keyring_at(m.ring, i)->hsm != NULL;
		}
	(void)row_for(rows, &n, 128, active);
	for (i = 0; i < nu; i++) {
		if ((r = row_for(rows, &n, 128, use[i].kek_id)) != NULL)
			r->versions = use[i].versions;
		total += use[i].versions;
		if (strcmp(use[i].kek_id, active) == 0)
			under = use[i].versions;
	}
	nn = pair_nodes(m.cfg, nodes);
	if (!a.json) {
		printf("%s: %s of %zu master keys", m.cfg->master_key_file,
		    mkey_form_name(m.form), keyring_count(m.ring));
		if (keyring_count_hsm(m.ring) > 0)
			printf(" (%zu of them in token \"%s\"%s)",
			    keyring_count_hsm(m.ring), m.cfg->hsm_token_label,
			    keyring_count_hsm(m.ring) == keyring_count(m.ring) ?
			    ": the file is token-only" : "");
		printf("\n");
		printf("%-16s  %-6s  %-8s  %10s  %s\n", "master key", "active",
		    "keyring", "versions", "held by servers of");
	} else
		arr = json_array();
	for (i = 0; i < n; i++) {
		held[0] = '\0';
		who = a.json ? json_array() : NULL;
		for (j = 0; j < nn; j++)
			if (holds(h, nh, nodes[j], rows[i].id)) {
				if (who != NULL)
					json_array_append_new(who,
					    json_string(nodes[j]));
				snprintf(held + strlen(held), sizeof(held) -
				    strlen(held), "%s%s", held[0] ? ", " : "",
				    nodes[j]);
			}
		if (a.json)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:b, "
			    "s:b, s:I, s:o}", "id", rows[i].id, "active",
			    strcmp(rows[i].id, active) == 0, "in_keyring",
			    rows[i].in_ring, "in_token", rows[i].in_token,
			    "versions",
			    (json_int_t)rows[i].versions, "held_by", who));
		else
			printf("%-16s  %-6s  %-8s  %10lld  %s\n", rows[i].id,
			    strcmp(rows[i].id, active) == 0 ? "yes" : "",
			    rows[i].in_token ? "token" : rows[i].in_ring ?
			    "yes" : "MISSING",
			    (long long)rows[i].versions, held[0] ? held : "-");
	}
	if (a.json) {
		o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:b}", "file",
		    m.cfg->master_key_file, "form", m.form == KEYRING_SEALED ?
		    "sealed" : m.form == KEYRING_LEGACY ? "single" : "keyring",
		    "active", active, "keks", arr, "versions", (json_int_t)total,
		    "versions_under_active", (json_int_t)under, "rewrap_done",
		    under == total);
		if (o == NULL || (text = json_dumps(o, JSON_INDENT(2))) == NULL)
			goto out;
		printf("%s\n", text);
		free(text);
	} else if (under == total)
		printf("rewrap: done: all %lld versions are wrapped under the "
		    "active master key %s\n", (long long)total, active);
	else
		printf("rewrap: %lld of %lld versions (%.1f%%) are wrapped under "
		    "the active master key %s; the servers are moving the other "
		    "%lld\n", (long long)under, (long long)total,
		    100.0 * (double)under / (double)total, active,
		    (long long)(total - under));
	rc = EXIT_OK;
out:
	json_decref(o);
	free(use);
	free(h);
	mkey_close(&m);
	return rc;
}
