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

# ---- histmap: reform mappings over fuzz_histmap.c's two small trees,
# and the head of the shipped mapping ----
MAP_HDR = ("!from\to1\n!to\tn1\n!effective\t2025-07-01\n"
           "level\told_code\tnew_code\tkind\n")
MAP_GOOD = (MAP_HDR + "province\tP1\tQ1\tfull\nprovince\tP2\tQ2\tfull\n"
            "commune\tC1\tN1\tfull\ncommune\tC2\tN1\tpartial\n"
            "commune\tC2\tN2\tpartial\ncommune\tC3\tN3\tfull\n"
            "commune\tD3\tN3\tfull\n")
put("histmap", "good.tsv", MAP_GOOD)
put("histmap", "good-crlf-bom.tsv", "\ufeff" + MAP_GOOD.replace("\n", "\r\n"))
put("histmap", "merged-provinces.tsv", MAP_GOOD.replace("P2\tQ2", "P2\tQ1"))
put("histmap", "loses-c3.tsv", MAP_GOOD.replace("commune\tC3\tN3\tfull\n", ""))
put("histmap", "full-twice.tsv", MAP_GOOD + "commune\tC1\tN2\tfull\n")
put("histmap", "partial-alone.tsv", MAP_GOOD.replace("C3\tN3\tfull", "C3\tN3\tpartial"))
with open(os.path.join(SRC, "topology/vn-reform-2025-07-01.tsv"), encoding="utf-8") as f:
    put("histmap", "vn-reform-head.tsv", "".join(f.readlines()[:40]))

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

# ---- register_csv: the register examples of test_domain, a synthetic
# commune (tools/genregister, excerpts) and every kind of bad row ----
CH = ("id,birth_date,sex,ethnic_minority,disability,birth_registered,"
      "health_insurance,immunisation,measured_on,underweight,stunted,obese,"
      "school,special,special_support,death_date\n")
CS = "id,child_id,kind,occurred,detected,intervention,support,died\n"
REG = {
    "children": CH +
    "A,2025-02-01,f,1,0,2025-02-05,1,full8,2025-06-01,1,0,0,none,none,0,\n"
    "B,2025-03-01,m,0,0,,0,none,,,,,none,none,0,2025-03-10\n"
    "D,2022-05-05,f,1,1,2022-06-01,1,full12,2024-11-01,1,1,1,nursery,disabled,1,\n"
    "H,2009-06-01,f,0,0,2009-07-01,1,full12,,,,,upper_secondary,none,0,\n"
    "I,2021-02-02,m,1,0,2021-03-01,1,full14,,,,,special,migrant_refugee,0,2025-04-04\n",
    "cases": CS +
    "K1,F,injury,2025-05-05,2025-05-05,0,1,0\n"
    "K4,F,abuse,2024-12-20,2025-01-05,1,1,0\n"
    "K6,G,child_marriage,2025-09-09,2025-09-09,1,1,0\n"
    "K8,E,disaster,2025-07-07,2025-07-07,1,1,0\n"
    "K10,G_x-9,exploitation,2025-12-30,2026-01-02,1,1,0\n",
    "cases-crlf-bom": "\ufeff" + (CS + "K1,F,violence,2024-02-29,2024-02-29,1,0,1\n"
                                  "K2,F,injury,1900-01-01,2999-12-31,0,0,0").replace("\n", "\r\n"),
    "bad-children": (CH +
    "X1,2025-02-30,f,1,0,,1,none,,,,,none,none,0,\n"
    "X2,2025/02/01,f,1,0,,1,none,,,,,none,none,0,\n"
    "X3,2025-02-01,x,1,0,,1,full9,,,,,none,widowed,0,\n"
    "X4,2025-02-01,f,1,0,,1,none,,,,,none,none\n"
    ",2025-02-01,f,,0,,1,none,,,,,none,none,0,\n"
    "X6,2025-02-01,f,1,0,,1,none,,,,,none,M\xe1\xbb,0,\n"
    "X7,2025-02-01,f,1,0,2025-01-01,1,none,,1,,,none,none,1,2024-01-01\n"
    "X8,2025-02-01,f,1,0,,1,none,2025-03-01,,,,none,none,0,,extra\n"
    "\n"
    'X9,"2025-02-01",f,1,0,,1,none,,,,,none,none,0,\n'
    "X10\0,2025-02-01,f,1,0,,1,none,,,,,none,none,0,\n"
    "123456789012345678901234567890123,1899-12-31,f,1,0,,1,none,,,,,none,none,0,\n"
    ).encode("latin-1"),  # raw bytes: the cut sequence \xe1\xbb
    "bad-cases": CS +
    "C1,A,injury,2025-05-05,2025-05-04,0,1,0\n"
    "C2,A,theft,2025-05-05,2025-05-05,0,1,2\n"
    "C3,,injury,,2025-05-05,0,1,0\n",
    "header-only": CH,
    "no-header": "A,2025-02-01,f,1,0,,1,none,,,,,none,none,0,\n",
    "empty": "",
    "overlong-surrogate": (CH + "A\xc0\xaf,2025-02-01,f,1,0,,1,none,,,,,none,"
                           "\xed\xa0\x80,0,\n").encode("latin-1"),  # raw bytes
}
for name, text in REG.items():
    put("register_csv", name + ".csv", text)
try:
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(SRC, "tools/genregister"),
                        "--topology", os.path.join(SRC, "topology/vn-2025-03.tsv"),
                        "--unit", "03391", "--out", tmp, "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        for kind in ("children", "cases"):
            lines = open(os.path.join(tmp, "03391", kind + ".csv"), "rb").read().split(b"\n")
            put("register_csv", "genregister-03391-" + kind + ".csv",
                b"\n".join(lines[:60]) + b"\n")
except (OSError, subprocess.CalledProcessError) as e:
    print("genregister excerpts skipped:", e, file=sys.stderr)
print("seeds written to", out)
