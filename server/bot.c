/*
 * bot.c: the built-in bots' strategy: simple, not stupid.
 *
 * A bot estimates its equity against as many random hands as it has opponents, by Monte Carlo
 * over the evaluator (exact enumeration would cost up to 1.7 million boards per decision
 * preflop, far too slow for a server turn), and compares it with the pot odds: it folds what is
 * not worth the price, calls what is, raises strong hands in proportion to the pot, and now and
 * then bets a weak hand when checking is free so it cannot be read by a fixed rule. A bot only
 * ever looks at its own hole cards and the public board.
 *
 * Its samples need randomness, not secrecy: a decision draws up to 400 x 11 numbers, and from
 * the OS CSPRNG each would be a getrandom(2) call (75 % of feltd's CPU with bots playing flat
 * out, on a 6.18 kernel). So with the table's generator on the OS, a decision draws one 64-bit
 * seed from it and samples from a seeded generator that lives only for that decision; with a
 * seeded table (tests, replays) it draws from the table's generator directly, as before, so
 * that seeded games stay reproducible.
 */
#include "eval.h"
#include "server.h"

#define BOT_SAMPLES 400

static double bot_equity(const struct engine *e, int seat, struct rng *r)
{
    card_t known[7], deck[CARD_COUNT];
    bool used[CARD_COUNT] = {false};
    int opponents = 0, nknown = 0, ndeck = 0;
    double score = 0;

    for (int s = 0; s < e->nseats; s++)
        if (s != seat && e->p[s].dealt && !e->p[s].folded)
            opponents++;
    known[nknown++] = e->p[seat].hole[0];
    known[nknown++] = e->p[seat].hole[1];
    for (int i = 0; i < e->board_dealt; i++)
        known[nknown++] = e->board[i];
    for (int i = 0; i < nknown; i++)
        used[known[i]] = true;
    for (int c = 0; c < CARD_COUNT; c++)
        if (!used[c])
            deck[ndeck++] = (card_t)c;
    if (opponents == 0)
        return 1.0;

    for (int n = 0; n < BOT_SAMPLES; n++) {
        /* Partial Fisher-Yates: draw the missing board cards and the opponents' hands. */
        int need = (5 - e->board_dealt) + 2 * opponents, drawn = 0;
        for (; drawn < need && drawn < ndeck; drawn++) {
            int j = drawn + (int)rng_bounded(r, (uint64_t)(ndeck - drawn));
            card_t tmp = deck[drawn];
            deck[drawn] = deck[j];
            deck[j] = tmp;
        }
        card_t hand[7];
        for (int i = 0; i < e->board_dealt; i++)
            hand[2 + i] = e->board[i];
        for (int i = e->board_dealt; i < 5; i++)
            hand[2 + i] = deck[i - e->board_dealt];
        int next = 5 - e->board_dealt;
        hand[0] = known[0];
        hand[1] = known[1];
        uint16_t mine = eval_7(hand), best = 0;
        for (int o = 0; o < opponents; o++) {
            hand[0] = deck[next++];
            hand[1] = deck[next++];
            uint16_t theirs = eval_7(hand);
            if (theirs > best)
                best = theirs;
        }
        if (mine > best)
            score += 1.0;
        else if (mine == best)
            score += 0.5; /* a tie, counted as half a pot whatever the number tied */
    }
    return score / BOT_SAMPLES;
}

void bot_decide(const struct engine *e, struct rng *r, enum engine_action *action,
                int64_t *amount)
{
    struct engine_options o;
    engine_options(e, &o);
    FELT_ASSERT(o.seat >= 0);
    struct rng local;
    if (r->mode == RNG_OS) {
        rng_init_seeded(&local, rng_u64(r));
        r = &local;
    }
    double eq = bot_equity(e, o.seat, r);
    int64_t pot = engine_pot_total(e);
    double odds = o.call > 0 ? (double)o.call / (double)(pot + o.call) : 0.0;
    int roll = (int)rng_bounded(r, 100);

    *amount = 0;
    if (o.can_raise && (eq > 0.7 || (o.can_check && roll < 8))) {
        /* Raise to about two thirds of the pot on top of the current bet, within the limits. */
        int64_t target = e->bet_to + (pot * 2) / 3;
        if (eq > 0.85 && roll < 30)
            target = o.max_raise_to;
        if (target < o.min_raise_to)
            target = o.min_raise_to;
        if (target > o.max_raise_to)
            target = o.max_raise_to;
        *action = ENGINE_RAISE;
        *amount = target;
        return;
    }
    if (o.can_check) {
        *action = ENGINE_CHECK;
        return;
    }
    *action = eq >= odds ? ENGINE_CALL : ENGINE_FOLD;
}
