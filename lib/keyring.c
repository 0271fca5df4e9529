/*
 * keyring.c: the master keyring in memory and its three file forms
 * (keyring.h).  Owns parsing and formatting only; reading the file and
 * the passphrase is masterkey.c's, the cryptography crypto.c's.
 *
 * Plain form, one item a line ('#' lines and blank lines ignored):
 *
 *	keyward-keyring v1
 *	kek 3f0c9a2b7d1e4f50 <64 hex digits: the key>
 *
 * The id must be the key's own (crypto_kek_check), so a typing error or
 * a damaged key is caught when the file is read, not when a version
 * fails to unwrap.  A node whose every KEK is in a PKCS#11 token has a
 * file with the single line "token-only" after the magic and no kek
 * line (read as an empty keyring; a file with neither is damaged, not
 * token-only).  Sealed form:
 *
 *	keyward-keyring-sealed v1
 *	scrypt N r p <salt, 32 hex digits>
 *	aes-256-gcm <nonce, 24 hex digits>
 *	<ciphertext and tag in hex, 64 digits a line>
 *
 * The first three lines, as bytes, are the associated data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "hsm.h"
#include "keyring.h"

#define PLAIN_MAGIC	"keyward-keyring v1"
#define TOKEN_ONLY	"token-only"
#define SEALED_MAGIC	"keyward-keyring-sealed v1"
#define SALT_LEN	16
#define MAX_KEKS	64
#define HEX_LINE	64

struct keyring {
	struct keyring_kek	kek[MAX_KEKS];
	size_t			n;
};

struct keyring *
keyring_new(void)
{
	return calloc(1, sizeof(struct keyring));
}

void
keyring_free(struct keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->n; i++)
		secbuf_free(kr->kek[i].key);
	free(kr);
}

struct keyring *
keyring_dup(const struct keyring *kr)
{
	struct keyring *c;
	size_t i;

	if ((c = keyring_new()) == NULL)
		return NULL;
	for (i = 0; i < kr->n; i++)
		if ((kr->kek[i].hsm != NULL ? keyring_add_hsm(c,
		    kr->kek[i].hsm, kr->kek[i].handle, kr->kek[i].check, NULL,
		    0) : keyring_add(c, kr->kek[i].key->data, NULL, NULL,
		    0)) != 0) {
			keyring_free(c);
			return NULL;
		}
	return c;
}

size_t
keyring_count(const struct keyring *kr)
{
	return kr->n;
}

const struct keyring_kek *
keyring_at(const struct keyring *kr, size_t i)
{
	return i < kr->n ? &kr->kek[i] : NULL;
}

const struct keyring_kek *
keyring_find(const struct keyring *kr, const char *id)
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (strcmp(kr->kek[i].id, id) == 0)
			return &kr->kek[i];
	return NULL;
}

/* The next free entry, cleared; NULL (said in err) when the ring is full. */
static struct keyring_kek *
next_slot(struct keyring *kr, char *err, size_t errlen)
{
	struct keyring_kek *k;

	if (kr->n >= MAX_KEKS) {
		kw_seterr(err, errlen, "the keyring holds %d master keys "
		    "already: retire old ones first", MAX_KEKS);
		return NULL;
	}
	k = &kr->kek[kr->n];
	memset(k, 0, sizeof(*k));
	return k;
}

int
keyring_add(struct keyring *kr, const unsigned char *key,
    const struct keyring_kek **added, char *err, size_t errlen)
{
	struct keyring_kek *k;

	if ((k = next_slot(kr, err, errlen)) == NULL)
		return -1;
	if ((k->key = secbuf_new_locked(KW_KEK_LEN)) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		return -1;
	}
	if (key != NULL)
		memcpy(k->key->data, key, KW_KEK_LEN);
	else if (crypto_random(k->key->data, KW_KEK_LEN) != 0) {
		kw_seterr(err, errlen, "no random bytes for a new master key");
		goto fail;
	}
	if (crypto_kek_check(k->key, k->check, k->id) != 0) {
		kw_seterr(err, errlen, "could not compute a master key's check "
		    "value");
		goto fail;
	}
	if (keyring_find(kr, k->id) != NULL) {
		kw_seterr(err, errlen, "master key %s is in the keyring already",
		    k->id);
		goto fail;
	}
	kr->n++;
	if (added != NULL)
		*added = k;
	return 0;
fail:
	secbuf_free(k->key);
	memset(k, 0, sizeof(*k));
	return -1;
}

int
keyring_add_hsm(struct keyring *kr, struct hsm *h, unsigned long handle,
    const unsigned char check[KW_CHECK_LEN], char *err, size_t errlen)
{
	struct keyring_kek *k;

	if ((k = next_slot(kr, err, errlen)) == NULL)
		return -1;
	memcpy(k->check, check, KW_CHECK_LEN);
	crypto_check_id(check, k->id);
	if (keyring_find(kr, k->id) != NULL) {
		kw_seterr(err, errlen, "master key %s is in the keyring already",
		    k->id);
		memset(k, 0, sizeof(*k));
		return -1;
	}
	k->hsm = h;
	k->handle = handle;
	kr->n++;
	return 0;
}

size_t
keyring_count_hsm(const struct keyring *kr)
{
	size_t i, n = 0;

	for (i = 0; i < kr->n; i++)
		n += kr->kek[i].hsm != NULL;
	return n;
}

int
keyring_wrap(const struct keyring_kek *k, const char *name, uint32_t version,
    const struct secbuf *material, unsigned char *out)
{
	if (k->hsm != NULL)
		return hsm_wrap(k->hsm, k->handle, k->id, name, version,
		    material, out);
	return crypto_wrap(k->key, k->id, name, version, material, out);
}

struct secbuf *
keyring_unwrap(const struct keyring_kek *k, const char *name,
    uint32_t version, const unsigned char *wrapped, size_t len)
{
	if (k->hsm != NULL)
		return hsm_unwrap(k->hsm, k->handle, k->id, name, version,
		    wrapped, len);
	return crypto_unwrap(k->key, k->id, name, version, wrapped, len);
}

int
keyring_remove(struct keyring *kr, const char *id)
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (strcmp(kr->kek[i].id, id) == 0)
			break;
	if (i == kr->n)
		return -1;
	secbuf_free(kr->kek[i].key);
	memmove(&kr->kek[i], &kr->kek[i + 1],
	    (kr->n - i - 1) * sizeof(kr->kek[0]));
	kr->n--;
	memset(&kr->kek[kr->n], 0, sizeof(kr->kek[0]));
	return 0;
}

const char *
keyring_ids(const struct keyring *kr, char *buf, size_t len)
{
	size_t i, off = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < kr->n && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    kr->kek[i].id);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

/* Hex digit value, -1 when c is none. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode exactly 2 * n hex digits at s into out; 0 or -1. */
static int
unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (slen != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = hexval((unsigned char)s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Append n bytes as lower-case hex at out (2n characters). */
static char *
tohex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 0x0f];
	}
	return out;
}

/*
 * The next line of data[*off..len) without its line break: *line and
 * *llen; 0, or -1 at the end.
 */
static int
next_line(const unsigned char *data, size_t len, size_t *off,
    const char **line, size_t *llen)
{
	size_t s = *off, e;

	if (s >= len)
		return -1;
	for (e = s; e < len && data[e] != '\n'; e++)
		;
	*line = (const char *)data + s;
	*llen = e - s;
	if (*llen > 0 && (*line)[*llen - 1] == '\r')
		(*llen)--;
	*off = e < len ? e + 1 : e;
	return 0;
}

static int
line_is(const char *line, size_t llen, const char *word)
{
	return llen == strlen(word) && memcmp(line, word, llen) == 0;
}

/* Parse the plain form; 0 or KEYRING_EFORMAT. */
static int
parse_plain(const unsigned char *data, size_t len, struct keyring *kr,
    char *err, size_t errlen)
{
	const char *line;
	size_t llen, off = 0, lineno = 0;
	unsigned char key[KW_KEK_LEN];
	char id[KW_KEK_ID_LEN + 1];
	const struct keyring_kek *k;
	int seen_magic = 0, token_only = 0, rc = KEYRING_EFORMAT;

	while (next_line(data, len, &off, &line, &llen) == 0) {
		lineno++;
		if (llen == 0 || line[0] == '#')
			continue;
		if (!seen_magic) {
			if (!line_is(line, llen, PLAIN_MAGIC)) {
				kw_seterr(err, errlen, "not a keyward keyring");
				goto out;
			}
			seen_magic = 1;
			continue;
		}
		if (line_is(line, llen, TOKEN_ONLY)) {
			token_only = 1;
			continue;
		}
		/* "kek " ID " " HEX */
		if (llen != 4 + KW_KEK_ID_LEN + 1 + 2 * KW_KEK_LEN ||
		    memcmp(line, "kek ", 4) != 0 ||
		    line[4 + KW_KEK_ID_LEN] != ' ' ||
		    unhex(line + 4 + KW_KEK_ID_LEN + 1, 2 * KW_KEK_LEN, key,
		    KW_KEK_LEN) != 0) {
			kw_seterr(err, errlen, "line %zu is not \"kek ID KEY\"",
			    lineno);
			goto out;
		}
		memcpy(id, line + 4, KW_KEK_ID_LEN);
		id[KW_KEK_ID_LEN] = '\0';
		if (keyring_add(kr, key, &k, err, errlen) != 0)
			goto out;
		if (strcmp(k->id, id) != 0) {
			kw_seterr(err, errlen, "line %zu: the key's id is %s, not "
			    "%s (damaged?)", lineno, k->id, id);
			goto out;
		}
	}
	if (token_only && kr->n > 0) {
		kw_seterr(err, errlen, "a keyring marked \"" TOKEN_ONLY "\" "
		    "holds master keys (damaged?)");
		goto out;
	}
	if (!seen_magic || (kr->n == 0 && !token_only)) {
		kw_seterr(err, errlen, "a keyward keyring without master keys");
		goto out;
	}
	rc = KEYRING_OK;
out:
	secure_wipe(key, sizeof(key));
	return rc;
}

int
keyring_is_sealed(const unsigned char *data, size_t len)
{
	size_t n = strlen(SEALED_MAGIC);

	return len > n && memcmp(data, SEALED_MAGIC, n) == 0 &&
	    (data[n] == '\n' || data[n] == '\r');
}

/* Parse "scrypt N r p SALT" into seal and salt; 0 or -1. */
static int
parse_kdf(const char *line, size_t llen, struct keyring_seal *seal,
    unsigned char salt[SALT_LEN])
{
	char buf[160], hex[2 * SALT_LEN + 2];
	uint64_t n;
	unsigned r, p;
	int used = 0;

	if (llen >= sizeof(buf))
		return -1;
	memcpy(buf, line, llen);
	buf[llen] = '\0';
	if (sscanf(buf, "scrypt %" SCNu64 " %u %u %33s%n", &n, &r, &p, hex,
	    &used) != 4 || (size_t)used != llen || n < 2 || (n & (n - 1)) ||
	    r == 0 || p == 0 || r > 64 || p > 16 ||
	    unhex(hex, strlen(hex), salt, SALT_LEN) != 0)
		return -1;
	seal->n = n;
	seal->r = r;
	seal->p = p;
	return 0;
}

/* Parse the sealed form; a KEYRING_* code. */
static int
parse_sealed(const unsigned char *data, size_t len, const struct secbuf *pass,
    struct keyring *kr, struct keyring_seal *seal, char *err, size_t errlen)
{
	const char *line;
	size_t llen, off = 0, aadlen, ctlen = 0;
	unsigned char salt[SALT_LEN], nonce[KW_GCM_NONCE_LEN];
	unsigned char key[KW_KEK_LEN];
	unsigned char *ct = NULL;
	struct secbuf *plain = NULL;
	int rc = KEYRING_EFORMAT;

	(void)next_line(data, len, &off, &line, &llen);	/* the magic */
	if (next_line(data, len, &off, &line, &llen) != 0 ||
	    parse_kdf(line, llen, seal, salt) != 0) {
		kw_seterr(err, errlen, "sealed keyring: line 2 is not \"scrypt N r "
		    "p SALT\"");
		goto out;
	}
	if (next_line(data, len, &off, &line, &llen) != 0 ||
	    llen != 12 + 2 * KW_GCM_NONCE_LEN ||
	    memcmp(line, "aes-256-gcm ", 12) != 0 ||
	    unhex(line + 12, llen - 12, nonce, KW_GCM_NONCE_LEN) != 0) {
		kw_seterr(err, errlen, "sealed keyring: line 3 is not "
		    "\"aes-256-gcm NONCE\"");
		goto out;
	}
	aadlen = off;
	if ((ct = malloc(len - off + 1)) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		goto out;
	}
	while (next_line(data, len, &off, &line, &llen) == 0) {
		if (llen == 0)
			continue;
		if (llen % 2 != 0 || unhex(line, llen, ct + ctlen,
		    llen / 2) != 0) {
			kw_seterr(err, errlen, "sealed keyring: the sealed data "
			    "is not hex");
			goto out;
		}
		ctlen += llen / 2;
	}
	if (ctlen < KW_GCM_TAG_LEN) {
		kw_seterr(err, errlen, "sealed keyring: truncated");
		goto out;
	}
	if (pass == NULL) {
		kw_seterr(err, errlen, "the keyring is sealed and no passphrase "
		    "was given");
		rc = KEYRING_ENEEDPASS;
		goto out;
	}
	if (crypto_scrypt(pass->data, pass->len, salt, sizeof(salt), seal->n,
	    seal->r, seal->p, key, sizeof(key)) != 0) {
		kw_seterr(err, errlen, "sealed keyring: scrypt failed (cost too "
		    "high?)");
		goto out;
	}
	if ((plain = crypto_gcm_open(key, nonce, data, aadlen, ct,
	    ctlen)) == NULL) {
		kw_seterr(err, errlen, "wrong passphrase: the keyring did not "
		    "unseal (or the file was altered)");
		rc = KEYRING_EBADPASS;
		goto out;
	}
	rc = parse_plain(plain->data, plain->len, kr, err, errlen);
out:
	secure_wipe(key, sizeof(key));
	secbuf_free(plain);
	free(ct);
	return rc;
}

int
keyring_parse(const unsigned char *data, size_t len,
    const struct secbuf *pass, struct keyring **out, enum keyring_form *form,
    struct keyring_seal *seal, char *err, size_t errlen)
{
	struct keyring *kr;
	struct keyring_seal s = { 0, 0, 0 };
	enum keyring_form f;
	int rc;

	*out = NULL;
	if ((kr = keyring_new()) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		return KEYRING_EFORMAT;
	}
	if (keyring_is_sealed(data, len)) {
		f = KEYRING_SEALED;
		rc = parse_sealed(data, len, pass, kr, &s, err, errlen);
	} else if (len == KW_KEK_LEN && !(len >= strlen(PLAIN_MAGIC) &&
	    memcmp(data, PLAIN_MAGIC, strlen(PLAIN_MAGIC)) == 0)) {
		f = KEYRING_LEGACY;
		rc = keyring_add(kr, data, NULL, err, errlen) == 0 ?
		    KEYRING_OK : KEYRING_EFORMAT;
	} else {
		f = KEYRING_PLAIN;
		rc = parse_plain(data, len, kr, err, errlen);
	}
	if (rc != KEYRING_OK) {
		keyring_free(kr);
		return rc;
	}
	if (form != NULL)
		*form = f;
	if (seal != NULL)
		*seal = s;
	*out = kr;
	return KEYRING_OK;
}

/* The plain text of kr in a new secbuf, or NULL. */
static struct secbuf *
format_plain(const struct keyring *kr)
{
	static const char head[] = PLAIN_MAGIC "\n"
	    "# keyward's master keys (KEKs), oldest first: keep this file the\n"
	    "# same on both nodes; the database says which one is active.\n";
	static const char token_only[] = "# every master key of this node is "
	    "in its PKCS#11 token (keys.hsm_module)\n" TOKEN_ONLY "\n";
	struct secbuf *sb;
	size_t i, line = 4 + KW_KEK_ID_LEN + 1 + 2 * KW_KEK_LEN + 1;
	char *p;

	if ((sb = secbuf_new(sizeof(head) - 1 + sizeof(token_only) - 1 +
	    kr->n * line)) == NULL)
		return NULL;
	p = (char *)sb->data;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	if (keyring_count_hsm(kr) == kr->n) {
		memcpy(p, token_only, sizeof(token_only) - 1);
		p += sizeof(token_only) - 1;
	}
	for (i = 0; i < kr->n; i++) {
		if (kr->kek[i].key == NULL)
			continue;	/* in a token: never on disk */
		memcpy(p, "kek ", 4);
		memcpy(p + 4, kr->kek[i].id, KW_KEK_ID_LEN);
		p[4 + KW_KEK_ID_LEN] = ' ';
		p = tohex(p + 4 + KW_KEK_ID_LEN + 1, kr->kek[i].key->data,
		    KW_KEK_LEN);
		*p++ = '\n';
	}
	sb->len = (size_t)(p - (char *)sb->data);	/* token KEKs left out */
	return sb;
}

struct secbuf *
keyring_format(const struct keyring *kr, const struct secbuf *pass,
    const struct keyring_seal *seal, char *err, size_t errlen)
{
	static const struct keyring_seal defaults = { KEYRING_SCRYPT_N,
	    KEYRING_SCRYPT_R, KEYRING_SCRYPT_P };
	struct secbuf *plain = NULL, *out = NULL;
	unsigned char salt[SALT_LEN], nonce[KW_GCM_NONCE_LEN];
	unsigned char key[KW_KEK_LEN];
	unsigned char *ct = NULL;
	char head[256], *p;
	size_t hlen, ctlen, i, cap;
	int n;

	if (kr->n == 0) {
		kw_seterr(err, errlen, "a keyring needs at least one master key "
		    "(in the file or in a token)");
		return NULL;
	}
	if ((plain = format_plain(kr)) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (pass == NULL)
		return plain;
	if (seal == NULL)
		seal = &defaults;
	if (crypto_random(salt, sizeof(salt)) != 0 ||
	    crypto_random(nonce, sizeof(nonce)) != 0) {
		kw_seterr(err, errlen, "no random bytes");
		goto out;
	}
	n = snprintf(head, sizeof(head), SEALED_MAGIC "\nscrypt %" PRIu64
	    " %u %u ", seal->n, (unsigned)seal->r, (unsigned)seal->p);
	if (n < 0 || (size_t)n + 2 * SALT_LEN + 16 + 2 * KW_GCM_NONCE_LEN >
	    sizeof(head)) {
		kw_seterr(err, errlen, "bad sealing parameters");
		goto out;
	}
	p = tohex(head + n, salt, sizeof(salt));
	p += sprintf(p, "\naes-256-gcm ");
	p = tohex(p, nonce, sizeof(nonce));
	*p++ = '\n';
	hlen = (size_t)(p - head);
	if (crypto_scrypt(pass->data, pass->len, salt, sizeof(salt), seal->n,
	    seal->r, seal->p, key, sizeof(key)) != 0) {
		kw_seterr(err, errlen, "scrypt failed (cost too high?)");
		goto out;
	}
	ctlen = plain->len + KW_GCM_TAG_LEN;
	if ((ct = malloc(ctlen)) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (crypto_gcm_seal(key, nonce, (unsigned char *)head, hlen,
	    plain->data, plain->len, ct) != 0) {
		kw_seterr(err, errlen, "could not seal the keyring");
		goto out;
	}
	cap = hlen + 2 * ctlen + ctlen / (HEX_LINE / 2) + 2;
	if ((out = secbuf_new(cap)) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		goto out;
	}
	memcpy(out->data, head, hlen);
	p = (char *)out->data + hlen;
	for (i = 0; i < ctlen; i += HEX_LINE / 2) {
		p = tohex(p, ct + i, ctlen - i < HEX_LINE / 2 ? ctlen - i :
		    HEX_LINE / 2);
		*p++ = '\n';
	}
	out->len = (size_t)(p - (char *)out->data);
out:
	secure_wipe(key, sizeof(key));
	free(ct);
	secbuf_free(plain);
	return out;
}
