"""The developer and signers a review reports are the ones Android verifies, never a stray or failed one."""

from __future__ import annotations

from datetime import date

import pytest

from appvet.analyze.findings import RULES
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT, ROOT

ON = date(2026, 11, 29)


@pytest.fixture(scope="module")
def reviews(kb) -> dict[str, Review]:  # type: ignore[no-untyped-def]
    return {name: review(BUILT / name, kb=kb, on=ON)
            for name in ("spoofed-signer.apk", "spoofed-digest.apk", "debug-signed.apk", "multisdk.apk")}


def test_stray_known_certificate_does_not_name_the_developer(reviews: dict[str, Review]) -> None:
    app = reviews["spoofed-signer.apk"].app
    assert [c.organisation for c in app.signers] == ["Example Org"]
    assert app.signers[0].schemes == ("v2",)
    assert app.verified_schemes == ("v2",)
    # Tencent is a known entity; its certificate sits in a META-INF/*.RSA with no .SF.
    assert app.developer == ()
    [finding] = [f for f in reviews["spoofed-signer.apk"].findings if f.rule == "AV106"]
    assert "META-INF/KNOWN.RSA" in finding.message
    assert any("O=Tencent" in e.excerpt for e in finding.evidence)


def test_failed_v2_signature_reports_no_signer(reviews: dict[str, Review]) -> None:
    r = reviews["spoofed-digest.apk"]
    assert r.app.signers == () and r.app.developer == () and r.app.verified_schemes == ()
    [finding] = [f for f in r.findings if f.rule == "AV106"]
    assert finding.severity == "high" and "refuses to install" in finding.message


def test_debug_key_is_a_finding_not_a_developer(reviews: dict[str, Review]) -> None:
    r = reviews["debug-signed.apk"]
    assert r.app.developer == ()
    assert [f.rule for f in r.findings if f.rule.startswith("AV10")] == ["AV107"]


def test_release_signed_app_has_no_signature_finding(reviews: dict[str, Review]) -> None:
    r = reviews["multisdk.apk"]
    assert r.app.verified_schemes == ("v3", "v2", "v1")
    assert not [f for f in r.findings if f.rule in ("AV106", "AV107")]


def test_every_rule_has_a_documentation_page() -> None:
    for rule in RULES:
        assert (ROOT / "docs" / "rules" / f"{rule}.md").is_file(), rule



def test_failing_v1_beside_a_verified_v2_says_which_devices_refuse(reviews: dict[str, Review]) -> None:
    from types import SimpleNamespace

    from appvet.analyze.findings import signature_findings
    from appvet.android.verify import SignatureProblem

    signer = reviews["multisdk.apk"].app.signers[0]
    problem = SignatureProblem("invalid-signature", "v1", "META-INF/CN.RSA", "digest of classes.dex does not match",
                               signer, refused=True)
    facts = SimpleNamespace(package=SimpleNamespace(parts=[SimpleNamespace(prefix="")]),
                            signature_problems=[problem], certificates=[signer])
    [with_signer] = signature_findings(facts)  # type: ignore[arg-type]
    assert "versions that rely on the v1 signature refuse" in with_signer.message
    facts.certificates = []
    [without] = signature_findings(facts)  # type: ignore[arg-type]
    assert "no signer of it is reported" in without.message
    assert with_signer.fingerprint == without.fingerprint
