/*
 * clock.h: the two clocks keyward reads, in milliseconds, and deadlines
 * for pthread_cond_timedwait.  Monotonic time is for intervals, timeouts
 * and waits; real time only for times that leave the process (cookie
 * expiry).  Formatting wall-clock timestamps is left to the callers.
 */
#ifndef KW_CLOCK_H
#define KW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in milliseconds.  Thread-safe. */
int64_t	clock_mono_ms(void);
/* CLOCK_REALTIME now, in milliseconds since the epoch.  Thread-safe. */
int64_t	clock_real_ms(void);

/*
 * Deadlines for pthread_cond_timedwait, each left normalised (0 <=
 * tv_nsec < 1000000000).  clock_deadline: CLOCK_MONOTONIC now + ms, for
 * a condition variable made with pthread_condattr_setclock(CLOCK_MONOTONIC).
 * clock_at: the instant at_ms (>= 0) as clock_mono_ms counts it, for the
 * same.
 * clock_add_ms: ts + ms, for a time read from any clock.
 */
void	clock_deadline(struct timespec *ts, long ms);
void	clock_at(struct timespec *ts, int64_t at_ms);
void	clock_add_ms(struct timespec *ts, long ms);
/* Sleep ms (>= 0) milliseconds, resuming after signals. */
void	clock_sleep_ms(long ms);

#endif
