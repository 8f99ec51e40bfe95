/*
 * bench_scan.c: the in-place JSON span scanner of felt-bench (contract in bench_scan.h).
 *
 * Every step is bounded by the end of the span it was given; nesting is tracked with a
 * counter, so a hostile or truncated message costs one linear pass and ends the iteration.
 */
#include "bench_scan.h"

#include <string.h>

static const char *bscan_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at an opening quote: returns the position after the closing quote, or NULL. */
static const char *bscan_skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == '"') return p + 1;
    }
    return NULL;
}

/* p at the start of a value: returns the position after it, or NULL when malformed. */
static const char *bscan_skip_value(const char *p, const char *end)
{
    if (p >= end) return NULL;
    if (*p == '"') return bscan_skip_string(p, end);
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        while (p < end) {
            char ch = *p;
            if (ch == '"') {
                p = bscan_skip_string(p, end);
                if (!p) return NULL;
                continue;
            }
            if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    /* number, true, false, null */
    const char *s = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
           *p != '\r' && *p != '\t')
        p++;
    return p > s ? p : NULL;
}

bool bscan_begin(struct bscan_iter *it, struct bscan v)
{
    const char *p = bscan_ws(v.p, v.p + v.n);
    if (p >= v.p + v.n || (*p != '{' && *p != '[')) return false;
    it->object = *p == '{';
    it->p = p + 1;
    it->end = v.p + v.n;
    it->first = true;
    return true;
}

bool bscan_next(struct bscan_iter *it, struct bscan *key, struct bscan *val)
{
    const char *p = bscan_ws(it->p, it->end), *e;
    if (p >= it->end || *p == (it->object ? '}' : ']')) return false;
    if (!it->first) {
        if (*p != ',') return false;
        p = bscan_ws(p + 1, it->end);
    }
    it->first = false;
    if (it->object) {
        if (p >= it->end || *p != '"' || !(e = bscan_skip_string(p, it->end))) return false;
        if (key) {
            key->p = p + 1;
            key->n = (size_t)(e - p - 2);
        }
        p = bscan_ws(e, it->end);
        if (p >= it->end || *p != ':') return false;
        p = bscan_ws(p + 1, it->end);
    }
    if (!(e = bscan_skip_value(p, it->end))) return false;
    val->p = p;
    val->n = (size_t)(e - p);
    it->p = e;
    return true;
}

bool bscan_get(struct bscan v, const char *key, struct bscan *val)
{
    struct bscan_iter it;
    struct bscan k;
    if (!bscan_begin(&it, v) || !it.object) return false;
    while (bscan_next(&it, &k, val))
        if (bscan_key_is(k, key)) return true;
    return false;
}

bool bscan_key_is(struct bscan key, const char *lit)
{
    size_t n = strlen(lit);
    return key.n == n && memcmp(key.p, lit, n) == 0;
}

bool bscan_str_is(struct bscan v, const char *lit)
{
    size_t n = strlen(lit);
    return v.n == n + 2 && v.p[0] == '"' && memcmp(v.p + 1, lit, n) == 0;
}

bool bscan_is_null(struct bscan v)
{
    return v.n == 4 && memcmp(v.p, "null", 4) == 0;
}

bool bscan_int(struct bscan v, int64_t *out)
{
    const char *p = v.p, *end = v.p + v.n;
    bool neg = false;
    uint64_t acc = 0;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end) return false;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return false;
        if (acc > (uint64_t)INT64_MAX / 10) return false; /* beyond int64 */
        acc = acc * 10 + (uint64_t)(*p - '0');
    }
    if (acc > (uint64_t)INT64_MAX) return false;
    *out = neg ? -(int64_t)acc : (int64_t)acc;
    return true;
}

bool bscan_bool(struct bscan v, bool *out)
{
    if (v.n == 4 && memcmp(v.p, "true", 4) == 0) {
        *out = true;
        return true;
    }
    if (v.n == 5 && memcmp(v.p, "false", 5) == 0) {
        *out = false;
        return true;
    }
    return false;
}

bool bscan_str(struct bscan v, char *out, size_t outsz)
{
    if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"' || v.n - 2 >= outsz) return false;
    memcpy(out, v.p + 1, v.n - 2);
    out[v.n - 2] = '\0';
    return true;
}
