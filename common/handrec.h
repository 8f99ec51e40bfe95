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
 * Telling a hand: the handrec_say_*() functions are the one vocabulary of every screen and log
 * that tells a hand, as a poker room says it (felt's live log, its hand-history view, `felt
 * history --format text` and `felt replay`): "bets" when nobody has bet on the street yet and
 * "raises to" after (the blinds count as bets), amounts as the table writes them (text_chips:
 * "1,250"), cards as the table draws them (card_list: "A\u2665 K\u2660", or "Ah Ks" for
 * --ascii), shown hands named with their ranks (eval_describe: "two pair, Nines and Fours").
 * handrec_narrate() turns a replay's engine events into those lines. (The PokerStars export,
 * pokerstars.h, keeps PokerStars' own words.)
 *
 * Records a server published lack the cards of players who mucked: handrec_replay_published()
 * accepts their replay when the record's results say the same as the engine.
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
#include "eval.h"
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
    char game_id[PROTO_GAME_ID_MAX + 1];   /* "" when absent */
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
 * is not that seat's, or whose winners' amounts do not add up to the pot), "duplicate_seat",
 * "duplicate_name", "duplicate_card", "unknown_name", "unknown_action", "too_many_actions". */
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

/* handrec_replay for a record from a server's history. A published record lacks the cards of
 * players who mucked at the showdown, and handrec_replay refuses it ("missing_cards") although
 * the engine, given those hands as unknown, mucks them just as the table did. When the record has
 * "results" and the engine's pots after the replay (sizes, winners and shares) are exactly those,
 * the replay is accepted (0, r usable as after a normal replay); otherwise handrec_replay's
 * answer stands (err, and -1). */
int handrec_replay_published(const struct handrec *h, struct handrec_result *r,
                             struct felt_err *err);

/* The `felt replay --json` object (docs/hand-format.md). New reference, caller puts it. */
struct json_object *handrec_result_json(const struct handrec *h, const struct handrec_result *r);

/* The hand street by street for a person, ending with the result or the refused action.
 * malloc'd. */
char *handrec_result_text(const struct handrec *h, const struct handrec_result *r);

/* ---- telling a hand: one line each, into out (NUL-terminated, cut if outsz is too small;
 * HANDREC_LINE_MAX always suffices for names of at most PROTO_NAME_MAX_BYTES). Each returns out.
 * who is a name already safe for a terminal. ---- */
#define HANDREC_LINE_MAX 256

enum handrec_post { HANDREC_POST_ANTE, HANDREC_POST_SMALL_BLIND, HANDREC_POST_BIG_BLIND };
/* "ada posts the small blind 5", "bo posts an ante of 1,000 (all-in)". */
const char *handrec_say_post(char *out, size_t outsz, const char *who, enum handrec_post kind,
                             int64_t amount, bool all_in);
/* An action as the engine reports it (engine.h: amount the chips moved, to the seat's bet on the
 * street after it): "ada folds", "ada checks", "ada calls 1,250", and for a raise (or an
 * ENGINE_ALL_IN that raised) "ada bets 100" when bet_before, the largest bet on the street
 * before this action (blinds included), is 0, else "ada raises to 1,250"; " (all-in)" after when
 * all_in. */
const char *handrec_say_action(char *out, size_t outsz, const char *who, enum engine_action a,
                               int64_t amount, int64_t to, bool all_in, int64_t bet_before);
/* The street and the whole board so far: "Flop: 2\u2663 7\u2665 T\u2660", "Turn: ...". */
const char *handrec_say_street(char *out, size_t outsz, enum engine_street street,
                               const card_t *board, int nboard, bool ascii);
/* "1,000 returned to ada (uncalled)". */
const char *handrec_say_uncalled(char *out, size_t outsz, const char *who, int64_t amount);
/* "ada shows A\u2665 K\u2660 (pair of Aces)"; without the parenthesis when hand is NULL or "". */
const char *handrec_say_show(char *out, size_t outsz, const char *who, const card_t hole[2],
                             const char *hand, bool ascii);
/* "ada wins 1,250 from the pot" (pot 0) or "from side pot 2", then " with pair of Aces" when
 * hand is neither NULL nor "". */
const char *handrec_say_win(char *out, size_t outsz, const char *who, int64_t amount, int pot,
                            const char *hand);
/* Names the best hand of two hole cards and the board dealt so far (eval_describe) into out:
 * true, or false and out "" when there is nothing to name yet (fewer than three board cards) or a
 * card is unknown. */
bool handrec_name_hand(const card_t hole[2], const card_t *board, int nboard,
                       char out[EVAL_DESCRIBE_MAX]);

/* What the lines of a replay need to remember between its events: each seat's bet on the
 * street, the board so far, and the hands shown (named again as the board runs out, so that an
 * all-in's winner is named with the whole board). */
struct handrec_narrator {
    const struct handrec *h;
    bool ascii;
    int64_t bet[ENGINE_MAX_SEATS];
    card_t board[5];
    int nboard;
    uint16_t shown;
    card_t hole[ENGINE_MAX_SEATS][2];
    char hand[ENGINE_MAX_SEATS][EVAL_DESCRIBE_MAX];
};
typedef void (*handrec_line_fn)(void *arg, const char *line);
void handrec_narrator_init(struct handrec_narrator *n, const struct handrec *h, bool ascii);
/* Feeds one event of handrec_replay's log, in order from the first: calls line() for each line
 * it adds to the hand's story (none for the deal and the end, one per winner of a pot); line may
 * be NULL to follow the hand without telling it. */
void handrec_narrate(struct handrec_narrator *n, const struct engine_event *x, handrec_line_fn line,
                     void *arg);

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
