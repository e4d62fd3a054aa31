"""One function per reader: take untrusted bytes, drive the reader as the pipeline does.

A harness returns normally when the reader parsed the bytes or refused them with appvet's typed
``InputError``; any other exception escapes and is a crash. The same functions are called by the
atheris entry points (``fuzz/fuzz_<reader>.py``), by the pure-Python mutation driver
(``fuzz/run_all.py``) and by the regression and property tests, so a crash found one way is
replayed the other ways.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

from appvet.android.arsc import parse_arsc
from appvet.android.axml import parse_axml, to_xml
from appvet.android.dex import parse_dex_container
from appvet.android.elf import elf_info, native_strings
from appvet.android.manifest import read_manifest
from appvet.android.signing import describe_certificate, find_signing_block, read_block_certificates
from appvet.errors import InputError
from appvet.ingest.interface import Options
from appvet.ingest.open import open_input
from appvet.ingest.zipread import Limits, open_zip
from appvet.ios.bundle import open_bundle
from appvet.ios.codesign import read_provision, read_signature
from appvet.ios.gather import gather
from appvet.ios.info import read_info
from appvet.ios.macho import parse_macho
from appvet.ios.plist import load_plist
from appvet.ios.privacy import read_privacy
from appvet.traffic import har, mitm, pcap
from appvet.traffic.model import CaptureNote

Harness = Callable[[bytes], None]

# Small limits keep one fuzz iteration in milliseconds; the code paths are the same as the defaults.
FUZZ_LIMITS = Limits(max_entries=2_000, max_total_uncompressed=64 * 1024**2, max_entry_size=8 * 1024**2,
                     max_ratio=500, ratio_floor=1024**2)
MAX_ENTRIES_READ = 64


def _typed(fn: Callable[[bytes], object]) -> Harness:
    def run(data: bytes) -> None:
        with contextlib.suppress(InputError):
            fn(data)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


@_typed
def zip_reader(data: bytes) -> None:
    """Central directory, then every entry inflated as ``facts.gather`` would."""
    archive = open_zip(data, "fuzz.zip", FUZZ_LIMITS)
    for name in list(archive.entries)[:MAX_ENTRIES_READ]:
        try:
            archive.read(name)
        except InputError:
            continue
        archive.raw_view(name)


_SCRATCH: dict[str, Path] = {}


def _scratch(suffix: str = ".apks") -> Path:
    """One scratch file per suffix and process: the readers map a path, so inputs are fuzzed through the real call."""
    if suffix not in _SCRATCH:
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, name = tempfile.mkstemp(suffix=suffix, dir=base)
        os.close(fd)
        _SCRATCH[suffix] = Path(name)
        atexit.register(_SCRATCH[suffix].unlink, missing_ok=True)
    return _SCRATCH[suffix]


@_typed
def bundle(data: bytes) -> None:
    """``open_input`` on a plain APK or a split bundle (.apks/.xapk), nested zips included."""
    path = _scratch()
    path.write_bytes(data)
    package = open_input(path, FUZZ_LIMITS)
    for part in package.parts:
        for name in list(part.archive.entries)[:MAX_ENTRIES_READ]:
            try:
                part.archive.read(name)
            except InputError:
                continue


@_typed
def axml(data: bytes) -> None:
    """Binary XML to a tree, and the tree back to text (the ``appvet manifest`` output)."""
    to_xml(parse_axml(data, "fuzz.xml"))


@_typed
def manifest(data: bytes) -> None:
    """Binary XML read as an AndroidManifest, every summary field computed."""
    m = read_manifest(data, "AndroidManifest.xml", None)
    _ = (m.summary, m.package, m.min_sdk, m.target_sdk, m.label)


@_typed
def arsc(data: bytes) -> None:
    """Resource table, its strings, and a resolve of the first references of each package."""
    table = parse_arsc(data, "resources.arsc")
    for _ in zip(range(10_000), table.strings(), strict=False):
        pass
    for ref in (0x7F010000, 0x7F020000, 0x7F030000, 0x7F030001, 0x01040000):
        table.resolve(ref)
        table.name(ref)
        table.value(ref)


@_typed
def dex(data: bytes) -> None:
    """DEX header and tables, classes, references and the bytecode scan the passes use."""
    for d in parse_dex_container(data, "classes.dex", max_size=16 * 1024**2):
        d.classes()
        d.method_refs()
        d.field_refs()
        d.scan_code()
        d.class_methods()


@_typed
def signing(data: bytes) -> None:
    """APK Signing Block ending at an offset given by the first 4 bytes, then its certificates."""
    if len(data) < 4:
        return
    (offset,) = struct.unpack_from("<I", data)
    apk = data[4:]
    block = find_signing_block(apk, offset % (len(apk) + 1))
    for der, scheme in read_block_certificates(block):
        describe_certificate(der, (scheme,))


@_typed
def certificate(data: bytes) -> None:
    """An X.509 certificate as found in a v1 or v2 signature."""
    describe_certificate(data, ("v2",))


@_typed
def elf(data: bytes) -> None:
    """Native library: strings (what the passes read) and the header summary."""
    native_strings(data, "lib/arm64-v8a/libfuzz.so", max_strings=20_000)
    elf_info(data, "lib/arm64-v8a/libfuzz.so")


@_typed
def har_reader(data: bytes) -> None:
    """HAR capture (JSON)."""
    for _ in har.read(io.BytesIO(data), "fuzz.har"):
        pass


@_typed
def mitm_reader(data: bytes) -> None:
    """mitmproxy flow file (tnetstrings)."""
    notes: list[CaptureNote] = []
    for _ in mitm.read(io.BytesIO(data), "fuzz.mitm", notes):
        pass


@_typed
def pcap_reader(data: bytes) -> None:
    """pcap or pcapng capture: frames, TCP reassembly, DNS, TLS SNI and HTTP requests."""
    notes: list[CaptureNote] = []
    for _ in pcap.read(io.BytesIO(data), "fuzz.pcap", notes):
        pass


@_typed
def macho(data: bytes) -> None:
    """Mach-O (thin or fat): load commands, symbols, fixups, Objective-C and Swift metadata, strings, code scan."""
    m = parse_macho(data, "fuzz.macho")
    _ = (m.libraries, m.imports, m.objc_classes, m.objc_selectors, m.code_refs, m.cfstrings)


@_typed
def plist(data: bytes) -> None:
    """Property list (XML or binary) read as Info.plist and as a privacy manifest."""
    value = load_plist(data, "Info.plist")
    read_info(value)
    read_privacy(value, "PrivacyInfo.xcprivacy", "app")


@_typed
def codesign(data: bytes) -> None:
    """Code-signature SuperBlob (CodeDirectory, entitlements, CMS) and, the same bytes, a provisioning profile."""
    read_signature(data, "fuzz.macho")
    with contextlib.suppress(InputError):
        read_provision(data, "embedded.mobileprovision")


@_typed
def ipa(data: bytes) -> None:
    """An IPA through ``open_bundle`` and every iOS reader, as ``review`` runs them."""
    path = _scratch(".ipa")
    path.write_bytes(data)
    gather(open_bundle(path, FUZZ_LIMITS), Options(limits=FUZZ_LIMITS, stage_seconds=10))


HARNESSES: dict[str, Harness] = {
    "zip": zip_reader,
    "bundle": bundle,
    "axml": axml,
    "manifest": manifest,
    "arsc": arsc,
    "dex": dex,
    "signing": signing,
    "certificate": certificate,
    "elf": elf,
    "har": har_reader,
    "mitm": mitm_reader,
    "pcap": pcap_reader,
    "macho": macho,
    "plist": plist,
    "codesign": codesign,
    "ipa": ipa,
}
