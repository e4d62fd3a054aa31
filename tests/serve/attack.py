"""Request scripts that misbehave on purpose, for the attack tests and the abuse benchmark."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import psutil


def raw_request(port: int, head: str, body: bytes = b"", wait: float = 5.0) -> tuple[int | None, bytes, float]:
    """Send ``head`` (request line and headers, without the blank line) and ``body``, then read the answer.

    Returns (status or None when nothing came back within ``wait``, the raw answer, seconds taken).
    The body may be shorter than the length the head declares: a server that waits for the rest
    before answering shows up as None.
    """
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body)
        status, data = _answer(s, b"\r\n\r\n")
    return status, data, time.monotonic() - t0


def stream_body(port: int, head: str, total: int, chunk: int = 1024 * 1024,
                wait: float = 30.0) -> tuple[int | None, int]:
    """Send a chunked body of ``total`` bytes as fast as the server takes it; (status, bytes it accepted)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        block = b"[" * chunk
        try:
            while sent < total:
                s.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                sent += len(block)
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _data = _answer(s, b"\r\n")
    return status, sent


def _answer(s: socket.socket, until: bytes) -> tuple[int | None, bytes]:
    """Read the server's answer up to ``until``; (its status, or None when none came, the bytes read)."""
    data = b""
    try:
        while until not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        return None, data
    return (int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None), data


def rss(pid: int, children: bool = False) -> int:
    """Resident bytes of a process (with its children)."""
    try:
        p = psutil.Process(pid)
        total = p.memory_info().rss
        if children:
            for c in p.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += c.memory_info().rss
        return total
    except psutil.Error:
        return 0


def nested_yaml(size: int) -> str:
    """A flow sequence nested ``size // 2`` deep: cheap to send, quadratic for PyYAML's scanner."""
    return "[" * (size // 2) + "]" * (size // 2)


def crafted_apk(path: Path, components: int = 0, name_length: int = 10, urls: int = 0) -> Path:
    """An APK built to be expensive to report on: ``components`` activities sharing one name of
    ``name_length`` characters, and an asset holding ``urls`` distinct URLs. Small on disk."""
    import zipfile

    from tests.android.data.axml.writers import Attr, El, axml

    name = "com.example.crafted." + "A" * max(0, name_length - 20)
    app = El("application", [Attr("label", "crafted")],
             [El("activity", [Attr("name", name), Attr("exported", False)]) for _ in range(components)])
    manifest = El("manifest", [Attr("versionCode", 1), Attr("versionName", "1"), Attr("package", "com.example.crafted",
                                                                                       ns=None)], [app])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", axml(manifest))
        # Spread over files under the per-asset scanning limit, so that every URL is read.
        per_file = 60_000
        for k, start in enumerate(range(0, urls, per_file)):
            z.writestr(f"assets/hosts-{k}.txt", "\n".join(f"https://h{i}.example-{i % 997}.com/p?{i}"
                                                           for i in range(start, min(urls, start + per_file))))
    return path
