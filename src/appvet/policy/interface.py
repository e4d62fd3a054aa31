"""Value types of the policy stage: policies, rules, conditions, waivers and the result of an evaluation.

A policy is data (a YAML file validated by ``schema/policy.schema.json``), compiled into small
condition objects that each answer one question about one *subject* -- a capability, an SDK, an
endpoint or the app itself. Nothing in a policy file is ever evaluated as code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from appvet.errors import UsageError
from appvet.model import Confidence, Evidence, Finding, Severity, Verdict

Decision = Literal["pass", "review", "fail"]
Action = Literal["info", "review", "fail"]
SubjectKind = Literal["app", "sdk", "capability", "endpoint"]

DECISION_ORDER: dict[str, int] = {"pass": 0, "review": 1, "fail": 2}
ACTION_DECISION: dict[str, Decision] = {"info": "pass", "review": "review", "fail": "fail"}


class PolicyError(UsageError):
    """A policy, waiver or baseline file that cannot be used (exit code 2)."""


@dataclass(frozen=True)
class Subject:
    """One thing a rule is tested against, with the facts a condition may read and its evidence chain."""

    kind: SubjectKind
    key: tuple[str, ...]
    """Ids naming the subject (sdk id, category, host ...): the policy finding's fingerprint is built from them."""
    fields: Mapping[str, Any]
    """Field name -> value (a string, a bool, ``None`` or a tuple of strings)."""
    chain: tuple[Evidence, ...]
    """permission -> API -> calling code -> SDK -> owner -> ultimate parent -> jurisdiction -> endpoint -> request."""
    confidence: Confidence
    summary: str
    """One line naming the subject for a person (``Pangle (com.bytedance.sdk.openadsdk) -> precise_location``)."""
    category: str | None = None
    sdk: str | None = None
    entity: str | None = None


class Context(Protocol):
    """What a condition may consult besides the subject: named country lists."""

    def country_list(self, name: str) -> frozenset[str]: ...


class Condition(Protocol):
    """One test on a subject. Conditions are combined with :class:`AllOf`, :class:`AnyOf` and :class:`Not`."""

    def test(self, subject: Subject, ctx: Context) -> bool: ...


@dataclass(frozen=True)
class LegalBasis:
    citation: str
    """The instrument as lawyers cite it (``15 CFR 791.4``)."""
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    """Rule id, e.g. ``FA001``; the rule id of every finding the rule produces."""
    title: str
    subject: SubjectKind
    when: Condition
    action: Action
    """``fail`` or ``review`` set the verdict; ``info`` only reports."""
    severity: Severity
    masvs: tuple[str, ...] = ()
    """OWASP MASVS controls the rule speaks to (``MASVS-PRIVACY-1``)."""
    description: str = ""
    condition_text: str = ""
    """The ``when`` clause as written, quoted in each finding's evidence."""


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    version: str
    rules: tuple[Rule, ...]
    legal_basis: tuple[LegalBasis, ...] = ()
    lists: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Country lists the policy defines itself; they shadow knowledge-base lists of the same name."""
    source: str = ""
    """File the policy was read from (``appvet/policy/policies/default.yaml`` for shipped ones)."""
    doc: str = ""
    """Documentation page of the policy, used as SARIF ``helpUri``."""


@dataclass(frozen=True)
class Waiver:
    reason: str
    approver: str
    expires: date
    """First day on which the waiver no longer applies."""
    fingerprint: str | None = None
    rule: str | None = None
    sdk: str | None = None
    package: str | None = None
    """App package the waiver is limited to; ``None``: any app."""

    def active_on(self, on: date) -> bool:
        return on < self.expires

    def matches(self, finding: Finding, package: str | None) -> bool:
        if self.package is not None and self.package != package:
            return False
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint
        if self.rule != finding.rule:
            return False
        return self.sdk is None or self.sdk == finding.sdk


@dataclass(frozen=True)
class WaivedFinding:
    finding: Finding
    waiver: Waiver


@dataclass(frozen=True)
class FiredRule:
    rule: str
    title: str
    action: Action
    severity: Severity
    masvs: tuple[str, ...]
    findings: tuple[str, ...]
    """Fingerprints of the (unwaived, new) findings the rule produced."""


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    decision: Decision
    verdict: Verdict
    fired: tuple[FiredRule, ...]
    """Rules with at least one finding left after waivers and the baseline, in policy order."""
    findings: tuple[Finding, ...]
    """Policy findings that count, sorted by rule then fingerprint."""
    waived: tuple[WaivedFinding, ...] = ()
    baselined: tuple[Finding, ...] = ()
    """Findings already present in the baseline review: reported, not counted."""
    expired_waivers: tuple[Waiver, ...] = ()
    """Waivers past their expiry date that would otherwise have matched a finding."""
    on: str = ""
    """ISO date the policy was evaluated for (ban lists in force, ownership, waiver expiry)."""
