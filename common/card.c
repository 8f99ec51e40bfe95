/*
 * card.c: the text form of cards ("As", "Td"): strict parsing and printing.
 *
 * Parsing accepts exactly one rank character from CARD_RANKS followed by one suit character from
 * CARD_SUITS, case-sensitive; "as", "AS", "10h" and "A s" are all rejected. Error messages quote
 * the offending text, made safe for a terminal and shortened, so they can be shown to a user.
 * Lists of cards (card_list) take each card's text from text_card, so a list reads as the table
 * draws its cards.
 */
#include "card.h"

#include <stdio.h>
#include <string.h>

#include "text.h"
#include "util.h"

/* Longest stretch of user text quoted back in an error message. */
#define CARD_QUOTE_MAX 16

/* Copies at most CARD_QUOTE_MAX bytes of s[0..len) into out as printable ASCII ('?' for
 * anything else) and marks truncation with "...". out must hold CARD_QUOTE_MAX + 4 bytes. */
static void card_quote(const char *s, size_t len, char out[CARD_QUOTE_MAX + 4])
{
    size_t n = len < CARD_QUOTE_MAX ? len : CARD_QUOTE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (len > n) {
        memcpy(out + n, "...", 4);
    } else {
        out[n] = '\0';
    }
}

/* Parses the len bytes at s as one card. */
static int card_parse_n(const char *s, size_t len, card_t *out, struct felt_err *err)
{
    const char *r = len == 2 && s[0] ? strchr(CARD_RANKS, s[0]) : NULL;
    const char *u = len == 2 && s[1] ? strchr(CARD_SUITS, s[1]) : NULL;
    if (!r || !u) {
        char q[CARD_QUOTE_MAX + 4];
        card_quote(s, len, q);
        return felt_err_set(err, "bad_card",
                            "bad card \"%s\": expected a rank from %s then a suit from %s", q,
                            CARD_RANKS, CARD_SUITS);
    }
    *out = card_make((int)(r - CARD_RANKS), (int)(u - CARD_SUITS));
    return 0;
}

int card_parse(const char *s, card_t *out, struct felt_err *err)
{
    if (!s) return felt_err_set(err, "bad_card", "missing card");
    return card_parse_n(s, strlen(s), out, err);
}

int card_parse_list(const char *s, card_t *out, int max, struct felt_err *err)
{
    uint64_t seen = 0;
    int n = 0;

    if (!s) return felt_err_set(err, "bad_card", "missing card list");
    /* Cards are separated by runs of spaces; anything else belongs to a token and is judged
     * by card_parse_n, so "As,Kd" is reported as one bad card. */
    for (;;) {
        while (*s == ' ')
            s++;
        if (!*s) break;
        size_t len = strcspn(s, " ");
        card_t c = CARD_NONE;
        if (card_parse_n(s, len, &c, err) < 0) return -1;
        if (seen & (UINT64_C(1) << c)) {
            char buf[3];
            return felt_err_set(err, "duplicate_card", "card %s appears twice", card_str(c, buf));
        }
        if (n >= max)
            return felt_err_set(err, "too_many_cards", "more than %d cards", max < 0 ? 0 : max);
        seen |= UINT64_C(1) << c;
        out[n++] = c;
        s += len;
    }
    return n;
}

const char *card_str(card_t c, char buf[3])
{
    if (card_valid(c)) {
        buf[0] = CARD_RANKS[card_rank(c)];
        buf[1] = CARD_SUITS[card_suit(c)];
    } else {
        buf[0] = buf[1] = '?';
    }
    buf[2] = '\0';
    return buf;
}

const char *card_list(const card_t *c, int n, bool ascii, char *out, size_t outsz)
{
    size_t len = 0;
    if (outsz == 0) felt_fatal("card_list: no room");
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        char one[TEXT_CARD_MAX];
        text_card(c[i], ascii, one, sizeof(one));
        int k = snprintf(out + len, outsz - len, "%s%s", i ? " " : "", one);
        if (k < 0 || (size_t)k >= outsz - len) {
            out[len] = '\0'; /* the cards that fit, never half a card */
            break;
        }
        len += (size_t)k;
    }
    return out;
}
