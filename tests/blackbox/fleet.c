/*
 * fleet.c: the bot fleet of the fault, ordering and soak tests (see fleet.h for what it checks):
 * the run's phases (join, play, sit out, calm, final checks) and the report.
 *
 * The fleet's state and its other files are in fleet_internal.h: the fleet's own model and the
 * checks (fleet_model.c), one bot's handling of server messages, shared by both kinds of bots
 * (fleet_bot.c), and the two kinds: felt's session in this process (fleet_session.c) and
 * felt --json processes (fleet_felt.c).
 *
 * Problems seen inside callbacks are recorded on the bot (fl_bad) and counted at the end; the
 * fleet never aborts from a callback.
 */
#include "fleet_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t fl_now_ms(void)
{
    return felt_mono_us() / 1000;
}

void fl_poke(struct fleet *f)
{
    wsloop_stop(f->loop);
}

void fl_bad(struct fl_bot *b, const char *fmt, ...)
{
    va_list ap;
    if (b->bad < FL_BAD_KEPT) {
        va_start(ap, fmt);
        vsnprintf(b->bad_text[b->bad], sizeof(b->bad_text[0]), fmt, ap);
        va_end(ap);
    }
    b->bad++;
}

void fl_fail(struct fleet *f, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (f->failures == 0) snprintf(f->first_failure, sizeof(f->first_failure), "%s", buf);
    if (f->failures < 40) fprintf(stderr, "fleet: FAIL: %s\n", buf);
    f->failures++;
}

bool fl_is_str(json_object *o, const char *key, const char *val)
{
    const char *s = jval_str(o, key);
    return s && strcmp(s, val) == 0;
}

/* ---- phases ---------------------------------------------------------------------------- */

static void fl_deadline_fire(void *arg)
{
    struct fleet *f = arg;
    f->timed_out = true;
    fl_poke(f);
}

static void fl_play_fire(void *arg)
{
    struct fleet *f = arg;
    f->stop_play = true;
    for (int i = 0; i < f->nbots; i++)
        fl_bot_sit_out(&f->bots[i]);
    fl_poke(f);
}

static bool fl_all_finished(const struct fleet *f)
{
    for (int i = 0; i < f->o->tables; i++)
        if (!f->tables[i].finished) return false;
    return true;
}

static bool fl_all_connected(const struct fleet *f)
{
    for (int i = 0; i < f->nbots; i++)
        if (!f->bots[i].connected) return false;
    return true;
}

/* Every action has had its answer. An action written again after a resume is answered only
 * once the server has read it, which can be after the replay (queued at the hello, before the
 * action was written again) has already brought its bot up to date. */
static bool fl_all_answered(const struct fleet *f)
{
    for (int i = 0; i < f->nbots; i++)
        for (size_t k = 0; k < f->bots[i].nacts; k++)
            if (f->bots[i].acts[k].acks == 0) return false;
    return true;
}

static void fl_state_done(void *arg, const struct wshttp_result *r)
{
    struct fl_table *t = arg;
    struct fleet *f = t->bots[0]->f;
    json_object *j = r->status == 200 ? jval_parse(r->body, r->body_len) : NULL;
    json_object *evs = jval_get(j, "events");
    json_object *snap =
        evs && json_object_is_type(evs, json_type_array) && json_object_array_length(evs) == 1
            ? json_object_array_get_idx(evs, 0)
            : NULL;
    t->state_in_flight = false;
    if (!snap || !fl_is_str(snap, "type", "snapshot")) {
        fl_fail(f, "table %s: GET state answered %d without a snapshot", t->id, r->status);
    } else {
        json_object_put(t->final);
        t->final = json_object_get(jval_get(snap, "data"));
        t->final_seq = (uint64_t)jval_int(snap, "seq", 0);
    }
    json_object_put(j);
    fl_poke(f);
}

static void fl_state_fetch(struct fleet *f, struct fl_table *t)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/games/%s/state", f->o->server_port, t->id);
    t->state_rounds++;
    t->state_in_flight = wshttp_request(f->loop, url, NULL, NULL, fl_state_done, t) == 0;
    if (!t->state_in_flight) fl_fail(f, "table %s: cannot ask for the state", t->id);
}

static void fl_final_phase(struct fleet *f)
{
    /* Wait for every client to be connected and every action answered, then for each table
     * take the server's snapshot and wait until every client at it has seen exactly up to its
     * seq (nothing else happens: no hand runs and the faults have stopped); a client ahead
     * means the state moved on (a presence notice): fetch again. */
    for (;;) {
        if (f->timed_out) return;
        if (!fl_all_connected(f) || !fl_all_answered(f)) {
            wsloop_run(f->loop);
            continue;
        }
        bool all = true;
        for (int i = 0; i < f->o->tables; i++) {
            struct fl_table *t = &f->tables[i];
            if (t->checked) continue;
            all = false;
            if (t->state_in_flight) continue;
            if (!t->final) {
                fl_state_fetch(f, t);
                continue;
            }
            bool behind = false, ahead = false;
            for (int k = 0; k < t->nbots; k++) {
                behind |= t->bots[k]->last_seq < t->final_seq;
                ahead |= t->bots[k]->last_seq > t->final_seq;
            }
            if (ahead) {
                if (t->state_rounds >= FL_STATE_ROUNDS) {
                    fl_fail(f, "table %s: the state never settled", t->id);
                    t->checked = true;
                    continue;
                }
                json_object_put(t->final);
                t->final = NULL;
                fl_state_fetch(f, t);
                continue;
            }
            if (behind) continue;
            for (int k = 0; k < t->nbots; k++)
                fl_model_compare(f, t, t->bots[k]);
            json_object *players = jval_get(t->final, "players");
            int64_t sum = fl_model_sum_pots(jval_get(t->final, "pots"));
            for (size_t p = 0; players && p < json_object_array_length(players); p++)
                sum += jval_int(json_object_array_get_idx(players, p), "stack", 0);
            if (sum != (int64_t)f->o->bots * f->o->buy_in)
                fl_fail(f,
                        "table %s: the server's final snapshot holds %lld chips, %lld were "
                        "brought",
                        t->id, (long long)sum, (long long)f->o->bots * f->o->buy_in);
            t->checked = true;
        }
        if (all) return;
        bool left = false;
        for (int i = 0; i < f->o->tables; i++)
            left |= !f->tables[i].checked;
        if (left) wsloop_run(f->loop);
    }
}

/* Where every client stands (after a deadline passed). */
static void fl_dump(const struct fleet *f)
{
    for (int i = 0; i < f->o->tables; i++) {
        const struct fl_table *t = &f->tables[i];
        fprintf(stderr, "fleet: table %s: finished %d, checked %d, server seq %" PRIu64 "\n", t->id,
                t->finished, t->checked, t->final_seq);
        for (int k = 0; k < t->nbots; k++) {
            const struct fl_bot *b = t->bots[k];
            fprintf(stderr,
                    "fleet:   %s: %s, seq %" PRIu64 ", hand %lld%s, sees finished %d, sat out "
                    "%d/%d, actions %zu\n",
                    b->name, b->connected ? "connected" : "DISCONNECTED", b->last_seq,
                    (long long)b->m.hand_id, b->m.hand_running ? " running" : "",
                    fl_bot_sees_finished(b), b->sit_out_sent, b->sat_out_seen, b->nacts);
        }
    }
}

/* The loop, the timers, the tables and their bots (players first, then spectators). */
static int fl_setup(struct fleet *f, const struct fleet_opts *o)
{
    struct wsloop_config lc = {.max_conns = 0, .quiet = true};
    int per_table = o->bots + o->spectators;
    memset(f, 0, sizeof(*f));
    f->o = o;
    lc.max_conns = 2 * o->tables * per_table + 64; /* a socket and an HTTP request each */
    f->loop = wsloop_new(&lc);
    if (!f->loop) return -1;
    f->deadline = wstimer_new(f->loop, fl_deadline_fire, f);
    f->play_timer = wstimer_new(f->loop, fl_play_fire, f);
    wstimer_arm(f->deadline, o->deadline_ms);
    f->tables = xcalloc((size_t)o->tables, sizeof(*f->tables));
    f->nbots = o->tables * per_table;
    f->bots = xcalloc((size_t)f->nbots, sizeof(*f->bots));
    for (int i = 0; i < o->tables; i++) {
        struct fl_table *t = &f->tables[i];
        snprintf(t->id, sizeof(t->id), "%s%d", o->table_prefix, i);
        t->bots = xcalloc((size_t)per_table, sizeof(*t->bots));
        for (int k = 0; k < per_table; k++) {
            struct fl_bot *b = &f->bots[i * per_table + k];
            b->f = f;
            b->t = t;
            b->idx = i * per_table + k;
            b->spectator = k >= o->bots;
            b->felt = o->felt_path && !b->spectator;
            b->in_fd = b->out_fd = -1;
            snprintf(b->name, sizeof(b->name), "%s%d-%s%d", o->table_prefix, i,
                     b->spectator ? "spec" : "bot", k);
            rng_init_seeded(&b->rng, o->seed * 1000003ULL + (uint64_t)b->idx);
            if (!b->spectator && o->think_ms > 0)
                b->think = wstimer_new(f->loop, fl_bot_think_fire, b);
            t->bots[t->nbots++] = b;
        }
    }
    return 0;
}

/* Every bot's final checks, and the totals of the report. */
static void fl_totals(struct fleet *f, struct fleet_report *rep)
{
    int64_t span = 0, up = 0;
    for (int i = 0; i < f->o->tables; i++) {
        struct fl_table *t = &f->tables[i];
        rep->hands += (uint64_t)(t->final ? jval_int(t->final, "hand_id", 0) : 0);
    }
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        fl_bot_final(f, b);
        rep->bots += !b->spectator;
        rep->spectators += b->spectator;
        rep->actions_sent += b->nacts;
        for (size_t k = 0; k < b->nacts; k++)
            rep->accepted += b->acts[k].acks > 0 && b->acts[k].accepted;
        for (size_t k = 0; k < b->nacts; k++)
            rep->resent += b->acts[k].resent;
        rep->rejected += b->rejected;
        rep->events += b->events;
        rep->disconnects += b->disconnects;
        rep->reconnects += b->reconnects;
        if (b->max_reconnect_ms > rep->max_reconnect_ms)
            rep->max_reconnect_ms = b->max_reconnect_ms;
        if (b->first_connected_ms > 0) {
            span += f->calm_ms - b->first_connected_ms;
            up += b->connected_ms;
        }
    }
    rep->connected_pct = span > 0 ? 100.0 * (double)up / (double)span : 0.0;
}

/* Shuts down: felt processes leave (and must exit 0), in-process sessions go with the loop; then
 * frees. */
static void fl_shutdown(struct fleet *f)
{
    fl_felt_finish(f);
    wstimer_free(f->deadline);
    wstimer_free(f->play_timer);
    for (int i = 0; i < f->nbots; i++)
        wstimer_free(f->bots[i].think);
    wsloop_free(f->loop);
    fl_session_free_all(f);
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        free(b->own);
        free(b->acts);
        free(b->hands);
        free(b->line);
    }
    for (int i = 0; i < f->o->tables; i++) {
        free(f->tables[i].bots);
        free(f->tables[i].hash);
        json_object_put(f->tables[i].final);
    }
    free(f->tables);
    free(f->bots);
}

int fleet_run(const struct fleet_opts *o, struct fleet_report *rep)
{
    struct fleet fs, *f = &fs;

    memset(rep, 0, sizeof(*rep));
    if (fl_setup(f, o) != 0) {
        rep->failures = 1;
        snprintf(rep->first_failure, sizeof(rep->first_failure), "wsloop_new failed");
        return -1;
    }

    /* Join: felt processes and in-process sessions join by themselves, through the proxy (the
     * loop opens a few connections at a time); spectators just connect. The sessions keep their
     * tokens in felt's token store: the test's directory, not the user's. */
    for (int i = 0; i < f->nbots; i++)
        if (f->bots[i].felt && fl_felt_spawn(&f->bots[i]) != 0)
            fl_bad(&f->bots[i], "cannot start felt");
    if (!o->state_dir || setenv("XDG_STATE_HOME", o->state_dir, 1) != 0 ||
        fl_session_start_all(f) != 0) {
        fl_fail(f, "cannot start the in-process bots");
        f->timed_out = true; /* nothing to wait for */
    }
    if (o->hands == 0) wstimer_arm(f->play_timer, o->seconds * 1000);

    /* Play until every table has finished its hands (or the time is up). */
    while (!fl_all_finished(f) && !f->timed_out)
        wsloop_run(f->loop);
    if (f->timed_out) {
        fl_fail(f, "the tables did not finish within the deadline");
        fl_dump(f);
    }

    /* Calm: no more faults; connected time is counted up to here. */
    int64_t now = fl_now_ms();
    for (int i = 0; i < f->nbots; i++)
        fl_bot_connected_time(&f->bots[i], now);
    f->calm = true;
    f->calm_ms = now;
    if (o->calm) o->calm(o->calm_arg);
    fl_final_phase(f);
    if (f->timed_out) {
        fl_fail(f, "the final checks did not complete within the deadline");
        fl_dump(f);
    }

    fl_totals(f, rep);
    fl_shutdown(f);
    rep->failures = f->failures;
    _Static_assert(sizeof(rep->first_failure) == sizeof(f->first_failure), "same size");
    memcpy(rep->first_failure, f->first_failure, sizeof(rep->first_failure));
    return f->failures == 0 ? 0 : -1;
}

void fleet_report_print(const struct fleet_report *r, const char *title)
{
    fprintf(stderr,
            "%s: %d bots, %d spectators, %" PRIu64 " hands, %" PRIu64 " actions sent (%" PRIu64
            " accepted, %" PRIu64 " refused, %" PRIu64 " answered after a reconnect), %" PRIu64
            " events received, %" PRIu64 " disconnects, %" PRIu64
            " resumes (%.1f%%), longest resume %lld ms, connected "
            "%.4f%% of the time, %d failures\n",
            title, r->bots, r->spectators, r->hands, r->actions_sent, r->accepted, r->rejected,
            r->resent, r->events, r->disconnects, r->reconnects,
            r->disconnects ? 100.0 * (double)r->reconnects / (double)r->disconnects : 100.0,
            (long long)r->max_reconnect_ms, r->connected_pct, r->failures);
}
