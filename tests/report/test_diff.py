"""Diffs of two versions of the same fixture app: exactly the SDK and the permission that were added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appvet.kb import load_kb
from appvet.model import from_dict, to_dict
from appvet.report.diff import diff_reviews, render_diff_text
from appvet.review import review

BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built"


@pytest.fixture(scope="module")
def versions():
    kb = load_kb()
    return review(BUILT / "diff-v1.apk", kb=kb), review(BUILT / "diff-v2.apk", kb=kb)


def test_diff_reports_exactly_the_added_sdk_and_permission(versions) -> None:
    old, new = versions
    d = diff_reviews(old, new)
    assert (d["old"]["version_code"], d["new"]["version_code"]) == ("1", "2")
    assert [s["id"] for s in d["sdks"]["added"]] == ["tencent-bugly"]
    added = d["sdks"]["added"][0]
    assert added["parent"] == "Tencent Holdings Limited" and added["parent_country"] == "CN"
    assert d["sdks"]["removed"] == []
    assert d["permissions"] == {"added": ["android.permission.READ_CONTACTS"], "removed": []}
    assert d["endpoints"] == {"added": [], "removed": []}
    # READ_CONTACTS itself grants contacts; no code changed hands.
    assert [(c["holder"], c["category"]) for c in d["capabilities"]["added"]] == [("manifest", "contacts_social_graph")]
    assert d["capabilities"]["removed"] == [] and d["capabilities"]["changed"] == []
    assert d["verdict"] == {"old": None, "new": None, "changed": False}
    json.dumps(d)  # JSON-able as is


def test_diff_text(versions) -> None:
    text = render_diff_text(diff_reviews(*versions))
    assert text.splitlines() == [
        "org.example.diffapp 1.1.0 (code 1) -> org.example.diffapp 1.2.0 (code 2)",
        "SDKs:",
        "  + Tencent Bugly (Tencent Holdings Limited, CN)",
        "Permissions:",
        "  + android.permission.READ_CONTACTS",
        "Capabilities:",
        "  + manifest: contacts_social_graph [present]",
    ]


def test_reverse_diff_and_no_change(versions) -> None:
    old, new = versions
    back = diff_reviews(new, old)
    assert [s["id"] for s in back["sdks"]["removed"]] == ["tencent-bugly"]
    assert back["permissions"]["removed"] == ["android.permission.READ_CONTACTS"]
    same = diff_reviews(from_dict(to_dict(old)), old)
    assert render_diff_text(same).endswith("no changes\n")
