/*
 * fuzz_base64.c: libFuzzer target for lib/base64.c.
 *
 * Every input is used twice:
 *   - as text to decode.  Buffers are allocated at exactly the size the
 *     decoder may write (b64_decoded_max), so ASan sees a one-byte
 *     overrun.  When the text decodes, re-encoding gives back the text
 *     in canonical form (URL-safe alphabet, no padding, unused low bits
 *     of the last character zero), and decoding into a buffer one byte
 *     too small fails and leaves that buffer untouched (all zero).  When
 *     it does not decode, the output buffer is left all zero as well:
 *     the decoder must never leave part of a secret behind;
 *   - as bytes to encode: the text has b64_encoded_len characters, all
 *     URL-safe, and decodes back to the bytes, as does the same text in
 *     the standard alphabet with padding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/base64.h"

/* The 6-bit value of a character of either alphabet, -1 for others. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Whether buf[0..n) is all zero. */
static int
all_zero(const unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i] != 0)
			return 0;
	return 1;
}

/* A malloc'd buffer of n bytes (at least 1, so malloc(0) is no case),
 * zeroed. */
static unsigned char *
zalloc(size_t n)
{
	unsigned char *p = calloc(n > 0 ? n : 1, 1);

	FUZZ_CHECK(p != NULL);
	return p;
}

/* The decoded bytes dec (n of them) re-encode to text, canonically. */
static void
check_reencode(const char *text, size_t len, const unsigned char *dec,
    size_t n)
{
	char *enc;
	size_t elen, stripped, i;
	int last_in, last_out;
	unsigned int keep;

	for (stripped = len; stripped > 0 && text[stripped - 1] == '='; stripped--)
		;
	elen = b64_encoded_len(n);
	FUZZ_CHECK(elen == stripped);
	enc = malloc(elen + 1);
	FUZZ_CHECK(enc != NULL);
	b64_encode(dec, n, enc);
	FUZZ_CHECK(strlen(enc) == elen);
	/* every character but the last carries six whole bits */
	for (i = 0; i + 1 < elen; i++)
		FUZZ_CHECK(b64_value((unsigned char)enc[i]) ==
		    b64_value((unsigned char)text[i]));
	if (elen > 0) {
		/* the last one: 2 or 4 low bits are padding when the group
		 * is short, and the encoder writes them as zero */
		last_in = b64_value((unsigned char)text[elen - 1]);
		last_out = b64_value((unsigned char)enc[elen - 1]);
		keep = elen % 4 == 2 ? 0x30 : elen % 4 == 3 ? 0x3c : 0x3f;
		FUZZ_CHECK(last_in >= 0 && last_out >= 0);
		FUZZ_CHECK((unsigned int)last_out == ((unsigned int)last_in & keep));
	}
	for (i = 0; i < elen; i++)
		FUZZ_CHECK(enc[i] != '+' && enc[i] != '/' && enc[i] != '=');
	free(enc);
}

static void
fuzz_decode(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t cap = b64_decoded_max(size), n = 0, m = 0;
	unsigned char *out = zalloc(cap), *small;
	int rv;

	rv = b64_decode(text, size, out, cap, &n);
	if (rv != 0) {
		FUZZ_CHECK(rv == -1);
		FUZZ_CHECK(n == 0);
		FUZZ_CHECK(all_zero(out, cap));
		free(out);
		return;
	}
	FUZZ_CHECK(n <= cap);
	check_reencode(text, size, out, n);
	if (n > 0) {
		small = zalloc(n - 1);
		FUZZ_CHECK(b64_decode(text, size, small, n - 1, &m) == -1);
		FUZZ_CHECK(m == 0);
		FUZZ_CHECK(all_zero(small, n - 1));
		free(small);
	}
	free(out);
}

static void
fuzz_encode(const uint8_t *data, size_t size)
{
	size_t elen = b64_encoded_len(size), n = 0, i, plen;
	char *enc = malloc(elen + 1), *std;
	unsigned char *dec = zalloc(size);

	FUZZ_CHECK(enc != NULL);
	b64_encode(data, size, enc);
	FUZZ_CHECK(strlen(enc) == elen);
	FUZZ_CHECK(b64_decoded_max(elen) == size);
	for (i = 0; i < elen; i++)
		FUZZ_CHECK((enc[i] >= 'A' && enc[i] <= 'Z') ||
		    (enc[i] >= 'a' && enc[i] <= 'z') ||
		    (enc[i] >= '0' && enc[i] <= '9') ||
		    enc[i] == '-' || enc[i] == '_');
	FUZZ_CHECK(b64_decode(enc, elen, dec, size, &n) == 0);
	FUZZ_CHECK(n == size && (size == 0 || memcmp(dec, data, size) == 0));

	/* the same in the standard alphabet, padded, as Java sends it */
	plen = (elen + 3) / 4 * 4;
	std = malloc(plen + 1);
	FUZZ_CHECK(std != NULL);
	for (i = 0; i < elen; i++)
		std[i] = enc[i] == '-' ? '+' : enc[i] == '_' ? '/' : enc[i];
	for (; i < plen; i++)
		std[i] = '=';
	std[plen] = '\0';
	memset(dec, 0, size);
	FUZZ_CHECK(b64_decode(std, plen, dec, size, &n) == 0);
	FUZZ_CHECK(n == size && (size == 0 || memcmp(dec, data, size) == 0));
	free(std);
	free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(data, size);
	fuzz_encode(data, size);
	return 0;
}
