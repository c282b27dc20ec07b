#!/usr/bin/env python3
"""test_faults_readers — readers killed inside a read txn neither block the writer nor grow the store without bound.

Tree VN → 12 → 109 → 03391, the commune's store is watched.  A reader
killed with -9 inside an LMDB read txn leaves its slot in lock.mdb; the
slot pins that snapshot, so LMDB cannot reuse any page freed after it and
data.mdb grows with every write instead of with the data (docs/STORE.md,
"Stale readers").  Proves:
1. baseline: N puts at the commune (the same keys, new values) grow
   the pages LMDB uses in data.mdb by G0 (used pages, not the file: the
   daemon preallocates the file ahead when idle);
2. N more puts interleaved with K readers killed -9 while holding a read
   txn (a helper that opens the store read-only through liblmdb, begins
   a txn, says so, and is killed at a seeded random moment after), and
   with `tierctl verify` runs killed at random moments: every put is
   confirmed (the writer is never blocked); the growth is printed;
3. one more reader killed in its txn leaves its slot (`mdb_stat -r`),
   and the daemon clears it by itself within seconds, with no tierctl
   opening the store meanwhile (mdb_stat -r only lists), and logs it;
4. then N more puts grow data.mdb by at most 2 x G0 + 512 KiB: no page
   stays pinned (before the daemon's periodic mdb_reader_check, one
   dead slot pinned every page freed after it: ~90 KB more per put here,
   without bound);
5. the values reach national exactly and `tierctl verify` passes.
TS_SOAK=1: K = 500 (or TS_SOAK_SECONDS of kills).  Replay with TS_SEED=N.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import tslib  # noqa: E402
from tslib import wait_until  # noqa: E402

NAME = "test_faults_readers"
SEED = faultlib.seed(NAME)
R = tslib.Runner(NAME)
rnd = random.Random(SEED)
PERIOD = "2025"
COMMUNE = "03391"
N = 100
K = 500 if faultlib.SOAK else 40
FAST = {"debounce_ms": 0, "debounce_max_ms": 0}
stats = {"seed": SEED}
tree = None

HOLDER = r"""
import ctypes, sys, time
lib = ctypes.CDLL("liblmdb.so.0")
env, txn = ctypes.c_void_p(), ctypes.c_void_p()
MDB_RDONLY, MDB_NOTLS = 0x20000, 0x200000
assert lib.mdb_env_create(ctypes.byref(env)) == 0
lib.mdb_env_set_maxdbs(env, 32)
rc = lib.mdb_env_open(env, sys.argv[1].encode(), MDB_RDONLY | MDB_NOTLS, 0o600)
assert rc == 0, rc
rc = lib.mdb_txn_begin(env, None, MDB_RDONLY, ctypes.byref(txn))
assert rc == 0, rc
print("holding", flush=True)
time.sleep(300)
"""


def store(code=COMMUNE):
    return os.path.join(tree.d(code), "store")


def size(code=COMMUNE):
    """Bytes of data.mdb that LMDB uses: pages used x page size (mdb_stat -e).
    Not the file's size: when idle the daemon writes zeros up to 1 MiB
    past the last page (ts_store_prealloc), in 128 KiB steps once half of
    that slack is gone, so the file grows in jumps that pinned pages have
    nothing to do with (a CI run measured 768 KiB of such zeros here)."""
    p = tslib.run(["mdb_stat", "-e", store(code)])
    used = re.search(r"Number of pages used: (\d+)", p.stdout)
    psize = re.search(r"Page size: (\d+)", p.stdout)
    if p.returncode != 0 or not used or not psize:
        raise tslib.TestFailure("mdb_stat -e %s: %s" % (store(code), (p.stderr or p.stdout).strip()[:200]))
    return int(used.group(1)) * int(psize.group(1))


def put(i):
    tree.put(COMMUNE, PERIOD, "9", 1000 + i, 5000)
    tree.put(COMMUNE, PERIOD, "14", i, 0)


def reader_pids():
    """pids holding reader slots of the commune's store (mdb_stat -r; it
    only lists, it does not clear)."""
    p = tslib.run(["mdb_stat", "-r", store()], timeout=30)
    if "Reader Table Status" not in p.stdout:     # (its exit status is 1 even then)
        raise tslib.TestFailure("mdb_stat -r: %s %s" % (p.stdout.strip(), p.stderr.strip()))
    pids = set()
    for line in p.stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+[0-9a-f]+\s+(\d+|-)\s*$", line)
        if m:
            pids.add(int(m.group(1)))
    return pids


def dead(pid):
    return tslib.localtree.pid_state(pid) != "alive"


def setup():
    global tree
    tree = faultlib.FTree(COMMUNE, "freaders", conf={"*": FAST})
    tree.start(timeout=60)
    put(0)
    wait_until(lambda: int(tslib.status_field(tree.status(COMMUNE), "outbox")) == 0, 30,
               "the commune's outbox to drain")
    R.check(True, "tree up, first values sent")


def hold_and_kill():
    """Start a reader holding a read txn on the commune's store, kill it
    -9 at a random moment after it holds the txn.  Returns its pid."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER, store()], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    line = p.stdout.readline()
    if line.strip() != "holding":
        p.kill()
        p.wait()
        raise tslib.TestFailure("reader helper did not start: %r %s" % (line, p.stderr.read()))
    time.sleep(rnd.uniform(0, 0.03))       # the random moment of the kill
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdout.close()
    p.stderr.close()
    return p.pid


def kill_verify(code):
    """Run tierctl verify and kill it -9 at a random moment."""
    p = subprocess.Popen([tslib.TIERCTL, "-d", tree.d(code), "verify"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(rnd.uniform(0, 0.02))
    p.send_signal(signal.SIGKILL)
    p.wait()
    return p.returncode == -signal.SIGKILL


def baseline():
    s0 = size()
    for i in range(1, N + 1):
        put(i)
    wait_until(lambda: int(tslib.status_field(tree.status(COMMUNE), "outbox")) == 0, 30,
               "the commune's outbox to drain")
    stats["baseline_growth_bytes"] = size() - s0
    R.check(True, "baseline: %d puts grew data.mdb's used pages by %d bytes (%d -> %d)" % (N, size() - s0, s0, size()))


def with_stale_readers():
    s0 = size()
    kills = verify_kills = 0
    pids = []
    t_end = time.monotonic() + faultlib.SOAK_SECONDS if faultlib.SOAK_SECONDS else None
    i = N
    k = 0
    while (k < K) if t_end is None else (time.monotonic() < t_end):
        k += 1
        pids.append(hold_and_kill())
        kills += 1
        if k % 8 == 0:
            verify_kills += kill_verify(COMMUNE)
        for _ in range(max(1, N // K)):
            i += 1
            put(i)            # raises if a put is not confirmed
    stats["readers_killed_in_txn"] = kills
    stats["tierctl_verify_killed"] = verify_kills
    stats["puts"] = i - N
    R.check(True, "%d puts confirmed while %d readers were killed -9 inside a read txn and %d "
            "tierctl verify runs were killed" % (i - N, kills, verify_kills))
    wait_until(lambda: int(tslib.status_field(tree.status(COMMUNE), "outbox")) == 0, 30,
               "the commune's outbox to drain")
    g = size() - s0
    stats["storm_growth_bytes"] = g
    R.check(True, "data.mdb's used pages grew by %d bytes during the storm (baseline for as many puts: %d)"
            % (g, stats["baseline_growth_bytes"]))
    return i, pids


def daemon_clears():
    # One more dead reader, then no tierctl touches the store: only the
    # daemon may clear the slot.
    pid = hold_and_kill()
    R.check(pid in reader_pids(), "the killed reader (pid %d) left its slot in lock.mdb" % pid)
    t0 = time.monotonic()
    wait_until(lambda: not [p for p in reader_pids() if dead(p)], 15,
               "the daemon to clear the dead readers' slots (mdb_stat -r)")
    stats["daemon_cleared_within_s"] = round(time.monotonic() - t0, 1)
    R.check(True, "the daemon cleared the dead reader's slot within %.1fs" % (time.monotonic() - t0))
    R.check("stale reader slot" in tree.daemon_log(COMMUNE), "the daemon logged clearing stale reader slots")


def after_clear(i):
    """With the slots cleared, the same puts grow the store like the
    baseline: no page stays pinned."""
    s0 = size()
    for _ in range(N):
        i += 1
        put(i)
    wait_until(lambda: int(tslib.status_field(tree.status(COMMUNE), "outbox")) == 0, 30,
               "the commune's outbox to drain")
    g, g0 = size() - s0, stats["baseline_growth_bytes"]
    bound = 2 * g0 + (512 << 10)
    stats["growth_after_clear_bytes"] = g
    R.check(g <= bound, "after the daemon cleared the slots, %d puts grew data.mdb's used pages by %d bytes "
            "(baseline %d, bound %d): no pinned pages, no unbounded growth" % (N, g, g0, bound))
    return i


def final(i):
    want = {("9", ""): (1000 + i, 5000), ("14", ""): (i, 0)}
    stats.update(faultlib.check_tree(R, tree, PERIOD, {COMMUNE: want}, "after the stale readers"))


if R.run(setup) and R.run(baseline):
    res = []
    if R.run(lambda: res.append(with_stale_readers())):
        if R.run(daemon_clears):
            res.append(None)
            if R.run(lambda: res.append(after_clear(res[0][0]))):
                R.run(final, res[-1])
faultlib.counts(NAME, stats)
R.finish()
