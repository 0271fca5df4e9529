/*
 * fuzz.h: what every libFuzzer target in test/fuzz/ shares: the entry
 * point's prototype (the warning flags want one) and a check that
 * aborts with a message, so that a broken invariant is reported by
 * libFuzzer as a crash and the input is saved.  Harness code only:
 * nothing here is linked into the programs.
 */
#ifndef KW_FUZZ_H
#define KW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a crash to libFuzzer) when cond is false, saying which check. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* A NUL-terminated heap copy of data[0..size); aborts when memory is
 * short (the fuzzer's rss limit is the real bound). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

#endif
