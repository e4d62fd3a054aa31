"""The iOS side of the knowledge base: SDK signatures for iOS builds and the iOS sensitive-API catalogue.

Rows live in ``data/ios/`` (``{"kind": "ios-sdks" | "ios-apis", "rows": [...]}``) and in an
``ios/`` folder of each overlay directory. An ``ios-sdks`` row whose id is an SDK of the main
knowledge base is that SDK's iOS build: it shares the SDK's name, owner, categories and so its
ownership chain; a row with a new id names its own owner, which must be an entity. Every
category must be one the main knowledge base defines.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appvet.errors import KnowledgeBaseError
from appvet.kb import loader
from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.model import Sdk
from appvet.model import Source

IOS_DIR = loader.DATA_DIR / loader.IOS_SUBDIR


@dataclass(frozen=True)
class IosSdk:
    sdk: Sdk
    """The SDK row of the main knowledge base, or one built from this row for an iOS-only SDK."""
    frameworks: tuple[str, ...]
    class_prefixes: tuple[str, ...]
    bundle_ids: tuple[str, ...]
    resource_bundles: tuple[str, ...]
    domains: tuple[str, ...]
    sources: tuple[Source, ...]
    twin: bool
    """True when the id is an SDK of the main knowledge base (its Android build)."""


@dataclass(frozen=True)
class IosApi:
    kind: str
    ref: str
    categories: tuple[str, ...]
    framework: str
    sources: tuple[Source, ...]
    note: str = ""
    api_type: str | None = None
    """For ``required-reason`` rows: the ``NSPrivacyAccessedAPIType`` a privacy manifest must declare."""


@dataclass
class IosKnowledge:
    version: str
    sdks: dict[str, IosSdk]
    apis: list[IosApi]
    _frameworks: dict[str, str] = field(default_factory=dict)
    _bundles: dict[str, str] = field(default_factory=dict)
    _bundle_ids: dict[str, str] = field(default_factory=dict)
    _prefixes: list[tuple[str, str]] = field(default_factory=list)
    _by_kind: dict[str, dict[str, IosApi]] = field(default_factory=dict)
    _by_length: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for sid, s in self.sdks.items():
            for f in s.frameworks:
                self._frameworks[f.lower()] = sid
            for b in s.resource_bundles:
                self._bundles[b.lower()] = sid
            for b in s.bundle_ids:
                self._bundle_ids[b.lower()] = sid
            self._prefixes.extend((p, sid) for p in s.class_prefixes)
        self._prefixes.sort(key=lambda t: -len(t[0]))
        tables: dict[int, dict[str, str]] = {}
        for prefix, sid in self._prefixes:
            tables.setdefault(len(prefix), {}).setdefault(prefix, sid)
        self._by_length = sorted(tables.items(), reverse=True)
        for api in self.apis:
            self._by_kind.setdefault(api.kind, {})[api.ref] = api

    def sdk_for_framework(self, name: str) -> str | None:
        return self._frameworks.get(name.lower())

    def sdk_for_resource_bundle(self, name: str) -> str | None:
        return self._bundles.get(name.lower())

    def sdk_for_bundle_id(self, bundle_id: str) -> str | None:
        """Exact identifier, or the longest listed identifier it extends (``com.x.sdk`` for ``com.x.sdk.res``)."""
        key = bundle_id.lower()
        while key:
            if key in self._bundle_ids:
                return self._bundle_ids[key]
            key = key.rpartition(".")[0]
        return None

    def sdk_for_class(self, name: str) -> str | None:
        """SDK whose Objective-C class prefix is the longest one the class (or Swift type) name starts with."""
        bare = name.split("(", 1)[0]
        # One dict probe per distinct prefix length, longest first, instead of a test per prefix.
        for length, table in self._by_length:
            if len(bare) >= length and (sid := table.get(bare[:length])) is not None:
                return sid
        return None

    def api(self, kind: str, ref: str) -> IosApi | None:
        return self._by_kind.get(kind, {}).get(ref)

    def of_kind(self, kind: str) -> dict[str, IosApi]:
        return self._by_kind.get(kind, {})


# Keyed by the knowledge base object itself (not its id, which a later one may reuse); entries go with it.
_memo: weakref.WeakKeyDictionary[KnowledgeBase, dict[str, IosKnowledge]] = weakref.WeakKeyDictionary()
_overlays: weakref.WeakKeyDictionary[KnowledgeBase, tuple[Path, ...]] = weakref.WeakKeyDictionary()


def register_overlays(kb: KnowledgeBase, overlays: Sequence[Path]) -> None:
    """Overlay directories whose ``ios/`` rows apply wherever ``kb`` is used (the command line's ``--kb``)."""
    _overlays[kb] = tuple(Path(o) for o in overlays)


def _files(root: Path) -> list[loader.KbFile]:
    if root == IOS_DIR:
        # Named by their place in the package, as the main loader names its files, so the version (a hash
        # over names and content) is the same wherever appvet is installed.
        return loader.ios_files(loader.DATA_DIR, loader.PACKAGED_LABEL)
    return loader.dir_files(root, root, f"{root}/", (".json",))


def load_ios(kb: KnowledgeBase, overlays: Sequence[Path] = (), *, data_dir: Path | None = None) -> IosKnowledge:
    """Read, check and index the iOS rows against ``kb``; raise KnowledgeBaseError naming the file and row.

    Packaged files that ``scripts/import-kb`` recorded as validated skip the schema check, as in
    :func:`appvet.kb.loader.load_kb`; changed files and overlays are checked row by row.
    """
    overlays = tuple(overlays) or _overlays.get(kb, ())
    files = _files(data_dir or IOS_DIR) + [f for o in overlays for f in _files(Path(o) / "ios")]
    digest = hashlib.sha256(b"".join(f.label.encode() + b"\0" + f.data for f in files)).hexdigest()
    memo = _memo.setdefault(kb, {})
    if digest in memo:
        return memo[digest]
    trusted = loader.read_manifest(loader.DATA_DIR, loader.PACKAGED_LABEL)
    sdk_rows: dict[str, tuple[dict[str, Any], str]] = {}
    api_rows: dict[str, tuple[dict[str, Any], str]] = {}
    for kb_file in files:
        label = kb_file.label
        kind, rows = loader.parse_file(kb_file, loader.IOS_KINDS)
        if trusted.get(label) != hashlib.sha256(kb_file.data).hexdigest():
            loader.validate_rows(kind, rows, label)
        for row in rows:
            if kind == "ios-sdks":
                sdk_rows[row["id"]] = (row, label)
            else:
                api_rows[str(loader.row_id(kind, row))] = (row, label)
    sdks: dict[str, IosSdk] = {}
    for sid, (row, label) in sdk_rows.items():
        twin = kb.sdks.get(sid)
        srcs = tuple(Source(s["url"], s["as_of"]) for s in row["sources"])
        if twin is None:
            missing = [k for k in ("name", "owner", "categories") if k not in row]
            if missing:
                raise KnowledgeBaseError(f"id {sid!r} is not an SDK of the knowledge base, so it needs "
                                         f"{', '.join(missing)}", file=label)
            if row["owner"] not in kb.entities:
                raise KnowledgeBaseError(f"id {sid!r}: owner {row['owner']!r} is not an entity", file=label)
            base = Sdk(id=sid, name=row["name"], owner=row["owner"], categories=tuple(row["categories"]),
                       class_prefixes=(), native_libs=(), meta_data=(), components=(),
                       domains=tuple(row.get("domains", ())), sources=srcs)
        else:
            if "owner" in row and row["owner"] != twin.owner:
                raise KnowledgeBaseError(f"id {sid!r}: owner {row['owner']!r} differs from its Android twin's "
                                         f"({twin.owner!r})", file=label)
            base = twin
        sdks[sid] = IosSdk(base, tuple(row.get("frameworks", ())), tuple(row.get("class_prefixes", ())),
                           tuple(row.get("bundle_ids", ())), tuple(row.get("resource_bundles", ())),
                           tuple(row.get("domains", ())) + base.domains, srcs, twin is not None)
    apis = []
    for _key, (row, label) in api_rows.items():
        for cat in row["categories"]:
            if cat not in kb.categories:
                raise KnowledgeBaseError(f"{row['kind']} {row['ref']!r}: category {cat!r} is not defined", file=label)
        apis.append(IosApi(row["kind"], row["ref"], tuple(row["categories"]), row["framework"],
                           tuple(Source(s["url"], s["as_of"]) for s in row["sources"]), row.get("note", ""),
                           row.get("api_type")))
    dates = [s.as_of for s in (*[x for s in sdks.values() for x in s.sources], *[x for a in apis for x in a.sources])]
    result = IosKnowledge(f"{max(dates) if dates else '0000-00-00'}+{digest[:8]}", sdks, apis)
    memo[digest] = result
    return result
