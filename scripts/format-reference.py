#!/usr/bin/env python3
"""An independent implementation of docs/format.md, written from its prose: it recomputes every
known-answer vector of the document from the vector's inputs and fails if any computed value
differs from the one written there.

    .venv/bin/python scripts/format-reference.py          # check docs/format.md (scripts/test)
    .venv/bin/python scripts/format-reference.py --print  # print the vectors it computes
    .venv/bin/python scripts/format-reference.py --serve  # seal and open items, a JSON line each

`--serve` is the other side of the differential tests (tests/fuzz/differential.rs): each line
on standard input is a request, `{"op": "open" | "seal", ...}` (see `serve`), answered by one
line on standard output.

Standard library only, and pycryptodome for XChaCha20-Poly1305 and AES-256-GCM (scripts/test
installs it into the git-ignored .venv). It shares no code with the Rust implementation.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys

from Crypto.Cipher import AES, ChaCha20_Poly1305

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "format.md")
VERSION = 3
# The outputs written as text rather than hex.
TEXT_OUTPUTS = ("canonical", "tombstone", "entry", "model", "text", "owner_key")


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


def gcm_seal(key, nonce, aad, plaintext):
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return nonce + ciphertext + tag


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


def item_parts(v):
    """What an item vector's inputs give before any key: the table, the canonical encoding of the
    authenticated attributes, and the message's plaintext."""
    table = one(v, "table").encode()
    attributes = {}
    for entry in get(v, "authenticated"):
        name, _, typed = entry.partition(" = ")
        attributes[name] = typed
    present = {name: typed for name, typed in attributes.items() if typed != "absent"}
    encoded = u32(len(present))
    for name in sorted(present, key=lambda n: n.encode()):
        encoded += lp(name.encode()) + value_bytes(present[name])
    fields = []
    for entry in get(v, "field"):
        name, _, value = entry.partition(" = ")
        fields.append((name.encode(), bytes.fromhex(value)))
    plaintext = u32(len(fields)) + b"".join(lp(n) + lp(p) for n, p in sorted(fields))
    return table, encoded, plaintext


def key_fields(v):
    """`u16(len(key id)) || key id || u16(len(wrapped)) || wrapped`."""
    key_id = one(v, "key id").encode()
    wrapped = bytes.fromhex(one(v, "wrapped data key"))
    return u16(len(key_id)) + key_id + u16(len(wrapped)) + wrapped


def item_vector(v):
    table, encoded, plaintext = item_parts(v)
    data_key = bytes.fromhex(one(v, "data key"))
    salt = bytes.fromhex(one(v, "salt"))
    prk = hkdf_extract(salt, data_key)
    info = lambda label: lp(label) + u8(VERSION) + lp(table)
    key = hkdf_expand(prk, info(b"crypt-model key"), 32)
    commitment = hkdf_expand(prk, info(b"crypt-model commit"), 32)
    header = u8(VERSION) + key_fields(v) + salt + commitment
    aad = lp(b"crypt-model item") + u8(VERSION) + lp(table) + lp(header) + encoded
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


def suite2_vector(v):
    """Format version 4, suite 2: AES-256-GCM, the header committed by an HMAC-SHA256 under a
    derived commit key."""
    version, suite = 4, 2
    table, encoded, plaintext = item_parts(v)
    data_key = bytes.fromhex(one(v, "data key"))
    salt = bytes.fromhex(one(v, "salt"))
    prk = hkdf_extract(salt, data_key)
    info = lambda label: lp(label) + u8(version) + u8(suite) + lp(table)
    key = hkdf_expand(prk, info(b"crypt-model key"), 32)
    commit_key = hkdf_expand(prk, info(b"crypt-model commit"), 32)
    committed = u8(version) + u8(suite) + key_fields(v) + salt
    commitment = hmac.new(commit_key, committed, hashlib.sha256).digest()
    header = committed + commitment
    aad = lp(b"crypt-model item") + u8(version) + lp(table) + lp(header) + encoded
    nonce = bytes.fromhex(one(v, "nonce"))
    sealed = gcm_seal(key, nonce, aad, plaintext)
    return {
        "attributes": encoded,
        "prk": prk,
        "key": key,
        "commit key": commit_key,
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
        + lp(b"owner" if get(v, "owner") else b"table")
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


def context_bytes(table, purpose=None):
    """The context's bytes: an item's (the format version) unless `purpose` is another first
    entry, written `name = value`."""
    first = ("crypt-model:format", str(VERSION))
    if purpose:
        name, _, value = purpose.partition(" = ")
        first = (name, value)
    context = dict([first, ("crypt-model:table", table)])
    return u32(len(context)) + b"".join(
        lp(k.encode()) + lp(context[k].encode()) for k in sorted(context)
    )


def wrap_aad(key_id, table, purpose=None):
    return lp(b"crypt-model local wrap v1") + lp(key_id.encode()) + context_bytes(table, purpose)


def wrap_vector(v):
    purpose = (get(v, "context") or [None])[0]
    encoded = context_bytes(one(v, "table"), purpose)
    aad = wrap_aad(one(v, "key id"), one(v, "table"), purpose)
    wrapped = xchacha_seal(
        bytes.fromhex(one(v, "key-encryption key")),
        bytes.fromhex(one(v, "nonce")),
        aad,
        bytes.fromhex(one(v, "data key")),
    )
    return {"context bytes": encoded, "wrapped data key": wrapped}


def row_vector(v):
    table = one(v, "table")
    purpose = "crypt-model:owner-keys = 1"
    owner_keys = f"{table}/owner-keys"
    wrapped = xchacha_seal(
        bytes.fromhex(one(v, "key-encryption key")),
        bytes.fromhex(one(v, "nonce")),
        wrap_aad(one(v, "key id"), owner_keys, purpose),
        bytes.fromhex(one(v, "data key")),
    )
    handle = u32(int(one(v, "generation"))) + bytes.fromhex(one(v, "random"))
    return {
        "owner_key": f"{table}/{one(v, 'owner')}".encode(),
        "handle": handle,
        "wrapped": wrapped,
    }


def mac(key_hex, message):
    return hmac.new(bytes.fromhex(key_hex), message, hashlib.sha256).digest()


def tombstone_vector(v):
    table, owner = one(v, "table"), one(v, "owner")
    digest = hashlib.sha256(
        lp(b"crypt-model owner tombstone") + lp(table.encode()) + lp(owner.encode())
    ).hexdigest()
    tombstone = f"{table}:{digest}"
    since = get(v, "replacing since")
    label = b"crypt-model tombstone tag, replacing" if since else b"crypt-model tombstone tag"
    message = lp(label) + lp(tombstone.encode()) + u32(int(one(v, "erased through")))
    if since:
        message += int(one(v, "replacing since")).to_bytes(8, "big")
    return {"tombstone": tombstone.encode(), "tag": mac(one(v, "erasure key"), message)}


def admission_vector(v):
    physical, table = one(v, "physical table"), one(v, "table")
    typed = dict(e.partition(" = ")[::2] for e in get(v, "attribute"))
    covered = sorted(one(v, "covered").split(), key=lambda n: n.encode())

    def encode(names):
        present = [n for n in sorted(names, key=lambda n: n.encode()) if n in typed]
        return u32(len(present)) + b"".join(lp(n.encode()) + value_bytes(typed[n]) for n in present)

    keys = encode(one(v, "key").split())
    entry = f"{physical}:" + hashlib.sha256(
        lp(b"crypt-model migration admission") + lp(physical.encode()) + keys
    ).hexdigest()
    model = hashlib.sha256(
        lp(b"crypt-model migration model")
        + lp(table.encode())
        + b"".join(lp(n.encode()) for n in covered)
    ).digest()[:8].hex()
    content = hashlib.sha256(encode(covered)).digest()
    plan = one(v, "plan")
    admission = (
        lp(b"crypt-model migration admission tag")
        + lp(entry.encode())
        + lp(plan.encode())
        + lp(model.encode())
        + content
    )
    plan_message = (
        lp(b"crypt-model migration plan tag")
        + lp(physical.encode())
        + lp(plan.encode())
        + lp(one(v, "state").encode())
        + int(one(v, "expires")).to_bytes(8, "big")
    )
    key = one(v, "migration key")
    return {
        "entry": entry.encode(),
        "model": model.encode(),
        "content digest": content,
        "admission tag": mac(key, admission),
        "plan tag": mac(key, plan_message),
    }


def text_vector(v):
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
    ciphertext = bytes.fromhex(one(v, "ciphertext"))
    return {"text": b"crypt-model-wrapped-key.v1." + b64(one(v, "key id").encode()) + b"." + b64(ciphertext)}


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
        "suite2": suite2_vector,
        "index": index_vector,
        "wrap": wrap_vector,
        "number": number_vector,
        "cbor": cbor_vector,
        "tombstone": tombstone_vector,
        "text": text_vector,
        "admission": admission_vector,
        "row": row_vector,
    }[kind](v)


def main(args):
    text = open(SPEC).read()
    found = vectors(text)
    failures, checked = 0, 0
    for v in found:
        name = one(v, "vector")
        for output, value in compute(v).items():
            written = get(v, output)
            shown = value.decode() if output in TEXT_OUTPUTS else value.hex()
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


def canonical(value):
    """`value(v)` of a DynamoDB JSON value (docs/format.md, "Authenticated attributes")."""
    ((kind, x),) = value.items()
    if kind == "S":
        return u8(1) + lp(x.encode())
    if kind == "N":
        return u8(2) + lp(canonical_number(x).encode())
    if kind == "B":
        return u8(3) + lp(base64.b64decode(x, validate=True))
    if kind == "BOOL":
        return u8(4) + u8(1 if x else 0)
    if kind == "NULL":
        return u8(5)
    if kind == "L":
        return u8(6) + u32(len(x)) + b"".join(canonical(e) for e in x)
    if kind == "M":
        keys = sorted(x, key=lambda k: k.encode())
        return u8(7) + u32(len(x)) + b"".join(lp(k.encode()) + canonical(x[k]) for k in keys)
    members = {
        "SS": lambda m: m.encode(),
        "NS": lambda m: canonical_number(m).encode(),
        "BS": lambda m: base64.b64decode(m, validate=True),
    }[kind]
    encoded = sorted(members(m) for m in x)
    tag = {"SS": 8, "NS": 9, "BS": 10}[kind]
    return u8(tag) + u32(len(encoded)) + b"".join(lp(m) for m in encoded)


def attributes(item, names):
    present = sorted((n for n in names if n in item), key=lambda n: n.encode())
    return u32(len(present)) + b"".join(lp(n.encode()) + canonical(item[n]) for n in present)


def xchacha_open(key, stored, aad):
    nonce, body, tag = stored[:24], stored[24:-16], stored[-16:]
    if len(stored) < 40:
        raise ValueError("too short")
    cipher = ChaCha20_Poly1305.new(key=key, nonce=nonce)
    cipher.update(aad)
    return cipher.decrypt_and_verify(body, tag)


def gcm_open(key, stored, aad):
    if len(stored) < 28:
        raise ValueError("too short")
    nonce, body, tag = stored[:12], stored[12:-16], stored[-16:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    return cipher.decrypt_and_verify(body, tag)


# Suite 2's number: format version 4 with this suite byte.
SUITE_2 = 2


def item_keys(data_key, salt, table, version=VERSION):
    """The item's message key and commit key (version 3), or its commit key's input (4)."""
    prk = hkdf_extract(salt, data_key)
    suite = u8(SUITE_2) if version == 4 else b""
    info = lambda label: lp(label) + u8(version) + suite + lp(table.encode())
    return hkdf_expand(prk, info(b"crypt-model key"), 32), hkdf_expand(
        prk, info(b"crypt-model commit"), 32
    )


def item_aad(table, header, item, authenticated, version=VERSION):
    return (
        lp(b"crypt-model item")
        + u8(version)
        + lp(table.encode())
        + lp(header)
        + attributes(item, authenticated)
    )


def take(buffer, n):
    if len(buffer) < n:
        raise ValueError("short")
    return buffer[:n], buffer[n:]


def open_item(request):
    """The sensitive fields of a sealed item, by name, as hex; or a ValueError."""
    item, table = request["item"], request["table"]
    header = base64.b64decode(item["__cm_header"]["B"], validate=True)
    stored = base64.b64decode(item["__cm_sealed"]["B"], validate=True)
    version, rest = take(header, 1)
    version = version[0]
    if version == 4:
        suite, rest = take(rest, 1)
        if suite[0] != SUITE_2:
            raise ValueError("suite")
    elif version != VERSION:
        raise ValueError("version")
    n, rest = take(rest, 2)
    key_id, rest = take(rest, int.from_bytes(n, "big"))
    n, rest = take(rest, 2)
    wrapped, rest = take(rest, int.from_bytes(n, "big"))
    salt, rest = take(rest, 32)
    commitment, rest = take(rest, 32)
    if rest or not wrapped or key_id.decode() != request["key_id"]:
        raise ValueError("header")
    kek = bytes.fromhex(request["kek"])
    data_key = xchacha_open(kek, wrapped, wrap_aad(request["key_id"], table))
    key, commit = item_keys(data_key, salt, table, version)
    if version == 4:
        # The commitment is an HMAC of the header's bytes before it, under the commit key.
        expected = hmac.new(commit, header[:-32], hashlib.sha256).digest()
    else:
        expected = commit
    if not hmac.compare_digest(commitment, expected):
        raise ValueError("commitment")
    aad = item_aad(table, header, item, request["authenticated"], version)
    opened = gcm_open if version == 4 else xchacha_open
    plaintext = opened(key, stored, aad)
    count, rest = take(plaintext, 4)
    fields = {}
    for _ in range(int.from_bytes(count, "big")):
        n, rest = take(rest, 4)
        name, rest = take(rest, int.from_bytes(n, "big"))
        n, rest = take(rest, 4)
        value, rest = take(rest, int.from_bytes(n, "big"))
        fields[name.decode()] = value.hex()
    if rest:
        raise ValueError("trailing bytes")
    return fields


def seal_item(request):
    """The item with its fields sealed: header and message added, from the given randomness."""
    item, table = dict(request["item"]), request["table"]
    kek = bytes.fromhex(request["kek"])
    data_key = bytes.fromhex(request["data_key"])
    key_id = request["key_id"].encode()
    wrap_nonce = bytes.fromhex(request["wrap_nonce"])
    wrapped = xchacha_seal(kek, wrap_nonce, wrap_aad(request["key_id"], table), data_key)
    salt = bytes.fromhex(request["salt"])
    version = 4 if request.get("suite") == SUITE_2 else VERSION
    key, commit = item_keys(data_key, salt, table, version)
    keys = u16(len(key_id)) + key_id + u16(len(wrapped)) + wrapped
    if version == 4:
        committed = u8(version) + u8(SUITE_2) + keys + salt
        header = committed + hmac.new(commit, committed, hashlib.sha256).digest()
    else:
        header = u8(version) + keys + salt + commit
    aad = item_aad(table, header, item, request["authenticated"], version)
    fields = sorted(
        ((n.encode(), bytes.fromhex(v)) for n, v in request["fields"].items())
    )
    plaintext = u32(len(fields)) + b"".join(lp(n) + lp(v) for n, v in fields)
    seal = gcm_seal if version == 4 else xchacha_seal
    stored = seal(key, bytes.fromhex(request["nonce"]), aad, plaintext)
    item["__cm_header"] = {"B": base64.b64encode(header).decode()}
    item["__cm_sealed"] = {"B": base64.b64encode(stored).decode()}
    return item


def serve():
    """One request per line: `{"op": "open", "table", "key_id", "kek", "authenticated": [names],
    "item": DynamoDB JSON}` answers `{"fields": {name: hex}}` or `{"error": why}`;
    `{"op": "seal", ..., "item": the plain attributes, "fields": {name: hex}, "data_key",
    "salt", "nonce", "wrap_nonce", "suite"}` answers `{"item": the sealed item}`, of format
    version 4 when "suite" is 2 (its nonce 12 bytes), else of version 3."""
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "open":
                answer = {"fields": open_item(request)}
            else:
                answer = {"item": seal_item(request)}
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        sys.exit(serve())
    sys.exit(main(sys.argv[1:]))
