/*
 * bench_json.c: felt-bench's results as JSON (--json-out; bench.h): the run's configuration, the
 * idle phase, every WebSocket and polling phase (latency quantiles in microseconds, rates, bytes
 * by message type and event, counts of problems) and the targets.
 */
#include "bench.h"

#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>

static struct json_object *bench_json_latency(const struct bench_hist *h)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "samples", json_object_new_int64((int64_t)h->count));
    json_object_object_add(j, "mean", json_object_new_double(bench_hist_mean(h) / 1e3));
    json_object_object_add(j, "p50", json_object_new_double(bench_hist_quantile(h, 0.5) / 1e3));
    json_object_object_add(j, "p90", json_object_new_double(bench_hist_quantile(h, 0.9) / 1e3));
    json_object_object_add(j, "p99", json_object_new_double(bench_hist_quantile(h, 0.99) / 1e3));
    json_object_object_add(j, "p99_9", json_object_new_double(bench_hist_quantile(h, 0.999) / 1e3));
    json_object_object_add(j, "max", json_object_new_double((double)h->max_ns / 1e3));
    return j;
}

/* Bytes and requests per client: per action, and per minute (payload and wire). */
static void bench_json_traffic(struct json_object *j, const struct bench_phase *ph)
{
    const struct bench_counters *k = &ph->ctr;
    double minutes = ph->seconds / 60;
    struct json_object *bpa = json_object_new_object();
    json_object_object_add(
        bpa, "payload",
        json_object_new_double(bench_report_bytes_per_action(ph, bench_report_payload(ph))));
    json_object_object_add(
        bpa, "wire",
        json_object_new_double(bench_report_bytes_per_action(ph, bench_report_wire(ph))));
    json_object_object_add(j, "bytes_per_action_per_client", bpa);
    struct json_object *bpm = json_object_new_object();
    json_object_object_add(bpm, "payload",
                           json_object_new_double(bench_report_div((double)bench_report_payload(ph),
                                                                   ph->nclients * minutes)));
    json_object_object_add(bpm, "wire",
                           json_object_new_double(bench_report_div((double)bench_report_wire(ph),
                                                                   ph->nclients * minutes)));
    json_object_object_add(j, "bytes_per_min_per_client", bpm);
    json_object_object_add(
        j, "requests_per_min_per_client",
        json_object_new_double(bench_report_div((double)(ph->poll ? k->requests : k->client_msgs),
                                                ph->nclients * minutes)));
}

/* What went wrong, counted (none of it is expected in a healthy run). */
static struct json_object *bench_json_counts(const struct bench_counters *k)
{
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "sent", json_object_new_int64((int64_t)k->sent));
    json_object_object_add(e, "rejected", json_object_new_int64((int64_t)k->rejected));
    json_object_object_add(e, "rate_limited", json_object_new_int64((int64_t)k->rate_limited));
    json_object_object_add(e, "errors", json_object_new_int64((int64_t)k->errors));
    json_object_object_add(e, "unmatched", json_object_new_int64((int64_t)k->unmatched));
    json_object_object_add(e, "seq_gaps", json_object_new_int64((int64_t)k->gaps));
    json_object_object_add(e, "resyncs", json_object_new_int64((int64_t)k->resyncs));
    json_object_object_add(e, "dropped", json_object_new_int64((int64_t)k->dropped));
    json_object_object_add(e, "unreadable", json_object_new_int64((int64_t)k->bad));
    return e;
}

/* Where the bytes go: payload bytes per action per client, by message type and event. */
static void bench_json_by_type(struct json_object *j, const struct bench_phase *ph)
{
    const struct bench_counters *k = &ph->ctr;
    struct json_object *bt = json_object_new_object(), *be = json_object_new_object();
    for (int t = 0; t < PROTO_S_COUNT; t++)
        json_object_object_add(
            bt, proto_stype_name((enum proto_stype)t),
            json_object_new_double(bench_report_bytes_per_action(ph, k->type_bytes[t])));
    for (int i = 0; i < BENCH_NEVENTS; i++)
        json_object_object_add(
            be, bench_bot_events[i],
            json_object_new_double(bench_report_bytes_per_action(ph, k->event_bytes[i])));
    json_object_object_add(j, "payload_per_action_per_client_by_type", bt);
    json_object_object_add(j, "state_update_payload_per_action_per_client_by_event", be);
}

static struct json_object *bench_json_phase(const struct bench_phase *ph)
{
    struct json_object *j = json_object_new_object();
    const struct bench_counters *k = &ph->ctr;
    json_object_object_add(j, "name", json_object_new_string(ph->name));
    json_object_object_add(j, "transport", json_object_new_string(ph->poll ? "poll" : "websocket"));
    if (ph->poll)
        json_object_object_add(j, "interval_ms", json_object_new_int(ph->interval_ms));
    else
        json_object_object_add(j, "deflate", json_object_new_boolean(ph->deflate));
    json_object_object_add(j, "ok", json_object_new_boolean(ph->ok));
    if (ph->note[0]) json_object_object_add(j, "note", json_object_new_string(ph->note));
    json_object_object_add(j, "tables", json_object_new_int(ph->ntables));
    json_object_object_add(j, "clients", json_object_new_int(ph->nclients));
    json_object_object_add(j, "seconds", json_object_new_double(ph->seconds));
    json_object_object_add(j, "actions", json_object_new_int64((int64_t)k->accepted));
    json_object_object_add(
        j, "actions_per_s",
        json_object_new_double(bench_report_div((double)k->accepted, ph->seconds)));
    json_object_object_add(j, "deliveries", json_object_new_int64((int64_t)k->deliveries));
    json_object_object_add(
        j, "deliveries_per_s",
        json_object_new_double(bench_report_div((double)k->deliveries, ph->seconds)));
    json_object_object_add(j, "latency_us", bench_json_latency(&ph->lat));
    json_object_object_add(j, "ack_latency_us", bench_json_latency(&ph->ack));
    json_object_object_add(j, "relayed_latency_us", bench_json_latency(&ph->lat_remote));
    json_object_object_add(j, "server_cpu_s", json_object_new_double(ph->srv_cpu_s));
    json_object_object_add(
        j, "server_cpu_s_per_1000_actions",
        json_object_new_double(
            ph->srv_cpu_s < 0 ? -1 : bench_report_div(ph->srv_cpu_s * 1000, (double)k->accepted)));
    json_object_object_add(j, "server_store_cpu_s", json_object_new_double(ph->store_cpu_s));
    json_object_object_add(
        j, "server_store_cpu_s_per_1000_actions",
        json_object_new_double(ph->store_cpu_s < 0 ? -1
                                                   : bench_report_div(ph->store_cpu_s * 1000,
                                                                      (double)k->accepted)));
    json_object_object_add(j, "bench_cpu_s", json_object_new_double(ph->bench_cpu_s));
    bench_json_traffic(j, ph);
    if (!ph->poll)
        json_object_object_add(j, "compressed_sockets", json_object_new_int(ph->compressed));
    json_object_object_add(j, "server_rss_kib_before", json_object_new_int64(ph->rss_before_kib));
    json_object_object_add(j, "server_rss_kib_end", json_object_new_int64(ph->rss_end_kib));
    json_object_object_add(
        j, "server_rss_bytes_per_client_busy",
        json_object_new_double(
            ph->rss_end_kib < 0
                ? -1
                : bench_report_div((double)(ph->rss_end_kib - ph->rss_before_kib) * 1024,
                                   ph->nclients)));
    json_object_object_add(j, "counts", bench_json_counts(k));
    bench_json_by_type(j, ph);
    json_object_object_add(j, "load_start", json_object_new_double(ph->load_start));
    json_object_object_add(j, "load_end", json_object_new_double(ph->load_end));
    return j;
}

int bench_json_write(const struct bench *b, const char *path)
{
    struct json_object *j = json_object_new_object(), *cfg = json_object_new_object();
    json_object_object_add(cfg, "tables", json_object_new_int(b->o.tables));
    json_object_object_add(cfg, "players", json_object_new_int(b->o.players));
    json_object_object_add(cfg, "spectators", json_object_new_int(b->o.spectators));
    json_object_object_add(cfg, "seconds", json_object_new_double(b->o.seconds));
    json_object_object_add(cfg, "warmup", json_object_new_double(b->o.warmup));
    json_object_object_add(cfg, "think_ms", json_object_new_int(b->o.think_ms));
    json_object_object_add(cfg, "rate", json_object_new_double(b->o.rate));
    json_object_object_add(cfg, "poll_tables", json_object_new_int(b->o.poll_tables));
    json_object_object_add(cfg, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_object_add(cfg, "server_pid", json_object_new_int((int)b->pid));
    json_object_object_add(cfg, "server_started_by_bench", json_object_new_boolean(b->own_server));
    json_object_object_add(cfg, "nofile", json_object_new_int64((int64_t)b->nofile));
    json_object_object_add(j, "config", cfg);

    struct json_object *idle = json_object_new_object();
    const struct bench_idle *id = &b->idle;
    json_object_object_add(idle, "ran", json_object_new_boolean(id->ran));
    json_object_object_add(idle, "ok", json_object_new_boolean(id->ok));
    if (id->note[0]) json_object_object_add(idle, "note", json_object_new_string(id->note));
    json_object_object_add(idle, "connections", json_object_new_int(id->conns));
    json_object_object_add(idle, "server_rss_kib_before",
                           json_object_new_int64(id->rss_before_kib));
    json_object_object_add(idle, "server_rss_kib_after", json_object_new_int64(id->rss_after_kib));
    json_object_object_add(
        idle, "server_rss_bytes_per_connection",
        json_object_new_double(
            bench_report_div((double)(id->rss_after_kib - id->rss_before_kib) * 1024, id->conns)));
    json_object_object_add(idle, "seconds", json_object_new_double(id->seconds));
    json_object_object_add(idle, "server_cpu_s", json_object_new_double(id->srv_cpu_s));
    json_object_object_add(idle, "bench_cpu_s", json_object_new_double(id->bench_cpu_s));
    json_object_object_add(j, "idle", idle);

    struct json_object *ws = json_object_new_array(), *poll = json_object_new_array();
    for (int i = 0; i < b->nphases; i++)
        if (b->phases[i].ran)
            json_object_array_add(b->phases[i].poll ? poll : ws, bench_json_phase(&b->phases[i]));
    json_object_object_add(j, "websocket", ws);
    json_object_object_add(j, "polling", poll);

    struct bench_report_target t[8];
    int n = bench_report_targets(b, t);
    struct json_object *ta = json_object_new_array();
    for (int i = 0; i < n; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "target", json_object_new_string(t[i].what));
        json_object_object_add(o, "status", json_object_new_string(t[i].status));
        json_object_object_add(o, "measured", json_object_new_string(t[i].measured));
        json_object_array_add(ta, o);
    }
    json_object_object_add(j, "targets", ta);

    int rc = json_object_to_file_ext(path, j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    if (rc != 0)
        fprintf(stderr, "felt-bench: cannot write %s: %s\n", path, json_util_get_last_err());
    json_object_put(j);
    return rc;
}
