/*
 * clock.c: milliseconds from the monotonic and real-time clocks, and
 * timespec deadlines for condition variables.  Which clock a condition
 * variable waits on is its owner's choice, made with pthread_condattr.
 */
#include <errno.h>
#include <time.h>

#include "clock.h"

#define NSEC_PER_SEC	1000000000L
#define NSEC_PER_MS	1000000L

static int64_t
ms_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NSEC_PER_MS;
}

int64_t
clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

int64_t
clock_real_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

void
clock_add_ms(struct timespec *ts, long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * NSEC_PER_MS;
	if (ts->tv_nsec >= NSEC_PER_SEC) {
		ts->tv_sec++;
		ts->tv_nsec -= NSEC_PER_SEC;
	} else if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += NSEC_PER_SEC;
	}
}

void
clock_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	clock_add_ms(ts, ms);
}

void
clock_at(struct timespec *ts, int64_t at_ms)
{
	ts->tv_sec = (time_t)(at_ms / 1000);
	ts->tv_nsec = (long)(at_ms % 1000) * NSEC_PER_MS;
}

void
clock_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
