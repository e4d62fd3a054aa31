"""Open an iOS app: an ``.ipa`` (a zip holding ``Payload/NAME.app/``) or an unpacked ``.app`` directory.

The same limits as for APKs apply: entry count, declared and total sizes, compression ratio,
unsafe names. A symbolic link whose target leaves the bundle is refused in both forms; links
inside the bundle are not followed (iOS bundles have no need of them).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from appvet.errors import ArchiveError, InputError, LimitExceeded
from appvet.ingest.zipread import Limits, open_zip

IOS_SUFFIXES = (".ipa", ".app")


@dataclass
class AppBundle:
    """The files of one ``.app``, by path relative to the bundle root."""

    file_name: str
    sha256: str
    size: int
    kind: str
    """``ipa`` or ``app``."""
    root: str
    """Evidence prefix of the bundle root: ``Payload/Name.app/`` in an IPA, ``Name.app/`` for a directory."""
    sizes: dict[str, int]
    """Regular files of the bundle and their sizes."""
    reader: Callable[[str, int], bytes]
    oddities: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    """Files of the IPA outside the bundle (``iTunesMetadata.plist``, ``SwiftSupport/``...)."""

    def read(self, rel: str, max_size: int) -> bytes:
        size = self.sizes.get(rel)
        if size is None:
            raise ArchiveError(f"no file {rel!r} in the bundle", file=self.file_name)
        if size > max_size:
            raise LimitExceeded(f"{self.root}{rel} is {size:,} bytes, above the limit of {max_size:,}",
                                file=self.file_name)
        return self.reader(rel, max_size)

    def path(self, rel: str) -> str:
        return f"{self.root}{rel}"


def looks_like_ios(path: str | os.PathLike[str]) -> bool:
    """True for an ``.ipa``, an ``.app`` directory, or a zip whose entries are under ``Payload/``."""
    p = Path(path)
    if p.is_dir():
        return p.suffix.lower() == ".app" or (p / "Info.plist").is_file() or any(p.glob("Payload/*.app"))
    suffix = p.suffix.lower()
    if suffix == ".ipa":
        return True
    if suffix in (".apk", ".apks", ".xapk", ".apkm") or not p.is_file():
        return False
    # Any other name: an IPA renamed (``app.zip``) is still an IPA if its entries say so.
    try:
        with p.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        from appvet.ingest.open import _map_file

        names = open_zip(_map_file(p), str(p)).entries
    except (InputError, OSError):
        return False
    return "AndroidManifest.xml" not in names and any(n.startswith("Payload/") for n in names)


def open_bundle(path: str | os.PathLike[str], limits: Limits | None = None) -> AppBundle:
    limits = limits or Limits()
    p = Path(path)
    if p.is_dir():
        return _open_dir(p, limits)
    return _open_ipa(p, limits)


def _unsafe_link(link: str, target: str, root: PurePosixPath) -> bool:
    if target.startswith("/"):
        return True
    parts: list[str] = list(PurePosixPath(link).parent.parts)
    for part in PurePosixPath(target).parts:
        if part == "..":
            if not parts or len(parts) <= len(root.parts):
                return True
            parts.pop()
        elif part != ".":
            parts.append(part)
    return tuple(parts[: len(root.parts)]) != root.parts


def _open_ipa(p: Path, limits: Limits) -> AppBundle:
    from appvet.ingest.open import _map_file, _sha256

    view = _map_file(p)
    digest = _sha256(view)
    archive = open_zip(view, str(p), limits)
    apps = sorted({"/".join(n.split("/")[:2]) for n in archive.entries
                   if n.startswith("Payload/") and n.split("/")[1].lower().endswith(".app") and n.count("/") >= 2})
    if not apps:
        if "AndroidManifest.xml" in archive.entries:
            raise ArchiveError("this is an APK, not an IPA (rename it to .apk)", file=str(p))
        raise ArchiveError("not an IPA: the zip has no Payload/NAME.app/ folder", file=str(p))
    with_plist = [a for a in apps if f"{a}/Info.plist" in archive.entries]
    app = (with_plist or apps)[0]
    root = f"{app}/"
    sizes: dict[str, int] = {}
    outside: list[str] = []
    oddities = [o for o in archive.oddities]
    if len(apps) > 1:
        oddities.append(f"Payload/: {len(apps)} app bundles; read {app}")
    for name, entry in archive.entries.items():
        if name.endswith("/"):
            continue
        if stat.S_ISLNK(entry.external_attr >> 16):
            target = archive.read(name, max_size=4096).decode("utf-8", "replace")
            if _unsafe_link(name, target, PurePosixPath(app)):
                raise ArchiveError(f"symbolic link {name!r} -> {target!r} leaves the app bundle", file=str(p))
            oddities.append(f"{name}: symbolic link to {target!r} (not followed)")
            continue
        if name.startswith(root):
            sizes[name[len(root) :]] = entry.size
        else:
            outside.append(name)

    def read(rel: str, max_size: int) -> bytes:
        return archive.read(root + rel, max_size=max_size)

    return AppBundle(p.name, digest, len(view), "ipa", root, sizes, read, oddities, sorted(outside))


def _open_dir(p: Path, limits: Limits) -> AppBundle:
    if p.suffix.lower() != ".app":
        found = sorted(p.glob("Payload/*.app"))
        if found:
            p = found[0]
    if not (p / "Info.plist").is_file():
        raise InputError("not an app bundle: no Info.plist in the directory", file=str(p))
    root = p.resolve()
    sizes: dict[str, int] = {}
    oddities: list[str] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            full = here / name
            rel = full.relative_to(root).as_posix()
            if len(sizes) >= limits.max_entries:
                raise LimitExceeded(f"more than {limits.max_entries:,} files, above the limit", file=str(p))
            if len(rel) > limits.max_name_length:
                raise ArchiveError(f"path longer than {limits.max_name_length} characters", file=str(p))
            try:
                st = full.lstat()
            except OSError as exc:
                raise InputError(f"cannot read {rel}: {exc.strerror}", file=str(p)) from None
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(full)
                resolved = (full.parent / target).resolve()
                if resolved != root and root not in resolved.parents:
                    raise ArchiveError(f"symbolic link {rel!r} -> {target!r} leaves the app bundle", file=str(p))
                oddities.append(f"{rel}: symbolic link to {target!r} (not followed)")
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
                if total > limits.max_total_uncompressed:
                    raise LimitExceeded(f"files add up to more than {limits.max_total_uncompressed:,} bytes",
                                        file=str(p))
                sizes[rel] = st.st_size
    digest = hashlib.sha256()
    # The digest of a directory: every file's path and content, in path order.
    for rel in sorted(sizes):
        digest.update(rel.encode() + b"\0")
        with (root / rel).open("rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(chunk)

    def read(rel: str, max_size: int) -> bytes:
        with (root / rel).open("rb") as fh:
            data = fh.read(max_size + 1)
        if len(data) > max_size:
            raise LimitExceeded(f"{rel} is above the limit of {max_size:,} bytes", file=str(p))
        return data

    return AppBundle(p.name, digest.hexdigest(), total, "app", f"{p.name}/", sizes, read, oddities)
