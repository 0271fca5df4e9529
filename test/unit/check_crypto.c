/*
 * check_crypto.c: lib/crypto against known answers (NIST SP 800-38A
 * AES-CTR, an independent HMAC-SHA256 computation for the KEK check), the
 * Hadoop IV flip, and AES-GCM wrapping that must refuse any blob moved to
 * another key, version or KEK, or altered in any bit.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto.h"
#include "lib/secbuf.h"
#include "check_main.h"

static void
unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t		i;
	unsigned int	b;

	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (unsigned char)b;
	}
}

/* NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt) and F.5.5 (CTR-AES256). */
static const char nist_ctr[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char nist_pt[] =
    "6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710";
static const struct {
	const char	*name;
	const char	*key;
	const char	*ct;
} nist[] = {
	{ "F.5.1 AES-128", "2b7e151628aed2a6abf7158809cf4f3c",
	    "874d6191b620e3261bef6864990db6ce"
	    "9806f66b7970fdff8617187bb9fffdff"
	    "5ae4df3edbd5d35e5b4f09020db03eab"
	    "1e031dda2fbe03d1792170a0f3009cee" },
	{ "F.5.5 AES-256",
	    "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	    "601ec313775789a5b7a7f504bbf3d228"
	    "f443e3ca4d62b59aca84e990cacaf5c5"
	    "2b0930daa23de94ce87017ba2d84988d"
	    "dfc9c58db67aada613c2dd08457941a6" },
};
#define NIST_N	(sizeof(nist) / sizeof(nist[0]))

/* Encrypt and decrypt (F.5.2, F.5.6) at every length, also in place. */
START_TEST(test_nist_ctr)
{
	unsigned char	key[32], ctr[16], pt[64], ct[64], out[64];
	size_t		keylen = strlen(nist[_i].key) / 2, n;

	unhex(nist[_i].key, key, keylen);
	unhex(nist_ctr, ctr, sizeof(ctr));
	unhex(nist_pt, pt, sizeof(pt));
	unhex(nist[_i].ct, ct, sizeof(ct));
	for (n = 0; n <= sizeof(pt); n++) {
		memset(out, 0, sizeof(out));
		ck_assert_int_eq(crypto_aes_ctr(key, keylen, ctr, pt, n, out),
		    0);
		ck_assert_msg(memcmp(out, ct, n) == 0, "%s encrypt, %zu bytes",
		    nist[_i].name, n);
		ck_assert_int_eq(crypto_aes_ctr(key, keylen, ctr, out, n, out),
		    0);
		ck_assert_msg(memcmp(out, pt, n) == 0, "%s decrypt, %zu bytes",
		    nist[_i].name, n);
	}
}
END_TEST

/*
 * The NIST counter block is the flipped form of 0f0e...00, so the EEK
 * transform with that IV must give the NIST ciphertext.
 */
START_TEST(test_eek_known_answer)
{
	unsigned char	 key[32], iv[KW_IV_LEN], pt[64], ct[64], out[64];
	size_t		 keylen = strlen(nist[_i].key) / 2;
	struct secbuf	*k;
	int		 j;

	unhex(nist[_i].key, key, keylen);
	for (j = 0; j < KW_IV_LEN; j++)
		iv[j] = (unsigned char)(0x0f - j);
	unhex(nist_pt, pt, sizeof(pt));
	unhex(nist[_i].ct, ct, sizeof(ct));
	ck_assert_ptr_nonnull(k = secbuf_dup(key, keylen));
	ck_assert_int_eq(crypto_eek_ctr(k, iv, pt, sizeof(pt), out), 0);
	ck_assert_mem_eq(out, ct, sizeof(ct));
	secbuf_free(k);
}
END_TEST

/* eek_ctr == aes_ctr with the flipped IV, != with the IV as is. */
START_TEST(test_eek_flip)
{
	static const size_t	 keylens[2] = { 16, 32 };
	struct secbuf		*key;
	unsigned char		 iv[KW_IV_LEN], flip[KW_IV_LEN];
	unsigned char		 dek[32], eek[32], ref[32], back[32];
	int			 j;

	ck_assert_ptr_nonnull(key = secbuf_new(keylens[_i]));
	ck_assert_int_eq(crypto_random(key->data, key->len), 0);
	ck_assert_int_eq(crypto_random(iv, sizeof(iv)), 0);
	ck_assert_int_eq(crypto_random(dek, sizeof(dek)), 0);
	for (j = 0; j < KW_IV_LEN; j++)
		flip[j] = iv[j] ^ 0xff;

	ck_assert_int_eq(crypto_eek_ctr(key, iv, dek, sizeof(dek), eek), 0);
	ck_assert_int_eq(crypto_aes_ctr(key->data, key->len, flip, dek,
	    sizeof(dek), ref), 0);
	ck_assert_mem_eq(eek, ref, sizeof(eek));
	ck_assert_int_eq(crypto_aes_ctr(key->data, key->len, iv, dek,
	    sizeof(dek), ref), 0);
	ck_assert(memcmp(eek, ref, sizeof(eek)) != 0);
	ck_assert(memcmp(eek, dek, sizeof(eek)) != 0);

	/* The same call decrypts, also in place. */
	ck_assert_int_eq(crypto_eek_ctr(key, iv, eek, sizeof(eek), back), 0);
	ck_assert_mem_eq(back, dek, sizeof(dek));
	ck_assert_int_eq(crypto_eek_ctr(key, iv, eek, sizeof(eek), eek), 0);
	ck_assert_mem_eq(eek, dek, sizeof(dek));
	secbuf_free(key);
}
END_TEST

START_TEST(test_ctr_bad_key)
{
	static const size_t	 lens[] = { 0, 8, 15, 17, 24, 31, 33, 64 };
	unsigned char		 key[64] = { 0 }, ctr[16] = { 0 };
	unsigned char		 in[16] = { 0 }, out[16];
	struct secbuf		*k;
	size_t			 i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_int_eq(crypto_aes_ctr(key, lens[i], ctr, in,
		    sizeof(in), out), -1);
		ck_assert_ptr_nonnull(k = secbuf_new(lens[i]));
		ck_assert_int_eq(crypto_eek_ctr(k, ctr, in, sizeof(in), out),
		    -1);
		secbuf_free(k);
	}
}
END_TEST

START_TEST(test_random)
{
	unsigned char	a[32], b[32], zero[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	ck_assert_int_eq(crypto_random(a, sizeof(a)), 0);
	ck_assert_int_eq(crypto_random(b, sizeof(b)), 0);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	ck_assert(memcmp(a, zero, sizeof(a)) != 0);
	ck_assert_int_eq(crypto_random(a, 0), 0);
}
END_TEST

/* Check values computed with Python's hmac module. */
static const struct {
	unsigned char	 fill;		/* 0: bytes 0..31, else repeated */
	const char	*check;
} kek_kat[] = {
	{ 0, "69d85fb04bae53361239a31255d48ad6"
	    "be905a7f2ba70080795a009e17ea9c66" },
	{ 0x42, "c9d17c8b582208ff24dc1c75499afe3e"
	    "82390b351eb9ff663d972ee9f15db63e" },
};

START_TEST(test_kek_check)
{
	struct secbuf	*kek;
	unsigned char	 check[KW_CHECK_LEN], want[KW_CHECK_LEN];
	unsigned char	 again[KW_CHECK_LEN];
	char		 id[KW_KEK_ID_LEN + 1], id2[KW_KEK_ID_LEN + 1];
	int		 j;

	ck_assert_ptr_nonnull(kek = secbuf_new(KW_KEK_LEN));
	for (j = 0; j < KW_KEK_LEN; j++)
		kek->data[j] = kek_kat[_i].fill ? kek_kat[_i].fill :
		    (unsigned char)j;
	unhex(kek_kat[_i].check, want, sizeof(want));
	ck_assert_int_eq(crypto_kek_check(kek, check, id), 0);
	ck_assert_mem_eq(check, want, KW_CHECK_LEN);
	ck_assert_uint_eq(strlen(id), KW_KEK_ID_LEN);
	ck_assert_mem_eq(id, kek_kat[_i].check, KW_KEK_ID_LEN);

	/* Deterministic. */
	ck_assert_int_eq(crypto_kek_check(kek, again, id2), 0);
	ck_assert_mem_eq(again, check, KW_CHECK_LEN);
	ck_assert_str_eq(id2, id);

	/* Another KEK, another check value and id. */
	kek->data[KW_KEK_LEN - 1] ^= 1;
	ck_assert_int_eq(crypto_kek_check(kek, again, id2), 0);
	ck_assert(memcmp(again, check, KW_CHECK_LEN) != 0);
	ck_assert_str_ne(id2, id);
	secbuf_free(kek);
}
END_TEST

START_TEST(test_kek_check_bad_len)
{
	struct secbuf	*kek;
	unsigned char	 check[KW_CHECK_LEN];
	char		 id[KW_KEK_ID_LEN + 1];

	ck_assert_ptr_nonnull(kek = secbuf_new(16));
	ck_assert_int_eq(crypto_kek_check(kek, check, id), -1);
	secbuf_free(kek);
}
END_TEST

/* A wrap fixture shared by the GCM tests. */
struct wrapped {
	struct secbuf	*kek;
	char		 kek_id[KW_KEK_ID_LEN + 1];
	struct secbuf	*material;
	unsigned char	 blob[KW_MAX_KEY_LEN + KW_WRAP_OVERHEAD];
	size_t		 len;
};

static void
wrap_fixture(struct wrapped *w, size_t keylen, const char *name,
    uint32_t version)
{
	unsigned char check[KW_CHECK_LEN];

	ck_assert_ptr_nonnull(w->kek = secbuf_new(KW_KEK_LEN));
	ck_assert_int_eq(crypto_random(w->kek->data, KW_KEK_LEN), 0);
	ck_assert_int_eq(crypto_kek_check(w->kek, check, w->kek_id), 0);
	ck_assert_ptr_nonnull(w->material = secbuf_new(keylen));
	ck_assert_int_eq(crypto_random(w->material->data, keylen), 0);
	w->len = keylen + KW_WRAP_OVERHEAD;
	ck_assert_int_eq(crypto_wrap(w->kek, w->kek_id, name, version,
	    w->material, w->blob), 0);
}

static void
wrap_free(struct wrapped *w)
{
	secbuf_free(w->kek);
	secbuf_free(w->material);
}

static const size_t wrap_lens[] = { 16, 32, 1, 0 };

START_TEST(test_wrap_round_trip)
{
	struct wrapped	 w;
	struct secbuf	*got;
	unsigned char	 blob2[KW_MAX_KEY_LEN + KW_WRAP_OVERHEAD];

	wrap_fixture(&w, wrap_lens[_i], "team/key-1", 7);
	ck_assert_ptr_nonnull(got = crypto_unwrap(w.kek, w.kek_id,
	    "team/key-1", 7, w.blob, w.len));
	ck_assert_uint_eq(got->len, w.material->len);
	ck_assert(secbuf_equal(got, w.material));
	secbuf_free(got);

	/* The material is not in the blob in clear. */
	if (w.material->len >= 16)
		ck_assert(memcmp(w.blob + KW_GCM_NONCE_LEN, w.material->data,
		    w.material->len) != 0);

	/* A second wrap uses a fresh nonce and gives another blob. */
	ck_assert_int_eq(crypto_wrap(w.kek, w.kek_id, "team/key-1", 7,
	    w.material, blob2), 0);
	ck_assert(memcmp(blob2, w.blob, KW_GCM_NONCE_LEN) != 0);
	ck_assert_ptr_nonnull(got = crypto_unwrap(w.kek, w.kek_id,
	    "team/key-1", 7, blob2, w.len));
	ck_assert(secbuf_equal(got, w.material));
	secbuf_free(got);
	wrap_free(&w);
}
END_TEST

/* (name, version, kek_id) under which a blob for ("k1", 1) must fail. */
static const struct {
	const char	*name;
	uint32_t	 version;
	const char	*kek_id;	/* NULL: the right one */
} wrong[] = {
	{ "k2", 1, NULL },
	{ "k10", 1, NULL },
	{ "K1", 1, NULL },
	{ "", 1, NULL },
	{ "k1 ", 1, NULL },
	{ "k1", 0, NULL },
	{ "k1", 2, NULL },
	{ "k1", 0x01000000, NULL },	/* byte order */
	{ "k1", UINT32_MAX, NULL },
	{ "k1", 1, "0000000000000000" },
	{ "k1", 1, "" },
};

START_TEST(test_unwrap_wrong_binding)
{
	struct wrapped	 w;
	char		 id[KW_KEK_ID_LEN + 2];

	wrap_fixture(&w, 32, "k1", 1);
	if (wrong[_i].kek_id != NULL)
		snprintf(id, sizeof(id), "%s", wrong[_i].kek_id);
	else
		snprintf(id, sizeof(id), "%s", w.kek_id);
	ck_assert_ptr_null(crypto_unwrap(w.kek, id, wrong[_i].name,
	    wrong[_i].version, w.blob, w.len));
	wrap_free(&w);
}
END_TEST

/* The kek_id boundary cannot slide into the name. */
START_TEST(test_unwrap_aad_unambiguous)
{
	struct secbuf	*kek, *mat, *got;
	unsigned char	 blob[16 + KW_WRAP_OVERHEAD];

	ck_assert_ptr_nonnull(kek = secbuf_new(KW_KEK_LEN));
	ck_assert_ptr_nonnull(mat = secbuf_new(16));
	ck_assert_int_eq(crypto_wrap(kek, "abcd", "ef", 3, mat, blob), 0);
	ck_assert_ptr_null(crypto_unwrap(kek, "abc", "def", 3, blob,
	    sizeof(blob)));
	ck_assert_ptr_null(crypto_unwrap(kek, "abcde", "f", 3, blob,
	    sizeof(blob)));
	ck_assert_ptr_nonnull(got = crypto_unwrap(kek, "abcd", "ef", 3, blob,
	    sizeof(blob)));
	secbuf_free(got);
	secbuf_free(mat);
	secbuf_free(kek);
}
END_TEST

START_TEST(test_unwrap_other_kek)
{
	struct wrapped	 w;
	struct secbuf	*other;

	wrap_fixture(&w, wrap_lens[_i], "k1", 1);
	ck_assert_ptr_nonnull(other = secbuf_dup(w.kek->data, KW_KEK_LEN));
	other->data[0] ^= 0x80;
	/* Even with the right kek_id claimed. */
	ck_assert_ptr_null(crypto_unwrap(other, w.kek_id, "k1", 1, w.blob,
	    w.len));
	secbuf_free(other);
	ck_assert_ptr_nonnull(other = secbuf_new(16));
	ck_assert_ptr_null(crypto_unwrap(other, w.kek_id, "k1", 1, w.blob,
	    w.len));
	secbuf_free(other);
	wrap_free(&w);
}
END_TEST

/* Every single-bit change in nonce, ciphertext or tag is caught. */
START_TEST(test_unwrap_bit_flips)
{
	struct wrapped	 w;
	struct secbuf	*got;
	size_t		 byte;
	int		 bit;

	wrap_fixture(&w, wrap_lens[_i], "k1", 1);
	for (byte = 0; byte < w.len; byte++)
		for (bit = 0; bit < 8; bit++) {
			w.blob[byte] ^= (unsigned char)(1 << bit);
			got = crypto_unwrap(w.kek, w.kek_id, "k1", 1, w.blob,
			    w.len);
			ck_assert_msg(got == NULL, "flip of byte %zu bit %d "
			    "accepted", byte, bit);
			w.blob[byte] ^= (unsigned char)(1 << bit);
		}
	ck_assert_ptr_nonnull(got = crypto_unwrap(w.kek, w.kek_id, "k1", 1,
	    w.blob, w.len));
	secbuf_free(got);
	wrap_free(&w);
}
END_TEST

START_TEST(test_unwrap_bad_length)
{
	struct wrapped	 w;
	unsigned char	 longer[KW_MAX_KEY_LEN + KW_WRAP_OVERHEAD + 1];
	size_t		 n;

	wrap_fixture(&w, 32, "k1", 1);
	for (n = 0; n < w.len; n++)
		ck_assert_msg(crypto_unwrap(w.kek, w.kek_id, "k1", 1, w.blob,
		    n) == NULL, "truncated to %zu accepted", n);
	memcpy(longer, w.blob, w.len);
	longer[w.len] = 0;
	ck_assert_ptr_null(crypto_unwrap(w.kek, w.kek_id, "k1", 1, longer,
	    w.len + 1));
	ck_assert_ptr_null(crypto_unwrap(w.kek, w.kek_id, "k1", 1, NULL,
	    w.len));
	wrap_free(&w);
}
END_TEST

START_TEST(test_wrap_bad_kek)
{
	struct secbuf	*kek, *mat;
	unsigned char	 blob[16 + KW_WRAP_OVERHEAD];

	ck_assert_ptr_nonnull(kek = secbuf_new(16));
	ck_assert_ptr_nonnull(mat = secbuf_new(16));
	ck_assert_int_eq(crypto_wrap(kek, "id", "k", 0, mat, blob), -1);
	secbuf_free(kek);
	ck_assert_ptr_nonnull(kek = secbuf_new(KW_KEK_LEN));
	ck_assert_int_eq(crypto_wrap(kek, NULL, "k", 0, mat, blob), -1);
	ck_assert_int_eq(crypto_wrap(kek, "id", NULL, 0, mat, blob), -1);
	secbuf_free(mat);
	secbuf_free(kek);
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite	*s = suite_create("crypto");
	TCase	*kat = tcase_create("known answers");
	TCase	*eek = tcase_create("eek");
	TCase	*wrap = tcase_create("wrap");
	int	 nlens = (int)(sizeof(wrap_lens) / sizeof(wrap_lens[0]));

	tcase_add_loop_test(kat, test_nist_ctr, 0, NIST_N);
	tcase_add_loop_test(kat, test_eek_known_answer, 0, NIST_N);
	tcase_add_loop_test(kat, test_kek_check, 0,
	    sizeof(kek_kat) / sizeof(kek_kat[0]));
	tcase_add_test(kat, test_kek_check_bad_len);
	tcase_add_test(kat, test_random);
	suite_add_tcase(s, kat);

	tcase_add_loop_test(eek, test_eek_flip, 0, 2);
	tcase_add_test(eek, test_ctr_bad_key);
	suite_add_tcase(s, eek);

	tcase_add_loop_test(wrap, test_wrap_round_trip, 0, nlens);
	tcase_add_loop_test(wrap, test_unwrap_wrong_binding, 0,
	    sizeof(wrong) / sizeof(wrong[0]));
	tcase_add_test(wrap, test_unwrap_aad_unambiguous);
	tcase_add_loop_test(wrap, test_unwrap_other_kek, 0, nlens);
	tcase_add_loop_test(wrap, test_unwrap_bit_flips, 0, nlens);
	tcase_add_test(wrap, test_unwrap_bad_length);
	tcase_add_test(wrap, test_wrap_bad_kek);
	suite_add_tcase(s, wrap);
	return s;
}

int
main(void)
{
	return check_run(crypto_suite(), CK_FORK);
}
