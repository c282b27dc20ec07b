#!/usr/bin/env python3
"""test_install — `cmake --install` into a DESTDIR puts a node in place.

Proves that installing the build tree (DESTDIR=<tmp>) yields tiersyncd
and tierctl (executable, 0755, and they run), the systemd unit (0644,
ExecStart at the installed tiersyncd, its own user, state directory
0700, private umask), the topologies, node.conf.example and the
operator documentation (OPERATIONS.md, EXPORT.md).
"""

import os
import re
import shutil
import stat
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402

R = tslib.Runner("test_install")


def prefix_of(build):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_INSTALL_PREFIX:"):
                return line.split("=", 1)[1].strip()
    return "/usr/local"


def main():
    dest = tempfile.mkdtemp(prefix="ts-install-")
    try:
        env = dict(os.environ, DESTDIR=dest)
        p = tslib.subprocess.run(["cmake", "--install", tslib.BUILD], env=env, stdout=tslib.subprocess.PIPE,
                                 stderr=tslib.subprocess.PIPE, universal_newlines=True, timeout=120)
        R.eq(p.returncode, 0, "cmake --install exits 0 (%s)" % p.stderr.strip()[:300])
        root = dest + prefix_of(tslib.BUILD)
        mode = lambda f: stat.S_IMODE(os.stat(f).st_mode)
        for exe in ("tiersyncd", "tierctl"):
            f = os.path.join(root, "bin", exe)
            R.check(os.path.isfile(f) and mode(f) == 0o755, "bin/%s installed 0755" % exe)
        q = tslib.run([os.path.join(root, "bin", "tierctl"), "--version"])
        R.check(q.returncode == 0 and q.stdout.startswith("tierctl "), "installed tierctl runs")
        q = tslib.run([os.path.join(root, "bin", "tiersyncd"), "-h"])
        R.check("usage" in (q.stdout + q.stderr).lower(), "installed tiersyncd runs")
        unit = os.path.join(root, "lib", "systemd", "system", "tiersyncd.service")
        R.check(os.path.isfile(unit) and mode(unit) == 0o644, "systemd unit installed 0644")
        text = open(unit).read() if os.path.isfile(unit) else ""
        R.check(re.search(r"^ExecStart=%s/bin/tiersyncd -c \S+node\.conf$" % re.escape(prefix_of(tslib.BUILD)),
                          text, re.M), "unit: ExecStart is the installed tiersyncd")
        for line in ("User=tiersync", "Group=tiersync", "StateDirectory=tiersync", "StateDirectoryMode=0700",
                     "UMask=0077", "NoNewPrivileges=yes", "ProtectSystem=strict"):
            R.check(re.search(r"^%s$" % re.escape(line), text, re.M), "unit: %s" % line)
        for rel in ("share/tiersync/topology/vn-2025-03.tsv", "share/tiersync/topology/vn-2025-07.tsv",
                    "share/doc/tiersync/node.conf.example", "share/doc/tiersync/OPERATIONS.md",
                    "share/doc/tiersync/EXPORT.md", "share/doc/tiersync/TIERCTL.md"):
            f = os.path.join(root, rel)
            R.check(os.path.isfile(f) and mode(f) == 0o644, "%s installed 0644" % rel)
        ex = os.path.join(root, "share/doc/tiersync/node.conf.example")
        if os.path.isfile(ex):
            R.check(re.search(r"^unit \S+$", open(ex).read(), re.M), "node.conf.example sets a unit")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


R.run(main)
R.finish()
