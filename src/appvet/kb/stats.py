"""Counts and consistency checks of a loaded knowledge base, for ``appvet kb stats`` / ``appvet kb check``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from appvet.kb.ban_checks import validate_ban_lists
from appvet.kb.importers import GENERIC_NATIVE_LIBS, generic_prefix
from appvet.kb.knowledge import KnowledgeBase
from appvet.model import Source


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def kb_stats(kb: KnowledgeBase) -> dict[str, Any]:
    """Row and signature counts, and how much of the data carries owners, countries and sources."""
    sdks = list(kb.sdks.values())
    entities = list(kb.entities.values())
    with_country = sum(1 for s in sdks if kb.jurisdictions(s.owner))
    by_country: dict[str, int] = defaultdict(int)
    for sdk in sdks:
        top = kb.ultimate_parent(sdk.owner)
        by_country[(top.country_hq if top else None) or "unknown"] += 1
    return {
        "version": kb.version,
        "counts": {
            "entities": len(entities),
            "sdks": len(sdks),
            "categories": len(kb.categories),
            "apis": len({(a.kind, a.ref) for a in kb.apis}),
            "api_category_pairs": len(kb.apis),
            "ban_lists": len(kb.ban_lists),
            "banned_apps": sum(len(b.apps) for b in kb.ban_lists.values()),
            "banned_apps_with_package": sum(1 for b in kb.ban_lists.values() for a in b.apps if a.package),
            "country_lists": len(kb.country_lists),
            "jurisdiction_profiles": len(kb.jurisdiction_profiles),
            "laws": sum(len(j.laws) for j in kb.jurisdiction_profiles.values()),
            "entities_with_ownership_changes": sum(1 for e in entities if e.ownership),
            "domains": len({d for e in entities for d in e.domains} | {d for s in sdks for d in s.domains}),
            "sdks_china_hq": by_country.get("CN", 0),
            "exodus_trackers_present": len({s.exodus_id for s in sdks if s.exodus_id is not None}),
            "sdks_owner_unknown": sum(1 for s in sdks if s.owner is None),
        },
        "signatures": {
            "class_prefixes": sum(len(s.class_prefixes) for s in sdks),
            "weak_prefixes": sum(len(s.weak_prefixes) for s in sdks),
            "native_libs": sum(len(s.native_libs) for s in sdks),
            "meta_data": sum(len(s.meta_data) for s in sdks),
            "components": sum(len(s.components) for s in sdks),
            "sdk_domains": sum(len(s.domains) for s in sdks),
            "entity_domains": sum(len(e.domains) for e in entities),
        },
        "sdks_with_owner_country": _share(with_country, len(sdks)),
        "entities_with_country": _share(sum(1 for e in entities if e.country_hq or e.country_inc), len(entities)),
        "entities_with_source": _share(sum(1 for e in entities if e.sources), len(entities)),
        "sdks_with_source": _share(sum(1 for s in sdks if s.sources), len(sdks)),
        "sdks_by_ultimate_parent_country": dict(sorted(by_country.items())),
    }


def _claims(kb: KnowledgeBase, field: str) -> dict[str, list[str]]:
    claims: dict[str, list[str]] = defaultdict(list)
    for sdk in kb.sdks.values():
        for value in getattr(sdk, field):
            claims[value].append(sdk.id)
    return claims


def _covering(prefix: str, others: Iterable[str]) -> str | None:
    """A shorter package prefix among ``others`` that already matches everything ``prefix`` matches."""
    best = None
    for other in others:
        covers = other != prefix and other.endswith(".") and prefix.startswith(other)
        if covers and (best is None or len(other) > len(best)):
            best = other
    return best


STAND_IN_MARKERS = ("not established", "operator unknown", "unknown operator", "owner unknown")
"""Words that mark an entity as a placeholder rather than an organisation."""


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`check`: ``error`` (wrong or unsupported data) or ``warning`` (weak data)."""

    level: str
    check: str
    """Short name of the check (``duplicate-signature``, ``stand-in`` ...), for filtering."""
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def check(kb: KnowledgeBase, today: date | None = None) -> list[Problem]:
    """Every consistency problem of a loaded knowledge base, errors first.

    Errors: a signature claimed by two SDKs, a generic-name signature, an SDK owner without a country on its
    chain, an SDK without owner and without the reason, a stand-in entity, an entity without a country, a
    domain claimed by two entities or by unrelated owners, a fact without a usable source, a source read
    before the event it attests, a broken chain. Warnings: redundant prefixes, an SDK nothing can match.
    """
    day = (today or date.today()).isoformat()
    out: list[Problem] = []

    def err(name: str, message: str) -> None:
        out.append(Problem("error", name, message))

    def warn(name: str, message: str) -> None:
        out.append(Problem("warning", name, message))

    for kind, field in (
        ("class prefix", "class_prefixes"),
        ("weak prefix", "weak_prefixes"),
        ("native library", "native_libs"),
        ("meta-data key", "meta_data"),
        ("component", "components"),
    ):
        for value, owners in sorted(_claims(kb, field).items()):
            if len(owners) > 1:
                # kb.sdks is in precedence order, so the last claimant is the one the matchers return.
                err("duplicate-signature", f"{kind} {value!r} claimed by {', '.join(owners)}; {owners[-1]} wins")

    strong = _claims(kb, "class_prefixes")
    for sdk in kb.sdks.values():
        for prefix in sdk.class_prefixes:
            cover = _covering(prefix, sdk.class_prefixes)
            if cover:
                warn("redundant-prefix", f"sdk {sdk.id}: class prefix {prefix!r} is redundant with its own {cover!r}")
            if generic_prefix(prefix):
                err("generic-signature", f"sdk {sdk.id}: class prefix {prefix!r} is too generic to name one SDK")
        for prefix in sdk.weak_prefixes:
            if prefix in strong:
                err(
                    "duplicate-signature",
                    f"sdk {sdk.id}: weak prefix {prefix!r} is a strong prefix of {', '.join(strong[prefix])}",
                )
        for lib in sdk.native_libs:
            if lib in GENERIC_NATIVE_LIBS:
                err("generic-signature", f"sdk {sdk.id}: native library {lib!r} is a generic name many projects ship")
        if not (sdk.class_prefixes or sdk.native_libs or sdk.meta_data or sdk.components or sdk.domains):
            warn("unmatchable", f"sdk {sdk.id}: no strong signature and no domain; nothing can report it")
        if sdk.owner is None:
            if not sdk.owner_unknown.strip():
                err("owner-unknown-reason", f"sdk {sdk.id}: no owner and no reason why")
        elif not kb.jurisdictions(sdk.owner):
            err("no-country", f"sdk {sdk.id}: no country anywhere on the owner chain of {sdk.owner}")
        _check_sources(f"sdk {sdk.id}", sdk.sources, day, err)

    entity_domains: dict[str, list[str]] = defaultdict(list)
    owners_by_domain: dict[str, set[str]] = defaultdict(set)
    for ent in kb.entities.values():
        for dom in ent.domains:
            entity_domains[dom].append(ent.id)
            owners_by_domain[dom].add(ent.id)
    for sdk in kb.sdks.values():
        for dom in sdk.domains:
            if sdk.owner is not None:
                owners_by_domain[dom].add(sdk.owner)
    for dom, ents in sorted(entity_domains.items()):
        if len(ents) > 1:
            err("domain-claimed-twice", f"domain {dom!r} listed by several entities: {', '.join(ents)}")
    for dom, owners in sorted(owners_by_domain.items()):
        if "." not in dom:
            err("domain", f"domain {dom!r} has a single label")
        # A subsidiary and its parent both claiming a domain is consistent; unrelated owners are not.
        chains = [{e.id for e in kb.owner_chain(o)} for o in owners]
        if len(owners) > 1 and not any(all(o in ch for o in owners) for ch in chains):
            err("domain-owners", f"domain {dom!r} attributed to unrelated entities: {', '.join(sorted(owners))}")

    sdk_owners = {sdk.owner for sdk in kb.sdks.values() if sdk.owner}
    for ent in kb.entities.values():
        label = f"entity {ent.id}"
        if ent.id.startswith("exodus-operator.") or any(m in ent.name.casefold() for m in STAND_IN_MARKERS):
            err("stand-in", f"{label}: a placeholder, not an organisation ({ent.name!r})")
        if not (ent.country_hq or ent.country_inc):
            if not ent.no_country:
                err("no-country", f"{label}: no country of headquarters or incorporation")
            elif ent.id in sdk_owners:
                err("no-country", f"{label}: owns an SDK, so it needs a country (no_country is for community projects)")
        _check_sources(label, ent.sources, day, err)
        for change in ent.ownership:
            where = f"{label}: ownership change of {change.date}"
            _check_sources(where, change.sources, day, err)
            if change.date > day:
                err("future", f"{where}: dated after today")
            if change.sources and max(s.as_of for s in change.sources) < change.date:
                err("source-before-event", f"{where}: every source was read before the change took effect")
        chain = kb.owner_chain(ent.id)
        if chain and chain[-1].parent is not None and not chain[-1].ownership:
            err("chain", f"{label}: ownership chain ends in a cycle or a missing parent")
    for message in validate_ban_lists(kb):
        err("ban-list", message)
    out.sort(key=lambda p: p.level != "error")
    return out


def _check_sources(label: str, sources: Iterable[Source], day: str, err: Callable[[str, str], None]) -> None:
    sources = tuple(sources)
    if not sources:
        err("no-source", f"{label}: no source")
    for src in sources:
        if not src.url.startswith(("http://", "https://", "urn:")):
            err("no-source", f"{label}: source {src.url!r} is not a URL")
        if src.as_of > day:
            err("future", f"{label}: source {src.url} read on {src.as_of}, after today")


def validate(kb: KnowledgeBase) -> list[str]:
    """:func:`check` as lines (``error: ...`` / ``warning: ...``); empty when the knowledge base is clean."""
    return [str(p) for p in check(kb)]
