"""JNI bindings of native methods and identifier paths in native code (reach fixture)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.analyze import native
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT, FIXTURES

EXPECTED = json.loads((FIXTURES / "expected" / "reach.json").read_text())


@pytest.fixture(scope="module")
def reach_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "reach.apk", kb=kb)


@pytest.mark.parametrize(("symbol", "expected"), [
    ("Java_org_example_reach_NativeId_macAddress", ("Lorg/example/reach/NativeId;", "macAddress", None)),
    ("Java_org_example_reach_NativeId_unused_1name", ("Lorg/example/reach/NativeId;", "unused_name", None)),
    ("Java_a_b_C_m__ILjava_lang_String_2", ("La/b/C;", "m", "ILjava/lang/String;")),
    ("Java_a_B_arr___3B", ("La/B;", "arr", "[B")),
    ("Java_a_B_u_000e9t", ("La/B;", "u\u00e9t", None)),
    ("Java_onlyone", None),
    ("Java_a_B_bad_0zzzz", None),
    ("JNI_OnLoad", None),
])
def test_demangle(symbol: str, expected: tuple[str, str, str | None] | None) -> None:
    assert native.demangle(symbol) == expected


@given(st.text(alphabet="Java_0123abcXYZ;/", max_size=40))
@settings(max_examples=300, deadline=None)
def test_demangle_never_raises(symbol: str) -> None:
    got = native.demangle(symbol)
    assert got is None or (got[0].startswith("L") and got[0].endswith(";") and got[1])


def test_native_methods_are_bound_as_expected(reach_review: Review) -> None:
    got = {n.method: n for n in reach_review.native_methods}
    assert len(got) == len(EXPECTED["native_methods"])
    for want in EXPECTED["native_methods"]:
        n = got[want["method"]]
        assert (n.binding, n.symbol) == (want["binding"], want["symbol"])
        assert n.library == EXPECTED["native_libs"][0]
        assert n.confidence == ("reachable" if want["reachable"] else "present")
        assert bool(n.witness) is want["reachable"]


def test_identifier_paths_in_native_code_are_reachable_through_the_bound_method(reach_review: Review) -> None:
    [b] = [b for b in reach_review.behaviours if b.id == "mac-address"]
    assert {e.excerpt for e in b.evidence if e.kind == "native"} == {s["text"] for s in EXPECTED["native_strings"]}
    assert b.confidence == "reachable"
    assert b.witness[-2] == "Lorg/example/reach/NativeId;->macAddress()Ljava/lang/String;"
    assert b.witness[-1].startswith("runs native code in libreach.so")


def test_library_without_jni_is_not_bound(kb) -> None:  # type: ignore[no-untyped-def]
    r = review(BUILT / "multisdk.apk", kb=kb)
    assert r.native_methods == ()
    assert not [b for b in r.behaviours if any(e.kind == "native" for e in b.evidence)]
