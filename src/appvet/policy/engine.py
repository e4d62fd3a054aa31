"""Evaluate a policy on a review: rules -> findings with evidence chains -> waivers, baseline -> verdict.

``evaluate`` is a pure function of its arguments: the date is passed in (``on``), never read from
the clock here, so a verdict can be reproduced for any day -- ban lists in force, ownership and
waiver expiry all depend on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from appvet.analyze.findings import unique_fingerprints
from appvet.model import Evidence, Finding, Review, Verdict, fingerprint
from appvet.policy.interface import (
    ACTION_DECISION,
    DECISION_ORDER,
    Decision,
    FiredRule,
    Policy,
    PolicyError,
    PolicyResult,
    Rule,
    Subject,
    WaivedFinding,
    Waiver,
)
from appvet.policy.language import list_names
from appvet.policy.subjects import SubjectBuilder


class PolicyContext:
    """Resolves country-list names: the policy's own lists first, then the knowledge base's."""

    def __init__(self, policy: Policy, kb: Any) -> None:
        self.policy = policy
        self.kb = kb

    def country_list(self, name: str) -> frozenset[str]:
        if name in self.policy.lists:
            return self.policy.lists[name]
        lists = getattr(self.kb, "country_lists", None)
        if lists is None:
            raise PolicyError(
                f"policy {self.policy.name!r} uses country list {name!r}, but the knowledge base has no country "
                "lists (kb.country_lists)", file=self.policy.source)
        found = lists.get(name)
        if found is None:
            known = ", ".join(sorted(lists)) or "none"
            raise PolicyError(f"unknown country list {name!r} (knowledge base lists: {known})",
                              file=self.policy.source)
        countries = getattr(found, "countries", found)
        return frozenset(str(c) for c in countries)


def rule_finding(policy: Policy, rule: Rule, subject: Subject) -> Finding:
    """One finding per (rule, subject); its fingerprint names only the rule and the subject's ids."""
    link = Evidence("policy", policy.source, f"{policy.name}/{rule.id}", f"{rule.action}: {rule.condition_text}")
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        title=rule.title,
        message=f"{subject.summary}: {rule.title} (policy {policy.name}, {rule.action}).",
        confidence=subject.confidence,
        evidence=(*subject.chain, link),
        category=subject.category,
        sdk=subject.sdk,
        entity=subject.entity,
        fingerprint=fingerprint(rule.id, subject.kind, *subject.key),
    )


def raw_findings(review: Review, policy: Policy, kb: Any, on: date) -> list[tuple[Rule, Finding]]:
    """Every rule tested on every subject of its kind, before waivers and baselines."""
    ctx = PolicyContext(policy, kb)
    for rule in policy.rules:
        for name in list_names(rule.when):
            ctx.country_list(name)  # a missing list is an error even when no subject reaches the test
    builder = SubjectBuilder(review, kb, on)
    out: list[tuple[Rule, Finding]] = []
    for rule in policy.rules:
        for subject in builder.subjects(rule.subject):
            if rule.when.test(subject, ctx):
                out.append((rule, rule_finding(policy, rule, subject)))
    # Waivers name findings by fingerprint, so no two findings of a review may share one.
    rules = {id(f): r for r, f in out}
    by_identity = {(f.rule, f.message, f.evidence): rules[id(f)] for _r, f in out}
    return [(by_identity[(f.rule, f.message, f.evidence)], f) for f in unique_fingerprints([f for _r, f in out])]


def _baseline_fingerprints(baseline: Review | None, policy: Policy, kb: Any, on: date) -> set[str]:
    if baseline is None:
        return set()
    seen = {f.fingerprint for f in baseline.findings if f.fingerprint}
    seen.update(f.fingerprint for _, f in raw_findings(baseline, policy, kb, on))
    return seen


def _waiver_for(finding: Finding, package: str | None, waivers: Sequence[Waiver], on: date,
                expired: set[Waiver]) -> Waiver | None:
    hit = None
    for waiver in waivers:
        if not waiver.matches(finding, package):
            continue
        if waiver.active_on(on):
            hit = hit or waiver
        else:
            expired.add(waiver)
    return hit


def evaluate(
    review: Review,
    policy: Policy,
    kb: Any,
    on: date,
    waivers: Iterable[Waiver] | None = None,
    baseline: Review | None = None,
) -> PolicyResult:
    """Decide pass / review / fail for ``review`` under ``policy`` as of the date ``on``."""
    waiver_list = tuple(waivers or ())
    package = review.app.package
    known = _baseline_fingerprints(baseline, policy, kb, on)
    counted: list[tuple[Rule, Finding]] = []
    waived: list[WaivedFinding] = []
    baselined: list[Finding] = []
    expired: set[Waiver] = set()
    for rule, finding in raw_findings(review, policy, kb, on):
        waiver = _waiver_for(finding, package, waiver_list, on, expired)
        if waiver is not None:
            waived.append(WaivedFinding(finding, waiver))
        elif finding.fingerprint in known:
            baselined.append(finding)
        else:
            counted.append((rule, finding))
    expired.update(w for w in waiver_list if not w.active_on(on))

    decision: Decision = "pass"
    for rule, _ in counted:
        candidate = ACTION_DECISION[rule.action]
        if DECISION_ORDER[candidate] > DECISION_ORDER[decision]:
            decision = candidate
    reasons = sorted({f.fingerprint for rule, f in counted if rule.action != "info"})
    fired = []
    for rule in policy.rules:
        prints = tuple(sorted(f.fingerprint for r, f in counted if r.id == rule.id))
        if prints:
            fired.append(FiredRule(rule.id, rule.title, rule.action, rule.severity, rule.masvs, prints))
    findings = sorted((f for _, f in counted), key=lambda f: (f.rule, f.fingerprint))
    return PolicyResult(
        policy=policy.name,
        decision=decision,
        verdict=Verdict(decision=decision, policy=f"{policy.name}@{policy.version}", reasons=tuple(reasons)),
        fired=tuple(fired),
        findings=tuple(findings),
        waived=tuple(sorted(waived, key=lambda w: (w.finding.rule, w.finding.fingerprint))),
        baselined=tuple(sorted(baselined, key=lambda f: (f.rule, f.fingerprint))),
        expired_waivers=tuple(sorted(expired, key=lambda w: (w.expires, w.rule or "", w.fingerprint or ""))),
        on=on.isoformat(),
    )


def apply(review: Review, result: PolicyResult) -> Review:
    """A new Review carrying the verdict and the policy findings (replacing those of an earlier run)."""
    new = {f.fingerprint for f in result.findings}
    kept = [f for f in review.findings if f.fingerprint not in new]
    findings = sorted([*kept, *result.findings], key=lambda f: (f.rule, f.fingerprint))
    versions = {**review.versions, "policy": result.verdict.policy}
    return dataclasses.replace(review, findings=tuple(findings), verdict=result.verdict, versions=versions)
