#!/usr/bin/env python3
"""json_test.py: felt --json end to end against a real feltd (Python standard library only).

Starts feltd on a free loopback port with two fast bots, and puts a small TCP proxy between felt
and feltd that the test can cut and restore (and point at another feltd). Then, as a bot would:
join, play hands (check when possible, else call), chat, send bad lines (answered with error
lines, the session goes on), cut the connection on our turn, type an action and a chat line
while offline, restore, and check that each is delivered exactly once after the resume (one ack
for the request_id, one chat event, every event seq exactly once and in order). Then: EOF leaves
the table; a restarted felt takes back its seat with the stored token; a restarted server that
no longer knows the token gets "rejected" and {"type":"rejoin"} joins again; --transport poll
plays over HTTP; --transport auto falls back to polling when the WebSocket upgrade is refused;
felt given two servers joins through the one that is up and, that one killed, reconnects to a
standby started on the same data where the other was; with --transport ws, a first server that
refuses WebSocket does not stop felt from connecting through the second.

Usage: json_test.py FELT FELTD. Everything runs on 127.0.0.1 and is bounded in time.
"""
import json
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (felt_testlib.py's docstring)
from felt_testlib import free_port, json_lines  # noqa: E402 (this script's folder, first on sys.path)

FELT, FELTD = sys.argv[1], sys.argv[2]
DEADLINE = time.monotonic() + 240  # the whole test; ctest's TIMEOUT is above this
TMP = tempfile.mkdtemp(prefix="felt-json-test-")
CHILDREN = []


def fail(msg):
    raise AssertionError(msg)


def left():
    return DEADLINE - time.monotonic()


# ---- feltd -------------------------------------------------------------------------------

# Every client here is 127.0.0.1: the per-address limits (docs/security.md) are turned off.
LIMITS_OFF = ["--joins-per-minute", "0", "--seats-per-address", "0", "--max-conns-per-address", "0",
              "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands", "0"]


# feltd is started, and its port read, by scripts/feltd-port.sh (feltd_run), the one place
# that knows feltd's listening line: it prints feltd's URL and then stands in for feltd. It runs
# in a session of its own so that the cleanup can kill feltd with it (os.killpg).
FELTD_PORT_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                             "scripts", "feltd-port.sh")
SERVERS = []  # the feltd_run shells, each the leader of its feltd's process group


def start_feltd(extra=(), port=0):
    # A short action clock keeps the table moving if anyone stalls; our bot answers in ms.
    p = subprocess.Popen(["sh", "-c", '. "$0" && feltd_run "$@"', FELTD_PORT_SH,
                          FELTD, "--port", str(port), "--bots", "2", "--bot-delay", "20",
                          "--hand-delay", "100", "--action-timeout", "6", "-q"] + LIMITS_OFF +
                         list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    SERVERS.append(p)
    url = urllib.parse.urlsplit(p.stdout.readline().strip())
    if url.hostname != "127.0.0.1" or not url.port:
        fail("feltd did not say where it listens: %r" % url.geturl())
    return p, url.port


def lobby(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/games" % port, timeout=5) as r:
        return json.load(r)["games"][0]


# ---- a cuttable TCP proxy ------------------------------------------------------------------

class Proxy:
    """Forwards 127.0.0.1:port to the server. cut() drops every connection and refuses new ones
    until restore(); refuse_ws makes it answer WebSocket upgrades with 403 (HTTP still works)."""

    def __init__(self, target):
        self.target = target
        self.up = True
        self.refuse_ws = False
        self.lock = threading.Lock()
        self.socks = []
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            if not self.up:
                c.close()
                continue
            threading.Thread(target=self.pipe, args=(c,), daemon=True).start()

    def pipe(self, c):
        try:
            s = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            c.close()
            return
        with self.lock:
            self.socks += [c, s]
        first = True
        try:
            while True:
                r, _, _ = select.select([c, s], [], [], 1.0)
                if not self.up:
                    break
                for a in r:
                    data = a.recv(65536)
                    if not data:
                        raise OSError("closed")
                    if a is c and first and self.refuse_ws and b"upgrade: websocket" in data.lower():
                        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                                  b"Connection: close\r\n\r\n")
                        raise OSError("refused")
                    if a is c:
                        first = False
                    (s if a is c else c).sendall(data)
        except OSError:
            pass
        for x in (c, s):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def cut(self):
        self.up = False
        with self.lock:
            for x in self.socks:
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.socks = []

    def restore(self):
        self.up = True


# ---- felt --json ---------------------------------------------------------------------------

class Felt:
    def __init__(self, port, name, state, *extra):
        env = dict(os.environ, XDG_STATE_HOME=state)
        self.p = subprocess.Popen([FELT, "--json", "--server", "ws://127.0.0.1:%d" % port,
                                   "--name", name] + list(extra),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, bufsize=1)
        CHILDREN.append(self.p)
        self.lines = []  # every stdout line, parsed
        self.q = queue.Queue()
        self.me = None
        threading.Thread(target=self.reader, daemon=True).start()

    def reader(self):
        for m in json_lines(self.p.stdout):
            self.lines.append(m)
            self.q.put(m)
        self.q.put(None)

    def send(self, obj):
        self.p.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.p.stdin.flush()

    def next(self, timeout):
        """The next stdout message, or None at EOF; fails after timeout seconds."""
        try:
            m = self.q.get(timeout=min(timeout, max(left(), 0.1)))
        except queue.Empty:
            fail("no output from felt for %.1f s" % timeout)
        if m and m.get("type") == "connection" and m.get("player_id"):
            self.me = m["player_id"]
        if m and m.get("type") == "snapshot" and m["data"].get("you"):
            self.me = m["data"]["you"]["player_id"]
        return m

    def wait(self, pred, timeout, what, play=True):
        """Reads until pred(message) is true, playing our turns meanwhile."""
        end = time.monotonic() + timeout
        while True:
            if time.monotonic() > end or left() < 0:
                fail("timed out waiting for " + what)
            try:
                m = self.next(end - time.monotonic())
            except AssertionError:
                fail("timed out waiting for %s; last lines: %s" %
                     (what, [x for x in self.lines if x.get("type") != "pong"][-6:]))
            if m is None:
                fail("felt exited while waiting for %s (stderr: %s)" % (what, self.p.stderr.read()))
            if play:
                self.play(m)
            if pred(m):
                return m

    def play(self, m):
        """Checks when it can, calls small bets, else folds; sits back in after busting. The
        to_act of every update names who is to act."""
        if m.get("type") == "state_update" and m["data"]["event"] == "seat" and \
                m["data"]["player"]["player_id"] == self.me and \
                m["data"]["change"] in ("busted", "sat_out"):
            self.send({"type": "sit_in"})
        if m.get("type") not in ("snapshot", "state_update"):
            return
        t = m["data"].get("to_act")
        if t and t["player_id"] == self.me:
            a = "check" if t["can_check"] else "call" if t["call"] <= 40 else "fold"
            self.send({"type": "action", "action": a})

    def close_stdin(self):
        self.p.stdin.close()

    def leave(self, where=""):
        """EOF on stdin: felt leaves the table; reads its output to the end and fails unless it
        then exits 0 within 5 s (where: the case, for the failure)."""
        self.close_stdin()
        while self.next(20) is not None:
            pass
        code = self.exit_code(5)
        if code != 0:
            fail("felt exited %d at EOF%s" % (code, where))

    def exit_code(self, timeout):
        try:
            code = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail("felt did not exit within %d s" % timeout)
        # Under -DFELT_SANITIZE=ON a report goes to stderr: any is a failure.
        err = self.p.stderr.read()
        if "Sanitizer" in err or "runtime error:" in err:
            fail("felt's sanitizer report:\n" + err)
        return code


def is_conn(state):
    return lambda m: m.get("type") == "connection" and m.get("state") == state


def check_seq(lines, who):
    """Every event exactly once and in order: seq + 1 each time, a snapshot may jump ahead."""
    prev = None
    for m in lines:
        if m.get("type") not in ("snapshot", "state_update", "animation", "notification",
                                 "chat"):
            continue
        s = m["seq"]
        if prev is not None:
            if m["type"] == "snapshot":
                if s < prev:
                    fail("%s: snapshot seq %d went back from %d" % (who, s, prev))
            elif s != prev + 1:
                fail("%s: seq %d after %d (duplicate or gap)" % (who, s, prev))
        prev = s
    if prev is None:
        fail(who + ": no events at all")


# ---- the scenarios -------------------------------------------------------------------------

def scenario_play_cut_resume(proxy, server_port):
    state = os.path.join(TMP, "state-ann")
    f = Felt(proxy.port, "ann", state)
    f.wait(is_conn("connected"), 15, "the first connection")
    token_file = os.listdir(os.path.join(state, "felt"))
    if len(token_file) != 1:
        fail("expected one token file, found %r" % token_file)
    st = os.stat(os.path.join(state, "felt", token_file[0]))
    if st.st_mode & 0o777 != 0o600:
        fail("token file mode is %o, not 600" % (st.st_mode & 0o777))
    if os.stat(os.path.join(state, "felt")).st_mode & 0o777 != 0o700:
        fail("token directory is not 0700")

    # Bad lines get an error line each and the session goes on.
    f.send("this is not json")
    f.wait(lambda m: m.get("type") == "error" and m["data"]["code"] == "bad_json", 5,
           "the bad_json error line")
    f.send({"type": "action", "action": "raise"})  # a raise needs an amount
    f.wait(lambda m: m.get("type") == "error" and m["data"]["code"] == "bad_field", 5,
           "the bad_field error line")
    f.send({"type": "hello", "token": "x"})
    f.wait(lambda m: m.get("type") == "error" and m["data"]["code"] == "bad_type", 5,
           "the bad_type error line")

    f.send({"type": "chat", "text": "gl hf"})
    f.wait(lambda m: m.get("type") == "chat" and m["data"]["text"] == "gl hf" and
           m["data"]["player_id"] == f.me, 10, "our chat line")

    # Several hands, with our own actions accepted.
    ends = [0]

    def hand_end(m):
        if m.get("type") == "state_update" and m["data"]["event"] == "hand_end":
            ends[0] += 1
        return ends[0] >= 3
    f.wait(hand_end, 90, "three finished hands")
    if not any(m.get("type") == "ack" and m["data"]["status"] == "accepted" for m in f.lines):
        fail("none of our actions was accepted")

    # Our turn: cut the connection, act and chat while offline, restore.
    def my_turn(m):
        if m.get("type") not in ("snapshot", "state_update"):
            return False
        t = m["data"].get("to_act")
        return bool(t and t["player_id"] == f.me)
    tm = f.wait(my_turn, 60, "our turn", play=False)
    turn, hand_id = tm["data"]["to_act"], tm["data"]["hand_id"]
    proxy.cut()
    f.wait(is_conn("reconnecting"), 10, "the reconnecting line", play=False)
    rid = "offline-action-1"
    f.send({"type": "action", "action": "check" if turn["can_check"] else "call",
            "request_id": rid})
    f.send({"type": "chat", "text": "typed while offline"})
    time.sleep(1.0)
    f.send({"type": "ping", "id": 7})  # not queued: refused while offline
    f.wait(lambda m: m.get("type") == "error" and m["data"]["code"] == "offline", 5,
           "the refused offline ping", play=False)
    proxy.restore()
    m = f.wait(is_conn("connected"), 20, "the resumed connection", play=False)
    if m["queued"] != 2:
        fail("the resumed connection holds %r queued messages, not the 2 typed offline" %
             m["queued"])
    ack = f.wait(lambda m: m.get("type") == "ack" and m["data"]["request_id"] == rid, 15,
                 "the ack of the offline action")
    # It was typed for the hand we saw (hand_id filled in by felt) and, the clock not having run
    # out, applied there.
    if ack["data"]["hand_id"] != hand_id or ack["data"]["status"] != "accepted":
        fail("the offline action was not applied to its hand: %r" % ack)
    f.wait(lambda m: m.get("type") == "chat" and m["data"]["text"] == "typed while offline",
           15, "the offline chat line")
    # Keep playing a while so that a resend would show.
    ends[0] = 0
    f.wait(lambda m: hand_end(m) or ends[0] >= 1, 60, "a hand after the resume")
    acks = [m for m in f.lines if m.get("type") == "ack" and m["data"]["request_id"] == rid]
    if len(acks) != 1:
        fail("the offline action was acked %d times" % len(acks))
    chats = [m for m in f.lines
             if m.get("type") == "chat" and m["data"]["text"] == "typed while offline"]
    if len(chats) != 1:
        fail("the offline chat arrived %d times" % len(chats))
    check_seq(f.lines, "ann")

    # EOF: leave cleanly, exit 0, the seat is freed.
    pid = f.me
    f.leave()
    end = time.monotonic() + 30
    while any(p["name"] == "ann" for p in lobby(server_port)["players"]):
        if time.monotonic() > end:
            fail("ann still seated after leaving")
        time.sleep(0.2)
    return pid


def scenario_token_restart(proxy):
    """A restarted felt takes back its seat; a restarted server rejects the token; SIGINT
    leaves."""
    state = os.path.join(TMP, "state-bo")
    f = Felt(proxy.port, "bob", state)
    f.wait(is_conn("connected"), 15, "bob's connection")
    first = f.me
    f.p.send_signal(signal.SIGKILL)  # a crash: no leave, the seat stays
    f.exit_code(10)

    g = Felt(proxy.port, "bob", state)
    g.wait(is_conn("connected"), 15, "bob's second connection")
    if g.me != first:
        fail("restarted felt got player %s, not its seat %s" % (g.me, first))
    g.p.send_signal(signal.SIGKILL)
    g.exit_code(10)

    # A new server knows nothing of bob's token.
    srv2, port2 = start_feltd()
    proxy.target = port2
    h = Felt(proxy.port, "bob", state)
    m = h.wait(is_conn("rejected"), 30, "the rejected line", play=False)
    if "token" not in m.get("reason", ""):
        fail("the rejected line does not say why: %r" % m)
    h.send({"type": "rejoin"})
    h.wait(is_conn("connected"), 15, "the connection after rejoining", play=False)
    if h.me == first:
        fail("rejoin kept the old player id")
    # Ctrl-C leaves the table like EOF does.
    h.p.send_signal(signal.SIGINT)
    while h.next(20) is not None:
        pass
    if h.exit_code(5) != 0:
        fail("felt did not exit 0 after SIGINT")
    end = time.monotonic() + 30
    while any(p["name"] == "bob" for p in lobby(port2)["players"]):
        if time.monotonic() > end:
            fail("bob still seated after SIGINT")
        time.sleep(0.2)
    return srv2, port2


def scenario_poll(port):
    f = Felt(port, "pia", os.path.join(TMP, "state-pia"), "--transport", "poll")
    m = f.wait(is_conn("connected"), 15, "the polling connection")
    if m["transport"] != "poll":
        fail("--transport poll connected over %s" % m["transport"])
    f.send({"type": "chat", "text": "over http"})
    f.wait(lambda m: m.get("type") == "chat" and m["data"]["text"] == "over http", 15,
           "chat over polling")
    ends = [0]

    def hand_end(m):
        if m.get("type") == "state_update" and m["data"]["event"] == "hand_end":
            ends[0] += 1
        return ends[0] >= 2
    f.wait(hand_end, 90, "two hands over polling")
    if not any(m.get("type") == "ack" and m["data"]["status"] == "accepted" for m in f.lines):
        fail("no action accepted over polling")
    check_seq(f.lines, "pia")
    # EOF leaves the table over HTTP too (POST .../leave): no error, exit 0, the seat is free.
    f.leave(" with --transport poll")
    if any(m.get("type") == "error" and m["data"]["code"] == "unsupported" for m in f.lines):
        fail("felt refused to leave over polling")
    end = time.monotonic() + 15
    while any(p["name"] == "pia" for p in lobby(port)["players"]):
        if time.monotonic() > end:
            fail("pia still seated after leaving over polling")
        time.sleep(0.2)


def scenario_fallback(port):
    proxy = Proxy(port)
    proxy.refuse_ws = True
    f = Felt(proxy.port, "flo", os.path.join(TMP, "state-flo"))
    m = f.wait(is_conn("connected"), 30, "the fallback connection")
    if m["transport"] != "poll" or not m.get("fallback"):
        fail("auto did not fall back to polling: %r" % m)
    if not any(x.get("type") == "snapshot" for x in f.lines):
        f.wait(lambda m: m.get("type") == "snapshot", 10, "a snapshot over polling")
    f.leave(" after the fallback")


def scenario_failover(transport):
    """felt given two servers of the same tables: the first is down, so the join goes to the
    second. That one is killed (SIGKILL) and a standby starts where the first was, on the same
    data folder: felt, reconnecting, reaches it, keeps its seat (same player id, its token stored
    there) and delivers once the chat line typed while it was down. Over a WebSocket or over
    HTTP polling (transport)."""
    data = os.path.join(TMP, "failover-data-" + transport)
    port_b = free_port()
    url_b = "ws://127.0.0.1:%d" % port_b
    srv_a, port_a = start_feltd(["--data", data])
    url_a = "ws://127.0.0.1:%d" % port_a
    f = Felt(port_b, "fay", os.path.join(TMP, "state-fay-" + transport), "--server", url_a,
             "--transport", transport)
    m = f.wait(is_conn("connected"), 30, "fay's connection, through the second server")
    if m.get("server") != url_a or m["transport"] != transport:
        fail("fay connected to %r over %s, not to the server that was up (%s) over %s"
             % (m.get("server"), m["transport"], url_a, transport))
    me = f.me
    os.killpg(srv_a.pid, signal.SIGKILL)
    srv_a.wait()
    f.wait(is_conn("reconnecting"), 30, "reconnecting once the server is gone", play=False)
    f.send({"type": "chat", "text": "typed while down"})
    start_feltd(["--data", data], port=port_b)
    f.wait(lambda m: is_conn("connected")(m) and m.get("server") == url_b, 60,
           "the connection to the standby at %s" % url_b)
    if f.me != me:
        fail("fay came back as %s on the standby, not %s" % (f.me, me))
    f.wait(lambda m: m.get("type") == "chat" and m["data"]["text"] == "typed while down", 20,
           "the chat line typed while down")
    time.sleep(1)  # a second delivery would show by now
    n = sum(1 for x in f.lines if x.get("type") == "chat" and x["data"]["text"] ==
            "typed while down")
    if n != 1:
        fail("the chat line typed while down arrived %d times" % n)
    f.leave(" on the standby")


def scenario_ws_refused_first(port):
    """--transport ws with two servers, the first refusing WebSocket upgrades (HTTP works): felt
    does not give up on the first one's verdict but connects through the second."""
    proxy = Proxy(port)
    proxy.refuse_ws = True
    url = "ws://127.0.0.1:%d" % port
    f = Felt(proxy.port, "wes", os.path.join(TMP, "state-wes"), "--server", url, "--transport",
             "ws")
    m = f.wait(is_conn("connected"), 30, "wes's connection through the second server")
    if m.get("server") != url or m["transport"] != "ws":
        fail("wes connected through %r over %s, not %s over ws" % (m.get("server"),
                                                                   m["transport"], url))
    f.leave(" after connecting through the second server")


def scenario_errors():
    """Start-up failures are one line on stderr and exit 1 or 2."""
    r = subprocess.run([FELT, "--json", "--server", "ftp://nowhere", "--name", "x"],
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 2 or len(r.stderr.strip().splitlines()) != 1:
        fail("bad URL: exit %d, stderr %r" % (r.returncode, r.stderr))
    dead, dead2 = free_port(), free_port()
    r = subprocess.run([FELT, "--json", "--server", "ws://127.0.0.1:%d" % dead, "--name", "x"],
                       capture_output=True, text=True, timeout=20, input="",
                       env=dict(os.environ, XDG_STATE_HOME=os.path.join(TMP, "state-x")))
    if r.returncode != 1 or "cannot reach" not in r.stderr or \
            len(r.stderr.strip().splitlines()) != 1:
        fail("unreachable server: exit %d, stderr %r" % (r.returncode, r.stderr))
    # Two servers, neither up: one line, saying so and naming the one tried last.
    r = subprocess.run([FELT, "--json", "--server", "ws://127.0.0.1:%d" % dead, "--server",
                        "ws://127.0.0.1:%d" % dead2, "--name", "x"],
                       capture_output=True, text=True, timeout=20, input="",
                       env=dict(os.environ, XDG_STATE_HOME=os.path.join(TMP, "state-x")))
    if r.returncode != 1 or "none of the 2 servers answers" not in r.stderr or \
            "ws://127.0.0.1:%d" % dead2 not in r.stderr or len(r.stderr.strip().splitlines()) != 1:
        fail("two unreachable servers: exit %d, stderr %r" % (r.returncode, r.stderr))


def main():
    try:
        scenario_errors()
        srv, port = start_feltd()
        proxy = Proxy(port)
        scenario_play_cut_resume(proxy, port)
        srv2, port2 = scenario_token_restart(proxy)
        scenario_poll(port2)
        scenario_fallback(port2)
        scenario_ws_refused_first(port2)
        scenario_failover("ws")
        scenario_failover("poll")
        print("json_test: ok")
        return 0
    except AssertionError as e:
        print("json_test: FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        for p in CHILDREN:
            if p.poll() is None:
                p.kill()
                p.wait()
        for p in SERVERS:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # feltd and the shell standing in for it
            except ProcessLookupError:
                pass
            p.wait()
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
