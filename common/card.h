/*
 * card.h: playing cards and their text form.
 *
 * A card is one byte, rank * 4 + suit, with rank 0..12 for 2..A and suit 0..3 for c d h s, so
 * 0 is 2c and 51 is As. The text form is two characters, rank from "23456789TJQKA" then suit
 * from "cdhs" ("As", "Td"); nothing else parses. CARD_NONE marks an unknown or hidden card.
 * Lists of cards are written by card_list, the one place that joins cards, in either form
 * (the two characters, or the table's suit symbols of text_card).
 */
#ifndef FELT_CARD_H
#define FELT_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct felt_err;

typedef uint8_t card_t;

#define CARD_NONE ((card_t)0xff)
#define CARD_COUNT 52
#define CARD_RANKS "23456789TJQKA"
#define CARD_SUITS "cdhs"

static inline card_t card_make(int rank, int suit)
{
    return (card_t)(rank * 4 + suit);
}
static inline int card_rank(card_t c)
{
    return c >> 2;
}
static inline int card_suit(card_t c)
{
    return c & 3;
}
static inline bool card_valid(card_t c)
{
    return c < CARD_COUNT;
}

/* Parses exactly one card ("As"); returns 0, or -1 with err code "bad_card". */
int card_parse(const char *s, card_t *out, struct felt_err *err);

/* Parses space-separated cards ("As Kd Tc"), at most max, rejecting duplicates.
 * Returns the number parsed, or -1 with err set. */
int card_parse_list(const char *s, card_t *out, int max, struct felt_err *err);

/* Writes the two-character form and a NUL into buf[3]; "??" for CARD_NONE. Returns buf. */
const char *card_str(card_t c, char buf[3]);

/* Writes n cards separated by single spaces into out (NUL-terminated; cut after the last card
 * that fits when outsz is too small; CARD_LIST_MAX holds any seven): with ascii the
 * two-character form ("Ah Kd Tc"), otherwise as the table draws them (text_card: rank and suit
 * symbol, "A\u2665 K\u2666 T\u2663"); "??" for an unknown card. n <= 0 gives "". Returns out. */
#define CARD_LIST_MAX 64
const char *card_list(const card_t *c, int n, bool ascii, char *out, size_t outsz);

#endif
