"""Where an iOS app can send data: URLs, hosts and IP literals in C strings, CFStrings and bundle files."""

from __future__ import annotations

from collections import defaultdict

from appvet.analyze.endpoints import MAX_EVIDENCE, Found, candidates
from appvet.analyze.ios_sdks import IosAttribution
from appvet.ingest.interface import Budget
from appvet.ios.gather import IosFacts
from appvet.kb import KnowledgeBase
from appvet.model import Endpoint, Evidence


def find(facts: IosFacts, kb: KnowledgeBase, attribution: IosAttribution, budget: Budget) -> list[Endpoint]:
    found = Found()
    add = found.add

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
    return found.endpoints(kb)
