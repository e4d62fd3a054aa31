"""Small writers of binary XML and resource tables, for hand-crafted test inputs.

Standard library only and independent of appvet's readers: they emit the AOSP
``ResourceTypes.h`` layouts directly, with switches for the odd shapes real files and
obfuscated files take (UTF-8 or UTF-16 pools, missing resource map, compact and 16-bit
offsets, sparse indexes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ANDROID = "http://schemas.android.com/apk/res/android"

# The framework attribute ids the crafted documents use (public.xml, API 29).
IDS = {
    "label": 0x01010001, "name": 0x01010003, "permission": 0x01010006, "debuggable": 0x0101000F,
    "exported": 0x01010010, "authorities": 0x01010018, "value": 0x01010024, "resource": 0x01010025,
    "minSdkVersion": 0x0101020C, "versionCode": 0x0101021B, "versionName": 0x0101021C,
    "targetSdkVersion": 0x01010270, "maxSdkVersion": 0x01010271, "allowBackup": 0x01010280,
    "usesCleartextTraffic": 0x010104EC, "networkSecurityConfig": 0x01010527, "versionCodeMajor": 0x01010576,
}  # fmt: skip

TYPE_REFERENCE, TYPE_STRING, TYPE_INT_DEC, TYPE_INT_BOOLEAN = 0x01, 0x03, 0x10, 0x12


@dataclass
class Attr:
    name: str
    value: object
    """str, bool, int, or a (data_type, data) pair."""
    ns: str | None = ANDROID
    res_id: int | None = None
    """Defaults to ``IDS[name]`` for android attributes; 0 writes none."""


@dataclass
class El:
    tag: str
    attrs: list[Attr] = field(default_factory=list)
    children: list[El] = field(default_factory=list)
    text: str | None = None


def chunk(ctype: int, header: bytes, body: bytes, header_size: int | None = None) -> bytes:
    hs = 8 + len(header) if header_size is None else header_size
    return struct.pack("<HHI", ctype, hs, 8 + len(header) + len(body)) + header + body


def _len8(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])


def _len16(n: int) -> bytes:
    return struct.pack("<H", n) if n < 0x8000 else struct.pack("<HH", 0x8000 | (n >> 16), n & 0xFFFF)


def string_pool(strings: list[str | bytes], utf8: bool = False) -> bytes:
    """A ResStringPool chunk; ``bytes`` items are written raw (for invalid encodings)."""
    blob = bytearray()
    offsets = []
    for s in strings:
        offsets.append(len(blob))
        if utf8:
            raw = s if isinstance(s, bytes) else s.encode("utf-8")
            blob += _len8(len(raw) if isinstance(s, bytes) else len(s)) + _len8(len(raw)) + raw + b"\0"
        else:
            raw = s if isinstance(s, bytes) else s.encode("utf-16-le")
            blob += _len16(len(raw) // 2) + raw + b"\0\0"
    while len(blob) % 4:
        blob += b"\0"
    strings_start = 28 + 4 * len(strings)
    header = struct.pack("<IIIII", len(strings), 0, 0x100 if utf8 else 0, strings_start, 0)
    return chunk(0x0001, header, b"".join(struct.pack("<I", o) for o in offsets) + bytes(blob))


class _Strings:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.items)
            self.items.append(s)
        return self.index[s]


def _attr_id(attr: Attr) -> int:
    if attr.res_id is not None:
        return attr.res_id
    return IDS.get(attr.name, 0) if attr.ns == ANDROID else 0


def _typed(value: object, strings: _Strings) -> tuple[int, int, int]:
    """(raw string index, data type, data)."""
    if isinstance(value, tuple):
        return 0xFFFFFFFF, value[0], value[1]
    if isinstance(value, bool):
        return 0xFFFFFFFF, TYPE_INT_BOOLEAN, 0xFFFFFFFF if value else 0
    if isinstance(value, int):
        return 0xFFFFFFFF, TYPE_INT_DEC, value & 0xFFFFFFFF
    index = strings.add(str(value))
    return index, TYPE_STRING, index


def axml(root: El, *, utf8: bool = False, resource_map: bool = True, extra: bytes = b"") -> bytes:
    """Compile ``root`` to binary XML. Attribute names with ids come first in the pool, as aapt
    lays them out; ``extra`` is inserted between the resource map and the first node."""
    strings = _Strings()
    ided: list[tuple[int, str]] = []

    def collect(e: El) -> None:
        for a in e.attrs:
            rid = _attr_id(a)
            if rid and (rid, a.name) not in ided:
                ided.append((rid, a.name))
        for c in e.children:
            collect(c)

    collect(root)
    ided.sort()
    if resource_map:
        for _rid, name in ided:
            strings.items.append(name)  # duplicates allowed: one slot per id
        res_ids = [rid for rid, _ in ided]
    else:
        res_ids = []
    slot = {rid: i for i, (rid, _) in enumerate(ided)} if resource_map else {}
    nodes: list[bytes] = []
    prefix, uri = strings.add("android"), strings.add(ANDROID)

    def node(ctype: int, line: int, ext: bytes) -> bytes:
        return chunk(ctype, struct.pack("<II", line, 0xFFFFFFFF), ext)

    nodes.append(node(0x0100, 1, struct.pack("<II", prefix, uri)))
    line = [1]

    def emit(e: El) -> None:
        line[0] += 1
        body = b""
        for a in e.attrs:
            rid = _attr_id(a)
            name_index = slot[rid] if rid and rid in slot else strings.add(a.name)
            ns_index = strings.add(a.ns) if a.ns is not None else 0xFFFFFFFF
            raw, vtype, vdata = _typed(a.value, strings)
            body += struct.pack("<IIIHBBI", ns_index, name_index, raw, 8, 0, vtype, vdata)
        tag = strings.add(e.tag)
        ext = struct.pack("<IIHHHHHH", 0xFFFFFFFF, tag, 20, 20, len(e.attrs), 0, 0, 0)
        nodes.append(node(0x0102, line[0], ext + body))
        if e.text is not None:
            nodes.append(node(0x0104, line[0], struct.pack("<IHBBI", strings.add(e.text), 8, 0, 0, 0)))
        for c in e.children:
            emit(c)
        nodes.append(node(0x0103, line[0], struct.pack("<II", 0xFFFFFFFF, tag)))

    emit(root)
    nodes.append(node(0x0101, line[0], struct.pack("<II", prefix, uri)))
    pool = string_pool(list(strings.items), utf8=utf8)
    resmap = chunk(0x0180, b"", b"".join(struct.pack("<I", r) for r in res_ids)) if resource_map else b""
    body = pool + resmap + extra + b"".join(nodes)
    return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


# ---------------------------------------------------------------------------------------------
# Resource tables


@dataclass
class TypeChunk:
    """One ResTable_type: ``entries[i]`` is None (no entry), a (data_type, data) value, or
    ``"complex"`` for a one-item bag."""

    type_id: int
    entries: list[tuple[int, int] | str | None]
    config: bytes = b""
    """Config bytes after the size field; empty for the default configuration."""
    offset16: bool = False
    sparse: bool = False
    compact: bool = False


def _utf16_name(name: str) -> bytes:
    return name.encode("utf-16-le").ljust(256, b"\0")[:256]


def type_chunk(t: TypeChunk) -> bytes:
    entry_blob = bytearray()
    offsets: list[int | None] = []
    for key, entry in enumerate(t.entries):
        if entry is None:
            offsets.append(None)
            continue
        offsets.append(len(entry_blob))
        if entry == "complex":
            entry_blob += struct.pack("<HHI", 16, 0x0001, key) + struct.pack("<II", 0, 1)
            entry_blob += struct.pack("<I", 0x01000000) + struct.pack("<HBBI", 8, 0, 0x10, 1)
        elif t.compact:
            dtype, data = entry
            entry_blob += struct.pack("<HHI", key, 0x0008 | (dtype << 8), data)
        else:
            dtype, data = entry
            entry_blob += struct.pack("<HHI", 8, 0, key) + struct.pack("<HBBI", 8, 0, dtype, data)
    if t.sparse:
        index = b"".join(struct.pack("<HH", i, o // 4) for i, o in enumerate(offsets) if o is not None)
        count = sum(1 for o in offsets if o is not None)
    elif t.offset16:
        index = b"".join(struct.pack("<H", 0xFFFF if o is None else o // 4) for o in offsets)
        count = len(offsets)
    else:
        index = b"".join(struct.pack("<I", 0xFFFFFFFF if o is None else o) for o in offsets)
        count = len(offsets)
    while len(index) % 4:
        index += b"\0"
    config = struct.pack("<I", 4 + len(t.config)) + t.config
    header_size = 8 + 12 + len(config)
    flags = (0x01 if t.sparse else 0) | (0x02 if t.offset16 else 0)
    header = struct.pack("<BBHII", t.type_id, flags, 0, count, header_size + len(index)) + config
    return chunk(0x0201, header, index + bytes(entry_blob))


def table(
    strings: list[str | bytes],
    types: list[TypeChunk],
    *,
    package_id: int = 0x7F,
    type_names: list[str] | None = None,
    keys: list[str] | None = None,
    utf8: bool = True,
) -> bytes:
    type_names = type_names or ["string"]
    keys = keys or [f"k{i}" for i in range(max((len(t.entries) for t in types), default=0))]
    type_pool = string_pool(list(type_names), utf8=False)
    key_pool = string_pool(list(keys), utf8=True)
    header_size = 288
    body = type_pool + key_pool
    seen = set()
    for t in types:
        if t.type_id not in seen:
            seen.add(t.type_id)
            spec = struct.pack("<BBHI", t.type_id, 0, 0, len(t.entries)) + b"\0" * 4 * len(t.entries)
            body += chunk(0x0202, spec[:8], spec[8:])
        body += type_chunk(t)
    header = struct.pack("<I", package_id) + _utf16_name("org.appvet.crafted")
    header += struct.pack("<IIIII", header_size, len(type_names), header_size + len(type_pool), len(keys), 0)
    package = chunk(0x0200, header, body)
    content = string_pool(strings, utf8=utf8) + package
    return struct.pack("<HHII", 0x0002, 12, 12 + len(content), 1) + content
