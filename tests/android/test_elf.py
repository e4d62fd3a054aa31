"""Strings and identity of native libraries compiled from tests/android/data/elf/probe.c (see build.sh)."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android import elf
from appvet.android.elf import elf_info, native_strings
from appvet.errors import FormatError

DATA = Path(__file__).parent / "data" / "elf"

PROBE_STRINGS = [
    "https://api.example-telemetry.cn/v2/collect?device=",  # static const char[] in .rodata
    "http://config.example.org/settings.json",  # writable char[] in .data
    "mirror-one.example.net",  # pointed to from .data.rel.ro
    "北京欢迎你 welcome",  # UTF-8
    "imei=%s greeting=%s url=%s",
    "libm.so.6",  # .dynstr
    "probe_endpoint",
]
LIBRARIES = ["libprobe.so", "libprobe-arm64.so", "libprobe-arm.so", "libprobe-noshdr.so"]


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "machine", "bits"),
    [
        ("libprobe.so", "x86_64", 64),
        ("libprobe-arm64.so", "aarch64", 64),
        ("libprobe-arm.so", "arm", 32),
        ("libprobe-noshdr.so", "aarch64", 64),  # DT_NEEDED through the program headers
    ],
)
def test_elf_info(name: str, machine: str, bits: int) -> None:
    assert elf_info(read(name), name) == {"machine": machine, "class": bits, "needed": ["libm.so.6", "libc.so.6"]}


@pytest.mark.parametrize("name", LIBRARIES)
def test_native_strings_finds_the_literals(name: str) -> None:
    found = native_strings(read(name), name)
    for expected in PROBE_STRINGS:
        assert expected in found


def test_section_table_keeps_out_strings_of_other_sections() -> None:
    data = read("libprobe.so")
    assert b"GCC: (" in data  # the compiler's .comment section
    found = native_strings(data, "libprobe.so")
    assert not any(text.startswith("GCC: (") for text in found)
    assert ".shstrtab" not in found


def test_corrupt_section_table_falls_back_to_the_whole_file() -> None:
    data = bytearray(read("libprobe.so"))
    struct.pack_into("<Q", data, 0x28, len(data) + 4096)  # e_shoff past the end
    found = native_strings(bytes(data), "libprobe.so")
    for expected in PROBE_STRINGS:
        assert expected in found
    assert any(text.startswith("GCC: (") for text in found)
    assert ".shstrtab" in found
    # The loader ignores section headers, so the identity is still read.
    assert elf_info(bytes(data), "libprobe.so")["needed"] == ["libm.so.6", "libc.so.6"]


def test_section_pointing_outside_the_file_falls_back() -> None:
    data = bytearray(read("libprobe.so"))
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    (shnum,) = struct.unpack_from("<H", data, 0x3C)
    for i in range(1, shnum):  # every section's sh_offset
        struct.pack_into("<Q", data, shoff + i * 64 + 24, 2**40)
    found = native_strings(bytes(data), "libprobe.so")
    assert "https://api.example-telemetry.cn/v2/collect?device=" in found


def test_sections_listing_the_same_bytes_many_times_fall_back() -> None:
    data = bytearray(read("libprobe.so"))
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    sections = elf._sections(bytes(data), elf._header(bytes(data), "x"), "x")
    for i, section in enumerate(sections):
        if section.name in elf.STRING_SECTIONS:  # each now claims the whole file
            struct.pack_into("<QQ", data, shoff + i * 64 + 24, 0, len(data))
    found = native_strings(bytes(data), "libprobe.so")
    assert found.count("https://api.example-telemetry.cn/v2/collect?device=") == 1
    assert ".shstrtab" in found


def test_min_len_and_max_strings() -> None:
    data = read("libprobe.so")
    everything = native_strings(data, "libprobe.so", min_len=1)
    assert all(len(text) >= 30 for text in native_strings(data, "libprobe.so", min_len=30))
    assert "https://api.example-telemetry.cn/v2/collect?device=" in native_strings(data, "x", min_len=30)
    assert native_strings(data, "libprobe.so", min_len=1, max_strings=3) == everything[:3]


def test_non_elf_is_scanned_whole_and_rejected_by_elf_info() -> None:
    data = b"\x00\x01plain text here\xff\xfe\xe4\xb8\xad\xe6\x96\x87 text\x00\xc3"
    assert native_strings(data, "blob") == ["plain text here", "中文 text"]
    with pytest.raises(FormatError, match="not an ELF file") as caught:
        elf_info(data, "lib/arm64-v8a/libx.so")
    assert caught.value.file == "lib/arm64-v8a/libx.so"


def test_invalid_utf8_splits_runs() -> None:
    # An overlong encoding and a lone continuation byte are not text.
    assert native_strings(b"abcdef\xc0\xafghijkl\x80mnopqr", "blob") == ["abcdef", "ghijkl", "mnopqr"]


def test_truncated_header_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="truncated ELF header"):
        elf_info(read("libprobe.so")[:40], "libprobe.so")


def test_dynamic_segment_outside_the_file_is_a_format_error() -> None:
    data = read("libprobe-noshdr.so")
    with pytest.raises(FormatError, match="outside the file"):
        elf_info(data[: len(data) // 2], "libprobe-noshdr.so")


# --------------------------------------------------------- hand-made files: big-endian, 32-bit


def make_elf(bits: int, order: str, machine: int, needed: list[str]) -> bytes:
    """A minimal shared object: header, PT_LOAD over the whole file, PT_DYNAMIC, string table."""
    is64 = bits == 64
    ehsize, phentsize = (64, 56) if is64 else (52, 32)
    dyn = struct.Struct(order + ("qQ" if is64 else "iI"))
    strtab = b"\0" + b"".join(name.encode() + b"\0" for name in needed)
    name_offsets = [1 + sum(len(n) + 1 for n in needed[:i]) for i in range(len(needed))]
    dynamic_at = ehsize + 2 * phentsize
    entries = [(1, off) for off in name_offsets] + [(5, 0), (10, len(strtab)), (0, 0)]
    strtab_at = dynamic_at + len(entries) * dyn.size
    entries[-3] = (5, strtab_at)
    dynamic = b"".join(dyn.pack(tag, value) for tag, value in entries)
    total = strtab_at + len(strtab)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if order == "<" else 2, 1]) + bytes(9)
    if is64:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", 3, machine, 1, 0, ehsize, 0, 0, ehsize, 56, 2, 64, 0, 0)
        load = struct.pack(order + "IIQQQQQQ", 1, 5, 0, 0, 0, total, total, 4096)
        dyn_ph = struct.pack(
            order + "IIQQQQQQ", 2, 6, dynamic_at, dynamic_at, dynamic_at, len(dynamic), len(dynamic), 8
        )
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", 3, machine, 1, 0, ehsize, 0, 0, ehsize, 32, 2, 40, 0, 0)
        load = struct.pack(order + "8I", 1, 0, 0, 0, total, total, 5, 4096)
        dyn_ph = struct.pack(order + "8I", 2, dynamic_at, dynamic_at, dynamic_at, len(dynamic), len(dynamic), 6, 4)
    data = header + load + dyn_ph + dynamic + strtab
    assert len(data) == total
    return data


@pytest.mark.parametrize(
    ("bits", "order", "machine", "expected"),
    [(32, ">", 8, "mips"), (64, ">", 21, "ppc64"), (32, "<", 3, "x86"), (64, "<", 0x1234, "unknown-4660")],
)
def test_hand_made_headers(bits: int, order: str, machine: int, expected: str) -> None:
    data = make_elf(bits, order, machine, ["liblog.so", "libdl"])
    assert elf_info(data, "x") == {"machine": expected, "class": bits, "needed": ["liblog.so", "libdl"]}
    assert native_strings(data, "x", min_len=6) == ["liblog.so"]  # no sections: whole file, min 6


def test_needed_name_outside_the_string_table_is_a_format_error() -> None:
    data = bytearray(make_elf(64, "<", 183, ["liblog.so"]))
    struct.pack_into("<Q", data, 64 + 2 * 56 + 8, 10**6)  # first DT_NEEDED's value
    with pytest.raises(FormatError, match="DT_NEEDED"):
        elf_info(bytes(data), "x")


# ------------------------------------------------------------------------------- properties

_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_EDITS = st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), min_size=1, max_size=10)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for where, byte in edits:
        # Bias half of the edits into the headers, where the offsets and counts live.
        out[where % (64 if where % 2 else len(out))] = byte
    return bytes(out[: max(0, len(out) - cut)])


def _check(data: bytes) -> None:
    found = native_strings(data, "fuzz", max_strings=500)
    assert len(found) <= 500
    assert all(isinstance(text, str) and len(text) >= 6 for text in found)
    with contextlib.suppress(FormatError):
        info = elf_info(data, "fuzz")
        assert info["class"] in (32, 64)


@_FUZZ
@given(name=st.sampled_from(LIBRARIES), edits=_EDITS, cut=st.integers(0, 6000))
def test_mutated_libraries_never_break_the_readers(name: str, edits: list[tuple[int, int]], cut: int) -> None:
    _check(_mutate(read(name), edits, cut))


@_FUZZ
@given(
    bits=st.sampled_from([32, 64]),
    order=st.sampled_from(["<", ">"]),
    edits=_EDITS,
    cut=st.integers(0, 200),
)
def test_mutated_hand_made_files_never_break_the_readers(
    bits: int, order: str, edits: list[tuple[int, int]], cut: int
) -> None:
    _check(_mutate(make_elf(bits, order, 40, ["liblog.so", "libc.so"]), edits, cut))


@_FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_never_break_the_readers(data: bytes) -> None:
    _check(b"\x7fELF" + data)
    _check(data)
