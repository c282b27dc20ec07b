#!/usr/bin/env python3
"""test_cli — tierctl's contract for init, put, import, status and report.

Proves:
- `tierctl init` creates the node directory 0700 with node.conf, sign.key
  and curve.key 0600, prints exactly one keys-file line
  CODE<TAB>sign_pk_hex(64)<TAB>curve_pk_z85(40) whose keys match the key
  files, and whose secret keys really belong to those public keys (checked
  with Python nacl and pyzmq, independent of the C code);
- init refuses an existing node directory and leaves it untouched;
- init writes the shipped catalogue (domain/catalogue.tsv for the build
  tree's tierctl) into node.conf's `catalogue`, --catalogue FILE another,
  --no-catalogue none; a --catalogue that does not load creates nothing;
- entry against the catalogue: `put 2025 99 1 2` is refused naming 99 and
  listing the valid ids, a key the catalogue does not define for the
  indicator (--dis f for 9) naming it and the valid keys; an import with
  an unknown indicator or key names FILE:LINE:COL; nothing is stored; a
  catalogue indicator, a key it allows and a plan's key (20 age=2-3) are
  accepted; a node.conf without a catalogue warns and accepts as before;
- a failed first `register import` leaves no register behind;
- `put` with a bad period, indicator, number or disaggregation exits
  non-zero with a message naming the field, and stores nothing;
- `import` of a CSV with one bad row (bad period, bad number, wrong field
  count, duplicate key) names FILE:LINE:COL of the fault and stores
  nothing at all, not even the good rows (daemon running);
- a good import lands: its values show in the report;
- `status` and `report` work, from the store, with the daemon stopped;
- every command that talks to the daemon (put, import, compute, keys
  reload) fails with the daemon stopped, naming the control socket
  (ipc://DIR/control.sock), and stores nothing; a stale socket file with
  no daemon behind it gives the same message after the 3 s connect
  timeout, not a hang.
"""

import os
import re
import stat
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import tierctl, tierctl_raw, read_keyfile, report_values  # noqa: E402
import nacl.signing  # noqa: E402
import zmq  # noqa: E402

COMMUNE = "03391"
R = tslib.Runner("test_cli")
tree = None
scratch = None


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def init():
    global scratch
    import tempfile
    scratch = tempfile.mkdtemp(prefix="ts-cli-")
    node = os.path.join(scratch, "n1")
    keys = os.path.join(scratch, "keys.tsv")
    p = tierctl_raw(None, "init", node, "--unit", "109", "--topology", tslib.TOPOLOGY,
                    "--keys", keys, "--listen", "tcp://127.0.0.1:%d" % tslib.free_port(),
                    "--parent", "tcp://127.0.0.1:%d" % tslib.free_port())
    R.eq(p.returncode, 0, "init exits 0 (%s)" % p.stderr.strip()[:200])
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    R.eq(len(lines), 1, "init prints exactly one line on stdout")
    f = lines[0].split("\t") if lines else []
    R.check(len(f) == 3 and f[0] == "109" and re.fullmatch(r"[0-9a-f]{64}", f[1] or "")
            and len(f[2]) == 40, "init prints CODE<TAB>sign_pk_hex<TAB>curve_pk_z85: %r" % lines[:1])
    R.eq(mode(node), 0o700, "node dir is 0700")
    for name in ("node.conf", "sign.key", "curve.key"):
        path = os.path.join(node, name)
        R.check(os.path.isfile(path) and mode(path) == 0o600,
                "%s exists with mode 0600 (%s)" % (name, oct(mode(path)) if os.path.exists(path) else "missing"))
    sk = read_keyfile(os.path.join(node, "sign.key"))
    ck = read_keyfile(os.path.join(node, "curve.key"))
    R.eq(sk.get("public"), f[1] if len(f) > 1 else None, "printed sign pk = sign.key public")
    R.eq(ck.get("public"), f[2] if len(f) > 2 else None, "printed curve pk = curve.key public")
    secret = bytes.fromhex(sk["secret"])
    R.eq(len(secret), 64, "sign.key secret is 64 bytes (seed || pk)")
    R.eq(nacl.signing.SigningKey(secret[:32]).verify_key.encode().hex(), sk["public"],
         "sign.key secret derives its public key (nacl)")
    R.eq(zmq.curve_public(ck["secret"].encode()).decode(), ck["public"],
         "curve.key secret derives its public key (libzmq)")
    before = {n: open(os.path.join(node, n), "rb").read() for n in ("node.conf", "sign.key", "curve.key")}
    p = tierctl_raw(None, "init", node, "--unit", "109", "--topology", tslib.TOPOLOGY, "--keys", keys)
    R.check(p.returncode != 0 and p.stderr.strip(), "init refuses an existing node dir with a message (%s)"
            % p.stderr.strip()[:200])
    after = {n: open(os.path.join(node, n), "rb").read() for n in before}
    R.check(before == after, "the existing node dir is left untouched")
    p = tierctl_raw(None, "init", os.path.join(scratch, "n2"), "--unit", "NOPE1", "--topology", tslib.TOPOLOGY,
                    "--keys", keys)
    R.check(p.returncode != 0 and "NOPE1" in p.stderr, "init refuses a unit not in the topology, naming it")
    R.eq(conf_keys(node).get("catalogue"), os.path.realpath(CAT),
         "init writes the shipped catalogue (the source tree's, for build/tierctl) into node.conf")


CAT = os.path.join(tslib.SRCDIR, "domain", "catalogue.tsv")


def conf_keys(node):
    out = {}
    with open(os.path.join(node, "node.conf")) as f:
        for line in f:
            kv = line.split(None, 1)
            if kv and not kv[0].startswith("#"):
                out[kv[0]] = kv[1].strip() if len(kv) > 1 else ""
    return out


def init_catalogue():
    keys = os.path.join(scratch, "keys.tsv")
    base = ["--unit", COMMUNE, "--topology", tslib.TOPOLOGY, "--keys", keys,
            "--parent", "tcp://127.0.0.1:%d" % tslib.free_port()]
    other = os.path.join(scratch, "other-catalogue.tsv")
    with open(CAT, encoding="utf-8") as f:
        text = f.read()
    with open(other, "w", encoding="utf-8") as f:
        f.write(text)
    n3 = os.path.join(scratch, "n3")
    p = tierctl_raw(None, "init", n3, *base, "--catalogue", other)
    R.eq(p.returncode, 0, "init --catalogue FILE exits 0 (%s)" % p.stderr.strip()[:200])
    R.eq(conf_keys(n3).get("catalogue"), os.path.realpath(other), "init --catalogue FILE names FILE in node.conf")
    n4 = os.path.join(scratch, "n4")
    p = tierctl_raw(None, "init", n4, *base, "--no-catalogue")
    R.eq(p.returncode, 0, "init --no-catalogue exits 0 (%s)" % p.stderr.strip()[:200])
    R.check("catalogue" not in conf_keys(n4), "init --no-catalogue writes no catalogue key")
    bad = os.path.join(scratch, "bad-catalogue.tsv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(text.replace("!version\t", "!versio\t"))
    for cat, words in ((bad, "bad-catalogue.tsv:"), (os.path.join(scratch, "none.tsv"), "none.tsv")):
        n5 = os.path.join(scratch, "n5")
        p = tierctl_raw(None, "init", n5, *base, "--catalogue", cat)
        R.check(p.returncode != 0 and words in p.stderr and "catalogue" in p.stderr,
                "init --catalogue %s is refused naming it: %r" % (os.path.basename(cat), p.stderr.strip()[:200]))
        R.check(not os.path.exists(n5), "and creates nothing")
    p = tierctl_raw(None, "init", os.path.join(scratch, "n6"), *base, "--no-catalogue", "--catalogue", other)
    R.eq(p.returncode, 2, "--catalogue with --no-catalogue is a usage error")


def setup_tree():
    global tree
    tree = tslib.Tree(COMMUNE, name="cli")
    tree.start()


def stored_nothing(what):
    vals = report_or_empty(COMMUNE, "2025") | report_or_empty(COMMUNE, "2024")
    R.eq(vals, {}, "%s: nothing stored" % what)


def report_or_empty(code, period):
    p = tierctl_raw(tree.d(code), "report", period, "--json")
    if p.returncode != 0:
        return {}  # no report for the period yet
    import json
    return report_values(json.loads(p.stdout))


def bad_put():
    d = tree.d(COMMUNE)
    cases = [
        (("put", "2025Q5", "9", "1", "2"), "period"),
        (("put", "20x5", "9", "1", "2"), "period"),
        (("put", "2025", "bad ind!", "1", "2"), "ind"),
        (("put", "2025", "9", "-1", "2"), "num"),
        (("put", "2025", "9", "abc", "2"), "num"),
        (("put", "2025", "9", "1", "2x"), "den"),
        (("put", "2025", "9", "99999999999999999999999", "2"), "num"),
        (("put", "2025", "9", "1", "2", "--dis", "a,b"), "dis"),
        (("put", "2025"), None),
        # the bound of every numerator and denominator, 2^53 - 1
        (("put", "2025", "9", "18446744073709551615", "18446744073709551615"), "2^53 - 1"),
        (("put", "2025", "9", "9007199254740992", "1"), "2^53 - 1"),
        (("put", "2025", "9", "1", "9007199254740992"), "2^53 - 1"),
    ]
    for args, field in cases:
        p = tierctl_raw(d, *args)
        msg = p.stderr.strip()
        ok = p.returncode != 0 and msg and (field is None or field in msg.lower())
        R.check(ok, "%s -> exit %d, message names %s: %r" % (" ".join(args), p.returncode, field, msg[:160]))
    stored_nothing("after bad puts")


HEADER = "period,indicator,disaggregation,numerator,denominator\n"
BAD = [
    ("bad_period.csv", HEADER + "2025,9,,1,2\n2025,14,,5,0\n2025Q7,9,sex=f,1,2\n", 4, 1),
    ("bad_number.csv", HEADER + "2025,9,,1,2\n2025,14,,5x,0\n", 3, 4),
    ("bad_den.csv", HEADER + "2025,9,,1,-2\n", 2, 5),
    ("bad_fields.csv", HEADER + "2025,9,,1,2\n2025,14,5,0\n", 3, None),
    ("bad_dup.csv", HEADER + "2025,9,,1,2\n2024,9,,1,2\n2025,9,,3,4\n", 4, None),
    ("bad_bound.csv", HEADER + "2025,9,,1,2\n2025,14,,9007199254740992,0\n", 3, 4),
]


def bad_import():
    d = tree.d(COMMUNE)
    for name, text, line, col in BAD:
        path = os.path.join(scratch, name)
        with open(path, "w") as f:
            f.write(text)
        p = tierctl_raw(d, "import", path)
        msg = p.stderr.strip()
        if col is not None:
            where = "%s:%d:%d" % (name, line, col)
        else:
            where = "%s:%d:" % (name, line)
        R.check(p.returncode != 0 and where in msg,
                "import %s -> exit %d, message names %s: %r" % (name, p.returncode, where, msg[:200]))
        stored_nothing("after import of %s" % name)


GOOD = {("9", ""): (41, 50), ("9", "sex=f"): (20, 24), ("14", ""): (37, 0)}


def good_import():
    path = os.path.join(scratch, "good.csv")
    with open(path, "w") as f:
        f.write(HEADER)
        for (ind, dis), (num, den) in sorted(GOOD.items()):
            f.write("2025,%s,%s,%d,%d\n" % (ind, dis, num, den))
        f.write("2024,9,,7,8\n")
    p = tierctl_raw(tree.d(COMMUNE), "import", path)
    R.eq(p.returncode, 0, "good import exits 0 (%s)" % p.stderr.strip()[:200])
    tree.wait_values(COMMUNE, "2025", GOOD, timeout=20)
    R.eq(tree.values(COMMUNE, "2025"), GOOD, "imported 2025 values show in the report")
    R.eq(tree.values(COMMUNE, "2024"), {("9", ""): (7, 8)}, "imported 2024 value shows in the report")
    # and they travel: the district sums them
    tree.wait_values("109", "2025", GOOD, timeout=30)
    R.check(True, "imported values reach the district")


WANT2023 = {("9", "sex=f"): (3, 4), ("25b", "age=11-15"): (1, 2), ("20", "age=2-3"): (5, 6), ("1", ""): (1, 1)}


def catalogue_put():
    d = tree.d(COMMUNE)
    R.eq(conf_keys(d).get("catalogue"), os.path.realpath(CAT), "localtree's nodes name the shipped catalogue")
    p = tierctl_raw(d, "put", "2025", "99", "1", "2")
    msg = p.stderr.strip()
    R.check(p.returncode == 1 and "'99'" in msg and "not in catalogue vn-apc-2021-2030" in msg
            and "valid indicators: 1 2 3 " in msg and " 15b " in msg and msg.endswith(" 29"),
            "put 2025 99 1 2 is refused naming 99 and listing the valid ids: %r" % msg[:300])
    p = tierctl_raw(d, "put", "2025", "9", "1", "2", "--dis", "f")
    msg = p.stderr.strip()
    R.check(p.returncode == 1 and "--dis" in msg and "'f'" in msg and "indicator 9" in msg
            and "sex=m sex=f eth=0 eth=1 dis=0 dis=1" in msg and "age=" not in msg,
            "put --dis f for 9 is refused naming the key and the valid ones: %r" % msg[:300])
    for args in (("2025", "9", "1", "2", "--dis", "age=0-4"),     # 9 has no age dimension
                 ("2025", "1", "1", "1", "--dis", "sex=f"),       # 1 has none at all
                 ("2025", "20", "1", "2", "--dis", "age=0-4")):   # 20: only its plan's two groups
        p = tierctl_raw(d, "put", *args)
        R.check(p.returncode == 1 and ("'%s'" % args[-1]) in p.stderr,
                "put %s is refused naming the key: %r" % (" ".join(args), p.stderr.strip()[:200]))
    stored_nothing("after puts the catalogue does not define")
    # What the catalogue defines is accepted (2023: not compared elsewhere).
    want = WANT2023
    for (ind, dis), (num, den) in sorted(want.items()):
        p = tierctl_raw(d, "put", "2023", ind, str(num), str(den), *(("--dis", dis) if dis else ()))
        R.eq((p.returncode, p.stderr.strip()), (0, ""), "put 2023 %s %s accepted, no warning" % (ind, dis or "(total)"))
    tree.wait_values(COMMUNE, "2023", want, timeout=20)
    R.eq(tree.values(COMMUNE, "2023"), want, "the accepted values are stored")


def catalogue_import():
    d = tree.d(COMMUNE)
    cases = [
        ("unknown_ind.csv", HEADER + "2025,9,,1,2\n2025,99,,5,0\n2025,14,,5,0\n", "unknown_ind.csv:3:2: indicator '99'"),
        ("unknown_key.csv", HEADER + "2025,9,,1,2\n2025,9,male,5,7\n", "unknown_key.csv:3:3: disaggregation 'male'"),
    ]
    for name, text, where in cases:
        path = os.path.join(scratch, name)
        with open(path, "w") as f:
            f.write(text)
        p = tierctl_raw(d, "import", path)
        msg = p.stderr.strip()
        R.check(p.returncode == 1 and where in msg and "valid" in msg and "nothing was sent" in msg,
                "import %s is refused naming %s: %r" % (name, where, msg[:300]))
        stored_nothing("after import of %s" % name)


def no_catalogue():
    """A node.conf naming no catalogue (made before init wrote one): a
    warning, and the value is entered as before."""
    d = tree.d(COMMUNE)
    path = os.path.join(d, "node.conf")
    with open(path) as f:
        text = f.read()
    try:
        with open(path, "w") as f:
            f.write("".join(l for l in text.splitlines(True) if not l.startswith("catalogue ")))
        p = tierctl_raw(d, "put", "2023", "99", "1", "2")
        msg = p.stderr.strip()
        R.check(p.returncode == 0 and "warning" in msg and "names no catalogue" in msg,
                "without a catalogue put 2023 99 is accepted with a warning: %r" % msg[:200])
    finally:
        with open(path, "w") as f:
            f.write(text)
    want = dict(WANT2023)
    want[("99", "")] = (1, 2)
    tree.wait_values(COMMUNE, "2023", want, timeout=20)
    R.eq(tree.values(COMMUNE, "2023"), want, "the unchecked value is stored, as before catalogues")


def register_failed_import():
    """A failed first register import creates no register (issue 14)."""
    d = tree.d(COMMUNE)
    reg = os.path.join(d, "register")
    R.check(not os.path.exists(reg), "no register before the first import")
    bad_header = os.path.join(scratch, "reg_bad_header.csv")
    with open(bad_header, "w") as f:
        f.write("bogus\n")
    bad_row = os.path.join(scratch, "reg_bad_row.csv")
    with open(bad_row, "w") as f:
        f.write("id,child_id,kind,occurred,detected,intervention,support,died\n"
                "k1,nobody,injury,2025-01-02,2025-01-03,0,0,0\n")
    for path in (bad_header, bad_row):
        for extra in ((), ("--json",)):
            p = tierctl_raw(d, "register", "import", path, *extra)
            R.check(p.returncode == 1 and "nothing was stored" in p.stderr,
                    "register import %s %s fails: %r" % (os.path.basename(path), " ".join(extra),
                                                         p.stderr.strip()[-200:]))
            R.check(not os.path.exists(reg), "and leaves no register behind (%s)" % os.listdir(d))


def catalogue_compute():
    """compute refuses, before sending, register indicators the node's
    catalogue lacks (a catalogue copy without 25b)."""
    d = tree.d(COMMUNE)
    reg = os.path.join(scratch, "children.csv")
    with open(reg, "w") as f:
        f.write("id,birth_date,sex,ethnic_minority,disability,birth_registered,health_insurance,"
                "immunisation,measured_on,underweight,stunted,obese,school,special,special_support,death_date\n"
                "G1,2016-01-01,m,1,1,2016-01-05,1,full12,,,,,primary,none,0,\n")
    p = tierctl_raw(d, "register", "import", reg, "--no-compute")
    R.eq(p.returncode, 0, "register import --no-compute exits 0 (%s)" % p.stderr.strip()[:200])
    cat = os.path.join(scratch, "cat-no-25b", "catalogue.tsv")
    os.makedirs(os.path.dirname(cat))
    with open(CAT, encoding="utf-8") as f:
        lines = [l for l in f.read().splitlines(True) if not l.startswith("25b\t")]
    with open(cat, "w", encoding="utf-8") as f:
        f.write("".join(lines))
    path = os.path.join(d, "node.conf")
    with open(path) as f:
        text = f.read()
    try:
        with open(path, "w") as f:
            f.write("".join(l if not l.startswith("catalogue ") else "catalogue %s\n" % cat
                            for l in text.splitlines(True)))
        p = tierctl_raw(d, "compute", "2022")
        msg = p.stderr.strip()
        R.check(p.returncode == 1 and "indicator '25b' is not in catalogue" in msg,
                "compute with a catalogue lacking 25b is refused naming it: %r" % msg[:200])
    finally:
        with open(path, "w") as f:
            f.write(text)
    R.eq(report_or_empty(COMMUNE, "2022"), {}, "nothing sent for 2022")
    p = tierctl_raw(d, "compute", "2022")
    R.eq(p.returncode, 0, "compute with the shipped catalogue is accepted (%s)" % p.stderr.strip()[:200])
    R.check(("25b", "") in wait_report(COMMUNE, "2022"), "and its values, 25b among them, are stored")


def wait_report(code, period):
    tslib.wait_until(lambda: report_or_empty(code, period) != {}, 20, "a %s report at %s" % (period, code))
    return report_or_empty(code, period)


def daemon_stopped():
    tree.stop()
    R.check(not any(tree.alive(c) for c in tree.codes), "all daemons stopped")
    for code in (COMMUNE, "109"):
        st = tierctl(tree.d(code), "status")
        R.check(st["unit"] == code,
                "status --json of %s works with the daemon stopped" % code)
        p = tierctl_raw(tree.d(code), "status")
        R.check(p.returncode == 0 and code in p.stdout, "human status of %s works with the daemon stopped" % code)
    R.eq(tree.values(COMMUNE, "2025"), GOOD, "report --json works with the daemon stopped")
    p = tierctl_raw(tree.d("109"), "report", "2025")
    R.check(p.returncode == 0 and "41" in p.stdout, "human report works with the daemon stopped")
    p = tierctl_raw(tree.d(COMMUNE), "put", "2025", "9", "1", "2")
    R.check(p.returncode != 0 and p.stderr.strip(), "put without a daemon fails with a message (%r)"
            % p.stderr.strip()[:160])


def control_socket_errors():
    """One client (tools/tierctl/ctlclient.c) for every control request:
    each names the socket it found no daemon on."""
    import socket
    import time
    d = tree.d(COMMUNE)
    sock = os.path.join(os.path.realpath(d), "control.sock")
    csv = os.path.join(scratch, "more.csv")
    with open(csv, "w") as f:
        f.write(HEADER + "2025,14,,99,0\n")
    for args in (("put", "2025", "9", "1", "2"), ("import", csv), ("compute", "2025"),
                 ("keys", "reload")):
        p = tierctl_raw(d, *args)
        msg = p.stderr.strip()
        R.check(p.returncode != 0 and ("ipc://%s" % sock) in msg and "is it running?" in msg
                and "no socket file" in msg,
                "%s with the daemon stopped names ipc://.../control.sock: %r" % (" ".join(args), msg[:200]))
    R.eq(tree.values(COMMUNE, "2025"), GOOD, "nothing stored by the refused requests")
    # A socket file left behind (kill -9) with nothing listening.
    if os.path.exists(sock):
        os.unlink(sock)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(sock)
        t0 = time.monotonic()
        p = tierctl_raw(d, "put", "2025", "9", "1", "2")
        took = time.monotonic() - t0
        msg = p.stderr.strip()
        R.check(p.returncode != 0 and ("ipc://%s" % sock) in msg and "could not connect within 3 s" in msg,
                "put to a stale control.sock names it and says it could not connect: %r" % msg[:200])
        R.check(took < 15, "and gives up after the connect timeout (%.1f s)" % took)
    finally:
        s.close()
        os.unlink(sock)
    R.eq(tree.values(COMMUNE, "2025"), GOOD, "nothing stored by the put to the stale socket")


def raw_control():
    """What tierctl would never send, sent to the control socket directly
    (pyzmq REQ, msgpack): the daemon refuses it and stores nothing."""
    import msgpack
    import zmq
    sock = os.path.join(os.path.realpath(tree.d(COMMUNE)), "control.sock")
    before = report_or_empty(COMMUNE, "2025")
    cases = [
        ([1, 16, "2025", [["9", "", 1, 2], ["9", "", 3, 4]]], "given twice"),
        ([1, 16, "2025", [["9", "", 2 ** 53, 1]]], "2^53 - 1"),
        ([1, 16, "2025", [["9", "", 1, 2 ** 64 - 1]]], "2^53 - 1"),
    ]
    ctx = zmq.Context.instance()
    for msg, words in cases:
        s = ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect("ipc://" + sock)
        s.send(msgpack.packb(msg, use_bin_type=True))
        R.check(s.poll(10000 * tslib.TIME_SCALE), "the daemon answers %r" % (msg,))
        rep = msgpack.unpackb(s.recv(), raw=False)
        s.close()
        R.check(isinstance(rep, list) and len(rep) >= 4 and rep[2] == 2 and words in rep[3],
                "CTL_PUT %r -> malformed, naming %r: %r" % (msg[3], words, rep))
    R.eq(report_or_empty(COMMUNE, "2025"), before, "nothing stored by the refused CTL_PUTs")


if R.run(init):
    R.run(init_catalogue)
    if R.run(setup_tree):
        R.run(bad_put)
        R.run(bad_import)
        R.run(catalogue_put)
        R.run(catalogue_import)
        R.run(no_catalogue)
        R.run(register_failed_import)
        R.run(catalogue_compute)
        R.run(raw_control)
        if R.run(good_import):
            if R.run(daemon_stopped):
                R.run(control_socket_errors)
if scratch:
    import shutil
    shutil.rmtree(scratch, ignore_errors=True)
R.finish()
