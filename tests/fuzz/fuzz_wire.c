/*
 * fuzz_wire.c: libFuzzer target for the decoder of server messages (common/wire.c), which felt
 * runs on whatever a server sends, fed arbitrary bytes.
 *
 * Beyond "never crashes, never leaks" it checks what wire.h promises: a refused message comes
 * with one of the documented codes; a game event that decodes re-encodes (wire_encode) to a
 * message that decodes again, and encoding that second decoding gives the same text (the
 * encoder and the decoder agree on every shape, and nothing the decoder accepts is lost or
 * changed by a second round). A broken promise prints what broke and abort()s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_wire: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *const fuzz_wire_codes[] = {"bad_json", "bad_type",   "bad_field",
                                              "too_large", "invalid_utf8", "unknown_event"};

static bool fuzz_wire_code_known(const char *code)
{
    for (size_t i = 0; i < FELT_ARRAY_LEN(fuzz_wire_codes); i++)
        if (code && strcmp(code, fuzz_wire_codes[i]) == 0) return true;
    return false;
}

/* Whether ev is a game event the encoder takes (replies are proto_encode_*'s; kinds this build
 * does not know cannot be encoded). */
static bool fuzz_wire_encodable(const struct wire_event *ev)
{
    if (ev->kind == WIRE_ACK || ev->kind == WIRE_ERROR || ev->kind == WIRE_PONG) return false;
    if (ev->kind == WIRE_ANIMATION && ev->u.animation.kind == WIRE_ANIM_OTHER) return false;
    if (ev->kind == WIRE_NOTIFICATION && ev->u.note.kind == WIRE_NOTE_OTHER) return false;
    return ev->seq <= (uint64_t)PROTO_INT_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wire_event a, b;
    struct felt_err err = {0};
    size_t len1, len2;

    if (wire_decode_text((const char *)data, size, &a, &err) != 0) {
        CHECK(fuzz_wire_code_known(err.code));
        return 0;
    }
    if (!fuzz_wire_encodable(&a)) return 0;
    char *one = wire_encode(&a, a.seq, a.timestamp, &len1);
    if (wire_decode_text(one, len1, &b, &err) != 0) {
        fprintf(stderr, "fuzz_wire: its own encoding is refused (%s: %s): %s\n", err.code,
                err.message, one);
        abort();
    }
    CHECK(b.kind == a.kind);
    char *two = wire_encode(&b, b.seq, b.timestamp, &len2);
    if (len1 != len2 || memcmp(one, two, len1) != 0) {
        fprintf(stderr, "fuzz_wire: a second round changed the message:\n  %s\n  %s\n", one, two);
        abort();
    }
    free(one);
    free(two);
    return 0;
}
