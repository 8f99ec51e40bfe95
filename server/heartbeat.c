/*
 * heartbeat.c: finds the WebSockets whose peer has gone silent, pings them, and hangs up on
 * those that stay silent, at a cost of O(1) per member per cycle.
 *
 * lws 4.1's own heartbeat (its idle policy) keeps a timer per connection in one sorted list and
 * re-inserts it, walking the list, on every ping and pong: at 10,000 connections the pings of
 * connections opened together fall due together and stalled feltd for a second or more every
 * 20 s (docs/performance.md, issue 12). Here one timer sweeps the members round-robin instead:
 * every tick it looks at the next slice of them, sized so that each is looked at once per cycle
 * (half the shorter of the ping and the ping-to-hang-up times). Looking at one asks the
 * transport how long ago anything arrived from its peer (net.c asks the kernel: TCP_INFO's
 * tcpi_last_data_recv, so a pong counts without lws having to report it, and a peer that talks
 * is never pinged at all). Silent for ping_ms: one empty ping; for hangup_ms: hung up. A silent
 * peer is therefore dropped between hangup_ms and hangup_ms + cycle_ms after its last byte.
 *
 * No socket here: the transport's hooks (struct heartbeat_ops) do the I/O, and the timer is
 * timer.c's, so tests drive a sweep on a fake clock.
 */
#include <string.h>

#include "server.h"

#define HEARTBEAT_TICK_MAX_MS 1000

static void heartbeat_timer_fire(void *arg)
{
    heartbeat_tick(arg);
}

void heartbeat_init(struct heartbeat *hb, const struct heartbeat_ops *ops, int ping_secs,
                    int hangup_secs)
{
    memset(hb, 0, sizeof(*hb));
    hb->ops = ops;
    hb->ping_ms = (int64_t)ping_secs * 1000;
    hb->hangup_ms = (int64_t)hangup_secs * 1000;
    int64_t gap = hb->hangup_ms - hb->ping_ms;
    int64_t shorter = gap > 0 && gap < hb->ping_ms ? gap : hb->ping_ms;
    hb->cycle_ms = shorter / 2 > 100 ? shorter / 2 : 100;
    hb->tick_ms = hb->cycle_ms < HEARTBEAT_TICK_MAX_MS ? hb->cycle_ms : HEARTBEAT_TICK_MAX_MS;
    hb->timer = timer_new(heartbeat_timer_fire, hb);
}

void heartbeat_add(struct heartbeat *hb, struct heartbeat_node *n)
{
    n->prev = NULL;
    n->next = hb->head;
    if (hb->head)
        hb->head->prev = n;
    hb->head = n;
    if (hb->count++ == 0)
        timer_arm(hb->timer, hb->tick_ms);
}

void heartbeat_remove(struct heartbeat *hb, struct heartbeat_node *n)
{
    if (hb->cursor == n)
        hb->cursor = n->next;
    if (n->prev)
        n->prev->next = n->next;
    else
        hb->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->prev = n->next = NULL;
    if (--hb->count == 0) {
        timer_cancel(hb->timer);
        hb->cursor = NULL;
        hb->carry = 0;
    }
}

void heartbeat_tick(struct heartbeat *hb)
{
    /* count x tick / cycle members this tick, the remainder carried to the next one */
    int64_t due = (int64_t)hb->count * hb->tick_ms + hb->carry;
    int64_t n = due / hb->cycle_ms;
    hb->carry = due % hb->cycle_ms;
    if (n > hb->count)
        n = hb->count;
    for (; n > 0 && hb->head; n--) {
        struct heartbeat_node *node = hb->cursor ? hb->cursor : hb->head;
        hb->cursor = node->next; /* before the hooks: a hang-up may remove node at once */
        int64_t idle = hb->ops->idle_ms(node);
        hb->probes++;
        if (idle >= hb->hangup_ms) {
            hb->hangups++;
            hb->ops->hangup(node);
        } else if (idle >= hb->ping_ms) {
            hb->pings++;
            hb->ops->ping(node);
        }
    }
    if (hb->count > 0)
        timer_arm(hb->timer, hb->tick_ms);
}

void heartbeat_free(struct heartbeat *hb)
{
    timer_free(hb->timer);
    hb->timer = NULL;
}
