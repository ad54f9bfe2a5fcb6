#!/usr/bin/env python3
"""An independent port of HashiCorp Vault's shamir.Split (shamir/shamir.go).

It follows Vault's own choices, not ours: log/exp tables with generator 0xE5 for
GF(2^8)/0x11b, x coordinates drawn as a random permutation of 1..255, and the
share layout y bytes followed by the x byte. It prints what
`vault operator init -format=json` prints for the unseal keys, so tests can feed
ceremony shares made the way Vault makes them.

usage: vault_shamir.py SECRET_HEX SHARES THRESHOLD
"""
import base64
import json
import secrets
import sys


def tables():
    # Vault's tables.go lists these values; they are the powers of 0xE5.
    exp = [0] * 256
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        # multiply x by the generator 0xE5 the slow, obvious way
        a, b, p = x, 0xE5, 0
        while b:
            if b & 1:
                p ^= a
            a <<= 1
            if a & 0x100:
                a ^= 0x11B
            b >>= 1
        x = p
    exp[255] = exp[0]
    return log, exp


LOG, EXP = tables()


def mul(a, b):
    if a == 0 or b == 0:
        return 0
    return EXP[(LOG[a] + LOG[b]) % 255]


def evaluate(coeffs, x):
    # Horner, highest degree first (Vault's polynomial.evaluate).
    out = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        out = mul(out, x) ^ c
    return out


def split(secret, parts, threshold):
    xs = list(range(255))
    # Vault: mathrand.Perm(255); x = perm[i] + 1
    for i in range(254, 0, -1):
        j = secrets.randbelow(i + 1)
        xs[i], xs[j] = xs[j], xs[i]
    out = [bytearray() for _ in range(parts)]
    for byte in secret:
        coeffs = [byte] + [secrets.randbelow(256) for _ in range(threshold - 1)]
        for i in range(parts):
            out[i].append(evaluate(coeffs, xs[i] + 1))
    for i in range(parts):
        out[i].append(xs[i] + 1)
    return [bytes(s) for s in out]


def main():
    secret = bytes.fromhex(sys.argv[1])
    parts, threshold = int(sys.argv[2]), int(sys.argv[3])
    shares = split(secret, parts, threshold)
    print(json.dumps({
        "unseal_keys_b64": [base64.b64encode(s).decode() for s in shares],
        "unseal_keys_hex": [s.hex() for s in shares],
        "unseal_shares": parts,
        "unseal_threshold": threshold,
        "recovery_keys_b64": [],
        "recovery_keys_hex": [],
        "recovery_keys_shares": 0,
        "recovery_keys_threshold": 0,
        "root_token": "hvs.test-root-token-not-a-secret",
    }, indent=2))


if __name__ == "__main__":
    main()
