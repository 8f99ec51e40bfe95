/*
 * store_backend.c: the helpers both storage backends (store_sqlite.c, store_pg.c) and store.c
 * share: one-line error messages, job rejections, length checks, the ISO 8601 times of the rows,
 * and which jobs must reach the disk before they are reported.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_backend.h"

int store_backend_fail(struct felt_err *err, const char *code, const char *fmt, ...)
{
    char msg[sizeof(err->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
    return felt_err_set(err, code, "%s", msg);
}

int store_backend_reject(struct store_job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof(j->why), fmt, ap);
    va_end(ap);
    return -1;
}

int store_backend_fenced(struct store_job *j, const char *table_id)
{
    j->fenced = true;
    return store_backend_reject(j, STORE_FENCED_FMT, table_id, (long long)j->fence);
}

const char *store_backend_job_table(const struct store_job *j)
{
    switch (j->kind) {
    case JOB_SEAT_JOIN:
    case JOB_SEAT_UPDATE:
    case JOB_SEAT_LEAVE:
    case JOB_SEAT_REBUY:
        return j->u.seat.table_id;
    case JOB_HAND_BEGIN:
    case JOB_HAND_COMMIT:
    case JOB_READ_HANDS:
        return j->u.hand.table_id;
    case JOB_TABLE_PUT:
    case JOB_TABLE_FENCE:
    case JOB_VOID_TABLE:
    case JOB_ORDER_SKIP:
    case JOB_TAKE:
        return j->u.table.id;
    case JOB_VOID_RUNNING:
        break;
    }
    felt_fatal("store: job kind %d has no table", (int)j->kind);
}

int store_backend_out_of_order(struct store_job *j, int64_t last)
{
    j->early = true;
    return store_backend_reject(j, STORE_ORDER_FMT, (long long)j->seq, store_backend_job_table(j),
                                (long long)last);
}

int store_backend_order_found(struct store_job *j, bool found, int64_t write_seq, int64_t fence)
{
    if (!found || fence > j->fence) return store_backend_fenced(j, store_backend_job_table(j));
    if (write_seq >= j->seq) return 1;
    return store_backend_out_of_order(j, write_seq);
}

bool store_backend_len_ok(const char *str, size_t min, size_t max)
{
    size_t n = str ? strnlen(str, max + 1) : 0;
    return str && n >= min && n <= max;
}

void store_backend_iso(int64_t ms, char out[STORE_ISO_LEN])
{
    time_t t = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    struct tm tm;
    if (frac < 0) {
        frac += 1000;
        t--;
    }
    if (!gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    size_t n = strftime(out, STORE_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, STORE_ISO_LEN - n, ".%03dZ", frac % 1000);
}

int64_t store_backend_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0, n = 0;
    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 ||
        n == 0 || s[n] != '\0')
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

bool store_backend_job_durable(const struct store_job *j)
{
    switch (j->kind) {
    case JOB_HAND_BEGIN:
    case JOB_SEAT_UPDATE:
    case JOB_TABLE_PUT:
    case JOB_ORDER_SKIP: /* moves no chip: rides on the next durable commit */
        return false;
    case JOB_SEAT_JOIN:
    case JOB_SEAT_LEAVE:
    case JOB_SEAT_REBUY:
    case JOB_HAND_COMMIT:
    case JOB_VOID_RUNNING:
    case JOB_TABLE_FENCE: /* a taken table: the stale owner refused from now on, even after */
    case JOB_VOID_TABLE:  /* a power cut */
        return true;
    case JOB_READ_HANDS: /* never in a backend's batch */
    case JOB_TAKE:
        break;
    }
    felt_fatal("store: job kind %d", (int)j->kind);
}

bool store_backend_batch_durable(const struct store_job *batch)
{
    for (const struct store_job *j = batch; j; j = j->next)
        if (store_backend_job_durable(j)) return true;
    return false;
}
