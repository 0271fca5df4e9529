/*
 * admin.h: keyward-admin's command table and what its commands share.
 * Each command is one table entry (admin/main.c) plus one exec function
 * in its own file, tmux style.
 */
#ifndef KW_ADMIN_H
#define KW_ADMIN_H

#include <stddef.h>
#include "../lib/config.h"
#include "../lib/hsm.h"

struct secbuf;
struct db;
struct keyring;
struct masterkey;

#include "../lib/keyring.h"

#define ADMIN_DEFAULT_CONFIG	"/etc/keyward/keyward.conf"

/* Exit codes of every command. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct admin_cmd {
	const char	*name;		/* "init", "db migrate", ... */
	const char	*usage;		/* arguments after the name */
	const char	*help;		/* one line */
	int		(*exec)(int argc, char **argv);
	const char	*detail;	/* more help for --help, or NULL */
};

/* cmd_init.c */
int	cmd_init(int argc, char **argv);
/* cmd_db.c */
int	cmd_db_migrate(int argc, char **argv);
/*
 * Apply the migrations to the primary named by cfg's [db] local and store
 * (or verify) the master key's check value, printing what happened.  0 or
 * -1 (printed).  password may be NULL.
 */
int	admin_migrate(const struct kw_config *cfg, const char *password,
	    const char *pass_file);
/* The database password of cfg (first line of db.password_file), or NULL
 * when none is configured or (*failed set, reason printed) unreadable. */
struct secbuf *admin_read_password(const struct kw_config *cfg, int *failed);
/*
 * Compare cfg's master key with the check value in the local database
 * (a standby will do): 0 when they match, -1 (printed, saying what to do)
 * when not, when the key is missing or the database does not answer.
 */
int	admin_kek_verify(const struct kw_config *cfg, const char *password);
/* keyring.c: the master keyring */
#define ADMIN_CONNECT_S	10	/* connect timeout of admin commands */
/*
 * Load cfg's keyring; a sealed one opens with the first line of
 * pass_file (NULL: keys.passphrase_file) or, without one, asks the
 * terminal.  0 with *mkp and *ring (and *form, may be NULL), or -1
 * printed.
 */
/*
 * With keys.hsm_module set: open the token and add its master keys to
 * ring; *hsm (NULL without a token) must outlive ring (hsm_free after
 * keyring_free).  0, or -1 printed; with need, also -1 when ring ends
 * up empty (a token-only keyring file and no key in the token).
 */
int	admin_join_hsm(const struct kw_config *cfg, struct keyring *ring,
	    int need, struct hsm **hsm);
int	admin_load_keyring(const struct kw_config *cfg, const char *pass_file,
	    struct masterkey **mkp, struct keyring **ring,
	    enum keyring_form *form);
/* The database layer over local (and cfg's peer when with_peer), for an
 * operator's command; NULL printed. */
struct db *admin_db(const struct kw_config *cfg, const char *local,
	    int with_peer, const char *password);
/*
 * The database's active KEK (into active) must be in ring (path names
 * the file in messages); with store, a database without one takes the
 * ring's newest.  0 or -1 printed.
 */
int	admin_ring_bind(struct db *db, const struct keyring *ring,
	    const char *path, int store, char active[KW_KEK_ID_LEN + 1]);
/* cmd_master_key.c, cmd_master_key_check.c, cmd_master_key_seal.c */
int	cmd_master_key_status(int argc, char **argv);
int	cmd_master_key_add(int argc, char **argv);
int	cmd_master_key_rotate(int argc, char **argv);
int	cmd_master_key_retire(int argc, char **argv);
int	cmd_master_key_convert(int argc, char **argv);
int	cmd_master_key_check(int argc, char **argv);
int	cmd_master_key_seal(int argc, char **argv);
int	cmd_master_key_unseal(int argc, char **argv);
int	cmd_master_key_change_passphrase(int argc, char **argv);
/* cmd_db_bootstrap.c */
int	cmd_db_bootstrap(int argc, char **argv);
/* cmd_db_passive.c */
int	cmd_db_init_passive(int argc, char **argv);
/* cmd_db_sync.c */
int	cmd_db_enable_sync(int argc, char **argv);
/* cmd_db_configure.c */
int	cmd_db_configure(int argc, char **argv);
/* cmd_db_ctl.c */
int	cmd_db_start(int argc, char **argv);
int	cmd_db_stop(int argc, char **argv);
/* cmd_status.c */
int	cmd_status(int argc, char **argv);
/* cmd_db_settle.c */
int	cmd_db_settle(int argc, char **argv);
/* cmd_promote.c */
int	cmd_promote(int argc, char **argv);
/* cmd_rejoin.c */
int	cmd_rejoin(int argc, char **argv);
/* cmd_verify.c */
int	cmd_verify(int argc, char **argv);
/* cmd_keys_import.c */
int	cmd_keys_import(int argc, char **argv);
/* cmd_config.c */
int	cmd_config_show(int argc, char **argv);
/* cmd_audit.c */
int	cmd_audit(int argc, char **argv);
/* cmd_backup_open.c, cmd_backup_keygen.c, cmd_config_set.c: restores */
int	cmd_backup_open(int argc, char **argv);
int	cmd_backup_keygen(int argc, char **argv);
int	cmd_config_set(int argc, char **argv);
/* The backup signing key and certificate, in the config directory. */
#define ADMIN_SIGNING_KEY	"backup-signing.key"
#define ADMIN_SIGNING_CERT	"backup-signing.pem"
/*
 * Make confdir's backup signing key (mode 0600) and self-signed
 * certificate for node unless both exist; says what it did.  0 or -1
 * (printed).
 */
int	admin_backup_keygen(const char *confdir, const char *node);

/* Print the usage of the command named name to stderr (main.c). */
void	admin_usage(const char *name);
/*
 * The options of a command that takes only -c/--config and -h/--help:
 * *path is the config file (default ADMIN_DEFAULT_CONFIG).  -1 to go on,
 * or the exit code to return (help printed, or a usage error).
 */
int	admin_config_arg(int argc, char **argv, const char *name,
	    const char **path);
/* The same, also taking --passphrase-file FILE (*pass_file, else NULL). */
int	admin_config_pass_arg(int argc, char **argv, const char *name,
	    const char **path, const char **pass_file);

/*
 * tlsgen.c: a self-signed EC P-256 server certificate valid for days,
 * subject CN=cn, subjectAltName san (e.g. "DNS:localhost,IP:127.0.0.1").
 * Writes the key with mode 0600 and the certificate with mode 0644.
 * 0, or -1 with a message in err.
 */
int	tlsgen_self_signed(const char *cn, const char *san, int days,
	    const char *cert_path, const char *key_path, char *err,
	    size_t errlen);
/* The same for signing (backups): no subjectAltName, EKU
 * emailProtection, key usage digitalSignature and nonRepudiation. */
int	tlsgen_signer(const char *cn, int days, const char *cert_path,
	    const char *key_path, char *err, size_t errlen);

#endif
