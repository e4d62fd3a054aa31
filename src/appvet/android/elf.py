"""Strings and identity of native libraries (``lib/<abi>/*.so``) without a disassembler.

A hand-written walk of the ELF header, section table and dynamic segment (System V ABI, "ELF-64
Object File Format"). It reads only the handful of fields needed, and on real libraries it found
the string sections and DT_NEEDED entries 15-85x faster than pyelftools, without the dependency
(docs/benchmarks.md, "ELF strings").

Native libraries are written by the party under review and are often packed or deliberately
damaged: section headers removed or pointing anywhere. So every offset and size is checked
against the buffer before use, and ``native_strings`` never raises: when the section table cannot
be trusted it scans the whole file, as ``strings`` does. ``elf_info`` raises ``FormatError`` only
for what the Android loader itself would refuse (not ELF, a truncated header, a dynamic segment
outside the file).
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from appvet.errors import FormatError

MACHINES: dict[int, str] = {
    2: "sparc",
    3: "x86",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    40: "arm",
    43: "sparcv9",
    62: "x86_64",
    183: "aarch64",
    243: "riscv",
    258: "loongarch",
}

STRING_SECTIONS = frozenset({".rodata", ".data", ".data.rel.ro", ".dynstr"})
"""Sections where a compiler or linker puts string literals and imported names; ``.rodata.*``
(unmerged literal pools) count too. Code, symbol tables and debug info are left out."""

MAX_DYNAMIC_ENTRIES = 65536
"""Dynamic table entries read before giving up on finding DT_NULL; real tables have under 100."""
MAX_NAME = 4096
"""Longest DT_NEEDED name read; real ones are a few dozen bytes."""

_SHT_NOBITS = 8
_SHT_DYNAMIC = 6
_SHF_COMPRESSED = 0x800
_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_STRSZ = 10
_SHN_XINDEX = 0xFFFF


@dataclass(frozen=True)
class _Header:
    bits: int
    order: str
    """struct byte-order prefix: ``<`` or ``>``."""
    machine: int
    phoff: int
    phentsize: int
    phnum: int
    shoff: int
    shentsize: int
    shnum: int
    shstrndx: int


@dataclass(frozen=True)
class _Section:
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int


@dataclass(frozen=True)
class _Segment:
    type: int
    offset: int
    vaddr: int
    filesz: int


# ---------------------------------------------------------------------------------- strings


def native_strings(data: bytes, name: str, *, min_len: int = 6, max_strings: int = 200_000) -> list[str]:
    """Printable ASCII / UTF-8 runs of at least ``min_len`` characters, in file order, like ``strings``.

    For a well-formed ELF file only the string-bearing sections (``STRING_SECTIONS``) are read,
    which leaves out the noise that machine code produces; when the section table is missing,
    stripped or inconsistent the whole file is read instead. Never raises on malformed input; at
    most ``max_strings`` strings are returned. ``name`` is accepted for symmetry with the other
    readers.
    """
    if min_len < 1:
        raise ValueError("min_len must be at least 1")
    regions = _string_regions(data)
    if regions is None:
        regions = [memoryview(data)]
    found: list[str] = []
    for region in regions:
        for text in _runs(region, min_len):
            found.append(text)
            if len(found) >= max_strings:
                return found
    return found


def _string_regions(data: bytes) -> list[memoryview] | None:
    """The string-bearing sections' bytes, or ``None`` when the section table cannot be used."""
    try:
        header = _header(data, "")
        sections = _sections(data, header, "")
    except FormatError:
        return None
    chosen = [
        section
        for section in sections
        if (section.name in STRING_SECTIONS or section.name.startswith(".rodata."))
        and section.type != _SHT_NOBITS
        and not section.flags & _SHF_COMPRESSED
    ]
    # Sections outside the file, or more section bytes than the file has (the same bytes listed
    # many times over), mean the table was forged: reading it would cost more than the file.
    if (
        not chosen
        or any(section.offset + section.size > len(data) for section in chosen)
        or sum(section.size for section in chosen) > len(data)
    ):
        return None
    view = memoryview(data)
    return [view[s.offset : s.offset + s.size] for s in sorted(chosen, key=lambda s: s.offset)]


# A coarse pass over bytes that could be text is fast in ``re``; only runs that do not decode as
# UTF-8 get the exact pass, which splits them at the invalid sequences.
_CANDIDATE_BYTE = rb"[\t\x20-\x7e\x80-\xf4]"
_UTF8_CHAR = (
    rb"(?:[\t\x20-\x7e]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2})"
)


@functools.lru_cache(maxsize=8)
def _patterns(min_len: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    # A run of min_len characters has at least min_len bytes, so the coarse bound loses nothing.
    coarse = re.compile(_CANDIDATE_BYTE + b"{%d,}" % min_len)
    exact = re.compile(_UTF8_CHAR + b"{%d,}" % min_len)
    return coarse, exact


def _runs(region: memoryview, min_len: int) -> Iterator[str]:
    coarse, exact = _patterns(min_len)
    for match in coarse.finditer(region):
        chunk = match.group()
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            # Mixed text and binary: keep the valid stretches that are long enough on their own.
            for piece in exact.finditer(chunk):
                yield piece.group().decode("utf-8")
            continue
        if len(text) >= min_len:
            yield text


# ------------------------------------------------------------------------------------- info


def elf_info(data: bytes, name: str) -> dict[str, object]:
    """``{"machine": "aarch64"|"arm"|"x86"|"x86_64"|..., "class": 32|64, "needed": [DT_NEEDED ...]}``.

    ``needed`` is read through the program headers, as the dynamic loader does, so it survives
    removed section headers; the section table is used only when there are no program headers.
    Raises ``FormatError`` for a file that is not ELF or whose dynamic table is out of bounds.
    """
    header = _header(data, name)
    machine = MACHINES.get(header.machine, f"unknown-{header.machine}")
    return {"machine": machine, "class": header.bits, "needed": _needed(data, header, name)}


def _header(data: bytes, name: str) -> _Header:
    if len(data) < 16 or data[:4] != b"\x7fELF":
        raise FormatError("not an ELF file (no \\x7fELF magic)", file=name)
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise FormatError(f"unknown ELF class {ei_class} or data encoding {ei_data}", file=name)
    bits = 32 if ei_class == 1 else 64
    order = "<" if ei_data == 1 else ">"
    if len(data) < (52 if bits == 32 else 64):
        raise FormatError(f"truncated ELF header ({len(data)} bytes)", file=name)
    (machine,) = struct.unpack_from(order + "H", data, 18)
    if bits == 32:
        phoff, shoff = struct.unpack_from(order + "II", data, 28)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(order + "5H", data, 42)
    else:
        phoff, shoff = struct.unpack_from(order + "QQ", data, 32)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(order + "5H", data, 54)
    return _Header(bits, order, machine, phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx)


def _table(data: bytes, offset: int, count: int, entsize: int, minimum: int, what: str, name: str) -> None:
    """Check that a table of ``count`` entries of ``entsize`` bytes lies inside the file."""
    if entsize < minimum:
        raise FormatError(f"{what} entry size {entsize} below {minimum}", file=name)
    if offset + count * entsize > len(data):
        raise FormatError(f"{what} ({count} x {entsize} bytes at {offset}) outside the file", file=name)


def _sections(data: bytes, header: _Header, name: str) -> list[_Section]:
    if header.shoff == 0:
        return []
    if header.bits == 32:
        layout, minimum = struct.Struct(header.order + "10I"), 40
    else:
        layout, minimum = struct.Struct(header.order + "IIQQQQIIQQ"), 64
    _table(data, header.shoff, 1, header.shentsize, minimum, "section header table", name)
    # Section 0 holds the real count and string-table index when they do not fit the header.
    first = layout.unpack_from(data, header.shoff)
    count = header.shnum or first[5]
    strndx = first[6] if header.shstrndx == _SHN_XINDEX else header.shstrndx
    _table(data, header.shoff, count, header.shentsize, minimum, "section header table", name)
    raw = [layout.unpack_from(data, header.shoff + i * header.shentsize) for i in range(count)]
    if not 0 < strndx < count:
        raise FormatError(f"section name table index {strndx} out of range", file=name)
    names_offset, names_size = raw[strndx][4], raw[strndx][5]
    if names_offset + names_size > len(data):
        raise FormatError("section name table outside the file", file=name)
    names_end = names_offset + names_size
    return [
        _Section(_c_string(data, names_offset, names_end, entry[0]), entry[1], entry[2], entry[4], entry[5], entry[6])
        for entry in raw
    ]


def _c_string(data: bytes, table_start: int, table_end: int, offset: int) -> str:
    """The NUL-terminated string at ``offset`` in a string table, cut at its end or ``MAX_NAME`` bytes."""
    start = table_start + offset
    if start >= table_end:
        return ""
    limit = min(table_end, start + MAX_NAME)
    end = data.find(b"\0", start, limit)
    return data[start : limit if end < 0 else end].decode("utf-8", errors="replace")


def _segments(data: bytes, header: _Header, name: str) -> list[_Segment]:
    if header.phoff == 0 or header.phnum == 0:
        return []
    if header.bits == 32:
        layout, minimum = struct.Struct(header.order + "8I"), 32
        fields = (0, 1, 2, 4)  # type, offset, vaddr, filesz
    else:
        layout, minimum = struct.Struct(header.order + "IIQQQQQQ"), 56
        fields = (0, 2, 3, 5)
    _table(data, header.phoff, header.phnum, header.phentsize, minimum, "program header table", name)
    segments = []
    for i in range(header.phnum):
        entry = layout.unpack_from(data, header.phoff + i * header.phentsize)
        segments.append(_Segment(*(entry[f] for f in fields)))
    return segments


def _needed(data: bytes, header: _Header, name: str) -> list[str]:
    segments = _segments(data, header, name)
    dynamic = next((s for s in segments if s.type == _PT_DYNAMIC), None)
    if dynamic is not None:
        entries = _dynamic_entries(data, header, dynamic.offset, dynamic.filesz, name)
        strtab = next((value for tag, value in entries if tag == _DT_STRTAB), None)
        if strtab is None:
            raise FormatError("dynamic segment has no string table (DT_STRTAB)", file=name)
        strtab_offset = _file_offset(segments, strtab)
        if strtab_offset is None:
            raise FormatError(f"DT_STRTAB address {strtab:#x} is in no loaded segment", file=name)
        strsz = next((value for tag, value in entries if tag == _DT_STRSZ), len(data) - strtab_offset)
    elif not segments:
        found = _dynamic_from_sections(data, header, name)
        if found is None:
            return []
        entries, strtab_offset, strsz = found
    else:
        return []  # statically linked
    if strtab_offset + strsz > len(data):
        raise FormatError("dynamic string table outside the file", file=name)
    needed = []
    for tag, value in entries:
        if tag == _DT_NEEDED:
            if value >= strsz:
                raise FormatError(f"DT_NEEDED name at {value} outside the string table", file=name)
            needed.append(_c_string(data, strtab_offset, strtab_offset + strsz, value))
    return needed


def _dynamic_from_sections(data: bytes, header: _Header, name: str) -> tuple[list[tuple[int, int]], int, int] | None:
    sections = _sections(data, header, name)
    dynamic = next((s for s in sections if s.type == _SHT_DYNAMIC), None)
    if dynamic is None:
        return None
    if not 0 < dynamic.link < len(sections):
        raise FormatError(f"dynamic section links to section {dynamic.link}", file=name)
    strtab = sections[dynamic.link]
    return _dynamic_entries(data, header, dynamic.offset, dynamic.size, name), strtab.offset, strtab.size


def _dynamic_entries(data: bytes, header: _Header, offset: int, size: int, name: str) -> list[tuple[int, int]]:
    entry = struct.Struct(header.order + ("iI" if header.bits == 32 else "qQ"))
    if offset + size > len(data):
        raise FormatError(f"dynamic table ({size} bytes at {offset}) outside the file", file=name)
    entries = []
    for pos in range(offset, offset + size - entry.size + 1, entry.size):
        tag, value = entry.unpack_from(data, pos)
        if tag == _DT_NULL or len(entries) >= MAX_DYNAMIC_ENTRIES:
            break
        entries.append((tag, value))
    return entries


def _file_offset(segments: list[_Segment], address: int) -> int | None:
    for segment in segments:
        if segment.type == _PT_LOAD and segment.vaddr <= address < segment.vaddr + segment.filesz:
            return segment.offset + address - segment.vaddr
    return None
