"""Property tests: the iOS readers take any bytes and either read them or refuse them with a FormatError."""

from __future__ import annotations

import contextlib

from fuzz.harnesses import codesign, macho, plist
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.errors import InputError
from appvet.ios.codesign import read_signature
from appvet.ios.macho import parse_macho
from appvet.ios.plist import load_plist
from tests.ios.ios_helpers import entry

MAIN = entry("demoshop.ipa", "DemoShop")
FAT = entry("demoshop-fat.ipa", "DemoShop")
SIG = parse_macho(MAIN, "DemoShop").code_signature or b""
PLISTS = [entry("demoshop.ipa", "Info.plist"), entry("demoshop-fat.ipa", "Info.plist")]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(base)
    for pos, value in edits:
        data[pos % len(data)] = value
    return bytes(data[: max(0, len(data) - cut)])


edits = st.lists(st.tuples(st.integers(0, 1 << 24), st.integers(0, 255)), max_size=24)


@SETTINGS
@given(base=st.sampled_from([MAIN, FAT]), edits=edits, cut=st.integers(0, 4096))
def test_macho_mutations(base: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(base, edits, cut)
    try:
        m = parse_macho(data, "m")
    except InputError:
        return
    assert m.arch and isinstance(m.code_refs, list)
    macho(data)


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_macho_random_bytes(data: bytes) -> None:
    macho(data)
    macho(b"\xcf\xfa\xed\xfe" + data)
    macho(b"\xca\xfe\xba\xbe" + data)


@SETTINGS
@given(base=st.sampled_from(PLISTS), edits=edits, cut=st.integers(0, 512))
def test_plist_mutations(base: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(base, edits, cut)
    with contextlib.suppress(InputError):
        load_plist(data, "Info.plist")
    plist(data)


@SETTINGS
@given(edits=edits, cut=st.integers(0, 2048))
def test_signature_mutations(edits: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(SIG, edits, cut)
    with contextlib.suppress(InputError):
        read_signature(data, "sig")
    codesign(data)
