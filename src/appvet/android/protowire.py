"""Protocol Buffers wire format, read without generated code.

An Android App Bundle keeps its manifest and resource table as aapt2's protobuf messages
(``Resources.proto``). appvet needs a handful of fields from them, so a reader of the wire format
itself (varints, fixed 32/64-bit words, length-delimited fields; groups are refused) is enough,
and it keeps the ``protobuf`` runtime and its generated classes out of the dependencies. Every
length and offset is checked against the buffer: malformed input raises ``FormatError``.
"""

from __future__ import annotations

from collections.abc import Iterator

from appvet.errors import FormatError

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
MAX_DEPTH = 64
"""Deepest message nesting followed (an XML tree of a manifest is a few levels deep)."""

Field = tuple[int, int, "int | memoryview"]


def read_varint(data: memoryview, pos: int, name: str) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise FormatError("protobuf varint runs past the end of the data", file=name)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
    raise FormatError("protobuf varint longer than 10 bytes", file=name)


def fields(data: bytes | memoryview, name: str) -> Iterator[Field]:
    """``(field number, wire type, value)`` of each field of one message, in order.

    The value is an ``int`` for varint and fixed-width fields and a ``memoryview`` for
    length-delimited ones (strings, bytes, nested messages)."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        key, pos = read_varint(view, pos, name)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise FormatError("protobuf field number 0", file=name)
        if wire == VARINT:
            value, pos = read_varint(view, pos, name)
            yield number, wire, value
        elif wire == LEN:
            size, pos = read_varint(view, pos, name)
            if size > end - pos:
                raise FormatError(f"protobuf field {number} declares {size} bytes, past the end", file=name)
            yield number, wire, view[pos : pos + size]
            pos += size
        elif wire in (FIXED32, FIXED64):
            width = 4 if wire == FIXED32 else 8
            if pos + width > end:
                raise FormatError(f"protobuf field {number} runs past the end", file=name)
            yield number, wire, int.from_bytes(view[pos : pos + width], "little")
            pos += width
        else:
            raise FormatError(f"protobuf wire type {wire} (field {number}) is not supported", file=name)


def text(value: int | memoryview, name: str) -> str:
    """A ``string`` field: UTF-8, with undecodable bytes replaced (as Android's own reader does)."""
    if not isinstance(value, memoryview):
        raise FormatError("protobuf string field has a numeric wire type", file=name)
    return bytes(value).decode("utf-8", errors="replace")


def message(value: int | memoryview, name: str) -> memoryview:
    if not isinstance(value, memoryview):
        raise FormatError("protobuf message field has a numeric wire type", file=name)
    return value


def number(value: int | memoryview, name: str) -> int:
    if isinstance(value, memoryview):
        raise FormatError("protobuf numeric field is length-delimited", file=name)
    return value


def varint(value: int) -> bytes:
    """``value`` as a protobuf varint (the inverse of ``read_varint``)."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
