"""tslib — helpers for tiersync's multi-process tests.

Each test is a standalone script run by ctest with TS_BUILD (the build
dir holding tierctl and tiersyncd) and TS_SRCDIR (the source tree) in its
environment.  A test builds one or more local trees with tools/localtree
(real tiersyncd processes on 127.0.0.1), drives them with tierctl, and
checks what the nodes hold.

Rules kept here so every test follows them:
- never sleep as synchronisation: wait_until() polls a condition against a
  deadline and fails with a message saying what it was waiting for and
  what it last saw;
- always clean up: every Tree is stopped (SIGKILL) and its temp dir removed
  at exit, even when a test raises; on failure the tail of each
  daemon.log is printed first (TS_KEEP=1 keeps the dirs for inspection);
- the last line of every test script is "N passed, M failed", and the
  exit status is non-zero if anything failed.
"""

import os
import sys

# The multi-process tests use Debian's python3-zmq, python3-msgpack and
# python3-nacl (tools/deps installs them).  If the python3 that runs us
# (e.g. a pyenv shim earlier in PATH) cannot import them but the system
# interpreter can, run again under the system interpreter.
def _have_modules():
    try:
        import zmq, msgpack, nacl.signing  # noqa: F401
        return True
    except ImportError:
        return False


if not _have_modules():
    _sys_py = "/usr/bin/python3"
    if (os.path.exists(_sys_py) and os.path.realpath(sys.executable) != os.path.realpath(_sys_py)
            and not os.environ.get("TS_REEXEC")):
        os.environ["TS_REEXEC"] = "1"
        os.execv(_sys_py, [_sys_py] + sys.argv)
    print("tslib: python modules zmq, msgpack and nacl are needed "
          "(Debian: python3-zmq python3-msgpack python3-nacl; run tools/deps)", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(1)

import atexit
import ctypes
import hashlib
import importlib.machinery
import importlib.util
import json as _json
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tierctl_json       # noqa: E402  (the --json contract, stdlib only)

SRCDIR = os.path.abspath(os.environ.get("TS_SRCDIR")
                         or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BUILD = os.path.abspath(os.environ.get("TS_BUILD") or os.path.join(SRCDIR, "build"))
TOPOLOGY = os.path.join(SRCDIR, "topology", "vn-2025-03.tsv")
LOCALTREE = os.path.join(SRCDIR, "tools", "localtree")
TIERCTL = os.path.join(BUILD, "tierctl")
TIERSYNCD = os.path.join(BUILD, "tiersyncd")

# Scale deadlines for slow builds (sanitizers): TS_TIME_SCALE=2 doubles them.
TIME_SCALE = float(os.environ.get("TS_TIME_SCALE", "1"))

# localtree's topology parser and subtree selection, reused here.
_loader = importlib.machinery.SourceFileLoader("localtree", LOCALTREE)
_spec = importlib.util.spec_from_loader("localtree", _loader)
localtree = importlib.util.module_from_spec(_spec)
_loader.exec_module(localtree)

# Daemons started by localtree outlive it; becoming a child subreaper makes
# them our children when localtree exits, so we can reap them (no zombies
# left behind) and see them exit.
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except Exception:  # pragma: no cover - not Linux
    pass


class TestFailure(Exception):
    """A check failed; the message says what and why."""


def log(msg):
    print("# " + msg, flush=True)


# --------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------

def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a true value, at most timeout seconds
    (scaled by TS_TIME_SCALE).  Returns that value.  On timeout raises
    TestFailure naming `what` and the last value/exception pred gave."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = repr(v)
        except Exception as e:  # keep polling: the condition may not hold yet
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s (last: %s)" %
                              (timeout, what, (last or "")[:500]))
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 0.5)


# --------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------

def port_free(port):
    return localtree.port_free(port)


# Listening ports are chosen BELOW the ephemeral range (localtree's
# ephemeral_low says why).
PORT_LO = 20000
PORT_HI = max(PORT_LO + 1000, min(32000, localtree.ephemeral_low() - 1))


def free_port_range(n, lo=PORT_LO, hi=PORT_HI, tries=200):
    """A base port b such that b..b+n-1 are all free on 127.0.0.1."""
    rnd = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(tries):
        b = rnd.randrange(lo, hi - n)
        if all(port_free(p) for p in range(b, b + n)):
            return b
    raise TestFailure("no %d consecutive free ports in %d..%d" % (n, lo, hi))


def free_port():
    """One free TCP port on 127.0.0.1, outside the ephemeral range."""
    return free_port_range(1)


# --------------------------------------------------------------------------
# tierctl
# --------------------------------------------------------------------------

class CtlError(TestFailure):
    def __init__(self, argv, proc):
        self.argv, self.proc = argv, proc
        self.rc, self.out, self.err = proc.returncode, proc.stdout, proc.stderr
        TestFailure.__init__(self, "%s exited %d: %s" % (" ".join(argv), proc.returncode,
                                                         (proc.stderr or proc.stdout).strip()[:800]))


def run(argv, timeout=30, input=None):
    """Run a command; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, input=input,
                          universal_newlines=True, timeout=timeout * TIME_SCALE)


def tierctl_raw(d, *args, timeout=30):
    """Run `tierctl -d d args...` (d None: no -d).  Returns CompletedProcess."""
    argv = [TIERCTL] + (["-d", d] if d else []) + [str(a) for a in args]
    return run(argv, timeout=timeout)


def tierctl(d, *args, json=True, check=True, timeout=30):
    """Run tierctl in node dir d.  With json=True adds --json and returns
    the parsed document; else returns stdout.  check: raise CtlError on a
    non-zero exit."""
    args = list(args) + (["--json"] if json else [])
    p = tierctl_raw(d, *args, timeout=timeout)
    argv = [TIERCTL, "-d", str(d)] + [str(a) for a in args]
    if check and p.returncode != 0:
        raise CtlError(argv, p)
    if not json:
        return p.stdout
    try:
        doc = _json.loads(p.stdout)
    except ValueError:
        raise TestFailure("%s: output is not JSON: %r" % (" ".join(argv), p.stdout[:500]))
    return check_json(args, doc)


# --------------------------------------------------------------------------
# Reading tierctl's JSON: one contract per command (tests/tierctl_json.py,
# docs/TIERCTL.md "JSON output"), checked on every document read, so the
# readers below need no fallbacks: a field renamed or retyped in the C
# code fails here, naming it.
# --------------------------------------------------------------------------

def check_json(args, doc):
    """doc, after checking it against the contract of `tierctl args... --json`
    (exact keys, types); TestFailure names the field that differs."""
    try:
        return tierctl_json.check(tierctl_json.command_of(args), doc)
    except tierctl_json.JsonContractError as e:
        raise TestFailure(str(e))


def _checked(cmd, doc):
    try:
        return tierctl_json.check(cmd, doc)
    except tierctl_json.JsonContractError as e:
        raise TestFailure(str(e))


def report_values(doc):
    """{(ind, dis): (num, den)} from a `tierctl report --json` document."""
    if isinstance(doc, dict) and "indicators" in doc and doc["indicators"] and \
            "children" in doc["indicators"][0]:
        _checked("report --indicator", doc)
    else:
        _checked("report", doc)
    return {(v["ind"], v["dis"]): (v["num"], v["den"]) for v in doc["values"]}


def report_completeness(doc):
    """The completeness object of a `tierctl report --json` document."""
    return _checked("report", doc)["completeness"]


def log_envelopes(doc):
    """[(origin, seq, envelope bytes)] from a `tierctl log ORIGIN --json` document."""
    _checked("log", doc)
    return [(doc["origin"], e["seq"], bytes.fromhex(e["env_hex"])) for e in doc["envelopes"]]


def status_field(doc, name):
    """Field `name` of a `tierctl status --json` document (a name the
    contract does not have is an error, not a default)."""
    _checked("status", doc)
    if name not in tierctl_json.fields(tierctl_json.STATUS):
        raise TestFailure("tierctl status --json has no field %r" % (name,))
    return doc[name]


# --------------------------------------------------------------------------
# Envelopes, decoded independently of the C code
# --------------------------------------------------------------------------

import msgpack            # noqa: E402
import nacl.signing       # noqa: E402
import nacl.exceptions    # noqa: E402

ZERO32 = bytes(32)


def body_hash(body):
    return hashlib.blake2b(body, digest_size=32).digest()


def split_env(env):
    e = msgpack.unpackb(env, raw=False)
    if not (isinstance(e, list) and len(e) == 2 and isinstance(e[0], bytes) and isinstance(e[1], bytes)):
        raise TestFailure("envelope is not [bin body, bin sig]")
    if len(e[1]) != 64:
        raise TestFailure("signature is %d bytes, not 64" % len(e[1]))
    if msgpack.packb(e, use_bin_type=True) != env:
        raise TestFailure("envelope is not canonical msgpack")
    return e[0], e[1]


FIELDS = ("fmt", "domain", "origin", "period", "seq", "prev", "topo", "catalogue",
          "created_ms", "completeness", "values", "prov")


def decode_body(body):
    """The report body as a dict (FIELDS), checking shape and canonical form."""
    b = msgpack.unpackb(body, raw=False)
    if not (isinstance(b, list) and len(b) == 12):
        raise TestFailure("body is not an array of 12")
    if msgpack.packb(b, use_bin_type=True) != body:
        raise TestFailure("body is not canonical msgpack")
    r = dict(zip(FIELDS, b))
    if r["fmt"] != 1 or r["domain"] != "tiersync/report/v1":
        raise TestFailure("body fmt/domain %r %r" % (r["fmt"], r["domain"]))
    if not isinstance(r["prev"], bytes) or len(r["prev"]) != 32:
        raise TestFailure("prev is not bin32")
    if not (isinstance(r["completeness"], list) and len(r["completeness"]) == 6):
        raise TestFailure("completeness is not an array of 6")
    keys = [(v[0], v[1]) for v in r["values"]]
    if keys != sorted(keys, key=lambda k: (k[0].encode(), k[1].encode())) or len(set(keys)) != len(keys):
        raise TestFailure("values not sorted/unique")
    kids = [p[0] for p in r["prov"]]
    if kids != sorted(kids, key=lambda k: k.encode()) or len(set(kids)) != len(kids):
        raise TestFailure("prov not sorted/unique")
    return r


def body_values(r):
    return {(v[0], v[1]): (v[2], v[3]) for v in r["values"]}


def encode_body(origin, period, seq, prev, topo, values, completeness=(0, 0, 0, 1, 1, 1),
                prov=(), catalogue="", created_ms=None):
    """A canonical report body (ARCHITECTURE.md), values {(ind, dis): (num, den)}."""
    vals = [[i, d, n, dn] for (i, d), (n, dn) in
            sorted(values.items(), key=lambda kv: (kv[0][0].encode(), kv[0][1].encode()))]
    return msgpack.packb([1, "tiersync/report/v1", origin, period, seq, prev, topo, catalogue,
                          created_ms if created_ms is not None else int(time.time() * 1000),
                          list(completeness), vals, [list(p) for p in prov]],
                         use_bin_type=True)


def seal(body, seed):
    """Envelope [bin body, bin sig] signed with the 32-byte Ed25519 seed."""
    sig = nacl.signing.SigningKey(seed).sign(body).signature
    return msgpack.packb([body, sig], use_bin_type=True)


def verify_sig(body, sig, pk):
    try:
        nacl.signing.VerifyKey(pk).verify(body, sig)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def read_keyfile(path):
    """{'public': str, 'secret': str} from a `public X`/`secret Y` key file."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            k, _, v = line.partition(" ")
            if "=" in k:
                k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def read_keys_tsv(path):
    """{code: (sign_pk bytes, curve_pk z85 str)} (first line per code)."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            f_ = line.rstrip("\n").split("\t")
            out.setdefault(f_[0], (bytes.fromhex(f_[1]), f_[2]))
    return out


# --------------------------------------------------------------------------
# Local trees
# --------------------------------------------------------------------------

_TREES = []


def dealer(public, secret, server, endpoint):
    """A CURVE DEALER (linger 0) connected to endpoint; keys as bytes (Z85)."""
    import zmq
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_publickey = public
    s.curve_secretkey = secret
    s.curve_serverkey = server
    s.connect(endpoint)
    return s


def recv_msg(s, timeout):
    """One decoded link message from socket s, or None after timeout seconds."""
    import msgpack
    if s.poll(int(timeout * 1000 * TIME_SCALE)):
        return msgpack.unpackb(s.recv(), raw=False)
    return None


class Child:
    """Plays unit `code` towards its parent in `tree` with the unit's real
    CURVE and signing keys (its own daemon must be stopped).  Messages are
    the link's msgpack arrays [1, type, ...] (docs/PROTOCOL.md)."""

    def __init__(self, tree, code, parent, batch=100):
        import nacl.signing
        ck = read_keyfile(os.path.join(tree.d(code), "curve.key"))
        sk = read_keyfile(os.path.join(tree.d(code), "sign.key"))
        self.seed = bytes.fromhex(sk["secret"])[:32]
        if nacl.signing.SigningKey(self.seed).verify_key.encode() != tree.keys[code][0]:
            raise TestFailure("%s: sign.key does not match keys.tsv" % code)
        self.tree, self.code = tree, code
        self.s = dealer(ck["public"].encode(), ck["secret"].encode(),
                        tree.keys[parent][1].encode(),
                        "tcp://127.0.0.1:%d" % tree.port(parent))
        self.batch = batch
        self.errs = []

    def send(self, msg):
        import msgpack
        self.s.send(msgpack.packb(msg, use_bin_type=True))

    def recv(self, timeout):
        return recv_msg(self.s, timeout)

    def hello(self):
        """HELLO; returns the WELCOME [1, 2, unit, held]."""
        self.send([1, 1, self.code, self.tree.topo_version])
        m = self.recv(10)
        if not (isinstance(m, list) and len(m) >= 4 and m[:2] == [1, 2]):
            raise TestFailure("expected WELCOME [1, 2, unit, held], got %r" % (m,))
        return m

    def push(self, envs, err_wait=0.3):
        """Send one PUSH; return the ACK's statuses.  ERRs go to self.errs,
        including those that arrive within err_wait s after the ACK."""
        self.batch += 1
        b = self.batch
        self.send([1, 3, b, list(envs)])
        deadline = time.monotonic() + 10 * TIME_SCALE
        while time.monotonic() < deadline:
            m = self.recv(max(0.0, deadline - time.monotonic()))
            if m is None:
                break
            if m[:2] == [1, 4] and m[2] == b:
                while err_wait > 0:
                    e = self.recv(err_wait)
                    if e is None:
                        break
                    if e[:2] == [1, 5]:
                        self.errs.append(e)
                return m[3]
            if m[:2] == [1, 5]:
                self.errs.append(m)
        raise TestFailure("no ACK for batch %d within 10s (ERRs: %r)" % (b, self.errs[-3:]))

    def close(self):
        self.s.close()


class Tree:
    """A local tree made by tools/localtree in a fresh temp dir: the subtree
    of `unit` plus its ancestors.  Stopped and removed at exit."""

    def __init__(self, unit, topology=TOPOLOGY, name=None, catalogue=True):
        self.unit = unit
        topo = localtree.parse_topology(topology)
        self.codes_expected = localtree.select_units(topo, unit)
        self.topo_version = topo["version"]
        self.topo = topo
        self.dir = tempfile.mkdtemp(prefix="ts-%s-" % (name or unit))
        self.logs_shown = False
        self.pids = set()
        _TREES.append(self)
        last = None
        for _ in range(5):  # a port may be taken between our check and localtree's
            base = free_port_range(len(self.codes_expected))
            p = run([sys.executable, LOCALTREE, "create", self.dir, "--unit", unit,
                     "--topology", topology, "--base-port", str(base), "--bin", BUILD]
                    + ([] if catalogue else ["--no-catalogue"]), timeout=120)
            if p.returncode == 0:
                break
            last = p
            if "already in use" not in p.stderr:
                raise TestFailure("localtree create failed: " + p.stderr.strip())
        else:
            raise TestFailure("localtree create failed: " + last.stderr.strip())
        with open(os.path.join(self.dir, "tree.json"), encoding="utf-8") as f:
            self.info = _json.load(f)
        self.codes = self.info["codes"]
        self.root = self.info["root"]
        self.keys = read_keys_tsv(os.path.join(self.dir, "keys.tsv"))

    # -- paths and facts
    def d(self, code):
        return self.info["units"][code]["dir"]

    def u(self, code):
        return self.info["units"][code]

    def children(self, code):
        return self.info["units"][code]["children"]

    def leaves(self, code=None):
        code = code or self.root
        kids = self.children(code)
        if not kids:
            return [code]
        return [l for k in kids for l in self.leaves(k)]

    def pid(self, code):
        try:
            with open(os.path.join(self.d(code), "pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def port(self, code):
        return self.info["units"][code]["port"]

    def daemon_log(self, code):
        try:
            with open(os.path.join(self.d(code), "daemon.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- processes
    def _lt(self, *args, timeout=120):
        self.reap()
        p = run([sys.executable, LOCALTREE] + list(args), timeout=timeout)
        self.reap()
        if p.returncode != 0:
            raise TestFailure("localtree %s failed: %s" % (" ".join(args[:1]), (p.stderr or p.stdout).strip()))
        return p

    def start(self, *codes, timeout=60):
        args = ["start", self.dir, "--timeout", str(timeout * TIME_SCALE)]
        if codes:
            args += ["--only"] + list(codes)
        self._lt(*args, timeout=timeout * TIME_SCALE + 60)

    def stop(self, *codes, kill=False, timeout=20):
        args = ["stop", self.dir, "--timeout", str(timeout * TIME_SCALE)]
        if codes:
            args += ["--only"] + list(codes)
        if kill:
            args.append("--kill")
        self._lt(*args, timeout=timeout * TIME_SCALE + 30)

    def kill(self, code):
        """kill -9 one node."""
        self.stop(code, kill=True)

    def restart(self, code):
        self.stop(code)
        self.start(code)

    def alive(self, code):
        pid = self.pid(code)
        if pid is None:
            return False
        self.reap()
        return localtree.pid_state(pid) == "alive"

    def reap(self):
        """Reap daemons of this tree that exited (we are their subreaper)."""
        for code in self.info["units"] if hasattr(self, "info") else ():
            pid = self.pid(code)
            if pid:
                self.pids.add(pid)
        for pid in list(self.pids):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid          # not ours, or already reaped
            if done == pid:
                self.pids.discard(pid)

    # -- tierctl shortcuts
    def ctl(self, code, *args, **kw):
        return tierctl(self.d(code), *args, **kw)

    def put(self, code, period, ind, num, den=None, dis=None):
        args = ["put", period, ind, str(num)] + ([str(den)] if den is not None else [])
        if dis:
            args += ["--dis", dis]
        return self.ctl(code, *args, json=False)

    def report(self, code, period, unit=None):
        args = ["report", period] + (["--unit", unit] if unit else [])
        return self.ctl(code, *args)

    def values(self, code, period, unit=None):
        return report_values(self.report(code, period, unit))

    def status(self, code):
        return self.ctl(code, "status")

    def wait_values(self, code, period, expected, timeout=60, unit=None):
        """Wait until code's report for period (of unit) equals expected."""
        def ok():
            got = self.values(code, period, unit)
            return got == expected or _Diff(got, expected)
        return wait_until(ok, timeout,
                          "%s report %s%s == %s" % (code, period, " --unit " + unit if unit else "",
                                                    _short(expected)))

    # -- cleanup
    def show_logs(self, n=25):
        if self.logs_shown:
            return
        self.logs_shown = True
        for code in self.codes:
            text = self.daemon_log(code).splitlines()
            print("# ---- %s/daemon.log (last %d of %d lines) ----" % (code, min(n, len(text)), len(text)))
            for line in text[-n:]:
                print("#   " + line)

    def cleanup(self):
        self.reap()
        try:
            run([sys.executable, LOCALTREE, "stop", self.dir, "--kill", "--timeout", "10"], timeout=60)
        except Exception as e:
            print("# cleanup of %s: %s" % (self.dir, e))
        self.reap()
        if os.environ.get("TS_KEEP"):
            print("# TS_KEEP: kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _TREES:
            _TREES.remove(self)


class _Diff:
    """A falsy value whose repr shows how got differs from expected."""
    def __init__(self, got, exp):
        self.got, self.exp = got, exp

    def __bool__(self):
        return False

    def __repr__(self):
        parts = []
        for k in sorted(set(self.got) | set(self.exp)):
            if self.got.get(k) != self.exp.get(k):
                parts.append("%s: got %s want %s" % (k, self.got.get(k), self.exp.get(k)))
        return "; ".join(parts) or "equal"


def _short(x, n=200):
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


def _cleanup_all():
    for t in list(_TREES):
        t.cleanup()


atexit.register(_cleanup_all)


def _on_signal(sig, frame):
    _cleanup_all()
    os._exit(128 + sig)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


# --------------------------------------------------------------------------
# Test runner
# --------------------------------------------------------------------------

class Runner:
    """Collects checks; each test function is run, failures are counted,
    and finish() prints 'N passed, M failed' and exits."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.t0 = time.monotonic()
        for exe in (TIERCTL, TIERSYNCD):
            if not os.access(exe, os.X_OK):
                print("# %s missing: build first (TS_BUILD=%s)" % (exe, BUILD))
                print("0 passed, 1 failed")
                sys.exit(1)

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print("ok %d - %s" % (self.passed + self.failed, what), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.passed + self.failed, what), flush=True)
            for t in _TREES:
                t.show_logs()
        return bool(cond)

    def eq(self, got, want, what):
        ok = got == want
        if not ok:
            print("#   got:  %s\n#   want: %s" % (_short(got, 2000), _short(want, 2000)))
            if isinstance(got, dict) and isinstance(want, dict):
                print("#   diff: %r" % _Diff(got, want))
        return self.check(ok, what)

    def run(self, fn, *args):
        """Run one test step; an exception counts as one failure."""
        name = fn.__name__
        log("== %s (%.1fs)" % (name, time.monotonic() - self.t0))
        try:
            fn(*args)
            return True
        except Exception as e:
            self.failed += 1
            print("not ok %d - %s raised %s: %s" % (self.passed + self.failed, name,
                                                   type(e).__name__, e), flush=True)
            if not isinstance(e, TestFailure):
                traceback.print_exc(file=sys.stdout)
            for t in _TREES:
                t.show_logs()
            return False

    def finish(self):
        _cleanup_all()
        print("# %s: %.1fs" % (self.name, time.monotonic() - self.t0))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.passed == 0 else 0)
