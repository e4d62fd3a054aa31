"""Finding fingerprints: unique within a review, stable across runs, independent of evidence order."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from appvet.analyze.findings import unique_fingerprints
from appvet.model import Evidence, Finding, Review, fingerprint
from appvet.policy import evaluate, load_policy, parse_policy, shipped_policies
from appvet.review import review
from tests.conftest import BUILT

ON = date(2026, 11, 29)
APPS = ("multisdk.apk", "reach.apk", "obfuscated.apk", "libraries.apk", "spoofed-signer.apk", "packed.apk")

ENDPOINT_POLICY = b"""
policy: every-endpoint
title: Every endpoint
version: "1"
rules:
  - id: TS001
    title: endpoint
    subject: endpoint
    when: {host: {present: true}}
    action: review
    severity: low
"""


@pytest.fixture(scope="module")
def reviews(kb) -> dict[str, Review]:  # type: ignore[no-untyped-def]
    return {name: review(BUILT / name, kb=kb, on=ON) for name in APPS}


@pytest.mark.parametrize("name", APPS)
def test_static_fingerprints_are_unique_and_stable(reviews: dict[str, Review], kb, name: str) -> None:  # type: ignore[no-untyped-def]
    prints = [f.fingerprint for f in reviews[name].findings]
    assert len(prints) == len(set(prints))
    again = review(BUILT / name, kb=kb, on=ON)
    assert [f.fingerprint for f in again.findings] == prints


def test_two_urls_on_one_host_get_two_fingerprints(reviews: dict[str, Review], kb) -> None:  # type: ignore[no-untyped-def]
    r = reviews["reach.apk"]
    hosts = [e.host for e in r.endpoints]
    assert len(hosts) > len(set(hosts)), "reach.apk holds two URLs on one host"
    found = evaluate(r, parse_policy(ENDPOINT_POLICY, "every-endpoint.yaml"), kb, ON).findings
    assert len(found) == len(r.endpoints)
    assert len({f.fingerprint for f in found}) == len(found)


@pytest.mark.parametrize("policy", shipped_policies())
def test_policy_fingerprints_are_unique(reviews: dict[str, Review], kb, policy: str) -> None:  # type: ignore[no-untyped-def]
    for r in reviews.values():
        prints = [f.fingerprint for f in evaluate(r, load_policy(policy), kb, ON).findings]
        assert len(prints) == len(set(prints)), (policy, r.app.file_name)


def _flow_finding(locator: str) -> Finding:
    return Finding(rule="AV203", severity="medium", title="t", message=f"flow via {locator}", confidence="present",
                   evidence=(Evidence("dex", "classes.dex", locator, "x"),), holder="first-party",
                   holder_kind="first-party", fingerprint=fingerprint("AV203", "sms", "a", "b"))


def test_colliding_findings_are_rekeyed_by_their_own_evidence_in_any_order() -> None:
    a, b = _flow_finding("La;->m()V"), _flow_finding("Lb;->m()V")
    first = unique_fingerprints([a, b])
    second = unique_fingerprints([b, a])
    assert [f.fingerprint for f in first] == [f.fingerprint for f in second]
    assert len({f.fingerprint for f in first}) == 2
    assert {f.message for f in first} == {a.message, b.message}


def test_exact_duplicates_are_reported_once() -> None:
    a = _flow_finding("La;->m()V")
    assert unique_fingerprints([a, dataclasses.replace(a)]) == [a]


def test_ios_findings_fingerprints_are_unique_with_two_urls_on_one_tracking_host(kb) -> None:  # type: ignore[no-untyped-def]
    from appvet.analyze import ios_capabilities, ios_findings, ios_sdks
    from appvet.ingest.interface import Options
    from appvet.ios.bundle import open_bundle
    from appvet.ios.gather import gather
    from appvet.kb.ios import load_ios

    ios_kb = load_ios(kb)
    facts = gather(open_bundle(BUILT / "ios" / "demoshop.ipa"), Options())
    sdk_hits, attribution = ios_sdks.detect(facts, ios_kb, kb, ON)
    caps = ios_capabilities.find(facts, ios_kb, attribution)
    tracked = next(e for e in review(BUILT / "ios" / "demoshop.ipa", kb=kb, on=ON).endpoints
                   if e.holder == "pangle" and e.kind == "url")
    value = tracked.value + "report/"
    second = dataclasses.replace(tracked, value=value,
                                 evidence=tuple(dataclasses.replace(e, excerpt=value) for e in tracked.evidence))
    found = ios_findings.derive(facts, ios_kb, caps, sdk_hits, [], [tracked, second], attribution)
    on_host = [f for f in found if f.rule == "AV303"]
    assert len(on_host) == 2
    prints = [f.fingerprint for f in found]
    assert len(prints) == len(set(prints))
