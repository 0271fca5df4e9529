/*
 * base64.h: RFC 4648 base64.
 *
 * Encoding always uses the URL-safe alphabet without padding (what Hadoop
 * KMS sends).  Decoding accepts the standard and URL-safe alphabets, with
 * or without padding, but not mixed alphabets in one string, no
 * whitespace, and no trailing garbage.  No allocation: callers supply the
 * output buffer, so secrets can go straight into a secbuf.
 */
#ifndef KW_BASE64_H
#define KW_BASE64_H

#include <stddef.h>
#include "kwerr.h"

/* Characters b64_encode writes for n input bytes, excluding the NUL. */
size_t	b64_encoded_len(size_t n);
/* Upper bound of the bytes b64_decode writes for inlen characters. */
size_t	b64_decoded_max(size_t inlen);
/* Encode in[0..n) into out (b64_encoded_len(n) + 1 bytes), NUL-terminated. */
void	b64_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decode in[0..inlen) into out (outcap bytes).  Returns 0 and sets
 * *outlen, or -1 for invalid input or a too-small buffer (out may then
 * hold partial output: wipe it if secret).
 */
int	b64_decode(const char *in, size_t inlen, unsigned char *out,
	    size_t outcap, size_t *outlen) WUR;

#endif
