"""Which third-party SDKs are inside the app, how each was recognised, and who controls it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from appvet.analyze.interface import AppFacts
from appvet.kb import KnowledgeBase
from appvet.model import FIRST_PARTY, Evidence, OwnerLink, SdkHit

MAX_CLASS_EVIDENCE = 5


def dotted(descriptor: str) -> str:
    """``Lcom/a/B;`` -> ``com.a.B``."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor


def package_of(class_name: str) -> str:
    return class_name.rpartition(".")[0]


@dataclass
class _Tally:
    classes: int = 0
    matched_by: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)
    weak_classes: int = 0
    weak_evidence: list[Evidence] = field(default_factory=list)


class Attribution:
    """Maps a class to the SDK that owns it, or to first-party code. Cached per package."""

    def __init__(self, kb: KnowledgeBase, confirmed: set[str], renamed: Mapping[str, str] | None = None) -> None:
        self._kb = kb
        self._confirmed = confirmed
        self._renamed = dict(renamed or {})
        self._cache: dict[str, str] = {}

    def with_renamed(self, renamed: Mapping[str, str]) -> Attribution:
        """The same attribution, plus renamed packages (or classes) tied to SDKs by ``fingerprints``."""
        return Attribution(self._kb, self._confirmed, {**self._renamed, **renamed})

    def holder(self, class_name: str) -> str:
        # SDK prefixes are package prefixes, so the answer is the same for a whole package,
        # except for the rare signature naming one class; those are looked up per class.
        hit = self._cache.get(class_name)
        if hit is not None:
            return hit
        sdk = self._kb.sdk_for_class(class_name)
        if sdk is None:
            weak = self._kb.weak_sdk_for_class(class_name)
            sdk = weak if weak in self._confirmed else None
        if sdk is None and self._renamed:
            base = class_name.split("$", 1)[0]
            sdk = self._renamed.get(base) or self._renamed.get(package_of(base))
        result = sdk or FIRST_PARTY
        self._cache[class_name] = result
        return result

    def holder_package(self, class_name: str, holder: str) -> str:
        if holder != FIRST_PARTY:
            sdk = self._kb.sdks[holder]
            for prefix in sorted(sdk.class_prefixes + sdk.weak_prefixes, key=len, reverse=True):
                if class_name.startswith(prefix) or class_name == prefix.rstrip("."):
                    return prefix.rstrip(".")
        return package_of(class_name) or "(default package)"


def owner_chain(kb: KnowledgeBase, entity_id: str, on: date | None = None) -> tuple[OwnerLink, ...]:
    links = []
    for ent in kb.owner_chain(entity_id, on):
        src = ent.sources[0].url if ent.sources else None
        links.append(OwnerLink(ent.id, ent.name, ent.country_hq, ent.parent_share, src))
    return tuple(links)


def detect(facts: AppFacts, kb: KnowledgeBase, on: date | None = None) -> tuple[list[SdkHit], Attribution]:
    """Find SDKs by class prefix, native library, manifest meta-data key and component name."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for unit in facts.dex:
        for cls in unit.dex.classes():
            name = dotted(cls.descriptor)
            sdk = kb.sdk_for_class(name)
            if sdk is not None:
                t = tallies[sdk]
                t.classes += 1
                t.matched_by.add("class-prefix")
                if len(t.evidence) < MAX_CLASS_EVIDENCE:
                    t.evidence.append(Evidence("dex", unit.path, cls.descriptor, "class defined"))
                continue
            weak = kb.weak_sdk_for_class(name)
            if weak is not None:
                t = tallies[weak]
                t.weak_classes += 1
                if len(t.weak_evidence) < MAX_CLASS_EVIDENCE:
                    t.weak_evidence.append(Evidence("dex", unit.path, cls.descriptor, "class defined (weak prefix)"))
    for lib in facts.native:
        sdk = kb.sdk_for_native_lib(lib.name)
        if sdk is not None:
            t = tallies[sdk]
            t.matched_by.add("native-lib")
            t.evidence.append(Evidence("native", lib.path, lib.name, f"native library ({lib.abi})"))
    manifest = facts.manifest
    if manifest is not None:
        mpath = f"{facts.package.parts[0].prefix}AndroidManifest.xml"
        for key, value in manifest.summary.meta_data:
            sdk = kb.sdk_for_meta_data(key)
            if sdk is not None:
                t = tallies[sdk]
                t.matched_by.add("meta-data")
                t.evidence.append(
                    Evidence("manifest", mpath, f'application/meta-data[@android:name="{key}"]', _short(value))
                )
        for comp in manifest.summary.components:
            sdk = kb.sdk_for_component(comp.name)
            if sdk is not None:
                t = tallies[sdk]
                t.matched_by.add("component")
                t.evidence.append(
                    Evidence("manifest", mpath, f'application/{comp.kind}[@android:name="{comp.name}"]', comp.kind)
                )

    confirmed: set[str] = set()
    hits = []
    for sdk_id, t in tallies.items():
        strong = bool(t.matched_by)
        if not strong:
            continue  # a weak prefix alone is not enough to name an SDK
        confirmed.add(sdk_id)
        if t.weak_classes:
            t.classes += t.weak_classes
            t.matched_by.add("class-prefix")
            t.evidence.extend(t.weak_evidence[: max(0, MAX_CLASS_EVIDENCE - len(t.evidence))])
        sdk = kb.sdks[sdk_id]
        hits.append(
            SdkHit(
                id=sdk.id,
                name=sdk.name,
                categories=tuple(sorted(sdk.categories)),
                owner_chain=owner_chain(kb, sdk.owner, on),
                jurisdictions=tuple(kb.jurisdictions(sdk.owner, on)),
                class_count=t.classes,
                matched_by=tuple(sorted(t.matched_by)),
                evidence=tuple(sorted(set(t.evidence), key=_ev_key)),
                sources=tuple(sorted({s.url for s in sdk.sources})),
                owner_unknown=None if sdk.owner else (sdk.owner_unknown or None),
            )
        )
    hits.sort(key=lambda h: h.id)
    return hits, Attribution(kb, confirmed)


def _short(value: str, n: int = 80) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


def _ev_key(e: Evidence) -> tuple[str, str, str, str]:
    return (e.kind, e.file, e.locator, e.excerpt)
