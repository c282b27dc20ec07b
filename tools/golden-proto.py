#!/usr/bin/env python3
"""Print the golden byte vectors of tiersync's wire formats.

An encoder independent of the C codec: Python's msgpack (canonical with
use_bin_type=True: smallest ints, str8 for 32..255-byte strings, bin for
bytes), hashlib's BLAKE2b-256 and PyNaCl's Ed25519.  The C test
tests/test_proto.c embeds this output; to regenerate after a deliberate
format change:

    apt-get install -y python3-msgpack python3-nacl
    /usr/bin/python3 tools/golden-proto.py > tests/data/golden-proto.txt

(the Debian packages install into the system Python, hence /usr/bin/python3
rather than whatever python3 is first in PATH), then paste the hex into
tests/test_proto.c (same names; env_a's signature is G_SIG_A, its last 64
bytes).
Output: one "name hex" line per vector.
"""
import hashlib
import sys

import msgpack
import nacl.signing

SEED = bytes(range(1, 33))          # 0x01..0x20, as in the C test
FMT, DOMAIN, PROTO = 1, "tiersync/report/v1", 1


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def body(origin, period, seq, prev, topo, cat, created, comp, values, prov):
    values = sorted(values, key=lambda v: (v[0].encode(), v[1].encode()))
    prov = sorted(prov, key=lambda p: p[0].encode())
    return pack([FMT, DOMAIN, origin, period, seq, prev, topo, cat, created,
                 list(comp), [list(v) for v in values],
                 [list(p) for p in prov]])


def envelope(b, key):
    sig = key.sign(b).signature
    assert len(sig) == 64
    return pack([b, sig])


def main():
    key = nacl.signing.SigningKey(SEED)
    out = []

    # Report A: seq 2, values exercising fixint/uint8/16/32/64, str8,
    # and two provenance entries (given unsorted on purpose).
    body_a = body("00001", "2025", 2, bytes(range(0xa0, 0xc0)), "vn-2025-07",
                  "apc-2021-2030", 1764892800123, (3, 2, 1, 40, 35, 30),
                  [("29", "", 5000000000, 4294967296),
                   ("1.1", "", 12, 0),
                   ("2.3", "ethnic=Hmong;area=highland;age=06-15", 300, 70000),
                   ("1.1", "sex=F", 7, 200)],
                  [("00007", 1, b"\x22" * 32), ("00004", 3, b"\x11" * 32)])
    # Report B: seq 1, the smallest report there is.
    body_b = body("01", "2025Q3", 1, bytes(32), "vn-2025-07", "", 0,
                  (0, 0, 0, 0, 0, 0), [], [])
    env_a, env_b = envelope(body_a, key), envelope(body_b, key)
    out += [("pk", bytes(key.verify_key)),
            ("body_a", body_a), ("hash_a", hashlib.blake2b(body_a, digest_size=32).digest()),
            ("env_a", env_a),
            ("body_b", body_b), ("hash_b", hashlib.blake2b(body_b, digest_size=32).digest()),
            ("env_b", env_b)]

    msgs = [
        ("hello", [PROTO, 1, "00001", "vn-2025-07"]),
        ("welcome", [PROTO, 2, "001", [["00001", 7, b"\x33" * 32],
                                       ["00004", 300, b"\x44" * 32]]]),
        ("push", [PROTO, 3, 42, [env_b, b"\x01\x02\x03"]]),
        ("ack", [PROTO, 4, 42, [0, 1, 13]]),
        ("err", [PROTO, 5, 3, "signature does not verify", "00001", 7]),
        ("ping", [PROTO, 6, 1764892800123]),
        ("pong", [PROTO, 7, 1764892800123]),
        ("ctl_put", [PROTO, 16, "2025-07", [["2.3", "sex=M", 5, 9],
                                            ["1.1", "", 12, 0]]]),
        ("ctl_reply", [PROTO, 17, 0, "ok"]),
    ]
    out += [(name, pack(m)) for name, m in msgs]
    for name, b in out:
        sys.stdout.write("%s %s\n" % (name, b.hex()))


if __name__ == "__main__":
    main()
