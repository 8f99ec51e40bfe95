#!/usr/bin/env python3
"""bot.py: a felt bot in Python, standard library only.

It runs `felt --json` as a child process, reads one JSON message per line from it, and writes
one command per line back. Strategy (simple, not stupid): before the flop it raises strong
starting hands (pairs of tens or better, ace-king, ace-queen) to three big blinds, calls
cheaply with other playable hands and folds the rest; after the flop it bets with a pair or
better using its hole cards, checks when it can, calls bets up to a quarter of the pot, and
folds to anything bigger. It sits back in after busting and joins again if the server no
longer knows its seat. After --hands hands (default: forever) it closes felt's stdin, which
makes felt leave the table cleanly, and prints a summary.

    docs/examples/bot.py --hands 50 -- --server ws://127.0.0.1:8000 --game main --name pybot

Everything after "--" goes to felt. FELT=/path/to/felt selects the binary (default: felt).
"""
import argparse
import json
import os
import subprocess
import sys

RANKS = "23456789TJQKA"


def rank(card):
    return RANKS.index(card[0])


class Bot:
    def __init__(self, felt):
        self.felt = felt
        self.me = None
        self.cards = []      # our hole cards in the current hand
        self.board = []
        self.big_blind = 10
        self.answered = None  # seq of the message whose to_act we last answered
        self.hands = 0
        self.stack = None

    def send(self, obj):
        self.felt.stdin.write(json.dumps(obj) + "\n")
        self.felt.stdin.flush()

    def on_message(self, m):
        t, d = m.get("type"), m.get("data", {})
        if t == "connection":
            if m.get("player_id"):
                self.me = m["player_id"]
            if m["state"] == "rejected":
                self.send({"type": "rejoin"})
            return
        if t == "snapshot":
            self.big_blind = d["table"]["big_blind"]
            if d.get("you"):
                self.me = d["you"]["player_id"]
            self.board = list(d.get("board", []))
            self.read_players(d.get("players", []))
        elif t == "state_update":
            ev = d.get("event")
            if ev == "hand_start":
                self.cards, self.board = [], []
                self.read_players(d.get("players", []))
            elif ev == "street":
                self.board += d.get("cards", [])
            elif ev == "hand_end":
                self.hands += 1
                self.stack = d.get("stacks", {}).get(self.me, self.stack)
            elif ev == "seat" and d["player"]["player_id"] == self.me:
                self.stack = d["player"]["stack"]
                if d["change"] == "busted":
                    self.send({"type": "sit_in"})
        if t in ("snapshot", "state_update"):
            # Each update whose to_act names us is a turn to answer (once: a snapshot after a
            # reconnect repeats it with the same seq).
            to_act = d.get("to_act")
            if to_act and to_act["player_id"] == self.me and m["seq"] != self.answered:
                self.answered = m["seq"]
                self.send(self.decide(to_act, sum(p["amount"] for p in d.get("pots", []))))

    def read_players(self, players):
        for p in players:
            if p["player_id"] == self.me:
                self.cards = p.get("cards", self.cards)
                self.stack = p["stack"]

    def strong_preflop(self):
        if len(self.cards) != 2:
            return False
        a, b = sorted((rank(c) for c in self.cards), reverse=True)
        return (a == b and a >= RANKS.index("T")) or (a == 12 and b >= RANKS.index("Q"))

    def playable_preflop(self):
        if len(self.cards) != 2:
            return False
        a, b = sorted((rank(c) for c in self.cards), reverse=True)
        return a == b or a >= RANKS.index("J") or self.cards[0][1] == self.cards[1][1]

    def made_hand(self):
        """A pair or better that uses one of our hole cards."""
        ranks = [c[0] for c in self.board]
        return any(c[0] in ranks for c in self.cards) or \
            (len(self.cards) == 2 and self.cards[0][0] == self.cards[1][0])

    def decide(self, t, pot):
        def act(a, amount=None):
            cmd = {"type": "action", "action": a}
            if amount is not None:
                cmd["amount"] = amount
            if "decision" in t:  # answer this decision only: refused if the table moved on
                cmd["decision"] = t["decision"]
            return cmd

        def raise_to(target):
            target = max(t["min_raise_to"], min(target, t["max_raise_to"]))
            return act("raise", target)

        can_raise = t["min_raise_to"] is not None
        if not self.board:
            if self.strong_preflop() and can_raise:
                return raise_to(3 * self.big_blind)
            if t["can_check"]:
                return act("check")
            if self.playable_preflop() and t["call"] <= 2 * self.big_blind:
                return act("call")
            return act("fold")
        if self.made_hand() and can_raise and t["can_check"]:
            return raise_to(max(pot // 2, self.big_blind))
        if t["can_check"]:
            return act("check")
        if t["call"] * 4 <= max(pot, self.big_blind) or self.made_hand():
            return act("call")
        return act("fold")


def main():
    ap = argparse.ArgumentParser(description="a felt --json bot")
    ap.add_argument("--hands", type=int, default=0, help="leave after N hands (0: never)")
    ap.add_argument("felt_args", nargs="*", help="options for felt, after --")
    args = ap.parse_args()
    felt = subprocess.Popen([os.environ.get("FELT", "felt"), "--json"] + args.felt_args,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    bot = Bot(felt)
    leaving = False
    try:
        for line in felt.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m.get("type") == "error" and "seq" not in m:
                print("bot.py: %s" % m["data"].get("message"), file=sys.stderr)
            if not leaving:
                bot.on_message(m)
            if args.hands and bot.hands >= args.hands and not leaving:
                leaving = True
                felt.stdin.close()  # felt leaves the table, then exits
    except KeyboardInterrupt:
        pass
    finally:
        if not felt.stdin.closed:
            felt.stdin.close()
        code = felt.wait()
    print("bot.py: %d hands, stack %s, felt exited %d" % (bot.hands, bot.stack, code),
          file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
