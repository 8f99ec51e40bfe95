/*
 * replay.c: `felt replay [--json] FILE|-` (see replay.h for the exit statuses and
 * docs/hand-format.md for the record and the result).
 *
 * Reads at most HANDREC_MAX_BYTES from the file or stdin, parses and replays the record with
 * common/handrec, and prints either the text rendering or the one-line JSON result.
 */
#include "replay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "eval.h"
#include "handrec.h"
#include "util.h"

#define REPLAY_USAGE "usage: felt replay [--json] FILE|-"

/* Reads the whole stream into a malloc'd buffer (NUL-terminated). Returns the length, or -1
 * with err ("io" or "too_large"). */
static long replay_read(FILE *f, char **out, struct felt_err *err)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    long rc = -1;
    for (;;) {
        if (n == cap - 1) {
            if (cap > HANDREC_MAX_BYTES) {
                felt_err_set(err, "too_large", "larger than %d bytes", HANDREC_MAX_BYTES);
                goto out;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) break;
    }
    if (ferror(f)) {
        felt_err_set(err, "io", "read error: %s", strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    rc = (long)n;
out:
    if (rc < 0)
        free(buf);
    else
        *out = buf;
    return rc;
}

int replay_main(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    char *buf = NULL;
    FILE *f = NULL;
    struct felt_err err = {0};
    struct handrec h;
    struct handrec_result r;
    int status = 2;

    handrec_init(&h);
    memset(&r, 0, sizeof(r));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s\n  Replays a hand record (docs/hand-format.md) street by street, or prints "
                   "the result as JSON.\n  FILE '-' reads standard input. Exit: 0 ok, 1 illegal "
                   "action, 2 malformed record or usage.\n",
                   REPLAY_USAGE);
            status = 0;
            goto out;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "felt replay: unknown option '%.40s' (%s)\n", argv[i], REPLAY_USAGE);
            goto out;
        } else if (path) {
            fprintf(stderr, "felt replay: one file only (%s)\n", REPLAY_USAGE);
            goto out;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "felt replay: no file given (%s)\n", REPLAY_USAGE);
        goto out;
    }
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "felt replay: %s: %s\n", path, strerror(errno));
        goto out;
    }
    long len = replay_read(f, &buf, &err);
    if (len < 0 || handrec_parse(buf, (size_t)len, &h, &err) < 0) {
        fprintf(stderr, "felt replay: %s: %s: %s\n", path, err.code, err.message);
        goto out;
    }
    eval_init();
    if (handrec_replay(&h, &r, &err) < 0) {
        fprintf(stderr, "felt replay: %s: %s: %s\n", path, err.code, err.message);
        goto out;
    }
    if (json) {
        struct json_object *o = handrec_result_json(&h, &r);
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        char *text = handrec_result_text(&h, &r);
        fputs(text, stdout);
        free(text);
    }
    status = r.error_index >= 0 ? 1 : 0;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "felt replay: cannot write the output: %s\n", strerror(errno));
        status = 2;
    }
out:
    handrec_result_free(&r);
    handrec_free(&h);
    free(buf);
    if (f && f != stdin) fclose(f);
    return status;
}
