#!/usr/bin/env python3
"""test_phongtho — the whole Phong Thổ district tree sums exactly at every level.

Tree: VN → 12 (Lai Châu) → 109 (Phong Thổ) → its 17 communes: 20 real
tiersyncd processes on 127.0.0.1.  Proves:
- distinct values entered at each of the 17 communes reach every level:
  the district's, the province's and national's reports equal the exact
  sum over the communes (numerators and denominators, per indicator and
  disaggregation);
- national's drill-down to the district and to each commune equals what
  that unit entered;
- national completeness: leaf_reported 17; the district reports 17 of its
  17 direct children;
- every commune's envelopes at national verify with the commune's key
  (Python nacl, independent of the C code);
- `tierctl verify` exits 0 at national.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import (report_completeness, log_envelopes, split_env, decode_body,  # noqa: E402
                   verify_sig)

DISTRICT = "109"
PERIOD = "2025"
R = tslib.Runner("test_phongtho")
tree = None


def commune_values(code):
    """Distinct, deterministic values for a commune."""
    n = int(code)
    return {
        ("9", ""): (60 + n % 37, 80 + n % 41),       # immunised / children under 1
        ("9", "sex=f"): (30 + n % 17, 40 + n % 19),
        ("14", ""): (50 + n % 53, 0),                 # births registered (count)
        ("3", ""): (n % 7, 1000 + n % 101),           # cases / 1,000 children
    }


def total(codes):
    out = {}
    for c in codes:
        for k, (num, den) in commune_values(c).items():
            a, b = out.get(k, (0, 0))
            out[k] = (a + num, b + den)
    return out


def setup():
    global tree
    tree = tslib.Tree(DISTRICT, name="phongtho")
    R.eq(len(tree.codes), 20, "localtree selects 20 units (VN, 12, 109 and 17 communes)")
    R.eq(len(tree.children(DISTRICT)), 17, "Phong Thổ has 17 communes")
    tree.start(timeout=90)
    R.check(all(tree.alive(c) for c in tree.codes), "all 20 daemons running")


def enter():
    for c in tree.children(DISTRICT):
        for (ind, dis), (num, den) in sorted(commune_values(c).items()):
            tree.put(c, PERIOD, ind, num, den, dis=dis or None)


def sums():
    communes = tree.children(DISTRICT)
    want = total(communes)
    tree.wait_values("VN", PERIOD, want, timeout=90)
    R.eq(tree.values("VN", PERIOD), want, "national report = sum over the 17 communes")
    tree.wait_values("12", PERIOD, want, timeout=30)
    R.eq(tree.values("12", PERIOD), want, "province 12 report = the same sum")
    R.eq(tree.values(DISTRICT, PERIOD), want, "district 109 report = the same sum")
    R.eq(tree.values("VN", PERIOD, unit=DISTRICT), want, "national drill-down --unit 109 = the sum")
    bad = [c for c in communes if tree.values("VN", PERIOD, unit=c) != commune_values(c)]
    R.eq(bad, [], "national drill-down of each commune equals what it entered")
    comp = report_completeness(tree.report("VN", PERIOD))
    R.eq(comp["leaf_reported"], 17, "national completeness: leaf_reported 17")
    dcomp = report_completeness(tree.report(DISTRICT, PERIOD))
    R.eq((dcomp["expected"], dcomp["reported"]), (17, 17),
         "district completeness: 17 of 17 children reported")


def signatures():
    bad = []
    count = 0
    for c in tree.children(DISTRICT):
        for _, _, env in log_envelopes(tslib.tierctl(tree.d("VN"), "log", c)):
            body, sig = split_env(env)
            r = decode_body(body)
            count += 1
            if r["origin"] != c or not verify_sig(body, sig, tree.keys[c][0]):
                bad.append((c, r["seq"]))
    R.check(count >= 17, "national holds envelopes of all communes (%d)" % count)
    R.eq(bad, [], "every commune envelope at national verifies with its key (nacl)")


def over_bound():
    """Two communes each at the bound 2^53 - 1: the district's sum would
    pass it, so the district leaves that one value out, says so, and
    still carries every other value and commune (one child can no longer
    freeze its parent's rollups)."""
    big = 2 ** 53 - 1
    a, b = tree.children(DISTRICT)[:2]
    n = len(tree.daemon_log(DISTRICT).splitlines())
    for c in (a, b):
        tree.put(c, "2024", "9", big, big)
        tree.put(c, "2024", "14", 5, 0)
    want = {("14", ""): (10, 0)}
    tree.wait_values("VN", "2024", want, timeout=60)
    R.eq(tree.values(DISTRICT, "2024"), want,
         "109's 2024 report carries indicator 14 and leaves out 9 (sum over 2^53 - 1)")
    R.check(any("left out" in l and "2^53 - 1" in l and "9/''" in l
                for l in tree.daemon_log(DISTRICT).splitlines()[n:]),
            "109's log says what it left out")
    R.eq(tree.values("VN", "2024", unit=a), {("9", ""): (big, big), ("14", ""): (5, 0)},
         "national still holds commune %s's own report exactly" % a)
    tree.put(c, "2025", "14", 999, 0)       # another period still flows
    want25 = dict(total(tree.children(DISTRICT)))
    want25[("14", "")] = (want25[("14", "")][0] - commune_values(c)[("14", "")][0] + 999, 0)
    tree.wait_values("VN", PERIOD, want25, timeout=60)
    R.check(True, "a later change of 2025 at %s still reaches national" % c)


def verify_cmd():
    p = tslib.tierctl_raw(tree.d("VN"), "verify")
    R.eq(p.returncode, 0, "tierctl verify at national exits 0 %s" % (p.stderr.strip()[:300]))


if R.run(setup):
    R.run(enter)
    if R.run(sums):
        R.run(signatures)
        R.run(over_bound)
        R.run(verify_cmd)
R.finish()
