"""The zip reader reads what Android reads and refuses what it must, with typed errors."""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.errors import ArchiveError, InputError, LimitExceeded
from appvet.ingest.zipread import Limits, open_zip


def make_zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def patch_central(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrite fields of the central-directory record of ``name`` (flags, method)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02" + b"\x00" * 0, 0)
    while pos != -1:
        nlen = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46 : pos + 46 + nlen] == name.encode():
            if "flags" in fields:
                struct.pack_into("<H", out, pos + 8, fields["flags"])
            if "method" in fields:
                struct.pack_into("<H", out, pos + 10, fields["method"])
            if "size" in fields:
                struct.pack_into("<I", out, pos + 24, fields["size"])
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


def test_reads_entries_written_by_zipfile() -> None:
    files = {"AndroidManifest.xml": b"x" * 1000, "classes.dex": bytes(range(256)) * 40, "assets/a.json": b"{}"}
    arc = open_zip(make_zip(files), "t.apk")
    assert sorted(arc.names()) == sorted(files)
    for name, data in files.items():
        assert arc.read(name) == data
    assert arc.oddities == []


def test_stored_entries_are_zero_copy() -> None:
    arc = open_zip(make_zip({"inner.apk": b"PK-data"}, zipfile.ZIP_STORED), "b.apks")
    view = arc.raw_view("inner.apk")
    assert view is not None and bytes(view) == b"PK-data"


def test_encryption_flag_is_ignored_like_android() -> None:
    data = patch_central(make_zip({"a.txt": b"hello world" * 10}), "a.txt", flags=1)
    with pytest.raises(RuntimeError):  # the standard library refuses it
        zipfile.ZipFile(io.BytesIO(data)).read("a.txt")
    arc = open_zip(data, "t.apk")
    assert arc.read("a.txt") == b"hello world" * 10
    assert any("encryption flag" in o for o in arc.oddities)


def test_unknown_method_deflated_data_is_inflated() -> None:
    data = patch_central(make_zip({"a.txt": b"abc" * 100}), "a.txt", method=99)
    arc = open_zip(data, "t.apk")
    assert arc.read("a.txt") == b"abc" * 100
    assert any("compression method 99" in o for o in arc.oddities)


def test_unknown_method_stored_data_is_read_as_stored() -> None:
    data = patch_central(make_zip({"a.bin": b"\xff\xfe plain"}, zipfile.ZIP_STORED), "a.bin", method=12)
    assert open_zip(data, "t.apk").read("a.bin") == b"\xff\xfe plain"


def test_wrong_local_header_sizes_are_ignored_and_reported() -> None:
    data = bytearray(make_zip({"a.txt": b"payload" * 50}))
    assert data[:4] == b"PK\x03\x04"
    assert open_zip(bytes(data), "t.apk").tricks == []
    struct.pack_into("<II", data, 18, 3, 5)  # local compressed/uncompressed sizes
    arc = open_zip(bytes(data), "t.apk")
    assert arc.read("a.txt") == b"payload" * 50
    [trick] = arc.tricks
    assert (trick.kind, trick.entry) == ("local-header", "a.txt")
    assert "sizes/CRC 3/5/" in trick.detail


def test_local_header_naming_another_file_is_reported() -> None:
    data = bytearray(make_zip({"a.txt": b"payload"}))
    data[30:35] = b"b.txt"  # the local header's copy of the name
    arc = open_zip(bytes(data), "t.apk")
    assert arc.read("a.txt") == b"payload"
    assert [t.detail.split(";")[0] for t in arc.tricks] == ["local header names it 'b.txt'"]


def test_duplicate_names_keep_the_first() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", b"first")
        with pytest.warns(UserWarning):
            zf.writestr("a.txt", b"second")
    arc = open_zip(buf.getvalue(), "t.apk")
    assert arc.read("a.txt") == b"first"
    assert [(t.kind, t.entry) for t in arc.tricks] == [("duplicate", "a.txt")]


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil", "/etc/passwd", "C:\\x", "a\\..\\..\\b"])
def test_climbing_names_are_reported_and_the_archive_read(name: str) -> None:
    arc = open_zip(make_zip({name: b"x", "ok.txt": b"y"}), "t.apk")
    assert [(t.kind, t.entry) for t in arc.tricks] == [("escape", name)]
    assert arc.read(name) == b"x" and arc.read("ok.txt") == b"y"


@pytest.mark.parametrize("name", ["a..b/c.txt", "..hidden", "dir/x..", "assets/../"[:-4] + "x"])
def test_names_that_only_contain_dots_are_not_tricks(name: str) -> None:
    assert open_zip(make_zip({name: b"x"}), "t.apk").tricks == []


@given(st.lists(st.sampled_from(["a.txt", "A.txt", "b.TXT", "B.txt", "c/d", "C/D", "e"]), min_size=1, max_size=7,
                unique=True))
def test_case_collisions_are_reported_once_per_set(names: list[str]) -> None:
    arc = open_zip(make_zip({n: n.encode() for n in names}), "t.apk")
    folded: dict[str, list[str]] = {}
    for n in names:
        folded.setdefault(n.casefold(), []).append(n)
    want = sorted(group[0] for group in folded.values() if len(group) > 1)
    assert sorted(t.entry for t in arc.tricks if t.kind == "case") == want
    assert all(arc.read(n) == n.encode() for n in names)


def test_flat_zip_bomb_is_refused() -> None:
    data = make_zip({"bomb.bin": bytes(8 * 1024 * 1024)})
    with pytest.raises(LimitExceeded, match="zip bomb"):
        open_zip(data, "t.apk", Limits(ratio_floor=1024 * 1024, max_ratio=100))


def test_total_size_limit() -> None:
    data = make_zip({"a": b"x" * 5000, "b": b"y" * 5000})
    with pytest.raises(LimitExceeded, match="expand to more than"):
        open_zip(data, "t.apk", Limits(max_total_uncompressed=8000))


def test_lying_size_cannot_grow_output() -> None:
    data = patch_central(make_zip({"a.bin": bytes(100_000)}), "a.bin", size=10)
    assert open_zip(data, "t.apk").read("a.bin") == bytes(10)


def test_entry_count_limit() -> None:
    with pytest.raises(LimitExceeded, match="entries"):
        open_zip(make_zip({f"f{i}": b"" for i in range(20)}), "t.apk", Limits(max_entries=10))


def test_random_and_truncated_bytes() -> None:
    with pytest.raises(ArchiveError, match="not a zip"):
        open_zip(b"\x00" * 100, "r.apk")
    good = make_zip({"a.txt": b"a" * 1000, "b.txt": b"b" * 1000})
    with pytest.raises(ArchiveError):
        open_zip(good[: len(good) // 2], "t.apk")


def test_corrupt_deflate_stream_is_an_archive_error() -> None:
    data = bytearray(make_zip({"a.txt": bytes(range(256)) * 20}))
    start = 30 + len("a.txt")
    data[start : start + 20] = b"\xff" * 20
    arc = open_zip(bytes(data), "t.apk")
    with pytest.raises(ArchiveError, match="not valid deflate"):
        arc.read("a.txt")


def test_zip64_records_are_understood() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as zf, zf.open("big.txt", "w", force_zip64=True) as fh:
        fh.write(b"z" * 1000)
    arc = open_zip(buf.getvalue(), "t.apk")
    assert arc.read("big.txt") == b"z" * 1000


SEED = make_zip({"AndroidManifest.xml": b"m" * 300, "classes.dex": zlib.compress(b"d" * 500), "x/y.txt": b"hi"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(SEED)))
def test_mutated_zips_parse_or_raise_typed_errors(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SEED)
    for pos, val in edits:
        data[pos] = val
    data = data[: max(cut, 1)] if cut < len(SEED) // 3 else data
    try:
        arc = open_zip(bytes(data), "m.apk", Limits(max_entry_size=1024 * 1024))
        for name in arc.names():
            with contextlib.suppress(InputError):
                arc.read(name)
    except InputError:
        pass
