/*
 * hexbytes.h: test vectors written as hex, the way the KMIP specification
 * prints encodings ("42 00 20 | 02 | 00 00 00 04 | ..."): every character
 * that is not a hex digit is skipped.  Test code only.
 */
#ifndef KW_TEST_HEXBYTES_H
#define KW_TEST_HEXBYTES_H

#include <stdlib.h>
#include <string.h>

/* The bytes of the hex digits in s, in a malloc'd block (*len of them);
 * aborts on an odd number of digits, a broken vector. */
static inline unsigned char *
hexbytes(const char *s, size_t *len)
{
	unsigned char *out = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1, v;

	if (out == NULL)
		abort();
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		abort();
	*len = n;
	return out;
}

#endif
