/*
 * server_test_frames.c: the two framings of the protocol against the real feltd (server_test.h,
 * docs/protocol.md "Transport"). On felt.v2 what is due to a client goes out in one frame, a
 * message a line: the actor's ack and the state_update of its action arrive together, and an
 * action reaches a spectator as one frame, in seq order without gaps. On felt.v1 (a raw socket,
 * rawws.c) every frame is still exactly one JSON object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawws.h"
#include "server_test.h"

/* Every ack of p for an accepted action shares its frame with the state_update of that action
 * (the next message from p's player id): returns how many acks were checked. */
static int frames_check_actor(const struct tc *p)
{
    int checked = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct rmsg *ack = &p->msgs[i];
        const char *status = jval_str(ack->data, "status");
        if (ack->type != PROTO_S_ACK || !status || strcmp(status, "accepted") != 0 ||
            jval_int(ack->data, "hand_id", -1) < 0)
            continue;
        long u = tc_find(p, i + 1, PROTO_S_STATE_UPDATE, "player_id", p->player_id);
        assert_true(u >= 0);
        if (p->msgs[u].frame != ack->frame)
            print_error("%s: ack in frame %llu, its update in frame %llu: %s\n", p->name,
                        (unsigned long long)ack->frame, (unsigned long long)p->msgs[u].frame,
                        p->msgs[u].raw);
        assert_true(p->msgs[u].frame == ack->frame);
        checked++;
    }
    return checked;
}

/* What rail saw, after its snapshot: seqs without a gap, and each action's update first in its
 * frame with everything that action caused (the messages up to the next action share it).
 * Returns the number of frames that held more than one message. */
static int frames_check_rail(const struct tc *rail)
{
    uint64_t seq = 0;
    bool snapshot = false;
    int multi = 0;
    for (size_t i = 0; i < rail->n; i++) {
        const struct rmsg *m = &rail->msgs[i];
        if (m->type == PROTO_S_SNAPSHOT) {
            seq = m->seq;
            snapshot = true;
            continue;
        }
        if (!m->has_seq)
            continue;
        assert_true(snapshot);
        if (m->seq != seq + 1)
            print_error("rail: seq %llu after %llu: %.200s\n", (unsigned long long)m->seq,
                        (unsigned long long)seq, m->raw);
        assert_true(m->seq == seq + 1);
        seq = m->seq;
        if (i > 0 && rail->msgs[i - 1].frame == m->frame &&
            (i < 2 || rail->msgs[i - 2].frame != m->frame))
            multi++;
    }
    return multi;
}

/* What a felt.v1 spectator on a raw socket (fd, not read while the hands were played; the
 * kernel holds it) received: every frame one JSON object, no newline. Reads until it has seen
 * `want` frames holding a state_update. */
static void frames_check_v1(int fd, int want)
{
    struct rawws_reader rd = {0};
    struct rawws_msg m;
    int updates = 0, frames = 0;
    while (updates < want) {
        assert_int_equal(rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS), 1);
        if (m.opcode == RAWWS_PING) { /* lws's heartbeat, unanswered here: harmless */
            rawws_msg_free(&m);
            continue;
        }
        assert_int_equal(m.opcode, RAWWS_TEXT);
        assert_null(memchr(m.data, '\n', m.len));
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, m.data, (int)m.len);
        assert_non_null(o);
        assert_true((size_t)json_tokener_get_parse_end(tok) == m.len); /* nothing after it */
        const char *type = jval_str(o, "type");
        updates += type && strcmp(type, "state_update") == 0;
        json_object_put(o);
        json_tokener_free(tok);
        rawws_msg_free(&m);
        frames++;
    }
    assert_true(frames > updates); /* the snapshot came first, in its own frame */
    rawws_reader_free(&rd);
}

void test_frames(void **state)
{
    (void)state;
    static struct bb bb;
    START(&bb, "--hand-delay", "300");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    ann->play = TC_PLAY_CALL;
    bob->play = TC_PLAY_CALL;
    wait_snapshot(&bb, ann);
    wait_snapshot(&bb, bob);
    int status = 0;
    int v1 = rawws_connect(bb.srv.port, "/ws/spectate/main", &status);
    assert_true(v1 >= 0);

    /* Two whole hands, so that every kind of action and street change is in what rail saw. */
    long hs = wait_full_hand_start(&bb, rail, 2);
    int64_t hand = jval_int(rail->msgs[hs].data, "hand_id", -1);
    assert_true(BB_WAIT(&bb, find_update(rail, 0, "hand_end", hand + 1) >= 0, BB_TIMEOUT_MS));
    assert_true(frames_check_actor(ann) + frames_check_actor(bob) >= 4);
    assert_true(frames_check_rail(rail) >= 2);
    assert_true(wsconn_frames_in(rail->ws) < rail->n);
    frames_check_v1(v1, 12);
    close(v1);
    tc_free(ann);
    tc_free(bob);
    tc_free(rail);
    bb_stop_clean(&bb);
}
