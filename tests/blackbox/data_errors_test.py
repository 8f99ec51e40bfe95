#!/usr/bin/env python3
"""data_errors_test.py: feltd on a data folder it must not use, and on a full disk.

  - a felt.db that is not a database (random bytes), and one that is another application's:
    feltd stops at start with a one-line error naming the file and a non-zero status, and the
    file is left byte for byte as it was;
  - a database written by a newer feltd (its schema version above ours): the same;
  - a full disk (a file-size limit, RLIMIT_FSIZE, as `ulimit -f` sets): feltd plays on, says
    that hands are not stored, and nothing stored before is lost: restarted without the limit,
    every hand stored before is still there, and the books still balance.
(A read-only folder is tested in tests/unit/test_store.c, as a child dropped to nobody: root,
which CI runs as, can write anywhere.)

Usage: data_errors_test.py FELTD. Only 127.0.0.1; bounded in time.
"""
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

FELTD = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="felt-data-errors-")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def start_fail(data):
    """feltd must refuse this folder: returns its stderr."""
    p = subprocess.run([FELTD, "--port", "0", "--data", data], capture_output=True, timeout=20)
    err = p.stderr.decode().strip()
    check(p.returncode != 0, "feltd started on %s (status 0)" % data)
    check(p.stdout.decode().find("listening") < 0, "feltd listened on a folder it refused")
    lines = err.splitlines()
    check(len(lines) == 1 and "felt.db" in lines[0],
          "want one line naming felt.db, got %r" % err)
    return lines[0]


def folder(name, content=None):
    d = os.path.join(TMP, name)
    os.makedirs(d)
    if content is not None:
        with open(os.path.join(d, "felt.db"), "wb") as f:
            f.write(content)
    return d


def same_file(d, content):
    with open(os.path.join(d, "felt.db"), "rb") as f:
        check(f.read() == content, "feltd changed the file in %s" % d)


def not_felt():
    junk = os.urandom(8192)
    d = folder("junk", junk)
    print("junk:", start_fail(d))
    same_file(d, junk)
    # Another application's SQLite database.
    d = folder("other")
    con = sqlite3.connect(os.path.join(d, "felt.db"))
    con.execute("CREATE TABLE notes (x TEXT)")
    con.execute("INSERT INTO notes VALUES ('mine')")
    con.commit()
    con.close()
    with open(os.path.join(d, "felt.db"), "rb") as f:
        before = f.read()
    print("other:", start_fail(d))
    same_file(d, before)


def newer():
    d = folder("newer")
    # A felt database as this feltd writes it, then marked as from a newer schema.
    run = subprocess.Popen([FELTD, "--port", "0", "--data", d, "-q"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    check(b"listening" in run.stdout.readline(), "feltd did not start on a new folder")
    run.send_signal(signal.SIGTERM)
    check(run.wait(timeout=20) == 0, "feltd did not stop cleanly")
    con = sqlite3.connect(os.path.join(d, "felt.db"))
    version = con.execute("PRAGMA user_version").fetchone()[0]
    con.execute("PRAGMA user_version = %d" % (version + 5))
    con.commit()
    con.close()
    with open(os.path.join(d, "felt.db"), "rb") as f:
        before = f.read()
    line = start_fail(d)
    print("newer:", line)
    check("newer" in line, "the error does not say the file is newer: %r" % line)
    same_file(d, before)


def hands(d):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(d, "felt.db"), uri=True)
    try:
        ids = {r[0] for r in con.execute("SELECT hand_id FROM hands WHERE state = 'complete'")}
        buy, cash, net, chips = con.execute(
            "SELECT (SELECT coalesce(sum(amount),0) FROM ledger WHERE kind='buy_in'),"
            " (SELECT coalesce(sum(amount),0) FROM ledger WHERE kind='cash_out'),"
            " (SELECT coalesce(sum(amount),0) FROM ledger WHERE kind='hand'),"
            " (SELECT coalesce(sum(stack),0) FROM seats)").fetchone()
        check(buy - cash + net == chips, "the books do not balance: %d - %d + %d != %d"
              % (buy, cash, net, chips))
        return ids
    finally:
        con.close()


def play(d, seconds, fsize=None):
    def limit():
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    p = subprocess.Popen([FELTD, "--port", "0", "--data", d, "--bots", "3", "--hand-delay", "20",
                          "--bot-delay", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=limit)
    check(b"listening" in p.stdout.readline(), "feltd did not start")
    time.sleep(seconds)
    p.kill()
    p.wait(timeout=20)
    return p.stderr.read().decode()


def full_disk():
    d = folder("full")
    play(d, 2)
    before = hands(d)
    check(len(before) > 0, "no hand was stored in 2 s")
    size = os.path.getsize(os.path.join(d, "felt.db"))
    wal = os.path.join(d, "felt.db-wal")
    if os.path.exists(wal):
        size = max(size, os.path.getsize(wal))
    log = play(d, 3, fsize=size + 65536)  # the files may grow by 64 KiB, no more
    check("not stored" in log, "feltd did not say that hands were not stored:\n" + log[-2000:])
    after = hands(d)
    check(before <= after, "hands stored before the disk filled are gone: %s"
          % sorted(before - after))
    play(d, 1)  # and it starts again without the limit
    print("full disk: %d hands before, %d after" % (len(before), len(hands(d))))


try:
    not_felt()
    newer()
    full_disk()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
