/*
 * check_base64.c: lib/base64 against RFC 4648 section 10, both alphabets,
 * with and without padding, and every way the decoder must say no.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "check_main.h"

/* RFC 4648 section 10; "url" is what b64_encode writes (no padding). */
static const struct {
	const char	*plain;
	const char	*padded;
	const char	*url;
} rfc[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

/* Inputs that differ between the alphabets (values 62 and 63). */
static const struct {
	unsigned char	 bytes[3];
	size_t		 len;
	const char	*std;
	const char	*std_padded;
	const char	*url;
} alpha[] = {
	{ { 0xfb, 0xef, 0xbe }, 3, "++++", "++++", "----" },
	{ { 0xff, 0xff, 0xff }, 3, "////", "////", "____" },
	{ { 0xfb, 0xff, 0x00 }, 2, "+/8", "+/8=", "-_8" },
	{ { 0xff, 0x00, 0x00 }, 1, "/w", "/w==", "_w" },
	{ { 0x3e, 0xff, 0x00 }, 2, "Pv8", "Pv8=", "Pv8" },
};

/* Strings the decoder must refuse (length given for embedded NULs). */
static const struct {
	const char	*in;
	size_t		 len;
	const char	*why;
} bad[] = {
	{ "Z", 1, "one character: no whole byte" },
	{ "Zm9vY", 5, "length 1 mod 4" },
	{ "Zm9vY===", 8, "length 1 mod 4 under padding" },
	{ "Zg=", 3, "incomplete padding" },
	{ "Zm=v", 4, "padding in the middle" },
	{ "Zm=vYg==", 8, "padding in the middle of padded input" },
	{ "Zg===", 5, "three padding characters" },
	{ "Zg==Zg==", 8, "padding then more data" },
	{ "=Zg=", 4, "leading padding" },
	{ "====", 4, "padding only" },
	{ "=", 1, "a lone '='" },
	{ "Zm9v====", 8, "a whole group of padding" },
	{ "Zg =", 4, "space" },
	{ " Zm9v", 5, "leading space" },
	{ "Zm9v\n", 5, "trailing newline" },
	{ "Zm\n9v", 5, "embedded newline" },
	{ "Zm9v\t", 5, "tab" },
	{ "Zm9v\r\n", 6, "CRLF" },
	{ "Zm\0v", 4, "NUL" },
	{ "Zm9!", 4, "punctuation" },
	{ "Zm9.", 4, "dot" },
	{ "Zm9\xc3\xa9", 5, "UTF-8" },
	{ "\xff\xff\xff\xff", 4, "high bytes" },
	{ "+-AA", 4, "mixed alphabets in one group" },
	{ "ab/_", 4, "slash and underscore" },
	{ "++++----", 8, "mixed alphabets across groups" },
	{ "__8+", 4, "url then standard" },
	{ "Zm9vYmFy+w-", 11, "mixed, unpadded" },
};

START_TEST(test_encode_rfc)
{
	char out[32];

	ck_assert_uint_eq(b64_encoded_len(strlen(rfc[_i].plain)),
	    strlen(rfc[_i].url));
	memset(out, 'x', sizeof(out));
	b64_encode((const unsigned char *)rfc[_i].plain,
	    strlen(rfc[_i].plain), out);
	ck_assert_str_eq(out, rfc[_i].url);
}
END_TEST

START_TEST(test_decode_rfc)
{
	const char	*forms[2] = { rfc[_i].padded, rfc[_i].url };
	unsigned char	 out[32];
	size_t		 outlen, k;

	for (k = 0; k < 2; k++) {
		memset(out, 0, sizeof(out));
		outlen = 99;
		ck_assert_int_eq(b64_decode(forms[k], strlen(forms[k]), out,
		    sizeof(out), &outlen), 0);
		ck_assert_uint_eq(outlen, strlen(rfc[_i].plain));
		ck_assert_mem_eq(out, rfc[_i].plain, outlen);
		ck_assert_uint_ge(b64_decoded_max(strlen(forms[k])), outlen);
		/* An exactly sized buffer is enough. */
		ck_assert_int_eq(b64_decode(forms[k], strlen(forms[k]), out,
		    strlen(rfc[_i].plain), &outlen), 0);
	}
}
END_TEST

START_TEST(test_alphabets)
{
	const char	*forms[3] = { alpha[_i].std, alpha[_i].std_padded,
			    alpha[_i].url };
	unsigned char	 out[8];
	char		 enc[8];
	size_t		 outlen, k;

	b64_encode(alpha[_i].bytes, alpha[_i].len, enc);
	ck_assert_str_eq(enc, alpha[_i].url);
	for (k = 0; k < 3; k++) {
		ck_assert_msg(b64_decode(forms[k], strlen(forms[k]), out,
		    sizeof(out), &outlen) == 0, "\"%s\" refused", forms[k]);
		ck_assert_uint_eq(outlen, alpha[_i].len);
		ck_assert_mem_eq(out, alpha[_i].bytes, outlen);
	}
}
END_TEST

START_TEST(test_decode_bad)
{
	unsigned char	out[32];
	size_t		outlen = 99;

	ck_assert_msg(b64_decode(bad[_i].in, bad[_i].len, out, sizeof(out),
	    &outlen) == -1, "accepted: %s", bad[_i].why);
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

/* A failed decode leaves no partial output behind. */
START_TEST(test_decode_bad_wipes)
{
	unsigned char	out[16], zero[16];
	size_t		outlen;

	memset(zero, 0, sizeof(zero));
	memset(out, 0xaa, sizeof(out));
	/* Valid groups first, then a bad character in the last one. */
	ck_assert_int_eq(b64_decode("Zm9vYmFyZm9v!A==", 16, out, sizeof(out),
	    &outlen), -1);
	ck_assert_mem_eq(out, zero, 10);
	memset(out, 0xaa, sizeof(out));
	ck_assert_int_eq(b64_decode("Zm9vYmFy-_+/", 12, out, sizeof(out),
	    &outlen), -1);
	ck_assert_mem_eq(out, zero, 9);
}
END_TEST

START_TEST(test_small_buffer)
{
	unsigned char	out[8];
	size_t		outlen;

	memset(out, 0x55, sizeof(out));
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 5, &outlen), -1);
	ck_assert_int_eq(out[5], 0x55);	/* nothing written past outcap */
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 6, &outlen), 0);
	ck_assert_uint_eq(outlen, 6);
	ck_assert_int_eq(b64_decode("Zm9vYmE=", 8, out, 4, &outlen), -1);
	ck_assert_int_eq(b64_decode("Zm9vYmE=", 8, out, 5, &outlen), 0);
	ck_assert_int_eq(b64_decode("Zg", 2, out, 0, &outlen), -1);
	ck_assert_int_eq(b64_decode("", 0, out, 0, &outlen), 0);
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

/* Documented choice: non-zero leftover bits are accepted, as Java does. */
START_TEST(test_trailing_bits)
{
	unsigned char	out[4];
	size_t		outlen;

	ck_assert_int_eq(b64_decode("Zh", 2, out, sizeof(out), &outlen), 0);
	ck_assert_uint_eq(outlen, 1);
	ck_assert_int_eq(out[0], 'f');
	ck_assert_int_eq(b64_decode("Zh==", 4, out, sizeof(out), &outlen), 0);
	ck_assert_int_eq(out[0], 'f');
	ck_assert_int_eq(b64_decode("Zm9=", 4, out, sizeof(out), &outlen), 0);
	ck_assert_uint_eq(outlen, 2);
	ck_assert_mem_eq(out, "fo", 2);
}
END_TEST

/* Only the given length is read: no NUL terminator needed. */
START_TEST(test_not_terminated)
{
	const char	buf[6] = { 'Z', 'm', '9', 'v', '!', '!' };
	unsigned char	out[4];
	size_t		outlen;

	ck_assert_int_eq(b64_decode(buf, 4, out, sizeof(out), &outlen), 0);
	ck_assert_uint_eq(outlen, 3);
	ck_assert_mem_eq(out, "foo", 3);
}
END_TEST

/* Every byte value at every position, every length up to 70. */
START_TEST(test_round_trip)
{
	unsigned char	in[70], out[70];
	char		enc[100], std[104];
	size_t		n = (size_t)_i, outlen, k, m;

	for (k = 0; k < n; k++)
		in[k] = (unsigned char)(k * 37 + n * 11 + 0xc3);
	b64_encode(in, n, enc);
	ck_assert_uint_eq(strlen(enc), b64_encoded_len(n));
	ck_assert_uint_eq(strcspn(enc, "+/="), strlen(enc));
	ck_assert_uint_eq(b64_decoded_max(strlen(enc)), n);
	ck_assert_int_eq(b64_decode(enc, strlen(enc), out, sizeof(out),
	    &outlen), 0);
	ck_assert_uint_eq(outlen, n);
	ck_assert_mem_eq(out, in, n);

	/* The same data in the standard alphabet, padded. */
	for (m = 0; enc[m] != '\0'; m++)
		std[m] = enc[m] == '-' ? '+' : enc[m] == '_' ? '/' : enc[m];
	while (m % 4 != 0)
		std[m++] = '=';
	std[m] = '\0';
	ck_assert_int_eq(b64_decode(std, m, out, sizeof(out), &outlen), 0);
	ck_assert_uint_eq(outlen, n);
	ck_assert_mem_eq(out, in, n);
}
END_TEST

START_TEST(test_all_bytes)
{
	unsigned char	in[256], out[256];
	char		enc[400];
	size_t		k, outlen;

	for (k = 0; k < 256; k++)
		in[k] = (unsigned char)k;
	b64_encode(in, sizeof(in), enc);
	ck_assert_int_eq(b64_decode(enc, strlen(enc), out, sizeof(out),
	    &outlen), 0);
	ck_assert_uint_eq(outlen, 256);
	ck_assert_mem_eq(out, in, 256);
}
END_TEST

static Suite *
base64_suite(void)
{
	Suite	*s = suite_create("base64");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_encode_rfc, 0, sizeof(rfc) / sizeof(rfc[0]));
	tcase_add_loop_test(tc, test_decode_rfc, 0, sizeof(rfc) / sizeof(rfc[0]));
	tcase_add_loop_test(tc, test_alphabets, 0,
	    sizeof(alpha) / sizeof(alpha[0]));
	tcase_add_loop_test(tc, test_decode_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_decode_bad_wipes);
	tcase_add_test(tc, test_small_buffer);
	tcase_add_test(tc, test_trailing_bits);
	tcase_add_test(tc, test_not_terminated);
	tcase_add_loop_test(tc, test_round_trip, 0, 71);
	tcase_add_test(tc, test_all_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(base64_suite(), CK_FORK);
}
