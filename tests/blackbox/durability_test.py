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

With --postgres PG_RUN the same runs on PostgreSQL (feltd --postgres): PG_RUN (tests/cluster/
pg_run.c) starts a server of its own and prints a database's conninfo; the checks read a copy of
its rows taken in one snapshot with psql. Halfway, PostgreSQL itself is killed and recovers, then
is stopped for 3 s, under a running feltd: the tables wait while it is down, play goes on at every
table once it is back, and nothing is lost. Then also: clients ask
for the hand histories while psql holds the hands table locked, so feltd's reads wait on the
store's thread: the loop goes on meanwhile, a client that waits has its answer once the lock
goes, and feltd stopped with reads waiting exits cleanly and drops them.

Usage: durability_test.py FELTD [KILLS] [--postgres PG_RUN]. Only 127.0.0.1; bounded in time
(DEADLINE).
"""
import glob
import json
import os
import random
import socket
import threading
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ARGS = sys.argv[1:]
PG_RUN = None
if "--postgres" in ARGS:
    i = ARGS.index("--postgres")
    PG_RUN = ARGS[i + 1]
    del ARGS[i:i + 2]
FELTD = ARGS[0]
KILLS = int(ARGS[1]) if len(ARGS) > 1 else 30
CONNINFO = None  # PostgreSQL's, once PG_RUN has started it
PG = None  # PG_RUN's process, taking "crash", "stop" and "start" (pg_command)
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
    def __init__(self, log=None):
        where = ["--postgres", CONNINFO] if PG_RUN else ["--data", DATA]
        args = [FELTD, "--port", "0"] + where + ["--hand-delay", str(HAND_DELAY_MS),
                "--bot-delay", "5", "--action-timeout", "30", "--idle-seat-secs", "0",
                "--sitout-hands", "0", "--joins-per-minute", "0", "--seats-per-address", "0",
                "--max-conns-per-address", "0", "-v" if log else "-q"]
        for t, spec in TABLES.items():
            args += ["--table", spec, "--bots", "%s:%d" % (t, BOTS[t])]
        self.proc = subprocess.Popen(["sh", "-c", '. "$0" && feltd_run "$@"', FELTD_PORT_SH] + args,
                                     stdout=subprocess.PIPE, start_new_session=True,
                                     stderr=open(log, "w") if log else None)
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
        # feltd_run's shell is gone; feltd itself may still be dying (an ASan build unmaps a
        # lot), its data folder's lock still held. The next feltd starts once it has let go:
        # nothing of the group is left but zombies, which hold no descriptor.
        end = time.monotonic() + 20
        while group_running(self.proc.pid) and time.monotonic() < end:
            time.sleep(0.01)

    def stop(self):
        """SIGTERM through feltd_run, which passes it on and waits for feltd."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        check(rc == 0, "feltd exited with %d after SIGTERM" % rc)


def group_running(pgid):
    """Whether a process of process group pgid is still running (not a zombie)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


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

def psql_path():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return found[-1] if found else "psql"


def psql(sql_or_script, script=False):
    """psql's rows (tuples of text) for one statement, or for a script read from stdin."""
    cmd = [psql_path(), "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1"]
    cmd += ["-f", "-", CONNINFO] if script else ["-c", sql_or_script, CONNINFO]
    out = subprocess.run(cmd, input=sql_or_script if script else None, capture_output=True,
                         text=True, timeout=30)
    check(out.returncode == 0, "psql: %s: %s" % (sql_or_script, out.stderr.strip()))
    return [tuple(line.split("\x1f")) for line in out.stdout.splitlines()]


# The rows the checks read, copied from PostgreSQL in one snapshot (a psql call per query would
# read a server that goes on writing between them).
PG_COPY = {
    "hands": ("table_id TEXT, hand_id INTEGER, state TEXT", "table_id, hand_id, state"),
    "seats": ("table_id TEXT, player_id TEXT, seat INTEGER, stack INTEGER",
              "table_id, player_id, seat, stack"),
    "ledger": ("table_id TEXT, player_id TEXT, kind TEXT, amount INTEGER",
               "table_id, player_id, kind, amount"),
    "departures": ("table_id TEXT, player_id TEXT, stack INTEGER", "table_id, player_id, stack"),
}


def pg_snapshot():
    """An in-memory SQLite database holding PG_COPY's rows as PostgreSQL had them at one
    instant, so the checks run the same SQL on either backend."""
    script = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n"
    for name, (_, cols) in PG_COPY.items():
        script += "\\echo @@%s\nSELECT %s FROM %s;\n" % (name, cols, name)
    script += "COMMIT;\n"
    con = sqlite3.connect(":memory:")
    for name, (schema, _) in PG_COPY.items():
        con.execute("CREATE TABLE %s (%s)" % (name, schema))
    table = None
    for row in psql(script, script=True):
        if len(row) == 1 and row[0].startswith("@@"):
            table = row[0][2:]
            continue
        check(table is not None, "psql printed a row before its table: %s" % (row,))
        con.execute("INSERT INTO %s VALUES (%s)" % (table, ",".join("?" * len(row))), row)
    return con


def db():
    if PG_RUN:
        return pg_snapshot()
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
        # First, before the restarted server can have finished a hand (it waits --hand-delay to
        # begin one): the hands stored before it. A hand still running is the new server's (the
        # load voided the one the kill cut short).
        before = {t: max([hid for hid, st in stored_hands(con, t).items() if st != "running"]
                         or [0]) for t in TABLES}
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
        return before
    finally:
        con.close()


# ---- PostgreSQL: reads that wait, clients that do not -------------------------------------

def lock_hands(seconds):
    """psql holding the hands table for `seconds` (feltd's reads of it wait), once it holds it."""
    locker = subprocess.Popen([psql_path(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                               "BEGIN; LOCK TABLE hands IN ACCESS EXCLUSIVE MODE; "
                               "SELECT pg_sleep(%d); COMMIT;" % seconds, CONNINFO],
                              stdout=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while psql("SELECT count(*) FROM pg_locks WHERE relation = 'hands'::regclass "
               "AND mode = 'AccessExclusiveLock' AND granted") != [("1",)]:
        if time.monotonic() > end:
            locker.kill()
            fail("the hands table was not locked in 10 s")
        time.sleep(0.05)
    return locker


def ask_hands(server):
    """A raw GET of table a's hand histories, its socket left to the caller."""
    s = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5)
    s.sendall(b"GET /api/games/a/hands?limit=100 HTTP/1.1\r\nHost: x\r\n\r\n")
    return s


def count_in(log, text):
    with open(log) as f:
        return f.read().count(text)


def check_reads_waiting(server, log):
    """The hands table locked: feltd's reads of the hand histories wait on the store's thread,
    and the loop goes on. First, 20 clients ask and hang up, one more asks and waits: once the
    lock goes, the one that waited has its hands and feltd still serves. Then 5 ask and feltd is
    stopped (SIGTERM) while they wait: it exits cleanly once the store has drained, dropping
    their 5 answers (it logs each; under ASan, nothing leaks)."""
    LOCK_S = 3
    locker = lock_hands(LOCK_S)
    try:
        for _ in range(20):
            s = ask_hands(server)
            time.sleep(0.02)
            s.close()
        answer = {}
        waiter = threading.Thread(target=lambda: answer.update(
            r=http(server, "GET", "/api/games/a/hands?limit=100")))
        started = time.monotonic()
        waiter.start()
        status, _ = http(server, "GET", "/api/games/a/state")
        check(status == 200, "feltd's loop waits for the store: state %d" % status)
        check(time.monotonic() - started < LOCK_S - 1, "a state request waited for the lock")
        waiter.join(timeout=LOCK_S + 20)
        check("r" in answer, "no answer for the hand histories once the lock went")
        status, body = answer["r"]
        check(status == 200 and len(body["hands"]) > 0,
              "the hand histories after the lock: %d %s" % (status, str(body)[:200]))
        waited = time.monotonic() - started
        check(locker.wait(timeout=20) == 0, "psql's lock failed")
        status, _ = http(server, "GET", "/api/games/a/hands?limit=1")
        check(status == 200, "feltd does not answer after the hung-up reads: %d" % status)

        locker = lock_hands(LOCK_S)
        pending = [ask_hands(server) for _ in range(5)]
        time.sleep(0.3)  # feltd has read them and queued their reads
        server.stop()
        for s in pending:
            s.close()
        check(locker.wait(timeout=20) == 0, "psql's lock failed")
    finally:
        if locker.poll() is None:
            locker.kill()
    dropped = count_in(log, "hand histories read for a client that has gone")
    check(dropped == 5, "feltd stopped with 5 reads waiting and dropped %d answers" % dropped)
    print("reads: the loop went on while they waited; 20 clients hung up, one waited %.1f s and "
          "got %d hands; stopped with 5 waiting, 5 answers dropped"
          % (waited, len(body["hands"])))


def pg_command(cmd):
    PG.stdin.write(cmd.encode() + b"\n")
    PG.stdin.flush()
    check(PG.stdout.readline().strip() == b"ok", "pg_run: %s failed" % cmd)


def play_goes_on(server, spectator, after_ids, what):
    """Polls until every table has ended two more hands: a table deals no hand while its last
    one is not stored, so each has stored what it played before. Returns the seconds it took."""
    seen = {t: set(spectator.seen[t]) for t in TABLES}
    start = time.monotonic()
    while any(len(spectator.seen[t] - seen[t]) < 2 for t in TABLES):
        check(time.monotonic() < start + 30, "play did not go on at every table within 30 s of "
              "%s: %s" % (what, {t: sorted(spectator.seen[t] - seen[t]) for t in TABLES}))
        spectator.poll(server, after_ids)
        time.sleep(0.05)
    return time.monotonic() - start


def check_pg_outages(server, spectator, after_ids):
    """PostgreSQL under a running feltd. Killed (SIGKILL) and recovered: the next writes find
    their sessions gone and reconnect, and play goes on. Stopped for 3 s: the hand commits fail,
    each table waits (no hand is dealt on an unstored one) and tries again every 5 s; once the
    server is back play goes on at every table. Meanwhile ann joins table a and sits out: her
    buy-in and her flag wait in the table's outbox with the failed commit and are stored, in
    order, once the server is back. Nothing is lost either way: the checks after the next kill
    of feltd hold as after any other."""
    pg_command("crash")
    after_crash = play_goes_on(server, spectator, after_ids, "PostgreSQL's crash")
    pg_command("stop")
    status, ann = http(server, "POST", "/api/games/a/join", {"name": "ann", "buy_in": 700})
    check(status == 200, "a join while PostgreSQL is down: %d %s" % (status, ann))
    status, body = http(server, "POST", "/api/games/a/sit_out", {}, token=ann["token"])
    check(status == 200, "ann's sit_out: %d %s" % (status, body))
    # Hands that ended (and were stored) while the server was being stopped are not "during":
    # see them first. (Without this poll, one stored just before the stop and the one dealt
    # after it counted as two.)
    spectator.poll(server, after_ids)
    seen = {t: set(spectator.seen[t]) for t in TABLES}
    end = time.monotonic() + 3
    while time.monotonic() < end:
        spectator.poll(server, after_ids)
        time.sleep(0.05)
    # At most the hand being played when the server went away can end meanwhile.
    during = {t: len(spectator.seen[t] - seen[t]) for t in TABLES}
    check(all(n <= 1 for n in during.values()),
          "tables dealt on while PostgreSQL was down: %s hands ended" % during)
    pg_command("start")
    after_stop = play_goes_on(server, spectator, after_ids, "PostgreSQL's start")
    status, _ = http(server, "GET", "/api/games/a/hands?limit=1")
    check(status == 200, "the hand histories after PostgreSQL's restart: %d" % status)
    rows = psql("SELECT s.stack, s.sitting_out, (SELECT sum(amount) FROM ledger l WHERE"
                " l.table_id = 'a' AND l.player_id = s.player_id AND kind = 'buy_in')"
                " FROM seats s WHERE s.table_id = 'a' AND s.player_id = '%s'" % ann["player_id"])
    check(rows == [("700", "t", "700")],
          "ann joined and sat out while PostgreSQL was down; it holds %s" % rows)
    print("PostgreSQL killed and recovered: every table played on within %.1f s; stopped for 3 s:"
          " %s hands ended meanwhile, every table played on within %.1f s of its start"
          % (after_crash, sum(during.values()), after_stop))


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
        if PG_RUN and k == KILLS // 2:
            check_pg_outages(server, spectator, after_ids)
        if k == KILLS:
            server.stop()
        else:
            server.kill()
        server = Server()
        spectator.reset()
        after_ids = check_restart(server, humans, spectator, snapshot_checks)
        spectator.poll(server)  # the snapshot, and the cursor
    server = check_rejoin(server, humans)
    if PG_RUN:
        server.stop()
        log = os.path.join(TMP, "feltd.log")
        server = Server(log)
        check_reads_waiting(server, log)
    else:
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


def start_postgres():
    """PG_RUN's server, stopped when this process ends (its stdin, our pipe, closes)."""
    global CONNINFO, PG
    PG = subprocess.Popen([PG_RUN], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    CONNINFO = PG.stdout.readline().decode().strip()
    check(CONNINFO.startswith("postgresql://"), "pg_run did not start PostgreSQL")
    return PG


if __name__ == "__main__":
    pg = None
    try:
        if PG_RUN:
            pg = start_postgres()
        main()
    finally:
        for srv in SERVERS:
            if srv.proc.poll() is None:
                srv.kill()
        if pg:
            pg.stdin.close()
            pg.wait(timeout=30)
        shutil.rmtree(TMP, ignore_errors=True)
