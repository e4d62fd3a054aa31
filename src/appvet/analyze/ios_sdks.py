"""Which SDKs are inside an iOS app, how each was recognised, and which code each one holds.

Signals: embedded framework and extension folders, dylibs, the install names of linked
libraries, resource bundles and their bundle identifiers, and Objective-C classes (and Swift
classes) defined in any binary, matched by the SDK's class prefixes. Code inside a recognised
framework belongs to that framework's SDK; code elsewhere belongs to the SDK whose class prefix
names the class, or to the app.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath

from appvet.analyze.sdks import owner_chain
from appvet.ios.gather import Image, IosFacts
from appvet.ios.macho import swift_class_name
from appvet.kb import KnowledgeBase
from appvet.kb.ios import IosKnowledge
from appvet.model import FIRST_PARTY, Evidence, SdkHit

MAX_EVIDENCE = 6


@dataclass
class _Tally:
    classes: int = 0
    matched_by: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)

    def add(self, how: str, ev: Evidence) -> None:
        self.matched_by.add(how)
        if len(self.evidence) < MAX_EVIDENCE and ev not in self.evidence:
            self.evidence.append(ev)


def class_of(function: str) -> str | None:
    """``-[BUAdSlot load]`` -> ``BUAdSlot``; ``+[Cls(Cat) x]`` -> ``Cls``; other names -> ``None``."""
    if len(function) > 3 and function[0] in "+-" and function[1] == "[":
        return function[2:].split(" ", 1)[0].split("(", 1)[0]
    return None


def library_name(install_name: str) -> str:
    """``@rpath/BUAdSDK.framework/BUAdSDK`` -> ``BUAdSDK``; ``/usr/lib/libz.1.dylib`` -> ``libz.1``."""
    parts = PurePosixPath(install_name).parts
    for part in reversed(parts[:-1]):
        if part.endswith(".framework"):
            return part[: -len(".framework")]
    return PurePosixPath(install_name).stem


def sdk_for_class_name(ios_kb: IosKnowledge, name: str) -> str | None:
    """By Objective-C class prefix; for a Swift class, by its module (a statically linked Swift SDK keeps
    its module name, ``_TtC12AppsFlyerLib...``) and then by the type's own name."""
    hit = ios_kb.sdk_for_class(name)
    if hit is not None:
        return hit
    swift = swift_class_name(name)
    if swift:
        module, _, rest = swift.partition(".")
        return ios_kb.sdk_for_framework(module) or ios_kb.sdk_for_class(rest)
    return None


class IosAttribution:
    """Who holds code: by the image it is in, then by the class its function belongs to."""

    def __init__(self, ios_kb: IosKnowledge, image_sdks: dict[str, str], confirmed: set[str]) -> None:
        self._kb = ios_kb
        self._images = image_sdks
        self._confirmed = confirmed

    def image_holder(self, image: Image) -> str:
        return self._images.get(image.rel, FIRST_PARTY)

    def holder(self, image: Image, function: str | None) -> str:
        sdk = self._images.get(image.rel)
        if sdk is not None:
            return sdk
        cls = class_of(function) if function else None
        if cls:
            hit = sdk_for_class_name(self._kb, cls)
            if hit is not None:
                return hit
        return FIRST_PARTY

    def holder_package(self, image: Image, function: str | None, holder: str) -> str:
        """The framework folder, the matched class prefix, or for first-party code the image."""
        if image.rel in self._images:
            return image.rel.rsplit("/", 1)[0] if image.kind != "dylib" else image.rel
        cls = class_of(function) if function else None
        if holder != FIRST_PARTY and cls:
            sdk = self._kb.sdks.get(holder)
            for prefix in sorted(sdk.class_prefixes if sdk else (), key=len, reverse=True):
                if cls.startswith(prefix):
                    return f"{image.owner}: {prefix}*"
            if (swift := swift_class_name(cls)) is not None:
                return f"{image.owner}: {swift.partition('.')[0]} (Swift module)"
        return image.rel


def detect(facts: IosFacts, ios_kb: IosKnowledge, kb: KnowledgeBase,
           on: date | None = None) -> tuple[list[SdkHit], IosAttribution]:
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    image_sdks: dict[str, str] = {}
    bundle = facts.bundle
    for c in facts.containers:
        path = bundle.path(c.rel)
        sdk = ios_kb.sdk_for_framework(c.name) if c.kind in (".framework", ".appex") else None
        if sdk is None and c.kind == ".bundle":
            sdk = ios_kb.sdk_for_resource_bundle(c.name)
            if sdk is not None:
                tallies[sdk].add("resource-bundle", Evidence("archive", path, "resource bundle", c.name))
        elif sdk is not None:
            tallies[sdk].add("framework", Evidence("archive", path, f"embedded {c.kind[1:]}", c.name))
        if c.bundle_id and (bsdk := ios_kb.sdk_for_bundle_id(c.bundle_id)) is not None:
            tallies[bsdk].add("bundle-id", Evidence("plist", bundle.path(f"{c.rel}/Info.plist"),
                                                    "CFBundleIdentifier", c.bundle_id))
            sdk = sdk or bsdk
        if sdk is not None and c.kind != ".bundle":
            for image in facts.images:
                if image.rel.startswith(c.rel + "/") and image.kind in ("framework", "appex", "app"):
                    image_sdks[image.rel] = sdk
    for image in facts.images:
        if image.kind == "dylib" and (sdk := ios_kb.sdk_for_framework(image.owner)) is not None:
            tallies[sdk].add("framework", Evidence("archive", image.path, "embedded dylib", image.owner))
            image_sdks[image.rel] = sdk
        m = image.macho
        if m is None:
            continue
        for install, _how in m.libraries:
            name = library_name(install)
            sdk = ios_kb.sdk_for_framework(name)
            if sdk is not None:
                tallies[sdk].add("linked-library", Evidence("macho", image.path, "LC_LOAD_DYLIB", install))
        if image.rel in image_sdks:
            tallies[image_sdks[image.rel]].classes += len(m.objc_classes)
            continue
        for cls in m.objc_classes:
            sdk = sdk_for_class_name(ios_kb, cls)
            if sdk is not None:
                t = tallies[sdk]
                t.classes += 1
                t.add("class-prefix", Evidence("macho", image.path, "__objc_classlist", f"class {cls} defined"))
    hits = []
    for sdk_id, t in tallies.items():
        entry = ios_kb.sdks[sdk_id]
        sdk = entry.sdk
        hits.append(SdkHit(
            id=sdk.id, name=sdk.name, categories=tuple(sorted(sdk.categories)),
            owner_chain=owner_chain(kb, sdk.owner, on), jurisdictions=tuple(kb.jurisdictions(sdk.owner, on)),
            class_count=t.classes, matched_by=tuple(sorted(t.matched_by)),
            evidence=tuple(sorted(t.evidence, key=lambda e: (e.kind, e.file, e.locator, e.excerpt))),
            sources=tuple(sorted({s.url for s in (*entry.sources, *sdk.sources)})),
        ))
    hits.sort(key=lambda h: h.id)
    return hits, IosAttribution(ios_kb, image_sdks, set(tallies))
