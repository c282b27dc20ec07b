#!/usr/bin/env python3
"""test_hostile — a parent refuses hostile peers and input, logs why, and keeps serving.

Tree: VN → 12 → 109 → 03391.  The attacked node is the district 109; the
attacker is this script, speaking the wire protocol of docs/ARCHITECTURE.md
with its own ZeroMQ (pyzmq, CURVE), msgpack and Ed25519 (nacl).  Proves:
(a) a client whose CURVE key is not in the keys file gets no answer at all
    (ZAP refuses the handshake: no WELCOME within a deadline), and 109's log
    says it refused the key;
(b) with a real commune's keys (its daemon stopped so we can impersonate
    it) HELLO gets a WELCOME listing what 109 holds, then in PUSHes:
    - a forged envelope (signed with another key)      -> ACK 3 (sig) + ERR
    - an origin outside the sender's subtree           -> ACK 5 (subtree)
    - a replayed older envelope 109 already holds      -> held, not applied
    - a fork (same origin+seq, other values, validly signed) -> ACK 8 and
      109's status shows forks >= 1
    - a gap (seq held+2)                               -> ACK 7
    - a malformed envelope                              -> ACK 2
    - a message that is not msgpack                     -> ERR, node alive
    each refusal with a log line naming it, and nothing stored: the reports
    at 109 and at national stay unchanged;
    a PUSH before HELLO gets ERR protocol (13);
(c) raw garbage bytes on a plain TCP connection to the listening port get
    the connection dropped;
and after all that the real commune daemon, restarted, gets its new values
through 109 to national: the node kept serving its real children.
"""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tslib  # noqa: E402
from tslib import (wait_until, encode_body, seal, body_hash, split_env,  # noqa: E402
                   decode_body, log_envelopes, ZERO32)
import msgpack  # noqa: E402
import zmq  # noqa: E402

COMMUNE = "03391"
PARENT = "109"
PERIOD = "2025"
R = tslib.Runner("test_hostile")
tree = None
V1 = {("9", ""): (40, 50), ("14", ""): (12, 0)}
V2 = {("9", ""): (45, 50), ("14", ""): (13, 0)}
V3 = {("9", ""): (49, 50), ("14", ""): (15, 0)}
ST = {"stored": 0, "held": 1, "malformed": 2, "sig": 3, "unknown": 4, "subtree": 5,
      "replay": 6, "gap": 7, "fork": 8, "chain": 9, "oversize": 11, "retry": 12, "protocol": 13}


def endpoint():
    return "tcp://127.0.0.1:%d" % tree.port(PARENT)


def log_lines_since(code, n):
    return tree.daemon_log(code).splitlines()[n:]


def log_len(code):
    return len(tree.daemon_log(code).splitlines())


def put_vals(vals):
    for (ind, dis), (num, den) in sorted(vals.items()):
        tree.put(COMMUNE, PERIOD, ind, num, den, dis=dis or None)


def held_chain():
    """[(seq, body, env)] of the commune's envelopes held at the parent."""
    out = []
    for _, _, env in log_envelopes(tslib.tierctl(tree.d(PARENT), "log", COMMUNE)):
        body, _ = split_env(env)
        out.append((decode_body(body)["seq"], body, env))
    return out


def setup():
    global tree
    tree = tslib.Tree(COMMUNE, name="hostile")
    tree.start()
    put_vals(V1)
    tree.wait_values(PARENT, PERIOD, V1, timeout=60)
    put_vals(V2)
    tree.wait_values("VN", PERIOD, V2, timeout=60)
    wait_until(lambda: len(held_chain()) >= 2, 30, "the parent to hold two commune envelopes")
    R.check(True, "parent holds %d commune envelopes before the attacks" % len(held_chain()))


def dealer(public, secret, server):
    return tslib.dealer(public, secret, server, endpoint())


recv = tslib.recv_msg


def unknown_key():
    pub, sec = zmq.curve_keypair()
    n = log_len(PARENT)
    s = dealer(pub, sec, tree.keys[PARENT][1].encode())
    s.send(msgpack.packb([1, 1, COMMUNE, tree.topo_version], use_bin_type=True))
    m = recv(s, 3)
    s.close()
    R.eq(m, None, "a client key not in the keys file gets no answer within 3s (no WELCOME)")
    wait_until(lambda: any("refused" in l.lower() and pub.decode() in l
                           for l in log_lines_since(PARENT, n)),
               10, "109's log to say it refused the unknown CURVE key %s" % pub.decode())
    R.check(True, "109's log names the refused key")
    R.check(tree.alive(PARENT), "109 still running")


def Impostor():
    """The commune, played by us with its real keys."""
    return tslib.Child(tree, COMMUNE, PARENT)


def snapshot():
    return (tree.values(PARENT, PERIOD), tree.values("VN", PERIOD), [q for q, _, _ in held_chain()])


def impersonate():
    tree.stop(COMMUNE)
    R.check(not tree.alive(COMMUNE), "real commune daemon stopped")
    chain = held_chain()
    held_seq, held_body, held_env = chain[-1]
    held_hash = body_hash(held_body)
    held = decode_body(held_body)
    before = snapshot()
    refused0 = int(tslib.status_field(tree.status(PARENT), "refused"))

    im = Impostor()
    try:
        w = im.hello()
        entries = {e[0]: (e[1], e[2]) for e in w[3]}
        R.eq(entries.get(COMMUNE), (held_seq, held_hash),
             "WELCOME lists what 109 holds of the commune (seq %d and its hash)" % held_seq)

        def attempt(what, env, want, origin=COMMUNE):
            n = log_len(PARENT)
            ne = len(im.errs)
            st = im.push([env])
            R.eq(st, [ST[want]], "%s -> ACK status %d (%s)" % (what, ST[want], want))
            wait_until(lambda: len(im.errs) > ne or im_more_errs(im, ne), 5, "an ERR for the %s" % what)
            R.check(any(e[2] == ST[want] for e in im.errs[ne:]),
                    "%s -> ERR with code %d: %r" % (what, ST[want], im.errs[ne:][:1]))
            wait_until(lambda: any(origin in l and ("refus" in l.lower() or want in l.lower())
                                   for l in log_lines_since(PARENT, n)),
                       10, "109's log line about the %s" % what)
            R.check(True, "%s logged by 109" % what)

        # forged: the next seq, correct prev, signed with another key
        forged_vals = {("9", ""): (999, 999)}
        body = encode_body(COMMUNE, PERIOD, held_seq + 1, held_hash, tree.topo_version, forged_vals)
        attempt("forged envelope", seal(body, os.urandom(32)), "sig")

        # outside the subtree: a commune of another district, validly signed by us
        other = next(c for c in tree.topo["order"]
                     if tree.topo["units"][c]["level"] == "commune"
                     and tree.topo["units"][c]["parent"] != PARENT)
        body = encode_body(other, PERIOD, 1, ZERO32, tree.topo_version, forged_vals)
        attempt("origin %s outside the sender's subtree" % other, seal(body, im.seed), "subtree", origin=other)

        # replay: an older envelope the parent already holds, resent unchanged
        old_seq, _, old_env = chain[0]
        st = im.push([old_env])
        R.check(st in ([ST["held"]], [ST["replay"]]),
                "replayed envelope seq %d (held %d) -> held/replay, not applied: %r" % (old_seq, held_seq, st))
        st = im.push([held_env])
        R.eq(st, [ST["held"]], "exact duplicate of the newest envelope -> held")

        # fork: same seq as the newest held, other values, validly signed
        n_forks = int(tslib.status_field(tree.status(PARENT), "forks"))
        body = encode_body(COMMUNE, PERIOD, held_seq, held["prev"], tree.topo_version, forged_vals,
                           completeness=held["completeness"])
        attempt("fork (seq %d again, other values)" % held_seq, seal(body, im.seed), "fork")
        wait_until(lambda: int(tslib.status_field(tree.status(PARENT), "forks")) >= max(1, n_forks + 1),
                   10, "109 status --json to count the fork")
        R.check(True, "109 status --json shows forks >= 1")

        # gap: seq held+2
        body = encode_body(COMMUNE, PERIOD, held_seq + 2, held_hash, tree.topo_version, forged_vals)
        attempt("gap (seq %d, held %d)" % (held_seq + 2, held_seq), seal(body, im.seed), "gap")

        # Claims the tree bounds (issue "hostile child" 1, 4, 5), each the
        # next seq with the right prev and validly signed, so only the
        # claim itself can be why it is refused.
        def next_env(vals=None, **kw):
            return seal(encode_body(COMMUNE, PERIOD, held_seq + 1, held_hash, tree.topo_version,
                                    vals or {("9", ""): (1, 2)}, **kw), im.seed)
        attempt("a numerator of 2^53 (over the bound 2^53 - 1)",
                next_env({("9", ""): (2 ** 53, 2 ** 53)}), "malformed")
        attempt("values of 2^64 - 1", next_env({("9", ""): (2 ** 64 - 1, 2 ** 64 - 1)}), "malformed")
        attempt("a leaf whose provenance names 03391 seq 7",
                next_env(prov=[("03391", 7, bytes(32))]), "malformed")
        attempt("completeness 5/5/5 leaves 2^32-1 from a leaf",
                next_env(completeness=(5, 5, 5, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1)), "malformed")
        attempt("a report created a year ahead of the parent's clock",
                next_env(created_ms=int((time.time() + 366 * 86400) * 1000)), "retry")
        R.eq(snapshot(), before, "none of the bounded claims was stored or relayed")

        # malformed envelope inside a valid PUSH
        st = im.push([b"\x92\xc4\x03abc\xc4\x01x"])
        R.eq(st, [ST["malformed"]], "malformed envelope -> ACK 2 (malformed)")

        # a frame that is not msgpack at all (drain earlier ERRs first)
        while recv(im.s, 0.3) is not None:
            pass
        im.s.send(b"\xc1\xc1 this is not msgpack \xff\x00")
        m = recv(im.s, 5)
        R.check(isinstance(m, list) and m[:2] == [1, 5],
                "a non-msgpack frame gets an ERR: %r" % (m,))
        # Log injection: an ERR whose reason carries a newline and a
        # forged log line, 30 times.  The line is escaped (\x0a), never
        # written as a line of its own, and repeats are held back.
        while recv(im.s, 0.3) is not None:
            pass
        n = log_len(PARENT)
        forged = "x\n2026-12-04T00:00:00.000Z tiersyncd 109[info]: INJECTED-LINE"
        for _ in range(30):
            im.send([1, 5, 2, forged, "", 0])
        wait_until(lambda: any("\\x0a2026" in l for l in log_lines_since(PARENT, n)),
                   10, "109 to log the ERR with its newline escaped")
        lines = log_lines_since(PARENT, n)
        R.check(not any(l.startswith("2026-12-04T00:00:00.000Z") or
                        l.lstrip().startswith("tiersyncd 109[info]: INJECTED") for l in lines),
                "no forged line in 109's log")
        says = [l for l in lines if "child says" in l]
        R.check(1 <= len(says) <= 6, "30 ERRs in a burst: %d log line(s), the rest held back"
                % len(says))
        wait_until(lambda: any("more lines held back" in l for l in log_lines_since(PARENT, n)),
                   10, "109 to say how many lines it held back")
        R.check(True, "109 says how many lines it held back")

        # CTL_REPLACE on the link, 65,536 indicators: refused by type,
        # undecoded, with ERR protocol and a log line, in well under a second.
        n = log_len(PARENT)
        big = [1, 18, PERIOD, ["i%d" % i for i in range(65536)],
               [["i%d" % i, "", 1, 1] for i in range(0, 65536, 2)]]
        t0 = time.monotonic()
        im.send(big)
        m = recv(im.s, 10)
        took = time.monotonic() - t0
        R.check(isinstance(m, list) and m[:3] == [1, 5, ST["protocol"]],
                "CTL_REPLACE on the link -> ERR protocol: %r" % (m[:4] if m else m,))
        wait_until(lambda: any("not valid towards a parent" in l
                               for l in log_lines_since(PARENT, n)), 10, "109 to log it")
        R.check(True, "CTL_REPLACE on the link logged (answered in %.2f s)" % took)

        # A PUSH of 200 badly signed envelopes: 200 statuses in the ACK,
        # but at most REFUSALS_SHOWN + 1 ERRs.
        forged_envs = [seal(encode_body(COMMUNE, PERIOD, held_seq + 1 + i, os.urandom(32),
                                        tree.topo_version, forged_vals), os.urandom(32))
                       for i in range(200)]
        ne = len(im.errs)
        st = im.push(forged_envs, err_wait=1.0)
        R.check(len(st) == 200 and all(x != ST["stored"] for x in st),
                "200 forged envelopes: 200 refusals in the ACK")
        R.check(1 <= len(im.errs) - ne <= 9, "... and %d ERRs, not 200" % (len(im.errs) - ne))

        R.check(tree.alive(PARENT), "109 still running after the hostile PUSHes")
        R.eq(snapshot(), before, "nothing was applied: reports at 109 and national and the held chain unchanged")
        wait_until(lambda: int(tslib.status_field(tree.status(PARENT), "refused")) >= refused0 + 5,
                   10, "109's status to count the refused envelopes")
        R.check(True, "109's status --json counts the refusals (refused >= %d)" % (refused0 + 5))
    finally:
        im.close()

    # a PUSH before HELLO on a fresh connection
    im = Impostor()
    try:
        im.send([1, 3, 7, [held_env]])
        got = []
        deadline = time.monotonic() + 5 * tslib.TIME_SCALE
        while time.monotonic() < deadline and not any(m[:2] == [1, 5] for m in got):
            m = recv(im.s, max(0.0, deadline - time.monotonic()))
            if m is None:
                break
            got.append(m)
        R.check(any(m[:2] == [1, 5] and m[2] == ST["protocol"] for m in got),
                "PUSH before HELLO -> ERR protocol (13): %r" % (got[:2],))
    finally:
        im.close()


def im_more_errs(im, ne):
    m = recv(im.s, 0.2)
    if m is not None and m[:2] == [1, 5]:
        im.errs.append(m)
    return len(im.errs) > ne


def garbage():
    port = tree.port(PARENT)
    cases = [
        ("random bytes", os.urandom(2048)),
        ("ZMTP signature then junk", b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + os.urandom(500)),
        ("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 20),
    ]
    for what, data in cases:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        dropped = False
        try:
            try:
                s.sendall(data)
            except OSError:
                dropped = True
            deadline = time.monotonic() + 10 * tslib.TIME_SCALE
            s.settimeout(1.0)
            while not dropped and time.monotonic() < deadline:
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    try:
                        s.sendall(os.urandom(64))   # keep feeding junk
                    except OSError:
                        dropped = True
                    continue
                except OSError:
                    dropped = True
                    break
                if not chunk:
                    dropped = True
        finally:
            s.close()
        R.check(dropped, "garbage on the listening port (%s): connection dropped" % what)
    R.check(tree.alive(PARENT), "109 still running after garbage")


def still_serving():
    tree.start(COMMUNE)
    put_vals(V3)
    tree.wait_values(PARENT, PERIOD, V3, timeout=60)
    R.eq(tree.values(PARENT, PERIOD), V3, "the real commune's new values reach 109 after the attacks")
    tree.wait_values("VN", PERIOD, V3, timeout=60)
    R.eq(tree.values("VN", PERIOD), V3, "... and national")
    p = tslib.tierctl_raw(tree.d("VN"), "verify")
    R.eq(p.returncode, 0, "tierctl verify at national exits 0 %s" % p.stderr.strip()[:300])


def quotas():
    """node.conf quota_*: what one origin may store.  With 109 restarted
    under quota_reports_day 2 and quota_values 3, the played commune's
    next reports: 4 values -> oversize; then two stored, the third
    'retry' naming the quota, nothing of it stored, counted in metrics."""
    tree.stop(COMMUNE)
    tree.stop(PARENT)
    with open(os.path.join(tree.d(PARENT), "node.conf"), "a") as f:
        f.write("quota_reports_day 2\nquota_values 3\n")
    tree.start(PARENT)
    chain = held_chain()
    seq, body, _ = chain[-1]
    prev = body_hash(body)
    im = Impostor()
    try:
        im.hello()
        wide = {("9", ""): (1, 2), ("14", ""): (1, 0), ("3", ""): (1, 9), ("25", ""): (1, 3)}
        st = im.push([seal(encode_body(COMMUNE, PERIOD, seq + 1, prev, tree.topo_version, wide),
                           im.seed)])
        R.eq(st, [ST.get("oversize", 11)], "a report of 4 values over quota_values 3 -> oversize")
        got = []
        for i in range(3):
            b = encode_body(COMMUNE, PERIOD, seq + 1, prev, tree.topo_version,
                            {("9", ""): (10 + i, 50)})
            got.append(im.push([seal(b, im.seed)])[0])
            if got[-1] == ST["stored"]:
                seq, prev = seq + 1, body_hash(b)
        R.eq(got, [ST["stored"], ST["stored"], ST["retry"]],
             "quota_reports_day 2: two reports stored, the third asked to retry")
        R.check(any("daily quota" in e[3] for e in im.errs), "the ERR names the quota: %r"
                % [e[3] for e in im.errs][-2:])
        R.eq(held_chain()[-1][0], seq, "nothing of the refused report stored")
        m = tslib.tierctl(tree.d(PARENT), "metrics")
        R.check(m["n_quota_refused"] >= 1, "metrics count it (n_quota_refused %d)" % m["n_quota_refused"])
    finally:
        im.close()


if R.run(setup):
    R.run(unknown_key)
    R.run(impersonate)
    R.run(garbage)
    R.run(still_serving)
    R.run(quotas)
R.finish()
