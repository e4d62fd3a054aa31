"""Rewrite an aapt2-compiled manifest the way manifest obfuscators do, keeping what Android reads.

Usage: python3 make_obfuscated.py IN_MANIFEST OUT_MANIFEST

Standalone on purpose (standard library only, no appvet import), so the fixture does not
depend on the reader it tests. Each change below is one Android tolerates because it reads
attributes by resource id and walks chunks by their declared sizes:

* attribute name strings that have a resource id are blanked;
* the android namespace prefix is renamed and its URI replaced by a decoy;
* an id-less decoy ``name`` attribute in that namespace is put first on every component,
  carrying a fake class name that Android never sees;
* the string pool is re-encoded as UTF-8 with an oversized header (padding before the offsets)
  and a forged style count;
* start-element nodes get a 20-byte node header, a 24-byte attribute start and a 24-byte
  attribute stride;
* two unknown chunks are inserted: one with a type inside the XML node range before the first
  node, one with an unknown type between nodes.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ANDROID_NS = "http://schemas.android.com/apk/res/android"
DECOY_NS = "http://schemas.android.com/apk/res/androld"
COMPONENTS = {"activity", "activity-alias", "service", "receiver", "provider"}


def chunks(data: bytes, pos: int, end: int) -> list[tuple[int, int, bytes]]:
    out = []
    while pos < end:
        ctype, hsize, size = struct.unpack_from("<HHI", data, pos)
        out.append((ctype, hsize, data[pos : pos + size]))
        pos += size
    return out


def read_pool(chunk: bytes) -> list[str]:
    count, _styles, flags, strings_start, _styles_start = struct.unpack_from("<IIIII", chunk, 8)
    hsize = struct.unpack_from("<H", chunk, 2)[0]
    assert not flags & 0x100, "expects aapt2's UTF-16 manifest pool"
    strings = []
    for i in range(count):
        pos = strings_start + struct.unpack_from("<I", chunk, hsize + 4 * i)[0]
        n = struct.unpack_from("<H", chunk, pos)[0]
        assert not n & 0x8000
        strings.append(chunk[pos + 2 : pos + 2 + 2 * n].decode("utf-16-le"))
    return strings


def len8(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])


def write_pool_utf8(strings: list[str]) -> bytes:
    header_size = 0x24  # 28 + 8 bytes of padding before the offsets
    blob = bytearray()
    offsets = []
    for s in strings:
        raw = s.encode("utf-8")
        offsets.append(len(blob))
        blob += len8(len(s)) + len8(len(raw)) + raw + b"\x00"
    while len(blob) % 4:
        blob += b"\x00"
    strings_start = header_size + 4 * len(strings)
    styles_start = strings_start + len(blob)
    blob += b"\x00\x00\x00\x00"  # a token style area so the forged count has somewhere to point
    size = strings_start + len(blob)
    header = struct.pack("<HHI", 0x0001, header_size, size)
    header += struct.pack("<IIIII", len(strings), 0x7FFFFFFF, 0x100, strings_start, styles_start)
    header += b"\xee" * 8
    return header + b"".join(struct.pack("<I", o) for o in offsets) + bytes(blob)


def rewrite_start(node: bytes, strings: list[str], decoy: tuple[int, int] | None) -> bytes:
    line, comment = struct.unpack_from("<II", node, 8)
    ns, name, attr_start, attr_size, count, id_i, class_i, style_i = struct.unpack_from("<IIHHHHHH", node, 16)
    attrs = [node[16 + attr_start + attr_size * i : 16 + attr_start + attr_size * i + 20] for i in range(count)]
    if decoy is not None and strings[name] in COMPONENTS:
        decoy_ns, decoy_name, decoy_value = decoy[0], decoy[1], len(strings) - 1
        attrs.insert(0, struct.pack("<IIIHBBI", decoy_ns, decoy_name, decoy_value, 8, 0, 0x03, decoy_value))
    ext = struct.pack("<IIHHHHHH", ns, name, 24, 24, len(attrs), id_i, class_i, style_i) + b"\x00" * 4
    body = ext + b"".join(a + b"\x00" * 4 for a in attrs)
    header_size = 20
    return struct.pack("<HHIIII", 0x0102, header_size, header_size + len(body), line, comment, 0) + body


def main(src: str, dst: str) -> None:
    data = Path(src).read_bytes()
    _t, xml_hsize, xml_size = struct.unpack_from("<HHI", data, 0)
    parts = chunks(data, xml_hsize, xml_size)
    pool_chunk = next(c for t, _h, c in parts if t == 0x0001)
    resmap_chunk = next(c for t, _h, c in parts if t == 0x0180)
    nodes = [(t, c) for t, _h, c in parts if 0x0100 <= t <= 0x017F]
    strings = read_pool(pool_chunk)
    n_ids = (len(resmap_chunk) - 8) // 4

    # Indexes used other than as an attribute name must keep their text.
    used_elsewhere = set()
    for t, c in nodes:
        if t in (0x0100, 0x0101):
            used_elsewhere.add(struct.unpack_from("<I", c, 16)[0])
        elif t == 0x0102:
            used_elsewhere.update(struct.unpack_from("<II", c, 16))
            _s, _z, count = struct.unpack_from("<HHH", c, 24)
            for i in range(count):
                ns, _n, raw, _vs, _r, vt, vd = struct.unpack_from("<IIIHBBI", c, 36 + 20 * i)
                used_elsewhere.update({ns, raw} | ({vd} if vt == 0x03 else set()))
    for i in range(n_ids):
        assert i not in used_elsewhere, f"string {i} ({strings[i]!r}) is also used as a value"
        strings[i] = ""
    prefix = strings.index("android")
    strings[prefix] = "a0"
    strings[strings.index(ANDROID_NS)] = DECOY_NS
    # The decoy sits in the genuine namespace (a fresh copy of its URI) without a resource id.
    strings += [ANDROID_NS, "name", "com.decoy.NotTheRealComponent"]
    decoy = (len(strings) - 3, len(strings) - 2)

    out_nodes = []
    for index, (t, c) in enumerate(nodes):
        out_nodes.append(rewrite_start(c, strings, decoy) if t == 0x0102 else c)
        if index == 3:
            out_nodes.append(struct.pack("<HHIII", 0x7777, 16, 32, 0, 0xFFFFFFFF) + b"\xab" * 16)
    bogus_in_range = struct.pack("<HHIII", 0x0150, 16, 24, 0, 0xFFFFFFFF) + b"\xcd" * 8
    body = write_pool_utf8(strings) + resmap_chunk + bogus_in_range + b"".join(out_nodes)
    out = struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body
    Path(dst).write_bytes(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
