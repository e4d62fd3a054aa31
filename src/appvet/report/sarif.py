"""SARIF 2.1.0 output: one result per finding, one rule descriptor per rule id.

Each result points at the reviewed APK (``physicalLocation``) and at where inside it the evidence
is (``logicalLocations``: the dex method, the manifest element, the native library); the whole
evidence chain rides in the result's property bag. ``partialFingerprints`` carries appvet's own
fingerprint, which does not depend on dex offsets or evidence order, so code-scanning services
match results across builds.
"""

from __future__ import annotations

from typing import Any

from appvet import __version__
from appvet.model import Evidence, Finding, Review, to_dict

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "appvetFingerprint/v1"
MAX_LOCATIONS = 10
"""Logical locations per result; the full chain stays in the property bag."""

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_LOGICAL_KIND = {"dex": "function", "manifest": "element", "permission": "element", "native": "module",
                 "resource": "resource", "asset": "resource", "certificate": "object", "archive": "module"}


def rule_doc(rule_id: str, policy_docs: dict[str, str] | None = None) -> str:
    """Documentation page of a rule: docs/rules/<id>.md for built-in rules, the policy's page for policy rules."""
    if policy_docs and rule_id in policy_docs:
        return policy_docs[rule_id]
    if rule_id.startswith("AV"):
        return f"docs/rules/{rule_id}.md"
    return "docs/policies.md"


def _level(finding: Finding, actions: dict[str, str]) -> str:
    action = actions.get(finding.rule)
    if action == "fail":
        return "error"
    if action == "review":
        return "warning"
    if action == "info":
        return "note"
    return _LEVEL.get(finding.severity, "warning")


def _logical(ev: Evidence) -> dict[str, Any]:
    if ev.kind == "dex" and "->" in ev.locator:
        cls, _, member = ev.locator.partition("->")
        return {"name": member.split("(", 1)[0], "fullyQualifiedName": f"{ev.file}!{ev.locator}",
                "kind": "function", "properties": {"class": cls, "file": ev.file}}
    return {"name": ev.locator or ev.file, "fullyQualifiedName": f"{ev.file}!{ev.locator}" if ev.locator else ev.file,
            "kind": _LOGICAL_KIND.get(ev.kind, "object"), "properties": {"file": ev.file}}


def _location(review: Review, finding: Finding) -> dict[str, Any]:
    inside = [ev for ev in finding.evidence if ev.kind in _LOGICAL_KIND and ev.file][: MAX_LOCATIONS * 2]
    loc: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": review.app.file_name, "index": 0}},
    }
    logical: list[dict[str, Any]] = []
    for ev in inside:
        item = _logical(ev)
        if item not in logical:  # SARIF requires the logical locations of a location to be unique
            logical.append(item)
    if logical:
        loc["logicalLocations"] = logical[:MAX_LOCATIONS]
    return loc


def _rule(finding: Finding, docs: dict[str, str] | None, meta: dict[str, dict[str, Any]]) -> dict[str, Any]:
    extra = meta.get(finding.rule, {})
    props: dict[str, Any] = {"severity": finding.severity}
    if extra.get("masvs"):
        props["tags"] = list(extra["masvs"])
    if extra.get("action"):
        props["action"] = extra["action"]
    return {
        "id": finding.rule,
        "name": finding.rule,
        "shortDescription": {"text": finding.title},
        "helpUri": rule_doc(finding.rule, docs),
        "defaultConfiguration": {"level": _LEVEL.get(finding.severity, "warning")},
        "properties": props,
    }


def to_sarif(review: Review, policy: Any | None = None) -> dict[str, Any]:
    """The review as a SARIF log; ``policy`` (an :class:`appvet.policy.Policy`) adds MASVS tags and doc links."""
    meta: dict[str, dict[str, Any]] = {}
    docs: dict[str, str] = {}
    if policy is not None:
        for rule in policy.rules:
            meta[rule.id] = {"masvs": rule.masvs, "action": rule.action}
            docs[rule.id] = policy.doc
    actions = {rid: m["action"] for rid, m in meta.items()}
    findings = sorted(review.findings, key=lambda f: (f.rule, f.fingerprint))
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for f in findings:
        if f.rule not in index:
            index[f.rule] = len(rules)
            rules.append(_rule(f, docs, meta))
    results = []
    for f in findings:
        props: dict[str, Any] = {"severity": f.severity, "confidence": f.confidence,
                                 "evidenceChain": to_dict(list(f.evidence))}
        for name in ("category", "sdk", "entity"):
            value = getattr(f, name)
            if value:
                props[name] = value
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _level(f, actions),
            "message": {"text": f.message or f.title},
            "locations": [_location(review, f)],
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
            "properties": props,
        })
    run_props: dict[str, Any] = {"package": review.app.package, "versions": dict(review.versions)}
    if review.verdict is not None:
        run_props["verdict"] = to_dict(review.verdict)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "appvet", "version": __version__, "rules": rules}},
            "artifacts": [{
                "location": {"uri": review.app.file_name},
                "length": review.app.size,
                "hashes": {"sha-256": review.app.sha256},
                "roles": ["analysisTarget"],
            }],
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": run_props,
        }],
    }
