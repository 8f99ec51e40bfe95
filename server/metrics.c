/*
 * metrics.c: feltd's counters, rendered in the Prometheus text exposition format for /metrics.
 *
 * Counters are plain integers updated on the one event-loop thread. The latency histogram
 * measures action-to-broadcast: from the moment the server applied an action (and rendered its
 * state_update) to the moment that update is handed to each connection's socket.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

/* Upper bounds of the latency buckets, in microseconds; the last bucket is +Inf. */
static const int64_t metrics_bounds_us[15] = {10,    25,    50,     100,    250,
                                              500,   1000,  2500,   5000,   10000,
                                              25000, 50000, 100000, 250000, 1000000};

void metrics_latency(struct metrics *m, int64_t us)
{
    size_t i = 0;
    if (us < 0)
        us = 0;
    while (i < FELT_ARRAY_LEN(metrics_bounds_us) && us > metrics_bounds_us[i])
        i++;
    m->lat_buckets[i]++;
    m->lat_count++;
    m->lat_sum_us += (uint64_t)us;
}

struct metrics_buf {
    char *s;
    size_t len, cap;
};

static void metrics_add(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void metrics_add(struct metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        FELT_ASSERT(n >= 0);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n;
        b->s = xrealloc(b->s, b->cap);
    }
}

static void metrics_counter(struct metrics_buf *b, const char *name, const char *help,
                            uint64_t v)
{
    metrics_add(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                (unsigned long long)v);
}

char *metrics_text(const struct server *srv, size_t *len_out)
{
    static const char *roles[4] = {"http", "pending", "player", "spectator"};
    const struct metrics *m = &srv->metrics;
    struct metrics_buf b = {xmalloc(4096), 0, 4096};

    metrics_add(&b, "# HELP felt_connections Open connections by role.\n"
                    "# TYPE felt_connections gauge\n");
    for (int i = 0; i < 4; i++)
        metrics_add(&b, "felt_connections{role=\"%s\"} %lld\n", roles[i],
                    (long long)m->conns[i]);
    metrics_add(&b, "# HELP felt_tables Tables served.\n# TYPE felt_tables gauge\n"
                    "felt_tables %d\n", srv->ntables);
    metrics_counter(&b, "felt_messages_in_total", "WebSocket messages received.", m->msgs_in);
    metrics_counter(&b, "felt_messages_out_total", "WebSocket messages sent.", m->msgs_out);
    metrics_counter(&b, "felt_frames_out_total",
                    "WebSocket frames sent (felt.v2 carries several messages in one).",
                    m->frames_out);
    metrics_counter(&b, "felt_bytes_in_total", "Payload bytes received.", m->bytes_in);
    metrics_counter(&b, "felt_bytes_out_total", "Payload bytes sent.", m->bytes_out);
    metrics_counter(&b, "felt_actions_total", "Actions applied.", m->actions);
    metrics_counter(&b, "felt_actions_rejected_total", "Actions refused.", m->actions_rejected);
    metrics_counter(&b, "felt_resumes_total", "Resumes served from history.", m->resumes);
    metrics_counter(&b, "felt_resume_snapshots_total", "Resumes answered with a snapshot.",
                    m->resume_snapshots);
    metrics_counter(&b, "felt_hello_rejected_total", "Hellos refused (bad token).",
                    m->hellos_rejected);
    metrics_counter(&b, "felt_http_requests_total", "HTTP requests.", m->http_requests);
    metrics_counter(&b, "felt_connections_refused_total",
                    "Connections refused by the per-address cap.", m->conns_refused);
    metrics_counter(&b, "felt_heartbeat_pings_total",
                    "Pings sent to WebSockets whose peer had gone quiet.", srv->hb.pings);
    metrics_counter(&b, "felt_heartbeat_hangups_total",
                    "WebSockets closed because their peer stayed silent.", srv->hb.hangups);

    metrics_add(&b, "# HELP felt_action_broadcast_latency_seconds From an applied action to its "
                    "state_update leaving for each connection.\n"
                    "# TYPE felt_action_broadcast_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i <= FELT_ARRAY_LEN(metrics_bounds_us); i++) {
        cum += m->lat_buckets[i];
        if (i < FELT_ARRAY_LEN(metrics_bounds_us))
            metrics_add(&b, "felt_action_broadcast_latency_seconds_bucket{le=\"%g\"} %llu\n",
                        (double)metrics_bounds_us[i] / 1e6, (unsigned long long)cum);
        else
            metrics_add(&b, "felt_action_broadcast_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                        (unsigned long long)cum);
    }
    metrics_add(&b, "felt_action_broadcast_latency_seconds_sum %.6f\n"
                    "felt_action_broadcast_latency_seconds_count %llu\n",
                (double)m->lat_sum_us / 1e6, (unsigned long long)m->lat_count);
    *len_out = b.len;
    return b.s;
}
