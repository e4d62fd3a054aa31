"""Write the seed corpora under fuzz/corpus/<harness>/ from the committed test fixtures.

Seeds are real files (or entries of real APKs) so mutation starts from inputs that reach deep
into each reader. Run ``python fuzz/seeds.py`` after the fixtures change; the output is committed.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from appvet.android.signing import find_signing_block, read_block_certificates  # noqa: E402
from appvet.ingest.zipread import open_zip  # noqa: E402

FIX = ROOT / "tests" / "fixtures"
DATA = ROOT / "tests" / "android" / "data"
CORPUS = ROOT / "fuzz" / "corpus"


def _entry(apk: Path, name: str) -> bytes:
    return open_zip(apk.read_bytes(), apk.name).read(name)


def seeds() -> dict[str, list[bytes]]:
    plain = FIX / "built" / "plain.apk"
    multi = FIX / "built" / "multisdk.apk"
    apk = plain.read_bytes()
    cd = open_zip(apk, "plain.apk").central_directory_offset
    certs = [der for der, _s in read_block_certificates(find_signing_block(apk, cd))]
    return {
        "zip": [apk, (FIX / "bad" / "tricks.apk").read_bytes()],
        "bundle": [(FIX / "built" / "bundle.apks").read_bytes(), apk],
        "axml": [_entry(plain, "AndroidManifest.xml"),
                 (DATA / "axml" / "obfuscated" / "AndroidManifest.xml").read_bytes()],
        "manifest": [_entry(multi, "AndroidManifest.xml"), (DATA / "axml" / "AndroidManifest.xml").read_bytes()],
        "arsc": [_entry(multi, "resources.arsc"), (DATA / "axml" / "resources-sparse.arsc").read_bytes()],
        "dex": [(DATA / "dex" / "sample.dex").read_bytes(), _entry(plain, "classes.dex")],
        # The harness reads a 4-byte central directory offset, then the APK.
        "signing": [struct.pack("<I", cd) + apk],
        "certificate": certs[:1],
        "elf": [(DATA / "elf" / n).read_bytes() for n in ("libprobe-arm64.so", "libprobe-noshdr.so")],
        "har": [(FIX / "traffic" / "flows.har").read_bytes()],
        "mitm": [(FIX / "traffic" / "flows.mitm").read_bytes()],
        "pcap": [(FIX / "traffic" / n).read_bytes() for n in ("capture.pcap", "capture.pcapng")],
        **_ios_seeds(),
    }


def _ios_seeds() -> dict[str, list[bytes]]:
    from appvet.ios.macho import parse_macho

    demo = FIX / "built" / "ios" / "demoshop.ipa"
    fat = FIX / "built" / "ios" / "demoshop-fat.ipa"
    app = "Payload/DemoShop.app/"
    main = _entry(demo, f"{app}DemoShop")
    return {
        "macho": [main, _entry(fat, f"{app}DemoShop"), _entry(demo, f"{app}Frameworks/BUAdSDK.framework/BUAdSDK")],
        "plist": [_entry(demo, f"{app}Info.plist"), _entry(fat, f"{app}Info.plist"),
                  _entry(demo, f"{app}Frameworks/BUAdSDK.framework/PrivacyInfo.xcprivacy")],
        "codesign": [parse_macho(main, "DemoShop").code_signature or b"",
                     _entry(demo, f"{app}embedded.mobileprovision")],
        "ipa": [demo.read_bytes()],
    }


def main() -> int:
    for harness, items in seeds().items():
        out = CORPUS / harness
        out.mkdir(parents=True, exist_ok=True)
        for data in items:
            (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
