"""A fast reader of Dalvik executable (DEX) files: tables, class definitions and code references.

It reads what a review needs — strings, types, method and field references, class definitions
and, for every method body, which methods it invokes, which fields it reads or writes and which
strings it loads — without decompiling anything. Full analysis frameworks build an object per
instruction and take tens of seconds on a large app; this reader keeps every table as the raw
bytes of the file, decodes entries only when asked, and walks instructions with a regular
expression so that the per-instruction work runs in C.

Layout and encodings follow the Dalvik executable format and bytecode specifications
(source.android.com, "dex-format", "dalvik-bytecode", "instruction-formats"), versions 035 to 041.

Hostile input is expected: every count and offset is checked against the buffer before it is
used, the work of a code scan is bounded by the size of the file, and a method body that cannot
be walked is recorded in ``CodeRefs.skipped`` rather than dropped silently.
"""

from __future__ import annotations

import codecs
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat

from appvet.errors import FormatError, LimitExceeded

__all__ = [
    "NO_INDEX",
    "ClassDef",
    "CodeRefs",
    "DexFile",
    "parse_dex",
    "parse_dex_container",
]

NO_INDEX = 0xFFFFFFFF
"""The spec's marker for an absent index (e.g. the superclass of java.lang.Object)."""

DEFAULT_MAX_SIZE = 512 * 1024 * 1024
"""Largest DEX accepted; real multidex members are well under 100 MiB."""

KNOWN_VERSIONS = frozenset({"035", "037", "038", "039", "040", "041"})

_ENDIAN_CONSTANT = 0x12345678
_REVERSE_ENDIAN_CONSTANT = 0x78563412
_HEADER_SIZE = 0x70
_HEADER_SIZE_V41 = 0x78
_CODE_ITEM_HEADER = 16
_MAX_SKIPS_LISTED = 1000
"""Beyond this many skip reasons only a count is kept, so a hostile file cannot grow the list unboundedly."""

_HEADER = struct.Struct("<8sI20s20I")
_U32 = struct.Struct("<I").unpack_from
_U16 = struct.Struct("<H").unpack_from
_FIELD_OR_METHOD_ID = struct.Struct("<HHI").unpack_from
_FIELD_OR_METHOD_ID_ROWS = struct.Struct("<HHI").iter_unpack
_PROTO_ID = struct.Struct("<III").unpack_from
_CLASS_DEF = struct.Struct("<8I")

_LITTLE_ENDIAN_HOST = sys.byteorder == "little"

# ---------------------------------------------------------------------------------------------
# Instruction set. Width in 16-bit code units of every opcode, from its format in the bytecode
# spec (10x, 12x, 11n, 11x, 10t: 1; 20t, 22x, 21t, 21s, 21h, 21c, 23x, 22b, 22t, 22s, 22c: 2;
# 32x, 30t, 31t, 31i, 31c, 35c, 3rc: 3; 45cc, 4rcc: 4; 51l: 5). 0 marks an unused opcode.
# ---------------------------------------------------------------------------------------------


def _build_widths() -> list[int]:
    widths = [0] * 256
    spans = [  # (first opcode, last opcode + 1, width)
        (0x00, 0x02, 1),  # nop (payloads share its opcode), move
        (0x02, 0x03, 2),  # move/from16
        (0x03, 0x04, 3),  # move/16
        (0x04, 0x05, 1),  # move-wide
        (0x05, 0x06, 2),  # move-wide/from16
        (0x06, 0x07, 3),  # move-wide/16
        (0x07, 0x08, 1),  # move-object
        (0x08, 0x09, 2),  # move-object/from16
        (0x09, 0x0A, 3),  # move-object/16
        (0x0A, 0x13, 1),  # move-result*, move-exception, return*, const/4
        (0x13, 0x14, 2),  # const/16
        (0x14, 0x15, 3),  # const
        (0x15, 0x17, 2),  # const/high16, const-wide/16
        (0x17, 0x18, 3),  # const-wide/32
        (0x18, 0x19, 5),  # const-wide
        (0x19, 0x1B, 2),  # const-wide/high16, const-string
        (0x1B, 0x1C, 3),  # const-string/jumbo
        (0x1C, 0x1D, 2),  # const-class
        (0x1D, 0x1F, 1),  # monitor-enter, monitor-exit
        (0x1F, 0x21, 2),  # check-cast, instance-of
        (0x21, 0x22, 1),  # array-length
        (0x22, 0x24, 2),  # new-instance, new-array
        (0x24, 0x27, 3),  # filled-new-array, filled-new-array/range, fill-array-data
        (0x27, 0x29, 1),  # throw, goto
        (0x29, 0x2A, 2),  # goto/16
        (0x2A, 0x2D, 3),  # goto/32, packed-switch, sparse-switch
        (0x2D, 0x3E, 2),  # cmp*, if-test, if-testz
        (0x44, 0x6E, 2),  # aget*/aput*, iget*/iput*, sget*/sput*
        (0x6E, 0x73, 3),  # invoke-kind
        (0x74, 0x79, 3),  # invoke-kind/range
        (0x7B, 0x90, 1),  # unop
        (0x90, 0xB0, 2),  # binop
        (0xB0, 0xD0, 1),  # binop/2addr
        (0xD0, 0xE3, 2),  # binop/lit16, binop/lit8
        (0xFA, 0xFC, 4),  # invoke-polymorphic, invoke-polymorphic/range
        (0xFC, 0xFE, 3),  # invoke-custom, invoke-custom/range
        (0xFE, 0x100, 2),  # const-method-handle, const-method-type
    ]
    for lo, hi, width in spans:
        for op in range(lo, hi):
            widths[op] = width
    return widths


WIDTHS: list[int] = _build_widths()
"""Code units per opcode; 0 for opcodes the spec lists as unused (3e-43, 73, 79-7a, e3-f9)."""

_INVOKE_OPS = frozenset([*range(0x6E, 0x73), *range(0x74, 0x79), 0xFA, 0xFB])
_FIELD_OPS = frozenset(range(0x52, 0x6E))  # iget*/iput* (22c) and sget*/sput* (21c)
_KIND_NONE, _KIND_INVOKE, _KIND_FIELD, _KIND_STRING, _KIND_STRING_JUMBO = range(5)
_KINDS = [_KIND_NONE] * 256
for _op in _INVOKE_OPS:
    _KINDS[_op] = _KIND_INVOKE
for _op in _FIELD_OPS:
    _KINDS[_op] = _KIND_FIELD
_KINDS[0x1A] = _KIND_STRING
_KINDS[0x1B] = _KIND_STRING_JUMBO

_PACKED_SWITCH_PAYLOAD = 0x0100
_SPARSE_SWITCH_PAYLOAD = 0x0200
_FILL_ARRAY_DATA_PAYLOAD = 0x0300


def _byte_class(ops: Sequence[int]) -> bytes:
    return b"[" + b"".join(b"\\x%02x" % op for op in sorted(ops)) + b"]"


def _build_code_patterns() -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """(reference pattern, aligned-run pattern) for walking code units with ``findall``.

    In the reference pattern one match is a run of instructions that refer to nothing, then one
    reference instruction (its index captured) or the end. Every alternative consumes whole
    instructions, so matches stay aligned on instruction boundaries. What none of them can take
    — a payload pseudo-instruction, an unused opcode, an instruction cut off by the end of the
    code — is captured by the last group, which then swallows the rest of the code in O(1), so
    the rows before it are exact. The aligned-run pattern finds where that unit is.
    """
    boring: dict[int, list[int]] = {1: [], 2: [], 3: [], 4: [], 5: []}
    for op, width in enumerate(WIDTHS):
        if op == 0 or width == 0 or _KINDS[op] != _KIND_NONE:
            continue
        boring[width].append(op)
    # Ordered by how common each width is in compiled code, so the alternation exits early.
    alternatives = [
        _byte_class(boring[2]) + b".{3}",
        _byte_class(boring[1]) + b".",
        b"\\x00[^\\x01-\\x03]",  # nop; 0x01-0x03 in the high byte announce a payload
        _byte_class(boring[3]) + b".{5}",
        _byte_class(boring[5]) + b".{9}",
    ]
    invoke3 = [op for op in _INVOKE_OPS if WIDTHS[op] == 3]
    invoke4 = [op for op in _INVOKE_OPS if WIDTHS[op] == 4]
    pattern = (
        b"(?s)(?:" + b"|".join(alternatives) + b")*+"
        b"(?:"
        b"(?=" + _byte_class(sorted(_INVOKE_OPS)) + b".(..))"
        b"(?:" + _byte_class(invoke3) + b".{5}|" + _byte_class(invoke4) + b".{7})"  # 1: method idx
        b"|" + _byte_class(sorted(_FIELD_OPS)) + b".(..)"  # 2: field idx
        b"|\\x1a.(..)"  # 3: string idx
        b"|\\x1b.(....)"  # 4: string idx, 32-bit
        b"|\\Z"
        b"|(.).*"  # 5: the first code unit the walk above cannot take; the rest is left alone
        b")"
    )
    references = [
        _byte_class(invoke3) + b".{5}",
        _byte_class(invoke4) + b".{7}",
        _byte_class(sorted(_FIELD_OPS)) + b".{3}",
        b"\\x1a.{3}",
        b"\\x1b.{5}",
    ]
    aligned_run = b"(?s)(?:" + b"|".join(alternatives + references) + b")*+"
    return re.compile(pattern), re.compile(aligned_run)


_CODE_PATTERN, _ALIGNED_RUN = _build_code_patterns()


# ---------------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassDef:
    """One class_def_item, with its type indexes resolved to descriptors."""

    descriptor: str
    """Type descriptor of the class, e.g. ``Lcom/umeng/analytics/MobclickAgent;``."""
    superclass: str | None
    """Descriptor of the superclass; ``None`` only for ``Ljava/lang/Object;`` (or a broken file)."""
    interfaces: tuple[str, ...]
    """Descriptors of the directly implemented interfaces, in declaration order."""
    access_flags: int
    """ACC_* flags as stored (``0x1`` public, ``0x200`` interface, ``0x400`` abstract, ...)."""


def _new_u32() -> array:
    return array("I")


@dataclass
class CodeRefs:
    """Every reference made by code in one DEX, as parallel arrays (compact for millions of sites).

    Entry ``i`` of a ``*_caller`` array is the method_idx whose code holds the instruction, entry
    ``i`` of the matching target array what it refers to. Within a method, sites appear in
    instruction order; methods appear in class_def order, direct methods before virtual ones.
    """

    invoke_caller: array = field(default_factory=_new_u32)
    invoke_callee: array = field(default_factory=_new_u32)
    """method_idx invoked by invoke-{virtual,super,direct,static,interface}[/range] and
    invoke-polymorphic[/range]. invoke-custom is not listed: its operand is a call site, not a method."""
    field_caller: array = field(default_factory=_new_u32)
    field_ref: array = field(default_factory=_new_u32)
    """field_idx read or written by iget*/iput*/sget*/sput*."""
    string_caller: array = field(default_factory=_new_u32)
    string_ref: array = field(default_factory=_new_u32)
    """string_idx loaded by const-string and const-string/jumbo."""
    skipped: list[str] = field(default_factory=list)
    """One line per code item (or class) that could not be walked, and why."""
    methods_walked: int = 0
    """Methods with a code item whose instructions were walked to the end."""
    code_units: int = 0
    """16-bit code units walked (each shared code item counted once)."""


# ---------------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------------


def _mutf8_error(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler for the two places MUTF-8 differs from UTF-8; anything else is U+FFFD."""
    assert isinstance(exc, UnicodeDecodeError)
    raw, i = exc.object, exc.start
    if raw[i : i + 2] == b"\xc0\x80":
        return "\x00", i + 2
    if i + 2 < len(raw) and raw[i] == 0xED and 0xA0 <= raw[i + 1] <= 0xBF and 0x80 <= raw[i + 2] <= 0xBF:
        # One half of a surrogate pair, encoded on its own as 3 bytes (CESU-8 style).
        return chr(0xD000 | (raw[i + 1] & 0x3F) << 6 | raw[i + 2] & 0x3F), i + 3
    return "\ufffd", i + 1


codecs.register_error("appvet.mutf8", _mutf8_error)


def _decode_mutf8(raw: bytes) -> str:
    """MUTF-8 (NUL as C0 80, supplementary characters as surrogate pairs) to str.

    Invalid bytes and unpaired surrogates become U+FFFD, so the result always encodes as UTF-8.
    """
    if raw.isascii():
        return raw.decode("ascii")
    text = raw.decode("utf-8", "appvet.mutf8")
    if b"\xed" in raw:
        # Going through UTF-16 joins surrogate pairs and replaces lone halves.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _read_uleb128(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position) of the uleb128 at ``pos``; at most 5 bytes, as the spec allows."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ValueError("uleb128 runs past the end of its section")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 35:
            raise ValueError("uleb128 longer than 5 bytes")


def _u16_values(raw: bytes) -> Sequence[int]:
    """Little-endian 16-bit values of ``raw`` (even length) without a Python loop."""
    if _LITTLE_ENDIAN_HOST:
        return memoryview(raw).cast("H")
    values = array("H", raw)
    values.byteswap()
    return values


# ---------------------------------------------------------------------------------------------
# Code walking
# ---------------------------------------------------------------------------------------------

_Walk = tuple[Sequence[int], Sequence[int], Sequence[int], str | None]
"""(method idxs invoked, field idxs, string idxs, reason the walk stopped early or None)."""


def _payload_units(data: bytes, pos: int, ident: int, units_left: int) -> int:
    """Size in code units of the payload at byte ``pos``; 0 if its header is cut off."""
    if units_left < 2:
        return 0
    if ident == _PACKED_SWITCH_PAYLOAD:
        return 4 + 2 * _U16(data, pos + 2)[0]
    if ident == _SPARSE_SWITCH_PAYLOAD:
        return 2 + 4 * _U16(data, pos + 2)[0]
    if units_left < 4:
        return 0
    element_width = _U16(data, pos + 2)[0]
    count = _U32(data, pos + 4)[0]
    return 4 + (element_width * count + 1) // 2


def walk_code_exact(data: bytes, start: int, n_units: int) -> _Walk:
    """Instruction-by-instruction walk of ``n_units`` code units at byte ``start``.

    The plain reading of the spec, kept as the reference that :func:`walk_code` is tested
    against; it is several times slower, so the scanner does not use it.
    """
    invokes: list[int] = []
    fields: list[int] = []
    strings: list[int] = []
    widths, kinds = WIDTHS, _KINDS
    pc = 0
    while pc < n_units:
        pos = start + 2 * pc
        unit = data[pos] | data[pos + 1] << 8
        op = unit & 0xFF
        if op == 0 and unit in (_PACKED_SWITCH_PAYLOAD, _SPARSE_SWITCH_PAYLOAD, _FILL_ARRAY_DATA_PAYLOAD):
            size = _payload_units(data, pos, unit, n_units - pc)
            if size == 0 or pc + size > n_units:
                return invokes, fields, strings, f"payload at code unit {pc} runs past the end of the code"
            pc += size
            continue
        width = widths[op]
        if width == 0:
            return invokes, fields, strings, f"unused opcode 0x{op:02x} at code unit {pc}"
        if pc + width > n_units:
            return invokes, fields, strings, f"instruction 0x{op:02x} at code unit {pc} runs past the end of the code"
        kind = kinds[op]
        if kind:
            if kind == _KIND_INVOKE:
                invokes.append(data[pos + 2] | data[pos + 3] << 8)
            elif kind == _KIND_FIELD:
                fields.append(data[pos + 2] | data[pos + 3] << 8)
            elif kind == _KIND_STRING:
                strings.append(data[pos + 2] | data[pos + 3] << 8)
            else:
                strings.append(_U32(data, pos + 2)[0])
        pc += width
    return invokes, fields, strings, None


def _strings_of(string_col: tuple[bytes, ...], jumbo_col: tuple[bytes, ...]) -> Sequence[int]:
    if any(jumbo_col):
        # const-string and const-string/jumbo interleaved: keep instruction order.
        return [
            int.from_bytes(short or long, "little")
            for short, long in zip(string_col, jumbo_col, strict=True)
            if short or long
        ]
    return _u16_values(b"".join(string_col))


def walk_code(data: bytes, start: int, n_units: int) -> _Walk:
    """References made by the ``n_units`` code units at byte ``start``: the pattern walk.

    Gives the same result as :func:`walk_code_exact` with the per-instruction work done by the
    regular expression engine. Each payload or stray unit costs one more pattern call.
    """
    invokes, fields, strings, stopped = _walk_code_raw(data, start, n_units)
    return _u16_values(invokes), _u16_values(fields), strings, stopped


def _walk_code_raw(
    data: bytes, start: int, n_units: int, rows: list[tuple[bytes, ...]] | None = None
) -> tuple[bytes, bytes, list[int], str | None]:
    """walk_code() with method and field indexes left as little-endian 16-bit bytes.

    ``rows``, if given, is what the reference pattern already found from ``start``.
    """
    stop = start + 2 * n_units
    invokes: list[bytes] = []
    fields: list[bytes] = []
    strings: list[int] = []
    cur = start
    stopped = None
    while True:
        if rows is None:
            rows = _CODE_PATTERN.findall(data, cur, stop)
        invoke_col, field_col, string_col, jumbo_col, odd_col = zip(*rows, strict=True)
        rows = None
        invokes.append(b"".join(invoke_col))
        fields.append(b"".join(field_col))
        strings.extend(_strings_of(string_col, jumbo_col))
        if not any(odd_col):
            break
        match = _ALIGNED_RUN.match(data, cur, stop)
        pos = match.end() if match else cur
        pc = (pos - start) // 2
        unit = data[pos] | data[pos + 1] << 8
        op = unit & 0xFF
        if op == 0:
            size = _payload_units(data, pos, unit, n_units - pc)
            if size == 0 or pc + size > n_units:
                stopped = f"payload at code unit {pc} runs past the end of the code"
                break
            cur = pos + 2 * size
        elif WIDTHS[op] == 0:
            stopped = f"unused opcode 0x{op:02x} at code unit {pc}"
            break
        else:
            stopped = f"instruction 0x{op:02x} at code unit {pc} runs past the end of the code"
            break
    return b"".join(invokes), b"".join(fields), strings, stopped


# ---------------------------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    count: int
    offset: int


class DexFile:
    """One parsed DEX. Tables stay as bytes of the file; entries are decoded on demand.

    Build it with :func:`parse_dex`. Index arguments out of range raise ``FormatError``, so a
    caller that follows a corrupt reference gets the same typed error as for a corrupt header.
    """

    name: str
    version: str
    warnings: list[str]
    """Things that are off but did not stop reading: an unknown version, a bad checksum, ..."""

    def __init__(
        self,
        data: bytes,
        name: str,
        version: str,
        end: int,
        tables: dict[str, _Table],
        warnings: list[str],
    ) -> None:
        # Trimmed to the end of the dex so that reading past it fails instead of seeing other bytes.
        self._data = data if end == len(data) else data[:end]
        self.name = name
        self.version = version
        self._end = end
        self.warnings = warnings
        self._strings_t = tables["string_ids"]
        self._types_t = tables["type_ids"]
        self._protos_t = tables["proto_ids"]
        self._fields_t = tables["field_ids"]
        self._methods_t = tables["method_ids"]
        self._classes_t = tables["class_defs"]
        self._string_cache: dict[int, str] = {}
        # Overlapping or unterminated string data could make every lookup scan most of the
        # file; total scanning is capped well above what a well-formed file needs.
        self._string_scan_budget = 4 * end + (1 << 20)
        self._proto_cache: dict[int, str] = {}
        self._code_refs: CodeRefs | None = None
        self._classes: list[ClassDef] | None = None
        self._class_methods: list[tuple[str, array, array]] | None = None
        self._code_offsets: dict[int, int] | None = None
        self._method_refs: list[tuple[str, str, str]] | None = None
        self._field_refs: list[tuple[str, str, str]] | None = None

    # -- counts ----------------------------------------------------------------------------

    @property
    def string_count(self) -> int:
        return self._strings_t.count

    @property
    def type_count(self) -> int:
        return self._types_t.count

    @property
    def proto_count(self) -> int:
        return self._protos_t.count

    @property
    def field_count(self) -> int:
        return self._fields_t.count

    @property
    def method_count(self) -> int:
        return self._methods_t.count

    @property
    def class_count(self) -> int:
        return self._classes_t.count

    def _error(self, message: str) -> FormatError:
        return FormatError(message, file=self.name)

    # -- strings and types -----------------------------------------------------------------

    def _decode_string(self, idx: int) -> str:
        if not 0 <= idx < self._strings_t.count:
            raise self._error(f"string index {idx} out of range ({self._strings_t.count} strings)")
        data, end = self._data, self._end
        (pos,) = _U32(data, self._strings_t.offset + 4 * idx)
        try:
            utf16_size, pos = _read_uleb128(data, pos, end)
        except ValueError:
            raise self._error(f"string {idx} data at 0x{pos:x} is outside the file or malformed") from None
        # Each UTF-16 unit takes at most 3 bytes of MUTF-8; the NUL must come within that.
        limit = min(end, pos + 3 * utf16_size + 1)
        stop = data.find(b"\x00", pos, limit)
        self._string_scan_budget -= (stop if stop >= 0 else limit) - pos
        if self._string_scan_budget < 0:
            raise self._error("string data overlaps itself: string scan limit reached")
        if stop < 0:
            return _decode_mutf8(data[pos:limit]) + "\ufffd"
        return _decode_mutf8(data[pos:stop])

    def string(self, idx: int) -> str:
        """The string at ``idx``, decoded from MUTF-8 once and cached; bad bytes become U+FFFD."""
        cached = self._string_cache.get(idx)
        if cached is None:
            cached = self._string_cache[idx] = self._decode_string(idx)
        return cached

    def strings(self) -> Iterator[str]:
        """Every string in table order (each decoded once and cached, as by :meth:`string`)."""
        string = self.string
        for idx in range(self._strings_t.count):
            yield string(idx)

    def type_descriptor(self, type_idx: int) -> str:
        if not 0 <= type_idx < self._types_t.count:
            raise self._error(f"type index {type_idx} out of range ({self._types_t.count} types)")
        return self.string(_U32(self._data, self._types_t.offset + 4 * type_idx)[0])

    # -- protos, fields, methods -----------------------------------------------------------

    def _type_list(self, offset: int) -> list[str]:
        if offset == 0:
            return []
        if offset % 4 or offset + 4 > self._end:
            raise self._error(f"type_list offset 0x{offset:x} is invalid")
        (size,) = _U32(self._data, offset)
        if offset + 4 + 2 * size > self._end:
            raise self._error(f"type_list at 0x{offset:x} with {size} entries runs past the end of the file")
        idxs = _u16_values(self._data[offset + 4 : offset + 4 + 2 * size])
        return [self.type_descriptor(t) for t in idxs]

    def proto_descriptor(self, proto_idx: int) -> str:
        """``(Ljava/lang/String;I)V`` for the proto at ``proto_idx``."""
        cached = self._proto_cache.get(proto_idx)
        if cached is not None:
            return cached
        table = self._protos_t
        if not 0 <= proto_idx < table.count:
            raise self._error(f"proto index {proto_idx} out of range ({table.count} protos)")
        _shorty, return_type, params_off = _PROTO_ID(self._data, table.offset + 12 * proto_idx)
        text = "(" + "".join(self._type_list(params_off)) + ")" + self.type_descriptor(return_type)
        self._proto_cache[proto_idx] = text
        return text

    def method_ref(self, method_idx: int) -> tuple[str, str, str]:
        """(class descriptor, name, proto descriptor) of method_ids[method_idx]."""
        table = self._methods_t
        if not 0 <= method_idx < table.count:
            raise self._error(f"method index {method_idx} out of range ({table.count} methods)")
        class_idx, proto_idx, name_idx = _FIELD_OR_METHOD_ID(self._data, table.offset + 8 * method_idx)
        return self.type_descriptor(class_idx), self.string(name_idx), self.proto_descriptor(proto_idx)

    def method_label(self, method_idx: int) -> str:
        """``Lcom/x/Y;->name(Ljava/lang/String;)V``, the form smali and dexdump print."""
        cls, name, proto = self.method_ref(method_idx)
        return f"{cls}->{name}{proto}"

    def field_ref(self, field_idx: int) -> tuple[str, str, str]:
        """(class descriptor, name, type descriptor) of field_ids[field_idx]."""
        table = self._fields_t
        if not 0 <= field_idx < table.count:
            raise self._error(f"field index {field_idx} out of range ({table.count} fields)")
        class_idx, type_idx, name_idx = _FIELD_OR_METHOD_ID(self._data, table.offset + 8 * field_idx)
        return self.type_descriptor(class_idx), self.string(name_idx), self.type_descriptor(type_idx)

    # -- classes ---------------------------------------------------------------------------

    def _class_def_rows(self) -> Iterator[tuple[int, ...]]:
        t = self._classes_t
        return _CLASS_DEF.iter_unpack(memoryview(self._data)[t.offset : t.offset + 32 * t.count])

    def classes(self) -> list[ClassDef]:
        """Every class_def, in file order (superclasses and interfaces come before subclasses).

        A class_def whose own type cannot be resolved is left out, and a broken superclass or
        interface list is read as absent; each such case is added to :attr:`warnings`, so one
        corrupt entry does not hide the other classes.
        """
        if self._classes is None:
            out = []
            for class_no, (class_idx, flags, super_idx, interfaces_off, *_rest) in enumerate(self._class_def_rows()):
                try:
                    descriptor = self.type_descriptor(class_idx)
                except FormatError as exc:
                    self.warnings.append(f"class_def {class_no} left out: {exc.message}")
                    continue
                superclass = None
                interfaces: tuple[str, ...] = ()
                try:
                    if super_idx != NO_INDEX:
                        superclass = self.type_descriptor(super_idx)
                    interfaces = tuple(self._type_list(interfaces_off))
                except FormatError as exc:
                    self.warnings.append(f"class_def {class_no} ({descriptor}): {exc.message}")
                out.append(ClassDef(descriptor, superclass, interfaces, flags))
            self._classes = out
        return list(self._classes)

    def method_refs(self) -> list[tuple[str, str, str]]:
        """(class descriptor, name, proto descriptor) of every method_id, in table order.

        The same as calling :meth:`method_ref` for each index, with the type and string lookups
        shared, for passes that key every method of every dex (a call graph over multidex).
        """
        if self._method_refs is None:
            self._method_refs = self._member_refs(self._methods_t, self.proto_descriptor)
        return list(self._method_refs)

    def field_refs(self) -> list[tuple[str, str, str]]:
        """(class descriptor, name, type descriptor) of every field_id, in table order (as :meth:`field_ref`)."""
        if self._field_refs is None:
            self._field_refs = self._member_refs(self._fields_t, self.type_descriptor)
        return list(self._field_refs)

    def _member_refs(self, t: _Table, third: Callable[[int], str]) -> list[tuple[str, str, str]]:
        types: dict[int, str] = {}
        out: list[tuple[str, str, str]] = []
        rows = _FIELD_OR_METHOD_ID_ROWS(memoryview(self._data)[t.offset : t.offset + 8 * t.count])
        string, type_descriptor = self.string, self.type_descriptor
        for class_idx, middle_idx, name_idx in rows:
            cls = types.get(class_idx)
            if cls is None:
                cls = types[class_idx] = type_descriptor(class_idx)
            out.append((cls, string(name_idx), third(middle_idx)))
        return out

    def code_offsets(self) -> dict[int, int]:
        """method_idx -> offset of its code_item, for every method with code (as :meth:`scan_code` reads them).

        Bad class_data is handled as by :meth:`scan_code` (left out); the result is cached.
        """
        if self._code_offsets is None:
            methods, offsets = _Scanner(self)._methods_with_code()
            self._code_offsets = dict(zip(methods, offsets, strict=True))
        return self._code_offsets

    def code_units(self, code_off: int) -> tuple[int, int, int]:
        """(registers_size, ins_size, number of 16-bit code units) of the code_item at ``code_off``.

        The instructions start at ``code_off + 16``; raises ``FormatError`` if they leave the file.
        """
        if code_off & 3 or code_off + 16 > self._end:
            raise self._error(f"code_item at 0x{code_off:x} is misaligned or outside the file")
        registers, ins = struct.unpack_from("<HH", self._data, code_off)
        (n_units,) = _U32(self._data, code_off + 12)
        if code_off + 16 + 2 * n_units > self._end:
            raise self._error(f"code_item at 0x{code_off:x} declares {n_units} code units, past the end of the file")
        return registers, ins, n_units

    @property
    def data(self) -> bytes:
        """The bytes of this dex (what offsets such as ``code_off`` refer to)."""
        return self._data

    def class_methods(self) -> list[tuple[str, array, array]]:
        """(class descriptor, method idxs, access flags) of the methods each class_def defines.

        Direct methods come before virtual ones, as encoded; abstract and native methods (no code)
        are included. A class_def whose type or class_data cannot be read is left out with a line
        in :attr:`warnings`, so one corrupt entry does not hide the others.
        """
        if self._class_methods is None:
            self._class_methods = self._read_class_methods()
        return list(self._class_methods)

    def _read_class_methods(self) -> list[tuple[str, array, array]]:
        data = self._data
        end = len(data)
        limit = self.method_count
        budget = end // 2  # each encoded member takes at least two bytes
        out: list[tuple[str, array, array]] = []
        for class_no, row in enumerate(self._class_def_rows()):
            p = row[6]
            if p == 0:
                continue
            try:
                descriptor = self.type_descriptor(row[0])
                counts = []
                for _ in range(4):
                    value, p = _read_uleb128(data, p, end)
                    counts.append(value)
                members = sum(counts)
                budget -= members
                if budget < 0 or 2 * members > end - p:
                    raise ValueError(f"declares {members} members, more than the file can hold")
                for _ in range(2 * (counts[0] + counts[1])):
                    _value, p = _read_uleb128(data, p, end)
                idxs, flags = array("I"), array("I")
                for count in (counts[2], counts[3]):
                    method_idx = 0
                    for _ in range(count):
                        # One-byte values are the common case; the helper handles the rest.
                        diff = data[p]
                        p += 1
                        if diff > 0x7F:
                            diff, p = _read_uleb128(data, p - 1, end)
                        access = data[p]
                        p += 1
                        if access > 0x7F:
                            access, p = _read_uleb128(data, p - 1, end)
                        b = data[p]  # code_off, not needed here
                        p += 1
                        if b > 0x7F:
                            _code, p = _read_uleb128(data, p - 1, end)
                        method_idx += diff
                        if method_idx >= limit:
                            raise ValueError(f"method index {method_idx} past the method table ({limit})")
                        if access > 0xFFFFFFFF:
                            raise ValueError(f"access flags 0x{access:x} do not fit in 32 bits")
                        idxs.append(method_idx)
                        flags.append(access)
            except IndexError:
                self.warnings.append(f"class_def {class_no}: methods not read: class_data runs past the end")
                continue
            except (ValueError, FormatError) as exc:
                reason = exc.message if isinstance(exc, FormatError) else str(exc)
                self.warnings.append(f"class_def {class_no}: methods not read: {reason}")
                continue
            out.append((descriptor, idxs, flags))
        return out

    # -- code ------------------------------------------------------------------------------

    def _method_name_for(self, method_idx: int) -> str:
        try:
            return f"method {method_idx} ({self.method_label(method_idx)})"
        except FormatError:
            return f"method {method_idx}"

    def scan_code(self) -> CodeRefs:
        """Walk every method body once and collect its invoke, field and string references.

        The result is computed on first call and shared by later calls. Work is bounded by the
        size of the file: code items shared by several methods are walked once, and the total
        walked is capped at twice the file size (no well-formed file comes close).
        """
        if self._code_refs is None:
            self._code_refs = _Scanner(self).run()
        return self._code_refs


class _Scanner:
    """The state of one scan_code() pass.

    Pass 1 reads every class_data_item into (method_idx, code_off) pairs; pass 2 walks the code.
    Both loops are written out inline, without helper calls per method, because on a large app
    they run a few hundred thousand times and call overhead would dominate.
    """

    def __init__(self, dex: DexFile) -> None:
        self.dex = dex
        self.refs = CodeRefs()
        self.skip_count = 0

    def skip(self, reason: str) -> None:
        self.skip_count += 1
        if len(self.refs.skipped) < _MAX_SKIPS_LISTED:
            self.refs.skipped.append(f"{self.dex.name}: {reason}")

    def run(self) -> CodeRefs:
        methods, code_offs = self._methods_with_code()
        self._walk_all(methods, code_offs)
        self._drop_out_of_range()
        listed = len(self.refs.skipped)
        if self.skip_count > listed:
            self.refs.skipped.append(f"{self.dex.name}: {self.skip_count - listed} more skips not listed")
        return self.refs

    def _methods_with_code(self) -> tuple[array, array]:
        """(method_idx, code_off) of every encoded method that has code, in class_def order."""
        dex = self.dex
        data = dex._data  # ends exactly at the end of the dex, so IndexError means "ran off the end"
        method_limit = dex.method_count
        # Each encoded member takes at least two bytes: more members than that is a lie, and
        # the cap also bounds the work when many class_defs share one class_data_item.
        member_budget = len(data) // 2
        methods, code_offs = array("I"), array("I")
        for class_no, row in enumerate(dex._class_def_rows()):
            p = row[6]
            if p == 0:
                continue
            class_methods: list[int] = []
            class_code: list[int] = []
            try:
                counts = []
                for _ in range(4):
                    b = data[p]
                    p += 1
                    if b > 0x7F:
                        b, p = _read_uleb128(data, p - 1, len(data))
                    counts.append(b)
                static_fields, instance_fields, direct_methods, virtual_methods = counts
                members = static_fields + instance_fields + direct_methods + virtual_methods
                member_budget -= members
                if member_budget < 0 or 2 * members > len(data) - p:
                    raise ValueError(f"declares {members} members, more than the file can hold")
                for _ in range(2 * (static_fields + instance_fields)):
                    b = data[p]
                    p += 1
                    if b > 0x7F:
                        b, p = _read_uleb128(data, p - 1, len(data))
                for count in (direct_methods, virtual_methods):
                    method_idx = 0
                    for _ in range(count):
                        diff = data[p]
                        p += 1
                        if diff > 0x7F:
                            diff, p = _read_uleb128(data, p - 1, len(data))
                        b = data[p]  # access_flags
                        p += 1
                        if b > 0x7F:
                            b, p = _read_uleb128(data, p - 1, len(data))
                        code_off = data[p]
                        p += 1
                        if code_off > 0x7F:
                            code_off, p = _read_uleb128(data, p - 1, len(data))
                        method_idx += diff
                        if code_off >= len(data):
                            # A 5-byte uleb128 reaches 2**35: an offset no file of this size holds.
                            raise ValueError(f"code offset 0x{code_off:x} past the end of the file")
                        if code_off:
                            class_methods.append(method_idx)
                            class_code.append(code_off)
            except IndexError:
                self.skip(f"class_def {class_no}: class_data at 0x{row[6]:x} runs past the end of the file")
                continue
            except ValueError as exc:
                self.skip(f"class_def {class_no}: class_data at 0x{row[6]:x}: {exc}")
                if member_budget < 0:
                    break
                continue
            if class_methods and max(class_methods) >= method_limit:
                bad = [m for m in class_methods if m >= method_limit]
                self.skip(
                    f"class_def {class_no}: {len(bad)} methods with index past the method table "
                    f"({bad[0]} >= {method_limit}) not read"
                )
                keep = [i for i, m in enumerate(class_methods) if m < method_limit]
                class_methods = [class_methods[i] for i in keep]
                class_code = [class_code[i] for i in keep]
            methods.extend(class_methods)
            code_offs.extend(class_code)
        return methods, code_offs

    def _walk_all(self, methods: array, code_offs: array) -> None:
        dex, refs = self.dex, self.refs
        data = dex._data
        size = len(data)
        findall = _CODE_PATTERN.findall
        u32 = _U32
        join = b"".join
        shared = len(set(code_offs)) < len(code_offs)
        done: dict[int, tuple[int, int, int, int, int, int, str | None]] = {}
        # Every distinct code item is walked once; overlapping items could still add up to more
        # than the file, so the total is capped at twice its size.
        budget = 2 * size
        invoke_callee16, field_ref16 = array("H"), array("H")
        invoke_caller, field_caller = refs.invoke_caller, refs.field_caller
        string_ref, string_caller = refs.string_ref, refs.string_caller
        walked = units_total = 0
        for method_idx, code_off in zip(methods, code_offs, strict=True):
            if shared:
                seen = done.get(code_off)
                if seen is not None:
                    i0, i1, f0, f1, s0, s1, stopped = seen
                    invoke_callee16.extend(invoke_callee16[i0:i1])
                    invoke_caller.extend(repeat(method_idx, i1 - i0))
                    field_ref16.extend(field_ref16[f0:f1])
                    field_caller.extend(repeat(method_idx, f1 - f0))
                    string_ref.extend(string_ref[s0:s1])
                    string_caller.extend(repeat(method_idx, s1 - s0))
                    if stopped is None:
                        walked += 1
                    else:
                        self.skip(f"{dex._method_name_for(method_idx)}: {stopped}")
                    continue
                marks = (len(invoke_callee16), len(field_ref16), len(string_ref))
            start = code_off + _CODE_ITEM_HEADER
            if code_off & 3 or start > size:
                self.skip(
                    f"{dex._method_name_for(method_idx)}: code_item at 0x{code_off:x} is "
                    + ("not 4-byte aligned" if code_off & 3 else "outside the file")
                )
                continue
            (n_units,) = u32(data, code_off + 12)
            stop = start + 2 * n_units
            if stop > size:
                self.skip(
                    f"{dex._method_name_for(method_idx)}: code_item at 0x{code_off:x} declares {n_units} "
                    "code units, past the end of the file"
                )
                continue
            budget -= 2 * n_units
            if budget < 0:
                self.skip(f"{dex._method_name_for(method_idx)}: code walk limit reached (overlapping code items)")
                continue
            units_total += n_units
            stopped = None
            rows = findall(data, start, stop)
            # The last row is always the empty match at the end; a stray unit can only be the one before.
            if len(rows) > 1 and rows[-2][4]:
                found_invokes, found_fields, strings, stopped = _walk_code_raw(data, start, n_units, rows)
                if found_invokes:
                    invoke_callee16.frombytes(found_invokes)
                    invoke_caller.extend(repeat(method_idx, len(found_invokes) >> 1))
                if found_fields:
                    field_ref16.frombytes(found_fields)
                    field_caller.extend(repeat(method_idx, len(found_fields) >> 1))
                if strings:
                    string_ref.extend(strings)
                    string_caller.extend(repeat(method_idx, len(strings)))
                if stopped is not None:
                    self.skip(f"{dex._method_name_for(method_idx)}: {stopped}")
            else:
                invoke_col, field_col, string_col, jumbo_col, _ = zip(*rows, strict=False)
                found = join(invoke_col)
                if found:
                    invoke_callee16.frombytes(found)
                    invoke_caller.extend(repeat(method_idx, len(found) >> 1))
                found = join(field_col)
                if found:
                    field_ref16.frombytes(found)
                    field_caller.extend(repeat(method_idx, len(found) >> 1))
                if any(jumbo_col):
                    strings = _strings_of(string_col, jumbo_col)
                    string_ref.extend(strings)
                    string_caller.extend(repeat(method_idx, len(strings)))
                else:
                    found = join(string_col)
                    if found:
                        string_ref.extend(_u16_values(found))
                        string_caller.extend(repeat(method_idx, len(found) >> 1))
            if stopped is None:
                walked += 1
            if shared:
                done[code_off] = (
                    marks[0],
                    len(invoke_callee16),
                    marks[1],
                    len(field_ref16),
                    marks[2],
                    len(string_ref),
                    stopped,
                )
        if not _LITTLE_ENDIAN_HOST:
            invoke_callee16.byteswap()
            field_ref16.byteswap()
        refs.invoke_callee = array("I", invoke_callee16)
        refs.field_ref = array("I", field_ref16)
        refs.methods_walked = walked
        refs.code_units = units_total

    def _drop_out_of_range(self) -> None:
        """Remove references to indexes past their table, each recorded as a skip."""
        dex, refs = self.dex, self.refs
        for kind, callers, targets, limit in (
            ("method", refs.invoke_caller, refs.invoke_callee, dex.method_count),
            ("field", refs.field_caller, refs.field_ref, dex.field_count),
            ("string", refs.string_caller, refs.string_ref, dex.string_count),
        ):
            if not targets or max(targets) < limit:
                continue
            keep_callers, keep_targets = array("I"), array("I")
            first_bad: dict[int, int] = {}
            for caller, target in zip(callers, targets, strict=True):
                if target < limit:
                    keep_callers.append(caller)
                    keep_targets.append(target)
                else:
                    first_bad.setdefault(caller, target)
            for caller, target in first_bad.items():
                self.skip(
                    f"{dex._method_name_for(caller)}: refers to {kind} index {target}, past the {kind} table "
                    f"({limit}); such references dropped"
                )
            callers[:] = keep_callers
            targets[:] = keep_targets


# ---------------------------------------------------------------------------------------------
# Parsing entry points
# ---------------------------------------------------------------------------------------------


def _check_table(name: str, file: str, count: int, offset: int, item_size: int, end: int) -> _Table:
    if count == 0:
        return _Table(0, 0)
    if offset < _HEADER_SIZE or offset + count * item_size > end:
        raise FormatError(
            f"{name} table ({count} entries at 0x{offset:x}) lies outside the file ({end} bytes)", file=file
        )
    return _Table(count, offset)


def parse_dex(
    data: bytes | bytearray | memoryview,
    name: str,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    header_offset: int = 0,
) -> DexFile:
    """Validate a DEX header and its tables and return a :class:`DexFile` over ``data``.

    ``name`` is how errors and skips refer to the file (``classes2.dex``). ``header_offset``
    selects a dex inside a version 041 container (see :func:`parse_dex_container`); offsets in
    a container are relative to the start of the whole buffer.
    Raises ``FormatError`` for anything that makes the file unreadable and ``LimitExceeded`` when
    it is larger than ``max_size``.
    """
    if len(data) > max_size:
        raise LimitExceeded(f"DEX is {len(data)} bytes, more than the {max_size}-byte limit", file=name)
    buf = data if isinstance(data, bytes) else bytes(data)
    warnings: list[str] = []
    if header_offset < 0 or header_offset + _HEADER_SIZE > len(buf):
        raise FormatError(f"truncated: {len(buf)} bytes cannot hold a DEX header", file=name)
    fields = _HEADER.unpack_from(buf, header_offset)
    magic: bytes = fields[0]
    (
        file_size,
        header_size,
        endian_tag,
        _link_size,
        _link_off,
        map_off,
        strings_n,
        strings_off,
        types_n,
        types_off,
        protos_n,
        protos_off,
        fields_n,
        fields_off,
        methods_n,
        methods_off,
        classes_n,
        classes_off,
        data_size,
        data_off,
    ) = fields[3:]
    if magic[:4] != b"dex\n" or magic[7] != 0 or not magic[4:7].isdigit():
        raise FormatError(f"not a DEX file (magic {magic!r})", file=name)
    version = magic[4:7].decode("ascii")
    if endian_tag == _REVERSE_ENDIAN_CONSTANT:
        raise FormatError("big-endian DEX (endian tag 0x78563412) is not supported", file=name)
    if endian_tag != _ENDIAN_CONSTANT:
        raise FormatError(f"bad endian tag 0x{endian_tag:08x}", file=name)
    if version not in KNOWN_VERSIONS:
        warnings.append(f"unknown DEX version {version}; read as the nearest known layout")
    if version == "041" and header_size < _HEADER_SIZE_V41:
        raise FormatError(f"DEX 041 header of {header_size} bytes is too short", file=name)
    # Versions after 041 are assumed to keep the container fields whenever the header has room.
    container = version >= "041" and header_size >= _HEADER_SIZE_V41
    if container:
        if header_offset + _HEADER_SIZE_V41 > len(buf):
            raise FormatError("truncated: the buffer cannot hold a DEX 041 header", file=name)
        container_size, declared_offset = struct.unpack_from("<II", buf, header_offset + _HEADER_SIZE)
        if declared_offset != header_offset:
            raise FormatError(
                f"header says it starts at 0x{declared_offset:x}, found at 0x{header_offset:x}", file=name
            )
        if container_size > len(buf):
            raise FormatError(f"truncated: container is {container_size} bytes, have {len(buf)}", file=name)
        if header_offset + file_size > container_size:
            raise FormatError(
                f"dex at 0x{header_offset:x} of {file_size} bytes runs past the container ({container_size})",
                file=name,
            )
        end = container_size
    else:
        if file_size > len(buf):
            raise FormatError(f"truncated: header says {file_size} bytes, have {len(buf)}", file=name)
        if file_size < len(buf):
            warnings.append(f"{len(buf) - file_size} bytes after the declared end of the file were ignored")
        end = file_size
    if header_size < _HEADER_SIZE or header_size > file_size:
        raise FormatError(f"bad header_size {header_size}", file=name)
    if not container and header_size != _HEADER_SIZE:
        warnings.append(f"header_size is {header_size}, expected {_HEADER_SIZE}")
    tables = {
        "string_ids": _check_table("string_ids", name, strings_n, strings_off, 4, end),
        "type_ids": _check_table("type_ids", name, types_n, types_off, 4, end),
        "proto_ids": _check_table("proto_ids", name, protos_n, protos_off, 12, end),
        "field_ids": _check_table("field_ids", name, fields_n, fields_off, 8, end),
        "method_ids": _check_table("method_ids", name, methods_n, methods_off, 8, end),
        "class_defs": _check_table("class_defs", name, classes_n, classes_off, 32, end),
    }
    # The map and the data section are not needed to read the tables, but a file whose header
    # misplaces them was not written by a dexer, which is worth telling a reviewer.
    if not _HEADER_SIZE <= map_off <= end - 4:
        warnings.append(f"map_off 0x{map_off:x} is outside the file")
    if not container and data_off + data_size > end:
        warnings.append(f"data section (0x{data_off:x} + {data_size}) runs past the end of the file")
    if not container:
        # Cheap in C, and a mismatch is worth telling a reviewer about: the file was altered.
        (checksum,) = _U32(buf, 8)
        if zlib.adler32(memoryview(buf)[12:end]) != checksum:
            warnings.append("adler32 checksum does not match the file")
    return DexFile(buf, name, version, end, tables, warnings)


def parse_dex_container(
    data: bytes | bytearray | memoryview, name: str, *, max_size: int = DEFAULT_MAX_SIZE
) -> list[DexFile]:
    """Every dex in ``data``: one for versions up to 040, one per header in a 041 container."""
    buf = data if isinstance(data, bytes) else bytes(data)
    first = parse_dex(buf, name, max_size=max_size)
    if first.version < "041":
        return [first]
    out = [first]
    buf = first._data  # trimmed to the container once, so the dex files below share it
    offset = _U32(buf, 32)[0]
    container_size = first._end
    while offset < container_size:
        if len(out) >= 4096:
            raise FormatError("more than 4096 dex headers in one container", file=name)
        dex = parse_dex(buf, f"{name}@0x{offset:x}", max_size=max_size, header_offset=offset)
        out.append(dex)
        (size,) = _U32(buf, offset + 32)
        if size == 0:
            raise FormatError(f"dex header at 0x{offset:x} has file_size 0", file=name)
        offset += size
    return out
