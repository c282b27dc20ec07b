#!/usr/bin/env python3
"""Records never leave the commune, by construction: tiersyncd does not
contain the register code.  nm(1) on the daemon finds no ts_register_*
or ts_compute_* symbol (nor ts_reg_*), while it does find them in tierctl
(so the check is not vacuous: nm works and the names are right) -- the
CSV parser (register_csv.c) included; and no source of node/ includes
tiersync/register.h, which holds the whole register API (domain.h, the
header the daemon includes, holds none of it).

usage: test_daemon_symbols.py TIERSYNCD TIERCTL
"""
import glob
import os
import re
import subprocess
import sys

SRC = os.environ.get("TS_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PREFIXES = ("ts_register_", "ts_reg_", "ts_compute_")


def symbols(path):
    out = subprocess.run(["nm", "-a", path], capture_output=True, text=True)
    if out.returncode != 0:
        print("not ok 1 - nm %s: %s" % (path, out.stderr.strip()))
        print("0 passed, 1 failed")
        sys.exit(1)
    return [l.split()[-1] for l in out.stdout.splitlines() if l.strip()]


def main():
    daemon, ctl = sys.argv[1], sys.argv[2]
    bad = [s for s in symbols(daemon) if s.startswith(PREFIXES)
           or s in ("register.c", "register_csv.c", "compute.c")]
    good = [s for s in symbols(ctl) if s.startswith(PREFIXES)]
    n = f = 0
    n += 1
    if bad:
        f += 1
        print("not ok 1 - tiersyncd contains register code: %s" % ", ".join(bad[:10]))
    else:
        print("ok 1 - tiersyncd has no ts_register_/ts_compute_ symbol")
    n += 1
    if not any(s == "ts_register_load_csv" for s in good) or \
       not any(s == "ts_compute_period" for s in good):
        f += 1
        print("not ok 2 - tierctl lacks the register symbols (is the check vacuous?)")
    else:
        print("ok 2 - tierctl has them (%d symbols): the check can see them" % len(good))
    n += 1
    if "ts_register_csv_parse" not in good:
        f += 1
        print("not ok 3 - tierctl lacks ts_register_csv_parse (the CSV parser)")
    else:
        print("ok 3 - the CSV parser is in tierctl, not in tiersyncd")
    n += 1
    inc = [p for p in sorted(glob.glob(os.path.join(SRC, "node", "*.[ch]")))
           if "tiersync/register.h" in open(p, encoding="utf-8", errors="replace").read()]
    with open(os.path.join(SRC, "include", "tiersync", "domain.h"), encoding="utf-8") as fh:
        dom = re.findall(r"\b(ts_register\w*|ts_reg_\w+|ts_compute\w*|ts_child|ts_case)\b", fh.read())
    if inc or dom:
        f += 1
        print("not ok 4 - register API visible to the daemon: %s" % ", ".join(inc + dom[:5]))
    else:
        print("ok 4 - no node/ source includes tiersync/register.h; domain.h declares no register name")
    print("%d passed, %d failed" % (n - f, f))
    sys.exit(1 if f else 0)


main()
