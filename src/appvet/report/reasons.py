"""Why a policy decided what it did: the findings named by the verdict, each with who and where.

One list serves every output (terminal, HTML, Markdown, the service's job page), so they cannot
disagree. Each reason carries the fingerprint a waiver names to accept it.
"""

from __future__ import annotations

from dataclasses import dataclass

from appvet.model import Finding, Review

LEVELS = ("fail", "review")


@dataclass(frozen=True)
class Reason:
    rule: str
    level: str
    """``fail`` or ``review``: the policy action of the rule that produced the finding."""
    title: str
    subject: str
    """What the rule fired on, e.g. ``endpoint a.qq.com (owner tencent, CN)``."""
    message: str
    fingerprint: str
    category: str | None
    sdk: str | None
    """The SDK's name, when the finding is about an SDK."""
    owner: str | None
    """The ultimate owner's name, when known."""
    country: str | None
    """The owner's country (or the SDK's jurisdictions), when known."""


def _level(f: Finding) -> str:
    for e in f.evidence:
        if e.kind == "policy":
            action = e.excerpt.split(":", 1)[0].strip()
            if action in LEVELS:
                return action
    return "review"


def _entity_names(review: Review) -> dict[str, tuple[str, str | None]]:
    names: dict[str, tuple[str, str | None]] = {}
    for s in review.sdks:
        for link in s.owner_chain:
            names.setdefault(link.entity, (link.name, link.country))
    for link in review.app.developer:
        names.setdefault(link.entity, (link.name, link.country))
    for e in review.endpoints:
        if e.owner:
            names.setdefault(e.owner, (e.owner, e.owner_country))
    return names


def reasons(review: Review) -> list[Reason]:
    """The findings that decided the verdict, fail-level first; empty without a policy."""
    if review.verdict is None:
        return []
    by_fp = {f.fingerprint: f for f in review.findings}
    sdks = {s.id: s for s in review.sdks}
    entities = _entity_names(review)
    out = []
    for fp in review.verdict.reasons:
        f = by_fp.get(fp)
        if f is None:
            continue
        sdk = sdks.get(f.sdk) if f.sdk else None
        owner = country = None
        if sdk is not None and sdk.owner_chain:
            owner, country = sdk.owner_chain[-1].name, sdk.owner_chain[-1].country
            if sdk.jurisdictions:
                country = ", ".join(sdk.jurisdictions)
        if f.entity and f.entity in entities:
            owner, country = entities[f.entity][0], entities[f.entity][1] or country
        elif f.entity and owner is None:
            owner = f.entity
        subject = f.message.split(": ", 1)[0] if ": " in f.message else ""
        out.append(Reason(rule=f.rule, level=_level(f), title=f.title, subject=subject, message=f.message,
                          fingerprint=fp,
                          category=f.category, sdk=sdk.name if sdk else f.sdk, owner=owner, country=country))
    out.sort(key=lambda r: (LEVELS.index(r.level) if r.level in LEVELS else len(LEVELS), r.rule, r.fingerprint))
    return out


def reason_line(r: Reason) -> str:
    """One line for a person: rule, level, who, owner and country, and the fingerprint to waive it."""
    who = []
    if r.sdk:
        who.append(f"SDK {r.sdk}")
    if r.owner:
        who.append(f"owner {r.owner}")
    if r.country:
        who.append(f"country {r.country}")
    what = f"{r.subject}: {r.title}" if r.subject else r.title
    detail = f" [{'; '.join(who)}]" if who else ""
    return f"{r.level}: {r.rule} {what}{detail} — fingerprint {r.fingerprint}"
