"""Open an input file: a plain APK, a bundle of split APKs (.xapk, .apks, .apkm) or an App Bundle (.aab)."""

from __future__ import annotations

import hashlib
import json
import mmap
import os
from pathlib import Path, PurePosixPath

from appvet.errors import ArchiveError, InputError
from appvet.ingest.aab import bundle_parts, is_bundle
from appvet.ingest.interface import ApkPart, InputPackage
from appvet.ingest.zipread import Limits, ZipArchive, open_zip

MANIFEST = "AndroidManifest.xml"
BUNDLE_SUFFIXES = {".xapk": "xapk", ".apks": "apks", ".apkm": "apkm"}


def _map_file(path: Path) -> memoryview:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    if not path.is_file():
        raise InputError("not a regular file", file=str(path))
    if size == 0:
        raise ArchiveError("empty file", file=str(path))
    try:
        with path.open("rb") as fh:
            # A read-only map keeps a multi-GB input out of the Python heap.
            return memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read file: {exc}", file=str(path)) from None


def _sha256(view: memoryview) -> str:
    h = hashlib.sha256()
    step = 8 * 1024 * 1024
    for i in range(0, len(view), step):
        h.update(view[i : i + step])
    return h.hexdigest()


def _bundle_order(names: list[str], manifest_json: dict | None) -> list[str]:
    """Base first, then splits in name order, as installers would pass them."""
    apks = sorted(n for n in names if n.lower().endswith(".apk"))
    base: str | None = None
    if manifest_json:
        for item in manifest_json.get("split_apks", []) or []:
            if isinstance(item, dict) and item.get("id") == "base" and item.get("file") in apks:
                base = item["file"]
    if base is None:
        for candidate in apks:
            stem = PurePosixPath(candidate).name.lower()
            if stem in ("base.apk", "base-master.apk") or stem.startswith("base-master"):
                base = candidate
                break
    if base is None:
        package = (manifest_json or {}).get("package_name")
        if package and f"{package}.apk" in apks:
            base = f"{package}.apk"
    if base is None and apks:
        # No declared base: the only APK without a split suffix is the base.
        plain = [a for a in apks if "split" not in PurePosixPath(a).name.lower()]
        base = plain[0] if len(plain) == 1 else apks[0]
    return ([base] if base else []) + [a for a in apks if a != base]


def _bundle_apks(names: list[str]) -> list[str]:
    """The APKs a bundle installs: bundletool's ``splits/`` when present, else those at the top level."""
    apks = [n for n in names if n.lower().endswith(".apk")]
    splits = [n for n in apks if n.startswith("splits/")]
    if splits:
        return splits
    top = [n for n in apks if "/" not in n]
    # A universal or standalone APK set ships one complete APK per device configuration.
    return top or [n for n in apks if n.startswith(("standalones/", "universal"))][:1]


def _open_nested(outer: ZipArchive, name: str, limits: Limits) -> ZipArchive:
    view = outer.raw_view(name)
    if view is None:
        view = memoryview(outer.read(name))
    return open_zip(view, f"{outer.file}!{name}", limits)


def open_input(path: str | os.PathLike[str], limits: Limits | None = None) -> InputPackage:
    """Open ``path`` and return its APKs; raise an InputError subclass for anything unreviewable."""
    limits = limits or Limits()
    p = Path(path)
    view = _map_file(p)
    digest = _sha256(view)
    outer = open_zip(view, str(p), limits)
    names = outer.names()
    suffix = p.suffix.lower()
    nested = _bundle_apks(names)

    if is_bundle(outer):
        return InputPackage(p.name, digest, len(view), "aab", bundle_parts(outer))

    if MANIFEST in outer.entries:
        parts = (ApkPart(p.name, outer, ""),)
        return InputPackage(p.name, digest, len(view), "apk", parts)

    if nested:
        manifest_json = None
        if "manifest.json" in outer.entries:
            try:
                manifest_json = json.loads(outer.read("manifest.json", max_size=4 * 1024**2))
            except (ValueError, UnicodeDecodeError):
                manifest_json = None
            if not isinstance(manifest_json, dict):
                manifest_json = None
        ordered = _bundle_order(nested, manifest_json)
        parts = []
        for name in ordered:
            archive = _open_nested(outer, name, limits)
            parts.append(ApkPart(name, archive, f"{name}!"))
        if MANIFEST not in parts[0].archive.entries:
            raise ArchiveError(f"bundle base {ordered[0]!r} has no {MANIFEST}", file=str(p))
        kind = BUNDLE_SUFFIXES.get(suffix, "apks")
        return InputPackage(p.name, digest, len(view), kind, tuple(parts))

    if suffix == ".apkm":
        raise ArchiveError("no APKs readable in this .apkm bundle (encrypted bundles are not supported)", file=str(p))
    raise ArchiveError(f"not an APK: the zip has no {MANIFEST} and no APKs inside", file=str(p))

