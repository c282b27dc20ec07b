#!/usr/bin/env python3
"""test_verify — `tierctl verify` finds tampering, naming origin and seq.

A local tree (VN, 11, 095 and its three communes) replicates real
reports; then national is stopped and three copies of its node
directory are damaged, each in one way, the way an attacker or a bad
disk would (the stores are edited below tiersync, with LMDB's own
mdb_load or by flipping bytes in data.mdb):

1. one byte inside a commune envelope's body flipped in data.mdb;
2. a chain gap: the commune's seq 5 added (validly signed) after seq 1;
3. a district rollup that does not match its children: a validly
   signed, correctly chained 095 report naming the real child reports
   but with a smaller total.

`verify` (and `verify --all`) passes on the intact store and fails on
each damaged copy, exit 1, with a failure naming that origin and seq
(checked in --json parsed by json and in the human output).
"""

import os
import re
import shutil
import struct
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import tierctl, tierctl_raw  # noqa: E402

R = tslib.Runner("test_verify")
T = None
C1, C2 = "03148", "03151"
scratch = tempfile.mkdtemp(prefix="ts-verify-")


def setup():
    global T
    T = tslib.Tree("095", name="verify")
    T.start()
    T.put(C1, "2026", "9", 47, 52)
    T.put(C2, "2026", "9", 30, 40)
    T.put(C2, "2026", "9", 10, 19, "sex=f")
    want = {("9", ""): (77, 92), ("9", "sex=f"): (10, 19)}
    T.wait_values("VN", "2026", want, unit="095")
    T.wait_values("VN", "2026", want, unit="11")
    T.wait_values("VN", "2026", want)          # national's own rollup too
    T.stop("VN")


def copy_vn(name):
    dst = os.path.join(scratch, name)
    shutil.copytree(T.d("VN"), dst, ignore=shutil.ignore_patterns("control.sock", "pid"))
    return dst


def seed_of(code):
    return bytes.fromhex(tslib.read_keyfile(os.path.join(T.d(code), "sign.key"))["secret"])[:32]


def mdb_put(node_dir, db, pairs):
    """Write key/value pairs into named DB db of the node's store with
    lmdb-utils' mdb_load (the daemon is stopped)."""
    lines = ["VERSION=3", "format=bytevalue", "database=" + db, "type=btree", "HEADER=END"]
    for k, v in pairs:
        lines += [" " + k.hex(), " " + v.hex()]
    lines.append("DATA=END")
    path = os.path.join(scratch, "load.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = tslib.run(["mdb_load", "-f", path, "-s", db, os.path.join(node_dir, "store")])
    if p.returncode != 0:
        raise tslib.TestFailure("mdb_load: " + p.stderr.strip())


def env_key(origin, seq):
    return origin.encode() + b"\0" + struct.pack(">Q", seq)


def verify(d, *extra):
    doc = tierctl(d, "verify", *extra, check=False)
    human = tierctl_raw(d, "verify", *extra)
    return doc, human


def expect_failure(d, origin, seq, word, what):
    for extra in ((), ("--all",)):
        doc, human = verify(d, *extra)
        hit = [f for f in doc["failures"] if f["origin"] == origin and f["seq"] == seq and word in f["what"]]
        R.check(not doc["ok"] and hit, "%s: verify%s --json names %s seq %d (%s): %r" %
                (what, " --all" if extra else "", origin, seq, word, doc["failures"][:3]))
        R.check(human.returncode == 1 and re.search(r"^FAIL  %s seq %d\b.*%s" % (origin, seq, re.escape(word)),
                                                    human.stdout, re.M),
                "%s: verify%s exits 1 with 'FAIL  %s seq %d'" % (what, " --all" if extra else "", origin, seq))


def test_intact():
    for extra in ((), ("--all",)):
        doc, human = verify(T.d("VN"), *extra)
        R.check(doc["ok"] and doc["failed"] == 0 and doc["origins"] == 5 and doc["rollups"] >= 3,
                "intact store: verify%s ok (%r)" % (" --all" if extra else "", {k: doc[k] for k in doc if k != "failures"}))
        R.eq(human.returncode, 0, "intact store: verify%s exits 0" % (" --all" if extra else ""))


def test_tampered_byte():
    d = copy_vn("tamper")
    env = tierctl(T.d("VN"), "log", C1)["envelopes"][0]
    body, _ = tslib.split_env(bytes.fromhex(env["env_hex"]))
    i = body.find(T.topo_version.encode())
    R.check(i > 0, "found the topology id inside the body")
    bad = bytearray(body)
    bad[i + len(T.topo_version) - 1] ^= 0x01          # vn-2025-03 -> vn-2025-02
    path = os.path.join(d, "store", "data.mdb")
    data = open(path, "rb").read()
    n = data.count(body)
    R.check(n >= 1, "the envelope body is in data.mdb (%d copies)" % n)
    with open(path, "wb") as f:
        f.write(data.replace(body, bytes(bad)))
    expect_failure(d, C1, env["seq"], "signature", "byte flipped on disk")


def test_gap():
    d = copy_vn("gap")
    log = tierctl(T.d("VN"), "log", C2)["envelopes"]
    last = log[-1]
    body = tslib.encode_body(C2, "2026", last["seq"] + 4, tslib.body_hash(b"nowhere"), T.topo_version,
                             {("9", ""): (1, 2)})
    mdb_put(d, "env", [(env_key(C2, last["seq"] + 4), tslib.seal(body, seed_of(C2)))])
    expect_failure(d, C2, last["seq"] + 4, "gap", "chain gap")


def test_rollup():
    d = copy_vn("rollup")
    log = tierctl(T.d("VN"), "log", "095")["envelopes"]
    last = log[-1]
    rep = tierctl(T.d("VN"), "report", "2026", "--unit", "095")
    vals = tslib.report_values(rep)
    vals[("9", "")] = (vals[("9", "")][0] - 10, vals[("9", "")][1])   # under the children's sum
    prov = [(p["child"], p["seq"], bytes.fromhex(p["hash"])) for p in rep["provenance"]]
    c = rep["completeness"]
    seq = last["seq"] + 1
    body = tslib.encode_body("095", "2026", seq, bytes.fromhex(last["hash"]), T.topo_version, vals,
                             completeness=(c["expected"], c["reported"], c["on_time"], c["leaf_expected"],
                                           c["leaf_reported"], c["leaf_on_time"]), prov=prov)
    h = tslib.body_hash(body)
    now = rep["created_ms"] + 1000
    mdb_put(d, "env", [(env_key("095", seq), tslib.seal(body, seed_of("095")))])
    mdb_put(d, "chain", [(b"095", struct.pack(">Q", seq) + h + struct.pack(">Q", now))])
    mdb_put(d, "latest", [(b"095\x002026", struct.pack(">Q", seq) + h + struct.pack(">QQ", now, now))])
    doc, _ = verify(d)
    R.check(not [f for f in doc["failures"] if "signature" in f["what"] or "chain" in f["what"]],
            "forged rollup is validly signed and chained (only its sum is wrong): %r" % doc["failures"])
    expect_failure(d, "095", seq, "children alone sum to", "rollup does not match its children")


R.run(setup)
if T is not None:
    R.run(test_intact)
    R.run(test_tampered_byte)
    R.run(test_gap)
    R.run(test_rollup)
shutil.rmtree(scratch, ignore_errors=True)
R.finish()
