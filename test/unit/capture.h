/*
 * capture.h: capture standard error inside a (forked) Check test, for
 * the unit tests that assert what a module logs.  Header-only: each test
 * program includes it once.
 */
#ifndef KW_TEST_CAPTURE_H
#define KW_TEST_CAPTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static FILE *capture_fp;

/* Send stderr to a temporary file for the rest of this (forked) test. */
static inline void
capture_start(void)
{
	ck_assert_ptr_nonnull(capture_fp = tmpfile());
	fflush(stderr);
	ck_assert_int_ne(dup2(fileno(capture_fp), STDERR_FILENO), -1);
}

/* Everything written to stderr so far; caller frees. */
static inline char *
captured(void)
{
	char	*buf;
	long	 n;

	fflush(stderr);
	ck_assert_int_eq(fseek(capture_fp, 0, SEEK_END), 0);
	n = ftell(capture_fp);
	rewind(capture_fp);
	ck_assert_ptr_nonnull(buf = calloc(1, (size_t)n + 1));
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, capture_fp), (size_t)n);
	return buf;
}

#endif
