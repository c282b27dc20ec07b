#!/usr/bin/env python3
"""test_chain — a 4-level chain carries a commune's values to national exactly,
and every envelope national holds is verifiable without trusting the middle.

Tree: VN → 12 (Lai Châu) → 109 (Phong Thổ) → 03391 (Lả Nhì Thàng), four real
tiersyncd processes on 127.0.0.1.  Proves:
- values put at the commune appear unchanged in the commune's, district's,
  province's and national reports, and in national's drill-down of each unit;
- national's completeness counts the one leaf;
- every commune envelope relayed to national verifies independently of the
  C code (Python nacl Ed25519 against the commune's key in keys.tsv), its
  body is canonical msgpack of the documented 12-field shape, and the hash
  chain holds: seq 1, 2, ... with prev = BLAKE2b-256 of the previous body
  (32 zero bytes for seq 1);
- the same holds for the district's and province's own envelopes, and each
  newest rollup equals the sum of the child reports its provenance names;
- a second round of values replaces the first (snapshots, not deltas);
- `tierctl verify` at national exits 0.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402  (must come first: may re-exec under the system python)
from tslib import (TestFailure, body_hash, decode_body, body_values, split_env,  # noqa: E402
                   verify_sig, log_envelopes, report_completeness, ZERO32)

COMMUNE = "03391"
PERIOD = "2025"

R = tslib.Runner("test_chain")
tree = None


def setup():
    global tree
    tree = tslib.Tree(COMMUNE, name="chain")
    R.eq(tree.codes, ["VN", "12", "109", COMMUNE], "localtree selects the 4-level chain VN/12/109/03391")
    tree.start()
    for c in tree.codes:
        R.check(tree.alive(c), "%s daemon running" % c)


ROUND1 = {("9", ""): (47, 52), ("9", "sex=f"): (22, 25), ("14", ""): (31, 0), ("25", ""): (1, 1)}
ROUND2 = {("9", ""): (48, 52), ("9", "sex=f"): (23, 25), ("14", ""): (33, 0), ("25", ""): (1, 1)}


def put_all(vals):
    for (ind, dis), (num, den) in sorted(vals.items()):
        tree.put(COMMUNE, PERIOD, ind, num, den, dis=dis or None)


def reports_equal(vals):
    for code in ("109", "12", "VN"):
        tree.wait_values(code, PERIOD, vals, timeout=60)
        R.eq(tree.values(code, PERIOD), vals, "%s's own report equals the commune's values" % code)
    R.eq(tree.values(COMMUNE, PERIOD), vals, "commune's own report holds what was put")
    for unit in (COMMUNE, "109", "12"):
        R.eq(tree.values("VN", PERIOD, unit=unit), vals, "national drill-down --unit %s equals them" % unit)


def round1():
    put_all(ROUND1)
    reports_equal(ROUND1)
    comp = report_completeness(tree.report("VN", PERIOD))
    R.eq(comp["leaf_reported"], 1, "national completeness: 1 leaf reported")


def round2():
    put_all(ROUND2)
    reports_equal(ROUND2)


def chain_of(origin):
    """Verify origin's chain as held at national; returns [(seq, hash, decoded body)]."""
    doc = tslib.tierctl(tree.d("VN"), "log", origin)
    envs = log_envelopes(doc)
    if not envs:
        raise TestFailure("national's log %s --json lists no env_hex" % origin)
    pk = tree.keys[origin][0]
    out = []
    prev_hash = ZERO32
    bad_sig = bad_link = 0
    for i, (_, seq_listed, env) in enumerate(envs):
        body, sig = split_env(env)
        r = decode_body(body)
        if not verify_sig(body, sig, pk):
            bad_sig += 1
        if r["origin"] != origin:
            raise TestFailure("envelope %d of %s names origin %s" % (i, origin, r["origin"]))
        if r["seq"] != i + 1 or (seq_listed is not None and seq_listed != r["seq"]):
            raise TestFailure("%s: envelope %d has seq %s (listed %s), expected %d" %
                              (origin, i, r["seq"], seq_listed, i + 1))
        if r["prev"] != prev_hash:
            bad_link += 1
        if r["topo"] != tree.topo_version:
            raise TestFailure("%s seq %d: topo %r, expected %r" % (origin, r["seq"], r["topo"], tree.topo_version))
        prev_hash = body_hash(body)
        out.append((r["seq"], prev_hash, r))
    R.eq(bad_sig, 0, "%s: all %d envelopes at national verify with the key in keys.tsv (Python nacl)" %
         (origin, len(envs)))
    R.eq(bad_link, 0, "%s: prev of each envelope = BLAKE2b-256 of the previous body (seq 1: zeros)" % origin)
    return out


def envelopes_verify():
    chains = {o: chain_of(o) for o in (COMMUNE, "109", "12")}
    # The commune's newest envelope for the period carries ROUND2 exactly.
    newest = [r for _, _, r in chains[COMMUNE] if r["period"] == PERIOD][-1]
    R.eq(body_values(newest), ROUND2, "newest commune envelope at national holds the last values")
    # Each newest rollup = the sum of the child reports its provenance names.
    by_hash = {h: r for o in chains for _, h, r in chains[o]}
    for origin, child in (("109", COMMUNE), ("12", "109")):
        top = [r for _, _, r in chains[origin] if r["period"] == PERIOD][-1]
        prov = top["prov"]
        R.eq([p[0] for p in prov], [child], "%s's newest report names %s in its provenance" % (origin, child))
        named = by_hash.get(prov[0][2]) if prov else None
        R.check(named is not None and named["seq"] == prov[0][1] and named["origin"] == child,
                "%s's provenance (child, seq, hash) points to an envelope national holds" % origin)
        if named is not None:
            R.eq(body_values(top), body_values(named),
                 "%s's rollup equals the child report its provenance names" % origin)
        R.eq(top["completeness"][4], 1, "%s's body: leaf_reported 1" % origin)


def links_healthy():
    """Every child recorded an ACK and never saw its link drop: a link that
    resets after each push still delivers (WELCOME resume), so only this
    catches it (regression: unsigned underflow in the ACK timeout)."""
    for code in (COMMUNE, "109", "12"):
        st = tslib.tierctl(tree.d(code), "status")
        R.check(st["last_ack_ms"] > 0, "%s recorded an ACK from its parent" % code)
        R.eq(st["link"], "up", "%s link is up" % code)
        with open(os.path.join(tree.d(code), "daemon.log"), encoding="utf-8") as f:
            drops = [l for l in f if "down:" in l]
        R.eq(drops, [], "%s never lost its link in a healthy run" % code)


def verify_cmd():
    p = tslib.tierctl_raw(tree.d("VN"), "verify")
    R.eq(p.returncode, 0, "tierctl verify at national exits 0 (%s)" % (p.stderr.strip() or p.stdout.strip())[:200])


if R.run(setup):
    if R.run(round1):
        R.run(round2)
        R.run(envelopes_verify)
        R.run(links_healthy)
        R.run(verify_cmd)
R.finish()
