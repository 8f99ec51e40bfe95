/*
 * fakeclock.h: the fake clock of the unit tests that drive feltd's timers on a table (test_table.c,
 * test_outbox.c, test_equity_job.c), so that an action clock, a retry or a slice of a count fires
 * when the test says and every run is the same. Header-only: each test is one file.
 *
 * fakeclock_start installs it (timer_set_clock) at a monotonic 5,000 s; the wall clock reads a
 * fixed date in late 2025 plus the same progress, in ms. Time moves only in fakeclock_advance,
 * which then runs every timer due by then, those a due one arms for "now" included; one armed
 * for later waits for a later advance.
 */
#ifndef FELT_TEST_FAKECLOCK_H
#define FELT_TEST_FAKECLOCK_H

#include <stdint.h>

#include "server.h"

static int64_t fakeclock_us;

static inline int64_t fakeclock_mono(void)
{
    return fakeclock_us;
}

static inline int64_t fakeclock_wall(void)
{
    return INT64_C(1764000000000) + fakeclock_us / 1000;
}

/* Sets the clock back to its start and makes it the timers' clock: a test's setup calls it. */
static inline void fakeclock_start(void)
{
    fakeclock_us = INT64_C(5000000000);
    timer_set_clock(fakeclock_mono, fakeclock_wall);
}

/* Moves the clock on by ms and runs every timer due by then (advance(0): those armed for "now"). */
static inline void fakeclock_advance(int64_t ms)
{
    fakeclock_us += ms * 1000;
    timer_run_due(fakeclock_us);
}

#endif
