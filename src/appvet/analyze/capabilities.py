"""Which code can obtain each data category: sensitive API references attributed to their callers."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable

from appvet.analyze.interface import AppFacts, DexUnit
from appvet.analyze.sdks import Attribution, dotted
from appvet.ingest.interface import Budget
from appvet.kb import KnowledgeBase
from appvet.model import Capability, Evidence

# Categories that no code obtains without one of the category's permissions granted: Android
# returns nothing (or throws) to an app that did not declare one. Other categories have
# permission-free paths (ANDROID_ID, the advertising ID, media picked by the user, the package
# list below API 30), so a missing permission says nothing about them.
PERMISSION_GATED = frozenset({
    "precise_location", "coarse_location", "camera", "microphone", "contacts_social_graph", "calendar",
    "call_log", "sms", "health_sensors", "phone_number", "sim_identifiers",
})
# A fine-location grant also yields coarse location.
_ALSO_GRANTS = {"coarse_location": ("android.permission.ACCESS_FINE_LOCATION",)}
# The telephony identifiers (IMEI, MEID, subscriber id) need READ_PHONE_STATE; the category's other
# members do not, so it is gated only when every API of the capability is one of these.
_PHONE_STATE_APIS = ("Landroid/telephony/TelephonyManager;->", "Landroidx/core/telephony/TelephonyManagerCompat;->")

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
                holder_kind=attribution.kind(holder),
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
                       tuple(sorted(perms)), "present", evidence, holder_kind=MANIFEST_HOLDER)
        )
    caps.sort(key=lambda c: (c.category, c.holder))
    return caps


def required_permissions(kb: KnowledgeBase, cap: Capability) -> tuple[str, ...]:
    """Permissions one of which the app must hold for ``cap`` to yield data; ``()`` when none is needed."""
    if cap.category in PERMISSION_GATED:
        info = kb.categories.get(cap.category)
        perms = info.permissions if info else ()
        return tuple(sorted({*perms, *_ALSO_GRANTS.get(cap.category, ())}))
    if cap.category == "device_identifiers" and cap.apis and all(a.startswith(_PHONE_STATE_APIS) for a in cap.apis):
        return ("android.permission.READ_PHONE_STATE", "android.permission.READ_PRIVILEGED_PHONE_STATE")
    return ()


def gate_by_permissions(kb: KnowledgeBase, caps: Iterable[Capability], declared: Iterable[str]) -> list[Capability]:
    """Code whose data needs a permission the app does not declare cannot obtain it: such a
    capability stays ``present`` (the code is there; a later version or another app sharing the
    user id could grant it) but is never ``reachable``, and says why."""
    held = set(declared)
    out = []
    for cap in caps:
        needed = required_permissions(kb, cap) if cap.holder != MANIFEST_HOLDER else ()
        if needed and not held.intersection(needed):
            names = " or ".join(p.removeprefix("android.permission.") for p in needed)
            note = (f"the app does not declare {names}: Android gives this data to no code in it, so the code "
                    f"is present but cannot obtain it")
            confidence = "present" if cap.confidence == "reachable" else cap.confidence
            cap = dataclasses.replace(cap, confidence=confidence, note=note,
                                      witness=() if confidence != cap.confidence else cap.witness)
        out.append(cap)
    return out
