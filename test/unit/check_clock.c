/*
 * check_clock.c: lib/clock: millisecond clocks that agree with the
 * system's, and condition-variable deadlines that come out normalised
 * however the milliseconds fall across a second.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "lib/clock.h"
#include "check_main.h"

#define NS	1000000000LL

static int64_t
ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

/* clock_add_ms from a fixed start: every carry and borrow. */
static const struct {
	struct timespec	 from;
	long		 ms;
	struct timespec	 want;
} add[] = {
	{ { 10, 0 }, 0, { 10, 0 } },
	{ { 10, 0 }, 1, { 10, 1000000 } },
	{ { 10, 0 }, 999, { 10, 999000000 } },
	{ { 10, 0 }, 1000, { 11, 0 } },
	{ { 10, 999999999 }, 1, { 11, 999999 } },
	{ { 10, 500000000 }, 500, { 11, 0 } },
	{ { 10, 500000000 }, 499, { 10, 999000000 } },
	{ { 10, 999000000 }, 2001, { 13, 0 } },
	{ { 10, 1 }, 60999, { 70, 999000001 } },
	{ { 10, 0 }, -1, { 9, 999000000 } },
	{ { 10, 500000000 }, -1500, { 9, 0 } },
};

START_TEST(test_add_ms)
{
	struct timespec ts = add[_i].from;

	clock_add_ms(&ts, add[_i].ms);
	ck_assert_int_eq(ts.tv_sec, add[_i].want.tv_sec);
	ck_assert_int_eq(ts.tv_nsec, add[_i].want.tv_nsec);
}
END_TEST

static const struct {
	int64_t		 at_ms;
	struct timespec	 want;
} at[] = {
	{ 0, { 0, 0 } },
	{ 1, { 0, 1000000 } },
	{ 999, { 0, 999000000 } },
	{ 1000, { 1, 0 } },
	{ 1999, { 1, 999000000 } },
	{ 86400123, { 86400, 123000000 } },
};

START_TEST(test_at)
{
	struct timespec ts;

	clock_at(&ts, at[_i].at_ms);
	ck_assert_int_eq(ts.tv_sec, at[_i].want.tv_sec);
	ck_assert_int_eq(ts.tv_nsec, at[_i].want.tv_nsec);
}
END_TEST

/* Waits whose milliseconds cross into the next second, or several. */
static const long deadline_ms[] = { 0, 1, 250, 999, 1000, 1001, 1999, 60000 };

START_TEST(test_deadline)
{
	struct timespec before, after, ts;
	int64_t ms = deadline_ms[_i];
	int n;

	/* repeated, so some runs start late in a second and carry */
	for (n = 0; n < 200; n++) {
		clock_gettime(CLOCK_MONOTONIC, &before);
		clock_deadline(&ts, ms);
		clock_gettime(CLOCK_MONOTONIC, &after);
		ck_assert_int_ge(ts.tv_nsec, 0);
		ck_assert_int_lt(ts.tv_nsec, NS);
		ck_assert_int_ge(ns_of(&ts), ns_of(&before) + ms * 1000000);
		ck_assert_int_le(ns_of(&ts), ns_of(&after) + ms * 1000000);
	}
}
END_TEST

START_TEST(test_mono_ms)
{
	struct timespec ts;
	int64_t prev, now, sys;
	int n;

	prev = clock_mono_ms();
	for (n = 0; n < 10000; n++) {
		now = clock_mono_ms();
		ck_assert_int_ge(now, prev);
		prev = now;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sys = ns_of(&ts) / 1000000;
	now = clock_mono_ms();
	ck_assert_int_ge(now, sys);
	ck_assert_int_lt(now - sys, 1000);
	/* the deadline and the milliseconds are the same clock */
	clock_deadline(&ts, 0);
	ck_assert_int_ge(ns_of(&ts) / 1000000, now);
}
END_TEST

START_TEST(test_real_ms)
{
	int64_t before, ms, after;

	/* time() may read a coarse clock a tick behind: a second of slack */
	before = (int64_t)time(NULL) * 1000;
	ms = clock_real_ms();
	after = (int64_t)time(NULL) * 1000;
	ck_assert_int_ge(ms, before - 1000);
	ck_assert_int_lt(ms, after + 2000);
}
END_TEST

static Suite *
clock_suite(void)
{
	Suite	*s = suite_create("clock");
	TCase	*tc = tcase_create("clock");

	tcase_add_loop_test(tc, test_add_ms, 0, sizeof(add) / sizeof(add[0]));
	tcase_add_loop_test(tc, test_at, 0, sizeof(at) / sizeof(at[0]));
	tcase_add_loop_test(tc, test_deadline, 0,
	    sizeof(deadline_ms) / sizeof(deadline_ms[0]));
	tcase_add_test(tc, test_mono_ms);
	tcase_add_test(tc, test_real_ms);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(clock_suite(), CK_FORK);
}
