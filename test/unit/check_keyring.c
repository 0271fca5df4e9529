/*
 * check_keyring.c: the master keyring (lib/keyring.c) and the sealing
 * primitives under it (crypto_scrypt, crypto_gcm_*): an RFC 7914 scrypt
 * vector, round trips of the plain and sealed forms, the legacy 32-byte
 * file, a wrong or missing passphrase, every header field of a sealed
 * file bound (a changed cost, salt or nonce fails like a wrong
 * passphrase), damaged plain files refused, add/remove, and a keyring
 * with token KEKs (left out of the file; "token-only" when all are).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "lib/crypto.h"
#include "lib/keyring.h"

/* A cheap cost for the tests (the default takes 32 MiB and ~0.1 s). */
static const struct keyring_seal cheap = { 1024, 8, 1 };

static struct secbuf *
pass(const char *s)
{
	return secbuf_dup(s, strlen(s));
}

/* A keyring of n fixed keys (key i is n bytes of value i + 1). */
static struct keyring *
ring_of(int n)
{
	struct keyring *kr = keyring_new();
	unsigned char key[KW_KEK_LEN];
	int i;

	ck_assert_ptr_nonnull(kr);
	for (i = 0; i < n; i++) {
		memset(key, i + 1, sizeof(key));
		ck_assert_int_eq(keyring_add(kr, key, NULL, NULL, 0), 0);
	}
	return kr;
}

static void
same_keys(const struct keyring *a, const struct keyring *b)
{
	size_t i;

	ck_assert_uint_eq(keyring_count(a), keyring_count(b));
	for (i = 0; i < keyring_count(a); i++) {
		ck_assert_str_eq(keyring_at(a, i)->id, keyring_at(b, i)->id);
		ck_assert(secbuf_equal(keyring_at(a, i)->key,
		    keyring_at(b, i)->key));
	}
}

/* RFC 7914 section 12, the second vector. */
START_TEST(test_scrypt_rfc7914)
{
	static const unsigned char want[16] = {
		0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00,
		0x78, 0x56, 0xe7, 0x19, 0x0d, 0x01, 0xe9, 0xfe,
	};
	unsigned char out[64];

	ck_assert_int_eq(crypto_scrypt("password", 8,
	    (const unsigned char *)"NaCl", 4, 1024, 8, 16, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, want, sizeof(want));
	/* N must be a power of two */
	ck_assert_int_eq(crypto_scrypt("password", 8,
	    (const unsigned char *)"NaCl", 4, 1000, 8, 16, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_plain_round_trip)
{
	struct keyring *kr = ring_of(3), *back = NULL;
	struct secbuf *text;
	enum keyring_form form;
	char err[256];

	text = keyring_format(kr, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(keyring_is_sealed(text->data, text->len), 0);
	ck_assert_int_eq(keyring_parse(text->data, text->len, NULL, &back,
	    &form, NULL, err, sizeof(err)), KEYRING_OK);
	ck_assert_int_eq(form, KEYRING_PLAIN);
	same_keys(kr, back);
	secbuf_free(text);
	keyring_free(back);
	keyring_free(kr);
}
END_TEST

START_TEST(test_legacy)
{
	unsigned char raw[KW_KEK_LEN];
	struct keyring *kr = NULL;
	struct secbuf *key;
	unsigned char check[KW_CHECK_LEN];
	char id[KW_KEK_ID_LEN + 1];
	enum keyring_form form;
	char err[256];

	memset(raw, 0x5a, sizeof(raw));
	ck_assert_int_eq(keyring_parse(raw, sizeof(raw), NULL, &kr, &form, NULL,
	    err, sizeof(err)), KEYRING_OK);
	ck_assert_int_eq(form, KEYRING_LEGACY);
	ck_assert_uint_eq(keyring_count(kr), 1);
	key = secbuf_dup(raw, sizeof(raw));
	ck_assert_int_eq(crypto_kek_check(key, check, id), 0);
	ck_assert_str_eq(keyring_at(kr, 0)->id, id);
	ck_assert(secbuf_equal(keyring_at(kr, 0)->key, key));
	/* 31 or 33 bytes are neither a key nor a keyring */
	keyring_free(kr);
	ck_assert_int_eq(keyring_parse(raw, 31, NULL, &kr, NULL, NULL, err,
	    sizeof(err)), KEYRING_EFORMAT);
	secbuf_free(key);
}
END_TEST

START_TEST(test_sealed_round_trip)
{
	struct keyring *kr = ring_of(2), *back = NULL;
	struct secbuf *text, *p = pass("correct horse"), *q = pass("wrong");
	struct keyring_seal seal;
	enum keyring_form form;
	char err[256];

	text = keyring_format(kr, p, &cheap, err, sizeof(err));
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(keyring_is_sealed(text->data, text->len), 1);
	/* no key in the clear in the file */
	ck_assert_ptr_null(memmem(text->data, text->len,
	    keyring_at(kr, 0)->id, KW_KEK_ID_LEN));
	ck_assert_int_eq(keyring_parse(text->data, text->len, p, &back, &form,
	    &seal, err, sizeof(err)), KEYRING_OK);
	ck_assert_int_eq(form, KEYRING_SEALED);
	ck_assert_uint_eq(seal.n, cheap.n);
	same_keys(kr, back);
	keyring_free(back);
	back = NULL;
	ck_assert_int_eq(keyring_parse(text->data, text->len, q, &back, NULL,
	    NULL, err, sizeof(err)), KEYRING_EBADPASS);
	ck_assert_ptr_null(back);
	ck_assert_ptr_nonnull(strstr(err, "wrong passphrase"));
	ck_assert_int_eq(keyring_parse(text->data, text->len, NULL, &back, NULL,
	    NULL, err, sizeof(err)), KEYRING_ENEEDPASS);
	secbuf_free(text);
	secbuf_free(p);
	secbuf_free(q);
	keyring_free(kr);
}
END_TEST

/* Which line of a sealed file to change, and which byte of it. */
static const struct { int line; int col; } tamper[] = {
	{ 1, 7 },	/* scrypt N: 1024 -> 2024, not a power of two */
	{ 1, 14 },	/* p: 1 -> 2 */
	{ 1, 20 },	/* salt */
	{ 2, 14 },	/* nonce */
	{ 3, 0 },	/* ciphertext */
};

START_TEST(test_sealed_tamper)
{
	struct keyring *kr = ring_of(1), *back = NULL;
	struct secbuf *text, *p = pass("pw");
	unsigned char *c;
	char err[256];
	int line = 0, rc;

	text = keyring_format(kr, p, &cheap, err, sizeof(err));
	ck_assert_ptr_nonnull(text);
	for (c = text->data; line < tamper[_i].line; c++)
		if (*c == '\n')
			line++;
	c += tamper[_i].col;
	*c = *c == '1' ? '2' : '1';
	rc = keyring_parse(text->data, text->len, p, &back, NULL, NULL, err,
	    sizeof(err));
	ck_assert_msg(rc == KEYRING_EBADPASS || rc == KEYRING_EFORMAT,
	    "tampered line %d parsed: %d", tamper[_i].line, rc);
	ck_assert_ptr_null(back);
	secbuf_free(text);
	secbuf_free(p);
	keyring_free(kr);
}
END_TEST

static const char *const bad_plain[] = {
	"",
	"keyward-keyring v1\n",
	"keyward-keyring v2\nkek 0000000000000000 00\n",
	"keyward-keyring v1\nkek 0123456789abcdef "
	    "0000000000000000000000000000000000000000000000000000000000000000\n",
	"keyward-keyring v1\nkek zz "
	    "0000000000000000000000000000000000000000000000000000000000000000\n",
	/* token-only, yet a key: damaged */
	"keyward-keyring v1\ntoken-only\nkek ed1e7c59c3fbd8ac "
	    "0101010101010101010101010101010101010101010101010101010101010101\n",
	"token-only\nkeyward-keyring v1\n",
};

START_TEST(test_bad_plain)
{
	struct keyring *kr = NULL;
	char err[256];

	err[0] = '\0';
	ck_assert_int_eq(keyring_parse((const unsigned char *)bad_plain[_i],
	    strlen(bad_plain[_i]), NULL, &kr, NULL, NULL, err, sizeof(err)),
	    KEYRING_EFORMAT);
	ck_assert_ptr_null(kr);
	ck_assert(err[0] != '\0');
}
END_TEST

START_TEST(test_add_remove)
{
	struct keyring *kr = ring_of(2);
	const struct keyring_kek *k;
	unsigned char key[KW_KEK_LEN];
	char err[256], id[KW_KEK_ID_LEN + 1];

	memset(key, 1, sizeof(key));
	ck_assert_int_eq(keyring_add(kr, key, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "already"));
	ck_assert_int_eq(keyring_add(kr, NULL, &k, err, sizeof(err)), 0);
	ck_assert_uint_eq(keyring_count(kr), 3);
	ck_assert_ptr_eq(keyring_find(kr, k->id), k);
	memcpy(id, keyring_at(kr, 0)->id, sizeof(id));
	ck_assert_int_eq(keyring_remove(kr, id), 0);
	ck_assert_ptr_null(keyring_find(kr, id));
	ck_assert_int_eq(keyring_remove(kr, id), -1);
	ck_assert_uint_eq(keyring_count(kr), 2);
	keyring_free(kr);
}
END_TEST

/* A KEK "in a token": keyring.c never looks behind the pointer. */
static void
add_token_kek(struct keyring *kr, unsigned char fill)
{
	unsigned char check[KW_CHECK_LEN];
	char err[256];

	memset(check, fill, sizeof(check));
	ck_assert_int_eq(keyring_add_hsm(kr, (struct hsm *)kr, 7, check, err,
	    sizeof(err)), 0);
}

START_TEST(test_token_keks_not_written)
{
	struct keyring *kr = ring_of(1), *back = NULL;
	struct secbuf *text;
	enum keyring_form form;
	char err[256];

	add_token_kek(kr, 0xab);
	ck_assert_uint_eq(keyring_count_hsm(kr), 1);
	text = keyring_format(kr, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(text);
	/* the text ends with the file key's line: no room left for it */
	ck_assert_ptr_null(memchr(text->data, '\0', text->len));
	ck_assert_ptr_null(strstr((char *)text->data, keyring_at(kr, 1)->id));
	ck_assert_int_eq(keyring_parse(text->data, text->len, NULL, &back,
	    &form, NULL, err, sizeof(err)), KEYRING_OK);
	ck_assert_uint_eq(keyring_count(back), 1);
	ck_assert_str_eq(keyring_at(back, 0)->id, keyring_at(kr, 0)->id);
	secbuf_free(text);
	keyring_free(back);
	keyring_free(kr);
}
END_TEST

START_TEST(test_token_only)
{
	struct keyring *kr = keyring_new(), *back = NULL;
	struct secbuf *text, *p = pass("token only");
	char err[256];

	/* an empty keyring is no keyring */
	ck_assert_ptr_null(keyring_format(kr, NULL, NULL, err, sizeof(err)));
	add_token_kek(kr, 0x11);
	add_token_kek(kr, 0x22);
	text = keyring_format(kr, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr((char *)text->data, "\ntoken-only\n"));
	ck_assert_ptr_null(strstr((char *)text->data, "\nkek "));
	ck_assert_int_eq(keyring_parse(text->data, text->len, NULL, &back,
	    NULL, NULL, err, sizeof(err)), KEYRING_OK);
	ck_assert_uint_eq(keyring_count(back), 0);
	keyring_free(back);
	secbuf_free(text);
	/* sealed too */
	text = keyring_format(kr, p, &cheap, err, sizeof(err));
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(keyring_parse(text->data, text->len, p, &back, NULL,
	    NULL, err, sizeof(err)), KEYRING_OK);
	ck_assert_uint_eq(keyring_count(back), 0);
	keyring_free(back);
	secbuf_free(text);
	secbuf_free(p);
	keyring_free(kr);
}
END_TEST

static Suite *
keyring_suite(void)
{
	Suite	*s = suite_create("keyring");
	TCase	*tc = tcase_create("keyring");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_scrypt_rfc7914);
	tcase_add_test(tc, test_plain_round_trip);
	tcase_add_test(tc, test_legacy);
	tcase_add_test(tc, test_sealed_round_trip);
	tcase_add_loop_test(tc, test_sealed_tamper, 0,
	    sizeof(tamper) / sizeof(tamper[0]));
	tcase_add_loop_test(tc, test_bad_plain, 0,
	    sizeof(bad_plain) / sizeof(bad_plain[0]));
	tcase_add_test(tc, test_add_remove);
	tcase_add_test(tc, test_token_keks_not_written);
	tcase_add_test(tc, test_token_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(keyring_suite(), CK_FORK);
}
