#!/usr/bin/env python3
"""test_topology_cli — `tierctl topology check|show|diff` on the shipped history.

Proves, by running tierctl as a separate process on the shipped files:
- `check` of the history, a tree and the reform mapping (alone and
  against its trees) exits 0 and counts what they hold: 10,807 and 3,356
  units, 10,667 mapping lines, 460 split communes, 3,204 merged new
  units, 691 retired districts;
- `show` draws the tree a period is reported in: 2025-06 and 2025Q2 in
  vn-2025-03 (Phong Thổ 109 with its 17 communes), 2025-07, 2025Q3 and
  2025 in vn-2025-07 (Lai Châu 12 with 38 communes), as an indented tree;
  found through node.conf's topology directory when no --history is given;
- `diff vn-2025-03 vn-2025-07 --unit 109` lists the 6 merged communes
  with their predecessors and 109 retired under 12; `--unit 00016` a split;
- bad input exits non-zero with a message naming the file, line and unit:
  a mapping that loses a commune, one that maps a commune full twice, a
  file that is none of the three, a missing file, versions that are not
  consecutive, a unit absent from the tree in force, bad periods and
  usage errors (status 2).
"""

import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import tierctl_raw  # noqa: E402

R = tslib.Runner("test_topology_cli")
TOPO = os.path.join(tslib.SRCDIR, "topology")
HIST = os.path.join(TOPO, "history.tsv")
OLD = os.path.join(TOPO, "vn-2025-03.tsv")
NEW = os.path.join(TOPO, "vn-2025-07.tsv")
MAP = os.path.join(TOPO, "vn-reform-2025-07-01.tsv")
scratch = tempfile.mkdtemp(prefix="ts-topo-cli-")


def ctl(*args, d=None):
    return tierctl_raw(d, *args)


def ctl_json(*args, d=None):
    p = ctl("--json", *args, d=d)
    R.eq(p.returncode, 0, "%s exits 0 (%s)" % (" ".join(args[:3]), p.stderr.strip()[:200]))
    return json.loads(p.stdout) if p.returncode == 0 else {}


def refused(args, status, words, what, d=None):
    p = ctl(*args, d=d)
    err = p.stderr.strip()
    R.check(p.returncode == status and all(w in err for w in words) and p.stdout == "",
            "%s: exit %d, message names %s (got %d: %r)" % (what, status, words, p.returncode,
                                                           err[:300]))


def check_files():
    d = ctl_json("topology", "check", HIST)
    R.eq(d.get("kind"), "history", "history.tsv is a history")
    v = d.get("versions", [{}, {}])
    R.eq([x.get("version") for x in v], ["vn-2025-03", "vn-2025-07"], "two versions in order")
    R.eq(v[0].get("levels"), {"national": 1, "province": 63, "district": 696, "commune": 10047},
         "vn-2025-03 per level")
    R.eq(v[1].get("levels"), {"national": 1, "province": 34, "commune": 3321}, "vn-2025-07 per level")
    m = v[1].get("mapping", {})
    R.eq((m.get("lines"), m.get("split"), m.get("merged"), m.get("retired")),
         (10667, 460, 3204, {"district": 691}), "mapping: lines, split, merged, retired")
    R.eq(m.get("levels"), {"province": {"full": 63, "partial": 0},
                           "commune": {"full": 9592, "partial": 1012}}, "mapping lines per level and kind")
    p = ctl("topology", "check", HIST)
    R.check(p.returncode == 0 and "history of 2 versions" in p.stdout and "691 district" in p.stdout,
            "human check of the history (%r)" % p.stdout[:200])
    d = ctl_json("topology", "check", NEW)
    R.eq((d.get("kind"), d.get("version"), d.get("units"), d.get("leaves")),
         ("tree", "vn-2025-07", 3356, 3321), "check a tree")
    d = ctl_json("topology", "check", MAP)
    R.eq((d.get("kind"), d.get("from"), d.get("to"), d.get("checked_against_trees")),
         ("mapping", "vn-2025-03", "vn-2025-07", False), "check a mapping alone: not against trees")
    d = ctl_json("topology", "check", MAP, "--old", OLD, "--new", NEW)
    R.eq((d.get("checked_against_trees"), d.get("retired")), (True, {"district": 691}),
         "check a mapping against its trees")


def show():
    for period, version in (("2025-06", "vn-2025-03"), ("2025Q2", "vn-2025-03"),
                            ("2024", "vn-2025-03"), ("2025-07", "vn-2025-07"),
                            ("2025Q3", "vn-2025-07"), ("2025", "vn-2025-07")):
        d = ctl_json("topology", "show", "--history", HIST, "--period", period, "--unit", "12",
                     "--depth", "0")
        R.eq(d.get("version"), version, "show --period %s: %s" % (period, version))
    d = ctl_json("topology", "show", "--history", HIST, "--period", "2025Q2", "--unit", "109")
    codes = [u["code"] for u in d.get("units", [])]
    R.check(len(codes) == 18 and codes[0] == "109" and "03391" in codes,
            "2025Q2: 109 and its 17 communes (%d units)" % len(codes))
    d = ctl_json("topology", "show", "--history", HIST, "--period", "2025", "--unit", "12")
    units = d.get("units", [])
    R.check(len(units) == 39 and all(u["parent"] == "12" for u in units[1:]),
            "2025: Lai Châu 12 with 38 communes straight under it (%d units)" % len(units))
    p = ctl("topology", "show", "--history", HIST, "--period", "2025Q2", "--unit", "109")
    lines = p.stdout.splitlines()
    R.check(p.returncode == 0 and "vn-2025-03" in lines[0] and lines[1].startswith("109 ")
            and lines[2].startswith("├── 03391") and any(x.startswith("└── ") for x in lines)
            and lines[-1] == "18 units shown",
            "human show is an indented tree (%r)" % lines[:3])
    p = ctl("topology", "show", "--history", HIST, "--version", "vn-2025-03", "--unit", "109",
            "--depth", "0")
    R.check(p.returncode == 0 and "17 children not shown" in p.stdout, "--version and --depth 0")
    # Without --history: beside the node's topology file.
    node = os.path.join(scratch, "node")
    p = ctl("init", node, "--unit", "109", "--topology", OLD, "--keys",
            os.path.join(scratch, "keys.tsv"))
    R.eq(p.returncode, 0, "init a node on the shipped tree (%s)" % p.stderr.strip()[:200])
    d = ctl_json("topology", "show", "--period", "2025", "--unit", "12", "--depth", "0", d=node)
    R.eq(d.get("version"), "vn-2025-07", "history found beside node.conf's topology")
    lone = os.path.join(scratch, "lone")
    os.mkdir(lone)
    shutil.copy(OLD, lone)
    node2 = os.path.join(scratch, "node2")
    p = ctl("init", node2, "--unit", "109", "--topology", os.path.join(lone, "vn-2025-03.tsv"),
            "--keys", os.path.join(scratch, "keys.tsv"))
    R.eq(p.returncode, 0, "init a node on a tree without a history beside it")
    refused(("topology", "show"), 1, [os.path.join(lone, "history.tsv"),
                                      "No such file or directory"],
            "no history beside the tree", d=node2)
    refused(("topology", "show"), 1, ["no history: give --history FILE"],
            "no node directory and no --history", d=os.path.join(scratch, "nowhere"))
    refused(("topology", "show", "--history", HIST, "--period", "2025", "--unit", "109"), 1,
            ["--unit '109': no such unit in topology vn-2025-07"], "district 109 in 2025")
    refused(("topology", "show", "--history", HIST, "--period", "2025Q5"), 1,
            ["--period '2025Q5'"], "bad period")
    refused(("topology", "show", "--history", HIST, "--version", "vn-2024"), 1,
            ["--version 'vn-2024': not in the history"], "unknown version")
    refused(("topology", "show", "--history", HIST, "--period", "2025", "--version",
             "vn-2025-03"), 2, ["exclude each other"], "--period with --version")


def diff():
    d = ctl_json("topology", "diff", "vn-2025-03", "vn-2025-07", "--unit", "109",
                 "--history", HIST)
    c = d.get("counts", {})
    R.eq(c, {"old_units": 18, "new_units": 6, "merged": 6, "split": 0, "moved": 0,
             "renamed": 0, "retired": 1, "unchanged": 0}, "diff --unit 109: counts")
    merged = {m["code"]: [x["code"] for x in m["from"]] for m in d.get("merged", [])}
    R.eq(merged.get("03549"), ["03490", "03549", "03574", "03589"],
         "Xã Phong Thổ 03549 <- the township and three communes")
    R.eq([(r["code"], r["children"], r["children_under"]) for r in d.get("retired", [])],
         [("109", 17, ["12"])], "109 retired, its 17 communes now under 12")
    p = ctl("topology", "diff", "vn-2025-03", "vn-2025-07", "--unit", "109", "--history", HIST)
    R.check(p.returncode == 0 and "\nmerged    03549 Xã Phong Thổ <- 03490 " in p.stdout
            and "\nretired   109 Huyện Phong Thổ" in p.stdout
            and p.stdout.rstrip().endswith("1 retired, 0 unchanged"),
            "human diff --unit 109 (%r)" % p.stdout[-200:])
    d = ctl_json("topology", "diff", "vn-2025-03", "vn-2025-07", "--unit", "00016",
                 "--history", HIST)
    R.eq([(s["code"], [x["code"] for x in s["into"]]) for s in d.get("split", [])],
         [("00016", ["00004", "00008"])], "00016 split into 00004 and 00008")
    d = ctl_json("topology", "diff", "vn-2025-03", "vn-2025-07", "--history", HIST)
    c = d.get("counts", {})
    R.eq((c.get("old_units"), c.get("new_units"), c.get("merged"), c.get("split"),
          c.get("retired")), (10807, 3356, 3204, 460, 691), "whole-country diff counts")
    d = ctl_json("topology", "diff", "vn-2025-03", "vn-2025-07", "--unit", "08",
                 "--history", HIST)
    R.check(any(m["code"] == "08" and [x["code"] for x in m["from"]] == ["02", "08"]
                for m in d.get("merged", [])),
            "--unit 08 (in the new tree): Hà Giang 02 and Tuyên Quang 08 merged")
    refused(("topology", "diff", "vn-2025-07", "vn-2025-03", "--history", HIST), 1,
            ["NEW must be the version right after OLD"], "diff backwards")
    refused(("topology", "diff", "vn-2025-03", "vn-2026", "--history", HIST), 1,
            ["NEW 'vn-2026': not in the history"], "unknown version")
    refused(("topology", "diff", "vn-2025-03", "vn-2025-07", "--unit", "99999", "--history",
             HIST), 1, ["--unit '99999': no such unit in vn-2025-03 nor in vn-2025-07"],
            "unknown unit")
    refused(("topology", "diff", "vn-2025-03", "--history", HIST), 2, ["OLD NEW"],
            "diff with one version")


def bad_files():
    lines = open(MAP, encoding="utf-8").read().splitlines(True)
    lossy = os.path.join(scratch, "lossy.tsv")
    with open(lossy, "w", encoding="utf-8") as f:
        f.writelines(x for x in lines if x != "commune\t03391\t03388\tfull\n")
    hist = os.path.join(scratch, "history.tsv")
    with open(hist, "w", encoding="utf-8") as f:
        f.write("version\teffective\ttree\tmapping\n"
                "vn-2025-03\t2025-03-01\t%s\t-\n"
                "vn-2025-07\t2025-07-01\t%s\tlossy.tsv\n" % (OLD, NEW))
    last = len(lines) - 1
    want = ("%s:%d: old commune '03391' (Xã Lả Nhì Thàng) of vn-2025-03 is not mapped: "
            "a mapping must not lose a unit" % (lossy, last))
    refused(("topology", "check", hist), 1, [want], "history whose mapping loses 03391")
    refused(("topology", "check", lossy, "--old", OLD, "--new", NEW), 1, [want],
            "mapping that loses 03391, against its trees")
    refused(("topology", "show", "--history", hist), 1, [want], "show refuses it too")
    twice = os.path.join(scratch, "twice.tsv")
    with open(twice, "w", encoding="utf-8") as f:
        f.writelines(lines)
        f.write("commune\t03391\t03394\tfull\n")
    refused(("topology", "check", twice), 1,
            ["%s:%d: old unit '03391' mapped full again, to '03394' (full to '03388' at line "
             % (twice, len(lines) + 1), "full means its only successor"],
            "03391 mapped full twice")
    junk = os.path.join(scratch, "junk.tsv")
    with open(junk, "w") as f:
        f.write("# nothing here\nhello\tworld\n")
    refused(("topology", "check", junk), 1, ["%s:2: neither a tree, a mapping nor a history"
                                             % junk], "a file that is none of the three")
    refused(("topology", "check", os.path.join(scratch, "absent.tsv")), 1,
            ["absent.tsv: No such file or directory"], "missing file")
    refused(("topology", "check", MAP, "--old", OLD), 2, ["--old and --new go together"],
            "--old without --new")
    refused(("topology", "check", OLD, "--old", OLD, "--new", NEW), 2,
            ["--old/--new are for a mapping"], "--old/--new with a tree")
    refused(("topology", "check"), 2, ["check takes one FILE"], "check without FILE")
    refused(("topology", "migrate"), 2, ["unknown subcommand 'migrate'"], "unknown subcommand")
    refused(("topology",), 2, ["missing subcommand (check, show or diff)"], "no subcommand")


if R.run(check_files):
    R.run(show)
    R.run(diff)
R.run(bad_files)
shutil.rmtree(scratch, ignore_errors=True)
R.finish()
