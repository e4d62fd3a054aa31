"""Renamed SDKs attributed by fingerprint (AV206): obfuscated.apk against its rename map, both ways."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

from appvet.analyze import fingerprints
from appvet.analyze.sdks import Attribution
from appvet.model import FIRST_PARTY, Review, to_json
from appvet.review import review
from tests.conftest import BUILT, FIXTURES, ROOT

EXPECTED = json.loads((FIXTURES / "expected" / "obfuscated.json").read_text())
GOLDEN = ROOT / "tests" / "golden" / "obfuscated.apk.json"
ON = date(2026, 11, 29)


def _descriptor(dotted: str) -> str:
    return "L" + dotted.replace(".", "/") + ";"


@pytest.fixture(scope="module")
def obfuscated(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "obfuscated.apk", kb=kb, on=ON)


@pytest.fixture(scope="module")
def clean(kb) -> dict[str, Review]:  # type: ignore[no-untyped-def]
    return {name: review(BUILT / name, kb=kb, on=ON) for name in ("plain.apk", "multisdk.apk", "packed.apk")}


def test_every_renamed_sdk_with_surviving_strings_is_found(obfuscated: Review) -> None:
    hits = {s.id: s for s in obfuscated.sdks}
    for row in EXPECTED["fingerprints"]:
        hit = hits.get(row["sdk"])
        assert hit is not None, row
        assert "fingerprint" in hit.matched_by, (row["sdk"], hit.matched_by)
        # The evidence names the renamed code: its strings for a string match, its links otherwise.
        prefix = _descriptor(row["package"])[:-1] + "/"
        renamed = [e for e in hit.evidence if e.kind == "dex" and e.locator.startswith(prefix)]
        assert renamed, (row, hit.evidence)
        for text in row.get("strings", []):
            if "://" in text:
                assert any(e.excerpt.endswith(text) for e in hit.evidence), (row["sdk"], text)


def test_sensitive_calls_are_held_by_the_renamed_sdk(obfuscated: Review) -> None:
    for call in EXPECTED["api_calls"]:
        where = f"{_descriptor(call['class'])}->{call['method']}("
        caps = [c for c in obfuscated.capabilities if c.category == call["category"]
                and any(e.locator.startswith(where) for e in c.evidence)]
        assert caps, f"no {call['category']} capability with evidence in {where}"
        want = call["sdk"] or FIRST_PARTY
        assert caps[0].holder == want, (call["class"], call["category"], caps[0].holder)
        assert caps[0].holder_package == call["sdk_prefix"]


def test_umeng_capability_names_the_renamed_class(obfuscated: Review) -> None:
    [cap] = [c for c in obfuscated.capabilities if c.holder == "umeng-analytics"]
    assert cap.category == "device_identifiers"
    assert {e.locator.split("->")[0] for e in cap.evidence} == {"La/b/a/a;"}
    [finding] = [f for f in obfuscated.findings if f.rule == "AV101" and f.sdk == "umeng-analytics"]
    assert "a.b.a" in finding.message


def test_endpoints_follow_the_attribution(obfuscated: Review) -> None:
    holders = {e.value: e.holder for e in obfuscated.endpoints}
    for row in EXPECTED["endpoints"]:
        assert holders[row["endpoint"]] == row["sdk"], row


def test_lower_confidence_is_said_once_per_sdk(obfuscated: Review) -> None:
    av206 = {f.sdk: f for f in obfuscated.findings if f.rule == "AV206"}
    assert set(av206) == {row["sdk"] for row in EXPECTED["fingerprints"]}
    for sdk, f in av206.items():
        assert f.severity == "info" and f.confidence == "present"
        assert "less certain" in f.message
        packages = {row["package"] for row in EXPECTED["fingerprints"] if row["sdk"] == sdk}
        assert all(p in f.message for p in packages), (sdk, f.message)
        assert f.evidence
    # Every SDK is now attributed, so no "looks like SDK X" hint is left over.
    assert not [f for f in obfuscated.findings if f.rule == "AV205" and f.sdk]


def test_first_party_lookalike_and_silent_sdk_stay_first_party(obfuscated: Review) -> None:
    look = EXPECTED["lookalike"]
    [ep] = [e for e in obfuscated.endpoints if e.value == look["url"]]
    assert ep.holder == FIRST_PARTY
    assert not any(e.locator.startswith(_descriptor(look["class"])) for s in obfuscated.sdks for e in s.evidence)
    assert "megvii-face" not in {s.id for s in obfuscated.sdks}
    [face] = [c for c in obfuscated.capabilities if c.category == "face_biometrics"]
    assert face.holder == FIRST_PARTY


@pytest.mark.parametrize("name", ["plain.apk", "multisdk.apk", "packed.apk"])
def test_apps_without_renamed_sdks_are_unchanged(clean: dict[str, Review], name: str) -> None:
    r = clean[name]
    assert not [s for s in r.sdks if "fingerprint" in s.matched_by]
    assert not [f for f in r.findings if f.rule == "AV206"]


def test_packed_launcher_package_is_the_apps_own(clean: dict[str, Review]) -> None:
    # packed.apk's renamed a.a holds the launcher activity and one Umeng host: a hint (AV205), no attribution.
    r = clean["packed.apk"]
    assert [f.sdk for f in r.findings if f.rule == "AV205" and f.sdk] == ["umeng-analytics"]
    assert all(c.holder == FIRST_PARTY for c in r.capabilities if c.holder_package.startswith("a.a"))


def test_attribution_with_renamed_packages(kb) -> None:  # type: ignore[no-untyped-def]
    base = Attribution(kb, set())
    renamed = base.with_renamed({"a.b": "umeng-analytics", "x.y.Z": "pangle"})
    assert base.holder("a.b.c") == FIRST_PARTY
    assert renamed.holder("a.b.c") == "umeng-analytics"
    assert renamed.holder("a.b.c$1") == "umeng-analytics"
    assert renamed.holder("a.b.c.d") == FIRST_PARTY  # a package, not a prefix: sub-packages are judged alone
    assert renamed.holder("x.y.Z$Inner") == "pangle"
    assert renamed.holder("x.y.W") == FIRST_PARTY
    assert renamed.holder("com.umeng.analytics.MobclickAgent") == "umeng-analytics"


def test_host_resolution_prefers_sdks_found_by_other_signatures(kb) -> None:  # type: ignore[no-untyped-def]
    idx = fingerprints._index(kb)
    # alog.umeng.com is listed by Umeng feedback, umeng.com by Umeng analytics.
    assert fingerprints._classify("https://alog.umeng.com/x", idx, kb, set(), {}) == ("exodus.umeng-feedback", "host")
    assert fingerprints._classify("https://alog.umeng.com/x", idx, kb, {"umeng-analytics"}, {}) == (
        "umeng-analytics", "host")
    assert fingerprints._classify("UMENG_APPKEY", idx, kb, set(), {}) == ("umeng-analytics", "meta-data-key")
    # A company's host counts only when exactly one SDK of that company was found.
    host = "https://api-access.pangolin-sdk-toutiao.com/a"
    assert fingerprints._classify(host, idx, kb, set(), {}) is None
    assert fingerprints._classify(host, idx, kb, {"pangle"}, {"bytedance": {"pangle"}}) == ("pangle", "owner-host")
    assert fingerprints._classify(host, idx, kb, set(), {"bytedance": {"pangle", "bytedance-applog"}}) is None
    assert fingerprints._classify("hello world", idx, kb, set(), {}) is None


def test_golden_json(obfuscated: Review) -> None:
    text = to_json(obfuscated)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), "run with UPDATE_GOLDEN=1 to create"
    assert text == GOLDEN.read_text()


def test_only_renamed_packages_are_judged() -> None:
    for package in ("a", "a.b", "ab.c1", ""):
        assert fingerprints._renamed(package), package
    # Readable packages no prefix names are a knowledge-base gap, not renaming.
    for package in ("com.tencent.mmkv", "com.example.a", "a.b.util"):
        assert not fingerprints._renamed(package), package


def test_rule_has_a_doc_page() -> None:
    page = (ROOT / "docs" / "rules" / "AV206.md").read_text()
    assert page.startswith("# AV206")
    assert "threshold" in page.lower()
