#!/usr/bin/env python3
"""test_faults_hostile — hostile msgpack, oversize frames, smuggled records, revoked keys and a TCP flood are refused; the node keeps serving.

Tree VN → 12 → 109 → 03391; the attacked node is the district 109, the
attacker this script with the commune's real CURVE and signing keys
(its daemon stopped), speaking the wire protocol with pyzmq, msgpack and
nacl (test_hostile.py covers forged signatures, subtree, replay, gap,
fork, unknown key, garbage).  For every case: refused (ACK status or ERR
or dropped connection), the reason logged by 109 (except the oversize
frame, which libzmq drops before 109 sees a byte of it), nothing stored
(109's and national's reports and 109's copy of the commune's chain
unchanged), and 109 still answers.
1. hostile msgpack as an envelope inside an authenticated PUSH —
   `dd ff ff ff ff` (array32 of 4 G elements), 100 levels of nesting, a
   str32 claiming 4 GB, a valid envelope followed by trailing bytes, and
   a validly signed envelope whose body is `dd ff ff ff ff` — each ACKed
   2 (malformed); and the same shapes as whole frames (a valid PUSH of a
   valid new envelope plus one trailing byte included): ERR, not applied;
2. a frame over the maximum message size (32 MiB + 1): libzmq
   (ZMQ_MAXMSGSIZE) drops the connection (socket monitor: disconnected);
3. record-bearing payloads, validly signed and chained so that the only
   fault is the extra data: a body of 13 fields (a 13th carrying
   children's records), an envelope of 3 parts [body, sig, records], a
   value row with a 5th field (a child's name), a PUSH with a 5th
   element: all refused as malformed / non-canonical;
4. a revoked key: the commune's line removed from keys.tsv and SIGHUP to
   109: the next connection with that key gets no WELCOME and 109 logs
   the refused key; restored + SIGHUP: admitted again;
5. a raw TCP flood on 109's CURVE port (TS_SOAK=1: longer): 100 idle
   connections held open plus 8 threads opening connections and sending
   junk, for 8 s, while the real commune daemon (restarted) gets new
   values through 109 to national; afterwards 109's open descriptors
   return to about what they were.
Replay with TS_SEED=N (printed as seed=N).
"""

import os
import random
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib  # noqa: E402
import tslib  # noqa: E402
from tslib import (TestFailure, wait_until, encode_body, seal, body_hash, split_env,  # noqa: E402
                   decode_body, log_envelopes, read_keyfile)
import msgpack  # noqa: E402
import zmq  # noqa: E402
import zmq.utils.monitor  # noqa: E402

NAME = "test_faults_hostile"
SEED = faultlib.seed(NAME)
R = tslib.Runner(NAME)
rnd = random.Random(SEED)
COMMUNE, PARENT, PERIOD = "03391", "109", "2025"
FLOOD_S = (faultlib.SOAK_SECONDS or 120.0) if faultlib.SOAK else 8.0
ST = {"stored": 0, "held": 1, "malformed": 2, "protocol": 13}
ctx = zmq.Context.instance()
tree = None
stats = {"seed": SEED, "cases": 0}
V1 = {("9", ""): (40, 50), ("14", ""): (12, 0)}
V2 = {("9", ""): (45, 50), ("14", ""): (13, 0)}


def endpoint():
    return "tcp://127.0.0.1:%d" % tree.port(PARENT)


def log_len():
    return len(tree.daemon_log(PARENT))


def log_since(n):
    return tree.daemon_log(PARENT)[n:]


def put_vals(vals):
    for (ind, dis), (num, den) in sorted(vals.items()):
        tree.put(COMMUNE, PERIOD, ind, num, den, dis=dis or None)


def held_chain():
    out = []
    for _, _, env in log_envelopes(tslib.tierctl(tree.d(PARENT), "log", COMMUNE)):
        body, _ = split_env(env)
        out.append((decode_body(body)["seq"], body, env))
    return out


def snapshot():
    return (tree.values(PARENT, PERIOD), tree.values("VN", PERIOD), [(q, b) for q, b, _ in held_chain()])


def dealer(public, secret, monitor=False):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_publickey = public
    s.curve_secretkey = secret
    s.curve_serverkey = tree.keys[PARENT][1].encode()
    mon = s.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED) if monitor else None
    s.connect(endpoint())
    return s, mon


def recv(s, timeout):
    if s.poll(int(timeout * 1000 * tslib.TIME_SCALE)):
        return msgpack.unpackb(s.recv(), raw=False)
    return None


class Impostor:
    def __init__(self, monitor=False):
        ck = read_keyfile(os.path.join(tree.d(COMMUNE), "curve.key"))
        sk = read_keyfile(os.path.join(tree.d(COMMUNE), "sign.key"))
        self.seed = bytes.fromhex(sk["secret"])[:32]
        self.s, self.mon = dealer(ck["public"].encode(), ck["secret"].encode(), monitor)
        self.batch = 1000

    def send_raw(self, frame):
        self.s.send(frame)

    def hello(self, timeout=10):
        self.send_raw(msgpack.packb([1, 1, COMMUNE, tree.topo_version], use_bin_type=True))
        return recv(self.s, timeout)

    def replies(self, timeout=3.0):
        """Everything 109 answers within timeout (stops early after an ACK
        and a short quiet spell)."""
        out = []
        deadline = time.monotonic() + timeout * tslib.TIME_SCALE
        while time.monotonic() < deadline:
            m = recv(self.s, min(0.5, max(0.0, deadline - time.monotonic())))
            if m is None:
                if any(x[:2] in ([1, 4], [1, 5]) for x in out):
                    break
                continue
            out.append(m)
        return out

    def push(self, envs):
        self.batch += 1
        self.send_raw(msgpack.packb([1, 3, self.batch, list(envs)], use_bin_type=True))
        for m in self.replies():
            if m[:2] == [1, 4] and m[2] == self.batch:
                return m[3]
        raise TestFailure("no ACK for batch %d" % self.batch)

    def close(self):
        if self.mon is not None:
            self.s.disable_monitor()
            self.mon.close()
        self.s.close()


def setup():
    global tree
    tree = faultlib.FTree(COMMUNE, "fhostile")
    tree.start(timeout=60)
    put_vals(V1)
    tree.wait_values("VN", PERIOD, V1, timeout=60)
    wait_until(lambda: len(held_chain()) >= 1, 30, "109 to hold the commune's envelope")
    tree.stop(COMMUNE)
    R.check(not tree.alive(COMMUNE), "real commune stopped; 109 holds its chain up to seq %d" % held_chain()[-1][0])


def next_body(values=None, nfields=12, extra=None):
    """A body for the commune's next seq, correctly chained."""
    seq, body, _ = held_chain()[-1]
    b = encode_body(COMMUNE, PERIOD, seq + 1, body_hash(body), tree.topo_version, values or {("9", ""): (1, 2)})
    if nfields == 12 and extra is None:
        return b
    fields = msgpack.unpackb(b, raw=False)
    if extra is not None:
        fields.append(extra)
    return msgpack.packb(fields, use_bin_type=True)


def expect_refused(what, fn, before, want_log=True):
    """Run one attack; check 109 answered, logged, stored nothing, alive."""
    n = log_len()
    fn()
    stats["cases"] += 1
    if want_log:
        wait_until(lambda: any(w in log_since(n).lower() for w in ("refused", "malformed", "protocol")),
                   10, "109's log line about %s" % what)
    R.eq(snapshot(), before, "%s: nothing stored at 109 or national%s" %
         (what, ", reason logged" if want_log else ""))
    R.check(tree.alive(PARENT), "%s: 109 still running" % what)


def hostile_msgpack():
    before = snapshot()
    im = Impostor()
    try:
        w = im.hello()
        R.check(isinstance(w, list) and w[:2] == [1, 2], "the impostor with the commune's keys gets WELCOME")
        _, body, good_env = held_chain()[-1]
        new_env = seal(next_body(), im.seed)
        cases = [
            ("envelope dd ff ff ff ff (array32 of 4 G)", b"\xdd\xff\xff\xff\xff"),
            ("envelope nested 100 levels", b"\x91" * 100 + b"\xc0"),
            ("envelope str32 claiming 4 GB", b"\xdb\xff\xff\xff\xff" + b"abc"),
            ("envelope map32 claiming 4 G pairs", b"\xdf\xff\xff\xff\xff"),
            ("valid new envelope + trailing bytes", new_env + b"\x00"),
            ("signed body dd ff ff ff ff", seal(b"\xdd\xff\xff\xff\xff", im.seed)),
            ("signed body nested 100 levels", seal(b"\x91" * 100 + b"\xc0", im.seed)),
        ]
        for what, env in cases:
            def one():
                st = im.push([env])
                R.eq(st, [ST["malformed"]], "%s inside an authenticated PUSH -> ACK 2 (malformed)" % what)
            expect_refused(what, one, before)
        frames = [
            ("frame dd ff ff ff ff", b"\xdd\xff\xff\xff\xff"),
            ("frame nested 100 levels", b"\x91" * 100 + b"\xc0"),
            ("frame str32 claiming 4 GB", b"\xdb\xff\xff\xff\xff" + b"x" * 16),
            ("valid PUSH of a valid new envelope + 1 trailing byte",
             msgpack.packb([1, 3, 4242, [new_env]], use_bin_type=True) + b"\xc0"),
        ]
        for what, frame in frames:
            def one():
                im.send_raw(frame)
                got = im.replies(3.0)
                R.check(any(m[:2] == [1, 5] for m in got) and not any(m[:2] == [1, 4] for m in got),
                        "%s -> ERR, no ACK: %r" % (what, got[:2]))
            expect_refused(what, one, before)
        # the session still works: an exact duplicate is "held"
        R.eq(im.push([good_env]), [ST["held"]], "after all that the session still answers (duplicate -> held)")
    finally:
        im.close()


def oversize():
    before = snapshot()
    im = Impostor(monitor=True)
    try:
        im.hello()
        big = b"\x00" * ((32 << 20) + 1)
        im.send_raw(big)
        deadline = time.monotonic() + 20 * tslib.TIME_SCALE
        dropped = False
        while time.monotonic() < deadline and not dropped:
            if im.mon.poll(200):
                ev = zmq.utils.monitor.recv_monitor_message(im.mon)
                dropped = ev["event"] == zmq.EVENT_DISCONNECTED
        stats["cases"] += 1
        R.check(dropped, "a 32 MiB + 1 frame: 109 (ZMQ_MAXMSGSIZE) drops the connection")
    finally:
        im.close()
    R.eq(snapshot(), before, "oversize frame: nothing stored")
    R.check(tree.alive(PARENT), "oversize frame: 109 still running")


def records():
    before = snapshot()
    im = Impostor()
    try:
        im.hello()
        rec = [["child", "Nguyen Van A", "2015-03-02", "case 17: abuse report"]]
        body12 = next_body()
        f = msgpack.unpackb(body12, raw=False)
        f[10] = [list(v) + ["Nguyen Van A, born 2015-03-02"] for v in f[10]]
        body_valrec = msgpack.packb(f, use_bin_type=True)
        sig = seal(body12, im.seed)
        _, sig_bytes = split_env(sig)
        cases = [
            ("body with a 13th field carrying children's records", seal(next_body(extra=rec), im.seed)),
            ("envelope [body, sig, records]", msgpack.packb([body12, sig_bytes, rec], use_bin_type=True)),
            ("value row with a 5th field (a child's name)", seal(body_valrec, im.seed)),
        ]
        for what, env in cases:
            def one():
                st = im.push([env])
                R.eq(st, [ST["malformed"]], "%s, validly signed and chained -> ACK 2 (malformed)" % what)
            expect_refused(what, one, before)

        def push5():
            im.send_raw(msgpack.packb([1, 3, 777, [sig], rec], use_bin_type=True))
            got = im.replies(3.0)
            R.check(any(m[:2] == [1, 5] for m in got) and not any(m[:2] == [1, 4] for m in got),
                    "PUSH with a 5th element (records) -> ERR, no ACK: %r" % (got[:2],))
        expect_refused("PUSH with records", push5, before)
    finally:
        im.close()


def revoked():
    keys = os.path.join(tree.dir, "keys.tsv")
    with open(keys) as f:
        orig = f.read()
    pub = read_keyfile(os.path.join(tree.d(COMMUNE), "curve.key"))["public"]
    try:
        with open(keys + ".tmp", "w") as f:
            f.write("".join(l for l in orig.splitlines(True) if not l.startswith(COMMUNE + "\t")))
        os.replace(keys + ".tmp", keys)
        n = log_len()
        os.kill(tree.pid(PARENT), signal.SIGHUP)
        wait_until(lambda: "reloaded" in log_since(n), 10, "109 to reload its keys after SIGHUP")
        before = snapshot()
        im = Impostor()
        try:
            m = im.hello(timeout=3)
            R.eq(m, None, "revoked key (line removed, SIGHUP): no WELCOME within 3s")
        finally:
            im.close()
        wait_until(lambda: "refused CURVE key %s" % pub in log_since(n), 10,
                   "109's log to name the refused, revoked key")
        stats["cases"] += 1
        R.check(True, "109 logs the refused revoked key")
        R.eq(snapshot(), before, "revoked key: nothing stored")
    finally:
        with open(keys + ".tmp", "w") as f:
            f.write(orig)
        os.replace(keys + ".tmp", keys)
        n = log_len()
        os.kill(tree.pid(PARENT), signal.SIGHUP)
    wait_until(lambda: "reloaded" in log_since(n), 10, "109 to reload the restored keys")
    im = Impostor()
    try:
        m = im.hello()
        R.check(isinstance(m, list) and m[:2] == [1, 2], "key restored + SIGHUP: admitted again (WELCOME)")
    finally:
        im.close()


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def flood():
    port = tree.port(PARENT)
    pid = tree.pid(PARENT)
    fd0 = nfds(pid)
    stop = threading.Event()
    counts = {"connections": 0, "bytes": 0, "idle": 0}
    lock = threading.Lock()
    idle = []
    for _ in range(100):
        try:
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    counts["idle"] = len(idle)

    def junk(k):
        r = random.Random(SEED * 100 + k)
        while not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                data = bytes(r.getrandbits(8) for _ in range(r.randint(1, 2048)))
                if r.random() < 0.3:
                    data = b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00" + data   # a ZMTP-looking start
                s.sendall(data)
                s.close()
                with lock:
                    counts["connections"] += 1
                    counts["bytes"] += len(data)
            except OSError:
                pass
    threads = [threading.Thread(target=junk, args=(k,), daemon=True) for k in range(8)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    try:
        tree.start(COMMUNE)
        put_vals(V2)
        tree.wait_values("VN", PERIOD, V2, timeout=max(30, FLOOD_S + 20))
        dt = time.monotonic() - t0
        R.eq(tree.values(PARENT, PERIOD), V2, "during the flood the real commune's new values reach 109")
        R.eq(tree.values("VN", PERIOD), V2, "... and national (%.1fs into the flood)" % dt)
        rest = FLOOD_S - (time.monotonic() - t0)
        if rest > 0:
            time.sleep(rest)      # the flood's length, not a synchronisation
        R.check(tree.alive(PARENT), "109 survived %.0fs of flood" % FLOOD_S)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        for s in idle:
            s.close()
    stats["flood_connections"] = counts["connections"]
    stats["flood_idle_held"] = counts["idle"]
    stats["flood_bytes"] = counts["bytes"]
    R.check(counts["connections"] > 100, "the flood made %d junk connections (%d bytes) + %d idle ones"
            % (counts["connections"], counts["bytes"], counts["idle"]))
    wait_until(lambda: nfds(pid) <= fd0 + 10, 30, "109's open descriptors to return near %d" % fd0)
    R.check(True, "109's descriptors back to %d (were %d before the flood)" % (nfds(pid), fd0))
    put_vals({("9", ""): (47, 50), ("14", ""): (14, 0)})
    tree.wait_values("VN", PERIOD, {("9", ""): (47, 50), ("14", ""): (14, 0)}, timeout=30)
    R.check(True, "after the flood the commune's next values reach national")
    p = tslib.tierctl_raw(tree.d("VN"), "verify")
    R.eq(p.returncode, 0, "tierctl verify at national exits 0 %s" % p.stderr.strip()[:200])
    p = tslib.tierctl_raw(tree.d(PARENT), "verify")
    R.eq(p.returncode, 0, "tierctl verify at 109 exits 0 %s" % p.stderr.strip()[:200])
    st = tree.status(PARENT)
    stats["refused_at_109"] = tslib.status_field(st, "refused")


if R.run(setup):
    R.run(hostile_msgpack)
    R.run(oversize)
    R.run(records)
    R.run(revoked)
    R.run(flood)
faultlib.counts(NAME, stats)
R.finish()
