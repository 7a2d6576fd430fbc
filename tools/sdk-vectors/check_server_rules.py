#!/usr/bin/env python3
"""Independent check (stdlib only, no SDK) that the *server-side* verification
rules written in docs/notes/sdk-wire-facts.md reproduce every vector, using
only what a server sees: method, raw request target, received headers, body.

This is our own re-statement of the rules, not the SDK's code; it exists so
that the notes (and the Rust implementation that follows them) can be checked
against the SDK-generated vectors.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
from urllib.parse import unquote_to_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(os.path.dirname(os.path.dirname(HERE)),
                       "crates", "starkeep-auth", "tests", "data", "sdk_hmac_vectors.json")
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
EMPTY = hashlib.sha256(b"").hexdigest()


def enc(raw: bytes) -> str:
    return "".join(chr(b) if b in UNRESERVED else "%%%02X" % b for b in raw)


def canonical_uri(raw_path: str) -> str:
    decoded = unquote_to_bytes(raw_path)          # decode everything once, %2F included
    out = "/".join(enc(seg) for seg in decoded.split(b"/"))
    return out if out.endswith("/") else out + "/"


def canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = []
    for piece in raw_query.split("&"):
        k, _, v = piece.partition("=")              # no '=' -> empty value; '+' is NOT a space
        pairs.append((unquote_to_bytes(k), unquote_to_bytes(v)))
    pairs.sort()                                    # byte order of decoded UTF-8 == code point order
    return "&".join("%s=%s" % (enc(k), enc(v)) for k, v in pairs)


def parse_auth(value: str):
    algo, _, rest = value.partition(" ")
    fields = dict(p.strip().split("=", 1) for p in rest.split(","))
    return algo, fields["Access"], fields["SignedHeaders"].split(";"), fields["Signature"]


def verify(v):
    w = v["wire"]
    method = v["input"]["method"]
    headers = {}
    for k, val in w["headers"]:
        headers[k.lower()] = val
    body = base64.b64decode(w["body_base64"]) if w["body_base64"] else b""
    algo, access, signed, sig = parse_auth(headers["authorization"])
    assert algo == "SDK-HMAC-SHA256", algo
    path, _, query = w["request_target"].partition("?")
    canon_headers = "".join("%s:%s\n" % (h, headers[h].strip()) for h in signed)
    if not body:
        payload = EMPTY
    elif "x-sdk-content-sha256" in headers:
        payload = headers["x-sdk-content-sha256"]
    else:
        payload = hashlib.sha256(body).hexdigest()
    cr = "\n".join([method, canonical_uri(path), canonical_query(query), canon_headers, ";".join(signed), payload])
    sts = "SDK-HMAC-SHA256\n%s\n%s" % (headers["x-sdk-date"], hashlib.sha256(cr.encode("utf-8")).hexdigest())
    mine = hmac.new(v["input"]["sk"].encode("utf-8"), sts.encode("utf-8"), hashlib.sha256).hexdigest()
    e = v["expected"]
    problems = []
    if cr != e["canonical_request"]:
        problems.append("canonical request differs:\n%r\n%r" % (cr, e["canonical_request"]))
    if sts != e["string_to_sign"]:
        problems.append("string to sign differs")
    if mine != e["signature"] or sig != e["signature"] or access != v["input"]["ak"]:
        problems.append("signature differs")
    return problems


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    data = json.load(open(path, encoding="utf-8"))
    bad = 0
    for v in data["vectors"]:
        problems = verify(v)
        print(("FAIL " if problems else "ok   ") + v["name"])
        for p in problems:
            print("     " + p)
        bad += bool(problems)
    print("%d/%d vectors reproduced from wire data" % (len(data["vectors"]) - bad, len(data["vectors"])))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
