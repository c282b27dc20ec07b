#!/usr/bin/env python3
"""test_keys — `tierctl keys show|rotate|revoke|reload` on a running tree.

Tree: VN, 11, 095 and communes 03148, 03151, 03184 (real daemons, one
shared keys file as localtree makes it).

Proves:
- rotate replaces sign.key/curve.key (0600) keeping the old ones as
  *.old, gives the old keys-file line a not_after = now + overlap and
  adds the new line; `keys show` reports the new key;
- with the overlap, the rotated commune stays connected and its reports
  keep flowing before its restart (old key still valid) and after it
  (new key), once every level above ran `keys reload`; verify passes at
  national for reports signed with both keys;
- revoke at the district expires the commune's line and reloads the
  daemon: the open session is dropped (the commune's link goes down),
  the next handshake is refused by ZAP (daemon log, zap_denied metric),
  and a report entered afterwards does not arrive;
- revoking only the rotated commune's OLD key leaves it connected.
"""

import os
import re
import stat
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import tierctl, tierctl_raw, wait_until  # noqa: E402

R = tslib.Runner("test_keys")
T = None
C1, C2 = "03148", "03151"
ROT = {}


def setup():
    global T
    T = tslib.Tree("095", name="keys")
    T.start()
    T.put(C1, "2026", "9", 1, 2)
    T.put(C2, "2026", "9", 3, 4)
    T.wait_values("VN", "2026", {("9", ""): (4, 6)}, unit="095")


def keyfile_lines(code):
    out = []
    with open(os.path.join(T.dir, "keys.tsv")) as f:
        for line in f:
            fl = line.rstrip("\n").split("\t")
            if fl[0] == code:
                out.append(fl)
    return out


def test_rotate():
    d = T.d(C1)
    old_sign = open(os.path.join(d, "sign.key")).read()
    before = tierctl(d, "keys", "show")
    t0 = int(time.time())
    r = tierctl(d, "keys", "rotate", "--overlap", "1h")
    ROT.update(r)
    R.eq(r["old_sign_pk"], before["sign_pk"], "rotate: old key is the one show reported")
    R.check(r["sign_pk"] != r["old_sign_pk"] and r["keys_file_updated"], "rotate: new key, keys file updated")
    R.eq(open(os.path.join(d, "sign.key.old")).read(), old_sign, "rotate: old sign.key kept as sign.key.old")
    for n in ("sign.key", "curve.key", "sign.key.old", "curve.key.old"):
        R.eq(stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode), 0o600, "rotate: %s is 0600" % n)
    sk = tslib.read_keyfile(os.path.join(d, "sign.key"))
    R.eq(sk["public"], r["sign_pk"], "rotate: sign.key holds the new key")
    lines = keyfile_lines(C1)
    R.eq(len(lines), 2, "keys file: two lines for the unit")
    old = [l for l in lines if l[1] == r["old_sign_pk"]]
    new = [l for l in lines if l[1] == r["sign_pk"]]
    R.check(old and len(old[0]) == 4 and t0 + 3600 - 5 <= int(old[0][3]) <= t0 + 3600 + 5,
            "keys file: old line not_after = now + 1h (%r)" % (old,))
    R.check(new and len(new[0]) == 3 and new[0][2] == r["curve_pk"], "keys file: new line without limit")
    R.eq(tierctl(d, "keys", "show")["sign_pk"], r["sign_pk"], "keys show: the new key")
    p = tierctl_raw(d, "keys", "rotate")
    R.check(p.returncode == 1 and "sign.key.old" in p.stderr, "rotate again during the overlap is refused")
    for code in ("095", "11", "VN"):
        R.check("re-read" in tierctl(T.d(code), "keys", "reload", json=False), "keys reload at %s" % code)
    # Still on the old key (daemon not restarted): the overlap keeps it in.
    R.eq(tierctl(d, "status")["link"], "up", "rotated commune still connected (old key, overlap)")
    T.put(C1, "2026", "9", 5, 6)
    T.wait_values("VN", "2026", {("9", ""): (8, 10)}, unit="095")
    T.restart(C1)
    wait_until(lambda: tierctl(d, "status")["link"] == "up", 30, "rotated commune reconnects with its new key")
    T.put(C1, "2026", "9", 7, 8)
    T.wait_values("VN", "2026", {("9", ""): (10, 12)}, unit="095")
    envs = tslib.log_envelopes(tierctl(T.d("VN"), "log", C1))
    b0, s0 = tslib.split_env(envs[0][2])
    b1, s1 = tslib.split_env(envs[-1][2])
    R.check(tslib.verify_sig(b0, s0, bytes.fromhex(r["old_sign_pk"])) and
            tslib.verify_sig(b1, s1, bytes.fromhex(r["sign_pk"])),
            "national holds reports signed with the old and with the new key")
    v = tierctl(T.d("VN"), "verify", check=False)
    R.check(v["ok"], "verify at national passes across the rotation (%r)" % v["failures"][:3])


def zap_refusals(code, who_curve):
    return T.daemon_log(code).count("refused CURVE key %s" % who_curve)


def test_revoke():
    d = T.d(C2)
    curve = T.keys[C2][1]
    seq_before = tierctl(T.d("095"), "log", C2)["envelopes"][-1]["seq"]
    out = tierctl(T.d("095"), "keys", "revoke", C2)
    R.check(out["lines"] == 1 and out["daemon_reloaded"], "revoke: one line expired, daemon reloaded")
    lines = keyfile_lines(C2)
    R.check(len(lines) == 1 and len(lines[0]) == 4 and int(lines[0][3]) < time.time(),
            "keys file: the line now has a past not_after")
    wait_until(lambda: tierctl(d, "status")["link"] == "down", 40, "revoked commune's link goes down")
    R.check("revoked or expired: session dropped" in T.daemon_log("095"), "district dropped the open session")
    wait_until(lambda: zap_refusals("095", curve) >= 1, 40, "ZAP refuses the revoked key at the next connect")
    wait_until(lambda: tierctl(T.d("095"), "metrics")["n_zap_denied"] >= 1, 20, "zap_denied metric persisted")
    T.put(C2, "2026", "9", 100, 100)
    wait_until(lambda: tierctl(d, "outbox")["count"] >= 1, 20, "the new report waits in the revoked commune's outbox")
    n = zap_refusals("095", curve)
    wait_until(lambda: zap_refusals("095", curve) > n, 60, "another refused handshake after the new report")
    R.eq(tierctl(T.d("095"), "log", C2)["envelopes"][-1]["seq"], seq_before,
         "the district received nothing from the revoked commune")


def test_revoke_old_key_only():
    out = tierctl(T.d("095"), "keys", "revoke", C1, "--key", ROT["old_sign_pk"])
    R.eq(out["lines"], 1, "revoke --key: only the old line of the rotated commune")
    T.put(C1, "2026", "9", 1, 1)
    T.wait_values("095", "2026", {("9", ""): (4, 5)})   # 1/1 + 03151's 3/4
    R.eq(tierctl(T.d(C1), "status")["link"], "up", "rotated commune (new key) stays connected")
    p = tierctl_raw(T.d("095"), "keys", "revoke", "NOPE7")
    R.check(p.returncode == 1 and "NOPE7" in p.stderr, "revoke of an unknown unit names it, exit 1")


R.run(setup)
if T is not None:
    R.run(test_rotate)
    R.run(test_revoke)
    R.run(test_revoke_old_key_only)
R.finish()
