"""Packers, renamed packages and renamed-SDK hints (AV204, AV205), both ways."""

from __future__ import annotations

import json

import pytest

from appvet.analyze import obfuscation
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT, FIXTURES, ROOT

EXPECTED = json.loads((FIXTURES / "expected" / "packed.json").read_text())


@pytest.fixture(scope="module")
def packed_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "packed.apk", kb=kb)


def test_packer_found_by_its_library_and_stub(packed_review: Review) -> None:
    [f] = [f for f in packed_review.findings if f.rule == "AV204"]
    assert f.message.startswith(EXPECTED["packer"]["name"])
    assert f.severity == "high"
    located = {e.file for e in f.evidence} | {e.locator for e in f.evidence}
    assert EXPECTED["packer"]["markers"][0] in located
    assert "Lcom/stub/StubApp;" in located


def test_renamed_package_and_sdk_hint(packed_review: Review) -> None:
    av205 = [f for f in packed_review.findings if f.rule == "AV205"]
    renaming = [f for f in av205 if f.sdk is None]
    hint = [f for f in av205 if f.sdk is not None]
    assert len(renaming) == 1 and EXPECTED["renamed_package"]["prefix"] in renaming[0].message
    want = EXPECTED["renamed_sdk_hint"]
    assert len(hint) == 1 and hint[0].sdk == "umeng-analytics"
    assert hint[0].evidence[0].locator.startswith("La/a/k;->a(")
    assert hint[0].evidence[0].excerpt == want["string"]


@pytest.mark.parametrize("apk", ["plain.apk", "multisdk.apk", "reach.apk", "multidex.apk"])
def test_unpacked_readable_apps_do_not_fire(apk: str, kb) -> None:  # type: ignore[no-untyped-def]
    r = review(BUILT / apk, kb=kb)
    assert not [f for f in r.findings if f.rule in ("AV204", "AV205")]


def test_short_name_pattern() -> None:
    for name in ("a", "bc", "C", "a1"):
        assert obfuscation.SHORT_NAME.match(name)
    for name in ("Foo", "abc", "MainActivity", "R"[:0]):
        assert not obfuscation.SHORT_NAME.match(name)


@pytest.mark.parametrize("rule", ["AV203", "AV204", "AV205"])
def test_rule_has_a_doc_page(rule: str) -> None:
    assert (ROOT / "docs" / "rules" / f"{rule}.md").read_text().startswith(f"# {rule}")
