"""Resource table reader: aapt2-built tables (dense and sparse), hand-made layouts, fuzzing."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android.arsc import ResourceTable, parse_arsc
from appvet.errors import FormatError
from tests.android.data.axml import writers as w

DATA = Path(__file__).parent / "data" / "axml"



DENSE = (DATA / "resources.arsc").read_bytes()
SPARSE = (DATA / "resources-sparse.arsc").read_bytes()

EXPECTED = {
    0x7F010000: ("array/hosts", None),  # a string-array: complex, not a string
    0x7F020000: ("bool/is_debug", "true"),
    0x7F030000: ("integer/gms_version", "12451000"),
    0x7F040000: ("string/app_name", "Appvet Fixture"),
    0x7F040001: ("string/channel", "huawei_store"),
    0x7F040002: ("string/channel_alias", "huawei_store"),  # @string/channel, followed
    0x7F040003: ("string/endpoint", "https://api.fixture.example.cn/v1/collect"),
    0x7F040004: ("string/land_only", "Paysage seulement"),  # only in values-land
    0x7F050000: ("xml/network_security_config", "res/xml/network_security_config.xml"),
    0x7F040005: (None, None),
    0x7F060000: (None, None),
    0x7E040000: (None, None),
}


def type_flags(data: bytes) -> list[tuple[int, int, bool]]:
    """(type id, flags, default config) of each type chunk, by an independent chunk walk."""
    found = []
    table_header = struct.unpack_from("<H", data, 2)[0]
    pos = table_header
    while pos < len(data):
        ctype, hs, size = struct.unpack_from("<HHI", data, pos)
        if ctype == 0x0200:
            inner = pos + hs
            while inner < pos + size:
                itype, _ihs, isize = struct.unpack_from("<HHI", data, inner)
                if itype == 0x0201:
                    type_id, flags = data[inner + 8], data[inner + 9]
                    config_size = struct.unpack_from("<I", data, inner + 20)[0]
                    default = not any(data[inner + 24 : inner + 20 + config_size])
                    found.append((type_id, flags, default))
                inner += isize
        pos += size
    return found


@pytest.mark.parametrize("data", [DENSE, SPARSE], ids=["dense", "sparse"])
def test_fixture_values(data: bytes) -> None:
    table = parse_arsc(data)
    assert table.package_names == ("org.appvet.fixture",)
    for ref, (name, value) in EXPECTED.items():
        assert (table.name(ref), table.resolve(ref)) == (name, value), hex(ref)


def test_fixture_layouts_differ_as_intended() -> None:
    # Both configurations other than the default are sparse in one table and dense in the other.
    assert type_flags(DENSE) == [(1, 0, True), (2, 0, True), (3, 0, True), (4, 0, True), (4, 0, False),
                                 (4, 0, False), (5, 0, True)]  # fmt: skip
    assert type_flags(SPARSE) == [(1, 0, True), (2, 0, True), (3, 0, True), (4, 0, True), (4, 1, False),
                                  (4, 1, False), (5, 0, True)]  # fmt: skip


def test_fixture_strings() -> None:
    assert list(parse_arsc(DENSE).strings()) == [
        "Appvet Fixture",
        "https://api.fixture.example.cn/v1/collect",
        "huawei_store",
        "res/xml/network_security_config.xml",
        "tracker.fixture.example.com",
        "Paysage seulement",
        "Appareil de test",
    ]


def test_raw_value() -> None:
    table = parse_arsc(DENSE)
    assert table.value(0x7F040002) == (0x01, 0x7F040001)
    assert table.value(0x7F030000) == (0x10, 12451000)
    assert table.value(0x7F010000) is None


# ---- hand-made layouts ---------------------------------------------------------------------

STRINGS = ["default", "french", "long ☃ value"]
FR = b"\0\0\0\0" + b"fr\0\0"  # mcc/mnc, then language "fr"


@pytest.mark.parametrize(
    "options",
    [{}, {"offset16": True}, {"sparse": True}, {"compact": True}, {"offset16": True, "compact": True}],
    ids=["dense", "offset16", "sparse", "compact", "offset16+compact"],
)
def test_entry_encodings(options: dict[str, bool]) -> None:
    entries = [(0x03, 0), None, (0x03, 2), (0x10, 7), None, (0x12, 0)]
    data = w.table(STRINGS, [w.TypeChunk(1, entries, **options)], utf8=False)
    table = parse_arsc(data)
    got = [table.resolve(0x7F010000 + i) for i in range(len(entries) + 2)]
    assert got == ["default", None, "long ☃ value", "7", None, "false", None, None]
    assert table.name(0x7F010002) == "string/k2"
    assert table.name(0x7F010001) is None


def test_default_config_is_preferred_whatever_the_order() -> None:
    french_first = w.TypeChunk(1, [(0x03, 1), (0x03, 1)], config=FR)
    default = w.TypeChunk(1, [(0x03, 0), None])
    table = parse_arsc(w.table(STRINGS, [french_first, default]))
    assert table.resolve(0x7F010000) == "default"
    assert table.resolve(0x7F010001) == "french"  # no default: first configuration with it


def test_reference_loops_and_chains() -> None:
    loop = w.TypeChunk(1, [(0x01, 0x7F010001), (0x01, 0x7F010000), (0x01, 0x7F010003), (0x03, 2)])
    table = parse_arsc(w.table(STRINGS, [loop]))
    assert table.resolve(0x7F010000) is None
    assert table.resolve(0x7F010002) == "long ☃ value"
    chain = [(0x01, 0x7F010000 + i + 1) for i in range(40)] + [(0x03, 0)]
    deep = parse_arsc(w.table(STRINGS, [w.TypeChunk(1, chain)]))
    assert deep.resolve(0x7F010028) == "default"
    assert deep.resolve(0x7F010000) is None  # longer than MAX_REFERENCE_HOPS


def test_complex_entries_and_null() -> None:
    table = parse_arsc(w.table(STRINGS, [w.TypeChunk(1, ["complex", (0x01, 0), (0x00, 0)])]))
    assert [table.resolve(0x7F010000 + i) for i in range(3)] == [None, None, None]


def test_shared_library_package_id_zero() -> None:
    table = parse_arsc(w.table(STRINGS, [w.TypeChunk(1, [(0x03, 1)])], package_id=0))
    assert table.resolve(0x7F010000) == "french"


def test_unknown_chunks_inside_a_package_are_skipped() -> None:
    data = bytearray(w.table(STRINGS, [w.TypeChunk(1, [(0x03, 0)])]))
    # Append a library chunk (0x0203) to the package and grow both enclosing sizes.
    extra = w.chunk(0x0203, struct.pack("<I", 0), b"")
    package_at = data.find(struct.pack("<HH", 0x0200, 288))
    struct.pack_into("<I", data, package_at + 4, struct.unpack_from("<I", data, package_at + 4)[0] + len(extra))
    data += extra
    struct.pack_into("<I", data, 4, len(data))
    assert parse_arsc(bytes(data)).resolve(0x7F010000) == "default"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d[:8], "too short"),
        (lambda d: struct.pack("<H", 3) + d[2:], "not a resource table"),
        (lambda d: d[:2] + struct.pack("<H", 4) + d[4:], "bad resource table header"),
        (lambda d: d[:16] + struct.pack("<I", 0xFFFFFF) + d[20:], "bad sizes"),
    ],
)
def test_malformed_tables(mutate: object, message: str) -> None:
    data = w.table(STRINGS, [w.TypeChunk(1, [(0x03, 0)])])
    with pytest.raises(FormatError, match=message) as info:
        parse_arsc(mutate(data), "resources.arsc")  # type: ignore[operator]
    assert info.value.file == "resources.arsc"


def test_entry_count_beyond_the_chunk_is_refused() -> None:
    data = bytearray(w.table(STRINGS, [w.TypeChunk(1, [(0x03, 0)])]))
    at = data.find(struct.pack("<HH", 0x0201, 24))
    struct.pack_into("<I", data, at + 12, 0x40000000)
    with pytest.raises(FormatError, match="claims 1073741824 entries"):
        parse_arsc(bytes(data))


def test_entry_offsets_past_the_chunk_resolve_to_nothing() -> None:
    data = bytearray(w.table(STRINGS, [w.TypeChunk(1, [(0x03, 0), (0x03, 1)])]))
    at = data.find(struct.pack("<HH", 0x0201, 24))
    struct.pack_into("<I", data, at + 24 + 4, 0x7FFFFFF0)  # second entry's offset
    table = parse_arsc(bytes(data))
    assert (table.resolve(0x7F010000), table.resolve(0x7F010001)) == ("default", None)


# ---- fuzzing -------------------------------------------------------------------------------


def _exercise(data: bytes) -> None:
    start = time.perf_counter()
    try:
        table = parse_arsc(data)
    except FormatError as error:
        assert error.file == "resources.arsc"
        return
    assert isinstance(table, ResourceTable)
    for ref in list(EXPECTED) + [0x7F010000 + i for i in range(8)]:
        table.resolve(ref)
        table.name(ref)
    try:
        for _ in table.strings():
            pass
    except FormatError:
        pass
    assert time.perf_counter() - start < 2.0


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CRAFTED = w.table(STRINGS, [w.TypeChunk(1, [(0x03, 0), None, (0x03, 2)], sparse=True),
                            w.TypeChunk(1, [(0x03, 1)], config=FR, offset16=True, compact=True)])  # fmt: skip


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _exercise(data)
    _exercise(struct.pack("<HHII", 2, 12, 12 + len(data), 1) + data)


@FUZZ
@given(
    st.sampled_from([DENSE, SPARSE, CRAFTED]),
    st.lists(st.tuples(st.integers(0, len(DENSE)), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_mutated_tables(base: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(base)
    for pos, value in flips:
        data[pos % len(data)] = value
    _exercise(bytes(data))


@FUZZ
@given(st.sampled_from([DENSE, SPARSE, CRAFTED]), st.integers(0, len(DENSE)))
def test_truncated_tables(base: bytes, cut: int) -> None:
    _exercise(base[: cut % (len(base) + 1)])
