#!/usr/bin/env python3
"""An independent implementation of docs/format.md, written from its prose: it recomputes every
known-answer vector of the document from the vector's inputs and fails if any computed value
differs from the one written there.

    .venv/bin/python scripts/format-reference.py          # check docs/format.md (scripts/test)
    .venv/bin/python scripts/format-reference.py --print  # print the vectors it computes

Standard library only, and pycryptodome for XChaCha20-Poly1305 (scripts/test installs it into
the git-ignored .venv). It shares no code with the Rust implementation.
"""

import hashlib
import hmac
import os
import re
import sys

from Crypto.Cipher import ChaCha20_Poly1305

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "format.md")
VERSION = 3


def u8(x):
    return bytes([x])


def u16(x):
    return x.to_bytes(2, "big")


def u32(x):
    return x.to_bytes(4, "big")


def lp(b):
    return u32(len(b)) + b


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + u8(counter), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def xchacha_seal(key, nonce, aad, plaintext):
    cipher = ChaCha20_Poly1305.new(key=key, nonce=nonce)
    cipher.update(aad)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return nonce + ciphertext + tag


def canonical_number(text):
    m = re.fullmatch(r"(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]{1,6}))?", text)
    if not m:
        raise ValueError(f"not a decimal number: {text!r}")
    sign, integer, fraction, exponent = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    digits = (integer + fraction).lstrip("0")
    if not digits:
        return "0"
    trimmed = digits.rstrip("0")
    scale = int(exponent or "0") - len(fraction) + (len(digits) - len(trimmed))
    return f"{sign}{trimmed}E{scale}"


def value_bytes(typed):
    """The canonical encoding of a value written in a vector as `TYPE payload`."""
    kind, _, payload = typed.partition(" ")
    if kind == "S":
        return u8(1) + lp(payload.encode())
    if kind == "N":
        return u8(2) + lp(canonical_number(payload).encode())
    if kind == "B":
        return u8(3) + lp(bytes.fromhex(payload))
    if kind == "BOOL":
        return u8(4) + u8(1 if payload == "true" else 0)
    if kind == "NULL":
        return u8(5)
    if kind in ("SS", "NS", "BS"):
        members = [m for m in payload.split(",") if m] if payload else []
        if kind == "SS":
            encoded = [m.encode() for m in members]
        elif kind == "NS":
            encoded = [canonical_number(m).encode() for m in members]
        else:
            encoded = [bytes.fromhex(m) for m in members]
        tag = {"SS": 8, "NS": 9, "BS": 10}[kind]
        return u8(tag) + u32(len(encoded)) + b"".join(lp(m) for m in sorted(encoded))
    raise ValueError(f"no vector uses type {kind}")


def vectors(text):
    """Each ```text block that starts with `vector:`, as an ordered list of (name, value)."""
    found = []
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        fields, last = [], None
        for line in block.splitlines():
            if line.startswith(" ") and last is not None:
                fields[-1] = (fields[-1][0], fields[-1][1] + line.strip())
            elif ":" in line:
                name, _, value = line.partition(":")
                fields.append((name.strip(), value.strip()))
                last = name
        if fields and fields[0][0] == "vector":
            found.append(fields)
    return found


def get(fields, name):
    return [v for n, v in fields if n == name]


def one(fields, name):
    values = get(fields, name)
    if len(values) != 1:
        raise KeyError(f"vector needs exactly one `{name}`")
    return values[0]


def item_vector(v):
    table = one(v, "table").encode()
    attributes = {}
    for entry in get(v, "authenticated"):
        name, _, typed = entry.partition(" = ")
        attributes[name] = typed
    present = {name: typed for name, typed in attributes.items() if typed != "absent"}
    encoded = u32(len(present))
    for name in sorted(present, key=lambda n: n.encode()):
        encoded += lp(name.encode()) + value_bytes(present[name])
    data_key = bytes.fromhex(one(v, "data key"))
    salt = bytes.fromhex(one(v, "salt"))
    prk = hkdf_extract(salt, data_key)
    info = lambda label: lp(label) + u8(VERSION) + lp(table)
    key = hkdf_expand(prk, info(b"crypt-model key"), 32)
    commitment = hkdf_expand(prk, info(b"crypt-model commit"), 32)
    key_id = one(v, "key id").encode()
    wrapped = bytes.fromhex(one(v, "wrapped data key"))
    header = u8(VERSION) + u16(len(key_id)) + key_id + u16(len(wrapped)) + wrapped + salt + commitment
    aad = lp(b"crypt-model item") + u8(VERSION) + lp(table) + lp(header) + encoded
    fields = []
    for entry in get(v, "field"):
        name, _, value = entry.partition(" = ")
        fields.append((name.encode(), bytes.fromhex(value)))
    plaintext = u32(len(fields)) + b"".join(lp(n) + lp(p) for n, p in sorted(fields))
    nonce = bytes.fromhex(one(v, "nonce"))
    sealed = xchacha_seal(key, nonce, aad, plaintext)
    return {
        "attributes": encoded,
        "prk": prk,
        "key": key,
        "commitment": commitment,
        "header": header,
        "aad": aad,
        "plaintext": plaintext,
        "sealed": sealed,
    }


def index_vector(v):
    secret = bytes.fromhex(one(v, "index secret"))
    info = (
        lp(b"crypt-model index")
        + u8(VERSION)
        + lp(one(v, "table").encode())
        + lp(one(v, "field").encode())
        + u8(int(one(v, "index version")))
    )
    key = hkdf_expand(hkdf_extract(b"\0" * 32, secret), info, 32)
    message = bytes.fromhex(one(v, "normalized"))
    owners = get(v, "owner")
    if owners:
        message = lp(owners[0].encode()) + message
    tag = hmac.new(key, message, hashlib.sha256).digest()
    bits = int(one(v, "bits"))
    value = bytearray(tag[: (bits + 7) // 8])
    value[-1] &= (0xFF << (len(value) * 8 - bits)) & 0xFF
    return {"index key": key, "index value": bytes(value)}


def wrap_vector(v):
    context = {"crypt-model:format": str(VERSION), "crypt-model:table": one(v, "table")}
    encoded = u32(len(context)) + b"".join(
        lp(k.encode()) + lp(context[k].encode()) for k in sorted(context)
    )
    aad = lp(b"crypt-model local wrap v1") + lp(one(v, "key id").encode()) + encoded
    wrapped = xchacha_seal(
        bytes.fromhex(one(v, "key-encryption key")),
        bytes.fromhex(one(v, "nonce")),
        aad,
        bytes.fromhex(one(v, "data key")),
    )
    return {"context bytes": encoded, "wrapped data key": wrapped}


def number_vector(v):
    return {"canonical": canonical_number(one(v, "number")).encode()}


def cbor_text(s):
    b = s.encode()
    assert len(b) < 24
    return bytes([0x60 + len(b)]) + b


def cbor_vector(v):
    entries = [e.partition(" = ") for e in get(v, "entry")]
    out = bytes([0xA0 + len(entries)])
    for name, _, value in entries:
        out += cbor_text(name) + cbor_text(value)
    return {"cbor": out}


def compute(v):
    kind = one(v, "vector").split("-")[0]
    return {
        "item": item_vector,
        "index": index_vector,
        "wrap": wrap_vector,
        "number": number_vector,
        "cbor": cbor_vector,
    }[kind](v)


def main(args):
    text = open(SPEC).read()
    found = vectors(text)
    failures, checked = 0, 0
    for v in found:
        name = one(v, "vector")
        for output, value in compute(v).items():
            written = get(v, output)
            shown = value.hex() if output != "canonical" else value.decode()
            if "--print" in args:
                print(f"{name}: {output}: {shown}")
                continue
            checked += 1
            if written != [shown]:
                failures += 1
                print(f"{name}: {output} differs:\n  written  {written}\n  computed {shown}")
    if "--print" in args:
        return 0
    if failures or checked == 0:
        print(f"format-reference: {failures} of {checked} values differ", file=sys.stderr)
        return 1
    print(f"format-reference: {len(found)} vectors of docs/format.md, {checked} values recomputed from the prose: all match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
