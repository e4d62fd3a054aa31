"""Which code in an iOS app can obtain each data category.

A function's code that loads a catalogued class, selector or symbol is a use site; it is
attributed through :class:`IosAttribution`. A binary that imports a catalogued class or symbol
without any use site found (an encrypted binary, or code reached in ways the scan does not
follow) is attributed as a whole to the binary's holder, with the import as evidence.
"""

from __future__ import annotations

from appvet.analyze.ios_sdks import IosAttribution
from appvet.ios.gather import Image, IosFacts
from appvet.kb.ios import IosKnowledge
from appvet.model import FIRST_PARTY, Capability, Evidence

MAX_EVIDENCE = 12
MANIFEST_HOLDER = "manifest"
_KIND = {"class": "class", "selector": "selector", "symbol": "symbol"}
_VERB = {"class": "uses class ", "selector": "sends ", "symbol": "calls "}


def usage_grants(facts: IosFacts, ios_kb: IosKnowledge) -> dict[str, set[str]]:
    """Category -> Info.plist usage keys whose permission grants it."""
    grants: dict[str, set[str]] = {}
    for key in facts.info.usage:
        api = ios_kb.api("usage-key", key)
        for cat in api.categories if api else ():
            grants.setdefault(cat, set()).add(key)
    return grants


def _sites(image: Image, ios_kb: IosKnowledge) -> list[tuple[str | None, str, tuple[str, ...], str]]:
    """(function or None, api label, categories, verb) for one binary."""
    m = image.macho
    if m is None:
        return []
    out: list[tuple[str | None, str, tuple[str, ...], str]] = []
    used: set[tuple[str, str]] = set()
    for fn, kind, value in m.code_refs:
        if kind not in _KIND:
            continue
        api = ios_kb.api(kind, value)
        if api is not None:
            out.append((fn, _label(api.framework, kind, value), api.categories, _VERB[kind] + value))
            used.add((kind, value))
    # Imports and selector references with no use site found still show the binary can take the data.
    for cls in m.objc_class_refs:
        api = ios_kb.api("class", cls)
        if api is not None and ("class", cls) not in used:
            out.append((None, _label(api.framework, "class", cls), api.categories, f"references class {cls}"))
    for sym in m.imports:
        api = ios_kb.api("symbol", sym)
        if api is not None and ("symbol", sym) not in used:
            out.append((None, _label(api.framework, "symbol", sym), api.categories, f"imports {sym}"))
    for sel in m.objc_selectors:
        api = ios_kb.api("selector", sel)
        if api is not None and ("selector", sel) not in used:
            out.append((None, _label(api.framework, "selector", sel), api.categories, f"references selector {sel}"))
    return out


def _label(framework: str, kind: str, value: str) -> str:
    return f"{framework}:{value}" if kind != "selector" else f"{framework}:-{value}"


def find(facts: IosFacts, ios_kb: IosKnowledge, attribution: IosAttribution) -> list[Capability]:
    grants = usage_grants(facts, ios_kb)

    def gated(cats: tuple[str, ...]) -> tuple[str, ...]:
        # As for Android permissions: an API yielding several categories (a capture device is a camera
        # or a microphone) yields those the usage descriptions allow; with none declared, each stays possible.
        allowed = tuple(c for c in cats if c in grants)
        return allowed or cats if len(cats) > 1 else cats

    acc: dict[tuple[str, str], tuple[set[str], set[str], list[Evidence]]] = {}
    for image in facts.images:
        for fn, api, cats, verb in _sites(image, ios_kb):
            holder = attribution.holder(image, fn)
            pkg = attribution.holder_package(image, fn, holder)
            # Without a use site, a class prefix cannot be applied: the binary's holder answers.
            if fn is None:
                holder = attribution.image_holder(image)
                pkg = attribution.holder_package(image, None, holder)
            ev = Evidence("macho", image.path, fn or "imports", verb)
            for cat in gated(cats):
                pkgs, apis, evidence = acc.setdefault((cat, holder), (set(), set(), []))
                pkgs.add(pkg)
                apis.add(api)
                if len(evidence) < MAX_EVIDENCE and ev not in evidence:
                    evidence.append(ev)
    caps = []
    for (cat, holder), (pkgs, apis, evidence) in acc.items():
        # The developer's own words for why the app asks, beside the code that can take the data.
        evidence = evidence + [Evidence("plist", facts.info_path, k, facts.info.usage[k])
                               for k in sorted(grants.get(cat, ()))]
        caps.append(Capability(
            category=cat, holder=holder,
            holder_package=", ".join(sorted(pkgs)[:3]) + (" …" if len(pkgs) > 3 else ""),
            apis=tuple(sorted(apis)), permissions=tuple(sorted(grants.get(cat, ()))), confidence="present",
            evidence=tuple(sorted(evidence, key=lambda e: (e.file, e.locator, e.excerpt))),
            holder_kind="first-party" if holder == FIRST_PARTY else "sdk",
        ))
    covered = {cat for cat, _ in acc}
    for cat, keys in grants.items():
        if cat in covered:
            continue
        ev = tuple(Evidence("plist", facts.info_path, k, facts.info.usage.get(k, "")) for k in sorted(keys))
        caps.append(Capability(cat, MANIFEST_HOLDER, facts.info.bundle_id or "", (), tuple(sorted(keys)),
                               "present", ev, holder_kind=MANIFEST_HOLDER))
    caps.sort(key=lambda c: (c.category, c.holder))
    return caps
