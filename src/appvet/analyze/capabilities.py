"""Which code can obtain each data category: sensitive API references attributed to their callers."""

from __future__ import annotations

from collections import defaultdict

from appvet.analyze.interface import AppFacts, DexUnit
from appvet.analyze.sdks import Attribution, dotted
from appvet.ingest.interface import Budget
from appvet.kb import KnowledgeBase
from appvet.model import Capability, Evidence

MAX_EVIDENCE_PER_CAPABILITY = 12
MANIFEST_HOLDER = "manifest"
"""Holder of a category granted by a declared permission that no code reference was found for."""


def _sites(unit: DexUnit, kb: KnowledgeBase) -> list[tuple[int, str, tuple[str, ...], str]]:
    """(caller method idx, api label, categories, kind) for every sensitive reference in one dex."""
    dex = unit.dex
    refs = dex.scan_code()
    found: list[tuple[int, str, tuple[str, ...], str]] = []

    def method(idx: int) -> tuple[str, tuple[str, ...]]:
        cls, name, _proto = dex.method_ref(idx)
        return f"{cls}->{name}", kb.method_categories(cls, name)

    def field(idx: int) -> tuple[str, tuple[str, ...]]:
        cls, name, _type = dex.field_ref(idx)
        return f"{cls}->{name}", kb.field_categories(cls, name)

    def string(idx: int) -> tuple[str, tuple[str, ...]]:
        text = dex.string(idx)
        return text, kb.string_categories(text)

    # Look each distinct target up once; the per-site loop is then a dict membership test.
    for callers, targets, lookup, kind in (
        (refs.invoke_caller, refs.invoke_callee, method, "invoke"),
        (refs.field_caller, refs.field_ref, field, "field"),
        (refs.string_caller, refs.string_ref, string, "string"),
    ):
        hits = {idx: hit for idx in set(targets) if (hit := lookup(idx))[1]}
        if not hits:
            continue
        for caller, target in zip(callers, targets, strict=True):
            hit = hits.get(target)
            if hit is not None:
                found.append((caller, hit[0], hit[1], kind))
    return found


def find(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution, budget: Budget) -> list[Capability]:
    declared = {p.name for p in facts.manifest.summary.permissions} if facts.manifest else set()
    grants: dict[str, set[str]] = defaultdict(set)
    for perm in declared:
        for cat in kb.permission_categories(perm):
            grants[cat].add(perm)

    def gated(cats: tuple[str, ...]) -> tuple[str, ...]:
        # An API that yields one of several categories (a location fix is precise or coarse) yields
        # the one the declared permissions allow; with none declared, each stays possible.
        if len(cats) < 2:
            return cats
        allowed = tuple(c for c in cats if c in grants)
        return allowed or cats

    # (category, holder) -> holder_package, apis, evidence
    acc: dict[tuple[str, str], tuple[set[str], set[str], list[Evidence]]] = {}
    for unit in facts.dex:
        budget.check(facts.package.file_name)
        dex = unit.dex
        for caller_idx, api, cats, kind in _sites(unit, kb):
            cls, mname, proto = dex.method_ref(caller_idx)
            class_name = dotted(cls)
            holder = attribution.holder(class_name)
            pkg = attribution.holder_package(class_name, holder)
            where = f"{cls}->{mname}{proto}"
            excerpt = {"invoke": "calls ", "field": "reads ", "string": "uses string "}[kind] + api
            for cat in gated(cats):
                pkgs, apis, evidence = acc.setdefault((cat, holder), (set(), set(), []))
                pkgs.add(pkg)
                apis.add(api)
                ev = Evidence("dex", unit.path, where, excerpt)
                if len(evidence) < MAX_EVIDENCE_PER_CAPABILITY and ev not in evidence:
                    evidence.append(ev)

    caps = []
    for (cat, holder), (pkgs, apis, evidence) in acc.items():
        caps.append(
            Capability(
                category=cat,
                holder=holder,
                holder_package=", ".join(sorted(pkgs)[:3]) + (" …" if len(pkgs) > 3 else ""),
                apis=tuple(sorted(apis)),
                permissions=tuple(sorted(grants.get(cat, ()))),
                confidence="present",
                evidence=tuple(sorted(evidence, key=lambda e: (e.file, e.locator, e.excerpt))),
            )
        )
    covered = {cat for cat, _ in acc}
    mpath = f"{facts.package.parts[0].prefix}AndroidManifest.xml"
    for cat, perms in grants.items():
        if cat in covered:
            continue
        evidence = tuple(
            Evidence("permission", mpath, f'uses-permission[@android:name="{p}"]', p) for p in sorted(perms)
        )
        caps.append(
            Capability(cat, MANIFEST_HOLDER, facts.manifest.package or "" if facts.manifest else "", (),
                       tuple(sorted(perms)), "present", evidence)
        )
    caps.sort(key=lambda c: (c.category, c.holder))
    return caps
