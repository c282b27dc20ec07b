#!/usr/bin/env python3
"""Records never leave the commune, by construction: tiersyncd does not
contain the register code.  nm(1) on the daemon finds no ts_register_*
or ts_compute_* symbol, while it does find them in tierctl (so the check
is not vacuous: nm works and the names are right).

usage: test_daemon_symbols.py TIERSYNCD TIERCTL
"""
import subprocess
import sys


def symbols(path):
    out = subprocess.run(["nm", "-a", path], capture_output=True, text=True)
    if out.returncode != 0:
        print("not ok 1 - nm %s: %s" % (path, out.stderr.strip()))
        print("0 passed, 1 failed")
        sys.exit(1)
    return [l.split()[-1] for l in out.stdout.splitlines() if l.strip()]


def main():
    daemon, ctl = sys.argv[1], sys.argv[2]
    bad = [s for s in symbols(daemon) if s.startswith(("ts_register_", "ts_compute_"))
           or s in ("register.c", "compute.c")]
    good = [s for s in symbols(ctl) if s.startswith(("ts_register_", "ts_compute_"))]
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
    print("%d passed, %d failed" % (n - f, f))
    sys.exit(1 if f else 0)


main()
