#!/usr/bin/env python3
"""test_install — `cmake --install` into a DESTDIR puts a node in place.

Proves that installing the build tree (DESTDIR=<tmp>) yields tiersyncd
and tierctl (executable, 0755, and they run), the systemd unit (0644,
ExecStart at the installed tiersyncd, its own user, state directory
0700, private umask), the topologies, the indicator catalogue and every
plan (byte for byte), node.conf.example and the operator documentation
(OPERATIONS.md, EXPORT.md, TIERCTL.md, REGISTER.md), and that
`tierctl --version` prints the version of project(VERSION) in
CMakeLists.txt, the one place it is written.
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


def project_version():
    """The x.y.z of project(... VERSION x.y.z ...) in CMakeLists.txt."""
    with open(os.path.join(tslib.SRCDIR, "CMakeLists.txt")) as f:
        m = re.search(r"^project\([^)]*\bVERSION\s+(\d+\.\d+\.\d+)", f.read(), re.M)
    if not m:
        raise tslib.TestFailure("CMakeLists.txt: no project(VERSION x.y.z)")
    return m.group(1)


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
        version = project_version()
        R.eq(q.stdout.strip(), "tierctl %s" % version,
             "tierctl --version prints project(VERSION %s) of CMakeLists.txt" % version)
        q = tslib.run([os.path.join(root, "bin", "tiersyncd"), "-h"])
        R.check("usage" in (q.stdout + q.stderr).lower(), "installed tiersyncd runs")
        q = tslib.run([os.path.join(root, "bin", "tiersyncd"), "--version"])
        R.eq(q.stdout.strip(), "tiersyncd %s" % version,
             "tiersyncd --version prints project(VERSION %s)" % version)
        q = tslib.run([os.path.join(root, "bin", "tiersyncd"), "--bogus", "-c", "x"])
        R.check(q.returncode == 2 and "unknown option '--bogus'" in q.stderr,
                "tiersyncd --bogus exits 2 naming the option (%s)" % q.stderr.strip()[:120])
        q = tslib.run([os.path.join(root, "bin", "tiersyncd"), "-c", "x", "extra"])
        R.check(q.returncode == 2 and "unexpected argument 'extra'" in q.stderr,
                "tiersyncd with a stray argument exits 2 naming it")
        unit = os.path.join(root, "lib", "systemd", "system", "tiersyncd.service")
        R.check(os.path.isfile(unit) and mode(unit) == 0o644, "systemd unit installed 0644")
        text = open(unit).read() if os.path.isfile(unit) else ""
        R.check(re.search(r"^ExecStart=%s/bin/tiersyncd -c \S+node\.conf$" % re.escape(prefix_of(tslib.BUILD)),
                          text, re.M), "unit: ExecStart is the installed tiersyncd")
        for line in ("User=tiersync", "Group=tiersync", "StateDirectory=tiersync", "StateDirectoryMode=0700",
                     "UMask=0077", "NoNewPrivileges=yes", "ProtectSystem=strict"):
            R.check(re.search(r"^%s$" % re.escape(line), text, re.M), "unit: %s" % line)
        for rel in ("share/tiersync/topology/vn-2025-03.tsv", "share/tiersync/topology/vn-2025-07.tsv",
                    "share/tiersync/topology/vn-reform-2025-07-01.tsv",
                    "share/tiersync/topology/history.tsv",
                    "share/doc/tiersync/node.conf.example", "share/doc/tiersync/OPERATIONS.md",
                    "share/doc/tiersync/EXPORT.md", "share/doc/tiersync/TIERCTL.md",
                    "share/doc/tiersync/REGISTER.md"):
            f = os.path.join(root, rel)
            R.check(os.path.isfile(f) and mode(f) == 0o644, "%s installed 0644" % rel)
        # The domain data, exactly as shipped in the source tree.
        plans = sorted(p for p in os.listdir(os.path.join(tslib.SRCDIR, "domain", "plans"))
                       if p.endswith(".tsv"))
        R.check(len(plans) >= 4, "source tree has plans (%s)" % ", ".join(plans))
        for src, rel in [("domain/catalogue.tsv", "share/tiersync/catalogue.tsv")] + \
                [("domain/plans/" + p, "share/tiersync/plans/" + p) for p in plans]:
            f = os.path.join(root, rel)
            same = os.path.isfile(f) and open(f, "rb").read() == \
                open(os.path.join(tslib.SRCDIR, src), "rb").read()
            R.check(same and mode(f) == 0o644, "%s installed 0644, same bytes as %s" % (rel, src))
        got = sorted(os.listdir(os.path.join(root, "share/tiersync/plans"))) \
            if os.path.isdir(os.path.join(root, "share/tiersync/plans")) else []
        R.eq(got, plans, "share/tiersync/plans holds the plans and nothing else")
        # The installed tierctl's init names the installed catalogue
        # (share/tiersync beside its bin/, the install is under DESTDIR).
        node = os.path.join(dest, "node")
        q = tslib.run([os.path.join(root, "bin", "tierctl"), "init", node, "--unit", "03391",
                       "--topology", os.path.join(root, "share/tiersync/topology/vn-2025-03.tsv"),
                       "--keys", os.path.join(dest, "keys.tsv"), "--parent", "tcp://127.0.0.1:1"])
        R.eq(q.returncode, 0, "installed tierctl init exits 0 (%s)" % q.stderr.strip()[:200])
        conf = open(os.path.join(node, "node.conf")).read() if q.returncode == 0 else ""
        R.check(re.search(r"^catalogue %s$" % re.escape(os.path.realpath(os.path.join(root, "share/tiersync/catalogue.tsv"))),
                          conf, re.M), "installed init writes the installed catalogue into node.conf: %r"
                % [l for l in conf.splitlines() if l.startswith("catalogue")])
        ex = os.path.join(root, "share/doc/tiersync/node.conf.example")
        if os.path.isfile(ex):
            R.check(re.search(r"^unit \S+$", open(ex).read(), re.M), "node.conf.example sets a unit")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


R.run(main)
R.finish()
