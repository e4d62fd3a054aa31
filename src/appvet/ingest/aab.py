"""Android App Bundles (``.aab``): the modules of a bundle, each seen as the APK it would become.

A bundle keeps each module under its own folder (``base/``, ``feature/``...):
``manifest/AndroidManifest.xml`` (aapt2 protobuf XML), ``resources.pb`` (protobuf resource table),
``dex/classes*.dex``, ``lib/``, ``assets/``, ``res/`` and ``root/`` (files that go to the APK's
top level). bundletool moves them to ``AndroidManifest.xml``, ``resources.arsc``, ``classes*.dex``
and so on when it builds the APKs a phone installs. appvet does the same move in name only: each
module becomes an ``ApkPart`` whose archive lists the module's entries under their APK names and
reads the bundle's bytes in place (the protobuf forms are recognised by the format readers). The
bundle's own ``META-INF/`` (its jarsigner signature) is given to the base module.

Evidence paths of a bundle are ``<module>/<name in the APK>``: ``base/classes.dex`` is the bundle's
``base/dex/classes.dex``, ``base/AndroidManifest.xml`` its ``base/manifest/AndroidManifest.xml``.
"""

from __future__ import annotations

from dataclasses import replace

from appvet.ingest.interface import ApkPart
from appvet.ingest.zipread import ZipArchive, ZipEntry

BUNDLE_MANIFEST = "manifest/AndroidManifest.xml"
_MOVES = (("manifest/AndroidManifest.xml", "AndroidManifest.xml"), ("resources.pb", "resources.arsc"),
          ("dex/", ""), ("root/", ""), ("lib/", "lib/"), ("assets/", "assets/"), ("res/", "res/"))


def is_bundle(archive: ZipArchive) -> bool:
    return f"base/{BUNDLE_MANIFEST}" in archive.entries


def modules(archive: ZipArchive) -> list[str]:
    """Module folders of the bundle, base first."""
    found = sorted({n.split("/", 1)[0] for n in archive.entries if n.endswith("/" + BUNDLE_MANIFEST)
                    and n.count("/") == 2})
    return ["base"] + [m for m in found if m != "base"]


def _apk_name(inside: str) -> str | None:
    for prefix, target in _MOVES:
        if inside == prefix:
            return target
        if prefix.endswith("/") and inside.startswith(prefix) and len(inside) > len(prefix):
            return target + inside[len(prefix):]
    return None


def module_archive(archive: ZipArchive, module: str) -> ZipArchive:
    """The module's entries under the names they have in the APK bundletool would build."""
    entries: dict[str, ZipEntry] = {}
    folder = module + "/"
    for name, entry in archive.entries.items():
        if name.startswith(folder):
            target = _apk_name(name[len(folder):])
        elif module == "base" and name.startswith("META-INF/"):
            target = name
        else:
            continue
        if target and target not in entries:
            entries[target] = entry
    # No APK Signing Block: bundles are signed with jarsigner only, so the signing-block search
    # must not pick up anything; an offset of 0 gives it nothing to read.
    return replace(archive, file=f"{archive.file}!{module}", entries=entries, central_directory_offset=0,
                   oddities=list(archive.oddities) if module == "base" else [])


def bundle_parts(archive: ZipArchive) -> tuple[ApkPart, ...]:
    return tuple(ApkPart(m, module_archive(archive, m), f"{m}/", signed=archive if m == "base" else None)
                 for m in modules(archive))
