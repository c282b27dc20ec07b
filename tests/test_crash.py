#!/usr/bin/env python3
"""test_crash — a crashed or absent parent loses nothing and counts nothing twice.

Tree: the Phong Thổ district tree (VN, 12, 109 and its 17 communes).
Proves:
1. kill -9 of the district node while the communes push a stream of
   updates (several rounds of puts per commune, from a writer thread),
   then a restart: national ends up with the LAST values of every commune,
   each counted exactly once (sums equal, leaf_reported 17, the district's
   report equals the sum too), and `tierctl verify` exits 0 everywhere it
   matters (national, district).
2. parent down for a while: with the province stopped, communes keep
   accepting input (every put succeeds) and the district keeps rolling up;
   when the province comes back, national catches up to the exact totals.
"""

import os
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import report_completeness, wait_until  # noqa: E402

DISTRICT = "109"
PERIOD = "2025"
R = tslib.Runner("test_crash")
tree = None


def vals(code, rnd):
    n = int(code)
    return {("9", ""): (10 * rnd + n % 10, 100 + n % 13),
            ("14", ""): (rnd * 1000 + n % 97, 0)}


def total(codes, rnd_of):
    out = {}
    for c in codes:
        for k, (num, den) in vals(c, rnd_of[c]).items():
            a, b = out.get(k, (0, 0))
            out[k] = (a + num, b + den)
    return out


class Writer(threading.Thread):
    """Puts round after round at every commune; records the last round
    each commune accepted and any put that failed."""

    def __init__(self, communes, rounds, first=1):
        threading.Thread.__init__(self, daemon=True)
        self.communes, self.rounds, self.first = communes, rounds, first
        self.last = {}
        self.errors = []
        self.done_rounds = 0
        self.cond = threading.Condition()

    def run(self):
        for rnd in range(self.first, self.first + self.rounds):
            for c in self.communes:
                try:
                    for (ind, dis), (num, den) in sorted(vals(c, rnd).items()):
                        tree.put(c, PERIOD, ind, num, den)
                    self.last[c] = rnd
                except Exception as e:
                    self.errors.append("%s round %d: %s" % (c, rnd, e))
            with self.cond:
                self.done_rounds += 1
                self.cond.notify_all()

    def wait_rounds(self, n, timeout):
        wait_until(lambda: self.done_rounds >= n or not self.is_alive(), timeout,
                   "writer to finish %d rounds" % n)


def setup():
    global tree
    tree = tslib.Tree(DISTRICT, name="crash")
    tree.start(timeout=90)
    R.check(all(tree.alive(c) for c in tree.codes), "all 20 daemons running")


def check_totals(last, what):
    communes = tree.children(DISTRICT)
    want = total(communes, last)
    tree.wait_values("VN", PERIOD, want, timeout=120)
    R.eq(tree.values("VN", PERIOD), want, "%s: national = sum of every commune's last values" % what)
    R.eq(tree.values(DISTRICT, PERIOD), want, "%s: district = the same sum (no double counting)" % what)
    R.eq(tree.values("12", PERIOD), want, "%s: province = the same sum" % what)
    comp = report_completeness(tree.report("VN", PERIOD))
    R.eq(comp["leaf_reported"], 17, "%s: national leaf_reported 17 (each commune once)" % what)
    for code in ("VN", DISTRICT):
        p = tslib.tierctl_raw(tree.d(code), "verify")
        R.eq(p.returncode, 0, "%s: tierctl verify at %s exits 0 %s" % (what, code, p.stderr.strip()[:300]))


def kill_district():
    communes = tree.children(DISTRICT)
    w = Writer(communes, rounds=6)
    w.start()
    w.wait_rounds(2, 120)                     # the stream is flowing
    tree.kill(DISTRICT)                       # kill -9 mid-stream
    R.check(not tree.alive(DISTRICT), "district killed with SIGKILL while communes push")
    w.wait_rounds(4, 120)                     # communes keep accepting meanwhile
    tree.start(DISTRICT)
    R.check(tree.alive(DISTRICT), "district restarted")
    w.join(300 * tslib.TIME_SCALE)
    R.check(not w.is_alive(), "writer finished its 6 rounds")
    R.eq(w.errors, [], "every put at every commune succeeded during the crash")
    R.eq(set(w.last.values()), {6}, "every commune accepted its last round")
    check_totals(w.last, "after kill -9 of the district")


def parent_down():
    communes = tree.children(DISTRICT)
    tree.stop("12")
    R.check(not tree.alive("12"), "province 12 stopped")
    before = tree.values("VN", PERIOD)
    w = Writer(communes, rounds=2, first=7)
    w.run()                                   # in this thread: puts while the province is down
    R.eq(w.errors, [], "communes accept every put while the province is down")
    want = total(communes, w.last)
    tree.wait_values(DISTRICT, PERIOD, want, timeout=60)
    R.eq(tree.values(DISTRICT, PERIOD), want, "district keeps rolling up while its parent is down")
    R.eq(tree.values("VN", PERIOD), before, "national unchanged while the province is down")
    st = tree.status(DISTRICT)
    outbox = tslib.status_field(st, "outbox")
    R.check(outbox >= 1,
            "district queues its reports in the outbox (outbox=%s)" % outbox)
    tree.start("12")
    check_totals(w.last, "after the province returned")
    wait_until(lambda: tslib.status_field(tree.status(DISTRICT), "outbox") == 0,
               60, "district outbox to drain after the province returned")
    R.check(True, "district outbox drained")


if R.run(setup):
    if R.run(kill_district):
        R.run(parent_down)
R.finish()
