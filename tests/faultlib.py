"""faultlib — shared helpers of the fault tests (tests/test_faults_*.py).

- seeds: every fault test takes TS_SEED from the environment (default: a
  random one), prints "seed=N" first, and derives every random choice
  from it, so a failing run is replayed with TS_SEED=N;
- soak: TS_SOAK=1 (tools/test --soak) makes the tests longer and harsher;
  TS_SOAK_SECONDS bounds the soak phases' duration;
- FTree: a tslib.Tree whose chosen links go through tests/faultproxy.py
  (tools/localtree create --proxy CODE), with fast kill -9 / start of
  single daemons (no localtree round trip: hundreds of kills per run);
- check_tree: the invariants every fault test ends with (exact totals,
  every envelope held by a child present byte-identical at every
  ancestor, chains contiguous and signed, nothing twice, verify exits 0);
- counts: one "counts: {json}" line per test for docs/RELIABILITY.md.
"""

import json as _json
import os
import random
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import (TestFailure, wait_until, split_env, decode_body, body_hash,  # noqa: E402
                   verify_sig, body_values, log_envelopes, ZERO32)
from faultproxy import FaultProxy  # noqa: E402

SOAK = os.environ.get("TS_SOAK", "") not in ("", "0")
SOAK_SECONDS = float(os.environ.get("TS_SOAK_SECONDS", "0") or 0)


def seed(name):
    """The run's seed: TS_SEED or a fresh random one; printed for replay."""
    s = os.environ.get("TS_SEED", "").strip()
    v = int(s) if s else random.SystemRandom().randrange(1, 1 << 31)
    print("# %s: seed=%d%s (rerun: TS_SEED=%d)" % (name, v, " soak" if SOAK else "", v), flush=True)
    print("seed=%d" % v, flush=True)
    return v


def counts(name, d):
    """Print the run's counts (docs/RELIABILITY.md collects these)."""
    print("# counts %s: %s" % (name, _json.dumps(d, sort_keys=True)), flush=True)


class FTree(tslib.Tree):
    """tslib.Tree plus: links of `proxies` routed through fault proxies
    (started by start_proxy), extra node.conf settings per node, and
    fast_kill / fast_start of one daemon."""

    def __init__(self, unit, name, proxies=(), conf=None, catalogue=True):
        self.unit = unit
        topo = tslib.localtree.parse_topology(tslib.TOPOLOGY)
        self.codes_expected = tslib.localtree.select_units(topo, unit)
        self.topo_version = topo["version"]
        self.topo = topo
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="ts-%s-" % name)
        self.logs_shown = False
        self.pids = set()
        self.procs = {}
        self.proxies = {}
        tslib._TREES.append(self)
        n = len(self.codes_expected) + len(proxies)
        last = None
        for _ in range(5):
            base = tslib.free_port_range(n)
            argv = [sys.executable, tslib.LOCALTREE, "create", self.dir, "--unit", unit,
                    "--topology", tslib.TOPOLOGY, "--base-port", str(base), "--bin", tslib.BUILD]
            for p in proxies:
                argv += ["--proxy", p]
            if not catalogue:
                argv.append("--no-catalogue")
            p = tslib.run(argv, timeout=120)
            if p.returncode == 0:
                break
            last = p
            if "already in use" not in p.stderr:
                raise TestFailure("localtree create failed: " + p.stderr.strip())
        else:
            raise TestFailure("localtree create failed: " + last.stderr.strip())
        with open(os.path.join(self.dir, "tree.json"), encoding="utf-8") as f:
            self.info = _json.load(f)
        self.codes = self.info["codes"]
        self.root = self.info["root"]
        self.keys = tslib.read_keys_tsv(os.path.join(self.dir, "keys.tsv"))
        for code, kv in (conf or {}).items():
            for c in (self.codes if code == "*" else [code]):
                self.set_conf(c, kv)

    def set_conf(self, code, kv):
        """Set node.conf keys of one node (rewrites or appends lines)."""
        path = self.u(code)["conf"]
        with open(path) as f:
            lines = f.read().splitlines()
        for k, v in kv.items():
            lines = [l for l in lines if l.split(None, 1)[:1] != [k]]
            lines.append("%s %s" % (k, v))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def parent(self, code):
        return self.u(code)["parent"]

    def ancestors(self, code):
        out = []
        p = self.parent(code)
        while p is not None:
            out.append(p)
            p = self.parent(p)
        return out

    # -- proxies
    def start_proxy(self, code, seed, **opts):
        u = self.u(code)
        target = self.port(u["parent"])
        fp = FaultProxy(u["proxy_port"], target, seed, os.path.join(self.dir, "proxy-%s.log" % code),
                        **opts)
        self.proxies[code] = fp
        return fp

    # -- fast process control (kill -9 storms)
    def fast_kill(self, code):
        pid = self.pid(code)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p = self.procs.pop(code, None)
        if p is not None:
            p.wait(30)
        else:
            wait_until(lambda: tslib.localtree.pid_state(pid) != "alive" or self.reap(), 30,
                       "pid %d of %s to die" % (pid, code))
        try:
            os.unlink(os.path.join(self.d(code), "pid"))
        except OSError:
            pass
        return True

    def fast_start(self, code, timeout=30):
        d = self.d(code)
        sock = os.path.join(d, "control.sock")
        try:
            os.unlink(sock)            # left by a killed daemon: not readiness
        except OSError:
            pass
        log = open(os.path.join(d, "daemon.log"), "ab")
        log.write(b"--- faultlib start ---\n")
        log.flush()
        p = subprocess.Popen([tslib.TIERSYNCD, "-c", self.u(code)["conf"]], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, close_fds=True, start_new_session=True)
        log.close()
        self.procs[code] = p
        with open(os.path.join(d, "pid"), "w") as f:
            f.write("%d\n" % p.pid)

        def up():
            if p.poll() is not None:
                raise TestFailure("%s exited with status %s during start" % (code, p.returncode))
            return os.path.exists(sock)
        wait_until(up, timeout, "%s's control socket after start" % code, interval=0.01)

    def cleanup(self):
        for fp in self.proxies.values():
            try:
                fp.stop()
            except Exception:
                pass
        self.proxies = {}
        for code, p in list(self.procs.items()):
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
            try:
                p.wait(10)
            except Exception:
                pass
        self.procs = {}
        tslib.Tree.cleanup(self)


def sum_values(vals_list):
    out = {}
    for vals in vals_list:
        for k, (n, d) in vals.items():
            a, b = out.get(k, (0, 0))
            out[k] = (a + n, b + d)
    return out


def held(tree, at, origin):
    """[(seq, env)] of origin's envelopes held at node `at`, by seq."""
    doc = tslib.tierctl(tree.d(at), "log", origin)
    return sorted((s if s is not None else decode_body(split_env(e)[0])["seq"], e)
                  for _, s, e in log_envelopes(doc))


def check_tree(R, tree, period, want_leaf, what, timeout=120, own=None):
    """The end-of-test invariants.  want_leaf: {leaf code: values}; own:
    {non-leaf code: its own entered values}, if any.
    Returns counts {envelopes, losses, duplicates, forks, refused, dead}."""
    own = own or {}
    leaves = tree.leaves()

    def subtree_want(code):
        inside = [c for c in tree.codes if c == code or code in tree.ancestors(c)]
        return sum_values([want_leaf[c] for c in inside if c in want_leaf] +
                          [own[c] for c in inside if c in own])
    want_total = subtree_want(tree.root)
    tree.wait_values(tree.root, period, want_total, timeout=timeout)
    R.eq(tree.values(tree.root, period), want_total,
         "%s: national = exact sum of the communes' last values" % what)
    # every level equals the sum of its own subtree's leaves
    bad = []
    for code in tree.codes:
        if not tree.children(code):
            continue
        w = subtree_want(code)
        got = tree.values(code, period)
        if got != w:
            bad.append("%s: %r != %r" % (code, got, w))
    R.eq(bad, [], "%s: every level's report = the sum of its subtree (no double counting)" % what)
    comp = tslib.report_completeness(tree.report(tree.root, period))
    R.eq(comp.get("leaf_reported"), len(leaves),
         "%s: national leaf_reported = %d (each commune once)" % (what, len(leaves)))
    # outboxes drain: everything created was ACKed
    def drained():
        left = {c: int(tslib.status_field(tree.status(c), "outbox"))
                for c in tree.codes if tree.parent(c)}
        return all(v == 0 for v in left.values()) or left
    wait_until(drained, timeout, "every outbox to drain")
    R.check(True, "%s: every node's outbox drained (all envelopes ACKed)" % what)

    n_env = losses = dups = 0
    problems = []
    for origin in tree.codes:
        mine = held(tree, origin, origin)
        seqs = [s for s, _ in mine]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append("%s's own chain seqs %s are not 1..n" % (origin, seqs[:20]))
        pk = tree.keys[origin][0]
        prev = ZERO32
        for s, env in mine:
            body, sig = split_env(env)
            b = decode_body(body)
            if b["seq"] != s or b["origin"] != origin or b["prev"] != prev:
                problems.append("%s seq %d: body seq/origin/prev do not chain" % (origin, s))
            if not verify_sig(body, sig, pk):
                problems.append("%s seq %d: signature does not verify (nacl)" % (origin, s))
            prev = body_hash(body)
        for anc in tree.ancestors(origin):
            there = held(tree, anc, origin)
            tseq = [s for s, _ in there]
            dups += len(tseq) - len(set(tseq))
            have = dict(there)
            for s, env in mine:
                n_env += 1
                if have.get(s) != env:
                    losses += 1
                    problems.append("%s seq %d held at %s but %s at %s" %
                                    (origin, s, origin, "different" if s in have else "missing", anc))
            extra = set(tseq) - set(seqs)
            if extra:
                problems.append("%s holds seqs %s of %s that %s itself does not" %
                                (anc, sorted(extra)[:10], origin, origin))
    R.eq(problems[:20], [], "%s: every envelope a node made is at every ancestor, byte-identical; "
         "chains contiguous and signed (%d envelope copies checked)" % (what, n_env))
    R.eq((losses, dups), (0, 0), "%s: losses 0, duplicates 0" % what)

    # the national view of each rollup equals the sum of the child reports it names
    rb = []
    for code in tree.codes:
        if not tree.children(code):
            continue
        chain = held(tree, tree.root, code)
        if not chain:
            continue
        r = None
        for s, env in reversed(chain):
            b = decode_body(split_env(env)[0])
            if b["period"] == period:
                r = b
                break
        if r is None:
            continue
        parts = []
        for child, cseq, chash in r["prov"]:
            cenv = dict(held(tree, tree.root, child)).get(cseq)
            if cenv is None or body_hash(split_env(cenv)[0]) != chash:
                rb.append("%s names %s seq %d which national lacks or differs" % (code, child, cseq))
                continue
            parts.append(body_values(decode_body(split_env(cenv)[0])))
        if sum_values(parts + [own.get(code, {})]) != body_values(r):
            rb.append("%s seq %d values != sum of named children" % (code, r["seq"]))
    R.eq(rb, [], "%s: at national every rollup = the sum of the child reports its provenance names" % what)

    forks = refused = dead = 0
    for code in tree.codes:
        st = tree.status(code)
        forks += tslib.status_field(st, "forks")
        refused += tslib.status_field(st, "refused")
        dead += tslib.status_field(st, "dead")
    R.eq((forks, refused, dead), (0, 0, 0), "%s: no forks, no refusals, no dead letters anywhere" % what)
    bad = []
    for code in tree.codes:
        p = tslib.tierctl_raw(tree.d(code), "verify", timeout=120)
        if p.returncode != 0:
            bad.append("%s: %s" % (code, (p.stderr or p.stdout).strip()[:200]))
    R.eq(bad, [], "%s: tierctl verify exits 0 at every node" % what)
    return {"envelope_copies_checked": n_env, "losses": losses, "duplicates": dups,
            "forks": forks, "refused": refused, "dead": dead}
