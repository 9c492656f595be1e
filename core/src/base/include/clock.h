/*
 * The core's clock: nanoseconds from CLOCK_MONOTONIC, for deadlines,
 * durations and timeouts. Wall-clock time is only ever derived from it where
 * it is printed (log.c).
 */
#ifndef SOOM_CLOCK_H
#define SOOM_CLOCK_H

#include <stdint.h>

/* Nanoseconds from a monotonic clock (unrelated to the time of day). */
uint64_t soom_clock_ns(void);

#endif
