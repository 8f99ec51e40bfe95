/*
 * bench_report.c: felt-bench's results as a table on stdout (bench.h): one column per phase, one
 * row per measure, the idle phase, and the targets of docs/performance.md judged on this run
 * where its shape fits (benchmarks, never assertions). The derived numbers (bytes per action and
 * per minute, CPU per 1,000 actions) are computed here for the JSON output as well.
 */
#include "bench.h"

#include <stdio.h>
#include <unistd.h>

double bench_report_div(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static int bench_report_conns_per_table(const struct bench *b)
{
    return b->o.players + b->o.spectators;
}

/* Bytes each client of a table received per action at that table, from the total a phase
 * received (every table has the same number of clients). */
double bench_report_bytes_per_action(const struct bench_phase *ph, uint64_t bytes)
{
    return bench_report_div((double)bytes, (double)ph->ctr.accepted * ph->nclients / ph->ntables);
}

uint64_t bench_report_wire(const struct bench_phase *ph)
{
    return ph->poll ? ph->ctr.wire : ph->wire_in;
}

uint64_t bench_report_payload(const struct bench_phase *ph)
{
    return ph->poll ? ph->ctr.payload : ph->payload_in;
}

static const char *bench_report_verdict(bool applies, bool met)
{
    return !applies ? "n/a" : met ? "met" : "missed";
}

int bench_report_targets(const struct bench *b, struct bench_report_target *t)
{
    const struct bench_phase *ws = NULL;
    for (int i = 0; i < b->nphases; i++)
        if (!b->phases[i].poll && !b->phases[i].deflate && b->phases[i].ok) ws = &b->phases[i];
    int n = 0, conns = b->o.tables * bench_report_conns_per_table(b);
    double p50 = ws ? bench_hist_quantile(&ws->lat, 0.5) / 1e3 : 0;
    double p99 = ws ? bench_hist_quantile(&ws->lat, 0.99) / 1e3 : 0;
    bool one = ws && b->o.tables == 1 && conns == 10;
    bool big = ws && conns >= 10000;
    t[n] = (struct bench_report_target){"1 table x 10 connections: p50 <= 50 us",
                                        bench_report_verdict(one, p50 <= 50), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "p50 %.1f us" : "-", p50);
    t[n] = (struct bench_report_target){"1 table x 10 connections: p99 <= 250 us",
                                        bench_report_verdict(one, p99 <= 250), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "p99 %.1f us" : "-", p99);
    t[n] = (struct bench_report_target){"10,000 connections: p99 <= 5 ms",
                                        bench_report_verdict(big, p99 <= 5000), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "p99 %.1f us at %d connections" : "-",
             p99, conns);
    double dps = ws ? bench_report_div((double)ws->ctr.deliveries, ws->seconds) : 0;
    t[n] = (struct bench_report_target){"10,000 connections: >= 300,000 deliveries/s",
                                        bench_report_verdict(big, dps >= 300000), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "%.0f deliveries/s" : "-", dps);
    const struct bench_idle *id = &b->idle;
    double per =
        id->ok && id->rss_after_kib >= 0
            ? bench_report_div((double)(id->rss_after_kib - id->rss_before_kib) * 1024, id->conns)
            : -1;
    t[n] = (struct bench_report_target){
        "<= 4 KiB server RSS per idle connection at 10,000",
        bench_report_verdict(per >= 0 && id->conns >= 10000, per <= 4096), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), per >= 0 ? "%.0f B per connection at %d" : "-",
             per, id->conns);
    double share = id->ok && id->srv_cpu_s >= 0 ? bench_report_div(id->srv_cpu_s, id->seconds) : -1;
    t[n] = (struct bench_report_target){"idle connections cost no CPU (<= 1% of a core)",
                                        bench_report_verdict(share >= 0, share <= 0.01), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured),
             share >= 0 ? "%.2f CPU s in %.0f s (%.2f%% of a core), %d connections" : "-",
             id->srv_cpu_s, id->seconds, share * 100, id->conns);
    double bpa = ws ? bench_report_bytes_per_action(ws, ws->payload_in) : 0;
    t[n] = (struct bench_report_target){"<= 200 bytes per action per client uncompressed",
                                        bench_report_verdict(ws != NULL, bpa <= 200), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "%.0f B payload (%.0f B wire)" : "-", bpa,
             ws ? bench_report_bytes_per_action(ws, ws->wire_in) : 0);
    return n;
}

/* One line of the table: label, then get() of each phase with `decimals` decimals. */
static void bench_report_row(const struct bench *b, const char *label, int decimals,
                             double (*get)(const struct bench_phase *ph))
{
    printf("%-34s", label);
    for (int i = 0; i < b->nphases; i++) {
        const struct bench_phase *ph = &b->phases[i];
        char cell[32];
        if (!ph->ran || !ph->ok)
            snprintf(cell, sizeof(cell), "-");
        else
            snprintf(cell, sizeof(cell), "%.*f", decimals, get(ph));
        printf(" %16s", cell);
    }
    putchar('\n');
}

/* A row of payload bytes per action per client for one message type (or state_update event);
 * rows that are zero in every phase are left out. */
static void bench_report_row_typed(const struct bench *b, const char *label, int type, int event)
{
    double v[2 + BENCH_MAX_POLL];
    bool any = false;
    for (int i = 0; i < b->nphases; i++) {
        const struct bench_phase *ph = &b->phases[i];
        uint64_t n = type >= 0 ? ph->ctr.type_bytes[type] : ph->ctr.event_bytes[event];
        v[i] = bench_report_bytes_per_action(ph, n);
        any |= v[i] >= 0.5;
    }
    if (!any) return;
    printf("%-34s", label);
    for (int i = 0; i < b->nphases; i++) {
        if (!b->phases[i].ran || !b->phases[i].ok)
            printf(" %16s", "-");
        else
            printf(" %16.0f", v[i]);
    }
    putchar('\n');
}

static double bench_report_g_clients(const struct bench_phase *p)
{
    return p->nclients;
}
static double bench_report_g_aps(const struct bench_phase *p)
{
    return bench_report_div((double)p->ctr.accepted, p->seconds);
}
static double bench_report_g_dps(const struct bench_phase *p)
{
    return bench_report_div((double)p->ctr.deliveries, p->seconds);
}
static double bench_report_g_samples(const struct bench_phase *p)
{
    return (double)p->lat.count;
}
static double bench_report_g_p50(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.5) / 1e3;
}
static double bench_report_g_p90(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.9) / 1e3;
}
static double bench_report_g_p99(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.99) / 1e3;
}
static double bench_report_g_p999(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.999) / 1e3;
}
static double bench_report_g_max(const struct bench_phase *p)
{
    return (double)p->lat.max_ns / 1e3;
}
static double bench_report_g_rsamples(const struct bench_phase *p)
{
    return (double)p->lat_remote.count;
}
static double bench_report_g_r50(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat_remote, 0.5) / 1e3;
}
static double bench_report_g_r99(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat_remote, 0.99) / 1e3;
}
static double bench_report_g_ack50(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->ack, 0.5) / 1e3;
}
static double bench_report_g_ack99(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->ack, 0.99) / 1e3;
}
static double bench_report_g_cpu(const struct bench_phase *p)
{
    return p->srv_cpu_s;
}
static double bench_report_g_cpuk(const struct bench_phase *p)
{
    return bench_report_div(p->srv_cpu_s * 1000, (double)p->ctr.accepted);
}
static double bench_report_g_store_cpuk(const struct bench_phase *p)
{
    return p->store_cpu_s < 0 ? -1 : bench_report_div(p->store_cpu_s * 1000, (double)p->ctr.accepted);
}
static double bench_report_g_bcpu(const struct bench_phase *p)
{
    return p->bench_cpu_s;
}
static double bench_report_g_bpa_pay(const struct bench_phase *p)
{
    return bench_report_bytes_per_action(p, bench_report_payload(p));
}
static double bench_report_g_bpa_wire(const struct bench_phase *p)
{
    return bench_report_bytes_per_action(p, bench_report_wire(p));
}
static double bench_report_g_rpm(const struct bench_phase *p)
{
    return bench_report_div((double)(p->poll ? p->ctr.requests : p->ctr.client_msgs),
                            p->nclients * p->seconds / 60);
}
static double bench_report_g_bpm_pay(const struct bench_phase *p)
{
    return bench_report_div((double)bench_report_payload(p), p->nclients * p->seconds / 60);
}
static double bench_report_g_bpm_wire(const struct bench_phase *p)
{
    return bench_report_div((double)bench_report_wire(p), p->nclients * p->seconds / 60);
}
static double bench_report_g_rss(const struct bench_phase *p)
{
    return (double)p->rss_end_kib;
}
static double bench_report_g_rss_conn(const struct bench_phase *p)
{
    return bench_report_div((double)(p->rss_end_kib - p->rss_before_kib) * 1024, p->nclients);
}
static double bench_report_g_problems(const struct bench_phase *p)
{
    const struct bench_counters *k = &p->ctr;
    return (double)(k->rejected + k->rate_limited + k->errors + k->gaps + k->dropped + k->bad);
}
static double bench_report_g_unmatched(const struct bench_phase *p)
{
    return (double)p->ctr.unmatched;
}

void bench_report_print(const struct bench *b)
{
    struct bench_report_target t[8];
    printf("\nfelt-bench: %d table(s) x (%d players + %d spectators), %.0f s per phase "
           "(after %.0f s warm-up), think %d ms; feltd pid %d (%s); %ld CPUs, felt-bench on the "
           "same machine\n\n",
           b->o.tables, b->o.players, b->o.spectators, b->o.seconds, b->o.warmup, b->o.think_ms,
           (int)b->pid, b->own_server ? "started by felt-bench" : "attached",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-34s", "");
    for (int i = 0; i < b->nphases; i++)
        printf(" %16s", b->phases[i].name);
    putchar('\n');
    bench_report_row(b, "clients", 0, bench_report_g_clients);
    bench_report_row(b, "actions/s", 1, bench_report_g_aps);
    bench_report_row(b, "deliveries/s", 0, bench_report_g_dps);
    bench_report_row(b, "latency samples", 0, bench_report_g_samples);
    bench_report_row(b, "latency p50 (us)", 1, bench_report_g_p50);
    bench_report_row(b, "latency p90 (us)", 1, bench_report_g_p90);
    bench_report_row(b, "latency p99 (us)", 1, bench_report_g_p99);
    bench_report_row(b, "latency p99.9 (us)", 1, bench_report_g_p999);
    bench_report_row(b, "latency max (us)", 1, bench_report_g_max);
    if (b->nservers > 1) { /* deliveries on another node than the actor's: through Redis */
        bench_report_row(b, "  of which relayed (samples)", 0, bench_report_g_rsamples);
        bench_report_row(b, "  relayed latency p50 (us)", 1, bench_report_g_r50);
        bench_report_row(b, "  relayed latency p99 (us)", 1, bench_report_g_r99);
    }
    bench_report_row(b, "actor's ack p50 (us)", 1, bench_report_g_ack50);
    bench_report_row(b, "actor's ack p99 (us)", 1, bench_report_g_ack99);
    bench_report_row(b, "server CPU s", 2, bench_report_g_cpu);
    bench_report_row(b, "server CPU s / 1000 actions", 3, bench_report_g_cpuk);
    bench_report_row(b, "  of which the store thread", 3, bench_report_g_store_cpuk);
    for (int k = 0; b->o.npids > 1 && k < b->o.npids; k++) { /* several processes: each */
        printf("  of which pid %-19d", (int)b->o.pids[k]);
        for (int i = 0; i < b->nphases; i++) {
            const struct bench_phase *ph = &b->phases[i];
            char cell[32] = "-";
            if (ph->ran && ph->ok && ph->pid_cpu_s[k] >= 0)
                snprintf(cell, sizeof(cell), "%.3f",
                         bench_report_div(ph->pid_cpu_s[k] * 1000, (double)ph->ctr.accepted));
            printf(" %16s", cell);
        }
        putchar('\n');
    }
    bench_report_row(b, "felt-bench CPU s", 2, bench_report_g_bcpu);
    bench_report_row(b, "bytes/action/client payload", 0, bench_report_g_bpa_pay);
    bench_report_row(b, "bytes/action/client wire", 0, bench_report_g_bpa_wire);
    for (int ty = 0; ty < PROTO_S_COUNT; ty++) {
        char label[48];
        snprintf(label, sizeof(label), "  of which %s", proto_stype_name((enum proto_stype)ty));
        bench_report_row_typed(b, label, ty, -1);
    }
    for (int i = 0; i < BENCH_NEVENTS; i++) {
        char label[48];
        snprintf(label, sizeof(label), "    state_update %s", bench_bot_events[i]);
        bench_report_row_typed(b, label, -1, i);
    }
    bench_report_row(b, "requests|msgs sent/min/client", 1, bench_report_g_rpm);
    bench_report_row(b, "bytes/min/client payload", 0, bench_report_g_bpm_pay);
    bench_report_row(b, "bytes/min/client wire", 0, bench_report_g_bpm_wire);
    bench_report_row(b, "server RSS at end (KiB)", 0, bench_report_g_rss);
    bench_report_row(b, "server RSS/client busy (B)", 0, bench_report_g_rss_conn);
    bench_report_row(b, "problems (see JSON counts)", 0, bench_report_g_problems);
    bench_report_row(b, "broadcasts without a send", 0, bench_report_g_unmatched);
    for (int i = 0; i < b->nphases; i++)
        if (b->phases[i].ran && !b->phases[i].ok)
            printf("  %s: FAILED: %s\n", b->phases[i].name, b->phases[i].note);
    if (b->idle.ran) {
        const struct bench_idle *id = &b->idle;
        if (id->ok)
            printf("\nidle: %d connections: server RSS +%lld KiB (%.0f B per connection); "
                   "server CPU %.2f s in %.1f s; felt-bench CPU %.2f s\n",
                   id->conns, (long long)(id->rss_after_kib - id->rss_before_kib),
                   bench_report_div((double)(id->rss_after_kib - id->rss_before_kib) * 1024,
                                    id->conns),
                   id->srv_cpu_s, id->seconds, id->bench_cpu_s);
        else
            printf("\nidle: FAILED: %s\n", id->note);
    }
    int n = bench_report_targets(b, t);
    printf("\ntargets (benchmarks, not assertions):\n");
    for (int i = 0; i < n; i++)
        printf("  %-7s %-52s %s\n", t[i].status, t[i].what, t[i].measured);
    fflush(stdout);
}
