"""tierctl_json — the --json contract of every tierctl command, checked.

One schema per command, written from what tools/tierctl/*.c emits (the
json_* calls there); docs/TIERCTL.md "JSON output" shows the same shapes
to operators, and tests/test_docs.py checks that page names exactly the
fields below.  tslib.tierctl() checks every --json document a test reads
against its command's schema, so a field renamed, added, dropped or
retyped in the C code fails the tests with a message naming it, instead
of being papered over by a reader that accepts several spellings.

Schema language:
  str, int (unsigned: not bool, >= 0), bool, FLOAT, HEX (even-length
  lowercase hex), HEX32 (32 bytes = 64 hex digits);
  Null(t): t or null;  [t]: list of t;  OneOf(a, b, ...): one of them;
  {"key": t, "key?": t}: an object with exactly these keys ("?": may be
  absent); "__requires__": {"k": ("other", ...)} — when k is present,
  so are the others.
Standard library only (test_docs.py imports it without python3-zmq).
"""

import re


class JsonContractError(Exception):
    """A tierctl --json document differs from its command's schema."""


class Null:
    def __init__(self, t):
        self.t = t

    def __repr__(self):
        return "%s or null" % _tname(self.t)


class OneOf:
    """Any one of several object schemas (a command whose output depends
    on what it was given, e.g. topology check of a tree, a mapping or a
    history)."""

    def __init__(self, *ts):
        self.ts = ts


FLOAT = "float"
HEX = "hex"
HEX32 = "hex32"


def _tname(t):
    if isinstance(t, Null):
        return repr(t)
    if isinstance(t, list):
        return "list"
    if isinstance(t, dict):
        return "object"
    if t in (str, int, bool):
        return {str: "string", int: "unsigned integer", bool: "boolean"}[t]
    return {FLOAT: "number", HEX: "hex string", HEX32: "32-byte hex string"}[t]


# ---- the schemas -------------------------------------------------------

COMPLETENESS = {"expected": int, "reported": int, "on_time": int,
                "leaf_expected": int, "leaf_reported": int, "leaf_on_time": int}
VALUE = {"ind": str, "dis": str, "num": int, "den": int}
TARGET = Null({"op": str, "value": str, "year": int, "plan_unit": str,
               "plan_name": str, "notes": str})


def _indicator(with_children):
    ind = {"id": str, "number": int, "goal": int, "name_vi": str, "name_en": str,
           "measure": str, "direction": str, "source": str, "agency": str,
           "reported": bool, "num": int, "den": int, "value": str,
           "target": TARGET, "met": Null(bool),
           "dis": [{"dis": str, "num": int, "den": int, "value": str,
                    "target": TARGET, "met": Null(bool)}]}
    if with_children:
        ind["children"] = [{"code": str, "name": str, "reported": bool, "num": int,
                            "den": int, "value": str, "target": TARGET, "met": Null(bool)}]
    return ind


def _report(with_children):
    return {
        "unit": str, "name": str, "period": str, "seq": int, "hash": HEX32,
        "prev": HEX32, "topology": str, "created_ms": int, "sig_ok": Null(bool),
        "completeness": COMPLETENESS,
        "values": [VALUE],
        "provenance": [{"child": str, "seq": int, "hash": HEX32}],
        "children": [{"code": str, "name": str, "reported": bool, "seq": int,
                      "summed_seq": int, "leaf_reported": int, "leaf_expected": int}],
        "catalogue": str,
        # only when node.conf names a catalogue
        "catalogue_loaded?": str,
        "indicators?": [_indicator(with_children)],
        "__requires__": {"catalogue_loaded": ("indicators",),
                         "indicators": ("catalogue_loaded",)},
    }


STATUS = {
    "unit": str, "name": str, "level": str, "parent": Null(str), "link": Null(str),
    "link_ms": int, "link_age_ms": Null(int), "last_ack_ms": int,
    "last_ack_age_ms": Null(int), "seq": int, "outbox": int, "outbox_oldest_ms": int,
    "outbox_oldest_age_ms": Null(int), "dead": int, "forks": int, "refused": int,
    "children_expected": int, "children_seen": int, "children_missing": [str],
    "topology": str, "store_topology": str, "catalogue": str, "alert": bool,
}

LOG = {
    "origin": str, "name": str, "count": int, "problems": int,
    "envelopes": [{
        "seq": int, "sig_ok": Null(bool), "chain_ok": bool, "problem": str, "env_hex": HEX,
        # absent when the body does not decode
        "hash?": HEX32, "prev?": HEX32, "period?": str, "created_ms?": int,
        "values?": int, "provenance?": int,
        "__requires__": {k: ("hash", "prev", "period", "created_ms", "values", "provenance")
                         for k in ("hash", "prev", "period", "created_ms", "values", "provenance")},
    }],
}

VERIFY = {"failures": [{"origin": str, "seq": int, "period": str, "what": str}],
          "envelopes": int, "origins": int, "rollups": int, "failed": int,
          "chained_only": int, "ok": bool}

CHILDREN = {
    "unit": str, "period": str,
    "children": [{
        "code": str, "name": str, "level": str, "seen": bool, "seq": int,
        "hash": Null(HEX32), "last_seen_ms": int, "last_seen_age_ms": Null(int),
        "lag_ms": Null(int), "newest_period": str, "periods": [str], "state": str,
        "overdue": bool, "period_seq": int, "first_ms": int, "deadline_ms": int,
        "leaf_reported": int, "leaf_expected": int}],
}

OUTBOX = {
    "unit": str, "parent": Null(str),
    "entries": [{"id": int, "origin": str, "seq": int, "period": str, "created_ms": int,
                 "age_ms": int, "size": int, "hash": Null(HEX32), "ok": bool}],
    "count": int, "bytes": int, "oldest_ms": int, "oldest_age_ms": Null(int), "dead": int,
}

TREE = {
    "unit": str, "period": str,
    "units": [{"code": str, "name": str, "level": str, "parent": str, "depth": int,
               "state": str, "overdue": bool, "seq": int, "first_ms": int,
               "deadline_ms": int, "leaf_reported": int, "leaf_expected": int}],
    "reported": int, "late": int, "missing": int,
}

# Statuses 2..13 (refusals): docs/PROTOCOL.md; a new status is a new key.
REFUSED_NAMES = ("malformed", "sig", "unknown", "subtree", "replay", "gap", "fork",
                 "chain", "version", "oversize", "retry", "protocol")
METRICS = {
    "unit": str, "n_received": int, "n_stored": int, "n_held": int, "n_relayed": int,
    "n_acked": int, "n_dead": int, "n_sig_verified": int, "n_sig_chained": int,
    "n_zap_denied": int, "forks": int, "n_quota_refused": int, "n_rollup_left_out": int,
    "refused": {k: int for k in REFUSED_NAMES},
    "outbox_depth": int, "own_seq": int,
    # only at a node with a parent; the age only once an ACK was recorded
    "link_up?": int, "last_ack_age_seconds?": FLOAT,
    "__requires__": {"last_ack_age_seconds": ("link_up",)},
}

KEYS_SHOW = {
    "unit": str, "sign_pk": HEX32, "curve_pk": str, "in_keys_file": bool,
    "old_key_kept": bool, "keys_file": str,
    "keys": [{"code": str, "role": str, "sign_pk": HEX32, "curve_pk": str,
              "not_after": int, "valid": bool, "current": bool}],
}
KEYS_ROTATE = {
    "unit": str, "sign_pk": HEX32, "curve_pk": str, "old_sign_pk": HEX32,
    "old_curve_pk": str, "old_not_after": int, "overlap_s": int,
    "keys_file_updated": bool, "line": str,
}
KEYS_REVOKE = {"unit": str, "lines": int, "action": str, "not_after": int,
               "daemon_reloaded": bool}
KEYS_RELOAD = {"reloaded": bool}

INIT = {"unit": str, "dir": str, "sign_pk": HEX32, "curve_pk": str}
PUT = {"ok": bool, "code": int, "status": str, "reason": str}
IMPORT = {"file": str, "periods": [{"period": str, "values": int, "reason": str}],
          "stored": int, "ok": bool}

COMPUTED = [{"period": str, "values": int, "children": int, "cases": int, "ok": bool,
             "reason": str}]
COMPUTE = {"periods": COMPUTED, "ok": bool}
COMPUTE_PRINT = {"period": str, "values": [VALUE]}
REGISTER_IMPORT = {"file": str, "kind": str, "rows": int, "stored": int, "errors": int,
                   "version": int, "ok": bool,
                   # absent with --no-compute or when nothing was stored
                   "computed?": COMPUTED}
REGISTER_DELETE = {"deleted": int, "ok": bool, "computed?": COMPUTED}
REGISTER_SHOW = {"children": int, "cases": int, "version": int, "periods": [str]}

_CUNIT = {"code": str, "name": str, "level": str, "parent": str, "parent_name": str,
          "leaf": bool, "reported": bool, "on_time": Null(bool), "seq": int,
          "deadline_ms": int, "expected": int, "children_reported": int,
          "children_on_time": int, "leaf_expected": int, "leaf_reported": int,
          "leaf_on_time": int}
COMPLETENESS_CMD = {"period": str, "unit": str, "name": str, "leaf_expected": int,
                    "leaf_reported": int, "leaf_on_time": int, "self": _CUNIT,
                    "children": [_CUNIT], "missing": [_CUNIT], "late": [_CUNIT]}

_TLEVELS = {"national?": int, "province?": int, "district?": int, "commune?": int}
_TTREE = {"version": str, "effective": str, "units": int, "levels": _TLEVELS,
          "leaves": int}
_FP = {"full": int, "partial": int}
_TMAP = {"from": str, "to": str, "effective": str, "lines": int,
         "levels": {"province?": _FP, "district?": _FP, "commune?": _FP},
         "checked_against_trees": bool,
         # when checked against its trees
         "split?": int, "merged?": int, "retired?": _TLEVELS,
         "__requires__": {"split": ("merged", "retired")}}
TOPOLOGY_CHECK = OneOf(
    dict({"file": str, "kind": str}, **_TTREE),
    dict({"file": str, "kind": str}, **_TMAP),
    {"file": str, "kind": str,
     "versions": [dict(_TTREE, **{"mapping?": dict({"file": str}, **_TMAP)})]})
TOPOLOGY_SHOW = {"version": str, "effective": str, "period": str, "unit": str,
                 "units": [{"code": str, "name": str, "level": str, "parent": str,
                            "depth": int, "children": int, "leaves": int}],
                 "shown": int}
_REF = {"code": str, "name": str, "kind?": str}
_MANY = {"code": str, "name": str, "level": str, "from?": [_REF], "into?": [_REF]}
TOPOLOGY_DIFF = {"from": str, "to": str, "effective": str, "mapping": str,
                 "unit": str, "unit_in": str,
                 "counts": {"old_units": int, "new_units": int, "merged": int,
                            "split": int, "moved": int, "renamed": int,
                            "retired": int, "unchanged": int},
                 "merged": [_MANY], "split": [_MANY],
                 "moved": [{"code": str, "name": str, "new_code": str,
                            "old_parent": str, "new_parent": str,
                            "expected_parent": str}],
                 "renamed": [{"code": str, "name": str, "new_code": str,
                              "new_name": str}],
                 "retired": [{"code": str, "name": str, "level": str,
                              "children": int, "children_under": [str]}]}

# command (as typed, without options) -> schema; docs/TIERCTL.md shows each.
SCHEMAS = {
    "init": INIT, "put": PUT, "import": IMPORT, "status": STATUS,
    "report": _report(False), "report --indicator": _report(True),
    "log": LOG, "verify": VERIFY, "children": CHILDREN, "outbox": OUTBOX,
    "tree": TREE, "metrics": METRICS,
    "keys show": KEYS_SHOW, "keys rotate": KEYS_ROTATE, "keys revoke": KEYS_REVOKE,
    "keys reload": KEYS_RELOAD,
    "register import": REGISTER_IMPORT, "register correct": REGISTER_IMPORT,
    "register delete": REGISTER_DELETE, "register show": REGISTER_SHOW,
    "compute": COMPUTE, "compute --print": COMPUTE_PRINT,
    "completeness": COMPLETENESS_CMD,
    "topology check": TOPOLOGY_CHECK, "topology show": TOPOLOGY_SHOW,
    "topology diff": TOPOLOGY_DIFF,
}


def command_of(args):
    """The SCHEMAS key for a tierctl argument list (after -d DIR)."""
    args = [str(a) for a in args if str(a) != "--json"]
    if not args:
        raise JsonContractError("tierctl: no command")
    cmd = args[0]
    if cmd in ("keys", "register", "topology") and len(args) > 1:
        cmd += " " + args[1]
    if cmd == "report" and "--indicator" in args:
        cmd = "report --indicator"
    if cmd == "compute" and "--print" in args:
        cmd = "compute --print"
    if cmd not in SCHEMAS:
        raise JsonContractError("tierctl %s: no --json contract known (tests/tierctl_json.py)" % cmd)
    return cmd


# ---- the checker -------------------------------------------------------

def _fail(path, msg):
    raise JsonContractError("%s: %s" % (path, msg))


def _check(path, t, v):
    if isinstance(t, OneOf):
        errs = []
        for x in t.ts:
            try:
                _check(path, x, v)
                return
            except JsonContractError as e:
                errs.append(str(e))
        _fail(path, "fits none of %d shapes: %s" % (len(t.ts), " / ".join(errs)))
    if isinstance(t, Null):
        if v is not None:
            _check(path, t.t, v)
        return
    if isinstance(t, list):
        if not isinstance(v, list):
            _fail(path, "want a list, got %r" % (v,))
        for i, x in enumerate(v):
            _check("%s[%d]" % (path, i), t[0], x)
        return
    if isinstance(t, dict):
        _check_obj(path, t, v)
        return
    if t is int:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
    elif t is bool:
        ok = isinstance(v, bool)
    elif t is str:
        ok = isinstance(v, str)
    elif t == FLOAT:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    elif t == HEX:
        ok = isinstance(v, str) and re.fullmatch(r"(?:[0-9a-f]{2})*", v) is not None
    elif t == HEX32:
        ok = isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None
    else:
        raise AssertionError("bad schema type %r" % (t,))
    if not ok:
        _fail(path, "want %s, got %r" % (_tname(t), v))


def fields(schema):
    """{name: (type, optional)} of an object schema."""
    return {k.rstrip("?"): (t, k.endswith("?")) for k, t in schema.items()
            if k != "__requires__"}


def _check_obj(path, schema, v):
    if not isinstance(v, dict):
        _fail(path, "want an object, got %r" % (v,))
    f = fields(schema)
    missing = sorted(k for k, (_, opt) in f.items() if not opt and k not in v)
    unexpected = sorted(k for k in v if k not in f)
    if missing or unexpected:
        _fail(path, "; ".join(
            (["missing field(s) " + ", ".join(missing)] if missing else []) +
            (["unexpected field(s) " + ", ".join(unexpected)] if unexpected else [])))
    for k, need in schema.get("__requires__", {}).items():
        if k in v:
            absent = [x for x in need if x not in v]
            if absent:
                _fail(path, "field %s present without %s" % (k, ", ".join(absent)))
    for k, x in v.items():
        _check(path + "." + k, f[k][0], x)


def check(cmd, doc):
    """Raise JsonContractError naming the first field of doc that breaks the
    contract of `tierctl cmd --json`; return doc."""
    if cmd not in SCHEMAS:
        raise JsonContractError("tierctl %s: no --json contract known" % cmd)
    try:
        _check("$", SCHEMAS[cmd], doc)
    except JsonContractError as e:
        raise JsonContractError("tierctl %s --json: %s" % (cmd, e))
    return doc


# ---- documentation -----------------------------------------------------

def _scalar(x):
    if isinstance(x, Null):
        x = x.t
    return not isinstance(x, (dict, list, OneOf))


def _render(t, indent=""):
    """Pretty shape of t; objects of more than four fields one key a line."""
    if isinstance(t, OneOf):
        return (" |\n" + indent).join(_render(x, indent) for x in t.ts)
    if isinstance(t, Null):
        return _render(t.t, indent) + " | null"
    if isinstance(t, list):
        return "[" + _render(t[0], indent) + ", ...]"
    if isinstance(t, dict):
        items = list(fields(t).items())
        if len(items) <= 4 and all(_scalar(x) for _, (x, _) in items):
            return "{" + ", ".join('"%s"%s: %s' % (k, "?" if opt else "", _render(x))
                                   for k, (x, opt) in items) + "}"
        inner = indent + "  "
        lines = ['%s"%s"%s: %s' % (inner, k, "?" if opt else "", _render(x, inner))
                 for k, (x, opt) in items]
        return "{\n" + ",\n".join(lines) + "\n" + indent + "}"
    return {str: "str", int: "uint", bool: "bool", FLOAT: "number", HEX: "hex",
            HEX32: "hex32"}[t]


def describe():
    """The "JSON output" section of docs/TIERCTL.md (test_docs.py checks the
    page carries it verbatim; `python3 tests/tierctl_json.py` prints it)."""
    out = ["One document per run, on one line of stdout.  Types: `str`, `uint`",
           "(unsigned integer), `bool`, `number`, `hex` (lowercase hex of bytes),",
           "`hex32` (32 bytes, 64 hex digits), `T | null`, `[T, ...]`; a key",
           "marked `?` may be absent (when, is said beside it).  Nothing else",
           "appears: the multi-process tests check every document they read",
           "against these shapes (tests/tierctl_json.py) and fail naming any",
           "missing, unexpected or mistyped field.", ""]
    notes = {
        "report": "`catalogue_loaded` and `indicators` only when node.conf names a catalogue.",
        "report --indicator": "As `report`; each element of `indicators` also has `children`:",
        "log": "`hash` .. `provenance` absent for an envelope whose body does not decode.",
        "metrics": "`link_up` only at a node with a parent; `last_ack_age_seconds` once an ACK was recorded.",
        "register import": "`computed` absent with `--no-compute` or when nothing was stored.",
        "register correct": "as `register import`.",
        "register delete": "`computed` absent with `--no-compute`.",
    }
    for cmd, schema in SCHEMAS.items():
        out.append("### `%s`" % cmd)
        out.append("")
        if cmd in notes:
            out.append(notes[cmd])
            out.append("")
        out.append("```")
        if cmd == "report --indicator":
            kids = fields(schema["indicators?"][0])["children"][0]
            out.append('"children": ' + _render(kids))
        else:
            out.append(_render(schema))
        out.append("```")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(describe(), end="")
