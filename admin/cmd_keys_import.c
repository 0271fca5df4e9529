/*
 * cmd_keys_import.c: `keyward-admin keys import`: make many keys at once,
 * for loading a pair (benchmarks, migrations of test data) faster than
 * the API can.  Each key gets new random material for each of its
 * versions, wrapped exactly as the server wraps it (the database's active
 * master key, the name, version and KEK id as associated data), and is
 * written in batches of one acknowledged write each, settled, as a create
 * and its rollovers leave it (db/keyimport.c).  Refused, with nothing
 * written, while the pair cannot take writes.  Prints no key material.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "mkey.h"
#include "../db/db.h"
#include "../lib/clock.h"
#include "../lib/crypto.h"
#include "../lib/masterkey.h"
#include "../lib/log.h"

#define IMPORT_MAX	10000000L	/* keys per run */
#define BATCH_DEFAULT	5000
#define BATCH_MAX	50000
#define VERSIONS_MAX	100
#define PREFIX_MAX	200

struct import_opts {
	const char	*config;
	const char	*pass_file;
	const char	*prefix;
	long		 count;
	long		 start;
	long		 versions;
	long		 length;
	long		 batch;
};

/* One batch's names and wrapped versions (wrapped is not secret). */
struct batch {
	char		**names;
	char		 *namebuf;
	unsigned char	 *wrapped;
};

/* A number option from lo to hi into *out: 0, or -1 printed. */
static int
num_arg(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		log_errx("%s wants a number from %ld to %ld", opt, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* Names stay simple: the prefix is letters, digits and "._-". */
static int
prefix_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > PREFIX_MAX || strspn(p, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return 0;
	return 1;
}

/* -1 to go on, or the exit code (help printed, usage error). */
static int
import_getopt(int argc, char **argv, struct import_opts *o)
{
	enum { OPT_PASS = 256, OPT_PREFIX, OPT_START, OPT_VERSIONS,
		OPT_LENGTH, OPT_BATCH };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "passphrase-file", required_argument, NULL, OPT_PASS },
		{ "count", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "start", required_argument, NULL, OPT_START },
		{ "versions", required_argument, NULL, OPT_VERSIONS },
		{ "length", required_argument, NULL, OPT_LENGTH },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, bad = 0;

	memset(o, 0, sizeof(*o));
	o->config = ADMIN_DEFAULT_CONFIG;
	o->prefix = "import-";
	o->versions = 2;
	o->length = 128;
	o->batch = BATCH_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case OPT_PASS:
			o->pass_file = optarg;
			break;
		case 'n':
			bad |= num_arg("--count", optarg, 1, IMPORT_MAX,
			    &o->count);
			break;
		case OPT_PREFIX:
			o->prefix = optarg;
			break;
		case OPT_START:
			bad |= num_arg("--start", optarg, 0, 1000000000L,
			    &o->start);
			break;
		case OPT_VERSIONS:
			bad |= num_arg("--versions", optarg, 1, VERSIONS_MAX,
			    &o->versions);
			break;
		case OPT_LENGTH:
			bad |= num_arg("--length", optarg, 128, 256,
			    &o->length);
			break;
		case OPT_BATCH:
			bad |= num_arg("--batch", optarg, 1, BATCH_MAX,
			    &o->batch);
			break;
		case 'h':
			admin_usage("keys import");
			return EXIT_OK;
		default:
			bad = -1;
		}
	}
	if (!bad && (o->length != 128 && o->length != 256)) {
		log_errx("--length wants 128 or 256");
		bad = -1;
	}
	if (!bad && o->count == 0) {
		log_errx("--count is required");
		bad = -1;
	}
	if (!bad && !prefix_ok(o->prefix)) {
		log_errx("--prefix wants 1 to %d letters, digits, '.', '_' "
		    "or '-'", PREFIX_MAX);
		bad = -1;
	}
	if (bad || optind != argc) {
		admin_usage("keys import");
		return EXIT_USAGE;
	}
	return -1;
}

static void
batch_free(struct batch *b)
{
	free(b->names);
	free(b->namebuf);
	free(b->wrapped);
}

/*
 * Fill b with keys first..first+n-1: names, and each version's new
 * material wrapped under k.  0, or -1 printed.
 */
static int
batch_make(struct batch *b, const struct import_opts *o, long first,
    size_t n, const struct keyring_kek *k, size_t mlen, size_t wlen)
{
	struct secbuf *mat;
	size_t i, namelen = strlen(o->prefix) + 24;
	uint32_t v;
	unsigned char *w = b->wrapped;

	if ((mat = secbuf_new(mlen)) == NULL) {
		log_errx("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		b->names[i] = b->namebuf + i * namelen;
		snprintf(b->names[i], namelen, "%s%ld", o->prefix,
		    first + (long)i);
		for (v = 0; v < (uint32_t)o->versions; v++) {
			if (crypto_random(mat->data, mlen) != 0 ||
			    keyring_wrap(k, b->names[i], v, mat, w) != 0) {
				secbuf_free(mat);
				log_errx("could not make or wrap key material");
				return -1;
			}
			w += wlen;
		}
	}
	secbuf_free(mat);
	return 0;
}

/* Say why a batch was not written: the first key's name tells which. */
static void
batch_refused(enum kw_err e, const char *first, long done)
{
	switch (e) {
	case KW_EEXIST:
		log_errx("a key of the batch from \"%s\" exists already: "
		    "that batch was not written", first);
		break;
	case KW_EUNAVAIL:
		log_errx("the pair cannot take writes now (no primary with a "
		    "synchronous standby): nothing of the batch from \"%s\" "
		    "was written", first);
		break;
	case KW_ENOTACK:
		log_errx("the batch from \"%s\" was not acknowledged by the "
		    "standby: it may be on the primary only until the servers "
		    "settle it", first);
		break;
	default:
		log_errx("the database refused the batch from \"%s\"", first);
	}
	log_info("%ld keys were imported before it", done);
}

int
cmd_keys_import(int argc, char **argv)
{
	struct import_opts o;
	struct mkey_args a = { 0 };
	struct mkey m = { 0 };
	const struct keyring_kek *k;
	struct batch b = { NULL, NULL, NULL };
	struct db_import im;
	char active[KW_KEK_ID_LEN + 1];
	size_t mlen, wlen, n, namelen;
	long done = 0;
	int64_t t0;
	enum kw_err e;
	int ch, rc = EXIT_FAIL;

	if ((ch = import_getopt(argc, argv, &o)) >= 0)
		return ch;
	/* config, keyring (and token), the database over [db] local + peer */
	a.config = o.config;
	a.pass_file = o.pass_file;
	if (mkey_open(&m, &a, 1, 0) != 0)
		goto out;
	if (admin_ring_bind(m.db, m.ring, m.cfg->master_key_file, 0,
	    active) != 0)
		goto out;
	if ((k = keyring_find(m.ring, active)) == NULL)
		goto out;	/* admin_ring_bind said so */
	mlen = (size_t)o.length / 8;
	wlen = mlen + KW_WRAP_OVERHEAD;
	namelen = strlen(o.prefix) + 24;
	b.names = calloc((size_t)o.batch, sizeof(*b.names));
	b.namebuf = calloc((size_t)o.batch, namelen);
	b.wrapped = calloc((size_t)o.batch * (size_t)o.versions, wlen);
	if (b.names == NULL || b.namebuf == NULL || b.wrapped == NULL) {
		log_errx("out of memory");
		goto out;
	}
	t0 = clock_mono_ms();
	while (done < o.count) {
		n = (size_t)(o.count - done < o.batch ? o.count - done : o.batch);
		if (batch_make(&b, &o, o.start + done, n, k, mlen, wlen) != 0)
			goto out;
		im.names = (const char *const *)b.names;
		im.n = n;
		im.length = (int)o.length;
		im.versions = (uint32_t)o.versions;
		im.kek_id = active;
		im.wrapped = b.wrapped;
		im.wrapped_len = wlen;
		if ((e = db_keys_import(m.db, &im)) != KW_OK) {
			batch_refused(e, b.names[0], done);
			goto out;
		}
		done += (long)n;
	}
	printf("imported %ld keys of %ld versions (%s%ld to %s%ld) under "
	    "master key %s in %.1f s\n", done, o.versions, o.prefix, o.start,
	    o.prefix, o.start + done - 1, active,
	    (double)(clock_mono_ms() - t0) / 1000.0);
	rc = EXIT_OK;
out:
	batch_free(&b);
	mkey_close(&m);
	return rc;
}
