#!/usr/bin/python3
"""bench/rsakeys.py - RSA-3072 OpenPGP public keys for bench members, made in seconds and kept.

usage: bench/rsakeys.py DIR INDEX...

Writes DIR/r%06d.pgp (binary transferable public key: RSA-3072 primary, one user ID, its
certification, an RSA-3072 encryption subkey and its binding signature, all SHA-256) for every
member INDEX that has none yet; an existing file is kept, so a rerun is instant.
tests/tools/benchkeys reads them (RSA_DIR) and judges each as the daemon does.

Why not gpg or librnp: an RSA-3072 key pair is two 3072-bit moduli, so four 1536-bit primes, and
finding primes is the whole cost (librnp/Botan ~1 s of CPU a member here, gpg about the same): the
bench's 1,000 RSA members took more than 38 minutes at the machine's load. Here the primes are
made once in a small pool (OpenSSL through python3-cryptography) and every modulus is the product
of a different pair of them, so 64 primes give 2,016 distinct moduli - distinct keys, distinct
fingerprints, so no cache of the daemon ever takes one member's key for another's. Such keys are
worthless as keys (any two sharing a prime factor each other by a GCD), but what a copy costs the
daemon depends only on the public key - the modulus' size and e = 65537, for loading the key
(its signatures verified) and for encrypting - and that is exactly an ordinary RSA-3072 key's.
Test keys only, for a bench: never for anything else.
"""
import hashlib
import itertools
import math
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric import rsa

BITS = 3072
E = 65537
CREATED = 1700000000
# PKCS #1 v1.5's DigestInfo prefix for SHA-256 (RFC 8017, 9.2)
SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def packet(tag, body):
    """an OpenPGP packet in the new format"""
    n = len(body)
    if n < 192:
        head = bytes([n])
    elif n < 8384:
        head = bytes([((n - 192) >> 8) + 192, (n - 192) & 0xFF])
    else:
        head = b"\xff" + struct.pack(">I", n)
    return bytes([0xC0 | tag]) + head + body


def mpi(x):
    return struct.pack(">H", x.bit_length()) + x.to_bytes((x.bit_length() + 7) // 8, "big")


def key_body(n):
    """a v4 RSA public key packet's body"""
    return b"\x04" + struct.pack(">I", CREATED) + b"\x01" + mpi(n) + mpi(E)


def fingerprint(body):
    return hashlib.sha1(b"\x99" + struct.pack(">H", len(body)) + body).digest()


def subpacket(kind, data):
    return bytes([len(data) + 1, kind]) + data


def signature(priv, sigtype, hashed_prefix, flags, fpr):
    """a v4 signature packet of sigtype over hashed_prefix, by priv (whose fingerprint is fpr)"""
    hashed = (subpacket(2, struct.pack(">I", CREATED)) + subpacket(27, bytes([flags]))
              + subpacket(33, b"\x04" + fpr))
    head = bytes([4, sigtype, 1, 8]) + struct.pack(">H", len(hashed)) + hashed
    data = hashed_prefix + head + b"\x04\xff" + struct.pack(">I", len(head))
    sig = priv.sign(hashlib.sha256(data).digest())
    unhashed = subpacket(16, fpr[-8:])
    return packet(2, head + struct.pack(">H", len(unhashed)) + unhashed
                  + hashlib.sha256(data).digest()[:2] + mpi(sig))


class Private:
    """the RSA private key of modulus p*q: signs a SHA-256 digest (PKCS #1 v1.5, by the CRT).
    By hand, as Debian's python3-cryptography (38) would test both primes again for every key"""

    def __init__(self, p, q):
        self.p, self.q, self.n = p, q, p * q
        d = pow(E, -1, (p - 1) * (q - 1) // math.gcd(p - 1, q - 1))
        self.dp, self.dq, self.qinv = d % (p - 1), d % (q - 1), pow(q, -1, p)

    def sign(self, digest):
        k = (self.n.bit_length() + 7) // 8
        t = SHA256_INFO + digest
        m = int.from_bytes(b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t, "big")
        a, b = pow(m, self.dp, self.p), pow(m, self.dq, self.q)
        s = b + self.q * ((a - b) * self.qinv % self.p)
        assert pow(s, E, self.n) == m
        return s


def moduli(count):
    """count distinct pairs of 1536-bit primes whose products have exactly BITS bits"""
    m = 2
    while m * (m - 1) // 2 < count:
        m += 1
    primes = []
    while len(primes) < m:
        k = rsa.generate_private_key(public_exponent=E, key_size=BITS).private_numbers()
        primes += [k.p, k.q]
    pairs = [(p, q) for p, q in itertools.combinations(primes, 2)
             if (p * q).bit_length() == BITS and math.gcd(E, (p - 1) * (q - 1)) == 1]
    if len(pairs) < count:      # a product one bit short: more primes
        return pairs + moduli(count - len(pairs))
    return pairs[:count]


def key(i, primary, sub):
    """member i's transferable public key"""
    pk, sk = Private(*primary), Private(*sub)
    pbody, sbody = key_body(pk.n), key_body(sk.n)
    fpr = fingerprint(pbody)
    uid = f"r{i} <r{i}@example.net>".encode()
    kp = b"\x99" + struct.pack(">H", len(pbody)) + pbody
    cert = signature(pk, 0x13, kp + b"\xb4" + struct.pack(">I", len(uid)) + uid, 0x03, fpr)
    bind = signature(pk, 0x18, kp + b"\x99" + struct.pack(">H", len(sbody)) + sbody, 0x0C, fpr)
    return packet(6, pbody) + packet(13, uid) + cert + packet(14, sbody) + bind


def make(directory, indexes):
    """the keys of indexes not in directory yet; returns how many were made"""
    os.makedirs(directory, exist_ok=True)
    todo = [i for i in indexes if not os.path.exists(os.path.join(directory, f"r{i:06d}.pgp"))]
    if not todo:
        return 0
    pairs = moduli(2 * len(todo))
    for n, i in enumerate(todo):
        path = os.path.join(directory, f"r{i:06d}.pgp")
        with open(path + ".tmp", "wb") as f:
            f.write(key(i, pairs[2 * n], pairs[2 * n + 1]))
        os.rename(path + ".tmp", path)
    return len(todo)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    print(f"{make(sys.argv[1], [int(a) for a in sys.argv[2:]])} keys made")
