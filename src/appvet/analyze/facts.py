"""Run the format readers over every APK of an input and collect what the passes need.

What Android needs to install the app (the base manifest, the code) is essential: if it is
broken the input is refused with an InputError. Anything else that cannot be read becomes a
``Skip`` and the review goes on without it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from appvet.analyze.interface import AppFacts, DexUnit, NativeLib, TextFile
from appvet.android.arsc import ResourceTable, parse_arsc
from appvet.android.dex import parse_dex
from appvet.android.elf import native_strings
from appvet.android.manifest import read_manifest
from appvet.android.verify import verify_apk
from appvet.errors import FormatError, InputError, LimitExceeded
from appvet.ingest.interface import ApkPart, Budget, InputPackage, Options
from appvet.model import Skip

_DEX_NAME = re.compile(r"^classes\d*\.dex$")
TEXT_SUFFIXES = (".json", ".xml", ".properties", ".js", ".txt", ".html", ".htm", ".cfg", ".conf", ".ini", ".yaml",
                 ".yml", ".plist")
MAX_TEXT_FILE = 4 * 1024**2
MAX_TEXT_TOTAL = 64 * 1024**2
MAX_NATIVE_FILE = 128 * 1024**2
_PRINTABLE = re.compile(rb"[\x20-\x7e]{6,}")

Progress = Callable[[str], None]


def _dex_order(name: str) -> int:
    digits = name[len("classes") : -len(".dex")]
    return int(digits) if digits else 1


def _skip(facts: AppFacts, locator: str, reason: str, stage: str) -> None:
    facts.skips.append(Skip(locator=locator, reason=reason, stage=stage))


def _read_manifest(base: ApkPart, resources: ResourceTable | None):  # type: ignore[no-untyped-def]
    if "AndroidManifest.xml" not in base.archive.entries:
        raise FormatError("no AndroidManifest.xml in the base APK", file=base.archive.file)
    data = base.archive.read("AndroidManifest.xml", max_size=64 * 1024**2)
    return read_manifest(data, f"{base.prefix}AndroidManifest.xml", resources)


def _read_resources(part: ApkPart, facts: AppFacts) -> ResourceTable | None:
    if "resources.arsc" not in part.archive.entries:
        return None
    path = f"{part.prefix}resources.arsc"
    try:
        table = parse_arsc(part.archive.read("resources.arsc", max_size=256 * 1024**2), path)
    except InputError as exc:
        _skip(facts, path, exc.message, "resources")
        return None
    facts.texts.append(TextFile(path, "resource", tuple(table.strings())))
    return table


def _read_dex(part: ApkPart, facts: AppFacts, options: Options, budget: Budget) -> None:
    names = sorted((n for n in part.archive.entries if _DEX_NAME.match(n)), key=_dex_order)
    for name in names:
        budget.check(part.archive.file)
        path = f"{part.prefix}{name}"
        data = part.archive.read(name, max_size=options.max_dex_size)
        # A broken code file is refused rather than skipped: Android would not run the app either.
        facts.dex.append(DexUnit(path, parse_dex(data, path)))


def _read_native(part: ApkPart, facts: AppFacts, budget: Budget) -> None:
    for name in sorted(part.archive.entries):
        if not (name.startswith("lib/") and name.endswith(".so")):
            continue
        budget.check(part.archive.file)
        pp = PurePosixPath(name)
        abi = pp.parts[1] if len(pp.parts) > 2 else ""
        path = f"{part.prefix}{name}"
        try:
            data = part.archive.read(name, max_size=MAX_NATIVE_FILE)
            strings = native_strings(data, path)
        except InputError as exc:
            _skip(facts, path, exc.message, "native")
            continue
        facts.native.append(NativeLib(path, abi, pp.name, tuple(strings)))


def _read_assets(part: ApkPart, facts: AppFacts, budget: Budget) -> None:
    total = 0
    for name in sorted(part.archive.entries):
        if not name.startswith("assets/") or not name.lower().endswith(TEXT_SUFFIXES):
            continue
        path = f"{part.prefix}{name}"
        entry = part.archive.entries[name]
        if entry.size > MAX_TEXT_FILE or total + entry.size > MAX_TEXT_TOTAL:
            _skip(facts, path, f"text asset of {entry.size:,} bytes over the scanning limit", "assets")
            continue
        budget.check(part.archive.file)
        total += entry.size
        try:
            data = part.archive.read(name, max_size=MAX_TEXT_FILE)
        except InputError as exc:
            _skip(facts, path, exc.message, "assets")
            continue
        strings = tuple(m.decode("ascii") for m in _PRINTABLE.findall(data))
        facts.texts.append(TextFile(path, "asset", strings))


def _read_signers(part: ApkPart, facts: AppFacts) -> None:
    """Keep the signers Android would accept; everything else it ignores or refuses is a problem."""
    archive = part.signed or part.archive
    min_sdk = facts.manifest.min_sdk if facts.manifest else None
    try:
        result = verify_apk(archive.data, archive.central_directory_offset, archive.names(),
                            lambda name: archive.read(name), int(min_sdk) if min_sdk and min_sdk.isdigit() else None,
                            archive.file)
    except InputError as exc:
        _skip(facts, f"{part.prefix}META-INF", f"signatures not verified: {exc.message}", "signing")
        return
    for note in result.unreadable:
        _skip(facts, f"{part.prefix}META-INF", note, "signing")
    facts.certificates = result.signers
    facts.verified_schemes = result.verified_schemes
    facts.signature_problems = result.problems


def gather(package: InputPackage, options: Options, progress: Progress | None = None) -> AppFacts:
    """Parse every format of every APK in ``package``; essential parts raise, the rest is skipped."""
    say = progress or (lambda _msg: None)
    base = package.parts[0]
    facts = AppFacts(package=package, manifest=None, resources=None)
    say("resources")
    facts.resources = _read_resources(base, facts)
    say("manifest")
    facts.manifest = _read_manifest(base, facts.resources)
    say("signing")
    _read_signers(base, facts)
    code_budget = Budget.start("dex", options.stage_seconds)
    other_budget = Budget.start("files", options.stage_seconds)
    for part in package.parts:
        facts.oddities.extend(f"{part.prefix}{o}" for o in part.archive.oddities)
        facts.zip_tricks.extend(dataclasses.replace(t, entry=f"{part.prefix}{t.entry}") for t in part.archive.tricks)
        if part is not base:
            _read_resources(part, facts)
        say(f"code {part.name}")
        _read_dex(part, facts, options, code_budget)
        say(f"native {part.name}")
        # Native libraries and assets are not essential: past their budget the rest is skipped.
        try:
            _read_native(part, facts, other_budget)
            _read_assets(part, facts, other_budget)
        except LimitExceeded as exc:
            _skip(facts, f"{part.prefix}lib/, assets/", f"{exc.message}; remaining files not read", "files")
    return facts
