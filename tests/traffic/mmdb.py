"""A minimal MaxMind DB writer for tests, from the format specification
(https://maxmind.github.io/MaxMind-DB/): IPv4 search tree with 24-bit records, a data section of maps,
strings and unsigned integers, and the metadata map. Enough for ``maxminddb`` to read it back.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def _ctrl(kind: int, size: int) -> bytes:
    if size >= 29 + 256:
        raise ValueError("tests only need short fields")
    small, extra = (size, b"") if size < 29 else (29, bytes([size - 29]))
    if kind <= 7:
        return bytes([kind << 5 | small]) + extra
    return bytes([small, kind - 7]) + extra


class U16(int):
    pass


class U64(int):
    pass


def _encode(value: Any) -> bytes:
    if isinstance(value, (U16, U64)):
        raw = int(value).to_bytes(max(1, (value.bit_length() + 7) // 8), "big") if value else b""
        return _ctrl(5 if isinstance(value, U16) else 9, len(raw)) + raw
    if isinstance(value, str):
        raw = value.encode()
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, int):
        raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big") if value else b""
        return _ctrl(6 if len(raw) <= 4 else 9, len(raw)) + raw
    if isinstance(value, dict):
        out = _ctrl(7, len(value))
        for k, v in value.items():
            out += _encode(k) + _encode(v)
        return out
    if isinstance(value, list):
        return _ctrl(11, len(value)) + b"".join(_encode(v) for v in value)
    raise TypeError(type(value))


def write(records: list[tuple[str, dict[str, Any]]]) -> bytes:
    """An IPv4 database mapping each network to its record."""
    nodes: list[list[Any]] = [[None, None]]
    data = b""
    for cidr, record in records:
        net = ipaddress.ip_network(cidr)
        offset = len(data)
        data += _encode(record)
        bits = int(net.network_address)
        node = 0
        for i in range(net.prefixlen):
            bit = (bits >> (31 - i)) & 1
            if i == net.prefixlen - 1:
                nodes[node][bit] = ("data", offset)
            else:
                if not isinstance(nodes[node][bit], int):
                    nodes.append([None, None])
                    nodes[node][bit] = len(nodes) - 1
                node = nodes[node][bit]
    count = len(nodes)
    tree = b""
    for left, right in nodes:
        for rec in (left, right):
            value = count if rec is None else rec if isinstance(rec, int) else count + 16 + rec[1]
            tree += value.to_bytes(3, "big")
    meta = {
        # libmaxminddb checks the metadata types: uint16 versions and sizes, uint64 build epoch.
        "binary_format_major_version": U16(2), "binary_format_minor_version": U16(0), "build_epoch": U64(1735689600),
        "database_type": "appvet-test", "description": {"en": "test"}, "ip_version": U16(4), "languages": ["en"],
        "node_count": count, "record_size": U16(24),
    }
    return tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com" + _encode(meta)
