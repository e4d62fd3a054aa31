"""Reviews of the fixture apps state exactly the facts their sources embed (tests/fixtures/expected/)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from appvet.model import FIRST_PARTY, Review, to_json
from appvet.review import review
from tests.conftest import BUILT, FIXTURES, ROOT

EXPECTED = FIXTURES / "expected"
GOLDEN = ROOT / "tests" / "golden"
ON = date(2026, 11, 29)  # ownership and ban lists as of a fixed day, so goldens do not age
APPS = ["plain.apk", "multisdk.apk", "multidex.apk", "bundle.apks", "bundle.xapk"]


@pytest.fixture(scope="module")
def reviews(kb) -> dict[str, Review]:  # type: ignore[no-untyped-def]
    return {name: review(BUILT / name, kb=kb, on=ON) for name in APPS}


def _descriptor(dotted: str) -> str:
    return "L" + dotted.replace(".", "/") + ";"


def _api_name(api: str) -> str:
    return api.split("(", 1)[0].split(":", 1)[0]


def test_multisdk_attributes_every_sensitive_call_to_its_sdk(reviews: dict[str, Review]) -> None:
    expected = json.loads((EXPECTED / "multisdk.json").read_text())
    r = reviews["multisdk.apk"]
    sdk_by_id = {s.id: s for s in r.sdks}
    first_party = expected["first_party_prefix"]
    for call in expected["api_calls"]:
        where = f"{_descriptor(call['class'])}->{call['method']}("
        caps = [c for c in r.capabilities if c.category == call["category"]
                and any(e.locator.startswith(where) for e in c.evidence)]
        assert caps, f"no {call['category']} capability with evidence in {where}"
        cap = caps[0]
        # A site may pair a sensitive API with a generic one (ContentResolver.query with a contacts URI).
        same_site = {_api_name(c["api"]) for c in expected["api_calls"]
                     if (c["class"], c["method"], c["category"]) == (call["class"], call["method"], call["category"])}
        assert same_site & set(cap.apis), (call, cap.apis)
        if call["sdk_prefix"] == first_party:
            assert cap.holder == FIRST_PARTY, call
        else:
            assert cap.holder in sdk_by_id, call
            sdk = sdk_by_id[cap.holder]
            assert any(e.locator.startswith(_descriptor(call["sdk_prefix"])[:-1]) for e in sdk.evidence
                       if e.kind == "dex") or call["sdk_prefix"] in cap.holder_package, (call, cap)


def test_multisdk_sdks_have_owner_chains_with_countries(reviews: dict[str, Review]) -> None:
    r = reviews["multisdk.apk"]
    names = {s.id: s for s in r.sdks}
    for sdk in r.sdks:
        assert sdk.owner_chain, sdk.id
        assert all(link.country for link in sdk.owner_chain), sdk.id
    pangle = next(s for s in r.sdks if any("com/bytedance/sdk/openadsdk" in e.locator for e in s.evidence))
    assert "CN" in pangle.jurisdictions
    umeng = [s for s in names.values() if s.owner_chain[-1].name.startswith("Alibaba")]
    assert umeng, "Umeng resolves to its ultimate parent Alibaba"


def test_multisdk_endpoints_and_filtered_strings(reviews: dict[str, Review]) -> None:
    expected = json.loads((EXPECTED / "multisdk.json").read_text())
    r = reviews["multisdk.apk"]
    by_value = {e.value: e for e in r.endpoints}
    for item in expected["endpoints"]:
        ep = by_value.get(item["endpoint"])
        assert ep is not None, item["endpoint"]
        assert any(ev.file.endswith(item["file"]) for ev in ep.evidence), (item, ep.evidence)
        if "class" in item:
            where = f"{_descriptor(item['class'])}->{item['method']}("
            assert any(ev.locator.startswith(where) for ev in ep.evidence)
    hosts = {e.host for e in r.endpoints}
    for item in expected["not_endpoints"]:
        assert item["text"] not in by_value
    assert "schemas.android.com" not in hosts and "www.w3.org" not in hosts


def test_multisdk_manifest_and_signer(reviews: dict[str, Review]) -> None:
    expected = json.loads((EXPECTED / "multisdk.json").read_text())
    r = reviews["multisdk.apk"]
    assert r.app.package == expected["package"] and r.app.label == expected["label"]
    assert r.app.version_code == str(expected["version_code"])
    assert {p.name for p in r.manifest.permissions} >= set(expected["permissions"])
    signer = r.app.signers[0]
    assert signer.country == "CN" and signer.sha256 == expected["signer"]["certificate_sha256"]
    assert set(signer.schemes) == set(expected["signer"]["schemes"])
    assert r.manifest.allow_backup is True and r.manifest.uses_cleartext_traffic is True
    assert {f.rule for f in r.findings} >= {"AV101", "AV103", "AV104"}


def test_multidex_reads_every_dex(reviews: dict[str, Review]) -> None:
    r = reviews["multidex.apk"]
    assert r.app.dex_files == ("classes.dex", "classes2.dex")
    accounts = [c for c in r.capabilities if c.category == "accounts" and c.holder == FIRST_PARTY]
    assert accounts and all(e.file == "classes2.dex" for e in accounts[0].evidence)


@pytest.mark.parametrize("name", ["bundle.apks", "bundle.xapk"])
def test_bundles_read_base_and_every_split(reviews: dict[str, Review], name: str) -> None:
    r = reviews[name]
    assert len(r.app.splits) == 3
    assert r.app.package == "com.example.bundle"
    assert any(lib.endswith("lib/arm64-v8a/libfoo.so") for lib in r.app.native_libs)
    sim = [c for c in r.capabilities if c.category == "sim_identifiers" and c.apis]
    assert sim and "!" in sim[0].evidence[0].file  # found in a split's own dex


def test_plain_app_has_no_sdks(reviews: dict[str, Review]) -> None:
    r = reviews["plain.apk"]
    assert r.sdks == ()
    assert [e.value for e in r.endpoints] == ["https://api.example.org/v1/ping"]
    assert r.app.signers[0].country == "US"


@pytest.mark.parametrize("name", APPS)
def test_golden_json(reviews: dict[str, Review], name: str) -> None:
    golden = GOLDEN / f"{name}.json"
    text = to_json(reviews[name])
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), "run with UPDATE_GOLDEN=1 to create"
    assert text == golden.read_text(), f"{name}: review differs from {golden.relative_to(ROOT)}"


def test_json_is_deterministic(kb) -> None:  # type: ignore[no-untyped-def]
    a = to_json(review(BUILT / "multisdk.apk", kb=kb, on=ON))
    b = to_json(review(BUILT / "multisdk.apk", kb=kb, on=ON))
    assert a == b


def test_tricks_apk_is_reviewed_like_android_reads_it(kb) -> None:  # type: ignore[no-untyped-def]
    r = review(ROOT / "tests" / "fixtures" / "bad" / "tricks.apk", kb=kb, on=ON)
    assert r.app.package == "org.example.plain"
    assert any(f.rule == "AV105" for f in r.findings)
    assert Path(r.app.file_name).name == "tricks.apk"
