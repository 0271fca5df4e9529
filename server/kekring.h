/*
 * kekring.h: the master keys in force in this server: its keyring (from
 * keys.master_key_file) and which KEK is active, as the database says.
 *
 * New versions are wrapped under the active KEK; a stored version is
 * unwrapped under the KEK its row names, so versions wrapped under an
 * older KEK keep working while the rewrap moves them.  The cluster
 * monitor passes on the active id it reads every probe (a rotation is
 * picked up without a restart); SIGHUP hands over a new keyring.  The
 * rewrap of one batch and the record of the KEKs this server holds live
 * here too (the rewrap thread calls them).  Thread-safe: the keyring is
 * swapped under a lock; wraps and unwraps take it shared.
 */
#ifndef KW_KEKRING_H
#define KW_KEKRING_H

#include <stddef.h>
#include <stdint.h>
#include "../db/db.h"
#include "../lib/crypto.h"
#include "../lib/keyring.h"

struct kekring;

/*
 * The keyring ring (taken over) checked against db: it must hold the
 * active KEK (same check value) and every KEK a stored version is
 * wrapped under.  node names this server in kek_holders.  NULL with a
 * message in err (naming the missing KEKs, never a key).
 */
struct kekring *kekring_new(struct db *db, struct keyring *ring,
	    const char *node, char *err, size_t errlen);
void	kekring_free(struct kekring *kr);

/*
 * Wrap material for name@version under the active KEK into out
 * (material->len + KW_WRAP_OVERHEAD bytes); kek_id receives its id.
 * 0 or -1.
 */
int	kekring_wrap(struct kekring *kr, const char *name, uint32_t version,
	    const struct secbuf *material, unsigned char *out,
	    char kek_id[KW_KEK_ID_LEN + 1]) WUR;
/*
 * Unwrap a stored version under the KEK its row names: the material in a
 * new secbuf, or NULL (logged) when this server lacks that KEK or the
 * row does not unwrap.
 */
struct secbuf *kekring_unwrap(struct kekring *kr, const char *name,
	    const struct db_key_version *dv);

/* The database says kek_id is active (from the monitor).  A KEK this
 * server lacks is logged and not used. */
void	kekring_set_active(struct kekring *kr, const char *kek_id);
/* The id of the KEK new versions are wrapped under. */
void	kekring_active(struct kekring *kr, char kek_id[KW_KEK_ID_LEN + 1]);

/*
 * Use ring (taken over) from now on, if it holds the active KEK and every
 * KEK a stored version refers to; else keep the old one.  0, or -1 with
 * the reason in err.
 */
int	kekring_reload(struct kekring *kr, struct keyring *ring, char *err,
	    size_t errlen) WUR;
/*
 * Record in the database which KEKs this server holds, if not done since
 * the last start or reload.  1 recorded now, 0 nothing to do, -1 the
 * write failed (try again later).
 */
int	kekring_record(struct kekring *kr);
/*
 * Rewrap one batch: read up to max versions not under the active KEK
 * (from the other end when descending), unwrap each, wrap the same
 * material under the active KEK, check it unwraps to the same material,
 * store the batch in one acknowledged write.  *seen: versions read,
 * *moved: versions the write moved.  Once no version is left, a batch
 * of KMIP objects (db/kmipdb.h) instead, each checked the same way and
 * stored in a write of its own.  KW_OK, or the error of the read or
 * the write.
 */
enum kw_err kekring_rewrap(struct kekring *kr, int max, int descending,
	    size_t *seen, size_t *moved) WUR;

#endif
