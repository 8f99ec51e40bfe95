#!/usr/bin/env python3
"""durability_test.py: the kill loop. feltd is killed with SIGKILL at random moments and
restarted on the same data folder, again and again; nothing completed may be lost.

Bots play at three tables (--bots TABLE:N) and a human sits at each (joined over HTTP, then sat
out so the bots need not wait for them). A spectator polls every table (GET .../state) and
notes every hand it sees end (the hand_end update). Then, KILLS times: wait a random moment
(0.3 to 2 s of play), kill -9 feltd, restart it, and check, against the database itself
(sqlite3, read-only) and the restarted server:
  - every hand the spectator saw end is stored as complete;
  - the books balance for every table: buy-ins - cash-outs + hands' nets = the chips on the
    table, and for every seat: its stack = its own buy-ins + its hands' nets;
  - every stored seat is back, same seat and stack, in the restarted server's snapshot (taken
    before the first hand, which waits --hand-delay);
  - each human's old token still works (their own snapshot names them, in their seat);
  - hand ids continue: every hand seen after a restart is above every hand stored before it,
    and hands the kill cut short are voided, never completed.
At the end a last SIGTERM, and the same checks once more. Then the human at table a leaves,
feltd restarts, and a join carrying their old token seats them again, same player id, with the
chips they left with (not the 10 they asked for), while a stranger's made-up token is a new
player; the books still balance.

Usage: durability_test.py FELTD [KILLS]. Only 127.0.0.1; bounded in time (DEADLINE).
"""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

FELTD = sys.argv[1]
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 30
DEADLINE = time.monotonic() + 400
TMP = tempfile.mkdtemp(prefix="felt-durability-")
DATA = os.path.join(TMP, "data")
FELTD_PORT_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                             "feltd-port.sh")
TABLES = {"a": "a:6:5/10:1000", "b": "b:4:5/10:1000", "c": "c:3:1/2:200"}
BOTS = {"a": 3, "b": 2, "c": 2}
HAND_DELAY_MS = 300


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


# ---- feltd -------------------------------------------------------------------------------

SERVERS = []  # every feltd started, killed at the end whatever happens


class Server:
    def __init__(self):
        args = [FELTD, "--port", "0", "--data", DATA, "--hand-delay", str(HAND_DELAY_MS),
                "--bot-delay", "5", "--action-timeout", "30", "--idle-seat-secs", "0",
                "--sitout-hands", "0", "--joins-per-minute", "0", "--seats-per-address", "0",
                "--max-conns-per-address", "0", "-q"]
        for t, spec in TABLES.items():
            args += ["--table", spec, "--bots", "%s:%d" % (t, BOTS[t])]
        self.proc = subprocess.Popen(["sh", "-c", '. "$0" && feltd_run "$@"', FELTD_PORT_SH] + args,
                                     stdout=subprocess.PIPE, start_new_session=True)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            self.kill()
            fail("feltd did not start (exit %s)" % self.proc.wait())
        self.url = line
        SERVERS.append(self)

    def kill(self, sig=signal.SIGKILL):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=20)

    def stop(self):
        """SIGTERM through feltd_run, which passes it on and waits for feltd."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        check(rc == 0, "feltd exited with %d after SIGTERM" % rc)


def http(server, method, path, body=None, token=None):
    req = urllib.request.Request(server.url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null")


# ---- the database ------------------------------------------------------------------------

def db():
    return sqlite3.connect("file:%s?mode=ro" % os.path.join(DATA, "felt.db"), uri=True,
                           timeout=10)


def stored_hands(con, table):
    return {hid: state for hid, state in
            con.execute("SELECT hand_id, state FROM hands WHERE table_id = ?", (table,))}


def check_books(con, table):
    buy, cash, net, chips = con.execute(
        "SELECT (SELECT coalesce(sum(amount),0) FROM ledger WHERE table_id=?1 AND kind='buy_in'),"
        " (SELECT coalesce(sum(amount),0) FROM ledger WHERE table_id=?1 AND kind='cash_out'),"
        " (SELECT coalesce(sum(amount),0) FROM ledger WHERE table_id=?1 AND kind='hand'),"
        " (SELECT coalesce(sum(stack),0) FROM seats WHERE table_id=?1)", (table,)).fetchone()
    check(buy - cash + net == chips,
          "table %s: buy-ins %d - cash-outs %d + nets %d != %d on the table"
          % (table, buy, cash, net, chips))
    check(net == 0, "table %s: the hands' nets add up to %d, not 0" % (table, net))
    for pid, stack in con.execute("SELECT player_id, stack FROM seats WHERE table_id = ?",
                                  (table,)):
        own = con.execute("SELECT coalesce(sum(CASE kind WHEN 'cash_out' THEN -amount"
                          " ELSE amount END), 0) FROM ledger WHERE table_id = ? AND player_id = ?",
                          (table, pid)).fetchone()[0]
        check(own == stack, "table %s: seat of %s holds %d, its ledger says %d"
              % (table, pid, stack, own))


# ---- the spectator -----------------------------------------------------------------------

class Spectator:
    """Polls every table as a spectator and notes the hands it sees end."""

    def __init__(self):
        self.since = {}
        self.seen = {t: set() for t in TABLES}  # hand ids seen complete, every run

    def reset(self):
        self.since = {}

    def poll(self, server, after_ids=None):
        for t in TABLES:
            q = "?since=%d" % self.since[t] if t in self.since else ""
            status, body = http(server, "GET", "/api/games/%s/state%s" % (t, q))
            check(status == 200, "poll of %s: %d %s" % (t, status, body))
            self.since[t] = body["seq"]
            for ev in body["events"]:
                d = ev.get("data", {})
                if ev["type"] == "state_update" and d.get("event") == "hand_end":
                    hid = d["hand_id"]
                    if after_ids is not None:
                        check(hid > after_ids[t], "table %s: hand %d seen after a restart, but "
                              "hand %d was stored before it" % (t, hid, after_ids[t]))
                    self.seen[t].add(hid)


# ---- coming back after a leave -----------------------------------------------------------

def check_rejoin(server, humans):
    """kim leaves table a, feltd restarts, kim's token brings her back with her chips."""
    h = humans["a"]
    status, body = http(server, "POST", "/api/games/a/leave", {}, token=h["token"])
    check(status == 200, "leave: %d %s" % (status, body))
    server.stop()
    con = db()
    try:
        left = con.execute("SELECT stack FROM departures WHERE table_id = 'a' AND player_id = ?",
                           (h["player_id"],)).fetchone()
        check(left == (h["stack"],), "kim left with %d, the departure says %s"
              % (h["stack"], left))
    finally:
        con.close()
    server = Server()
    status, body = http(server, "POST", "/api/games/a/join",
                        {"name": "stranger", "buy_in": 10, "token": "made-up-token"})
    check(status == 200, "a join with an unknown token: %d %s" % (status, body))
    check(body["player_id"] != h["player_id"] and body["token"] != "made-up-token",
          "an unknown token took over a departed player: %s" % body)
    stranger = body
    status, body = http(server, "POST", "/api/games/a/join",
                        {"name": "kim", "buy_in": 10, "token": h["token"]})
    check(status == 200, "kim's join with her old token: %d %s" % (status, body))
    check(body["player_id"] == h["player_id"] and body["token"] == h["token"],
          "kim came back as someone else: %s (was %s)" % (body, h["player_id"]))
    status, body = http(server, "GET", "/api/games/a/state", token=h["token"])
    players = {p["player_id"]: p["stack"] for p in body["events"][0]["data"]["players"]}
    check(players.get(h["player_id"]) == h["stack"] and players.get(stranger["player_id"]) == 10,
          "stacks after coming back: %s (kim left with %d)" % (players, h["stack"]))
    for who in (h["token"], stranger["token"]):  # sit out: the bots need not wait
        http(server, "POST", "/api/games/a/sit_out", {}, token=who)
    server.stop()
    con = db()
    try:
        check_books(con, "a")
        check(con.execute("SELECT count(*) FROM departures WHERE player_id = ?",
                          (h["player_id"],)).fetchone()[0] == 0,
              "kim is seated again but still listed as departed")
    finally:
        con.close()
    print("rejoin: kim left with %d and came back with it as %s"
          % (h["stack"], h["player_id"]))
    return Server()


# ---- the checks after a restart ----------------------------------------------------------

def check_restart(server, humans, spectator, snapshot_checks):
    con = db()
    try:
        for t in TABLES:
            hands = stored_hands(con, t)
            for hid in spectator.seen[t]:
                check(hands.get(hid) == "complete",
                      "table %s: hand %d was seen complete but is stored as %s"
                      % (t, hid, hands.get(hid)))
            check_books(con, t)
            seats = {pid: (seat, stack) for pid, seat, stack in con.execute(
                "SELECT player_id, seat, stack FROM seats WHERE table_id = ?", (t,))}
            status, body = http(server, "GET", "/api/games/%s/state" % t)
            check(status == 200, "state of %s after the restart: %d" % (t, status))
            snap = body["events"][0]["data"]
            check(body["events"][0]["type"] == "snapshot", "a first poll is a snapshot")
            if not snap["hand_running"]:
                got = {p["player_id"]: (p["seat"], p["stack"]) for p in snap["players"]}
                check(got == seats, "table %s: the restarted server seats %s, the database %s"
                      % (t, got, seats))
                snapshot_checks[0] += 1
            else:  # a slow start let the first hand begin: the seats at least are the same
                got = {p["player_id"]: p["seat"] for p in snap["players"]}
                check(got == {pid: s[0] for pid, s in seats.items()},
                      "table %s: seats differ after the restart" % t)
            # The human: their token works, and they are in their seat with their stack.
            h = humans[t]
            status, body = http(server, "GET", "/api/games/%s/state" % t, token=h["token"])
            check(status == 200, "table %s: the old token was refused (%d)" % (t, status))
            you = body["events"][0]["data"]["you"]
            check(you and you["player_id"] == h["player_id"] and you["seat"] == h["seat"],
                  "table %s: the old token is not the same player: %s" % (t, you))
            check(seats.get(h["player_id"], (None, None))[1] == h["stack"],
                  "table %s: the sat-out human's stack moved: %s" % (t, seats.get(h["player_id"])))
        return {t: max(stored_hands(con, t) or [0]) for t in TABLES}
    finally:
        con.close()


def main():
    random.seed(os.getpid())
    spectator = Spectator()
    server = Server()
    humans = {}
    for t in TABLES:
        status, body = http(server, "POST", "/api/games/%s/join" % t, {"name": "kim"})
        check(status == 200, "join %s: %d %s" % (t, status, body))
        d = body
        humans[t] = {"token": d["token"], "player_id": d["player_id"], "seat": d["seat"]}
        status, body = http(server, "POST", "/api/games/%s/sit_out" % t, {}, token=d["token"])
        check(status == 200, "sit_out %s: %d %s" % (t, status, body))
    for t in TABLES:
        status, body = http(server, "GET", "/api/games/%s/state" % t, token=humans[t]["token"])
        me = [p for p in body["events"][0]["data"]["players"]
              if p["player_id"] == humans[t]["player_id"]]
        humans[t]["stack"] = me[0]["stack"]
    after_ids = None
    snapshot_checks = [0]
    voided = 0
    for k in range(KILLS + 1):
        check(time.monotonic() < DEADLINE, "out of time after %d kills" % k)
        end = time.monotonic() + random.uniform(0.3, 2.0)
        while time.monotonic() < end:
            spectator.poll(server, after_ids)
            time.sleep(0.03)
        if k == KILLS:
            server.stop()
        else:
            server.kill()
        server = Server()
        spectator.reset()
        after_ids = check_restart(server, humans, spectator, snapshot_checks)
        spectator.poll(server)  # the snapshot, and the cursor
    server = check_rejoin(server, humans)
    server.stop()
    con = db()
    total = sum(1 for _ in con.execute("SELECT 1 FROM hands WHERE state = 'complete'"))
    voided = sum(1 for _ in con.execute("SELECT 1 FROM hands WHERE state = 'voided'"))
    running = sum(1 for _ in con.execute("SELECT 1 FROM hands WHERE state = 'running'"))
    con.close()
    seen = sum(len(s) for s in spectator.seen.values())
    print("durability: %d kills, %d hands complete (%d seen by the spectator), %d voided, "
          "%d running at the end, %d snapshot comparisons"
          % (KILLS, total, seen, voided, running, snapshot_checks[0]))
    check(seen >= KILLS, "too few hands were played (%d) for the test to mean anything" % seen)
    check(snapshot_checks[0] >= KILLS, "the restarted server was compared with the database "
          "only %d times" % snapshot_checks[0])


if __name__ == "__main__":
    try:
        main()
    finally:
        for srv in SERVERS:
            if srv.proc.poll() is None:
                srv.kill()
        shutil.rmtree(TMP, ignore_errors=True)
