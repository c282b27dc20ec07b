#!/usr/bin/env python3
"""test_faults_links — over slow, cut and partitioned links the tree converges to the exact totals.

Tree: VN → 11 → 095 → 03148, 03151, 03184.  The district's uplink
095 → 11 (all three communes' data crosses it) goes through
tests/faultproxy.py (tools/localtree create --proxy 095): 2 s ± 1 s delay
per direction, 56 kbit/s, and random cuts (a seeded share of connections
is reset at a random byte offset, mid-frame; plus one reset of the live
connection at a seeded random moment while round 1 is in flight).  The
proxied node gets settings for such a link (dead_ms 30 s, heartbeat 2 s:
a ZMTP+CURVE handshake alone takes 5 one-way trips, ~10 s here).
Proves:
1. bad links: values put at every commune reach national exactly;
2. a partition of the district link for 8 s (TS_SOAK=1: 3 min, or
   TS_SOAK_SECONDS/3): a black hole for the first half (the route is
   dead, TCP stalls), refusal for the second (connections reset,
   reconnects refused): communes keep accepting, the district rolls up
   the new round, national stays at the old totals; after the heal
   national converges to the new exact totals (time printed, not
   asserted);
3. at the end the full invariants of faultlib.check_tree: every envelope
   at every ancestor byte-identical, chains intact, nothing twice, no
   forks/refusals, `tierctl verify` at every node.
Replay with TS_SEED=N (printed as seed=N).
"""

import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import tslib  # noqa: E402

NAME = "test_faults_links"
SEED = faultlib.seed(NAME)
R = tslib.Runner(NAME)
DISTRICT = "095"
PERIOD = "2025"
PROXIED = (DISTRICT,)
if faultlib.SOAK:
    PART_S = faultlib.SOAK_SECONDS / 3 if faultlib.SOAK_SECONDS else 180.0
else:
    PART_S = 8.0
SLOW_LINK = {"dead_ms": 30000, "heartbeat_ms": 2000, "reconnect_min_ms": 200, "reconnect_max_ms": 2000}
BAD = {"delay": 2.0, "jitter": 1.0, "rate": 56000, "cut_prob": 0.25, "cut_min": 64, "cut_max": 8000}
tree = None
rnd = random.Random(SEED)
stats = {"seed": SEED}


def vals(code, r):
    n = int(code)
    return {("9", ""): (10 * r + n % 10, 100 + n % 13), ("14", ""): (1000 * r + n % 97, 0)}


def put_round(r):
    for c in tree.leaves():
        for (ind, dis), (num, den) in sorted(vals(c, r).items()):
            tree.put(c, PERIOD, ind, num, den)


def total(r):
    return faultlib.sum_values([vals(c, r) for c in tree.leaves()])


def setup():
    global tree
    conf = {"*": {"debounce_ms": 50, "debounce_max_ms": 500}}
    for c in PROXIED:
        conf[c] = SLOW_LINK
    tree = faultlib.FTree(DISTRICT, "flinks", proxies=PROXIED, conf=conf)
    for i, c in enumerate(PROXIED):
        tree.start_proxy(c, SEED * 10 + i, **BAD)
    tree.start(timeout=60)
    R.check(all(tree.alive(c) for c in tree.codes), "6 daemons and %d fault proxy running" % len(PROXIED))


def converge(r, what, timeout):
    t0 = time.monotonic()
    tree.wait_values("VN", PERIOD, total(r), timeout=timeout)
    dt = time.monotonic() - t0
    R.eq(tree.values("VN", PERIOD), total(r), "%s: national = exact sum of round %d" % (what, r))
    return dt


def bad_links():
    t0 = time.monotonic()
    put_round(1)
    # Besides the seeded random cuts, reset both links once at a random
    # moment while round 1 is in flight (the pause picks the moment).
    time.sleep(rnd.uniform(0.5, 3.0))
    for c in PROXIED:
        tree.proxies[c].cmd("cut")
    dt = converge(1, "through 2s±1s delay, 56 kbit/s and random cuts", 180)
    print("# converged through the bad links in %.1fs after the puts" % dt)
    stats["converge_bad_links_s"] = round(time.monotonic() - t0, 1)


def partitions():
    """The district link partitioned for PART_S seconds: first a black
    hole (TCP stalls), then refusal (connections reset, reconnects
    refused); then healed."""
    fp = tree.proxies[DISTRICT]
    fp.partition("blackhole")
    t0 = time.monotonic()
    put_round(2)
    tree.wait_values(DISTRICT, PERIOD, total(2), timeout=60)
    R.eq(tree.values(DISTRICT, PERIOD), total(2), "during the partition the district rolls up round 2")
    # Hold each mode for its length (a fault duration, not a wait for a
    # condition), then check national never saw round 2.
    rest = PART_S / 2 - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)
    fp.partition("refuse")
    rest = PART_S - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)
    R.eq(tree.values("VN", PERIOD), total(1), "national still holds round 1 after %.0fs of partition" % PART_S)
    fp.heal()
    dt = converge(2, "after the partition healed", 180 + PART_S)
    print("# time to converge after healing a %.0fs partition (black hole, then refusal): %.1fs" % (PART_S, dt))
    stats["partition_s"] = PART_S
    stats["converge_after_heal_s"] = round(dt, 1)


def final():
    want = {c: vals(c, 2) for c in tree.leaves()}
    stats.update(faultlib.check_tree(R, tree, PERIOD, want, "after bad links and partitions", timeout=180))
    for c, fp in tree.proxies.items():
        s = fp.stats()
        stats["proxy_" + c] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in s.items()
                               if not k.startswith("opt_")}
    cuts = sum(fp.stats()["cuts"] + fp.stats()["cuts_by_command"] for fp in tree.proxies.values())
    conns = sum(fp.stats()["connections"] for fp in tree.proxies.values())
    print("# proxies: %d connections, %d random cuts" % (conns, cuts))
    R.check(conns >= 2 and cuts >= 1, "the proxies carried the links (%d connections, %d cut "
            "mid-stream)" % (conns, cuts))


if R.run(setup) and R.run(bad_links):
    if R.run(partitions):
        R.run(final)
faultlib.counts(NAME, stats)
R.finish()
