#!/usr/bin/env python3
"""The node core is events in, effects out (docs/ARCHITECTURE.md "Node
inside"), checked on the built library and the sources:

1. libtiersync_node.a (the core) needs no ZeroMQ symbol, while
   libtiersync_transport.a does (so the check can see them);
2. the core's sources include no <zmq.h> and read no clock and no random
   source of their own (time, clock_gettime, ts_now_ms, ts_mono_ms,
   rand, random): those come through struct node_io;
3. the headers of node/ include each other without a cycle.

usage: test_core_layering.py LIBNODE LIBTRANSPORT SRCDIR
"""
import os
import re
import subprocess
import sys

CORE = ["core.c", "downlink.c", "uplink.c", "zap.c", "rollup.c", "control.c"]
FORBIDDEN = re.compile(r"\b(time|clock_gettime|ts_now_ms|ts_mono_ms|rand|random|srand)\s*\(")

n = f = 0


def check(ok, what):
    global n, f
    n += 1
    if not ok:
        f += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, what))


def undefined(path):
    out = subprocess.run(["nm", "-u", path], capture_output=True, text=True)
    if out.returncode != 0:
        check(False, "nm -u %s: %s" % (path, out.stderr.strip()))
        return set()
    return {l.split()[-1] for l in out.stdout.splitlines() if l.strip() and ":" not in l}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def main():
    libnode, libtp, src = sys.argv[1], sys.argv[2], sys.argv[3]
    zn = sorted(s for s in undefined(libnode) if s.startswith("zmq_"))
    check(not zn, "the core library needs no ZeroMQ symbol%s" %
          ("" if not zn else ": " + ", ".join(zn[:8])))
    zt = [s for s in undefined(libtp) if s.startswith("zmq_")]
    check(len(zt) > 10, "the transport needs %d zmq_* symbols: the check can see them" % len(zt))

    node = os.path.join(src, "node")
    for name in CORE:
        text = open(os.path.join(node, name), encoding="utf-8").read()
        check("<zmq.h>" not in text, "node/%s includes no <zmq.h>" % name)
        calls = sorted({m.group(1) for m in FORBIDDEN.finditer(strip_comments(text))})
        check(not calls, "node/%s reads no clock or random source of its own%s" %
              (name, "" if not calls else ": " + ", ".join(calls)))

    graph = {}
    for name in os.listdir(node):
        if name.endswith(".h"):
            text = open(os.path.join(node, name), encoding="utf-8").read()
            graph[name] = [h for h in re.findall(r'#include "([^"/]+\.h)"', text)
                           if os.path.exists(os.path.join(node, h))]
    state, cycle = {}, []

    def visit(h, path):
        state[h] = 1
        for d in graph.get(h, []):
            if state.get(d) == 1:
                cycle.append(" -> ".join(path + [h, d]))
            elif d not in state:
                visit(d, path + [h])
        state[h] = 2

    for h in graph:
        if h not in state:
            visit(h, [])
    check(not cycle and len(graph) >= 2, "the %d headers of node/ include each other "
          "without a cycle%s" % (len(graph), "" if not cycle else ": " + cycle[0]))
    print("%d passed, %d failed" % (n - f, f))
    sys.exit(1 if f else 0)


main()
