"""Property tests over every reader through the fuzz harnesses, plus the AXML writer round trip.

Each reader already has its own Hypothesis tests beside its unit tests; these add the readers'
common contract in one place (mutated real inputs -> parse, or appvet's InputError, nothing
else), the bundle path through ``open_input``, and a round trip through a binary XML writer.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from fuzz.harnesses import HARNESSES
from fuzz.run_all import inputs_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android.axml import XmlElement, parse_axml
from appvet.errors import InputError
from appvet.ingest.open import open_input
from tests.android.data.axml.writers import Attr, El, axml
from tests.conftest import BUILT

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = {name: inputs_of(name) for name in HARNESSES}


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    seed = bytearray(draw(st.sampled_from(SEEDS[name])))
    for _ in range(draw(st.integers(0, 6))):
        if not seed:
            break
        pos = draw(st.integers(0, len(seed) - 1))
        op = draw(st.integers(0, 2))
        if op == 0:
            seed[pos] = draw(st.integers(0, 255))
        elif op == 1:
            seed[pos : pos + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\xff\xff\xff\x7f"]))
        else:
            del seed[pos : pos + draw(st.integers(1, 64))]
    if draw(st.booleans()):
        seed = seed[: draw(st.integers(0, len(seed)))]
    return bytes(seed)


@pytest.mark.parametrize("name", sorted(HARNESSES))
@SETTINGS
@given(data=st.data())
def test_reader_parses_or_raises_input_error(name: str, data: st.DataObject) -> None:
    # The harness swallows InputError only; anything else (IndexError, struct.error, ...) fails here.
    HARNESSES[name](data.draw(mutated(name)))


@pytest.mark.parametrize("name", sorted(HARNESSES))
@SETTINGS
@given(raw=st.binary(max_size=512))
def test_reader_on_random_bytes(name: str, raw: bytes) -> None:
    HARNESSES[name](raw)


def _bundle(base: bytes, split: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("base.apk"), base, compress_type=zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo("split_config.arm64_v8a.apk"), split, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6), cut=st.integers(0, 10**6))
def test_bundle_with_a_damaged_split_opens_or_raises_input_error(tmp_path_factory: pytest.TempPathFactory,
                                                                 edits: list[tuple[int, int]], cut: int) -> None:
    plain = (BUILT / "plain.apk").read_bytes()
    split = bytearray(plain)
    for pos, value in edits:
        split[pos % len(split)] = value
    path = tmp_path_factory.mktemp("b") / "x.apks"
    path.write_bytes(_bundle(plain, bytes(split[: max(1, cut % (len(split) + 1))])))
    try:
        package = open_input(path)
    except InputError:
        return
    assert package.parts[0].name == "base.apk"


_NAME = st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), min_size=1, max_size=8)
_VALUE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20) | st.integers(-(2**31), 2**31 - 1) \
    | st.booleans()


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> El:
    names = draw(st.lists(_NAME, max_size=4, unique=True))
    attrs = [Attr(n, draw(_VALUE), ns=None, res_id=0) for n in names]
    kids = draw(st.lists(elements(depth + 1), max_size=3)) if depth < 3 else []
    return El(draw(_NAME), attrs, kids)


def _same(written: El, read: XmlElement) -> None:
    assert read.tag == written.tag
    expect = {a.name: a.value for a in written.attrs}
    assert read.attrs == expect
    assert len(read.children) == len(written.children)
    for w, r in zip(written.children, read.children, strict=True):
        _same(w, r)


@SETTINGS
@given(root=elements(), utf8=st.booleans())
def test_axml_round_trip(root: El, utf8: bool) -> None:
    _same(root, parse_axml(axml(root, utf8=utf8), "round-trip.xml"))
