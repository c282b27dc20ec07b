#!/usr/bin/env python3
"""test_docs — docs/STORE.md, docs/PROTOCOL.md (and the lists in
docs/ARCHITECTURE.md, include/tiersync/store.h, docs/TESTING.md) kept in
step with the code, as tests/test_config.c does for docs/CONFIG.md.

Reads the sources, never runs anything:

- the named DBs store/store.c opens (db_names[]) = the rows of STORE.md's
  "Named databases" table = ARCHITECTURE.md's "Named DBs:" list = the
  list in store.h's header comment;
- every link message type of enum ts_msg_type (include/tiersync/proto.h)
  = the rows of PROTOCOL.md's section 4 table, same number and name, and
  each row's array starts with [TS_PROTO_VERSION, type];
- every status of enum ts_status, with its name from st_names[] in
  proto/envelope.c = the rows of PROTOCOL.md's status table; both lists
  also = ARCHITECTURE.md's summaries;
- every "N (`TS_X`)" and "`TS_X` = N" PROTOCOL.md states = the value of
  that #define (TS_FORMAT_VERSION, TS_BATCH_MAX, TS_ST_MAX_, ...), and
  the domain tag TS_DOMAIN_REPORT appears as PROTOCOL.md's rule;
- the ctest labels docs/TESTING.md lists = the LABELS every
  CMakeLists.txt sets;
- docs/TIERCTL.md "JSON output" = what tests/tierctl_json.py (the
  contract the multi-process tests enforce) describes, and every command
  of tools/tierctl/main.c has a contract there;
- the version of project(VERSION) in CMakeLists.txt is written nowhere
  else (include/tiersync/version.h is generated from it).

Each failure names what is missing where.  usage: test_docs.py [SRCDIR]
(default: TS_SRCDIR, else the parent of this file's directory).
"""

import os
import re
import sys

SRC = (sys.argv[1] if len(sys.argv) > 1 else
       os.environ.get("TS_SRCDIR") or
       os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

n = 0
failed = 0


def check(cond, what):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - %s" % (n, what))


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def same(name, code, doc, where_code, where_doc):
    """Check two collections hold the same items; name what differs."""
    missing = [x for x in code if x not in doc]
    extra = [x for x in doc if x not in code]
    detail = []
    if missing:
        detail.append("missing from %s: %s" % (where_doc, ", ".join(map(str, missing))))
    if extra:
        detail.append("in %s but not in %s: %s" % (where_doc, where_code, ", ".join(map(str, extra))))
    check(not detail, "%s: %s matches %s%s" % (name, where_doc, where_code,
                                               (" (" + "; ".join(detail) + ")") if detail else ""))


def section(text, heading):
    """The lines under a markdown heading, up to the next heading."""
    m = re.search(r"^#+ " + re.escape(heading) + r".*$", text, re.M)
    if not m:
        return ""
    rest = text[m.end():]
    e = re.search(r"^#+ ", rest, re.M)
    return rest[:e.start()] if e else rest


def table_rows(text):
    return [[c.strip() for c in l.strip().strip("|").split("|")]
            for l in text.splitlines()
            if l.strip().startswith("|") and not re.match(r"^\|\s*-", l.strip())]


# ---- store -----------------------------------------------------------

def store_dbs():
    src = strip_c_comments(read("store/store.c"))
    m = re.search(r"db_names\s*\[\s*DB_N\s*\]\s*=\s*\{(.*?)\}", src, re.S)
    check(m is not None, "store.c: found db_names[DB_N]")
    if not m:
        return []
    names = re.findall(r'"([^"]*)"', m.group(1))
    e = re.search(r"enum\s*\{([^}]*DB_N[^}]*)\}", src, re.S)
    enums = [x for x in re.findall(r"\bDB_[A-Z]+\b", e.group(1)) if x != "DB_N"] if e else []
    check(len(enums) == len(names) and len(names) > 0,
          "store.c: %d DB_* enumerators, %d db_names" % (len(enums), len(names)))
    return names


def test_store():
    dbs = store_dbs()
    doc = read("docs/STORE.md")
    rows = table_rows(section(doc, "Named databases"))
    listed = [re.sub(r"`", "", r[0]) for r in rows[1:] if r and r[0].startswith("`")]
    same("store DBs", dbs, listed, "store/store.c", "docs/STORE.md table")
    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
             9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen"}
    m = re.search(r"all (\w+) named DBs", doc)
    check(m is not None and m.group(1) == words.get(len(dbs), str(len(dbs))),
          "docs/STORE.md says \"all %s named DBs\" (store.c opens %d)" %
          (m.group(1) if m else "?", len(dbs)))

    arch = read("docs/ARCHITECTURE.md")
    m = re.search(r"Named DBs:(.*?)\(see", arch, re.S)
    listed = re.findall(r"`([a-z_]+)`", m.group(1)) if m else []
    same("store DBs", dbs, listed, "store/store.c", "docs/ARCHITECTURE.md \"Named DBs:\"")

    hdr = read("include/tiersync/store.h")
    m = re.search(r"Named databases.*?:\n(.*?)\n \*\s*\n", hdr, re.S)
    listed = re.findall(r"^ \*   ([a-z_]+)\s", m.group(1), re.M) if m else []
    same("store DBs", dbs, listed, "store/store.c", "include/tiersync/store.h comment")


# ---- protocol --------------------------------------------------------

def c_enum(text, name):
    m = re.search(r"enum\s+" + name + r"\s*\{(.*?)\};", strip_c_comments(text), re.S)
    if not m:
        return []
    return [(k, int(v, 0)) for k, v in re.findall(r"\b(TS_\w+)\s*=\s*(\d+)", m.group(1))]


def defines():
    vals = {}
    for rel in ("include/tiersync/common.h", "include/tiersync/proto.h"):
        for k, v in re.findall(r"^#define\s+(TS_\w+)\s+(.+?)\s*(?:/\*.*)?$", read(rel), re.M):
            expr = re.sub(r"(\d+)[uUlL]+\b", r"\1", v)
            if re.fullmatch(r"[\d\s()<>+*-]+", expr):
                vals[k] = eval(expr)  # digits and operators only
            elif re.fullmatch(r'"[^"]*"', v):
                vals[k] = v.strip('"')
    return vals


def num(s, unit=""):
    return int(s.replace(",", "")) << {"": 0, " KiB": 10, " MiB": 20, " GiB": 30}[unit]


def test_protocol():
    proto = read("include/tiersync/proto.h")
    doc = read("docs/PROTOCOL.md")
    vals = defines()
    pv = vals.get("TS_PROTO_VERSION")
    check(isinstance(pv, int), "proto.h: TS_PROTO_VERSION = %r" % pv)

    types = [(v, k[len("TS_MSG_"):]) for k, v in c_enum(proto, "ts_msg_type")]
    check(len(types) > 0, "proto.h: enum ts_msg_type has %d types" % len(types))
    rows = table_rows(section(doc, "4. Link messages"))
    doc_types = [(int(r[0]), r[1]) for r in rows if len(r) >= 3 and r[0].isdigit()]
    same("message types", types, doc_types, "enum ts_msg_type", "docs/PROTOCOL.md section 4")
    bad = [r[1] for r in rows if len(r) >= 3 and r[0].isdigit() and
           not re.match(r"^`\[%s, %s[,\]]" % (pv, r[0]), r[2])]
    check(not bad, "docs/PROTOCOL.md section 4: every array starts [%s, type]%s" %
          (pv, (" (not: " + ", ".join(bad) + ")") if bad else ""))

    enum = c_enum(proto, "ts_status")
    codes = [(v, k) for k, v in enum if k != "TS_ST_MAX_"]
    env = strip_c_comments(read("proto/envelope.c"))
    m = re.search(r"st_names\s*\[[^\]]*\]\s*=\s*\{(.*?)\}", env, re.S)
    names = re.findall(r'"([^"]*)"', m.group(1)) if m else []
    check(len(names) == len(codes) and [v for v, _ in codes] == list(range(len(codes))),
          "statuses 0..%d each have a name in st_names (%d names)" % (len(codes) - 1, len(names)))
    statuses = [(v, names[v] if v < len(names) else "?") for v, _ in codes]
    rows = table_rows(section(doc, "Status codes"))
    doc_st = [(int(r[0]), r[1]) for r in rows if len(r) >= 2 and r[0].isdigit()]
    same("statuses", statuses, doc_st, "enum ts_status + st_names", "docs/PROTOCOL.md status table")
    check(dict(enum).get("TS_ST_MAX_") == len(codes) - 1,
          "TS_ST_MAX_ is the last status (%s)" % dict(enum).get("TS_ST_MAX_"))
    vals["TS_ST_MAX_"] = dict(enum).get("TS_ST_MAX_")

    # Every number the text ties to a constant.
    claims = [(k, v, "") for v, k in re.findall(r"(\d[\d,]*) \(`(TS_\w+)`\)", doc)]
    claims += re.findall(r"`(TS_\w+)` = (\d[\d,]*)( [KMG]iB)?", doc)
    wrong = ["%s: doc %s%s, code %r" % (k, v, u, vals.get(k)) for k, v, u in claims
             if vals.get(k) != num(v, u)]
    check(claims and not wrong, "docs/PROTOCOL.md: %d constants stated, all equal the code%s" %
          (len(claims), (" (" + "; ".join(wrong) + ")") if wrong else ""))
    check("MUST be `%s`" % vals.get("TS_DOMAIN_REPORT") in doc,
          "docs/PROTOCOL.md states the domain tag %r" % vals.get("TS_DOMAIN_REPORT"))
    # ARCHITECTURE.md's summary of the same.
    arch = read("docs/ARCHITECTURE.md")
    m = re.search(r"Status codes \(`enum ts_status`\):(.*?)\n\n", arch, re.S)
    arch_st = [(int(v), k) for v, k in re.findall(r"(\d+) ([a-z]+)", m.group(1))] if m else []
    same("statuses", statuses, arch_st, "enum ts_status + st_names", "docs/ARCHITECTURE.md status list")
    arch_types = [(int(t), k) for k, v, t in re.findall(r"^([A-Z_]+)\s+\[(\d+), (\d+)[,\]]", arch, re.M)]
    arch_types += [(int(t), k) for k, v, t in re.findall(r"\b(PONG) \[(\d+), (\d+)[,\]]", arch)]
    same("message types", types, sorted(arch_types), "enum ts_msg_type", "docs/ARCHITECTURE.md link messages")
    m = re.search(r"proto_version \(≠ (\d+)", doc)
    check(m is not None and int(m.group(1)) == pv,
          "docs/PROTOCOL.md decoding order names proto_version %s" % pv)


# ---- tierctl --json --------------------------------------------------

def test_tierctl_json():
    sys.path.insert(0, os.path.join(SRC, "tests"))
    import tierctl_json
    doc = read("docs/TIERCTL.md")
    gen = tierctl_json.describe()
    check(gen in doc, "docs/TIERCTL.md carries tierctl_json.describe() verbatim "
          "(regenerate: python3 tests/tierctl_json.py)")
    # Every command of tools/tierctl/main.c has a contract (help has none).
    main = strip_c_comments(read("tools/tierctl/main.c"))
    m = re.search(r"cmds\[\]\s*=\s*\{(.*?)\n\};", main, re.S)
    cmds = re.findall(r'\{\s*"([a-z]+)",', m.group(1)) if m else []
    have = {k.split()[0] for k in tierctl_json.SCHEMAS}
    missing = [c for c in cmds if c not in have and c not in ("help", "export")]
    check(cmds and not missing, "every tierctl command has a --json contract%s" %
          (" (none for: " + ", ".join(missing) + ")" if missing else ""))


# ---- the version -----------------------------------------------------

def test_version():
    m = re.search(r"^project\([^)]*\bVERSION\s+(\d+\.\d+\.\d+)", read("CMakeLists.txt"), re.M)
    check(m is not None, "CMakeLists.txt: project(VERSION x.y.z)")
    if not m:
        return
    ver = re.compile(r"(?<![\d.])" + re.escape(m.group(1)) + r"(?![\d.])")
    found = []
    for d, dirs, files in os.walk(SRC):
        rel = os.path.relpath(d, SRC)
        dirs[:] = [x for x in dirs if not x.startswith(("build", ".")) and
                   os.path.join(rel, x) not in ("tests/fuzz/corpus", "tests/fuzz/crashes", "docs/bench")]
        for f in files:
            if f == "CMakeLists.txt" and rel == ".":
                continue
            p = os.path.join(d, f)
            try:
                text = open(p, encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            if ver.search(text):
                found.append(os.path.relpath(p, SRC))
    check(not found, "the version %s is written only in project(VERSION)%s" %
          (m.group(1), (" (also in: " + ", ".join(sorted(found)) + ")") if found else ""))


# ---- test labels -----------------------------------------------------

def test_labels():
    labels = []
    for d, _, files in os.walk(SRC):
        if "/build" in d[len(SRC):] or "/.git" in d[len(SRC):]:
            continue
        if "CMakeLists.txt" in files:
            text = open(os.path.join(d, "CMakeLists.txt"), encoding="utf-8").read()
            for grp in re.findall(r'LABELS\s+"([^"]+)"', text):
                for lab in grp.split(";"):
                    if lab not in labels:
                        labels.append(lab)
    doc = read("docs/TESTING.md")
    sec = section(doc, "Kinds of tests (ctest labels)")
    listed = re.findall(r"^\|\s*`([a-z_]+)`\s*\|", sec, re.M)
    same("ctest labels", sorted(labels), sorted(listed), "CMakeLists.txt LABELS",
         "docs/TESTING.md labels table")


test_store()
test_protocol()
test_labels()
test_tierctl_json()
test_version()
print("%d passed, %d failed" % (n - failed, failed))
sys.exit(1 if failed else 0)
