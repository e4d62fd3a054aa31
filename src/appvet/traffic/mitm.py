"""Reader for mitmproxy flow files (``.mitm``, ``.flow``), written without mitmproxy itself.

mitmproxy stores a dump as a sequence of tnetstrings (``<length>:<payload><type>``, see
https://github.com/mitmproxy/mitmproxy/blob/main/mitmproxy/io/tnetstring.py for the format), one per
flow, each the ``get_state()`` dict of the flow. Installing mitmproxy pins an older ``cryptography``
than appvet uses (see docs/benchmarks.md), and we only need the request half of HTTP flows, so this
module reads the documented format directly, one record at a time, with every length bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from appvet.errors import FormatError
from appvet.traffic.model import CaptureNote, Request

MAX_RECORD = 256 * 1024 * 1024
"""Largest single flow record accepted; a bigger length prefix is corruption, not a flow."""
MAX_BODY = 1024 * 1024
"""Bytes of a request body kept for detection."""
MAX_DEPTH = 32
_LEN_DIGITS = 12


def _parse(data: bytes, pos: int, end: int, depth: int, name: str) -> tuple[Any, int]:
    """Parse one tnetstring in ``data[pos:end]``; returns the value and the offset after it."""
    if depth > MAX_DEPTH:
        raise FormatError("tnetstring nested too deeply", file=name)
    colon = data.find(b":", pos, min(end, pos + _LEN_DIGITS + 1))
    if colon < 0 or colon == pos or not data[pos:colon].isdigit():
        raise FormatError(f"bad tnetstring length at offset {pos}", file=name)
    size = int(data[pos:colon])
    start = colon + 1
    stop = start + size
    if stop >= end:
        raise FormatError(f"tnetstring at offset {pos} runs past its container", file=name)
    kind = data[stop : stop + 1]
    body = data[start:stop]
    nxt = stop + 1
    if kind == b",":
        return bytes(body), nxt
    if kind == b";":
        try:
            return body.decode("utf-8"), nxt
        except UnicodeDecodeError:
            raise FormatError(f"invalid UTF-8 string at offset {start}", file=name) from None
    if kind == b"#":
        try:
            return int(body), nxt
        except ValueError:
            raise FormatError(f"bad integer at offset {start}", file=name) from None
    if kind == b"^":
        try:
            return float(body), nxt
        except ValueError:
            raise FormatError(f"bad float at offset {start}", file=name) from None
    if kind == b"!":
        if body not in (b"true", b"false"):
            raise FormatError(f"bad boolean at offset {start}", file=name)
        return body == b"true", nxt
    if kind == b"~":
        if size:
            raise FormatError(f"non-empty null at offset {start}", file=name)
        return None, nxt
    if kind == b"]":
        items = []
        i = start
        while i < stop:
            value, i = _parse(data, i, stop + 1, depth + 1, name)
            if i > stop:
                raise FormatError(f"list item overruns list at offset {start}", file=name)
            items.append(value)
        return items, nxt
    if kind == b"}":
        out: dict[Any, Any] = {}
        i = start
        while i < stop:
            key, i = _parse(data, i, stop + 1, depth + 1, name)
            if i >= stop:
                raise FormatError(f"dict key without value at offset {start}", file=name)
            value, i = _parse(data, i, stop + 1, depth + 1, name)
            if i > stop:
                raise FormatError(f"dict value overruns dict at offset {start}", file=name)
            if isinstance(key, (list, dict)):
                raise FormatError(f"unhashable dict key at offset {start}", file=name)
            out[key] = value
        return out, nxt
    raise FormatError(f"unknown tnetstring type {kind!r} at offset {stop}", file=name)


def loads(data: bytes, name: str = "<bytes>") -> Any:
    """Parse exactly one tnetstring."""
    value, end = _parse(data, 0, len(data) + 1, 0, name)
    if end != len(data):
        raise FormatError(f"{len(data) - end} trailing bytes after tnetstring", file=name)
    return value


def records(stream: IO[bytes], name: str) -> Iterator[Any]:
    """Each top-level tnetstring of a dump, read one at a time."""
    offset = 0
    while True:
        head = b""
        while True:
            c = stream.read(1)
            if not c:
                if head:
                    raise FormatError(f"truncated record header at offset {offset}", file=name)
                return
            if c == b":":
                break
            head += c
            if len(head) > _LEN_DIGITS or not c.isdigit():
                raise FormatError(f"not a mitmproxy flow file (bad record header at offset {offset})", file=name)
        if not head:
            raise FormatError(f"empty record length at offset {offset}", file=name)
        size = int(head)
        if size > MAX_RECORD:
            raise FormatError(f"record of {size} bytes at offset {offset} exceeds the limit", file=name)
        payload = stream.read(size + 1)
        if len(payload) != size + 1:
            raise FormatError(f"truncated record at offset {offset}", file=name)
        record = head + b":" + payload
        yield loads(record, name)
        offset += len(record)


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return "" if v is None else str(v)


def _address(conn: Any) -> tuple[str | None, int | None]:
    if not isinstance(conn, dict):
        return None, None
    for key in ("peername", "ip_address", "address"):
        addr = conn.get(key)
        if isinstance(addr, (list, tuple)) and len(addr) >= 2 and isinstance(addr[1], int):
            host = _text(addr[0])
            if host and any(ch.isdigit() for ch in host) and (":" in host or host.replace(".", "").isdigit()):
                return host, addr[1]
    return None, None


def flow_request(state: Any, index: int, name: str, max_body: int = MAX_BODY) -> Request | None:
    """The request of one flow state; ``None`` for non-HTTP flows (TCP, UDP, DNS)."""
    if not isinstance(state, dict):
        raise FormatError(f"flow {index} is not a mapping", file=name)
    if state.get("type") != "http":
        return None
    req = state.get("request")
    if not isinstance(req, dict):
        raise FormatError(f"flow {index} has no request", file=name)
    headers_raw = req.get("headers") or []
    if not isinstance(headers_raw, list):
        raise FormatError(f"flow {index}: headers are not a list", file=name)
    headers: list[tuple[str, str]] = []
    for h in headers_raw:
        if not isinstance(h, (list, tuple)) or len(h) != 2:
            raise FormatError(f"flow {index}: bad header entry", file=name)
        headers.append((_text(h[0]), _text(h[1])))
    scheme = _text(req.get("scheme")) or "http"
    host = _text(req.get("host"))
    authority = _text(req.get("authority"))
    path = _text(req.get("path")) or "/"
    port = req.get("port") if isinstance(req.get("port"), int) else None
    hosthdr = next((v for k, v in headers if k.lower() == "host"), "")
    shown = authority or hosthdr or host
    url = path if path.startswith(("http://", "https://")) else f"{scheme}://{shown}{path}"
    content = req.get("content")
    body = content if isinstance(content, bytes) else b""
    ip, _ = _address(state.get("server_conn"))
    start = req.get("timestamp_start")
    return Request(
        index=index,
        source=name,
        method=_text(req.get("method")) or "GET",
        url=url,
        host=(host or shown).split(":")[0].lower().rstrip("."),
        ip=ip,
        port=port,
        time=float(start) if isinstance(start, (int, float)) else None,
        headers=tuple(headers),
        body=body[:max_body],
        body_truncated=len(body) > max_body,
    )


def read(stream: IO[bytes], name: str, notes: list[CaptureNote] | None = None) -> Iterator[Request]:
    """Requests of every HTTP flow in a mitmproxy dump, in file order, indexed by record number."""
    for index, state in enumerate(records(stream, name)):
        req = flow_request(state, index, name)
        if req is not None:
            yield req
        elif notes is not None:
            kind = state.get("type") if isinstance(state, dict) else None
            notes.append(CaptureNote(name, f"record {index}", f"{kind} flow not read"))
