#!/usr/bin/env python3
"""Write the hand-made seed inputs of the fuzz corpora (docs/FUZZING.md).

Seeds are valid inputs (golden vectors, test fixtures, shipped topology
excerpts, the CSV examples of test_cli) plus a few classic hostile ones.
The committed corpus is these seeds merged with what fuzzing found
(tools/fuzz --merge).  Usage: tests/fuzz/seeds.py OUTDIR  (writes
OUTDIR/<target>/seed-*).  Needs Debian's python3-msgpack.
"""
import glob
import hashlib
import os
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "seeds")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


golden = {}
with open(os.path.join(SRC, "tests/data/golden-proto.txt")) as f:
    for line in f:
        k, v = line.split()
        golden[k] = v

# ---- envelope: envelopes and bare bodies ----
for k in ("env_a", "env_b", "body_a", "body_b"):
    put("envelope", k, bytes.fromhex(golden[k]))
H1, H2 = b"\x11" * 32, b"\x22" * 32


def body(seq=2, prev=H1, values=(), prov=(), comp=(3, 2, 1, 17, 9, 4)):
    return pack([1, "tiersync/report/v1", "109", "2025-07", seq, prev,
                 "vn-2025-03", "apc-2021-2030", 1764000000000, list(comp),
                 [list(v) for v in values], [list(p) for p in prov]])


b = body(values=[("14", "", 37, 0), ("9", "", 41, 50), ("9", "f", 20, 24)],
         prov=[("03391", 3, H1), ("03394", 1, H2)])
put("envelope", "rollup-body", b)
put("envelope", "rollup-env", pack([b, b"\x5a" * 64]))
b = body(seq=1, prev=b"\0" * 32, values=[("9", "x" * 64, 2**64 - 1, 2**32)])
put("envelope", "limits-env", pack([b, b"\x01" * 64]))
put("envelope", "big-seq-body", body(seq=2**63, values=[("1.1", "", 300, 70000)]))
for name, data in [("dd-huge", "ddffffffff"), ("dd-zero", "dd ff 00 00 00"),
                   ("str32", "92c6ffffffffc440"), ("empty-arr", "90"),
                   ("trailing", golden["env_b"] + "00")]:
    put("envelope", name, bytes.fromhex(data.replace(" ", "")))

# ---- link: every message type ----
for k in ("hello", "welcome", "push", "ack", "err", "ping", "pong",
          "ctl_put", "ctl_reply"):
    put("link", k, bytes.fromhex(golden[k]))
put("link", "ctl_replace", pack([1, 18, "2025", ["9", "14"],
                                 [["9", "", 1, 2], ["14", "f", 3, 0]]]))
put("link", "ctl_reload", pack([1, 19]))
put("link", "err-empty-origin", pack([1, 5, 13, "PUSH before HELLO", "", 0]))
put("link", "push-empty", pack([1, 3, 0, []]))
put("link", "push-two", pack([1, 3, 2**40, [bytes.fromhex(golden["env_a"]),
                                             bytes.fromhex(golden["env_b"])]]))
put("link", "ack-all", pack([1, 4, 7, list(range(14))]))
put("link", "welcome-big", pack([1, 2, "VN", [["%05d" % i, i + 1, H2]
                                               for i in range(20)]]))
put("link", "version2", pack([2, 1, "01", "x"]))
put("link", "dd-huge", bytes.fromhex("ddffffffff"))

# ---- topology: fixtures and excerpts of the shipped trees ----
for p in sorted(glob.glob(os.path.join(SRC, "tests/data/topo/*.tsv"))):
    put("topology", os.path.basename(p), open(p, "rb").read())


def excerpt(path, keep_root):
    lines = open(path, encoding="utf-8").read().split("\n")
    head, units = [], []
    for ln in lines:
        if ln.startswith("!") or ln.startswith("code\t"):
            head.append(ln)
        elif ln and not ln.startswith("#"):
            units.append(ln.split("\t"))
    parent = {u[0]: u[2] for u in units}

    def keep(code):
        while code != "-":
            if code == keep_root:
                return True
            code = parent.get(code, "-")
        return False
    anc, c = set(), keep_root
    while c != "-":
        anc.add(c)
        c = parent[c]
    sel = [u for u in units if u[0] in anc or keep(u[0])]
    return "\n".join(head + ["\t".join(u) for u in sel]) + "\n"


put("topology", "vn-2025-03-phongtho.tsv",
    excerpt(os.path.join(SRC, "topology/vn-2025-03.tsv"), "109"))
put("topology", "vn-2025-07-laichau.tsv",
    excerpt(os.path.join(SRC, "topology/vn-2025-07.tsv"), "12"))

# ---- keys ----
put("keys", "keys-good.txt",
    open(os.path.join(SRC, "tests/data/topo/keys-good.txt"), "rb").read())
k = open(os.path.join(SRC, "tests/data/topo/keys-good.txt")).read().splitlines()
data = [ln for ln in k if ln and not ln.startswith("#")]
put("keys", "one-line", data[0] + "\n")
put("keys", "crlf-bom", "\ufeff" + "\r\n".join(data) + "\r\n")
put("keys", "empty", "")

# ---- config ----
for p in sorted(glob.glob(os.path.join(SRC, "tests/data/config/*.conf"))):
    put("config", os.path.basename(p), open(p, "rb").read())
put("config", "node.conf.example",
    open(os.path.join(SRC, "docs/node.conf.example"), "rb").read())

# ---- csv: the examples of test_cli and friends ----
HEADER = "period,indicator,disaggregation,numerator,denominator\n"
CSV = {
    "good": HEADER + "2025,14,,37,0\n2025,9,,41,50\n2025,9,f,20,24\n2024,9,,7,8\n",
    "bad_period": HEADER + "2025,9,,1,2\n2025,14,,5,0\n2025Q7,9,f,1,2\n",
    "bad_number": HEADER + "2025,9,,1,2\n2025,14,,5x,0\n",
    "bad_den": HEADER + "2025,9,,1,-2\n",
    "bad_fields": HEADER + "2025,9,,1,2\n2025,14,5,0\n",
    "bad_dup": HEADER + "2025,9,,1,2\n2024,9,,1,2\n2025,9,,3,4\n",
    "bom_crlf": "\ufeff" + HEADER.replace("\n", "\r\n") +
                "2025Q3,1.1,sex=F,18446744073709551615,\r\n2025-12,x_y-z,a b;c=d,0,1",
    "no_header": "2025,9,,1,2\n",
    "quotes": HEADER + '2025,9,"f",1,2\n',
    "utf8": HEADER + "2025,9,dân tộc,1,2\n",
    "empty": "",
    "header_only": HEADER,
}
for name, text in CSV.items():
    put("csv", name + ".csv", text)
print("seeds written to", out)
