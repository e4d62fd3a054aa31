"""Which third-party SDKs are inside the app, how each was recognised, and who controls it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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


SDK = "sdk"
LIBRARY = "library"


class Attribution:
    """Maps a class to the SDK or open-source library that holds it, or to first-party code.

    A class matched by both an SDK prefix and a library prefix goes to the longer prefix (the
    more specific claim). Code a present library carries under another project's name (osmdroid's
    ``microsoft.mappoint.``) is the library's even when an SDK claims that name. Cached per class.
    """

    def __init__(self, kb: KnowledgeBase, confirmed: set[str], renamed: Mapping[str, str] | None = None,
                 libraries: set[str] | None = None, library_hits: list[SdkHit] | None = None,
                 aliases: Mapping[str, str] | None = None, app_package: str = "") -> None:
        self._kb = kb
        self._app_package = app_package
        self._aliases = dict(aliases or {})
        """Ids of duplicate SDK rows merged into the one reported."""
        self._confirmed = confirmed
        self._renamed = dict(renamed or {})
        self._libraries = set(libraries or ())
        self.library_hits: list[SdkHit] = list(library_hits or [])
        """Open-source libraries found in the app, in the shape of an SDK hit."""
        self._cache: dict[str, str] = {}

    def with_renamed(self, renamed: Mapping[str, str]) -> Attribution:
        """The same attribution, plus renamed packages (or classes) tied to SDKs by ``fingerprints``."""
        return Attribution(self._kb, self._confirmed, {**self._renamed, **renamed}, self._libraries,
                           self.library_hits, self._aliases, self._app_package)

    def holder(self, class_name: str) -> str:
        # SDK prefixes are package prefixes, so the answer is the same for a whole package,
        # except for the rare signature naming one class; those are looked up per class.
        hit = self._cache.get(class_name)
        if hit is not None:
            return hit
        result = resolve_class(self._kb, class_name, self._libraries, self._app_package)
        if result is None:
            weak = self._kb.weak_sdk_for_class(class_name)
            result = weak if weak in self._confirmed else None
        if result is None and self._renamed:
            base = class_name.split("$", 1)[0]
            result = self._renamed.get(base) or self._renamed.get(package_of(base))
        result = self._aliases.get(result, result) if result else FIRST_PARTY
        self._cache[class_name] = result
        return result

    def kind(self, holder: str) -> str:
        """``first-party``, ``sdk`` or ``library``."""
        if holder == FIRST_PARTY:
            return FIRST_PARTY
        return LIBRARY if is_library(self._kb, holder) else SDK

    def holder_package(self, class_name: str, holder: str) -> str:
        if holder != FIRST_PARTY:
            if self.kind(holder) == LIBRARY:
                lib = self._kb.libraries[holder]
                prefixes = lib.class_prefixes + lib.ships
            else:
                sdk = self._kb.sdks[holder]
                prefixes = sdk.class_prefixes + sdk.weak_prefixes
            for prefix in sorted(prefixes, key=len, reverse=True):
                if class_name.startswith(prefix) or class_name == prefix.rstrip("."):
                    return prefix.rstrip(".")
        return package_of(class_name) or "(default package)"


def is_library(kb: KnowledgeBase, holder_id: str) -> bool:
    """An open-source library's id, not an SDK's (an id both tables hold is the SDK's)."""
    return holder_id in kb.libraries and holder_id not in kb.sdks


def _match_length(class_name: str, prefixes: tuple[str, ...]) -> int:
    best = 0
    base = class_name.split("$", 1)[0]
    for prefix in prefixes:
        if (prefix.endswith(".") and class_name.startswith(prefix)) or base == prefix:
            best = max(best, len(prefix))
    return best


def resolve_class(kb: KnowledgeBase, class_name: str, present_libraries: set[str], app_package: str = "") -> str | None:
    """The SDK or library id holding a class by its name, or ``None``.

    The longer of the SDK's and the library's matching prefix wins; a tie goes to the library,
    whose prefixes name code published under them. A class that a present library ships inside it
    belongs to that library whatever SDK claims its package. A class in the app's own package is
    the app's own code whatever SDK prefix covers it (``com.google.android.gms.ads.`` in microG,
    whose package is ``com.google.android.gms``; a vendor's broad ``com.umeng.`` over an app
    ``com.umeng.demo``): the publisher of that namespace is the app's publisher.
    """
    shipped = kb.library_shipping(class_name)
    if shipped is not None and shipped in present_libraries:
        return shipped
    sdk = kb.sdk_for_class(class_name)
    if sdk is not None and app_package and _inside_app(class_name, app_package):
        sdk = None
    lib = kb.library_for_class(class_name)
    if sdk is None or lib is None:
        return sdk or lib
    sdk_len = _match_length(class_name, kb.sdks[sdk].class_prefixes)
    lib_len = _match_length(class_name, kb.libraries[lib].class_prefixes)
    return sdk if sdk_len > lib_len else lib


def _inside_app(class_name: str, app_package: str) -> bool:
    return class_name.startswith(app_package + ".")


def owner_chain(kb: KnowledgeBase, entity_id: str, on: date | None = None) -> tuple[OwnerLink, ...]:
    links = []
    for ent in kb.owner_chain(entity_id, on):
        src = ent.sources[0].url if ent.sources else None
        links.append(OwnerLink(ent.id, ent.name, ent.country_hq, ent.parent_share, src))
    return tuple(links)


def detect(facts: AppFacts, kb: KnowledgeBase, on: date | None = None) -> tuple[list[SdkHit], Attribution]:
    """Find SDKs by class prefix, native library, manifest meta-data key and component name."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    lib_tallies: dict[str, _Tally] = defaultdict(_Tally)
    # Libraries present by their own package name first: what they ship under other names follows them.
    present: set[str] = set()
    app_package = facts.manifest.package or "" if facts.manifest else ""
    for unit in facts.dex:
        for cls in unit.dex.classes():
            lib = kb.library_for_class(dotted(cls.descriptor))
            if lib is not None:
                present.add(lib)
    for unit in facts.dex:
        for cls in unit.dex.classes():
            name = dotted(cls.descriptor)
            holder = resolve_class(kb, name, present, app_package)
            if holder is not None:
                t = (lib_tallies if is_library(kb, holder) else tallies)[holder]
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
        # A bundled open-source native library is that library's, not the SDK of a vendor that also ships it.
        library = kb.library_for_native_lib(lib.name)
        if library is not None:
            t = lib_tallies[library]
            t.matched_by.add("native-lib")
            t.evidence.append(Evidence("native", lib.path, lib.name, f"native library ({lib.abi})"))
            continue
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
            sdk = _component_holder(kb, comp.name, present, app_package)
            if sdk is not None and is_library(kb, sdk):
                continue  # a library's component: the class-prefix pass has counted it
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
    hits, aliases = _merge_duplicates(kb, hits)
    confirmed |= set(aliases)
    hits.sort(key=lambda h: h.id)
    library_hits = []
    for lib_id, t in sorted(lib_tallies.items()):
        lib = kb.libraries[lib_id]
        library_hits.append(SdkHit(
            id=lib.id, name=lib.name, categories=("open-source",), owner_chain=owner_chain(kb, lib.owner, on),
            jurisdictions=tuple(kb.jurisdictions(lib.owner, on)), class_count=t.classes,
            matched_by=tuple(sorted(t.matched_by)), evidence=tuple(sorted(set(t.evidence), key=_ev_key)),
            sources=tuple(sorted({s.url for s in lib.sources})),
        ))
    return hits, Attribution(kb, confirmed, libraries=present | set(lib_tallies), library_hits=library_hits,
                             aliases=aliases, app_package=app_package)


def _component_holder(kb: KnowledgeBase, class_name: str, present: set[str], app_package: str) -> str | None:
    """The SDK (or library) a manifest component belongs to.

    A component row names a class; when that class sits under another SDK's or a library's own
    package prefix (Umeng Update's ``com.umeng.update.net.DownloadingService`` listed under Umeng
    Push), the package says who wrote it, and wins.
    """
    listed = kb.sdk_for_component(class_name)
    by_name = resolve_class(kb, class_name, present, app_package)
    if listed is None or by_name is None or by_name == listed:
        return listed or None
    own = kb.sdks[listed].class_prefixes
    if _match_length(class_name, own) > 0:
        return listed
    return by_name


_IMPORT_ORDER = ("libradar.", "libchecker.", "exodus.")


def _row_rank(sdk_id: str, classes: int) -> tuple[int, int, str]:
    """Hand-curated rows first, then Exodus, LibChecker, LibRadar imports; then the larger hit."""
    origin = next((i for i, p in enumerate(_IMPORT_ORDER) if sdk_id.startswith(p)), len(_IMPORT_ORDER))
    return (-origin, -classes, sdk_id)


def _normalised_name(name: str) -> str:
    """``Google Play services (base)`` and ``Google Play Service`` alike: no parenthesis, "SDK",
    case, punctuation or final plural."""
    text = re.sub(r"\([^)]*\)", "", name.lower()).replace("sdk", "")
    key = "".join(ch for ch in text if ch.isalnum())
    return key[:-1] if key.endswith("s") else key


def _merge_duplicates(kb: KnowledgeBase, hits: list[SdkHit]) -> tuple[list[SdkHit], dict[str, str]]:
    """One hit per SDK: rows of different imports naming the same SDK (same owner and the same
    :func:`_normalised_name`, or the same Exodus id) are merged into the row
    ranked first by :func:`_row_rank`. Returns the hits and ``{merged id: kept id}``."""
    parent = list(range(len(hits)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[tuple[str, str], int] = {}
    for i, hit in enumerate(hits):
        sdk = kb.sdks[hit.id]
        keys = [(sdk.owner, _normalised_name(sdk.name))]
        if sdk.exodus_id:
            keys.append(("exodus", str(sdk.exodus_id)))
        for key in keys:
            j = first_by_key.setdefault(key, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[SdkHit]] = {}
    for i, hit in enumerate(hits):
        groups.setdefault(root(i), []).append(hit)
    out: list[SdkHit] = []
    aliases: dict[str, str] = {}
    for members in groups.values():
        members.sort(key=lambda h: _row_rank(h.id, h.class_count))
        keep = members[0]
        if len(members) > 1:
            evidence = sorted({e for m in members for e in m.evidence}, key=_ev_key)
            keep = replace(
                keep,
                class_count=sum(m.class_count for m in members),
                matched_by=tuple(sorted({x for m in members for x in m.matched_by})),
                evidence=tuple(evidence[: MAX_CLASS_EVIDENCE * 2]),
                sources=tuple(sorted({u for m in members for u in m.sources})),
            )
            for m in members[1:]:
                aliases[m.id] = keep.id
        out.append(keep)
    return out, aliases


def _short(value: str, n: int = 80) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


def _ev_key(e: Evidence) -> tuple[str, str, str, str]:
    return (e.kind, e.file, e.locator, e.excerpt)
