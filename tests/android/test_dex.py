"""The DEX reader against DEX files built by smali and disassembled by dexdump.

``data/dex/sample.dex`` is assembled from ``data/dex/sample_smali`` by ``data/dex/build.sh``,
which also stores ``dexdump -d`` of it in ``sample.dexdump.txt``; the facts asserted below were
read off that disassembly, and one test compares every reference site with it.

Run this file directly to measure the reader (it is not a timed test)::

    .venv/bin/python tests/android/test_dex.py bench --methods 20000
    .venv/bin/python tests/android/test_dex.py check some.dex [more.dex ...]

``bench`` generates a smali tree, assembles it with smali, times ``parse_dex`` + ``scan_code``
and checks every method's references against ``dexdump -d``; ``check`` does the same for
existing DEX files.
"""

from __future__ import annotations

import argparse
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from appvet.android.dex import (
    WIDTHS,
    ClassDef,
    DexFile,
    _decode_mutf8,
    parse_dex,
    parse_dex_container,
    walk_code,
    walk_code_exact,
)
from appvet.errors import FormatError, LimitExceeded

DATA = Path(__file__).parent / "data" / "dex"
SAMPLE = DATA / "sample.dex"

MAIN = "Lcom/example/sample/Main;"
AGENT = "Lcom/umeng/analytics/MobclickAgent;"


@pytest.fixture(scope="module")
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="module")
def sample(sample_bytes: bytes) -> DexFile:
    return parse_dex(sample_bytes, "classes.dex")


def sites(dex: DexFile) -> dict[str, list[tuple[str, str]]]:
    """Every reference site as (caller label, target text), by kind, in scan order."""
    refs = dex.scan_code()
    label, field, string = dex.method_label, dex.field_ref, dex.string
    return {
        "invoke": [(label(a), label(b)) for a, b in zip(refs.invoke_caller, refs.invoke_callee, strict=True)],
        "field": [(label(a), "->".join(field(b)[:2])) for a, b in zip(refs.field_caller, refs.field_ref, strict=True)],
        "string": [(label(a), string(b)) for a, b in zip(refs.string_caller, refs.string_ref, strict=True)],
    }


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def test_header_and_counts(sample: DexFile) -> None:
    assert sample.name == "classes.dex"
    assert sample.version == "038"
    assert sample.warnings == []
    assert (sample.string_count, sample.type_count, sample.method_count, sample.field_count) == (67, 23, 29, 4)


def test_classes(sample: DexFile) -> None:
    assert sample.classes() == [
        ClassDef("Lcom/example/sample/Base;", "Ljava/lang/Object;", (), 0x0401),
        ClassDef("Lcom/example/sample/Tracker;", "Ljava/lang/Object;", (), 0x0601),
        ClassDef(MAIN, "Landroid/app/Activity;", ("Ljava/lang/Runnable;", "Lcom/example/sample/Tracker;"), 0x0001),
        ClassDef(AGENT, "Ljava/lang/Object;", (), 0x0011),
    ]


def test_classes_survive_a_broken_class_def(sample_bytes: bytes) -> None:
    (class_defs_off,) = struct.unpack_from("<I", sample_bytes, 0x64)
    data = patched(sample_bytes, class_defs_off, struct.pack("<I", 0xFFFF))  # class_idx of Base
    data = patched(data, class_defs_off + 32 + 8, struct.pack("<I", 0xFFF0))  # superclass of Tracker
    dex = parse_dex(data, "classes.dex")
    assert [c.descriptor for c in dex.classes()] == ["Lcom/example/sample/Tracker;", MAIN, AGENT]
    assert dex.classes()[0].superclass is None
    assert dex.warnings == [
        "adler32 checksum does not match the file",
        "class_def 0 left out: type index 65535 out of range (23 types)",
        "class_def 1 (Lcom/example/sample/Tracker;): type index 65520 out of range (23 types)",
    ]


def test_method_and_field_refs(sample: DexFile) -> None:
    # Indexes as dexdump prints them (method@0015, method@001a, field@0002).
    assert sample.method_ref(0x15) == (AGENT, "onEvent5", "(Ljava/lang/String;Ljava/lang/Object;III)V")
    assert sample.method_label(0x1A) == (
        "Ljava/lang/invoke/MethodHandle;->invokeExact([Ljava/lang/Object;)Ljava/lang/Object;"
    )
    assert sample.method_label(0x04) == "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
    assert sample.field_ref(0x02) == (MAIN, "count", "I")
    assert sample.type_descriptor(0) == "I"


def test_strings_decode_mutf8(sample: DexFile) -> None:
    texts = list(sample.strings())
    assert len(texts) == sample.string_count
    assert texts == [sample.string(i) for i in range(sample.string_count)]
    # Supplementary characters are stored as surrogate pairs and NUL as C0 80 (MUTF-8).
    assert sample.string(0x02) == "Grüße 中文 😀"
    assert sample.string(0x37) == "nul\x00inside"
    assert sample.string(0x33) == "jumbo string"
    assert "https://alog.umeng.com/app_logs" in texts


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.string(67),
        lambda d: d.string(-1),
        lambda d: d.type_descriptor(23),
        lambda d: d.method_ref(29),
        lambda d: d.method_label(1 << 20),
        lambda d: d.field_ref(4),
    ],
)
def test_index_out_of_range_is_format_error(sample: DexFile, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as err:
        call(sample)
    assert err.value.file == "classes.dex"
    assert "out of range" in err.value.message


def mutf8(text: str) -> bytes:
    """Java's modified UTF-8, written out from its definition."""
    out = bytearray()
    for unit in struct.unpack(
        f"<{len(text.encode('utf-16-le', 'surrogatepass')) // 2}H", text.encode("utf-16-le", "surrogatepass")
    ):
        if 0 < unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes([0xC0 | unit >> 6, 0x80 | unit & 0x3F])
        else:
            out += bytes([0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F])
    return bytes(out)


@given(st.text())
def test_mutf8_round_trip(text: str) -> None:
    assume(not any(0xD800 <= ord(c) <= 0xDFFF for c in text))
    assert _decode_mutf8(mutf8(text)) == text


@given(st.binary(max_size=64))
def test_mutf8_never_fails(raw: bytes) -> None:
    text = _decode_mutf8(raw)
    text.encode("utf-8")  # no lone surrogates left behind
    if raw.isascii():
        assert text == raw.decode("ascii")


# ---------------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------------

EXPECTED_INVOKES = [
    ("Lcom/example/sample/Base;-><init>()V", "Ljava/lang/Object;-><init>()V"),
    (f"{MAIN}-><init>()V", "Landroid/app/Activity;-><init>()V"),
    (f"{MAIN}->choose(I)Ljava/lang/String;", "Landroid/util/Log;->isLoggable(Ljava/lang/String;I)Z"),
    (
        f"{MAIN}->handle(Ljava/lang/invoke/MethodHandle;)V",
        "Ljava/lang/invoke/MethodHandle;->invokeExact([Ljava/lang/Object;)Ljava/lang/Object;",
    ),
    (f"{MAIN}->jumbo()Ljava/lang/String;", "Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;"),
    (f"{MAIN}->table()[I", f"{AGENT}->flush()V"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", "Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", "Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", f"{AGENT}->onEvent5(Ljava/lang/String;Ljava/lang/Object;III)V"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", f"{MAIN}->run()V"),
    (f"{MAIN}->run()V", "Ljava/util/ArrayList;-><init>()V"),
    (f"{MAIN}->run()V", "Ljava/util/List;->size()I"),
    (f"{MAIN}->run()V", f"{AGENT}->onEvent(Landroid/content/Context;Ljava/lang/String;)V"),
    (f"{MAIN}->track(Ljava/lang/String;)V", f"{MAIN}->run()V"),
    (
        f"{AGENT}->onEvent(Landroid/content/Context;Ljava/lang/String;)V",
        "Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;",
    ),
    (
        f"{AGENT}->onEvent(Landroid/content/Context;Ljava/lang/String;)V",
        "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
    ),
    (
        f"{AGENT}->onEvent5(Ljava/lang/String;Ljava/lang/Object;III)V",
        f"{AGENT}->send(Ljava/lang/String;Ljava/lang/Object;)V",
    ),
    (f"{AGENT}->send(Ljava/lang/String;Ljava/lang/Object;)V", f"{AGENT}->post(Ljava/lang/String;Ljava/lang/String;)V"),
]

EXPECTED_FIELDS = [
    (f"{MAIN}-><clinit>()V", f"{MAIN}->TAG"),
    (f"{MAIN}->choose(I)Ljava/lang/String;", f"{MAIN}->TAG"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", f"{MAIN}->count"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", f"{MAIN}->count"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", f"{MAIN}->TAG"),
    (f"{MAIN}->run()V", f"{MAIN}->name"),
]

EXPECTED_STRINGS = [
    (f"{MAIN}-><clinit>()V", "appvet-sample"),
    (f"{MAIN}->choose(I)Ljava/lang/String;", "none"),
    (f"{MAIN}->choose(I)Ljava/lang/String;", "alpha"),
    (f"{MAIN}->handle(Ljava/lang/invoke/MethodHandle;)V", "nul\x00inside"),
    (f"{MAIN}->jumbo()Ljava/lang/String;", "jumbo string"),
    (f"{MAIN}->jumbo()Ljava/lang/String;", "Grüße 中文 😀"),
    (f"{MAIN}->onCreate(Landroid/os/Bundle;)V", "https://api.example.com/v1/collect"),
    (f"{AGENT}->onEvent(Landroid/content/Context;Ljava/lang/String;)V", "phone"),
    (f"{AGENT}->send(Ljava/lang/String;Ljava/lang/Object;)V", "https://alog.umeng.com/app_logs"),
]


def test_scan_code_sites(sample: DexFile) -> None:
    found = sites(sample)
    # Includes invoke-super/direct/static/interface/virtual, invoke-static/range and
    # invoke-polymorphic; references placed after switch and array payloads; a jumbo string.
    assert found["invoke"] == EXPECTED_INVOKES
    assert found["field"] == EXPECTED_FIELDS
    assert found["string"] == EXPECTED_STRINGS
    refs = sample.scan_code()
    assert refs.skipped == []
    # 17 methods, of which abstract describe/track and native nativeHash/post have no code.
    assert refs.methods_walked == 14
    assert refs.code_units == 169
    assert sample.scan_code() is refs


def test_scan_code_matches_dexdump(sample: DexFile) -> None:
    truth = dexdump_sites((DATA / "sample.dexdump.txt").read_text(encoding="utf-8", errors="replace"))
    assert len(truth) == sample.scan_code().methods_walked
    with_refs = {label: kinds for label, kinds in truth.items() if any(kinds.values())}
    assert our_sites(sample) == with_refs
    assert sum(len(v["invoke"]) for v in truth.values()) == len(EXPECTED_INVOKES)


def test_version_035_and_unknown_version(sample_bytes: bytes) -> None:
    v035 = parse_dex(sample_bytes[:4] + b"035" + sample_bytes[7:], "classes.dex")
    assert v035.version == "035"
    assert sites(v035)["invoke"] == EXPECTED_INVOKES
    assert v035.warnings == []  # the checksum does not cover the magic
    v099 = parse_dex(sample_bytes[:4] + b"099" + sample_bytes[7:], "classes.dex")
    assert v099.version == "099"
    assert any("unknown DEX version 099" in w for w in v099.warnings)
    assert len(sites(v099)["invoke"]) == len(EXPECTED_INVOKES)


# -- broken code: the walk of one method stops, the rest of the file is still read ----------

TRACK = f"{MAIN}->track(Ljava/lang/String;)V"
# invoke-virtual {v0}, Main->run()V (method@000f); return-void: the whole body of track().
TRACK_CODE = bytes.fromhex("6e100f0000000e00")


def patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def track_insns(data: bytes) -> int:
    assert data.count(TRACK_CODE) == 1
    return data.index(TRACK_CODE)


def test_unused_opcode_stops_one_method(sample_bytes: bytes) -> None:
    data = patched(sample_bytes, track_insns(sample_bytes), b"\x3e")
    dex = parse_dex(data, "classes.dex")
    found = sites(dex)
    assert found["invoke"] == [s for s in EXPECTED_INVOKES if s[0] != TRACK]
    assert found["string"] == EXPECTED_STRINGS
    assert dex.scan_code().skipped == [f"classes.dex: method 17 ({TRACK}): unused opcode 0x3e at code unit 0"]
    assert dex.scan_code().methods_walked == 13


def test_instruction_cut_by_insns_size(sample_bytes: bytes) -> None:
    insns = track_insns(sample_bytes)
    assert struct.unpack_from("<I", sample_bytes, insns - 4) == (4,)
    dex = parse_dex(patched(sample_bytes, insns - 4, struct.pack("<I", 2)), "classes.dex")
    assert TRACK not in {caller for caller, _ in sites(dex)["invoke"]}
    (reason,) = dex.scan_code().skipped
    assert reason.endswith("instruction 0x6e at code unit 0 runs past the end of the code")


def test_huge_insns_size_does_not_hide_other_methods(sample_bytes: bytes) -> None:
    insns = track_insns(sample_bytes)
    dex = parse_dex(patched(sample_bytes, insns - 4, struct.pack("<I", 0x7FFFFFFF)), "classes.dex")
    assert sites(dex)["invoke"] == [s for s in EXPECTED_INVOKES if s[0] != TRACK]
    (reason,) = dex.scan_code().skipped
    assert TRACK in reason and "declares 2147483647 code units, past the end of the file" in reason


def test_payload_running_past_the_code(sample_bytes: bytes) -> None:
    # choose(): the packed-switch payload (ident 0x0100, 3 targets, first key 0x6e).
    payload = bytes.fromhex("000103006e000000")
    assert sample_bytes.count(payload) == 1
    data = patched(sample_bytes, sample_bytes.index(payload), bytes.fromhex("0001ff7f"))
    dex = parse_dex(data, "classes.dex")
    choose = f"{MAIN}->choose(I)Ljava/lang/String;"
    assert choose not in {caller for caller, _ in sites(dex)["string"]}
    (reason,) = dex.scan_code().skipped
    assert choose in reason and "payload at code unit 4 runs past the end of the code" in reason


def test_reference_past_the_method_table_is_dropped(sample_bytes: bytes) -> None:
    data = patched(sample_bytes, track_insns(sample_bytes) + 2, b"\xff\xff")
    dex = parse_dex(data, "classes.dex")
    found = sites(dex)
    assert found["invoke"] == [s for s in EXPECTED_INVOKES if s[0] != TRACK]
    (reason,) = dex.scan_code().skipped
    assert TRACK in reason and "method index 65535" in reason


def read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        out.append(b | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_shared_code_item_is_walked_once_and_credited_to_each_method(sample_bytes: bytes) -> None:
    # Point MobclickAgent.send() at the code of onEvent5() (same uleb128 length), as a
    # deduplicating dexer does for identical bodies.
    (class_defs_off,) = struct.unpack_from("<I", sample_bytes, 0x64)
    (class_data_off,) = struct.unpack_from("<I", sample_bytes, class_defs_off + 3 * 32 + 24)
    pos = class_data_off
    counts = []
    for _ in range(4):
        value, pos = read_uleb(sample_bytes, pos)
        counts.append(value)
    assert counts == [0, 0, 5, 0]
    methods_at = pos
    methods = []
    for _ in range(5):
        diff, pos = read_uleb(sample_bytes, pos)
        flags, pos = read_uleb(sample_bytes, pos)
        code, pos = read_uleb(sample_bytes, pos)
        methods.append([diff, flags, code])
    # Direct methods in method_idx order: flush, onEvent, onEvent5, post (native), send.
    methods[4][2] = methods[2][2]
    encoded = b"".join(uleb(v) for m in methods for v in m)
    assert len(encoded) == pos - methods_at
    dex = parse_dex(patched(sample_bytes, methods_at, encoded), "classes.dex")
    send = f"{AGENT}->send(Ljava/lang/String;Ljava/lang/Object;)V"
    found = sites(dex)
    assert (send, send) in found["invoke"]
    assert (send, "https://alog.umeng.com/app_logs") not in found["string"]
    assert dex.scan_code().skipped == []
    assert dex.scan_code().code_units == 169 - 6  # send()'s own 6 code units are no longer referenced


# -- the two walkers agree -------------------------------------------------------------------


@st.composite
def code_units(draw: st.DrawFn) -> bytes:
    """Instruction streams: real opcodes of every width, payloads, and some noise."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 30))):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            kind = draw(st.sampled_from([1, 2, 3]))
            size = draw(st.integers(0, 4))
            if kind == 1:
                out += struct.pack("<HHi", 0x0100, size, 7) + b"\x71\x00" * 2 * size
            elif kind == 2:
                out += struct.pack("<HH", 0x0200, size) + b"\x1a\x00" * 4 * size
            else:
                width = draw(st.sampled_from([1, 2, 4, 8]))
                out += struct.pack("<HHI", 0x0300, width, size) + b"\x6e" * (width * size)
                if (width * size) % 2:
                    out += b"\x00"
        elif choice == 1:
            out += draw(st.binary(min_size=2, max_size=8))
        else:
            op = draw(st.integers(0, 255))
            width = WIDTHS[op] or 1
            rest = draw(st.binary(min_size=2 * width - 1, max_size=2 * width - 1))
            out += bytes([op]) + rest
    if len(out) % 2:
        out += b"\x00"
    return bytes(out)


@given(code=code_units(), prefix=st.binary(max_size=6), cut=st.integers(0, 4))
@settings(max_examples=400, deadline=None)
def test_pattern_walk_equals_exact_walk(code: bytes, prefix: bytes, cut: int) -> None:
    n_units = max(0, len(code) // 2 - cut)
    buf = prefix + code + b"\x6e\x00\x01\x00\x00\x00"  # bytes after the code must not be read as code
    fast = walk_code(buf, len(prefix), n_units)
    exact = walk_code_exact(buf, len(prefix), n_units)
    assert (list(fast[0]), list(fast[1]), list(fast[2]), fast[3]) == (
        list(exact[0]),
        list(exact[1]),
        list(exact[2]),
        exact[3],
    )


# ---------------------------------------------------------------------------------------------
# Broken files
# ---------------------------------------------------------------------------------------------


def test_truncated_file_names_the_file(sample_bytes: bytes) -> None:
    for size in (0, 7, 0x6F, 0x70, 1000, len(sample_bytes) - 1):
        with pytest.raises(FormatError) as err:
            parse_dex(sample_bytes[:size], "classes2.dex")
        assert err.value.file == "classes2.dex"
        assert "truncated" in err.value.message


def test_big_endian_tag_rejected(sample_bytes: bytes) -> None:
    with pytest.raises(FormatError, match="big-endian"):
        parse_dex(patched(sample_bytes, 0x28, struct.pack("<I", 0x78563412)), "classes.dex")


def test_bad_magic_rejected(sample_bytes: bytes) -> None:
    with pytest.raises(FormatError, match="not a DEX file"):
        parse_dex(b"PK\x03\x04" + sample_bytes[4:], "classes.dex")


@pytest.mark.parametrize("field_offset", range(0x38, 0x68, 8))
def test_huge_table_count_rejected_without_allocating(sample_bytes: bytes, field_offset: int) -> None:
    with pytest.raises(FormatError, match="lies outside the file"):
        parse_dex(patched(sample_bytes, field_offset, b"\xff\xff\xff\xff"), "classes.dex")


def test_size_limit(sample_bytes: bytes) -> None:
    with pytest.raises(LimitExceeded):
        parse_dex(sample_bytes, "classes.dex", max_size=1024)


def test_trailing_bytes_are_ignored_with_a_warning(sample_bytes: bytes) -> None:
    dex = parse_dex(sample_bytes + b"\x6e" * 10, "classes.dex")
    assert dex.warnings == ["10 bytes after the declared end of the file were ignored"]
    assert sites(dex)["invoke"] == EXPECTED_INVOKES


def test_memoryview_input(sample_bytes: bytes) -> None:
    dex = parse_dex(memoryview(sample_bytes), "classes.dex")
    assert sites(dex)["string"] == EXPECTED_STRINGS


def empty_dex(version: bytes = b"041", header_offset: int = 0, file_size: int = 0x78, container: int = 0x78) -> bytes:
    header = struct.pack(
        "<8sI20s20I",
        b"dex\n" + version + b"\x00",
        0,
        b"\x00" * 20,
        file_size,
        0x78,
        0x12345678,
        *([0] * 17),
    )
    return header + struct.pack("<II", container, header_offset)


def test_version_041_container() -> None:
    one = empty_dex()
    dex = parse_dex(one, "classes.dex")
    assert (dex.version, dex.method_count, dex.classes()) == ("041", 0, [])
    assert dex.scan_code().invoke_callee.tolist() == []
    two = empty_dex(container=0xF0) + empty_dex(header_offset=0x78, container=0xF0)
    assert [d.name for d in parse_dex_container(two, "classes.dex")] == ["classes.dex", "classes.dex@0x78"]
    with pytest.raises(FormatError, match="starts at"):
        parse_dex(empty_dex(header_offset=8), "classes.dex")
    with pytest.raises(FormatError, match="truncated"):
        parse_dex(empty_dex(container=0x1000), "classes.dex")


def exercise(dex: DexFile) -> None:
    """Everything a caller may do with a parsed file."""
    refs = dex.scan_code()
    for i in set(refs.invoke_callee) | set(refs.invoke_caller):
        dex.method_label(i)
    for i in set(refs.field_ref):
        dex.field_ref(i)
    for i in set(refs.string_ref):
        dex.string(i)
    dex.classes()
    list(dex.strings())
    for i in range(min(dex.method_count, 50)):
        dex.method_label(i)
    for i in range(min(dex.field_count, 50)):
        dex.field_ref(i)


def parses_or_format_error(data: bytes) -> None:
    try:
        dex = parse_dex(data, "classes.dex")
    except FormatError as exc:
        assert exc.file == "classes.dex"
        return
    try:
        exercise(dex)
    except FormatError as exc:
        assert exc.file == "classes.dex"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(edits=st.lists(st.tuples(st.integers(0, 2895), st.integers(0, 255)), min_size=1, max_size=12))
@FUZZ
def test_fuzz_byte_edits(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SAMPLE.read_bytes())
    for at, value in edits:
        data[at % len(data)] = value
    parses_or_format_error(bytes(data))


@given(
    field=st.sampled_from(range(0x20, 0x70, 4)),
    value=st.one_of(st.integers(0, 0xFFFFFFFF), st.sampled_from([0, 1, 0x70, 0x7FFFFFFF, 0xFFFFFFFF])),
)
@FUZZ
def test_fuzz_header_fields(field: int, value: int) -> None:
    parses_or_format_error(patched(SAMPLE.read_bytes(), field, struct.pack("<I", value)))


@given(at=st.integers(0x70, 2895), value=st.sampled_from([0, 0x7F, 0x80, 0xFF]), length=st.integers(1, 16))
@FUZZ
def test_fuzz_overwrite_runs(at: int, value: int, length: int) -> None:
    parses_or_format_error(patched(SAMPLE.read_bytes(), at, bytes([value]) * length))


@given(data=st.binary(max_size=400))
@FUZZ
def test_random_bytes_rejected(data: bytes) -> None:
    assume(not data.startswith(b"dex\n"))
    with pytest.raises(FormatError):
        parse_dex(data, "classes.dex")


@given(size=st.integers(0, 2895))
@FUZZ
def test_any_truncation_rejected(size: int) -> None:
    with pytest.raises(FormatError):
        parse_dex(SAMPLE.read_bytes()[:size], "classes.dex")


# ---------------------------------------------------------------------------------------------
# dexdump as the reference (also used by the measurement commands below)
# ---------------------------------------------------------------------------------------------

_DEXDUMP_METHOD = re.compile(r"\|\[[0-9a-f]+\] (.+)\.([^.:]+):(\(.*)$")
_DEXDUMP_INSN = re.compile(r"\|[0-9a-f]{4}: (\S+) .*// (method|field|string)@([0-9a-f]+)")
_KIND = {"method": "invoke", "field": "field", "string": "string"}


def dexdump_sites(text: str) -> dict[str, dict[str, list[int]]]:
    """{method label: {kind: [target idx in instruction order]}} from ``dexdump -d`` output."""
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"invoke": [], "field": [], "string": []})
    current = None
    for line in text.splitlines():
        head = _DEXDUMP_METHOD.search(line)
        if head:
            cls, name, proto = head.groups()
            current = f"L{cls.replace('.', '/')};->{name}{proto}"
            out[current] = out[current]  # a method with code but no references still counts
            continue
        insn = _DEXDUMP_INSN.search(line)
        if insn and current is not None:
            op, kind, idx = insn.groups()
            if kind == "method" and not op.startswith("invoke-"):
                continue
            out[current][_KIND[kind]].append(int(idx, 16))
    return dict(out)


def our_sites(dex: DexFile) -> dict[str, dict[str, list[int]]]:
    refs = dex.scan_code()
    out: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"invoke": [], "field": [], "string": []})
    for kind, callers, targets in (
        ("invoke", refs.invoke_caller, refs.invoke_callee),
        ("field", refs.field_caller, refs.field_ref),
        ("string", refs.string_caller, refs.string_ref),
    ):
        for caller, target in zip(callers, targets, strict=False):
            out[dex.method_label(caller)][kind].append(target)
    return dict(out)


def compare_with_dexdump(path: Path, dex: DexFile) -> tuple[int, list[str]]:
    """(methods dexdump shows code for, differences) between dexdump -d and scan_code()."""
    text = subprocess.run(["dexdump", "-d", str(path)], capture_output=True, check=True).stdout.decode(
        "utf-8", "replace"
    )
    truth = dexdump_sites(text)
    ours = our_sites(dex)
    diffs = []
    for label in sorted(set(truth) | set(ours)):
        want = truth.get(label, {"invoke": [], "field": [], "string": []})
        got = ours.get(label, {"invoke": [], "field": [], "string": []})
        if want != got:
            diffs.append(f"{label}: dexdump {want} reader {got}")
    return len(truth), diffs


# ---------------------------------------------------------------------------------------------
# Measurement (run by hand: python tests/android/test_dex.py bench|check ...)
# ---------------------------------------------------------------------------------------------


def generate_smali(root: Path, n_methods: int, seed: int = 1, per_class: int = 40, jumbo: bool = False) -> None:
    """A smali tree with a compiled-code-like mix: invokes of every kind, field access, strings,
    branches, and now and then a switch or array payload. ``jumbo`` adds a distinct string to
    every method, so that a large tree passes 65,536 strings and needs const-string/jumbo."""
    rnd = random.Random(seed)
    n_classes = -(-n_methods // per_class)
    for c in range(n_classes):
        pkg = f"com/gen/p{c % 50}"
        cls = f"L{pkg}/C{c};"
        (root / pkg).mkdir(parents=True, exist_ok=True)
        lines = [
            f".class public {cls}",
            ".super Ljava/lang/Object;",
            ".field private f0:I",
            ".field private f1:Ljava/lang/String;",
            ".field public static s0:Ljava/lang/Object;",
        ]
        for m in range(per_class):
            lines += [f".method public m{m}(ILjava/lang/String;)Ljava/lang/String;", "    .registers 8"]
            if jumbo:
                lines += [f'    const-string v3, "jumbo_{c}_{m}"']
            for k in range(rnd.randint(3, 14)):
                t = rnd.random()
                if t < 0.25:
                    other = rnd.randrange(n_classes)
                    target = f"Lcom/gen/p{other % 50}/C{other};"
                    lines += [
                        f"    invoke-virtual {{p0, p1, p2}}, {target}->m{rnd.randrange(per_class)}"
                        "(ILjava/lang/String;)Ljava/lang/String;",
                        "    move-result-object v0",
                    ]
                elif t < 0.35:
                    lines += [
                        "    invoke-static {v0}, Ljava/lang/String;->valueOf(Ljava/lang/Object;)Ljava/lang/String;",
                        "    move-result-object v1",
                    ]
                elif t < 0.45:
                    lines += [
                        f"    iget v2, p0, {cls}->f0:I",
                        "    add-int/lit8 v2, v2, 0x1",
                        f"    iput v2, p0, {cls}->f0:I",
                    ]
                elif t < 0.52:
                    lines += [
                        f'    const-string v3, "s{c}_{m}_{k}"',
                        "    invoke-virtual {v3}, Ljava/lang/String;->length()I",
                        "    move-result v4",
                    ]
                elif t < 0.60:
                    lines += [
                        f"    sget-object v0, {cls}->s0:Ljava/lang/Object;",
                        f"    if-eqz v0, :l{k}",
                        "    invoke-virtual {v0}, Ljava/lang/Object;->hashCode()I",
                        f"    :l{k}",
                    ]
                elif t < 0.68:
                    lines += [
                        "    new-instance v5, Ljava/lang/StringBuilder;",
                        "    invoke-direct {v5}, Ljava/lang/StringBuilder;-><init>()V",
                        "    invoke-virtual {v5, p2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)"
                        "Ljava/lang/StringBuilder;",
                        "    move-result-object v5",
                    ]
                elif t < 0.74:
                    lines += [
                        "    const/16 v6, 0x40",
                        "    mul-int v6, v6, p1",
                        f"    if-lez v6, :g{k}",
                        f"    goto :g{k}",
                        f"    :g{k}",
                    ]
                elif t < 0.78:
                    lines += ["    invoke-interface {v0}, Ljava/util/List;->size()I", "    move-result v1"]
                elif t < 0.80:
                    lines += [
                        "    invoke-static/range {v0 .. v4}, Lcom/gen/Util;->five(Ljava/lang/Object;"
                        "Ljava/lang/Object;III)V"
                    ]
                elif t < 0.805:
                    lines += [
                        f"    packed-switch p1, :ps{k}",
                        f"    goto :pe{k}",
                        f"    :ps{k}",
                        "    .packed-switch 0x0",
                        f"        :pe{k}",
                        f"        :pe{k}",
                        "    .end packed-switch",
                        f"    :pe{k}",
                    ]
                elif t < 0.81:
                    lines += [
                        "    const/4 v0, 0x3",
                        "    new-array v0, v0, [I",
                        f"    fill-array-data v0, :ad{k}",
                        f"    goto :ae{k}",
                        f"    :ad{k}",
                        "    .array-data 4",
                        "        0x71",
                        "        0x6e",
                        "        0x1a",
                        "    .end array-data",
                        f"    :ae{k}",
                    ]
                elif t < 0.815:
                    lines += ["    const-wide v6, 0x6e0000000000001aL"]
                else:
                    lines += ["    move-object v1, v0", "    check-cast v1, Ljava/lang/String;"]
            lines += ["    const/4 v0, 0x0", "    return-object v0", ".end method", ""]
        (root / pkg / f"C{c}.smali").write_text("\n".join(lines), encoding="utf-8")
    (root / "com/gen").mkdir(parents=True, exist_ok=True)
    (root / "com/gen/Util.smali").write_text(
        ".class public Lcom/gen/Util;\n.super Ljava/lang/Object;\n"
        ".method public static five(Ljava/lang/Object;Ljava/lang/Object;III)V\n"
        "    .registers 5\n    return-void\n.end method\n",
        encoding="utf-8",
    )


def measure(path: Path, repeat: int = 5) -> tuple[str, list[float]]:
    """A table row for one DEX, and the numbers that a total row adds up."""
    data = path.read_bytes()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        dex = parse_dex(data, path.name)
        refs = dex.scan_code()
        best = min(best, time.perf_counter() - start)
    methods, diffs = compare_with_dexdump(path, dex)
    for line in diffs[:20]:
        print("DIFF", line, file=sys.stderr)
    numbers = [
        len(data) / 2**20,
        dex.method_count,
        refs.methods_walked,
        refs.code_units,
        len(refs.invoke_callee),
        len(refs.field_ref),
        len(refs.string_ref),
        len(refs.skipped),
        best * 1000,
        methods,
        len(diffs),
    ]
    return _row(path.name, dex.version, numbers), numbers


def _row(name: str, version: str, numbers: list[float]) -> str:
    mb, *counts, ms, methods, diffs = numbers
    return (
        f"| {name} | {mb:.2f} | {version} | "
        + " | ".join(f"{int(n):,}" for n in counts)
        + f" | {ms:.0f} | {int(methods):,} | {int(diffs)} |"
    )


HEADER = (
    "| file | MB | version | method_ids | methods walked | code units | invoke sites | field sites | "
    "string sites | skipped | parse+scan ms (best run) | dexdump methods | methods differing from dexdump |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="generate, assemble, time and check a synthetic DEX")
    bench.add_argument("--methods", type=int, nargs="+", default=[20000])
    bench.add_argument("--api", type=int, default=28)
    bench.add_argument("--keep", type=Path, help="directory to keep the generated DEX files in")
    bench.add_argument("--jumbo", action="store_true", help="one more distinct string per method")
    check = sub.add_parser("check", help="time and check existing DEX files")
    check.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per file; the best is reported")
    args = parser.parse_args(argv)
    print(HEADER)
    if args.command == "check":
        totals: list[float] = []
        for path in args.files:
            row, numbers = measure(path, args.repeat)
            print(row)
            totals = [a + b for a, b in zip(totals, numbers, strict=True)] if totals else numbers
        if len(args.files) > 1:
            print(_row("**all of the above**", "", totals))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for n in args.methods:
            tree = Path(tmp) / f"smali{n}"
            generate_smali(tree, n, jumbo=args.jumbo)
            dex_path = out_dir / f"generated-{n}{'-jumbo' if args.jumbo else ''}.dex"
            subprocess.run(["smali", "assemble", "--api", str(args.api), "-o", str(dex_path), str(tree)], check=True)
            print(measure(dex_path, args.repeat)[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
