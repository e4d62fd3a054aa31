"""Shipped policies on the fixture apps: verdicts, fired rules, evidence chains, waivers, baselines."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from appvet.kb.model import BanList, BannedApp
from appvet.model import Review, from_dict, to_dict, to_json
from appvet.policy import apply, evaluate, load_policy, parse_baseline, parse_waivers, shipped_policies
from tests.policy.lists import ban_list, lists_kb

ON = date(2026, 1, 1)

# (policy, fixture) -> (verdict, {rule: number of findings})
EXPECTED = {
    ("default", "plain"): ("pass", {}),
    ("default", "multisdk"): ("pass", {"DF001": 3, "DF002": 9}),
    ("default", "multidex"): ("pass", {}),
    ("us-foreign-adversary", "plain"): ("pass", {}),
    ("us-foreign-adversary", "multidex"): ("pass", {}),
    ("us-foreign-adversary", "diff-v2"): ("pass", {}),
    ("india-69a", "plain"): ("pass", {}),
    ("india-69a", "multisdk"): ("pass", {}),
    ("eu-third-country-transfer", "plain"): ("pass", {}),
    ("eu-third-country-transfer", "multisdk"): ("review", {"EU002": 4}),
    ("gov-device-strict", "plain"): ("pass", {}),
    ("gov-device-strict", "multisdk"): ("fail", {"GD001": 5, "GD002": 4}),
    ("gov-device-strict", "diff-v1"): ("pass", {}),
    ("gov-device-strict", "diff-v2"): ("fail", {"GD001": 1}),
}


def test_every_shipped_policy_is_covered() -> None:
    assert sorted({p for p, _ in EXPECTED}) == shipped_policies()


@pytest.mark.parametrize(("policy", "fixture"), sorted(EXPECTED))
def test_shipped_policy_verdicts(policy: str, fixture: str, kb, reviews: dict[str, Review]) -> None:
    result = evaluate(reviews[fixture], load_policy(policy), kb, ON)
    verdict, fired = EXPECTED[(policy, fixture)]
    assert result.decision == verdict
    assert {r.rule: len(r.findings) for r in result.fired} == fired
    assert result.verdict.decision == verdict
    assert result.verdict.policy == f"{policy}@1"


def test_us_policy_names_the_foreign_sdks_and_their_data(kb, reviews: dict[str, Review]) -> None:
    review = reviews["multisdk"]
    result = evaluate(review, load_policy("us-foreign-adversary"), kb, ON)
    # FA001 (fail) when the call is reachable or observed, FA002 (review) when it is only present.
    levels = {(c.holder, c.category): c.confidence for c in review.capabilities}
    want = {("megvii-face", "face_biometrics"), ("pangle", "precise_location")}
    got = {(f.sdk, f.category): f.rule for f in result.findings if f.rule in ("FA001", "FA002")}
    assert set(got) == want
    for key, rule in got.items():
        assert rule == ("FA002" if levels[key] == "present" else "FA001")
    assert result.decision == ("fail" if "FA001" in got.values() else "review")
    assert {r.rule for r in result.fired} == {*got.values(), "FA004"}
    # Facebook's SDK can read the phone number too, but it is not controlled from a listed country.
    assert all(f.sdk != "facebook-audience-network" for f in result.findings)
    fa004 = sorted(f.message.split(" ")[1] for f in result.findings if f.rule == "FA004")
    assert fa004 == ["alog.umeng.com", "android.bugly.qq.com", "api-access.pangolin-sdk-toutiao.com",
                     "ulogs.umeng.com"]
    assert set(result.verdict.reasons) == {f.fingerprint for f in result.findings}


def test_evidence_chain_runs_from_code_to_rule(kb, reviews: dict[str, Review]) -> None:
    result = evaluate(reviews["multisdk"], load_policy("us-foreign-adversary"), kb, ON)
    pangle = next(f for f in result.findings if f.rule in ("FA001", "FA002") and f.sdk == "pangle")
    kinds = [e.kind for e in pangle.evidence]
    # permission -> API in calling code -> SDK -> owner -> parent -> jurisdictions -> endpoint -> rule
    assert kinds[0] in ("permission", "dex")
    files = [e.file for e in pangle.evidence]
    assert files.index("kb:sdks") < files.index("kb:entities") < files.index("kb:jurisdictions")
    assert [e.excerpt.split(":")[0] for e in pangle.evidence if e.file == "kb:entities"] == [
        "owner", "ultimate parent"]
    assert any(e.kind == "dex" and "LocationCollector" in e.locator for e in pangle.evidence)
    assert any(e.kind == "endpoint" and "pangolin-sdk-toutiao.com" in e.excerpt for e in pangle.evidence)
    assert kinds[-1] == "policy" and pangle.evidence[-1].locator == f"us-foreign-adversary/{pangle.rule}"
    assert "CN" in next(e.locator for e in pangle.evidence if e.file == "kb:jurisdictions").split(",")


def test_fingerprints_do_not_depend_on_evidence_order(kb, reviews: dict[str, Review]) -> None:
    original = reviews["multisdk"]
    shuffled = dataclasses.replace(original, capabilities=tuple(
        dataclasses.replace(c, evidence=tuple(reversed(c.evidence))) for c in reversed(original.capabilities)
    ), sdks=tuple(reversed(original.sdks)))
    policy = load_policy("gov-device-strict")
    a = [f.fingerprint for f in evaluate(original, policy, kb, ON).findings]
    b = [f.fingerprint for f in evaluate(shuffled, policy, kb, ON).findings]
    assert a == b and len(set(a)) == len(a) == 9


def _us_ban(package: str) -> BanList:
    return ban_list(id="us-eo-13942", name="Executive Order 13942", jurisdiction="US", scope="transactions",
                       instrument="Executive Order 13942", date="2020-08-06",
                       apps=(BannedApp("Plain", package),), revoked="2021-06-09")


def test_ban_list_in_force_fails_and_revocation_ends_it(reviews: dict[str, Review]) -> None:
    kb = lists_kb({"us-eo-13942": _us_ban("org.example.plain")})
    policy = load_policy("us-foreign-adversary")
    during = evaluate(reviews["plain"], policy, kb, date(2020, 12, 1))
    assert during.decision == "fail"
    assert [r.rule for r in during.fired] == ["FA003"]
    ban_link = next(e for e in during.findings[0].evidence if e.file == "kb:ban-lists")
    assert ban_link.locator == "us-eo-13942" and "org.example.plain" in ban_link.excerpt
    assert evaluate(reviews["plain"], policy, kb, date(2020, 8, 5)).decision == "pass"
    assert evaluate(reviews["plain"], policy, kb, date(2021, 6, 9)).decision == "pass"
    # Another app is not touched by the list.
    assert evaluate(reviews["multidex"], policy, kb, date(2020, 12, 1)).decision == "pass"


def test_india_orders_block_apps_and_flag_sdks_of_blocked_publishers(reviews: dict[str, Review]) -> None:
    order = ban_list(id="in-69a-2020-06-29", name="MeitY order of 29 June 2020", jurisdiction="IN",
                        scope="blocking", instrument="IT Act 2000 s.69A", date="2020-06-29",
                        apps=(BannedApp("Multi SDK Demo", "com.example.multisdk"),), controllers=("bytedance",))
    kb = lists_kb({order.id: order})
    result = evaluate(reviews["multisdk"], load_policy("india-69a"), kb, ON)
    assert result.decision == "fail"
    assert {r.rule: len(r.findings) for r in result.fired} == {"IN001": 1, "IN002": 1}
    assert next(f for f in result.findings if f.rule == "IN002").sdk == "pangle"


def test_waiver_passes_a_failing_rule_until_it_expires(reviews: dict[str, Review]) -> None:
    kb = lists_kb({"us-eo-13942": _us_ban("org.example.plain")})
    policy = load_policy("us-foreign-adversary")
    waivers = parse_waivers(b"""
waivers:
  - rule: FA003
    package: org.example.plain
    reason: Internal build distributed outside the United States only.
    approver: privacy-office@example.org
    expires: 2021-01-01
""")
    before = evaluate(reviews["plain"], policy, kb, date(2020, 12, 31), waivers=waivers)
    assert before.decision == "pass" and not before.fired and not before.expired_waivers
    assert [w.finding.rule for w in before.waived] == ["FA003"]
    assert before.waived[0].waiver.approver == "privacy-office@example.org"
    after = evaluate(reviews["plain"], policy, kb, date(2021, 1, 1), waivers=waivers)
    assert after.decision == "fail" and not after.waived
    assert after.expired_waivers == waivers


def test_waiver_by_fingerprint_and_scope(kb, reviews: dict[str, Review]) -> None:
    policy = load_policy("gov-device-strict")
    full = evaluate(reviews["diff-v2"], policy, kb, ON)
    fp = full.findings[0].fingerprint
    by_print = parse_waivers(f"waivers:\n- fingerprint: {fp}\n  reason: r\n  approver: a\n  expires: '2030-01-01'\n"
                             .encode())
    assert evaluate(reviews["diff-v2"], policy, kb, ON, waivers=by_print).decision == "pass"
    other_sdk = parse_waivers(b"waivers:\n- rule: GD001\n  sdk: pangle\n  reason: r\n  approver: a\n"
                              b"  expires: 2030-01-01\n")
    assert evaluate(reviews["diff-v2"], policy, kb, ON, waivers=other_sdk).decision == "fail"
    other_app = parse_waivers(b"waivers:\n- rule: GD001\n  package: com.other\n  reason: r\n  approver: a\n"
                              b"  expires: 2030-01-01\n")
    assert evaluate(reviews["diff-v2"], policy, kb, ON, waivers=other_app).decision == "fail"


def test_baseline_reports_only_what_is_new(kb, reviews: dict[str, Review]) -> None:
    policy = load_policy("gov-device-strict")
    old = parse_baseline(to_json(reviews["diff-v1"]).encode())
    result = evaluate(reviews["diff-v2"], policy, kb, ON, baseline=old)
    assert [f.sdk for f in result.findings] == ["tencent-bugly"]
    same = parse_baseline(to_json(reviews["multisdk"]).encode())
    unchanged = evaluate(reviews["multisdk"], policy, kb, ON, baseline=same)
    assert unchanged.decision == "pass" and len(unchanged.baselined) == 9 and not unchanged.findings


def test_apply_returns_a_new_review_with_verdict_and_findings(kb, reviews: dict[str, Review]) -> None:
    base = reviews["multisdk"]
    result = evaluate(base, load_policy("us-foreign-adversary"), kb, ON)
    out = apply(base, result)
    assert base.verdict is None and out.verdict == result.verdict
    assert {f.rule for f in out.findings} >= {"AV101", "FA004"}
    assert len(out.findings) == len(base.findings) + len(result.findings)
    assert out.versions["policy"] == "us-foreign-adversary@1"
    # Applying twice does not duplicate, and the JSON report round-trips.
    assert apply(out, result).findings == out.findings
    assert from_dict(to_dict(out)) == dataclasses.replace(out, timings=out.timings)
