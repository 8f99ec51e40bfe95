/*
 * timer.c: feltd's clocks and its one-shot timers (the tables' action clocks, the pauses
 * between hands, the bots' turns, the hello deadline of a player's socket, the sweeps).
 *
 * The timers live in a binary min-heap keyed by due time: arming and cancelling are
 * O(log timers), finding the next one O(1). Nothing here waits or touches a socket: the event
 * loop (net.c) asks timer_next_due_us() when to wake up and calls timer_run_due() when it does,
 * and is told through the wake-up hook whenever a timer is armed, in case it sleeps past the
 * new deadline. That is why the heap is ours and not lws's: lws 4.1 keeps its timers in one
 * sorted list with O(length) insertion that also holds a heartbeat timer per WebSocket, and
 * arming each table's action clock there walked all of them on every action (40 % of feltd's
 * CPU at 10,000 connections; docs/performance.md).
 *
 * The clocks are function pointers so that tests run tables on a fake clock: monotonic
 * microseconds for when timers are due, epoch milliseconds for everything a client sees or a
 * limit counts (deadlines, presence, rate limits). Production uses felt_mono_us and
 * felt_now_ms (net.c sets lws's own monotonic clock, the one its timer runs on).
 */
#include <stdlib.h>

#include "server.h"

struct timer {
    void (*cb)(void *arg);
    void *arg;
    int64_t due_us; /* while armed */
    int idx;        /* position in the heap, -1 when not armed */
};

static struct timer **timer_heap;
static int timer_n, timer_cap;
static int64_t (*timer_mono_us)(void) = felt_mono_us;
static int64_t (*timer_epoch_ms)(void) = felt_now_ms;
static void (*timer_wakeup)(int64_t due_us);

void timer_set_clock(int64_t (*mono_us)(void), int64_t (*wall_ms)(void))
{
    timer_mono_us = mono_us ? mono_us : felt_mono_us;
    timer_epoch_ms = wall_ms ? wall_ms : felt_now_ms;
}

void timer_set_wakeup(void (*fn)(int64_t due_us))
{
    timer_wakeup = fn;
}

int64_t timer_now_us(void)
{
    return timer_mono_us();
}

int64_t timer_wall_ms(void)
{
    return timer_epoch_ms();
}

static void timer_heap_set(int i, struct timer *t)
{
    timer_heap[i] = t;
    t->idx = i;
}

static void timer_heap_up(int i)
{
    struct timer *t = timer_heap[i];
    while (i > 0 && timer_heap[(i - 1) / 2]->due_us > t->due_us) {
        timer_heap_set(i, timer_heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    timer_heap_set(i, t);
}

static void timer_heap_down(int i)
{
    struct timer *t = timer_heap[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= timer_n)
            break;
        if (c + 1 < timer_n && timer_heap[c + 1]->due_us < timer_heap[c]->due_us)
            c++;
        if (timer_heap[c]->due_us >= t->due_us)
            break;
        timer_heap_set(i, timer_heap[c]);
        i = c;
    }
    timer_heap_set(i, t);
}

static void timer_heap_remove(struct timer *t)
{
    int i = t->idx;
    if (i < 0)
        return;
    t->idx = -1;
    struct timer *last = timer_heap[--timer_n];
    if (last == t)
        return;
    timer_heap_set(i, last);
    timer_heap_down(i);
    timer_heap_up(last->idx);
}

struct timer *timer_new(void (*cb)(void *arg), void *arg)
{
    struct timer *t = xcalloc(1, sizeof(*t));
    t->cb = cb;
    t->arg = arg;
    t->idx = -1;
    return t;
}

void timer_arm(struct timer *t, int64_t delay_ms)
{
    timer_heap_remove(t);
    t->due_us = timer_now_us() + (delay_ms > 0 ? delay_ms : 0) * 1000;
    if (timer_n == timer_cap) {
        timer_cap = timer_cap ? 2 * timer_cap : 64;
        timer_heap = xrealloc(timer_heap, sizeof(*timer_heap) * (size_t)timer_cap);
    }
    timer_heap_set(timer_n++, t);
    timer_heap_up(t->idx);
    if (timer_wakeup)
        timer_wakeup(timer_heap[0]->due_us);
}

void timer_cancel(struct timer *t)
{
    timer_heap_remove(t); /* an early wake-up of the loop finds nothing due and looks again */
}

bool timer_armed(const struct timer *t)
{
    return t->idx >= 0;
}

void timer_free(struct timer *t)
{
    if (!t)
        return;
    timer_heap_remove(t);
    free(t);
}

int64_t timer_next_due_us(void)
{
    return timer_n > 0 ? timer_heap[0]->due_us : -1;
}

void timer_run_due(int64_t now_us)
{
    while (timer_n > 0 && timer_heap[0]->due_us <= now_us) {
        struct timer *t = timer_heap[0];
        timer_heap_remove(t);
        t->cb(t->arg);
    }
}
