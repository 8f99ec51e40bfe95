/*
 * log.c: feltd's log: one line per event on stderr, with a level.
 *
 * Three shapes, chosen once at start:
 *   text     "2026-12-05T10:00:00 feltd: warning: message" (local time), for a terminal;
 *   journal  "<4>warning: message" when stderr is the systemd journal ($JOURNAL_STREAM names
 *            it): the prefix is the syslog priority journald files the line under, and journald
 *            stamps the time itself;
 *   json     {"ts":"2026-12-05T10:00:00.123Z","level":"warning","msg":"message"} (--log-json),
 *            for machines; the message is escaped by json-c.
 * The level is the process's (set once from the command line); every file logs through
 * log_line() rather than through the server object, so that the table and the command layer
 * need nothing above them to say what happened. Tokens and hidden cards are never passed here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <json-c/json.h>

#include "server.h"

static enum log_level log_level = LOG_INFO;
static enum log_format log_format = LOG_TEXT;

static const struct {
    const char *name;
    int syslog_priority; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG of syslog.h */
} log_levels[] = {
    [LOG_ERROR] = {"error", 3},
    [LOG_WARNING] = {"warning", 4},
    [LOG_INFO] = {"info", 6},
    [LOG_DEBUG] = {"debug", 7},
};

void log_set_level(enum log_level lvl)
{
    log_level = lvl;
}

enum log_level log_get_level(void)
{
    return log_level;
}

bool log_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_format(enum log_format f)
{
    log_format = f;
}

void log_line(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    char msg[1024], ts[40];
    if (lvl > log_level || (unsigned)lvl >= FELT_ARRAY_LEN(log_levels))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* a longer message is cut: one line stays one */
    va_end(ap);
    switch (log_format) {
    case LOG_JOURNAL:
        fprintf(stderr, "<%d>%s: %s\n", log_levels[lvl].syslog_priority, log_levels[lvl].name,
                msg);
        break;
    case LOG_JSON: {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%03dZ", (int)(tv.tv_usec / 1000));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ts", json_object_new_string(ts));
        json_object_object_add(o, "level", json_object_new_string(log_levels[lvl].name));
        json_object_object_add(o, "msg", json_object_new_string(msg));
        fprintf(stderr, "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        break;
    }
    case LOG_TEXT: {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s feltd: %s: %s\n", ts, log_levels[lvl].name, msg);
        break;
    }
    }
}
