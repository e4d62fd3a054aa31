"""Run the iOS format readers over an app bundle and collect what the passes need.

``Info.plist`` and the main executable are essential: iOS could not run the app without them, so
a broken one refuses the input. Frameworks, extensions, dylibs, privacy manifests, the signature
and the provisioning profile that cannot be read become ``Skip``s. An encrypted binary is read as
far as it can be (load commands, linked libraries, symbols) and a ``Skip`` says what was not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from appvet.errors import FormatError, InputError, LimitExceeded
from appvet.ingest.interface import Budget, Options
from appvet.ios.bundle import AppBundle
from appvet.ios.codesign import CodeSignature, Provision, read_provision, read_signature
from appvet.ios.info import InfoPlist, read_info
from appvet.ios.macho import MachO, is_macho, parse_macho
from appvet.ios.plist import load_plist, text
from appvet.ios.privacy import PrivacyManifest, read_privacy
from appvet.model import Skip

MAX_MACHO = 1024**3
MAX_TEXT_FILE = 4 * 1024**2
MAX_TEXT_TOTAL = 64 * 1024**2
TEXT_SUFFIXES = (".json", ".plist", ".js", ".html", ".htm", ".txt", ".xml", ".strings", ".cfg", ".conf")
_PRINTABLE = re.compile(rb"[\x20-\x7e]{6,}")
_CONTAINERS = (".framework", ".appex", ".bundle", ".app")

Progress = Callable[[str], None]


@dataclass
class Image:
    """One Mach-O binary of the bundle."""

    rel: str
    """Path inside the bundle (``Frameworks/BUAdSDK.framework/BUAdSDK``)."""
    path: str
    """Evidence path (``Payload/App.app/Frameworks/...``)."""
    kind: str
    """``main``, ``appex``, ``framework``, ``dylib`` or ``app`` (an app nested in the bundle, as a watch app is)."""
    owner: str
    """``app`` for the main executable, else the framework, extension or dylib name without suffix."""
    macho: MachO | None
    signature: CodeSignature | None = None


@dataclass(frozen=True)
class Container:
    """A framework, extension or resource bundle folder and its own Info.plist identifier."""

    rel: str
    name: str
    kind: str
    bundle_id: str | None
    executable: str | None = None
    """``CFBundleExecutable`` of the folder's Info.plist, when it names one."""


@dataclass(frozen=True)
class BundleText:
    path: str
    strings: tuple[str, ...]


@dataclass
class IosFacts:
    bundle: AppBundle
    info: InfoPlist
    info_path: str
    images: list[Image] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    privacy: list[PrivacyManifest] = field(default_factory=list)
    signature: CodeSignature | None = None
    provision: Provision | None = None
    texts: list[BundleText] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    oddities: list[str] = field(default_factory=list)

    @property
    def main(self) -> Image | None:
        return next((i for i in self.images if i.kind == "main"), None)


def container_of(rel: str) -> tuple[str, str, str] | None:
    """(folder rel path, name, suffix) of the innermost framework/extension/bundle holding ``rel``."""
    parts = PurePosixPath(rel).parts
    for i in range(len(parts) - 2, -1, -1):
        suffix = PurePosixPath(parts[i]).suffix.lower()
        if suffix in _CONTAINERS:
            return "/".join(parts[: i + 1]), PurePosixPath(parts[i]).stem, suffix
    return None


def _skip(facts: IosFacts, locator: str, reason: str, stage: str) -> None:
    facts.skips.append(Skip(locator=locator, reason=reason, stage=stage))


def _binaries(bundle: AppBundle, info: InfoPlist, facts: IosFacts) -> list[tuple[str, str, str]]:
    """(rel, kind, owner) of every Mach-O to read: main first, then extensions, frameworks, dylibs."""
    out: list[tuple[str, str, str]] = []
    main = info.executable
    if not main or main not in bundle.sizes:
        raise FormatError(f"main executable {main!r} named by Info.plist is not in the bundle",
                          file=bundle.path("Info.plist"))
    out.append((main, "main", "app"))
    for c in facts.containers:
        if c.kind == ".bundle":
            continue
        exe = c.executable
        exe_rel = f"{c.rel}/{exe or c.name}"
        if exe_rel in bundle.sizes:
            out.append((exe_rel, {".appex": "appex", ".app": "app"}.get(c.kind, "framework"), c.name))
        elif c.kind != ".app":
            _skip(facts, bundle.path(c.rel), f"no executable {exe or c.name!r} in this {c.kind[1:]}", "binaries")
    for rel in sorted(bundle.sizes):
        if rel.endswith(".dylib"):
            out.append((rel, "dylib", PurePosixPath(rel).stem))
    return out


def gather(bundle: AppBundle, options: Options, progress: Progress | None = None) -> IosFacts:
    say = progress or (lambda _m: None)
    info_path = bundle.path("Info.plist")
    if "Info.plist" not in bundle.sizes:
        raise FormatError("no Info.plist at the top of the app bundle", file=bundle.path(""))
    info = read_info(load_plist(bundle.read("Info.plist", MAX_TEXT_FILE), info_path))
    facts = IosFacts(bundle=bundle, info=info, info_path=info_path, oddities=list(bundle.oddities))

    folders: dict[str, tuple[str, str]] = {}
    for rel in bundle.sizes:
        parts = PurePosixPath(rel).parts
        for i in range(len(parts) - 1):
            suffix = PurePosixPath(parts[i]).suffix.lower()
            if suffix in _CONTAINERS:
                folders.setdefault("/".join(parts[: i + 1]), (PurePosixPath(parts[i]).stem, suffix))
    for rel, (name, suffix) in sorted(folders.items()):
        bid = exe = None
        if f"{rel}/Info.plist" in bundle.sizes:
            try:
                plist = load_plist(bundle.read(f"{rel}/Info.plist", MAX_TEXT_FILE), bundle.path(f"{rel}/Info.plist"))
                bid, exe = text(plist.get("CFBundleIdentifier")), text(plist.get("CFBundleExecutable"))
            except InputError as exc:
                _skip(facts, bundle.path(f"{rel}/Info.plist"), exc.message, "plist")
        facts.containers.append(Container(rel, name, suffix, bid, exe))

    budget = Budget.start("binaries", options.stage_seconds)
    for rel, kind, owner in _binaries(bundle, info, facts):
        path = bundle.path(rel)
        say(f"binary {rel}")
        try:
            budget.check(bundle.file_name)
            data = bundle.read(rel, MAX_MACHO)
            if not is_macho(data[:8]):
                raise FormatError("not a Mach-O file", file=path)
            macho = parse_macho(data, path)
        except LimitExceeded as exc:
            if kind == "main":
                raise
            _skip(facts, path, exc.message, "binaries")
            continue
        except FormatError as exc:
            if kind == "main":
                raise FormatError(exc.message, file=path) from None
            _skip(facts, path, exc.message, "binaries")
            continue
        image = Image(rel, path, kind, owner, macho)
        if macho.encrypted:
            lo, size, cid = macho.encryption or (0, 0, 1)
            hi = lo + size
            _skip(facts, path, f"encrypted by the App Store (LC_ENCRYPTION_INFO cryptid={cid}, bytes {lo:#x}-{hi:#x}): "
                  "Objective-C class names, selectors, method bodies, C strings and CFStrings were not read, so "
                  "code-level SDK attribution, sensitive-API call sites and endpoints of this binary are missing; "
                  "linked libraries, imported symbols, entitlements, Info.plist and privacy manifests were read. "
                  "Review a decrypted copy for the rest", "binaries")
        for note in macho.notes:
            if not note.startswith(("encrypted", "fat binary")):
                _skip(facts, path, note, "binaries")
        if macho.code_signature:
            try:
                image.signature = read_signature(macho.code_signature, path)
            except FormatError as exc:
                _skip(facts, f"{path} (code signature)", exc.message, "signing")
        elif kind == "main":
            _skip(facts, f"{path} (code signature)", "the main executable is not signed (no LC_CODE_SIGNATURE)",
                  "signing")
        facts.images.append(image)
    main = facts.main
    if main is not None:
        facts.signature = main.signature
        if main.signature:
            for note in main.signature.notes:
                _skip(facts, f"{main.path} (code signature)", note, "signing")

    if "embedded.mobileprovision" in bundle.sizes:
        path = bundle.path("embedded.mobileprovision")
        try:
            facts.provision = read_provision(bundle.read("embedded.mobileprovision", MAX_TEXT_FILE), path)
        except InputError as exc:
            _skip(facts, path, exc.message, "signing")

    for rel in sorted(bundle.sizes):
        if not rel.endswith("PrivacyInfo.xcprivacy"):
            continue
        path = bundle.path(rel)
        owner = container_of(rel)
        try:
            facts.privacy.append(read_privacy(load_plist(bundle.read(rel, MAX_TEXT_FILE), path), rel,
                                              owner[1] if owner else "app"))
        except InputError as exc:
            _skip(facts, path, exc.message, "privacy")

    total = 0
    for rel in sorted(bundle.sizes):
        if not rel.lower().endswith(TEXT_SUFFIXES) or rel.endswith("Info.plist"):
            continue
        size = bundle.sizes[rel]
        if size > MAX_TEXT_FILE or total + size > MAX_TEXT_TOTAL:
            _skip(facts, bundle.path(rel), f"text file of {size:,} bytes over the scanning limit", "files")
            continue
        total += size
        try:
            data = bundle.read(rel, MAX_TEXT_FILE)
        except InputError as exc:
            _skip(facts, bundle.path(rel), exc.message, "files")
            continue
        facts.texts.append(BundleText(bundle.path(rel), tuple(m.decode("ascii") for m in _PRINTABLE.findall(data))))
    return facts
