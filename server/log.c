/*
 * log.c: feltd's log: one line per event on stderr, "TIMESTAMP feltd: message".
 *
 * The level is the process's (set once from the command line); every file logs through
 * log_line() rather than through the server object, so that the table and the command layer
 * need nothing above them to say what happened. Tokens are never passed here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "server.h"

static enum log_level log_level = LOG_NORMAL;

void log_set_level(enum log_level lvl)
{
    log_level = lvl;
}

enum log_level log_get_level(void)
{
    return log_level;
}

void log_line(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    char ts[32];
    time_t now = time(NULL);
    if (lvl > log_level)
        return;
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime(&now));
    fprintf(stderr, "%s feltd: ", ts);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
