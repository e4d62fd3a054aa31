"""The iOS side of the knowledge base: SDK signatures for iOS builds and the iOS sensitive-API catalogue.

Rows live in ``data/ios/`` (``{"kind": "ios-sdks" | "ios-apis", "rows": [...]}``) and in an
``ios/`` folder of each overlay directory. An ``ios-sdks`` row whose id is an SDK of the main
knowledge base is that SDK's iOS build: it shares the SDK's name, owner, categories and so its
ownership chain; a row with a new id names its own owner, which must be an entity. Every
category must be one the main knowledge base defines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appvet.errors import KnowledgeBaseError
from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.model import Sdk
from appvet.model import Source

IOS_DIR = Path(__file__).resolve().parent / "data" / "ios"
KINDS = ("ios-sdks", "ios-apis")


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


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*.json") if p.is_file()) if root.is_dir() else []


_validators: dict[str, Any] = {}


def _validate(kind: str, rows: list[Any], label: str) -> None:
    if kind not in _validators:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource

        from appvet.kb.loader import SCHEMA_DIR

        resources = []
        for path in [*sorted(SCHEMA_DIR.glob("*.schema.json")), *sorted((IOS_DIR / "schema").glob("*.json"))]:
            schema = json.loads(path.read_text(encoding="utf-8"))
            resources.append((schema["$id"], Resource.from_contents(schema)))
        registry: Registry = Registry().with_resources(resources)
        schema = json.loads((IOS_DIR / "schema" / f"{kind}.schema.json").read_text(encoding="utf-8"))
        _validators[kind] = Draft202012Validator(schema, registry=registry)
    validator = _validators[kind]
    for i, row in enumerate(rows):
        err = next(iter(sorted(validator.iter_errors(row), key=lambda e: list(e.absolute_path))), None)
        if err is not None:
            where = "/".join(str(p) for p in err.absolute_path)
            ident = row.get("id") or row.get("ref") if isinstance(row, dict) else None
            raise KnowledgeBaseError(f"row {i}{f' (id {ident!r})' if ident else ''}: {err.message}"
                                     f"{f' at {where}' if where else ''}", file=label)


def _label(path: Path) -> str:
    # Packaged files are named by their place in the package, as the main loader names them, so the
    # version (a hash over names and content) is the same wherever appvet is installed.
    return f"appvet/kb/data/ios/{path.name}" if path.parent == IOS_DIR else str(path)


_memo: dict[tuple[str, int], IosKnowledge] = {}
_overlays: dict[int, tuple[Path, ...]] = {}


def register_overlays(kb: KnowledgeBase, overlays: Sequence[Path]) -> None:
    """Overlay directories whose ``ios/`` rows apply wherever ``kb`` is used (the command line's ``--kb``)."""
    _overlays[id(kb)] = tuple(Path(o) for o in overlays)


def load_ios(kb: KnowledgeBase, overlays: Sequence[Path] = (), *, data_dir: Path | None = None) -> IosKnowledge:
    """Read, check and index the iOS rows against ``kb``; raise KnowledgeBaseError naming the file and row."""
    root = data_dir or IOS_DIR
    overlays = tuple(overlays) or _overlays.get(id(kb), ())
    paths = _files(root) + [p for o in overlays for p in _files(Path(o) / "ios")]
    blobs = []
    for p in paths:
        try:
            blobs.append((p, p.read_bytes()))
        except OSError as exc:
            raise KnowledgeBaseError(f"cannot read: {exc.strerror}", file=str(p)) from None
    digest = hashlib.sha256(b"".join(_label(p).encode() + b"\0" + b for p, b in blobs)).hexdigest()
    key = (digest, id(kb))
    if key in _memo:
        return _memo[key]
    sdk_rows: dict[str, tuple[dict[str, Any], str]] = {}
    api_rows: dict[str, tuple[dict[str, Any], str]] = {}
    for p, data in blobs:
        label = _label(p)
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise KnowledgeBaseError(f"not valid JSON: {exc}", file=label) from None
        if not isinstance(doc, dict) or doc.get("kind") not in KINDS or not isinstance(doc.get("rows"), list):
            raise KnowledgeBaseError(f'expected an object with "kind" ({" or ".join(KINDS)}) and "rows"', file=label)
        _validate(doc["kind"], doc["rows"], label)
        for row in doc["rows"]:
            if doc["kind"] == "ios-sdks":
                sdk_rows[row["id"]] = (row, label)
            else:
                api_rows[f"{row['kind']}:{row['ref']}"] = (row, label)
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
    _memo[key] = result
    return result
