"""Named behaviours and code that can change after review (AV201, AV202), both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appvet.analyze import behaviours
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT, FIXTURES, ROOT

EXPECTED = json.loads((FIXTURES / "expected" / "reach.json").read_text())


@pytest.fixture(scope="module")
def reach_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "reach.apk", kb=kb)


def _descriptor(dotted: str) -> str:
    return "L" + dotted.replace(".", "/") + ";"


def test_every_expected_behaviour_is_found_with_its_reachability(reach_review: Review) -> None:
    found = {(b.id, b.holder): b for b in reach_review.behaviours}
    for call in EXPECTED["api_calls"]:
        holder = "first-party" if call.get("first_party") else None
        matches = [b for (bid, h), b in found.items() if bid == call["behaviour"] and (holder is None or h == holder)]
        assert matches, call
        b = matches[0]
        where = f"{_descriptor(call['class'])}->{call['method']}("
        assert any(e.locator.startswith(where) for e in b.evidence), (call, b.evidence)
        assert b.confidence == ("reachable" if call["reachable"] else "present"), call
        if call["reachable"]:
            assert b.witness[0].startswith("entry: ") and b.witness[-2].startswith(where)


def test_permission_rerequest_from_the_result_callback(reach_review: Review) -> None:
    [b] = [b for b in reach_review.behaviours if b.id == "permission-rerequest"]
    assert b.evidence[0].locator.startswith("Lorg/example/reach/MainActivity;->onRequestPermissionsResult(")
    assert b.confidence == "reachable"


def test_changes_after_review_become_av201_and_the_rest_av202(reach_review: Review) -> None:
    by_rule: dict[str, list[str]] = {}
    for f in reach_review.findings:
        by_rule.setdefault(f.rule, []).append(f.message)
    assert any("DexClassLoader" in m and "on a path from an entry point" in m for m in by_rule["AV201"])
    assert any("addJavascriptInterface" in m and "no path found" in m for m in by_rule["AV201"])
    assert len(by_rule["AV202"]) == len([b for b in reach_review.behaviours if not b.changes_after_review])
    assert all(f.confidence in ("present", "reachable") for f in reach_review.findings)


def test_plain_app_has_no_behaviours(kb) -> None:  # type: ignore[no-untyped-def]
    r = review(BUILT / "plain.apk", kb=kb)
    assert r.behaviours == ()
    assert not [f for f in r.findings if f.rule in ("AV201", "AV202")]


def test_catalogue_is_consistent() -> None:
    ids = set(behaviours.TITLES)
    used = set(behaviours.INVOKES.values()) | set(behaviours.FIELDS.values())
    used |= {b for _p, b in behaviours.STRINGS} | {b for _p, b in behaviours.CLASS_PREFIXES}
    assert ids == used | {"permission-rerequest"}
    assert ids >= behaviours.CHANGES_AFTER_REVIEW


@pytest.mark.parametrize("rule", ["AV201", "AV202"])
def test_rule_has_a_doc_page(rule: str) -> None:
    page = Path(ROOT / "docs" / "rules" / f"{rule}.md")
    assert page.read_text().startswith(f"# {rule}")
