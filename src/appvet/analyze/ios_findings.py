"""Findings of an iOS review: the shared rules (AV101, AV104, AV105, AV202, AV204) and declared-vs-detected.

AV301: code can take a data category that no Info.plist usage description declares.
AV302: code can take a data category that no privacy manifest declares as collected.
AV303: a tracking SDK's domain is in the app but in no manifest's ``NSPrivacyTrackingDomains``.
AV304: code uses an API that needs a declared reason, and no privacy manifest declares that API type.
"""

from __future__ import annotations

from appvet.analyze.findings import HIGH_SENSITIVITY, RULES, behaviour_findings, sdk_data_access, unique_fingerprints
from appvet.analyze.ios_capabilities import MANIFEST_HOLDER
from appvet.analyze.ios_sdks import IosAttribution
from appvet.ios.gather import IosFacts
from appvet.kb.ios import IosKnowledge
from appvet.model import (
    FIRST_PARTY,
    Behaviour,
    Capability,
    Confidence,
    Endpoint,
    Evidence,
    Finding,
    SdkHit,
    Severity,
    fingerprint,
)

IOS_RULES: dict[str, str] = {
    "AV301": "Code can take data that no usage description declares",
    "AV302": "Data the code can take is not declared in a privacy manifest",
    "AV303": "Tracking domain not declared in a privacy manifest",
    "AV304": "Required-reason API used without a declared reason",
}
TRACKING_CATEGORIES = frozenset({"ads", "attribution", "marketing"})


def _title(rule: str) -> str:
    return IOS_RULES.get(rule) or RULES[rule]


def _finding(rule: str, severity: Severity, message: str, evidence: tuple[Evidence, ...], *, key: str,
             category: str | None = None, sdk: str | None = None, entity: str | None = None,
             confidence: Confidence = "present") -> Finding:
    return Finding(rule=rule, severity=severity, title=_title(rule), message=message, confidence=confidence,
                   evidence=evidence, category=category, sdk=sdk, entity=entity,
                   fingerprint=fingerprint(rule, key))


def _who(cap: Capability, names: dict[str, str]) -> str:
    return "first-party code" if cap.holder == FIRST_PARTY else names.get(cap.holder, cap.holder)


def declared_categories(facts: IosFacts, ios_kb: IosKnowledge) -> dict[str, list[str]]:
    """Category -> manifests (paths) that declare a collected data type granting it."""
    out: dict[str, list[str]] = {}
    for pm in facts.privacy:
        for item in pm.collected:
            api = ios_kb.api("privacy-data-type", item.type)
            for cat in api.categories if api else ():
                out.setdefault(cat, []).append(pm.path)
    return out


def undeclared(facts: IosFacts, ios_kb: IosKnowledge, caps: list[Capability], sdks: list[SdkHit]) -> list[Finding]:
    names = {s.id: s.name for s in sdks}
    gated = {cat for api in ios_kb.of_kind("usage-key").values() for cat in api.categories}
    usage_cats = {cat for key in facts.info.usage if (api := ios_kb.api("usage-key", key)) for cat in api.categories}
    manifest_cats = declared_categories(facts, ios_kb)
    out = []
    for cap in caps:
        if cap.holder == MANIFEST_HOLDER:
            continue
        who = _who(cap, names)
        sdk = None if cap.holder == FIRST_PARTY else cap.holder
        apis = ", ".join(cap.apis[:3]) + (" …" if len(cap.apis) > 3 else "")
        if cap.category in gated and cap.category not in usage_cats:
            severity: Severity = "high" if sdk and cap.category in HIGH_SENSITIVITY else "medium"
            out.append(_finding(
                "AV301", severity,
                f"{who} ({cap.holder_package}) uses {apis}, which yields {cap.category}, but Info.plist has no "
                "usage description for it: the capability is undeclared (iOS ends the app if it is used without "
                "one, so it is dormant, reached only in builds that add the key, or meant for another app).",
                cap.evidence, key=f"{cap.holder}|{cap.category}", category=cap.category, sdk=sdk))
        if cap.category not in manifest_cats:
            severity = "medium" if cap.category in HIGH_SENSITIVITY else "low"
            where = "no privacy manifest is in the app" if not facts.privacy else (
                f"none of the {len(facts.privacy)} privacy manifests declares a data type for it")
            out.append(_finding(
                "AV302", severity, f"{who} ({cap.holder_package}) can take {cap.category} through {apis}; {where}.",
                cap.evidence, key=f"{cap.holder}|{cap.category}", category=cap.category, sdk=sdk))
    return out


def tracking_domains(facts: IosFacts, ios_kb: IosKnowledge, sdks: list[SdkHit],
                     endpoints: list[Endpoint]) -> list[Finding]:
    declared = {d.lower().lstrip(".") for pm in facts.privacy for d in pm.tracking_domains}
    trackers = {s.id: s for s in sdks if TRACKING_CATEGORIES & set(s.categories)}
    domains: dict[str, str] = {}
    for sid in trackers:
        entry = ios_kb.sdks.get(sid)
        for d in entry.domains if entry else ():
            domains[d.lower()] = sid
    out = []
    for ep in endpoints:
        if ep.kind == "ip" or any(e.kind == "plist" for e in ep.evidence):
            continue
        host = ep.host.lower()
        holders = set((ep.holder or "").split(", ")) & set(trackers)
        sdk = next((domains[d] for d in domains if host == d or host.endswith("." + d)), None)
        sdk = sdk or (sorted(holders)[0] if holders else None)
        if sdk is None:
            continue
        if any(host == d or host.endswith("." + d) for d in declared):
            continue
        out.append(_finding(
            "AV303", "medium", f"{ep.host} belongs to {trackers[sdk].name} (categories "
            f"{', '.join(trackers[sdk].categories)}), but no privacy manifest lists it in NSPrivacyTrackingDomains; "
            "iOS blocks only declared tracking domains when the user has not allowed tracking.",
            ep.evidence, key=f"{sdk}|{ep.host}", sdk=sdk, entity=ep.owner))
    return out


def required_reasons(facts: IosFacts, ios_kb: IosKnowledge, attribution: IosAttribution,
                     sdks: list[SdkHit]) -> list[Finding]:
    """AV304 per holder and API type: used in code, declared in no privacy manifest's NSPrivacyAccessedAPITypes."""
    rows = ios_kb.of_kind("required-reason")
    if not rows:
        return []
    declared = {a.type for pm in facts.privacy for a in pm.accessed_apis}
    names = {s.id: s.name for s in sdks}
    uses: dict[tuple[str, str], tuple[set[str], list[Evidence]]] = {}

    def add(holder: str, api_type: str, ref: str, ev: Evidence) -> None:
        refs, evidence = uses.setdefault((holder, api_type), (set(), []))
        refs.add(ref)
        if len(evidence) < 8 and ev not in evidence:
            evidence.append(ev)

    for image in facts.images:
        m = image.macho
        if m is None:
            continue
        seen: set[str] = set()
        for fn, kind, value in m.code_refs:
            api = rows.get(f"{kind}:{value}")
            if api is not None and api.api_type:
                seen.add(f"{kind}:{value}")
                add(attribution.holder(image, fn), api.api_type, value, Evidence("macho", image.path, fn, value))
        whole = [("symbol", s) for s in m.imports] + [("class", c) for c in m.objc_class_refs] + [
            ("selector", s) for s in m.objc_selectors]
        for kind, value in whole:
            ref = f"{kind}:{value}"
            api = rows.get(ref)
            if api is not None and api.api_type and ref not in seen:
                add(attribution.image_holder(image), api.api_type, value,
                    Evidence("macho", image.path, "imports", value))
    out = []
    for (holder, api_type), (refs, evidence) in sorted(uses.items()):
        if api_type in declared:
            continue
        who = "first-party code" if holder == FIRST_PARTY else names.get(holder, holder)
        out.append(_finding(
            "AV304", "low", f"{who} uses {', '.join(sorted(refs)[:4])}, an API of type {api_type}, and no privacy "
            "manifest declares that type with a reason; App Store review refuses such uploads, so this build or SDK "
            "predates the rule or was never submitted.", tuple(evidence), key=f"{holder}|{api_type}",
            sdk=None if holder == FIRST_PARTY else holder))
    return out


def transport(facts: IosFacts) -> list[Finding]:
    info = facts.info
    out = []
    if info.ats_arbitrary_loads:
        out.append(_finding("AV104", "medium", "App Transport Security allows arbitrary loads "
                            "(NSAllowsArbitraryLoads): data may leave the device unencrypted.",
                            (Evidence("plist", facts.info_path, "NSAppTransportSecurity/NSAllowsArbitraryLoads",
                                      "true"),), key="ats-arbitrary-loads"))
    insecure = [e for e in info.ats_exceptions if e.insecure_http]
    if insecure:
        out.append(_finding("AV104", "low", f"App Transport Security allows plain HTTP to {len(insecure)} "
                            f"domain(s): {', '.join(e.domain for e in insecure[:5])}.",
                            tuple(Evidence("plist", facts.info_path, f"NSAppTransportSecurity/NSExceptionDomains/"
                                           f"{e.domain}", "NSExceptionAllowsInsecureHTTPLoads") for e in insecure),
                            key="ats-exceptions"))
    return out


def encrypted(facts: IosFacts) -> list[Finding]:
    out = []
    for image in facts.images:
        if image.macho is not None and image.macho.encrypted:
            lo, size, cid = image.macho.encryption or (0, 0, 1)
            hi = lo + size
            out.append(_finding(
                "AV204", "medium", f"{image.rel} is encrypted (FairPlay, cryptid={cid}, bytes {lo:#x}-{hi:#x}), as "
                "the App Store ships it: class names, selectors, strings and code of this binary were not read, so "
                "capabilities, SDK attribution and endpoints describe only what is outside it (linked libraries, "
                "imports, plist, manifests, frameworks). Review a decrypted copy.",
                (Evidence("macho", image.path, "LC_ENCRYPTION_INFO_64", f"cryptid={cid}"),),
                key=f"encrypted|{image.rel}"))
    return out


def archive(facts: IosFacts) -> list[Finding]:
    if not facts.oddities:
        return []
    ev = tuple(Evidence("archive", o.partition(": ")[0], "zip central directory", o.partition(": ")[2] or o)
               for o in sorted(facts.oddities)[:20])
    return [_finding("AV105", "low", f"{len(facts.oddities)} archive irregularities that analysers trip on.", ev,
                     key="archive-tricks")]


def probes(facts: IosFacts, caps: list[Capability]) -> list[Behaviour]:
    """``canOpenURL:`` with ``LSApplicationQueriesSchemes``: the iOS way of learning which apps are installed."""
    schemes = facts.info.queried_schemes
    out = []
    for cap in caps:
        if cap.category != "installed_apps" or cap.holder == MANIFEST_HOLDER:
            continue
        listed = tuple(f"scheme {s}" for s in schemes[:20])
        out.append(Behaviour(
            id="installed-apps", title="Probes which apps are installed (canOpenURL: with "
            f"{len(schemes)} queried URL schemes)", holder=cap.holder, holder_package=cap.holder_package,
            apis=tuple(sorted(cap.apis)) + listed, confidence=cap.confidence,
            evidence=(*cap.evidence, Evidence("plist", facts.info_path, "LSApplicationQueriesSchemes",
                                              ", ".join(schemes[:10])))))
    return out


def derive(facts: IosFacts, ios_kb: IosKnowledge, caps: list[Capability], sdks: list[SdkHit],
           behaviours: list[Behaviour], endpoints: list[Endpoint],
           attribution: IosAttribution | None = None) -> list[Finding]:
    found = (sdk_data_access(caps, sdks) + undeclared(facts, ios_kb, caps, sdks)
             + (required_reasons(facts, ios_kb, attribution, sdks) if attribution else [])
             + tracking_domains(facts, ios_kb, sdks, endpoints) + transport(facts) + encrypted(facts)
             + archive(facts) + behaviour_findings(behaviours, sdks))
    return unique_fingerprints(found)
