#!/usr/bin/env python3
"""faultproxy — a seeded fault-injecting TCP proxy for tiersync's fault tests.

Sits between a child's DEALER and its parent's ROUTER (both on 127.0.0.1)
and makes the link bad on purpose, the way `tc netem` would on a kernel
that has it:

  delay      every chunk is held DELAY +- JITTER seconds (uniform), order
             kept (TCP is a stream: a chunk never overtakes an earlier one)
  rate       bandwidth cap per direction, bits per second (56000 = a modem)
  cuts       with probability CUT_PROB a connection gets a cut point, a
             random byte offset in [CUT_MIN, CUT_MAX] of the bytes it
             forwards (both directions counted); there both sides are
             reset (RST), possibly in the middle of a ZMTP frame
  partition  'blackhole': connections stay open but nothing is forwarded
             (new ones are accepted and held, not connected upstream)
             until heal, like a dead route; 'refuse': existing
             connections are reset and new ones are reset at once
All random choices come from the seed: connection number N uses
random.Random("SEED:N:dir"), so the faults one connection sees are
replayed exactly by the same seed (the interleaving of processes is
still up to the kernel).

Control: a line protocol on 127.0.0.1:CONTROL (printed on stdout at start
as "ready listen=P control=C"), one command per line, one reply line:
  partition blackhole|refuse [SECONDS]   start a partition (auto-heal)
  heal                                   end it
  set delay=S jitter=S rate=BPS cut_prob=P cut_min=N cut_max=N
  cut                                    reset every open connection now
  stats                                  one JSON line of counters
  quit
Every injected fault is also logged on stderr, one line each.

Loopback only: --listen binds 127.0.0.1, --target must be a loopback
address.  Standard library only (asyncio).

Use from a test: `FaultProxy(listen_port, target_port, seed, ...)` below
starts this file as a subprocess and drives it.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

PIECE = 512          # bytes written at a time (smooth throttling, cut points)


class Proxy:
    def __init__(self, a):
        self.a = a
        self.seed = a.seed
        self.opts = {"delay": a.delay, "jitter": a.jitter, "rate": a.rate,
                     "cut_prob": a.cut_prob, "cut_min": a.cut_min, "cut_max": a.cut_max}
        self.partition = None            # None, "blackhole", "refuse"
        self.healed = asyncio.Event()
        self.healed.set()
        self.heal_handle = None
        self.conns = set()
        self.nconn = 0
        self.t0 = time.monotonic()
        self.st = {"connections": 0, "refused": 0, "held_in_partition": 0, "cuts": 0,
                   "cuts_by_command": 0, "partitions": 0, "heals": 0, "bytes_up": 0,
                   "bytes_down": 0, "chunks": 0, "delay_s_total": 0.0, "throttle_s_total": 0.0,
                   "upstream_failures": 0, "partition_s_total": 0.0}
        self.part_t = None

    def log(self, msg):
        sys.stderr.write("%.3f faultproxy[%d]: %s\n" % (time.monotonic() - self.t0, self.a.listen, msg))
        sys.stderr.flush()

    # ---- partitions
    def start_partition(self, mode, seconds=None):
        if self.partition is None:
            self.st["partitions"] += 1
            self.part_t = time.monotonic()
        self.partition = mode
        self.healed.clear()
        self.log("partition %s%s (%d open connections)" %
                 (mode, " for %.1fs" % seconds if seconds else "", len(self.conns)))
        if mode == "refuse":
            for c in list(self.conns):
                c.cut("partition refuse")
        if self.heal_handle:
            self.heal_handle.cancel()
            self.heal_handle = None
        if seconds:
            self.heal_handle = asyncio.get_event_loop().call_later(seconds, self.heal)

    def heal(self):
        if self.partition is not None:
            self.st["heals"] += 1
            self.st["partition_s_total"] += time.monotonic() - self.part_t
            self.log("heal after %.1fs" % (time.monotonic() - self.part_t))
        self.partition = None
        self.healed.set()
        if self.heal_handle:
            self.heal_handle.cancel()
            self.heal_handle = None

    # ---- connections
    async def on_client(self, creader, cwriter):
        self.nconn += 1
        n = self.nconn
        self.st["connections"] += 1
        if self.partition == "refuse":
            self.st["refused"] += 1
            self.log("conn %d refused (partition)" % n)
            _reset(cwriter)
            return
        c = Conn(self, n, creader, cwriter)
        self.conns.add(c)
        try:
            await c.run()
        finally:
            self.conns.discard(c)

    async def on_control(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                reply = self.command(line.decode("utf-8", "replace").strip())
                writer.write((reply + "\n").encode())
                await writer.drain()
                if reply == "ok quit":
                    asyncio.get_event_loop().call_soon(self.stop.set)
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def command(self, line):
        f = line.split()
        if not f:
            return "err empty command"
        try:
            if f[0] == "partition":
                mode = f[1] if len(f) > 1 else "blackhole"
                if mode not in ("blackhole", "refuse"):
                    return "err partition blackhole|refuse [SECONDS]"
                self.start_partition(mode, float(f[2]) if len(f) > 2 else None)
                return "ok partition " + mode
            if f[0] == "heal":
                self.heal()
                return "ok heal"
            if f[0] == "set":
                for kv in f[1:]:
                    k, _, v = kv.partition("=")
                    if k not in self.opts:
                        return "err unknown option %r" % k
                    self.opts[k] = float(v) if k in ("delay", "jitter", "rate", "cut_prob") else int(v)
                self.log("set %s" % " ".join(f[1:]))
                return "ok set"
            if f[0] == "cut":
                k = len(self.conns)
                for c in list(self.conns):
                    self.st["cuts_by_command"] += 1
                    c.cut("cut command")
                return "ok cut %d" % k
            if f[0] == "stats":
                d = dict(self.st)
                d["open"] = len(self.conns)
                d["partition"] = self.partition
                d.update({"opt_" + k: v for k, v in self.opts.items()})
                return json.dumps(d, sort_keys=True)
            if f[0] == "quit":
                return "ok quit"
        except (IndexError, ValueError) as e:
            return "err %s" % e
        return "err unknown command %r" % f[0]

    async def main(self):
        self.stop = asyncio.Event()
        srv = await asyncio.start_server(self.on_client, "127.0.0.1", self.a.listen,
                                         reuse_address=True)
        ctl = await asyncio.start_server(self.on_control, "127.0.0.1", self.a.control)
        cport = ctl.sockets[0].getsockname()[1]
        loop = asyncio.get_event_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, self.stop.set)
        self.log("listening on 127.0.0.1:%d -> %s:%d, control %d, seed %d, %s" %
                 (self.a.listen, self.a.target_host, self.a.target, cport, self.seed,
                  " ".join("%s=%s" % kv for kv in sorted(self.opts.items()))))
        print("ready listen=%d control=%d" % (self.a.listen, cport), flush=True)
        await self.stop.wait()
        srv.close()
        ctl.close()
        for c in list(self.conns):
            c.cut("proxy stopping", count=False)
        self.log("stats " + self.command("stats"))


def _reset(writer):
    """Close with RST (SO_LINGER 0), as a cut link would look to a peer."""
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    except (OSError, AttributeError):
        pass


class Conn:
    def __init__(self, p, n, creader, cwriter):
        self.p, self.n = p, n
        self.creader, self.cwriter = creader, cwriter
        self.ureader = self.uwriter = None
        rnd = random.Random("%d:%d:conn" % (p.seed, n))
        o = p.opts
        self.cut_at = None
        if o["cut_prob"] > 0 and rnd.random() < o["cut_prob"]:
            self.cut_at = rnd.randint(max(1, int(o["cut_min"])), max(1, int(o["cut_max"]), int(o["cut_min"])))
        self.forwarded = 0
        self.dead = False
        self.tasks = []

    def cut(self, why, count=True):
        if self.dead:
            return
        self.dead = True
        if count and why == "random cut":
            self.p.st["cuts"] += 1
        self.p.log("conn %d cut after %d bytes (%s)" % (self.n, self.forwarded, why))
        _reset(self.cwriter)
        if self.uwriter is not None:
            _reset(self.uwriter)
        for t in self.tasks:
            t.cancel()

    async def run(self):
        p = self.p
        if p.partition == "blackhole":
            p.st["held_in_partition"] += 1
            p.log("conn %d accepted during partition: held" % self.n)
        # Queue what the child sends while we wait for heal/upstream.
        up_q = asyncio.Queue()
        down_q = asyncio.Queue()
        rd_up = asyncio.ensure_future(self.read_side(self.creader, up_q, "up"))
        self.tasks.append(rd_up)
        await p.healed.wait()
        if self.dead:
            return
        try:
            self.ureader, self.uwriter = await asyncio.open_connection(p.a.target_host, p.a.target)
        except OSError as e:
            p.st["upstream_failures"] += 1
            p.log("conn %d: upstream connect failed: %s" % (self.n, e))
            self.dead = True
            _reset(self.cwriter)
            rd_up.cancel()
            return
        if self.dead:
            _reset(self.uwriter)
            return
        p.log("conn %d open%s" % (self.n, (", cut at byte %d" % self.cut_at) if self.cut_at else ""))
        self.tasks += [asyncio.ensure_future(self.read_side(self.ureader, down_q, "down")),
                       asyncio.ensure_future(self.write_side(up_q, self.uwriter, "up")),
                       asyncio.ensure_future(self.write_side(down_q, self.cwriter, "down"))]
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for w in (self.cwriter, self.uwriter):
            try:
                w.close()
            except OSError:
                pass
        self.dead = True

    async def read_side(self, reader, q, d):
        """Read chunks, stamp each with its release time (delay +- jitter,
        never before the previous chunk's), queue them.  None = EOF."""
        rnd = random.Random("%d:%d:%s" % (self.p.seed, self.n, d))
        last = 0.0
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                o = self.p.opts
                dl = max(0.0, o["delay"] + rnd.uniform(-o["jitter"], o["jitter"]))
                rel = max(last, time.monotonic() + dl)
                last = rel
                q.put_nowait((rel, data))
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        q.put_nowait(None)

    async def write_side(self, q, writer, d):
        p = self.p
        next_free = 0.0
        try:
            while True:
                item = await q.get()
                if item is None:
                    break
                rel, data = item
                p.st["chunks"] += 1
                now = time.monotonic()
                if rel > now:
                    p.st["delay_s_total"] += rel - now
                    await asyncio.sleep(rel - now)
                for i in range(0, len(data), PIECE):
                    piece = data[i:i + PIECE]
                    if not p.healed.is_set():
                        await p.healed.wait()      # black hole: stall
                    rate = p.opts["rate"]
                    if rate > 0:
                        now = time.monotonic()
                        if next_free > now:
                            p.st["throttle_s_total"] += next_free - now
                            await asyncio.sleep(next_free - now)
                        next_free = max(now, next_free) + len(piece) * 8.0 / rate
                    if self.cut_at is not None and self.forwarded + len(piece) >= self.cut_at:
                        k = self.cut_at - self.forwarded
                        if k > 0:
                            writer.write(piece[:k])
                            self.forwarded += k
                        self.cut("random cut")
                        return
                    writer.write(piece)
                    await writer.drain()
                    self.forwarded += len(piece)
                    p.st["bytes_" + d] += len(piece)
        except (ConnectionError, OSError):
            pass
        # EOF or error on this direction: the connection is over.
        if not self.dead:
            self.dead = True
            for w in (self.cwriter, self.uwriter):
                try:
                    w.close()
                except (OSError, AttributeError):
                    pass
            for t in self.tasks:
                if t is not asyncio.current_task():
                    t.cancel()


def _loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv):
    ap = argparse.ArgumentParser(description="seeded fault-injecting TCP proxy (loopback only)")
    ap.add_argument("--listen", type=int, required=True, help="port to listen on (127.0.0.1)")
    ap.add_argument("--target", type=int, required=True, help="port to forward to")
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--control", type=int, default=0, help="control port (0: any, printed)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds")
    ap.add_argument("--jitter", type=float, default=0.0, help="+- seconds")
    ap.add_argument("--rate", type=float, default=0.0, help="bits/s per direction, 0 = unlimited")
    ap.add_argument("--cut-prob", type=float, default=0.0, help="chance a connection is cut")
    ap.add_argument("--cut-min", type=int, default=1, help="earliest cut, bytes")
    ap.add_argument("--cut-max", type=int, default=65536, help="latest cut, bytes")
    a = ap.parse_args(argv)
    if not _loopback(a.target_host):
        ap.error("--target-host must be a loopback address")
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    asyncio.run(Proxy(a).main())
    return 0


# --------------------------------------------------------------------------
# Test-side driver
# --------------------------------------------------------------------------

class FaultProxy:
    """Start faultproxy.py as a subprocess and drive it over its control
    port.  stderr (the fault log) goes to logpath."""

    def __init__(self, listen, target, seed, logpath, timeout=20, **opts):
        self.listen, self.target, self.seed = listen, target, seed
        argv = [sys.executable, os.path.abspath(__file__), "--listen", str(listen),
                "--target", str(target), "--seed", str(seed)]
        for k, v in opts.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        self.logpath = logpath
        self.log = open(logpath, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log, close_fds=True)
        self.control = None
        deadline = time.monotonic() + timeout
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        while time.monotonic() < deadline and self.control is None:
            if self.proc.poll() is not None:
                break
            if sel.select(max(0.0, deadline - time.monotonic())):
                ch = os.read(self.proc.stdout.fileno(), 256)
                if not ch:
                    break
                buf += ch
                for line in buf.split(b"\n"):
                    if line.startswith(b"ready "):
                        kv = dict(x.split(b"=") for x in line.split()[1:])
                        self.control = int(kv[b"control"])
        sel.close()
        if self.control is None:
            self.stop()
            raise RuntimeError("faultproxy on %d did not start (see %s)" % (listen, logpath))
        self.sock = socket.create_connection(("127.0.0.1", self.control), timeout=10)
        self.rf = self.sock.makefile("rb")

    def cmd(self, line):
        self.sock.sendall((line + "\n").encode())
        r = self.rf.readline().decode().strip()
        if r.startswith("err"):
            raise RuntimeError("faultproxy %s: %s" % (line, r))
        return r

    def partition(self, mode="blackhole", seconds=None):
        return self.cmd("partition %s%s" % (mode, " %g" % seconds if seconds else ""))

    def heal(self):
        return self.cmd("heal")

    def set(self, **kw):
        return self.cmd("set " + " ".join("%s=%s" % kv for kv in kw.items()))

    def stats(self):
        return json.loads(self.cmd("stats"))

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.cmd("quit")
            except Exception:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for f in (getattr(self, "rf", None), getattr(self, "sock", None), self.proc.stdout, self.log):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
