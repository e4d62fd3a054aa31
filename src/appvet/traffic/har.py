"""Reader for HAR 1.2 files (browser devtools, Charles, PCAPdroid exports).

Spec: http://www.softwareishard.com/blog/har-12-spec/. HAR is one JSON document; the reader refuses
files above ``MAX_FILE`` instead of streaming them (``json`` has no incremental parser), and yields
requests one by one from the parsed document.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import urlsplit

from appvet.errors import FormatError, LimitExceeded
from appvet.traffic.model import Request

MAX_FILE = 512 * 1024 * 1024
MAX_BODY = 1024 * 1024


def _iso_to_epoch(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _body(post: Any, index: int, name: str) -> bytes:
    if not isinstance(post, dict):
        return b""
    text = post.get("text")
    if isinstance(text, str):
        if post.get("encoding") == "base64":
            try:
                return base64.b64decode(text, validate=False)
            except (binascii.Error, ValueError):
                raise FormatError(f"entry {index}: postData.text is not base64", file=name) from None
        return text.encode("utf-8", "surrogatepass")
    params = post.get("params")
    if isinstance(params, list):
        from urllib.parse import quote

        pairs = [
            f"{quote(str(p.get('name', '')))}={quote(str(p.get('value', '')))}" for p in params if isinstance(p, dict)
        ]
        return "&".join(pairs).encode()
    return b""


def entry_request(entry: Any, index: int, name: str, max_body: int = MAX_BODY) -> Request:
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise FormatError(f"entry {index} has no request object", file=name)
    req = entry["request"]
    url = req.get("url")
    method = req.get("method")
    if not isinstance(url, str) or not isinstance(method, str):
        raise FormatError(f"entry {index}: request.url and request.method must be strings", file=name)
    headers_raw = req.get("headers", [])
    if not isinstance(headers_raw, list):
        raise FormatError(f"entry {index}: request.headers is not a list", file=name)
    # postData.text is the decoded body (HAR 1.2), so a Content-Encoding header no longer applies to it.
    headers = tuple(
        (str(h.get("name", "")), str(h.get("value", "")))
        for h in headers_raw
        if isinstance(h, dict) and str(h.get("name", "")).lower() != "content-encoding"
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FormatError(f"entry {index}: bad URL {url[:80]!r}", file=name) from None
    host = (parts.hostname or next((v for k, v in headers if k.lower() in ("host", ":authority")), "")).lower()
    host = host.split(":")[0].rstrip(".")
    if port is None:
        port = 443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None
    ip = entry.get("serverIPAddress")
    body = _body(req.get("postData"), index, name)
    return Request(
        index=index,
        source=name,
        method=method,
        url=url,
        host=host,
        ip=ip.strip("[]") if isinstance(ip, str) and ip else None,
        port=port,
        time=_iso_to_epoch(entry.get("startedDateTime")),
        headers=headers,
        body=body[:max_body],
        body_truncated=len(body) > max_body,
    )


def read(stream: IO[bytes], name: str) -> Iterator[Request]:
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        size = None
    if size is not None and size > MAX_FILE:
        raise LimitExceeded(f"HAR file of {size} bytes exceeds {MAX_FILE}", file=name)
    raw = stream.read(MAX_FILE + 1)
    if len(raw) > MAX_FILE:
        raise LimitExceeded(f"HAR file exceeds {MAX_FILE} bytes", file=name)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"not a HAR file: invalid JSON ({str(exc)[:80]})", file=name) from None
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise FormatError("not a HAR file: no log.entries list", file=name)
    for index, entry in enumerate(log["entries"]):
        yield entry_request(entry, index, name)
