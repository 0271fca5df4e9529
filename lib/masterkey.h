/*
 * masterkey.h: where a node's keyring comes from: keys.master_key_file
 * (checked like every secret file), and, when it is sealed, the
 * passphrase: a file descriptor (read once), a file (keys.passphrase_file,
 * e.g. a systemd credential) or the terminal.  Shared by keyward-server
 * (start and SIGHUP) and keyward-admin.  Not thread-safe: one caller at
 * a time.  Never logs; messages never hold a secret.
 */
#ifndef KW_MASTERKEY_H
#define KW_MASTERKEY_H

#include <stddef.h>
#include "keyring.h"
#include "secbuf.h"

struct masterkey;

struct masterkey_opts {
	const char	*path;		/* keys.master_key_file */
	const char	*pass_file;	/* "" or NULL: none */
	int		 pass_fd;	/* -1: none */
	int		 prompt;	/* may ask on the terminal */
};

/* NULL when memory is short.  masterkey_free(NULL) is a no-op. */
struct masterkey *masterkey_new(const struct masterkey_opts *o);
void	masterkey_free(struct masterkey *mk);

/*
 * Read and parse the keyring.  A sealed one is opened with the
 * passphrase that opened it last (kept in locked memory, so a reload
 * needs no terminal), else from the descriptor, the file, the terminal,
 * in that order.  0 with *out (and *form, may be NULL), or -1 with a
 * message naming the file: missing, loose mode, damaged, sealed without
 * a passphrase, wrong passphrase.
 */
int	masterkey_load(struct masterkey *mk, struct keyring **out,
	    enum keyring_form *form, char *err, size_t errlen) WUR;
/* The passphrase that opened the keyring last, or NULL. */
const struct secbuf *masterkey_passphrase(const struct masterkey *mk);
/* The cost the sealed file was made with (after a load of one). */
const struct keyring_seal *masterkey_seal(const struct masterkey *mk);

/*
 * Write kr to path (sealed under pass when not NULL, with cost seal or
 * the defaults) through a temporary file and a rename, mode 0600, keeping
 * the owner and group of the file it replaces.  0, or -1 with err.
 */
int	masterkey_save(const char *path, const struct keyring *kr,
	    const struct secbuf *pass, const struct keyring_seal *seal,
	    char *err, size_t errlen) WUR;

/*
 * Ask for a passphrase on the terminal (echo off); confirm asks twice
 * and refuses a mismatch.  NULL with err when there is no terminal, it
 * is empty or the two differ.
 */
struct secbuf *masterkey_ask(const char *prompt, int confirm, char *err,
	    size_t errlen);

#endif
