"""Reader for ``resources.arsc`` (AOSP ``ResTable``), enough to resolve values and list strings.

Parsing only indexes the table: the global string pool, each package's type and key pools, and
where every ``ResTable_type`` chunk and its entry index lie. Entries are decoded when
``resolve`` asks for one, so a 20 MB table costs one pass over its chunk headers, not a decode
of every value. Dense (32-bit), ``FLAG_OFFSET16`` and ``FLAG_SPARSE`` entry indexes and
compact entries (``FLAG_COMPACT``, Android 14) are read; complex (bag) entries are recognised
and not resolved to a string.

Chunks are walked by their declared sizes, each validated against the bytes that are there;
every count is checked against the room it needs before anything is read.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field

from appvet.android.axml import (
    NO_INDEX,
    RES_STRING_POOL_TYPE,
    RES_TABLE_TYPE,
    TYPE_DYNAMIC_REFERENCE,
    TYPE_NULL,
    TYPE_REFERENCE,
    TYPE_STRING,
    StringPool,
    format_value,
)
from appvet.errors import FormatError

RES_TABLE_PACKAGE_TYPE = 0x0200
RES_TABLE_TYPE_TYPE = 0x0201
RES_TABLE_TYPE_SPEC_TYPE = 0x0202

FLAG_SPARSE = 0x01
FLAG_OFFSET16 = 0x02
ENTRY_FLAG_COMPLEX = 0x0001
ENTRY_FLAG_COMPACT = 0x0008

# A reference chain longer than this is a loop or a trap; Android itself gives up far sooner.
MAX_REFERENCE_HOPS = 16

_CHUNK = struct.Struct("<HHI")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TYPE_HEADER = struct.Struct("<BBHII")
_ENTRY = struct.Struct("<HHI")
_VALUE = struct.Struct("<HBBI")
_SPARSE = struct.Struct("<HH")
_PACKAGE_HEADER = 8 + 4 + 256 + 16


@dataclass(frozen=True)
class _TypeChunk:
    """Where one ``ResTable_type`` chunk keeps its index and entries."""

    type_id: int
    flags: int
    count: int
    index: int
    """Absolute offset of the entry index array."""
    entries: int
    """Absolute offset that entry offsets are relative to."""
    end: int
    default: bool
    """The configuration is the default one (every qualifier unset)."""


@dataclass
class _Package:
    id: int
    name: str
    type_strings: StringPool | None = None
    key_strings: StringPool | None = None
    type_id_offset: int = 0
    types: dict[int, list[_TypeChunk]] = field(default_factory=dict)


class ResourceTable:
    """An indexed resource table; values are decoded on demand."""

    def __init__(self, data: bytes, name: str, pool: StringPool | None, packages: dict[int, _Package]) -> None:
        self._data = data
        self._name = name
        self._pool = pool
        self._packages = packages

    @property
    def package_names(self) -> tuple[str, ...]:
        """Names of the packages in the table, in id order."""
        return tuple(self._packages[k].name for k in sorted(self._packages))

    def strings(self) -> Iterator[str]:
        """Every string of the global value pool, in pool order (for endpoint scanning).

        Raises ``FormatError`` part-way if the pool's entries overlap far beyond its size."""
        if self._pool is not None:
            yield from self._pool

    def resolve(self, ref: int) -> str | None:
        """The value of resource ``ref`` as text, from the default configuration or else the first
        configuration that defines it. References are followed; ``None`` for a missing, null or
        complex (array, style, plural) resource. Never raises."""
        seen: set[int] = set()
        for _ in range(MAX_REFERENCE_HOPS):
            if ref in seen:
                return None
            seen.add(ref)
            value = self.value(ref)
            if value is None:
                return None
            data_type, data = value
            if data_type in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE) and data:
                ref = data
                continue
            if data_type == TYPE_STRING:
                try:
                    return self._pool.get(data) if self._pool is not None else None
                except FormatError:
                    return None  # a pool crafted to blow up decoding: treat as unresolvable
            if data_type == TYPE_NULL:
                return None
            formatted = format_value(data_type, data)
            if isinstance(formatted, bool):
                return "true" if formatted else "false"
            return None if formatted is None else str(formatted)
        return None

    def value(self, ref: int) -> tuple[int, int] | None:
        """The raw ``(dataType, data)`` of a simple entry, default configuration first."""
        package = self._package(ref >> 24)
        if package is None:
            return None
        chunks = package.types.get((ref >> 16) & 0xFF)
        if not chunks:
            return None
        entry_index = ref & 0xFFFF
        fallback: tuple[int, int] | None = None
        for chunk in chunks:
            found = self._entry(chunk, entry_index)
            if found is None:
                continue
            if chunk.default:
                return found[1]
            if fallback is None:
                fallback = found[1]
        return fallback

    def name(self, ref: int) -> str | None:
        """``type/key`` name of resource ``ref`` (``string/app_name``), when the table names it.
        Never raises."""
        package = self._package(ref >> 24)
        if package is None or package.type_strings is None or package.key_strings is None:
            return None
        type_id = (ref >> 16) & 0xFF
        for chunk in package.types.get(type_id, ()):
            key = self._key(chunk, ref & 0xFFFF)
            if key is not None:
                try:
                    type_name = package.type_strings.get(type_id - 1 - package.type_id_offset)
                    key_name = package.key_strings.get(key)
                except FormatError:
                    return None
                if type_name is not None and key_name is not None:
                    return f"{type_name}/{key_name}"
        return None

    def _package(self, package_id: int) -> _Package | None:
        package = self._packages.get(package_id)
        if package is None and package_id == 0x7F:
            package = self._packages.get(0)  # a shared-library table is addressed as the app
        return package

    def _entry_offset(self, chunk: _TypeChunk, index: int) -> int | None:
        data = self._data
        if chunk.flags & FLAG_SPARSE:
            # Sorted (index, offset/4) pairs; Android binary-searches them the same way.
            keys = _SparseKeys(data, chunk.index, chunk.count)
            at = bisect_left(keys, index)
            if at >= chunk.count or keys[at] != index:
                return None
            return _SPARSE.unpack_from(data, chunk.index + 4 * at)[1] * 4
        if index >= chunk.count:
            return None
        if chunk.flags & FLAG_OFFSET16:
            offset = _U16.unpack_from(data, chunk.index + 2 * index)[0]
            return None if offset == 0xFFFF else offset * 4
        offset = _U32.unpack_from(data, chunk.index + 4 * index)[0]
        return None if offset == NO_INDEX else offset

    def _raw_entry(self, chunk: _TypeChunk, index: int) -> tuple[int, int, int, int] | None:
        """``(position, size-or-key, flags, key-or-data)`` of an entry that lies inside its chunk."""
        offset = self._entry_offset(chunk, index)
        if offset is None:
            return None
        pos = chunk.entries + offset
        if pos + _ENTRY.size > chunk.end:
            return None
        size, flags, word = _ENTRY.unpack_from(self._data, pos)
        return pos, size, flags, word

    def _entry(self, chunk: _TypeChunk, index: int) -> tuple[int, tuple[int, int]] | None:
        raw = self._raw_entry(chunk, index)
        if raw is None:
            return None
        pos, size, flags, word = raw
        if flags & ENTRY_FLAG_COMPACT:
            return pos, (flags >> 8, word)
        if flags & ENTRY_FLAG_COMPLEX:
            return None
        if pos + size + _VALUE.size > chunk.end:
            return None
        _vsize, _res0, data_type, data = _VALUE.unpack_from(self._data, pos + size)
        return pos, (data_type, data)

    def _key(self, chunk: _TypeChunk, index: int) -> int | None:
        raw = self._raw_entry(chunk, index)
        if raw is None:
            return None
        _pos, size, flags, word = raw
        return size if flags & ENTRY_FLAG_COMPACT else word


class _SparseKeys:
    """The entry indexes of a sparse type, as a read-only sequence for ``bisect``."""

    def __init__(self, data: bytes, start: int, count: int) -> None:
        self._data, self._start, self._count = data, start, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: int) -> int:
        return _U16.unpack_from(self._data, self._start + 4 * i)[0]


def _chunks(data: bytes, start: int, end: int, what: str, name: str) -> Iterator[tuple[int, int, int, int]]:
    """``(position, type, header size, size)`` of each chunk in ``[start, end)``."""
    pos = start
    while pos + 8 <= end:
        ctype, header_size, size = _CHUNK.unpack_from(data, pos)
        if header_size < 8 or header_size > size or size > end - pos:
            raise FormatError(
                f"{what} chunk at 0x{pos:x} has bad sizes (header {header_size}, size {size})", file=name
            )
        yield pos, ctype, header_size, size
        pos += size


def _type_chunk(data: bytes, pos: int, header_size: int, size: int, name: str) -> _TypeChunk:
    end = pos + size
    if header_size < 8 + _TYPE_HEADER.size + 4:
        raise FormatError(f"type chunk at 0x{pos:x} has header size {header_size}", file=name)
    type_id, flags, _reserved, count, entries_start = _TYPE_HEADER.unpack_from(data, pos + 8)
    if type_id == 0:
        raise FormatError(f"type chunk at 0x{pos:x} has type id 0", file=name)
    width = 2 if flags & FLAG_OFFSET16 and not flags & FLAG_SPARSE else 4
    index = pos + header_size
    if count > (end - index) // width:
        raise FormatError(f"type chunk at 0x{pos:x} claims {count} entries, more than it holds", file=name)
    if entries_start > size:
        raise FormatError(f"type chunk at 0x{pos:x} puts its entries past its end", file=name)
    config_at = pos + 8 + _TYPE_HEADER.size
    config_size = min(_U32.unpack_from(data, config_at)[0], pos + header_size - config_at)
    default = config_size <= 4 or not any(data[config_at + 4 : config_at + config_size])
    return _TypeChunk(type_id, flags, count, index, pos + entries_start, end, default)


def _package(data: bytes, pos: int, header_size: int, size: int, name: str) -> _Package:
    end = pos + size
    if header_size < _PACKAGE_HEADER:
        raise FormatError(f"package chunk at 0x{pos:x} has header size {header_size}", file=name)
    package_id = _U32.unpack_from(data, pos + 8)[0]
    raw_name = data[pos + 12 : pos + 12 + 256].decode("utf-16-le", errors="replace")
    type_strings, _last_type, key_strings, _last_key = struct.unpack_from("<IIII", data, pos + 268)
    type_id_offset = _U32.unpack_from(data, pos + 284)[0] if header_size >= _PACKAGE_HEADER + 4 else 0
    package = _Package(package_id, raw_name.split("\x00", 1)[0], type_id_offset=type_id_offset)
    pools: list[StringPool] = []
    for child, ctype, child_header, child_size in _chunks(data, pos + header_size, end, "package", name):
        if ctype == RES_STRING_POOL_TYPE:
            pool = StringPool(data, child, child + child_size, name)
            # Android tells the two pools apart by the offsets in the package header.
            if child - pos == type_strings:
                package.type_strings = pool
            elif child - pos == key_strings:
                package.key_strings = pool
            pools.append(pool)
        elif ctype == RES_TABLE_TYPE_TYPE:
            chunk = _type_chunk(data, child, child_header, child_size, name)
            chunks = package.types.setdefault(chunk.type_id, [])
            # Default configurations first, otherwise file order: resolve() prefers them.
            if chunk.default:
                chunks.insert(sum(1 for c in chunks if c.default), chunk)
            else:
                chunks.append(chunk)
    if package.type_strings is None and package.key_strings is None and len(pools) >= 2:
        package.type_strings, package.key_strings = pools[0], pools[1]
    return package


def parse_arsc(data: bytes, name: str = "resources.arsc") -> ResourceTable:
    """Index a resource table; ``FormatError`` if it is not one or its chunks are malformed.

    An App Bundle's protobuf table (``resources.pb``) is read by ``protores`` and answers alike."""
    from appvet.android.protores import looks_like_proto_table, parse_resources_pb

    if looks_like_proto_table(data):
        return parse_resources_pb(data, name)
    data = bytes(data)
    if len(data) < 12:
        raise FormatError("too short for a resource table header", file=name)
    ctype, header_size, size = _CHUNK.unpack_from(data, 0)
    if ctype != RES_TABLE_TYPE:
        raise FormatError(f"not a resource table (chunk type 0x{ctype:04x})", file=name)
    if header_size < 12 or header_size > size:
        raise FormatError(f"bad resource table header (header {header_size}, size {size})", file=name)
    end = min(size, len(data))
    pool: StringPool | None = None
    packages: dict[int, _Package] = {}
    for pos, child_type, child_header, child_size in _chunks(data, header_size, end, "table", name):
        if child_type == RES_STRING_POOL_TYPE and pool is None:
            pool = StringPool(data, pos, pos + child_size, name)  # the first one, as Android takes
        elif child_type == RES_TABLE_PACKAGE_TYPE:
            package = _package(data, pos, child_header, child_size, name)
            existing = packages.get(package.id)
            if existing is None:
                packages[package.id] = package
            else:
                for type_id, chunks in package.types.items():
                    existing.types.setdefault(type_id, []).extend(chunks)
    return ResourceTable(data, name, pool, packages)
