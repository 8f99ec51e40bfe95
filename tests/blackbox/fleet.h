/*
 * fleet.h: a fleet of bot players for the fault, ordering and soak tests.
 *
 * A fleet seats B bots at each of T tables of a running feltd and plays until every table has
 * played its hands (or for a set time); then the bots sit out, the faults stop (a callback: the
 * test calms its fault proxy), and once every table is quiet the fleet checks, for every bot:
 *   - every disconnect was followed by a successful resume, and the bot ends connected;
 *   - its events are gap-free across reconnects: one snapshot, then seq+1, seq+2, ... (a resume
 *     that fell back to a snapshot is a failure: the tests keep enough history);
 *   - every seq it saw has the same type and public content as every other client at the table
 *     saw (private renderings - its own hole cards, your_turn - normalised away), and no
 *     private rendering of anyone else reached it;
 *   - every action it sent got acks, all with the same status, and in every hand the number of
 *     its actions the server accepted equals the number of action events of that player in the
 *     stream, minus the actions the server made for it (clock expiry, sitting out): nothing lost,
 *     nothing applied twice;
 *   - the chips at the table (stacks plus pots) equal the chips brought to it at every
 *     consistent point of the stream (the end of each batch of updates, every snapshot);
 *   - its final view (felt's model, built only from the events it received) equals the
 *     server's final snapshot (GET /api/games/{id}/state): hand id, button, board, pots, and
 *     every player's seat, name, stack, bet, status and presence.
 *
 * Every bot is felt's client core, so these checks test felt's own joining, queueing and
 * resuming: either a `felt --json` process (the fleet reads its stdout and writes actions to its
 * stdin, with its own request_id and hand_id), or, in this process, felt's session (struct
 * session of the felt_client library: hello with last_seq and a ping on every new socket, and
 * once the hello is confirmed every unacknowledged action written again, with its original
 * request_id and hand_id), to which the fleet gives actions the same way. The bots act from
 * felt's model of the table, and its final state is the "final view" above; the fleet keeps its
 * own model only for the independent checks (fleet_model.c). Spectators (in-process sessions)
 * add more observers for the ordering check; they cannot resume (by protocol), so they are
 * checked gap-free per socket.
 *
 * Everything runs on one wsloop; nothing sleeps. The run is bounded by opts.deadline_ms: when
 * it passes the fleet stops and reports what did not finish as failures.
 */
#ifndef FELT_BB_FLEET_H
#define FELT_BB_FLEET_H

#include <stdbool.h>
#include <stdint.h>

struct fleet_opts {
    const char *felt_path;    /* bots are `felt --json` processes; NULL: in-process bots */
    const char *table_prefix; /* tables are PREFIX0, PREFIX1, ... (already served by feltd) */
    int tables;
    int bots;                /* per table */
    int spectators;          /* per table (in-process, through the proxy) */
    int hands;               /* per table: once hand N starts the bots sit out; 0: use seconds */
    int64_t seconds;         /* with hands == 0: play this long, then sit out */
    int think_ms;            /* a bot's delay before acting (0: at once) */
    uint64_t seed;           /* the bots' choices */
    int64_t buy_in;          /* what each bot brings (the table's buy-in) */
    int server_port;         /* feltd: joins of in-process bots, final snapshots */
    int client_port;         /* where the bots' WebSockets go (the fault proxy) */
    int64_t deadline_ms;     /* bound of the whole run (a failure bound, not a measurement) */
    const char *state_dir;   /* required: XDG_STATE_HOME of the bots' token stores (felt's,
                              * in each felt process and in this one: fleet_run sets it) */
    void (*calm)(void *arg); /* stop injecting faults: called before the final checks */
    void *calm_arg;
    bool verbose;
};

struct fleet_report {
    int bots, spectators;
    uint64_t hands; /* hands played, all tables */
    uint64_t actions_sent, accepted, rejected;
    uint64_t resent; /* actions answered only on a later socket (sent again) */
    uint64_t events; /* events received, all clients */
    uint64_t disconnects, reconnects;
    int64_t max_reconnect_ms; /* longest time from a disconnect to the resume */
    double connected_pct;     /* of the time from each bot's first connection to the calm */
    int failures;             /* problems found (0: every check passed) */
    char first_failure[512];
};

/* Runs the fleet (opts as above). Fills rep and returns rep->failures == 0 ? 0 : -1. Failures
 * are also printed on stderr (the first few of each bot). */
int fleet_run(const struct fleet_opts *opts, struct fleet_report *rep);
void fleet_report_print(const struct fleet_report *rep, const char *title);

#endif
