#!/usr/bin/env python3
"""cluster_proxy_test.py: a player connected to a node that does not play their table
(docs/scaling.md, "Players on any node"): the node carries the socket to the table's owner.

Three nodes (cluster_test.py's servers: its own PostgreSQL and Redis on loopback, in a
temporary folder) and one table, t1, with 4 bots. A player joins at t1's owner over HTTP and
opens their socket on another node, B, with a raw WebSocket client that sees exactly what the
socket carries. Then:

  - the owner counts a player B carries by the player's address (B names it, with the nodes'
    secret), not by B's: at the cap for that address, B's upstream is refused until one of the
    player's other sockets closes; a header without the secret is not believed;
  - a player id the owner does not know, through B, is closed with 4401 (the owner refused
    the upgrade: what its hello would have said);
  - through B the player gets the owner's snapshot for them ("you" is them), their own hole
    cards in each hand_start, and acks of their actions; their events are gap-free;
  - kill -9 B: the player says hello on the third node, C, with the last seq they processed
    and its epoch, and gets exactly the missed events: the next seq first, no snapshot, each
    the event the owner published under that seq (a spectator on the owner is the reference),
    gap-free from there;
  - an action sent again through C with the request_id it had through B gets the original ack
    again, and is not applied twice (one action of the player's at that decision);
  - B comes back, and the player resumes there (no snapshot again); kill -9 the owner: a new
    owner (fence + 1) plays t1. If it is the node the player is connected to, the socket is
    closed with 1012 and a new one there is the player's; if it is the other node, the player's
    socket stays open and is sent the new owner's snapshot (another epoch), and B, stopped
    cleanly, closes it with 1001 ("going away");
  - at the end every node stops and the books balance (PostgreSQL's ledger against the stacks).

Usage: cluster_proxy_test.py FELTD FELT PG_RUN. Only 127.0.0.1; bounded in time.
"""
import os
import signal
import socket
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True
import cluster_test as ct  # noqa: E402 (its servers and checks; argv as ours)
from cluster_test import check, wait_for, http  # noqa: E402
from felt_testlib import WsClient  # noqa: E402

ct.TABLES = ("t1",)
PLAYER_IP = "127.0.0.5"  # the player's address (any loopback address is this machine's)
CAP = 4                  # the nodes' --max-conns-per-address


class Socket:
    """A WebSocket read on a thread of its own: every message in order. A player's acts when
    it is to act (check, else call), each action with a new request_id, its hand and decision."""

    def __init__(self, node, path, hello=None, pid=None, source=PLAYER_IP, headers=()):
        self.ws = WsClient(node.port, path, source=source, headers=headers)
        check(self.ws.status == 101, "%s on %s: HTTP %d" % (path, node.name, self.ws.status))
        self.pid, self.msgs, self.sent = pid, [], []
        self.lock = threading.RLock()
        self.acting = pid is not None
        if hello:
            self.ws.send(hello)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        while True:
            m = self.ws.recv(timeout=1)
            if m is None:
                continue
            with self.lock:
                self.msgs.append(m)
            if isinstance(m, tuple):
                return
            to_act = m.get("data", {}).get("to_act") if m.get("type") in (
                "snapshot", "state_update") else None
            if self.acting and to_act and to_act.get("player_id") == self.pid:
                a = {"type": "action", "action": "check" if to_act["can_check"] else "call",
                     "request_id": uuid.uuid4().hex[:16], "hand_id": m["data"]["hand_id"],
                     "decision": to_act["decision"]}
                with self.lock:
                    self.sent.append(a)
                try:
                    self.ws.send(a)
                except OSError:
                    return

    def messages(self):
        with self.lock:
            return list(self.msgs)

    def events(self):
        return [m for m in self.messages() if isinstance(m, dict) and "seq" in m]

    def closed(self):
        last = self.messages()[-1:]
        return last[0] if last and isinstance(last[0], tuple) else None

    def acks(self):
        return [m["data"] for m in self.messages() if isinstance(m, dict) and m["type"] == "ack"]


def gap_free(events, who):
    for a, b in zip(events, events[1:]):
        check(b["seq"] == a["seq"] + 1 or b["type"] == "snapshot",
              "%s: seq %d after %d" % (who, b["seq"], a["seq"]))


def main():
    pg, conninfo = ct.start_pg()
    red, redis_port = ct.start_redis()
    nodes = [ct.Node("n%d" % i, conninfo, redis_port, ["--max-conns-per-address", str(CAP)])
             for i in (1, 2, 3)]
    owner, fence = wait_for(lambda: ct.settled_owner(nodes, redis_port, "t1"),
                            "one owner of t1", 30)
    b, c = [n for n in nodes if n is not owner]
    print("t1: played by %s (fence %d); the player connects to %s, then %s"
          % (owner.name, fence, b.name, c.name))

    status, body = http(b.port, "POST", "/api/games/t1/join", {"name": "pat"})
    check(status == 421, "a join at %s, which does not play t1: %d, not 421" % (b.name, status))
    status, body = http(owner.port, "POST", "/api/games/t1/join", {"name": "pat"})
    check(status == 200, "the join at the owner: %d %s" % (status, body))
    pid, token = body["player_id"], body["token"]
    path = "/ws/game/t1/" + pid
    ref = Socket(owner, "/ws/spectate/t1")
    # A player id the owner does not know, through B: closed as the owner's hello would.
    stranger = Socket(b, "/ws/game/t1/0123456789abcdef", {"type": "hello", "token": "00" * 32})
    closed = wait_for(lambda: stranger.closed(), "the stranger's socket to close", 10)
    check(closed[1] == 4401, "a player id the owner does not know, through %s: closed %s, not "
          "4401" % (b.name, closed))

    # The owner counts the player by their own address, which B names (X-Forwarded-For) with
    # the nodes' secret (felt:secret), not by B's: with the player's address at the owner's
    # cap, B's upstream for them is refused (and tried again) until a socket of theirs closes.
    secret = ct.redis_cli(redis_port, "GET", "felt:secret")
    check(len(secret) == 64 and all(ch in "0123456789abcdef" for ch in secret),
          "felt:secret is not 64 hex characters")
    idle = [socket.create_connection(("127.0.0.1", owner.port), source_address=(PLAYER_IP, 0))
            for _ in range(CAP)]
    time.sleep(0.3)
    for who, hdrs, refused in (("a wrong secret", [("x-felt-proxied", "0" * 64)], False),
                               ("the nodes' secret", [("x-felt-proxied", secret)], True)):
        ws = WsClient(owner.port, "/ws/spectate/t1",
                      headers=hdrs + [("x-forwarded-for", PLAYER_IP)])
        check((ws.status == 429) == refused, "an upgrade with %s naming the player's full "
              "address: HTTP %d" % (who, ws.status))
        ws.close()
    p1 = Socket(b, path, {"type": "hello", "token": token}, pid)
    time.sleep(1.5)
    check(p1.messages() == [], "the owner served the player's 5th socket (over its cap of %d "
          "for their address): %s" % (CAP, p1.messages()[:1]))
    for s in idle:
        s.close()

    # Through B: the owner's play, rendered for the player.
    first = wait_for(lambda: p1.messages(), "the player's first message through %s" % b.name, 10)
    check(first[0]["type"] == "snapshot" and first[0]["data"]["you"]["player_id"] == pid,
          "the first message through %s is not the player's snapshot: %s" % (b.name, first[0]))
    epoch = first[0]["data"]["epoch"]

    def own_cards():
        for m in p1.events():
            d = m["data"]
            if m["type"] == "state_update" and d.get("event") == "hand_start":
                for pl in d.get("players", []):
                    if pl["player_id"] == pid and len(pl.get("cards", [])) == 2:
                        return True
        return False
    wait_for(own_cards, "the player's own hole cards through %s" % b.name, 30)
    wait_for(lambda: any(a["status"] == "accepted" for a in p1.acks()),
             "an action of the player's accepted through %s" % b.name, 30)
    gap_free(p1.events(), "the player through " + b.name)
    with p1.lock:
        acked = {a["request_id"]: a for a in p1.acks()}
        done = [a for a in p1.sent if acked.get(a["request_id"], {}).get("status") == "accepted"]
    again = done[-1]
    original = acked[again["request_id"]]

    # Kill -9 the player's node; the table plays on. The player resumes on C.
    seen = p1.events()
    last = seen[-1]["seq"]
    b.proc.kill()
    b.proc.wait()
    wait_for(lambda: p1.closed(), "the player's socket through %s to break" % b.name, 5)
    wait_for(lambda: ref.events() and ref.events()[-1]["seq"] >= last + 3,
             "t1 to play on while the player is away", 20)
    p2 = Socket(c, path, {"type": "hello", "token": token, "last_seq": last, "epoch": epoch},
                pid)
    wait_for(lambda: len(p2.events()) >= 3, "the resume through %s" % c.name, 10)
    got = p2.events()
    check(got[0]["type"] != "snapshot" and got[0]["seq"] == last + 1,
          "the resume through %s started with %s %s, not the event after seq %d"
          % (c.name, got[0]["type"], got[0]["seq"], last))
    gap_free(got, "the player through " + c.name)
    public = {m["seq"]: m for m in ref.events()}
    missed = [m for m in got if m["seq"] <= max(public)]
    for m in missed:
        r = public.get(m["seq"])
        check(r is not None and r["type"] == m["type"] and
              r["data"].get("event") == m["data"].get("event") and
              r["data"].get("hand_id") == m["data"].get("hand_id"),
              "seq %d: the player got %s, the owner published %s" % (m["seq"], m, r))
    print("resumed through %s: %d events replayed from seq %d, no snapshot"
          % (c.name, len(missed), last + 1))

    # The same action again, through another node: the original ack, applied once.
    def applied():
        return len([m for m in ref.events() if m["type"] == "state_update" and
                    m["data"].get("event") == "action" and m["data"].get("player_id") == pid
                    and m["data"].get("hand_id") == again["hand_id"]])
    p2.acting = False  # nothing new from the player meanwhile
    time.sleep(0.5)
    count, before = applied(), len(p2.acks())
    p2.ws.send(again)
    wait_for(lambda: len(p2.acks()) > before, "the ack of the action sent again", 10)
    re_ack = [a for a in p2.acks() if a["request_id"] == again["request_id"]]
    check(re_ack and re_ack[0] == original,
          "the action sent again got %s, not the original ack %s" % (re_ack, original))
    time.sleep(1.0)
    check(applied() == count, "the action sent again was applied again (%d actions of the "
          "player's in hand %d, %d before)" % (applied(), again["hand_id"], count))
    p2.acting = True
    print("the action sent again through %s: the original ack, not applied again" % c.name)

    # B comes back and stands by; the player moves back to it (a resume again: no snapshot).
    b.start()
    wait_for(lambda: b.state("t1")[0] == 421, "%s to stand by" % b.name, 10)
    p2.acting = False
    time.sleep(0.3)
    p2.ws.close()
    last = p2.events()[-1]["seq"]
    p3 = Socket(b, path, {"type": "hello", "token": token, "last_seq": last, "epoch": epoch},
                pid)
    got = wait_for(lambda: p3.events(), "the resume through %s" % b.name, 10)
    check(got[0]["type"] != "snapshot" and got[0]["seq"] == last + 1,
          "the resume through %s started with %s %s, not the event after seq %d"
          % (b.name, got[0]["type"], got[0]["seq"], last))

    # The owner dies. Whoever takes t1, the player plays on.
    snaps_before = len([m for m in p3.events() if m["type"] == "snapshot"])
    since = time.monotonic()
    owner.proc.kill()
    owner.proc.wait()
    new = ct.taken_over(nodes, redis_port, "t1", owner, fence, since, "was killed")
    if new is b:
        # This node plays t1 itself now: the player's socket is closed for one of its own.
        closed = wait_for(lambda: p3.closed(), "the proxied socket to close on %s" % b.name, 10)
        check(closed[1] == 1012, "the proxied socket closed with %s, not 1012" % (closed,))
        p4 = Socket(b, path, {"type": "hello", "token": token}, pid)
        snap = wait_for(lambda: p4.events(), "the player's snapshot from the new owner", 10)[0]
        print("%s took t1: the player's socket there closed 1012, and a new one plays" % b.name)
    else:
        def new_snapshot():
            snaps = [m for m in p3.events() if m["type"] == "snapshot"]
            return snaps[-1] if len(snaps) > snaps_before else None
        snap = wait_for(new_snapshot, "the new owner's snapshot on the same socket", 15)
        check(not p3.closed(), "the player's socket on %s closed: %s" % (b.name, p3.closed()))
        print("%s took t1: the player's socket on %s stayed open and got its snapshot"
              % (new.name, b.name))
    check(snap["type"] == "snapshot" and snap["data"]["epoch"] != epoch and
          snap["data"]["you"]["player_id"] == pid,
          "after the owner died the player got %s" % snap)

    if new is not b:  # the node carrying the player stops cleanly: it says so (1001)
        b.proc.send_signal(signal.SIGTERM)
        closed = wait_for(lambda: p3.closed(), "the proxied socket to close as %s stops"
                          % b.name, 10)
        check(closed[1] == 1001, "the proxied socket closed with %s as its node stopped, not "
              "1001" % (closed,))
    for n in nodes:
        if n.alive():
            n.proc.send_signal(signal.SIGTERM)
    for n in nodes:
        if n.proc.poll() is None or n is new:
            check(n.proc.wait(timeout=15) == 0, "node %s did not stop cleanly" % n.name)
    ct.check_books(conninfo, "t1")
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e)
        for name in sorted(os.listdir(ct.TMP)):
            if name.endswith(".log"):
                print("---- %s (last 30 lines)" % name)
                with open(os.path.join(ct.TMP, name), errors="replace") as f:
                    print("".join(f.readlines()[-30:]))
        sys.exit(1)
    finally:
        ct.cleanup()
