/*
 * mkey.h: what the master-key commands share (cmd_master_key*.c): their
 * options and the state a command opens, which keys import
 * (cmd_keys_import.c) opens too.
 */
#ifndef KW_ADMIN_MKEY_H
#define KW_ADMIN_MKEY_H

#include "../lib/config.h"
#include "../lib/keyring.h"

struct db;
struct hsm;
struct masterkey;

/* Options a master-key command takes beyond -c and --passphrase-file. */
#define MK_NEWPASS	0x01	/* --new-passphrase-file, --scrypt-n */
#define MK_JSON		0x02	/* --json */
#define MK_TO		0x04	/* --to ID */
#define MK_ID		0x08	/* one ID argument */
#define MK_HSM		0x10	/* --hsm */
#define MK_IDS		0x20	/* any number of ID arguments */
#define MK_TOKEN	0x40	/* --token */

struct mkey_args {
	const char		*config;
	const char		*pass_file;
	const char		*new_pass_file;
	const char		*to;
	const char		*id;
	int			 json;
	int			 hsm;		/* --hsm */
	int			 token;		/* --token: no keyring file */
	int			 lenient;	/* no KEK at all is no error */
	char			**ids;		/* MK_IDS: the arguments */
	int			 nids;
	struct keyring_seal	 seal;		/* cost of a new seal */
};

/* What a command opened: free with mkey_close. */
struct mkey {
	struct kw_config	*cfg;
	struct masterkey	*mk;
	struct keyring		*ring;
	enum keyring_form	 form;
	struct secbuf		*pw;
	struct db		*db;
	struct hsm		*hsm;		/* keys.hsm_module, or NULL */
};

/* Parse the options (allowed: MK_*); -1 to go on, else the exit code. */
int	mkey_args(int argc, char **argv, const char *name, unsigned allowed,
	    struct mkey_args *a);
/*
 * Load the config and the keyring (only the token's KEKs with --token)
 * and, with need_db, the database layer
 * (over [db] admin when admin and configured, else [db] local; [db] peer
 * too).  0, or -1 printed; mkey_close in both cases.
 */
int	mkey_open(struct mkey *m, const struct mkey_args *a, int need_db,
	    int admin);
void	mkey_close(struct mkey *m);
/* Write m->ring back to the file, sealed under pass when not NULL (with
 * the cost it was read with).  0 or -1 printed. */
int	mkey_save(struct mkey *m, const struct secbuf *pass);
/* "a sealed keyring" and the like. */
const char *mkey_form_name(enum keyring_form f);

#endif
