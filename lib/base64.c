/*
 * base64.c: RFC 4648 base64 for the KMS wire format.
 *
 * Owns encoding (always the URL-safe alphabet of RFC 4648 section 5,
 * without padding, as Hadoop KMS writes it) and strict decoding.  The
 * decoder accepts what Java's Base64 decoders emit: the standard or the
 * URL-safe alphabet, padded or not.  It rejects:
 *   - characters outside both alphabets (whitespace and NUL included);
 *   - a string that uses both '+' or '/' and '-' or '_';
 *   - '=' anywhere but the end, more than two of them, or padding that
 *     does not complete the last group of four;
 *   - a length that is 1 mod 4 once padding is removed (no whole byte).
 * Non-zero bits left over in the last character (for example "Zh" for
 * "f", canonically "Zg") are accepted and ignored, as java.util.Base64
 * does, so that any client encoder interoperates.
 *
 * Much of what passes through here is key material, so the character
 * mapping avoids lookup tables and data-dependent branches: the time taken
 * depends on the length only.  Nothing here allocates; on failure the
 * decoder wipes whatever it wrote.
 */
#include <stddef.h>
#include <string.h>

#include "base64.h"
#include "secbuf.h"

/*
 * Constant-time byte comparisons on values 0..255: each yields 0xff when
 * the relation holds and 0 otherwise, without branching.
 */
#define CT_EQ(x, y)	((((0U - ((unsigned)(x) ^ (unsigned)(y))) >> 8) & 0xff) ^ 0xff)
#define CT_GT(x, y)	((((unsigned)(y) - (unsigned)(x)) >> 8) & 0xff)
#define CT_GE(x, y)	(CT_GT(y, x) ^ 0xff)
#define CT_LT(x, y)	CT_GT(y, x)
#define CT_LE(x, y)	CT_GE(y, x)

/* The URL-safe character for a 6-bit value. */
static char
b64_enc_char(unsigned int x)
{
	unsigned int c;

	c = (CT_LT(x, 26) & (x + 'A')) |
	    (CT_GE(x, 26) & CT_LT(x, 52) & (x + 'a' - 26)) |
	    (CT_GE(x, 52) & CT_LT(x, 62) & (x + '0' - 52)) |
	    (CT_EQ(x, 62) & '-') |
	    (CT_EQ(x, 63) & '_');
	return (char)c;
}

/*
 * The 6-bit value of character c.  Sets bits in *std or *url when c
 * belongs to only one alphabet, and in *bad when it belongs to neither.
 */
static unsigned int
b64_dec_char(unsigned char ch, unsigned int *std, unsigned int *url,
    unsigned int *bad)
{
	unsigned int c = ch;
	unsigned int up, lo, di, plus, slash, minus, under;

	up = CT_GE(c, 'A') & CT_LE(c, 'Z');
	lo = CT_GE(c, 'a') & CT_LE(c, 'z');
	di = CT_GE(c, '0') & CT_LE(c, '9');
	plus = CT_EQ(c, '+');
	slash = CT_EQ(c, '/');
	minus = CT_EQ(c, '-');
	under = CT_EQ(c, '_');

	*std |= plus | slash;
	*url |= minus | under;
	*bad |= (up | lo | di | plus | slash | minus | under) ^ 0xff;

	return (up & (c - 'A')) | (lo & (c - 'a' + 26)) |
	    (di & (c - '0' + 52)) | ((plus | minus) & 62) |
	    ((slash | under) & 63);
}

/*
 * Characters b64_encode writes for n bytes (no padding), not counting
 * the terminating NUL.
 */
size_t
b64_encoded_len(size_t n)
{
	static const size_t tail[3] = { 0, 2, 3 };

	return n / 3 * 4 + tail[n % 3];
}

/*
 * An upper bound of the bytes b64_decode writes for inlen characters
 * (exact for unpadded input of a valid length).
 */
size_t
b64_decoded_max(size_t inlen)
{
	static const size_t tail[4] = { 0, 0, 1, 2 };

	return inlen / 4 * 3 + tail[inlen % 4];
}

/*
 * Encode in[0..n) with the URL-safe alphabet and no padding into out,
 * which must hold b64_encoded_len(n) + 1 bytes; out is NUL-terminated.
 * in may be NULL when n is 0.  Thread-safe.
 */
void
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		i;
	unsigned int	w;

	for (i = 0; i + 3 <= n; i += 3) {
		w = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = b64_enc_char(w >> 18);
		*out++ = b64_enc_char((w >> 12) & 0x3f);
		*out++ = b64_enc_char((w >> 6) & 0x3f);
		*out++ = b64_enc_char(w & 0x3f);
	}
	switch (n - i) {
	case 1:
		w = (unsigned int)in[i] << 16;
		*out++ = b64_enc_char(w >> 18);
		*out++ = b64_enc_char((w >> 12) & 0x3f);
		break;
	case 2:
		w = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8;
		*out++ = b64_enc_char(w >> 18);
		*out++ = b64_enc_char((w >> 12) & 0x3f);
		*out++ = b64_enc_char((w >> 6) & 0x3f);
		break;
	default:
		break;
	}
	*out = '\0';
}

/*
 * Decode in[0..inlen) (not necessarily NUL-terminated) into out, which
 * holds outcap bytes.  Returns 0 and sets *outlen, or -1 when the input
 * is invalid (see the top of this file) or does not fit; out is then
 * wiped, never left holding part of a secret.  An empty input decodes
 * to zero bytes.  Thread-safe.
 */
int
b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 n, pad, need, i, o;
	unsigned int		 std = 0, url = 0, bad = 0, w;
	int			 rv = -1;

	if (outlen != NULL)
		*outlen = 0;
	if (inlen == 0)
		return 0;
	if (in == NULL || out == NULL || outlen == NULL)
		return -1;

	/* Padding: only at the end, at most two, completing a group. */
	for (n = inlen, pad = 0; n > 0 && s[n - 1] == '=' && pad < 3; n--)
		pad++;
	if (pad > 2 || (pad > 0 && inlen % 4 != 0))
		return -1;
	if (n % 4 == 1)
		return -1;
	need = b64_decoded_max(n);
	if (need > outcap)
		return -1;

	for (i = 0, o = 0; i + 4 <= n; i += 4) {
		w = b64_dec_char(s[i], &std, &url, &bad) << 18 |
		    b64_dec_char(s[i + 1], &std, &url, &bad) << 12 |
		    b64_dec_char(s[i + 2], &std, &url, &bad) << 6 |
		    b64_dec_char(s[i + 3], &std, &url, &bad);
		out[o++] = (unsigned char)(w >> 16);
		out[o++] = (unsigned char)(w >> 8);
		out[o++] = (unsigned char)w;
	}
	switch (n - i) {
	case 2:
		w = b64_dec_char(s[i], &std, &url, &bad) << 18 |
		    b64_dec_char(s[i + 1], &std, &url, &bad) << 12;
		out[o++] = (unsigned char)(w >> 16);
		break;
	case 3:
		w = b64_dec_char(s[i], &std, &url, &bad) << 18 |
		    b64_dec_char(s[i + 1], &std, &url, &bad) << 12 |
		    b64_dec_char(s[i + 2], &std, &url, &bad) << 6;
		out[o++] = (unsigned char)(w >> 16);
		out[o++] = (unsigned char)(w >> 8);
		break;
	default:
		break;
	}

	/* Decided once, at the end, so the loop above does not branch. */
	if (bad != 0 || (std & url) != 0) {
		secure_wipe(out, need);
		goto out;
	}
	*outlen = o;
	rv = 0;
out:
	return rv;
}
