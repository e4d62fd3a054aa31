"""Where an iOS app can send data: URLs, hosts and IP literals in C strings, CFStrings and bundle files."""

from __future__ import annotations

from collections import defaultdict

from appvet.analyze.endpoints import candidates, registrable_domain
from appvet.analyze.ios_sdks import IosAttribution
from appvet.ingest.interface import Budget
from appvet.ios.gather import IosFacts
from appvet.kb import KnowledgeBase
from appvet.model import Endpoint, Evidence

MAX_EVIDENCE = 8


def find(facts: IosFacts, kb: KnowledgeBase, attribution: IosAttribution, budget: Budget) -> list[Endpoint]:
    found: dict[tuple[str, str], list] = {}
    holders_seen: dict[tuple[str, str], set[str]] = defaultdict(set)

    def add(value: str, host: str, kind: str, ev: Evidence, holder: str | None) -> None:
        key = (value, kind)
        row = found.setdefault(key, [host, []])
        if holder:
            holders_seen[key].add(holder)
        if len(row[1]) < MAX_EVIDENCE and ev not in row[1]:
            row[1].append(ev)

    for image in facts.images:
        m = image.macho
        if m is None:
            continue
        budget.check(facts.bundle.file_name)
        used: dict[str, list[str]] = defaultdict(list)
        for fn, kind, value in m.code_refs:
            if kind == "string" and "." in value:
                used[value].append(fn)
        image_holder = attribution.image_holder(image)
        for section, strings in (("__cstring", m.cstrings), ("__cfstring", m.cfstrings)):
            for s in strings:
                if "." not in s:
                    continue
                for value, host, kind in candidates(s, kb):
                    fns = used.get(s)
                    if not fns:
                        holder = image_holder if image.kind != "main" else None
                        add(value, host, kind, Evidence("macho", image.path, section, value), holder)
                    for fn in sorted(set(fns or ()))[:MAX_EVIDENCE]:
                        add(value, host, kind, Evidence("macho", image.path, fn, value), attribution.holder(image, fn))
    for text in facts.texts:
        for s in text.strings:
            for value, host, kind in candidates(s, kb):
                add(value, host, kind, Evidence("resource", text.path, text.path, value), None)
    for pm in facts.privacy:
        for domain in pm.tracking_domains:
            for value, host, kind in candidates(domain, kb) or [(domain, domain, "host")]:
                add(value, host, kind, Evidence("plist", facts.bundle.path(pm.path), "NSPrivacyTrackingDomains",
                                                 domain), None)
    out = []
    for (value, kind), (host, evidence) in found.items():
        domain = None if kind == "ip" else registrable_domain(host)
        owner = kb.entity_for_host(host) if kind != "ip" else None
        holders = sorted(holders_seen.get((value, kind), ()))
        out.append(Endpoint(
            value=value, host=host, kind=kind,  # type: ignore[arg-type]
            domain=domain, owner=owner, owner_country=kb.entities[owner].country_hq if owner else None,
            holder=", ".join(holders) if holders else None,
            evidence=tuple(sorted(evidence, key=lambda e: (e.kind, e.file, e.locator, e.excerpt))),
        ))
    out.sort(key=lambda e: (e.host, e.value))
    return out
