"""SARIF output of real fixture reviews, validated against the SARIF 2.1.0 JSON Schema (tests/report/data/)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft7Validator

from appvet.kb import load_kb
from appvet.policy import apply, evaluate, load_policy
from appvet.report.sarif import FINGERPRINT_KEY, to_sarif
from appvet.review import review

DATA = Path(__file__).parent / "data"
BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built"


def validator() -> Draft4Validator | Draft7Validator:
    official = DATA / "sarif-schema-2.1.0.json"
    path = official if official.exists() else DATA / "sarif-2.1.0-rtm.5.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = Draft7Validator if "draft-07" in schema["$schema"] else Draft4Validator
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture(scope="module")
def reviewed():
    from tests.policy.lists import lists_kb

    kb = load_kb()
    base = review(BUILT / "multisdk.apk", kb=kb)
    policy = load_policy("us-foreign-adversary")
    return apply(base, evaluate(base, policy, lists_kb(), date(2026, 1, 1))), policy


def test_sarif_validates_and_carries_each_finding(reviewed) -> None:
    rev, policy = reviewed
    log = to_sarif(rev, policy)
    errors = sorted(validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, errors[0].message
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule for f in rev.findings})
    assert len(run["results"]) == len(rev.findings)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "multisdk.apk"
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"]]
    assert sorted(prints) == sorted(f.fingerprint for f in rev.findings)
    by_id = {r["id"]: r for r in rules}
    assert by_id["AV101"]["helpUri"] == "docs/rules/AV101.md"
    assert by_id["FA004"]["helpUri"] == "docs/policies.md#us-foreign-adversary"
    assert by_id["FA004"]["properties"]["tags"] == ["MASVS-PRIVACY-1"]
    assert run["properties"]["verdict"]["decision"] == rev.verdict.decision
    assert run["artifacts"][0]["hashes"]["sha-256"] == rev.app.sha256


def test_results_point_at_dex_methods_and_manifest_elements(reviewed) -> None:
    rev, policy = reviewed
    results = to_sarif(rev, policy)["runs"][0]["results"]
    megvii = next(r for r in results if r["ruleId"] == "AV101" and r["properties"].get("sdk") == "megvii-face")
    logical = megvii["locations"][0]["logicalLocations"]
    assert any(loc["kind"] == "function" and "Lcom/megvii/facepp/sdk/Facepp;->detect" in loc["fullyQualifiedName"]
               for loc in logical)
    backup = next(r for r in results if r["ruleId"] == "AV103")
    assert backup["locations"][0]["logicalLocations"][0]["kind"] == "element"
    chain = next(r for r in results if r["ruleId"] == "FA004")["properties"]["evidenceChain"]
    assert chain[-1]["kind"] == "policy"


def test_sarif_is_deterministic(reviewed) -> None:
    rev, policy = reviewed
    assert json.dumps(to_sarif(rev, policy), sort_keys=True) == json.dumps(to_sarif(rev, policy), sort_keys=True)
    bare = to_sarif(rev)
    assert not list(validator().iter_errors(bare))
