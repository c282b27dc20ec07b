#!/usr/bin/env python3
"""test_faults_crash — hundreds of kill -9s at seeded random moments lose nothing and double nothing.

Tree: VN → 11 (Điện Biên) → 095 (Mường Lay) → its 3 communes (03148,
03151, 03184): the 4-level chain plus a few communes, 6 daemons, with
short debounce/heartbeat/reconnect settings so a kill/restart cycle takes
a fraction of a second.  While one writer thread per commune keeps
putting new rounds of values (a put that failed because its daemon died
is retried with the same value until confirmed, so each commune's last
confirmed value is known exactly), a killer picks 1-3 random nodes (any
level) per cycle, kill -9s them at a random moment (in the middle of a
batch, between commit and ACK, during a rollup: wherever the seeded
timing lands), and restarts them, waiting for each control socket with a
deadline.  At least 200 kills per CI run (TS_SOAK=1: 3000, or
TS_SOAK_SECONDS of kills).  After the storm the tree settles and:
  - national, province and district = the exact sum of the communes'
    last confirmed values; national leaf_reported = 3;
  - every outbox drains (everything made was ACKed) and every envelope a
    node made (its own chain, `tierctl log ORIGIN --json` at the origin)
    is present byte-identical at every ancestor: no ACKed envelope lost;
  - chains contiguous from seq 1, prev = hash of the previous body,
    signatures verify with nacl; no seq twice; no forks, refusals or
    dead letters anywhere (a crash never made a node reuse a seq);
  - each rollup national holds = the sum of the child reports it names;
  - `tierctl verify` exits 0 at every node.
Replay a run with TS_SEED=N (printed first as seed=N).
"""

import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import tslib  # noqa: E402
from tslib import wait_until  # noqa: E402

NAME = "test_faults_crash"
SEED = faultlib.seed(NAME)
R = tslib.Runner(NAME)
DISTRICT = "095"
PERIOD = "2025"
KILLS = 3000 if faultlib.SOAK else 200
FAST = {"debounce_ms": 20, "debounce_max_ms": 200, "heartbeat_ms": 200, "dead_ms": 2000,
        "reconnect_min_ms": 20, "reconnect_max_ms": 400}
tree = None
stats = {"kills": 0, "kills_by_node": {}, "cycles": 0, "puts_confirmed": 0, "puts_failed": 0}


def vals(code, ind, rnd):
    n = int(code)
    return (10 * rnd + n % 10, 100 + n % 13) if ind == "9" else (1000 * rnd + n % 97, 0)


class Writer(threading.Thread):
    """Puts round after round at one commune.  last[ind] = last confirmed round."""

    def __init__(self, code, up, stop):
        threading.Thread.__init__(self, daemon=True)
        self.code, self.up, self.stop = code, up, stop
        self.last = {}
        self.failed = 0
        self.confirmed = 0
        self.error = None

    def put(self, ind, rnd):
        num, den = vals(self.code, ind, rnd)
        p = tslib.tierctl_raw(tree.d(self.code), "put", PERIOD, ind, num, den, timeout=30)
        return p.returncode == 0

    def run(self):
        try:
            rnd = 0
            while not self.stop.is_set():
                rnd += 1
                for ind in ("9", "14"):
                    # An unconfirmed put may or may not have been stored:
                    # retry the same value until it is confirmed.
                    deadline = time.monotonic() + 120 * tslib.TIME_SCALE
                    while True:
                        self.up.wait(60)
                        if self.put(ind, rnd):
                            break
                        self.failed += 1
                        if time.monotonic() > deadline:
                            raise tslib.TestFailure("put at %s never confirmed" % self.code)
                    self.confirmed += 1
                    self.last[ind] = rnd
        except Exception as e:  # reported by the main thread
            self.error = e


def setup():
    global tree
    tree = faultlib.FTree(DISTRICT, "fcrash", conf={"*": FAST})
    for code in tree.codes:
        tree.fast_start(code)
    R.check(all(tree.alive(c) for c in tree.codes), "6 daemons running: %s" % " ".join(tree.codes))


def storm():
    rnd = random.Random(SEED)
    communes = tree.leaves()
    ups = {c: threading.Event() for c in tree.codes}
    for e in ups.values():
        e.set()
    stop = threading.Event()
    writers = {c: Writer(c, ups[c], stop) for c in communes}
    for w in writers.values():
        w.start()
    wait_until(lambda: all(w.confirmed >= 2 for w in writers.values()), 60,
               "every commune to confirm its first round")
    t_end = time.monotonic() + faultlib.SOAK_SECONDS if faultlib.SOAK_SECONDS else None
    t0 = time.monotonic()
    while (stats["kills"] < KILLS) if t_end is None else (time.monotonic() < t_end):
        stats["cycles"] += 1
        victims = rnd.sample(tree.codes, rnd.choice((1, 1, 2, 3)))
        # A random moment: these pauses choose WHEN the fault lands (in
        # a batch, a rollup, between commit and ACK); nothing waits on them.
        time.sleep(rnd.uniform(0, 0.15))
        for v in victims:
            ups[v].clear()
            tree.fast_kill(v)
            stats["kills"] += 1
            stats["kills_by_node"][v] = stats["kills_by_node"].get(v, 0) + 1
        time.sleep(rnd.uniform(0, 0.1))
        for v in victims:
            tree.fast_start(v)
            ups[v].set()
        bad = [w.code for w in writers.values() if w.error is not None]
        if bad:
            raise tslib.TestFailure("writer(s) %s failed: %s" % (bad, writers[bad[0]].error))
    dt = time.monotonic() - t0
    stop.set()
    for w in writers.values():
        w.join(180 * tslib.TIME_SCALE)
    R.check(all(not w.is_alive() and w.error is None for w in writers.values()),
            "writers finished cleanly: %r" % [(w.code, w.error) for w in writers.values() if w.error])
    R.check(stats["kills"] >= (1 if t_end else KILLS),
            "%d kill -9s in %d cycles over %.1fs (by node: %s)" %
            (stats["kills"], stats["cycles"], dt, stats["kills_by_node"]))
    R.check(all(tree.alive(c) for c in tree.codes), "every daemon restarted and running")
    stats["puts_confirmed"] = sum(w.confirmed for w in writers.values())
    stats["puts_failed"] = sum(w.failed for w in writers.values())
    R.check(stats["puts_confirmed"] > len(communes) * 2,
            "communes kept putting: %d puts confirmed, %d failed while their daemon was down "
            "(each retried until confirmed)" % (stats["puts_confirmed"], stats["puts_failed"]))
    want = {c: {(ind, ""): vals(c, ind, writers[c].last[ind]) for ind in ("9", "14")}
            for c in communes}
    t1 = time.monotonic()
    c = faultlib.check_tree(R, tree, PERIOD, want, "after %d kills" % stats["kills"])
    stats.update(c)
    stats["settle_s"] = round(time.monotonic() - t1, 1)
    stats["envelopes_made"] = sum(len(faultlib.held(tree, o, o)) for o in tree.codes)


if R.run(setup):
    R.run(storm)
faultlib.counts(NAME, dict(stats, seed=SEED))
R.finish()
