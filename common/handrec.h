/*
 * handrec.h: hand records: the JSON form of one hand (docs/hand-format.md), replayed through the
 * engine for `felt replay`; the writer (handrec_to_json) is for the server's hand histories, which
 * it writes into its database and serves at GET /api/games/{id}/hands (with the metadata of
 * "Server histories": hand_id, game_id, status, started_at, ended_at, results).
 *
 * Reading: handrec_parse() validates a record strictly (types, ranges, names, seats, cards,
 * actions) and never crashes on any input; handrec_replay() feeds it to the engine and keeps
 * every event; handrec_result_json() and handrec_result_text() turn the outcome into the
 * `felt replay --json` object and the street-by-street text for a person.
 *
 * Writing: handrec_begin() from the engine setup and the players' names, handrec_add_action()
 * for each accepted action, handrec_finish() when the hand is over, handrec_set_results() for the
 * pots awarded, handrec_to_json() with the seats whose hole cards may be published (mucked cards
 * never leave the server). The caller fills hand_id, game_id, status, started_at and ended_at
 * into the struct itself (handrec_format_time() makes the times).
 */
#ifndef FELT_HANDREC_H
#define FELT_HANDREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "engine.h"
#include "proto.h"
#include "wire.h"

struct json_object;
struct felt_err;

#define HANDREC_MAX_BYTES (1 << 20) /* largest record read */
#define HANDREC_MAX_ACTIONS 4096    /* more actions than any real hand takes */

struct handrec_seat {
    int seat;                            /* 0..ENGINE_MAX_SEATS-1 */
    char name[PROTO_NAME_MAX_BYTES + 1]; /* 1..PROTO_NAME_MAX_CHARS code points, terminal-safe */
    int64_t stack;                       /* chips before the hand, 0..ENGINE_CHIPS_MAX */
    card_t cards[2];                     /* CARD_NONE when not recorded */
};

#define HANDREC_TIME_MAX 32 /* longest started_at / ended_at accepted */

/* A pot as awarded at the end of a hand: its number (0 the main pot, then the side pots), its
 * size, and each winner's seat and share. Winners are named by seat; the JSON form carries the
 * seat's name too. */
struct handrec_pot {
    int pot;
    int64_t amount;
    int nwinners;
    struct {
        int seat;
        int64_t amount;
    } winners[ENGINE_MAX_SEATS];
};

struct handrec_action {
    int seat; /* the engine seat, resolved from the name */
    enum engine_action action;
    bool has_amount; /* only for ENGINE_RAISE; a raise without one is refused "bad_amount" */
    int64_t amount;  /* "raise to" */
};

struct handrec {
    int64_t small_blind, big_blind, ante;
    int button; /* a seat number, possibly empty */
    int nseats; /* entries in seat[], in the listed order */
    struct handrec_seat seat[ENGINE_MAX_SEATS];
    int nboard;
    card_t board[5];
    int nactions, cap;
    struct handrec_action *actions; /* owned: handrec_free() */
    /* Optional metadata, for server hand histories (docs/hand-format.md, "Server histories"). */
    bool has_hand_id;
    int64_t hand_id;
    char game_id[PROTO_GAME_ID_MAX + 1]; /* "" when absent */
    char started_at[HANDREC_TIME_MAX + 1]; /* ISO 8601 UTC "2026-12-05T05:20:01.123Z"; "" absent */
    char ended_at[HANDREC_TIME_MAX + 1];   /* likewise; for a voided hand, when it was voided */
    char status[16];                       /* "" (absent), "complete" or "voided" */
    bool has_results;                      /* "results" present (an empty array counts) */
    int nresults;
    struct handrec_pot results[ENGINE_MAX_POTS]; /* pots awarded, main pot first */
};

void handrec_init(struct handrec *h);
void handrec_free(struct handrec *h);

/* Parses and validates one record from buf[0..len). Returns 0, or -1 with err set (h is then
 * freed and empty). Codes: "too_large", "bad_json", "bad_field" (missing, wrong type or out of
 * range: the message names the field; also a result whose winner is not a listed seat, whose name
 * is not that seat's, or whose winners' amounts do not add up to the pot), "duplicate_seat", "duplicate_name", "duplicate_card",
 * "unknown_name", "unknown_action", "too_many_actions". */
int handrec_parse(const char *buf, size_t len, struct handrec *h, struct felt_err *err);

/* Times of server histories: "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC. handrec_format_time writes the
 * time of epoch_ms (0 .. 9999-12-31T23:59:59.999Z; -1 and "" outside); handrec_parse_time reads
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z" strictly (year from 1970, real calendar dates, no leap second,
 * exactly three fraction digits when present) and returns 0, or -1 for anything else. */
int handrec_format_time(int64_t epoch_ms, char out[HANDREC_TIME_MAX + 1]);
int handrec_parse_time(const char *s, int64_t *epoch_ms);

/* Index into h->seat[] of the player with this name, or -1. */
int handrec_find_name(const struct handrec *h, const char *name);

/* The engine setup the record describes (ENGINE_MAX_SEATS seats). */
void handrec_setup(const struct handrec *h, struct engine_setup *s);

/* One engine event with the index of the action that caused it (-1: the start of the hand). */
struct handrec_logged {
    int action;
    struct engine_event ev;
};

struct handrec_result {
    struct engine e;          /* the engine after the last accepted action */
    bool complete;            /* the hand is over */
    int error_index;          /* -1, or the index of the first illegal action */
    enum engine_status error; /* why that action was refused */
    char error_message[200];  /* what a person reads about it */
    int nlog, caplog;
    struct handrec_logged *log; /* owned: handrec_result_free() */
};

/* Replays the record. Returns 0 when it was replayed, whether or not an action was illegal
 * (error_index says), or -1 with err for a record that cannot be replayed: "bad_setup" (the
 * engine refuses the setup, e.g. fewer than two players with chips) or "missing_cards" (the hand
 * reached a showdown that needs a card the record does not give). r is always initialized and
 * must be freed. */
int handrec_replay(const struct handrec *h, struct handrec_result *r, struct felt_err *err);
void handrec_result_free(struct handrec_result *r);

/* The `felt replay --json` object (docs/hand-format.md). New reference, caller puts it. */
struct json_object *handrec_result_json(const struct handrec *h, const struct handrec_result *r);

/* The hand street by street for a person, ending with the result or the refused action.
 * malloc'd. */
char *handrec_result_text(const struct handrec *h, const struct handrec_result *r);

/* Writer. Starts a record (h is overwritten, not freed) from a setup and the names of the seats
 * dealt in (names[i] for every seat with a positive stack; others are ignored). Returns 0, or -1
 * with err "bad_field" for a missing or unprintable name. */
int handrec_begin(struct handrec *h, const struct engine_setup *s,
                  const char *const names[ENGINE_MAX_SEATS], struct felt_err *err);
/* Records an action the engine accepted, as it was asked (amount is used only for a raise). */
void handrec_add_action(struct handrec *h, int seat, enum engine_action a, int64_t amount);
/* Keeps only the board cards the hand actually dealt. */
void handrec_finish(struct handrec *h, const struct engine *e);
/* Sets "results" (has_results) to the pots as the engine awarded them (e->pots: main pot first,
 * each winner's seat and share) when the hand is over; for a hand that is not over (a voided
 * hand) to no pots, which writes "results": []. Call it after the last action. */
void handrec_set_results(struct handrec *h, const struct engine *e);
/* The record as JSON text (malloc'd). Hole cards are written only for seats in `reveal` (a
 * bitmask of seat numbers: e->shown for a public history, all seats for the server's own log). */
char *handrec_to_json(const struct handrec *h, uint16_t reveal);
/* The to_act of `felt replay --json` (name, call, can_check, min_raise_to, max_raise_to: null
 * when raising is not possible) for the options o of the player named name, without player_id,
 * seat and deadline (the server adds those to its own to_act). Encoded by wire_encode_to_act. */
void handrec_to_act_fill(const struct engine_options *o, const char *name, struct wire_to_act *out);

#endif
