#!/usr/bin/env python3
"""test_chainauth — one signature verify per origin run, the rest through the hash chain.

Tree: VN → 12 → 109 → 03391.  The real commune reports once, then its
daemon is stopped and this script plays it (its real CURVE and signing
keys; its own ZeroMQ, msgpack and Ed25519), towards district 109.  The
rule under test (docs/PROTOCOL.md §3.1): in one PUSH, an envelope is
authentic if its own signature verifies, or if the next envelope of the
same origin later in the PUSH is authentic, has seq + 1 and names this
body's hash as prev.  Proves:
(a) a run of 3 valid envelopes is stored with ONE verify (109's metrics:
    n_sig_verified +1, n_sig_chained +2), relayed, and the province and
    national also authenticate the relayed run through the chain;
(b) a run whose NEWEST envelope is forged: the forged one is refused (sig),
    the older one is verified on its own and stored;
(c) a forged envelope followed by a valid one that does not name it as
    prev: the forged one is refused (sig), nothing of it is stored, the
    valid one is a gap;
(d) signature bytes altered on an envelope that its valid successor
    authenticates: the body is authentic and stored (the origin's
    signature on the successor commits to it), relayed, and `tierctl
    verify` at 109 and national passes by the same rule, noting one
    envelope authentic through the chain only (chained_only 1), so
    tampering in transit is visible without failing verify forever.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import (wait_until, encode_body, seal, body_hash, split_env,  # noqa: E402
                   decode_body, log_envelopes)
import msgpack  # noqa: E402

COMMUNE, PARENT, PERIOD = "03391", "109", "2025"
ST = {"stored": 0, "held": 1, "sig": 3, "gap": 7}
R = tslib.Runner("test_chainauth")
tree = None
child = None
seed = None


def metric(code, name):
    doc = tslib.tierctl(tree.d(code), "metrics")
    return doc[name]


def held(code):
    """[(seq, body)] of the commune's chain held at node `code`."""
    out = []
    for _, _, env in log_envelopes(tslib.tierctl(tree.d(code), "log", COMMUNE)):
        body, _ = split_env(env)
        out.append((decode_body(body)["seq"], body))
    return out


def push(envs):
    """One PUSH; returns the ACK's statuses (ERRs are kept in child.errs)."""
    return child.push(envs, err_wait=0)


def body(seq, prev, n):
    return encode_body(COMMUNE, PERIOD, seq, prev, tree.topo_version,
                       {("9", ""): (n, 100), ("14", ""): (n // 2, 0)})


def setup():
    global tree, child, seed
    tree = tslib.Tree(COMMUNE, name="chainauth")
    tree.start()
    tree.put(COMMUNE, PERIOD, "9", 10, 100)
    tree.wait_values(PARENT, PERIOD, {("9", ""): (10, 100)}, timeout=60)
    tree.stop(COMMUNE)
    R.check(not tree.alive(COMMUNE), "real commune daemon stopped; this script plays it")
    child = tslib.Child(tree, COMMUNE, PARENT, batch=500)
    seed = child.seed
    m = child.hello()
    R.check(isinstance(m, list) and m[:2] == [1, 2], "HELLO answered by WELCOME: %r" % (m,)[:80])


def tip():
    h = held(PARENT)
    return h[-1][0], body_hash(h[-1][1])


def run_of_three():
    seq, prev = tip()
    v0, c0 = metric(PARENT, "n_sig_verified"), metric(PARENT, "n_sig_chained")
    envs = []
    for i in range(3):
        b = body(seq + 1 + i, prev, 20 + i)
        envs.append(seal(b, seed))
        prev = body_hash(b)
    R.eq(push(envs), [ST["stored"]] * 3, "a run of 3 valid envelopes -> stored, stored, stored")
    R.eq(metric(PARENT, "n_sig_verified") - v0, 1, "109 verified ONE signature for the run")
    R.eq(metric(PARENT, "n_sig_chained") - c0, 2, "109 authenticated 2 through the hash chain")
    R.eq([s for s, _ in held(PARENT)][-3:], [seq + 1, seq + 2, seq + 3], "109 holds the run")
    wait_until(lambda: [s for s, _ in held("VN")][-1:] == [seq + 3], 30,
               "national to hold the relayed run up to seq %d" % (seq + 3))
    R.check(metric("VN", "n_sig_chained") >= 2 and metric("12", "n_sig_chained") >= 2,
            "province and national also authenticated the relayed run through the chain")


def forged_newest():
    seq, prev = tip()
    b1 = body(seq + 1, prev, 31)
    b2 = body(seq + 2, body_hash(b1), 32)
    v0 = metric(PARENT, "n_sig_verified")
    st = push([seal(b1, seed), seal(b2, os.urandom(32))])
    R.eq(st, [ST["stored"], ST["sig"]], "valid then forged newest -> stored, sig")
    R.eq(metric(PARENT, "n_sig_verified") - v0, 2, "both signatures were verified (no chain to lean on)")
    R.eq(tip()[0], seq + 1, "109's chain ends at the valid one")


def forged_not_linked():
    seq, prev = tip()
    bf = body(seq + 1, prev, 999)                 # forged: signed by another key
    bv = body(seq + 2, body_hash(body(seq + 1, prev, 41)), 42)  # valid, names another body
    st = push([seal(bf, os.urandom(32)), seal(bv, seed)])
    R.eq(st, [ST["sig"], ST["gap"]], "forged + valid successor that does not name it -> sig, gap")
    R.eq(tip()[0], seq, "nothing of the forged envelope was stored")


def altered_signature_bytes():
    seq, prev = tip()
    b1 = body(seq + 1, prev, 51)
    b2 = body(seq + 2, body_hash(b1), 52)
    e1 = msgpack.packb([b1, os.urandom(64)], use_bin_type=True)   # body authentic, sig bytes altered
    st = push([e1, seal(b2, seed)])
    R.eq(st, [ST["stored"], ST["stored"]],
         "altered signature bytes on an envelope its valid successor names -> body stored")
    # One rule at ingest and in verify (PROTOCOL.md 3.1): what 109
    # accepted verifies, at 109 and at every node it was relayed to, and
    # verify says how many envelopes were authentic through the chain only.
    tree.wait_values("VN", PERIOD, {("9", ""): (52, 100), ("14", ""): (26, 0)}, timeout=60)
    for code in (PARENT, "VN"):
        p = tslib.tierctl_raw(tree.d(code), "verify")
        R.eq(p.returncode, 0, "tierctl verify at %s passes: the altered signature's body is "
             "authentic through the chain (%s)" % (code, (p.stdout + p.stderr).strip()[-200:]))
        R.check("1 envelope(s) authentic through the hash chain only" in p.stdout,
                "tierctl verify at %s notes the one chain-only envelope: %r" % (code, p.stdout.strip()[-200:]))
        doc = tslib.tierctl(tree.d(code), "verify")
        R.eq(doc["chained_only"], 1, "verify --json at %s: chained_only 1" % code)


if R.run(setup):
    R.run(run_of_three)
    R.run(forged_newest)
    R.run(forged_not_linked)
    R.run(altered_signature_bytes)
if child is not None:
    child.close()
R.finish()
