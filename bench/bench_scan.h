/*
 * bench_scan.h: felt-bench's zero-allocation JSON scanner for server messages.
 *
 * felt-bench receives hundreds of thousands of server messages per second on one core, and
 * needs only a few fields of each (type, seq, event, hand_id, player_id, to_act). Building a
 * json-c tree per message would cost more CPU than the server spends producing it, so this
 * scanner walks the members of an object (or the elements of an array) in place, handing out
 * spans of the original text. It never allocates, never reads past the span it is given, and
 * treats anything malformed as the end of the object (the bench counts that as a bad message);
 * it does not validate JSON beyond what it needs to find the spans, and does not unescape
 * strings (the fields it reads are ids, names of events and numbers, which never need it).
 */
#ifndef FELT_BENCH_SCAN_H
#define FELT_BENCH_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A span of JSON text: a whole value (with its quotes, braces or brackets), or a key's text
 * without its quotes. */
struct bscan {
    const char *p;
    size_t n;
};

/* Iterator over an object's members or an array's elements. */
struct bscan_iter {
    const char *p, *end;
    bool first;
    bool object;
};

/* Starts iterating v, which must be an object ('{') or an array ('['); false otherwise. */
bool bscan_begin(struct bscan_iter *it, struct bscan v);
/* The next member: its key (unquoted; left untouched for arrays, pass NULL) and value. Returns
 * true, or false at the end or on malformed input. */
bool bscan_next(struct bscan_iter *it, struct bscan *key, struct bscan *val);

/* Finds the value of a top-level key of object v; false when absent or malformed. */
bool bscan_get(struct bscan v, const char *key, struct bscan *val);

bool bscan_key_is(struct bscan key, const char *lit);
/* A JSON string's contents (between the quotes, raw) equal lit. */
bool bscan_str_is(struct bscan v, const char *lit);
bool bscan_is_null(struct bscan v);
/* A JSON integer (no fraction or exponent) that fits int64; false otherwise. */
bool bscan_int(struct bscan v, int64_t *out);
bool bscan_bool(struct bscan v, bool *out);
/* Copies a JSON string's raw contents into out (NUL-terminated); false if v is not a string or
 * it does not fit. */
bool bscan_str(struct bscan v, char *out, size_t outsz);

#endif
