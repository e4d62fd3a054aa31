"""Peel the encodings off a request: every string an SDK could have hidden a value in, and how.

A request becomes a stream of ``Leaf`` (a piece of text, where it sits, the decoding chain that led to
it) and ``Pair`` (a latitude/longitude pair found as sibling fields). Decoders are tried only when the
text has the right shape, and every step is bounded (depth, decompressed size, item counts), because
the bytes come from the app under review.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

import brotli

from appvet.traffic.model import Request

MAX_DEPTH = 16
"""Decoding and nesting steps followed from the wire to a leaf; each step costs one."""
MAX_INFLATED = 4 * 1024 * 1024
MAX_ITEMS = 5000
MAX_TEXT = 1024 * 1024
MIN_ENCODED = 8

SKIP_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "connection",
        "content-length",
        "content-type",
        "content-encoding",
        "host",
        ":authority",
        ":method",
        ":path",
        ":scheme",
        "cache-control",
        "pragma",
        "transfer-encoding",
        "te",
        "upgrade-insecure-requests",
        "sec-fetch-mode",
        "sec-fetch-site",
        "sec-fetch-dest",
        "keep-alive",
        "if-modified-since",
        "if-none-match",
        "priority",
    }
)

_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM = re.compile(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*")
_LAT_KEYS = ("lat", "latitude")
_LON_KEYS = ("lon", "lng", "long", "longitude")


@dataclass(frozen=True, slots=True)
class Leaf:
    text: str
    location: tuple[str, ...]
    chain: tuple[str, ...]
    key: str
    """Name of the field holding the text (query parameter, header, JSON key, form field), or ``""``."""
    is_list: bool = False
    """The text is the items of a JSON array joined by newlines."""


@dataclass(frozen=True, slots=True)
class Pair:
    lat: str
    lon: str
    location: tuple[str, ...]
    chain: tuple[str, ...]


Part = Leaf | Pair


def _printable(s: str) -> bool:
    if not s:
        return False
    bad = sum(1 for c in s if not c.isprintable() and c not in "\r\n\t")
    return bad * 10 <= len(s)


def inflate(data: bytes, kind: str) -> bytes | None:
    """Decompress ``gzip``, ``deflate`` (zlib or raw) or ``br`` with the output capped, else ``None``."""
    try:
        if kind == "br":
            return brotli.Decompressor().process(data, output_buffer_limit=MAX_INFLATED)[:MAX_INFLATED]
        if kind == "gzip":
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            d = zlib.decompressobj(zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS)
        return d.decompress(data, MAX_INFLATED)
    except (zlib.error, brotli.error, gzip.BadGzipFile, EOFError, ValueError):
        return None


def _magic(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if len(data) >= 2 and data[0] == 0x78 and ((data[0] << 8) | data[1]) % 31 == 0:
        return "deflate"
    return None


def _varint(data: bytes, p: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if p >= len(data) or shift > 63:
            raise ValueError("varint")
        b = data[p]
        value |= (b & 0x7F) << shift
        p += 1
        if not b & 0x80:
            return value, p
        shift += 7


def protobuf_fields(data: bytes) -> list[tuple[int, int, int | bytes]] | None:
    """(field number, wire type, value) when ``data`` is a well-formed protobuf message, else ``None``."""
    out: list[tuple[int, int, int | bytes]] = []
    p = 0
    try:
        while p < len(data):
            key, p = _varint(data, p)
            number, wire = key >> 3, key & 7
            if number < 1 or number > (1 << 29) - 1 or len(out) >= MAX_ITEMS:
                return None
            if wire == 0:
                value, p = _varint(data, p)
                out.append((number, wire, value))
            elif wire == 1 or wire == 5:
                size = 8 if wire == 1 else 4
                if p + size > len(data):
                    return None
                out.append((number, wire, int.from_bytes(data[p : p + size], "little")))
                p += size
            elif wire == 2:
                size, p = _varint(data, p)
                if p + size > len(data):
                    return None
                out.append((number, wire, data[p : p + size]))
                p += size
            else:
                return None
    except ValueError:
        return None
    return out or None


def walk_bytes(data: bytes, loc: tuple[str, ...], chain: tuple[str, ...], key: str, depth: int) -> Iterator[Part]:
    if depth > MAX_DEPTH or not data:
        return
    kind = _magic(data)
    if kind is not None:
        out = inflate(data, kind)
        if out is not None:
            yield from walk_bytes(out, loc, (*chain, kind), key, depth + 1)
            return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    # Text with control characters is more likely a protobuf message that happens to be valid UTF-8.
    if text is not None and _printable(text) and not _CONTROL.search(text):
        yield from walk_text(text, loc, chain, key, depth)
        return
    fields = protobuf_fields(data) if depth < MAX_DEPTH else None
    if fields is not None:
        yield from _walk_protobuf(fields, loc, (*chain, "protobuf"), "", depth + 1)
        return
    if text is not None and _printable(text):
        yield from walk_text(text, loc, chain, key, depth)
        return
    yield Leaf(data.decode("latin-1")[:MAX_TEXT], loc, chain, key)


def _walk_protobuf(
    fields: list[tuple[int, int, int | bytes]], loc: tuple[str, ...], chain: tuple[str, ...], prefix: str, depth: int
) -> Iterator[Part]:
    for number, wire, value in fields:
        path = f"{prefix}{number}"
        if isinstance(value, bytes):
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and _printable(text) and not _CONTROL.search(text):
                yield from walk_text(text, (*loc, f"pb:{path}"), chain, "", depth)
                continue
            nested = protobuf_fields(value) if depth < MAX_DEPTH else None
            if nested is not None:
                yield from _walk_protobuf(nested, loc, chain, path + ".", depth + 1)
            elif text is not None and _printable(text):
                yield from walk_text(text, (*loc, f"pb:{path}"), chain, "", depth)
            else:
                yield from walk_bytes(value, (*loc, f"pb:{path}"), chain, "", depth + 1)
        elif wire == 0 and value >= 100_000:
            yield Leaf(str(value), (*loc, f"pb:{path}"), chain, "")


def _decoded_b64(text: str) -> tuple[bytes, str] | None:
    body = text.rstrip("=")
    if len(body) < MIN_ENCODED or len(body) % 4 == 1 or body.isdigit() or _HEX.fullmatch(text):
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if _B64.fullmatch(text):
            return base64.b64decode(padded, validate=True), "base64"
        if _B64URL.fullmatch(text):
            return base64.urlsafe_b64decode(padded), "base64url"
    except (binascii.Error, ValueError):
        return None
    return None


def _useful(data: bytes) -> bool:
    """Whether decoded bytes are worth walking: text, compressed data or a protobuf message."""
    if _magic(data):
        return True
    try:
        return _printable(data.decode("utf-8"))
    except UnicodeDecodeError:
        return protobuf_fields(data) is not None


def walk_text(text: str, loc: tuple[str, ...], chain: tuple[str, ...], key: str, depth: int) -> Iterator[Part]:
    if depth > MAX_DEPTH or not text:
        return
    text = text[:MAX_TEXT]
    s = text.strip()
    if s[:1] in "{[" and s[-1:] in "}]":
        try:
            obj = json.loads(s)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, (dict, list)):
            yield from walk_json(obj, loc, (*chain, "json"), "$", key, depth + 1)
            return
    if "=" in s and _FORM.fullmatch(s) and not _B64.fullmatch(s) and not _B64URL.fullmatch(s):
        pairs = parse_qsl(s, keep_blank_values=True)[:MAX_ITEMS]
        yield from walk_mapping(pairs, loc, (*chain, "form"), "form", depth + 1)
        return
    if "%" in s and _PCT.search(s):
        yield from walk_text(unquote(s), loc, (*chain, "url"), key, depth + 1)
        return
    yield Leaf(text, loc, chain, key)
    if len(s) >= MIN_ENCODED and " " not in s:
        if len(s) >= 16 and not len(s) % 2 and _HEX.fullmatch(s):
            raw = bytes.fromhex(s)
            if _useful(raw):
                yield from walk_bytes(raw, loc, (*chain, "hex"), key, depth + 1)
            return
        decoded = _decoded_b64(s)
        if decoded is not None and _useful(decoded[0]):
            yield from walk_bytes(decoded[0], loc, (*chain, decoded[1]), key, depth + 1)


def _pair(obj: dict[str, object]) -> tuple[str, str] | None:
    lower = {str(k).lower(): v for k, v in obj.items()}
    lat = next((lower[k] for k in _LAT_KEYS if k in lower), None)
    lon = next((lower[k] for k in _LON_KEYS if k in lower), None)
    if isinstance(lat, (int, float, str)) and isinstance(lon, (int, float, str)) and not isinstance(lat, bool):
        return str(lat), str(lon)
    return None


def walk_mapping(
    pairs: list[tuple[str, str]], loc: tuple[str, ...], chain: tuple[str, ...], prefix: str, depth: int
) -> Iterator[Part]:
    """Query strings and form bodies: each value under ``<prefix>:<name>``, and any lat/lon pair."""
    found = _pair(dict(pairs))
    if found is not None:
        yield Pair(found[0], found[1], (*loc, prefix), chain)
    for name, value in pairs:
        yield from walk_text(value, (*loc, f"{prefix}:{name}"), chain, name, depth)


def walk_json(
    obj: object, loc: tuple[str, ...], chain: tuple[str, ...], path: str, key: str, depth: int
) -> Iterator[Part]:
    if depth > MAX_DEPTH + 16:
        return
    if isinstance(obj, dict):
        found = _pair(obj)
        if found is not None:
            yield Pair(found[0], found[1], (*loc, f"json:{path}"), chain)
        for i, (k, v) in enumerate(obj.items()):
            if i >= MAX_ITEMS:
                break
            yield from walk_json(v, loc, chain, f"{path}.{k}", str(k), depth + 1)
    elif isinstance(obj, list):
        items = obj[:MAX_ITEMS]
        strings = [v for v in items if isinstance(v, str)]
        if len(strings) >= 3:
            yield Leaf("\n".join(strings), (*loc, f"json:{path}"), chain, key, is_list=True)
        for i, v in enumerate(items):
            yield from walk_json(v, loc, chain, f"{path}[{i}]", key, depth + 1)
    elif isinstance(obj, str):
        yield from walk_text(obj, (*loc, f"json:{path}"), chain, key, depth)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield Leaf(str(obj), (*loc, f"json:{path}"), chain, key)


def request_parts(req: Request) -> Iterator[Part]:
    """Every leaf and coordinate pair of a request: URL path and query, headers, cookies, body."""
    try:
        parts = urlsplit(req.url)
        path, query = parts.path, parts.query
    except ValueError:
        path, _, query = req.url.partition("?")
    if path and path != "/":
        yield Leaf(unquote(path), ("path",), (), "")
    if query:
        yield from walk_mapping(parse_qsl(query, keep_blank_values=True)[:MAX_ITEMS], (), (), "query", 1)
    encoding = ""
    for name, value in req.headers:
        low = name.lower()
        if low == "content-encoding":
            encoding = value.strip().lower()
        if low in SKIP_HEADERS or not value:
            continue
        if low == "cookie":
            for item in value.split(";"):
                k, _, v = item.strip().partition("=")
                yield from walk_text(v, (f"cookie:{k}",), (), k, 1)
            continue
        yield from walk_text(value, (f"header:{low}",), (), low, 1)
    body = req.body
    chain: tuple[str, ...] = ()
    if body and encoding in ("gzip", "x-gzip", "deflate", "br"):
        kind = "gzip" if encoding == "x-gzip" else encoding
        out = inflate(body, kind)
        if out is not None:
            body, chain = out, (kind,)
    if body:
        yield from walk_bytes(body, ("body",), chain, "", 1)
