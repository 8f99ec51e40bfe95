#!/usr/bin/env python3
"""stall_test.py: felt --json is never stuck after the server or the network stalls (issue 11).

Each case runs a real feltd on a free loopback port with two bots, and two felt --json processes:
a player and a spectator. It breaks the path between them, types an action and a chat line into
the player while the connection is down, mends the path, and checks what a bot would see on
felt's stdout:
  - felt says the server does not answer ("no_answer") within 2 of its ping periods, then
    "reconnecting", and keeps trying: the attempt number keeps going up while the path is
    broken (retries forever, never more than 10 s apart);
  - once the path is back, "connected" again within 12 s;
  - the action typed offline gets exactly one ack, and the chat line each typed offline comes
    back exactly once.
Cases (one per ctest):
  sigstop         feltd stopped (SIGSTOP) for 65 s, then SIGCONT: the repro of issue 11, where
                  felt made one attempt, whose upgrade was never answered, and no other.
  blackhole_up    the fault proxy (tests/tools/faultproxy.c --blackhole) accepts connections but
  blackhole_down  forwards nothing client to server (up) or server to client (down) for 35 s.
  gone            feltd killed (SIGKILL) and started again 2 minutes later on the same port and
                  data folder: the player's seat and token are still good.
  moved_on        (never mis-clicks) a check typed while the path is down, whose decision the
                  clock then took: after the resume the queued check is refused with
                  stale_decision and not applied to the player's next decision.

Usage: stall_test.py CASE FELT FELTD FAULTPROXY. Everything runs on 127.0.0.1; every wait is
bounded and the whole case is under DEADLINE seconds; children are killed whatever happens.
"""
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (felt_testlib.py's docstring)
from felt_testlib import free_port, json_lines  # noqa: E402 (this script's folder, first on sys.path)

CASE, FELT, FELTD, FAULTPROXY = sys.argv[1:5]
DEADLINE = time.monotonic() + 220  # ctest's TIMEOUT is above this
TMP = tempfile.mkdtemp(prefix="felt-stall-test-")
CHILDREN = []

RECONNECT_BOUND_S = 12   # the bound: connected again this long after the path is back
NO_ANSWER_BOUND_S = 10   # felt says "no_answer" (2 s unanswered ping, pings every 5 s)
RECONNECTING_BOUND_S = 20  # and drops the socket (10 s unanswered ping) within this
LIMITS_OFF = ["--joins-per-minute", "0", "--seats-per-address", "0", "--max-conns-per-address",
              "0", "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands", "0",
              "--idle-seat-secs", "3600", "--spectator-chat"]


def fail(msg):
    raise AssertionError(msg)


def left():
    return DEADLINE - time.monotonic()


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    CHILDREN.append(p)
    return p


def start_feltd(port, data, bots=2, action_timeout=5):
    """feltd on 127.0.0.1:port (0: a free one); returns (process, port)."""
    p = spawn([FELTD, "--port", str(port), "--data", data, "--bots", str(bots), "--bot-delay",
               "50", "--hand-delay", "200", "--action-timeout", str(action_timeout), "-q"] +
              LIMITS_OFF,
              stdout=subprocess.PIPE, stderr=open(os.path.join(TMP, "feltd.err"), "a"), text=True)
    line = p.stdout.readline().strip()
    if "listening on http://127.0.0.1:" not in line:
        fail("feltd did not say where it listens: %r" % line)
    return p, int(line.rsplit(":", 1)[1])


def start_proxy(target, direction):
    p = spawn([FAULTPROXY, "--target", str(target), "--every", "0", "--blackhole", direction,
               "--duration", "300"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("faultproxy: listening on 127.0.0.1:"):
        fail("faultproxy did not start: %r" % line)
    return p, int(line.rsplit(":", 1)[1])


def proxy_switch(proxy, want):
    """SIGHUP switches the black hole; the proxy says which way it went."""
    proxy.send_signal(signal.SIGHUP)
    line = proxy.stdout.readline().strip()
    if line != "faultproxy: blackhole " + want:
        fail("the proxy answered %r to SIGHUP, not the black hole %s" % (line, want))


class Felt:
    """One felt --json process; its stdout lines are kept with their arrival time."""

    def __init__(self, name, port, spectate=False):
        self.name = name
        argv = [FELT, "--json", "--server", "ws://127.0.0.1:%d" % port]
        argv += ["--spectate"] if spectate else ["--name", name]
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(TMP, "state"),
                   XDG_CONFIG_HOME=os.path.join(TMP, "config"))
        self.p = spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       stderr=open(os.path.join(TMP, name + ".err"), "w"), text=True, env=env)
        self.lines = []  # (monotonic time, object)
        self.q = queue.Queue()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for obj in json_lines(self.p.stdout):
            self.q.put((time.monotonic(), obj))
        self.q.put(None)

    def pump(self, timeout):
        try:
            item = self.q.get(timeout=max(0.01, timeout))
        except queue.Empty:
            return
        if item is None:
            fail("%s: felt exited (status %s)" % (self.name, self.p.wait()))
        self.lines.append(item)

    def wait(self, pred, secs, what, since=0.0):
        """The first line after `since` (monotonic) for which pred holds, within secs."""
        end = min(time.monotonic() + secs, DEADLINE)
        i = 0
        while True:
            while i < len(self.lines):
                t, obj = self.lines[i]
                i += 1
                if t >= since and pred(obj):
                    return t, obj
            if time.monotonic() >= end:
                fail("%s: no %s within %d s; last lines: %s" %
                     (self.name, what, secs, [o for _, o in self.lines[-6:]]))
            self.pump(end - time.monotonic())

    def drain(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.pump(end - time.monotonic())

    def send(self, obj):
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()

    def states(self, since, until):
        return [o for t, o in self.lines if since <= t <= until and o.get("type") == "connection"]


def conn(state):
    return lambda o: o.get("type") == "connection" and o.get("state") == state


def outage(felts, break_path, mend_path, down_secs, silent=True):
    """Breaks the path, checks felt notices and keeps trying, types an action and a chat line
    into the player while it is down, mends the path after down_secs and checks the rest.
    silent: the broken path says nothing (no close, no reset), so felt must notice the silence
    itself ("no_answer" first); a killed server's sockets are closed by the kernel instead."""
    player, spectator = felts
    for f in felts:
        f.wait(conn("connected"), 20, "first connected line")
    player.drain(2)
    t_break = time.monotonic()
    break_path()
    for f in felts:
        if not silent:
            f.wait(conn("reconnecting"), 5, "reconnecting line", since=t_break)
            continue
        t, o = f.wait(conn("no_answer"), NO_ANSWER_BOUND_S, "no_answer line", since=t_break)
        if o.get("silent_ms", 0) < 2000:
            fail("%s: no_answer with silent_ms %r" % (f.name, o.get("silent_ms")))
        f.wait(conn("reconnecting"), RECONNECTING_BOUND_S, "reconnecting line", since=t_break)
    # Typed while the connection is down: they wait in felt's queue. (Each checks its own chat
    # line: a spectator resumes with a fresh snapshot, so a line the player sent before the
    # spectator was back is not replayed to it.)
    player.send({"type": "action", "action": "fold", "request_id": "stall-fold-1"})
    for f in felts:
        f.send({"type": "chat", "text": "typed during the stall by " + f.name})
    while time.monotonic() < t_break + down_secs:
        for f in felts:
            f.pump(0.2)
    t_mend = time.monotonic()
    for f in felts:
        f.drain(0.2)
        attempts = sorted({o.get("attempt", 0) for o in f.states(t_break, t_mend)
                           if o.get("state") == "reconnecting"})
        # Never more than 10 s apart (plus the attempt itself): at least this many tries.
        want = max(2, int(down_secs / 20))
        if len(attempts) < want:
            fail("%s: %d reconnect attempts in %d s down (%s): it stopped trying" %
                 (f.name, len(attempts), down_secs, attempts))
    mend_path()
    for f in felts:
        t, _ = f.wait(conn("connected"), RECONNECT_BOUND_S + 3, "connected line after the outage",
                      since=t_mend)
        if t - t_mend > RECONNECT_BOUND_S:
            fail("%s: connected again %.1f s after the path came back (bound %d s)" %
                 (f.name, t - t_mend, RECONNECT_BOUND_S))
        print("%s: connected again %.1f s after the path came back" % (f.name, t - t_mend))
    # Exactly once: one ack for the action, one chat event for the line, at both.
    player.wait(lambda o: o.get("type") == "ack" and
                o.get("data", {}).get("request_id") == "stall-fold-1", 10, "ack of the fold")
    for f in felts:
        text = "typed during the stall by " + f.name
        f.wait(lambda o: o.get("type") == "chat" and o.get("data", {}).get("text") == text, 10,
               "its chat line")
    for f in felts:
        f.drain(4)  # time for a duplicate to show
    acks = [o for _, o in player.lines if o.get("type") == "ack" and
            o.get("data", {}).get("request_id") == "stall-fold-1"]
    if len(acks) != 1:
        fail("the fold typed offline was acked %d times: %s" % (len(acks), acks))
    for f in felts:
        chats = [o for _, o in f.lines if o.get("type") == "chat" and
                 o.get("data", {}).get("text") == "typed during the stall by " + f.name]
        if len(chats) != 1:
            fail("%s: the chat line typed offline arrived %d times" % (f.name, len(chats)))
        bad = [o for _, o in f.lines if o.get("type") == "connection" and
               o.get("state") in ("failed", "offline", "rejected")]
        if bad:
            fail("%s: the session ended: %s" % (f.name, bad))


def case_sigstop():
    feltd, port = start_feltd(0, ":memory:")
    felts = [Felt("player", port), Felt("spectator", port, spectate=True)]
    outage(felts, lambda: os.kill(feltd.pid, signal.SIGSTOP),
           lambda: os.kill(feltd.pid, signal.SIGCONT), 65)


def case_blackhole(direction):
    feltd, port = start_feltd(0, ":memory:")
    proxy, pport = start_proxy(port, direction)
    felts = [Felt("player", pport), Felt("spectator", pport, spectate=True)]
    outage(felts, lambda: proxy_switch(proxy, "on"), lambda: proxy_switch(proxy, "off"), 35)


def case_gone():
    data = os.path.join(TMP, "data")
    os.mkdir(data)
    port = free_port()
    server = {}
    server["p"], _ = start_feltd(port, data)
    felts = [Felt("player", port), Felt("spectator", port, spectate=True)]

    def kill():
        server["p"].kill()
        server["p"].wait()

    def restart():
        server["p"], _ = start_feltd(port, data)

    outage(felts, kill, restart, 120, silent=False)


def to_acts(f, since_key):
    """(key, to_act) of every decision f has seen after since_key, key = (hand_id, decision)."""
    out = []
    for _, o in f.lines:
        d = o.get("data") or {}
        ta = d.get("to_act")
        if o.get("type") in ("snapshot", "state_update") and ta:
            key = (d.get("hand_id", 0), ta.get("decision", 0))
            if key > since_key and all(k != key for k, _ in out):
                out.append((key, ta))
    return out


def next_to_act(f, since_key, secs, what):
    """The first decision f sees after since_key, within secs."""
    end = min(time.monotonic() + secs, DEADLINE)
    while True:
        found = to_acts(f, since_key)
        if found:
            return found[0]
        if time.monotonic() >= end:
            fail("%s: no %s within %d s; last lines: %s" %
                 (f.name, what, secs, [o for _, o in f.lines[-6:]]))
        f.pump(end - time.monotonic())


def passive(ta):
    return {"type": "action", "action": "check" if ta["can_check"] else "call"}


def case_moved_on():
    """Never mis-clicks: x types a check while their words cannot reach the server; x's clock
    runs out (the server checks for them), the hand goes on to x's next decision, where a check
    is legal again. When the path is back felt sends the queued check, pinned to the decision it
    was typed for, and the server refuses it (stale_decision): nothing applied, x still to act."""
    timeout = 20  # x's next clock must outlast the reconnect (RECONNECT_BOUND_S) after the mend
    feltd, port = start_feltd(0, ":memory:", bots=0, action_timeout=timeout)
    proxy, pport = start_proxy(port, "up")
    x, y = Felt("x", pport), Felt("y", port)
    ids = {}
    for f in (x, y):
        f.wait(conn("connected"), 20, "first connected line")
        _, o = f.wait(lambda o: o.get("type") == "snapshot" and (o.get("data") or {}).get("you"),
                      10, "snapshot with its seat")
        ids[f.name] = o["data"]["you"]["player_id"]
    # Play passively until x has a decision where checking is legal; x must see it too.
    key = (0, 0)
    while True:
        key, ta = next_to_act(y, key, 20, "decision to play")
        if ta["player_id"] == ids["x"] and ta["can_check"]:
            break
        (x if ta["player_id"] == ids["x"] else y).send(passive(ta))
    hand, typed_for = key
    x.wait(lambda o: any(k == key for k, _ in to_acts(x, (0, 0))), 10, "the decision in x's view")
    print("x to act with a check: hand %d, decision %d" % key)

    t_break = time.monotonic()
    proxy_switch(proxy, "on")
    x.send({"type": "action", "action": "check", "request_id": "moved-on-1"})
    y.wait(lambda o: o.get("type") == "notification" and o["data"].get("kind") == "timeout" and
           o["data"].get("player_id") == ids["x"], timeout + 5, "timeout of x", since=t_break)
    while True:
        key, ta = next_to_act(y, key, timeout + 5, "decision after x's timeout")
        if key[0] != hand:
            fail("the hand ended before x had another decision (%r)" % (key,))
        if ta["player_id"] == ids["x"]:
            break
        y.send(passive(ta))
    if not ta["can_check"]:
        fail("x's next decision %r cannot check: the test would prove nothing" % (ta,))
    print("x's clock ran out; x to act again: hand %d, decision %d" % key)

    t_mend = time.monotonic()
    proxy_switch(proxy, "off")
    x.wait(conn("connected"), RECONNECT_BOUND_S + 3, "connected line after the mend", since=t_mend)
    _, ack = x.wait(lambda o: o.get("type") == "ack" and
                    (o.get("data") or {}).get("request_id") == "moved-on-1", 10,
                    "ack of the queued check")
    if ack["data"].get("status") != "rejected" or ack["data"].get("code") != "stale_decision":
        fail("the check typed for decision %d was answered %r at decision %d" %
             (typed_for, ack["data"], key[1]))
    y.drain(1.5)
    opened = min(o["seq"] for _, o in y.lines if o.get("type") in ("snapshot", "state_update") and
                 o["data"].get("hand_id") == hand and o["data"].get("to_act") and
                 o["data"]["to_act"].get("decision") == typed_for)
    acted = [o["data"]["action"] for _, o in y.lines if o.get("type") == "state_update" and
             o["seq"] > opened and o["data"].get("event") == "action" and
             o["data"].get("hand_id") == hand and o["data"].get("player_id") == ids["x"]]
    if acted != ["check"]:
        fail("after decision %d x made %r, not only the clock's check" % (typed_for, acted))
    later = to_acts(y, key)
    if later:
        fail("the table moved past x's open decision %r: %r" % (key, later))
    # The decision is still x's: a check typed now is applied.
    x.send({"type": "action", "action": "check", "request_id": "moved-on-2"})
    _, ack = x.wait(lambda o: o.get("type") == "ack" and
                    (o.get("data") or {}).get("request_id") == "moved-on-2", 10,
                    "ack of the check typed after the resume")
    if ack["data"].get("status") != "accepted":
        fail("a check for the open decision was refused: %r" % ack["data"])


def main():
    cases = {"sigstop": case_sigstop, "blackhole_up": lambda: case_blackhole("up"),
             "blackhole_down": lambda: case_blackhole("down"), "gone": case_gone,
             "moved_on": case_moved_on}
    if CASE not in cases:
        fail("unknown case %r (%s)" % (CASE, ", ".join(sorted(cases))))
    try:
        cases[CASE]()
    finally:
        for p in CHILDREN:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.kill()
                except OSError:
                    pass
            p.wait()
        shutil.rmtree(TMP, ignore_errors=True)
    print("stall_test %s: ok" % CASE)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
