#!/usr/bin/env python3
"""history_pg.py: how long feltd on PostgreSQL takes to answer a page of hand histories.

Starts a PostgreSQL of its own (tests/cluster/pg_run, on loopback, in a temporary folder, gone
when this script ends) and `feltd --postgres` on it with six bots at one table, waits until the
table has stored PAGE complete hands, then asks for the first PAGE of them
(GET /api/games/a/hands?since=0&limit=PAGE) REQUESTS times, one after another, while the bots go
on playing, and prints the latency percentiles. The page asked for never changes, so every
answer carries the same hands (checked).

Usage: bench/history_pg.py FELTD PG_RUN [REQUESTS] [PAGE]   (defaults 300 and 100)
Example (a Release build in build/):
  python3 bench/history_pg.py build/server/feltd build/tests/pg_run
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

FELTD, PG_RUN = sys.argv[1], sys.argv[2]
REQUESTS = int(sys.argv[3]) if len(sys.argv) > 3 else 300
PAGE = int(sys.argv[4]) if len(sys.argv) > 4 else 100
PORT_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                       "feltd-port.sh")


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read().decode())


def main():
    pg = subprocess.Popen([PG_RUN], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    feltd = None
    try:
        conninfo = pg.stdout.readline().decode().strip()
        if not conninfo.startswith("postgresql://"):
            sys.exit("pg_run did not start PostgreSQL")
        args = [FELTD, "--port", "0", "--postgres", conninfo, "--table", "a:6:1/2:200",
                "--bots", "a:6", "--hand-delay", "0", "--bot-delay", "0", "-q"]
        feltd = subprocess.Popen(["sh", "-c", '. "$0" && feltd_run "$@"', PORT_SH] + args,
                                 stdout=subprocess.PIPE, start_new_session=True)
        base = feltd.stdout.readline().decode().strip()
        if not base.startswith("http://"):
            sys.exit("feltd did not start")
        url = "%s/api/games/a/hands?since=0&limit=%d" % (base, PAGE)
        deadline = time.monotonic() + 120
        while len(get(url)["hands"]) < PAGE:
            if time.monotonic() > deadline:
                sys.exit("fewer than %d hands after 120 s" % PAGE)
            time.sleep(0.2)
        first = [h["hand_id"] for h in get(url)["hands"]]
        took = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            body = get(url)
            took.append((time.perf_counter() - start) * 1000)
            if [h["hand_id"] for h in body["hands"]] != first:
                sys.exit("the page changed between two answers")
        took.sort()
        pick = lambda q: took[min(len(took) - 1, int(q * len(took)))]
        print("hand histories on PostgreSQL: %d requests of %d hands: p50 %.2f ms, p90 %.2f ms, "
              "p99 %.2f ms, mean %.2f ms" % (REQUESTS, PAGE, pick(0.5), pick(0.9), pick(0.99),
                                             sum(took) / len(took)))
    finally:
        if feltd:
            os.killpg(feltd.pid, signal.SIGTERM)
            feltd.wait(timeout=30)
        pg.stdin.close()
        pg.wait(timeout=60)


if __name__ == "__main__":
    main()
