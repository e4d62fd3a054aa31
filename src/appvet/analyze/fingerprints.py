"""Attribute renamed SDK code by what renaming leaves intact: strings and links to kept classes.

R8 and ProGuard rename packages, classes and members (``com.umeng.analytics.MobclickAgent`` ->
``a.a.a``), so class-prefix signatures miss the SDK and its code would count as first party. They
do not touch string constants, the framework API, or the names of classes the manifest refers to.
This pass groups the classes that no prefix attributed and that sit in renamed packages (every
segment one or two letters, ``a.b``, or the default package) by package, and looks in each package
for strings that the knowledge base ties to exactly one SDK:

- ``host``: a URL or host name under one of the SDK's ``domains``;
- ``owner-host``: a host the knowledge base gives to a company that owns exactly one SDK found in
  the app by other signatures (its manifest keys, kept components or libraries);
- ``meta-data-key``: one of the SDK's manifest ``meta_data`` key names, read by the code;
- ``component-name``: one of the SDK's manifest component class names, used as a string;
- ``native-lib``: the stem of one of the SDK's native libraries, loaded with ``loadLibrary``.

Threshold: a package is attributed when its strings name one SDK and no other (at least one
such string), and it is not the app's own: not under the manifest package name, and not the
package of the manifest's Application class or of a launcher activity. When a
package's strings name several SDKs (R8's ``-repackageclasses`` puts everything in one package),
each of its classes is judged on its own strings instead. A package without such strings is
attributed only by a link: its code calls, extends or is called by code of exactly one SDK, and it
is a parent or child package of one the strings attributed to that SDK (renaming keeps the package
tree of a library). Links go one step, never from a link-attributed package onwards.

Readable packages that no prefix names (``com.tencent.mmkv``) are a gap in the knowledge base,
not renaming, and are left alone: a vendor's other libraries carry its hosts too and would be
tied to the wrong SDK.

The result is weaker than a prefix match: an SDK's string copied into other code would move that
code too. Every attribution carries ``fingerprint`` in ``SdkHit.matched_by``, its strings and links
as evidence, and becomes an AV206 finding that says the confidence is lower.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from appvet.analyze.interface import AppFacts, DexUnit
from appvet.analyze.obfuscation import SHORT_NAME, Protection
from appvet.analyze.sdks import Attribution, dotted, owner_chain, package_of
from appvet.android.dex import walk_code
from appvet.android.manifest import class_name
from appvet.errors import FormatError
from appvet.kb import KnowledgeBase
from appvet.model import FIRST_PARTY, Evidence, SdkHit

MAX_EVIDENCE = 8
"""Evidence rows kept per SDK (and per package): enough to check, few enough to read."""

_URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/:?#\s]+)", re.I)
_HOST_TEXT = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", re.I)
_LOAD_LIBRARY = frozenset({("Ljava/lang/System;", "loadLibrary"), ("Ljava/lang/Runtime;", "loadLibrary")})


@dataclass(frozen=True)
class RenamedSdk:
    """A renamed package (or single class) attributed to an SDK, and why."""

    sdk: str
    unit: str
    """Dotted package name, or dotted class name when the package mixes several SDKs."""
    classes: int
    via: str
    """``strings`` or ``link``."""
    evidence: tuple[Evidence, ...]


@dataclass
class _Index:
    """Strings that name SDKs, compiled once per knowledge base."""

    hosts: dict[str, set[str]] = field(default_factory=dict)
    meta: dict[str, set[str]] = field(default_factory=dict)
    components: dict[str, set[str]] = field(default_factory=dict)
    lib_stems: dict[str, set[str]] = field(default_factory=dict)


_INDEXES: weakref.WeakKeyDictionary[KnowledgeBase, _Index] = weakref.WeakKeyDictionary()


def _index(kb: KnowledgeBase) -> _Index:
    idx = _INDEXES.get(kb)
    if idx is None:
        idx = _Index()
        for sdk in kb.sdks.values():
            for dom in sdk.domains:
                idx.hosts.setdefault(dom.lower().rstrip("."), set()).add(sdk.id)
            for key in sdk.meta_data:
                idx.meta.setdefault(key, set()).add(sdk.id)
            for comp in sdk.components:
                idx.components.setdefault(comp, set()).add(sdk.id)
            for lib in sdk.native_libs:
                if lib.startswith("lib") and lib.endswith(".so") and len(lib) > 6:
                    idx.lib_stems.setdefault(lib[3:-3], set()).add(sdk.id)
        _INDEXES[kb] = idx
    return idx


def _pick(candidates: Iterable[str], found: set[str]) -> str | None:
    """One SDK among candidates: the only one already found in the app, else the only one at all."""
    names = set(candidates)
    among_found = names & found
    if len(among_found) == 1:
        return next(iter(among_found))
    if not among_found and len(names) == 1:
        return next(iter(names))
    return None


def _host_of(text: str) -> str | None:
    m = _URL_HOST.match(text)
    if m is not None:
        return m.group(1).lower()
    if "://" not in text and _HOST_TEXT.fullmatch(text):
        return text.lower()
    return None


def _by_host(host: str, idx: _Index, kb: KnowledgeBase, found: set[str], owners: dict[str, set[str]]
             ) -> tuple[str, str] | None:
    labels = host.rstrip(".").split(".")
    every: set[str] = set()
    innermost: set[str] | None = None
    for k in range(len(labels) - 1):
        hit = idx.hosts.get(".".join(labels[k:]))
        if hit:
            every |= hit
            innermost = innermost or hit
    if every:
        among_found = every & found
        if len(among_found) == 1:
            return next(iter(among_found)), "host"
        if not among_found and innermost is not None and len(innermost) == 1:
            return next(iter(innermost)), "host"
        return None
    entity = kb.entity_for_host(host)
    if entity is not None and len(owners.get(entity, ())) == 1:
        return next(iter(owners[entity])), "owner-host"
    return None


def _classify(text: str, idx: _Index, kb: KnowledgeBase, found: set[str], owners: dict[str, set[str]]
              ) -> tuple[str, str] | None:
    """(sdk, kind) when the string names one SDK; ``native-lib`` still needs its loadLibrary call."""
    if len(text) > 2048:
        return None
    host = _host_of(text)
    if host is not None:
        return _by_host(host, idx, kb, found, owners)
    for table, kind in ((idx.meta, "meta-data-key"), (idx.components, "component-name"),
                        (idx.lib_stems, "native-lib")):
        hit = table.get(text)
        if hit:
            sdk = _pick(hit, found)
            return (sdk, kind) if sdk is not None else None
    return None


@dataclass
class _Scan:
    """What was learnt about the classes no prefix attributed."""

    clues: dict[str, dict[str, list[Evidence]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    """class descriptor -> sdk -> evidence."""
    classes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """package -> class descriptors that no prefix attributed."""
    where: dict[str, str] = field(default_factory=dict)
    """class descriptor -> dex path."""


def _own_packages(facts: AppFacts) -> tuple[str, set[str]]:
    """The app's package name (a prefix), and the packages of its Application class and launcher
    activities: an SDK never ships the class Android starts the app with, so those packages are the
    app's own even when renamed."""
    m = facts.manifest
    if m is None:
        return "", set()
    own = m.package or ""
    anchors: set[str] = set()
    app = m.elements.get("application:")
    value = app.attrs.get("android:name") if app is not None else None
    if isinstance(value, str) and value:
        anchors.add(package_of(class_name(m.package, value)))
    for comp in m.summary.components:
        if comp.kind in ("activity", "activity-alias") and "android.intent.action.MAIN" in comp.intent_actions:
            anchors.add(package_of(comp.name))
    return own, anchors


def _renamed(package: str) -> bool:
    """A package as renaming writes it: every segment one or two letters (``a.b``), or the default one."""
    return not package or all(SHORT_NAME.match(part) for part in package.split("."))


def _candidates(facts: AppFacts, attribution: Attribution) -> _Scan:
    scan = _Scan()
    own, anchors = _own_packages(facts)
    for unit in facts.dex:
        for cdef in unit.dex.classes():
            name = dotted(cdef.descriptor)
            if own and (name.startswith(own + ".") or name == own):
                continue
            if attribution.holder(name) != FIRST_PARTY:
                continue
            package = package_of(name)
            if package in anchors or not _renamed(package):
                continue
            scan.classes[package].add(cdef.descriptor)
            scan.where.setdefault(cdef.descriptor, unit.path)
    return scan


def _string_clues(unit: DexUnit, scan: _Scan, idx: _Index, kb: KnowledgeBase, found: set[str],
                  owners: dict[str, set[str]], candidates: set[str]) -> None:
    dex = unit.dex
    code = dex.scan_code()
    named: dict[int, tuple[str, str]] = {}
    for sidx in set(code.string_ref):
        hit = _classify(dex.string(sidx), idx, kb, found, owners)
        if hit is not None:
            named[sidx] = hit
    if not named:
        return
    methods = dex.method_refs()
    loaders: set[int] | None = None
    for caller, sidx in zip(code.string_caller, code.string_ref, strict=True):
        hit = named.get(sidx)
        if hit is None:
            continue
        cls, mname, proto = methods[caller]
        if cls not in candidates:
            continue
        sdk, kind = hit
        if kind == "native-lib":
            if loaders is None:
                targets = {i for i, (c, n, _) in enumerate(methods) if (c, n) in _LOAD_LIBRARY}
                loaders = {c for c, t in zip(code.invoke_caller, code.invoke_callee, strict=True) if t in targets}
            if caller not in loaders:
                continue
        rows = scan.clues[cls][sdk]
        if len(rows) < MAX_EVIDENCE:
            rows.append(Evidence("dex", unit.path, f"{cls}->{mname}{proto}", f"{kind} of {sdk}: {dex.string(sidx)}"))


def _decide(scan: _Scan) -> tuple[dict[str, str], list[RenamedSdk]]:
    """Attribute by strings: whole packages naming one SDK, else single classes naming one SDK."""
    owner: dict[str, str] = {}
    found: list[RenamedSdk] = []
    for package in sorted(scan.classes):
        members = scan.classes[package]
        named = {sdk for cls in members for sdk in scan.clues.get(cls, {})}
        if len(named) == 1:
            sdk = next(iter(named))
            ev = [e for cls in sorted(members) for e in scan.clues.get(cls, {}).get(sdk, ())]
            owner[package] = sdk
            found.append(RenamedSdk(sdk, package, len(members), "strings", tuple(ev[:MAX_EVIDENCE])))
        elif len(named) > 1:
            for cls in sorted(members):
                per = scan.clues.get(cls, {})
                if len(per) == 1:
                    [(sdk, ev)] = per.items()
                    owner[dotted(cls)] = sdk
                    found.append(RenamedSdk(sdk, dotted(cls), 1, "strings", tuple(ev[:MAX_EVIDENCE])))
    return owner, found


def _class_pairs(unit: DexUnit, walk: set[str]) -> set[tuple[str, str]]:
    """(from class, to class) for the calls, field accesses, superclass and interfaces of the classes in ``walk``.

    Only those classes' code is walked, so the cost follows the renamed code judged, not the app.
    """
    dex = unit.dex
    mcls = [m[0] for m in dex.method_refs()]
    fcls = [f[0] for f in dex.field_refs()]
    offsets = dex.code_offsets()
    pairs: set[tuple[str, str]] = set()
    for cls, idxs, _flags in dex.class_methods():
        if cls not in walk:
            continue
        for idx in idxs:
            off = offsets.get(idx)
            if off is None:
                continue
            try:
                n_units = dex.code_units(off)[2]
            except FormatError:
                continue  # scan_code has recorded it as skipped already
            invokes, fields, _strings, _stopped = walk_code(dex.data, off + 16, n_units)
            pairs.update((cls, mcls[i]) for i in invokes if i < len(mcls))
            pairs.update((cls, fcls[i]) for i in fields if i < len(fcls))
    for cdef in dex.classes():
        if cdef.descriptor in walk:
            for parent in (cdef.superclass, *cdef.interfaces):
                if parent:
                    pairs.add((cdef.descriptor, parent))
    return pairs


def _links(facts: AppFacts, scan: _Scan, holder: Mapping[str, str], attribution: Attribution, walk: set[str]
           ) -> dict[str, dict[str, list[Evidence]]]:
    """Renamed package -> SDK -> evidence of code links between them (either direction)."""
    package_of_cls = {cls: package for package, members in scan.classes.items() for cls in members}
    defined = {cdef.descriptor for unit in facts.dex for cdef in unit.dex.classes()}

    def sdk_of(cls: str) -> str | None:
        if cls not in defined:
            return None
        if cls in package_of_cls:
            name = dotted(cls)
            return holder.get(name) or holder.get(package_of_cls[cls])
        h = attribution.holder(dotted(cls))
        return None if h == FIRST_PARTY else h

    out: dict[str, dict[str, list[Evidence]]] = defaultdict(lambda: defaultdict(list))
    for unit in facts.dex:
        for src, dst in sorted(_class_pairs(unit, walk)):
            for mine, other, word in ((src, dst, "uses"), (dst, src, "is used by")):
                package = package_of_cls.get(mine)
                if package is None or package_of_cls.get(other) == package:
                    continue
                sdk = sdk_of(other)
                if sdk is not None and len(out[package][sdk]) < MAX_EVIDENCE:
                    out[package][sdk].append(Evidence("dex", unit.path, mine, f"link: {word} {other} ({sdk})"))
    return out


def _walk_set(facts: AppFacts, scan: _Scan, owner: Mapping[str, str], attribution: Attribution) -> set[str]:
    """Classes whose code is read for links: the string-attributed ones, the renamed packages that could
    join them (parents and children of theirs without strings), and manifest components of SDKs."""
    seeds = [u for u in owner if u in scan.classes]
    walk = {_descriptor(u) for u in owner if u not in scan.classes}
    for package in seeds:
        walk |= scan.classes[package]
    for package, members in scan.classes.items():
        if package and package not in owner and any(_related(package, seed) for seed in seeds):
            walk |= members
    if facts.manifest is not None:
        for comp in facts.manifest.summary.components:
            if attribution.holder(comp.name) != FIRST_PARTY:
                walk.add(_descriptor(comp.name))
    return walk


def _descriptor(name: str) -> str:
    return "L" + name.replace(".", "/") + ";"


def _related(package: str, other: str) -> bool:
    return package.startswith(other + ".") or other.startswith(package + ".")


def _propagate(scan: _Scan, owner: dict[str, str], links: dict[str, dict[str, list[Evidence]]]) -> list[RenamedSdk]:
    seeds: dict[str, list[str]] = defaultdict(list)
    for unit, sdk in owner.items():
        if unit in scan.classes:
            seeds[sdk].append(unit)
    out = []
    for package in sorted(scan.classes):
        if package in owner or not package or any(dotted(c) in owner for c in scan.classes[package]):
            continue
        linked = links.get(package, {})
        if len(linked) != 1:
            continue
        [(sdk, ev)] = linked.items()
        tree = [s for s in seeds.get(sdk, ()) if _related(package, s)]
        if tree:
            first = min(scan.classes[package])
            note = Evidence("dex", scan.where[first], first,
                            f"package {package} is in the package tree of {tree[0]}, attributed to {sdk} by strings")
            out.append(RenamedSdk(sdk, package, len(scan.classes[package]), "link", (*ev[:MAX_EVIDENCE - 1], note)))
    return out


def attribute(facts: AppFacts, kb: KnowledgeBase, hits: list[SdkHit], attribution: Attribution,
              on: date | None = None) -> tuple[list[SdkHit], Attribution, list[RenamedSdk]]:
    """SDK hits and an attribution that also cover renamed SDK packages, and what was attributed."""
    idx = _index(kb)
    found = {h.id for h in hits}
    owners: dict[str, set[str]] = defaultdict(set)
    for sdk_id in found:
        for ent in kb.owner_chain(kb.sdks[sdk_id].owner, on):
            owners[ent.id].add(sdk_id)
    scan = _candidates(facts, attribution)
    if not scan.classes:
        return hits, attribution, []
    candidates = {cls for members in scan.classes.values() for cls in members}
    for unit in facts.dex:
        _string_clues(unit, scan, idx, kb, found, owners, candidates)
    owner, renamed = _decide(scan)
    if not renamed:
        return hits, attribution, []
    links = _links(facts, scan, owner, attribution, _walk_set(facts, scan, owner, attribution))
    renamed = [replace(r, evidence=(*r.evidence, *links.get(r.unit, {}).get(r.sdk, ()))[:MAX_EVIDENCE])
               for r in renamed]
    renamed += _propagate(scan, owner, links)
    table = {r.unit: r.sdk for r in renamed}
    return _merge(kb, hits, renamed, on), attribution.with_renamed(table), renamed


def _merge(kb: KnowledgeBase, hits: list[SdkHit], renamed: list[RenamedSdk], on: date | None) -> list[SdkHit]:
    by_sdk: dict[str, list[RenamedSdk]] = defaultdict(list)
    for r in renamed:
        by_sdk[r.sdk].append(r)
    out = {h.id: h for h in hits}
    for sdk_id, rows in by_sdk.items():
        evidence = tuple(e for r in rows for e in r.evidence)
        classes = sum(r.classes for r in rows)
        hit = out.get(sdk_id)
        if hit is None:
            sdk = kb.sdks[sdk_id]
            out[sdk_id] = SdkHit(
                id=sdk.id, name=sdk.name, categories=tuple(sorted(sdk.categories)),
                owner_chain=owner_chain(kb, sdk.owner, on), jurisdictions=tuple(kb.jurisdictions(sdk.owner, on)),
                class_count=classes, matched_by=("fingerprint",), evidence=evidence[:MAX_EVIDENCE],
                sources=tuple(sorted({s.url for s in sdk.sources})),
            )
        else:
            out[sdk_id] = replace(hit, class_count=hit.class_count + classes,
                                  matched_by=tuple(sorted({*hit.matched_by, "fingerprint"})),
                                  evidence=hit.evidence + evidence[:MAX_EVIDENCE])
    return [out[k] for k in sorted(out)]


def protections(kb: KnowledgeBase, renamed: list[RenamedSdk]) -> list[Protection]:
    """One ``fingerprinted-sdk`` entry per SDK, for the AV206 finding."""
    by_sdk: dict[str, list[RenamedSdk]] = defaultdict(list)
    for r in renamed:
        by_sdk[r.sdk].append(r)
    out = []
    for sdk_id, rows in sorted(by_sdk.items()):
        units = ", ".join(sorted(r.unit for r in rows))
        classes = sum(r.classes for r in rows)
        how = "strings" if all(r.via == "strings" for r in rows) else "strings and code links"
        ev = tuple(e for r in sorted(rows, key=lambda r: r.unit) for e in r.evidence[:3])
        out.append(Protection("fingerprinted-sdk", sdk_id,
                              f"{classes} renamed class{'es' if classes != 1 else ''} in {units} attributed to "
                              f"{kb.sdks[sdk_id].name} by {how} that survive renaming", ev))
    return out
