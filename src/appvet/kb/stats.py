"""Counts and consistency checks of a loaded knowledge base, for ``appvet kb stats`` / ``appvet kb check``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from appvet.kb.ban_checks import validate_ban_lists
from appvet.kb.importers import OPERATOR_PREFIX
from appvet.kb.knowledge import KnowledgeBase


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
            "sdks_owner_not_established": sum(1 for s in sdks if s.owner.startswith(OPERATOR_PREFIX)),
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


def _duplicates(kind: str, claims: dict[str, list[str]]) -> Iterable[str]:
    for value, owners in sorted(claims.items()):
        if len(owners) > 1:
            # kb.sdks is in precedence order, so the last claimant is the one the matchers return.
            yield f"{kind} {value!r} claimed by {', '.join(owners)}; {owners[-1]} wins"


def _covering(prefix: str, others: Iterable[str]) -> str | None:
    """A shorter package prefix among ``others`` that already matches everything ``prefix`` matches."""
    best = None
    for other in others:
        covers = other != prefix and other.endswith(".") and prefix.startswith(other)
        if covers and (best is None or len(other) > len(best)):
            best = other
    return best


def validate(kb: KnowledgeBase) -> list[str]:
    """Problems worth a human look; the knowledge base still loads with them."""
    problems: list[str] = []
    for kind, field in (
        ("class prefix", "class_prefixes"),
        ("weak prefix", "weak_prefixes"),
        ("native library", "native_libs"),
        ("meta-data key", "meta_data"),
        ("component", "components"),
    ):
        problems.extend(_duplicates(kind, _claims(kb, field)))

    strong = _claims(kb, "class_prefixes")
    for sdk in kb.sdks.values():
        for prefix in sdk.class_prefixes:
            cover = _covering(prefix, sdk.class_prefixes)
            if cover:
                problems.append(f"sdk {sdk.id}: class prefix {prefix!r} is redundant with its own {cover!r}")
        for prefix in sdk.weak_prefixes:
            if prefix in strong:
                problems.append(
                    f"sdk {sdk.id}: weak prefix {prefix!r} is a strong prefix of {', '.join(strong[prefix])}"
                )
        if not (sdk.class_prefixes or sdk.native_libs or sdk.meta_data or sdk.components):
            problems.append(f"sdk {sdk.id}: no strong signature; it can only be reported together with another SDK")
        if not kb.jurisdictions(sdk.owner):
            problems.append(f"sdk {sdk.id}: no country anywhere on the owner chain of {sdk.owner}")

    owners_by_domain: dict[str, set[str]] = defaultdict(set)
    for ent in kb.entities.values():
        for dom in ent.domains:
            owners_by_domain[dom].add(ent.id)
    for sdk in kb.sdks.values():
        for dom in sdk.domains:
            owners_by_domain[dom].add(sdk.owner)
    for dom, owners in sorted(owners_by_domain.items()):
        if "." not in dom:
            problems.append(f"domain {dom!r} has a single label")
        # A subsidiary and its parent both claiming a domain is consistent; unrelated owners are not.
        chains = [{e.id for e in kb.owner_chain(o)} for o in owners]
        if len(owners) > 1 and not any(all(o in ch for o in owners) for ch in chains):
            problems.append(f"domain {dom!r} attributed to several entities: {', '.join(sorted(owners))}")

    for ent in kb.entities.values():
        if not ent.sources:
            problems.append(f"entity {ent.id}: no source")
        chain = kb.owner_chain(ent.id)
        if chain and chain[-1].parent is not None:
            problems.append(f"entity {ent.id}: ownership chain ends in a cycle or a missing parent")
    problems.extend(validate_ban_lists(kb))
    return problems
