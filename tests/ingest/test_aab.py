"""App Bundles: ``multisdk.aab`` is built by scripts/build-fixtures from the same apktool tree as
``multisdk.apk`` (aapt2 --proto-format for the manifest and resource table, the APK's own dex,
libraries and assets), so its review must be the APK's, file identity and signature schemes aside."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appvet.errors import FormatError
from appvet.ingest.open import open_input
from appvet.model import to_json
from appvet.review import review
from tests.conftest import BUILT

AAB = BUILT / "multisdk.aab"
APK = BUILT / "multisdk.apk"
APPVET = str(Path(sys.executable).parent / "appvet")


def _without_module_prefix(value: object) -> object:
    return json.loads(json.dumps(value, sort_keys=True).replace('"base/', '"'))


@pytest.fixture(scope="module")
def reviews(kb) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    return json.loads(to_json(review(AAB, kb=kb))), json.loads(to_json(review(APK, kb=kb)))


def test_bundle_modules_are_read_under_apk_names() -> None:
    package = open_input(AAB)
    assert package.kind == "aab" and [p.name for p in package.parts] == ["base"]
    names = set(package.parts[0].archive.entries)
    assert {"AndroidManifest.xml", "resources.arsc", "classes.dex", "lib/arm64-v8a/libBugly.so",
            "assets/config.json", "res/xml/network_security_config.xml"} <= names
    assert not any(n.startswith(("base/", "dex/", "manifest/")) or n == "BundleConfig.pb" for n in names)
    # Entries keep the bundle's own path, so an error about one names the file a person can open.
    assert package.parts[0].archive.entries["classes.dex"].name == "base/dex/classes.dex"


def test_bundle_review_is_the_apk_review(reviews: tuple[dict, dict]) -> None:
    aab, apk = reviews
    assert aab["sdks"] and aab["capabilities"] and aab["endpoints"]
    for key in apk:
        if key != "app":
            assert _without_module_prefix(aab[key]) == _without_module_prefix(apk[key]), key
    same = ("package", "label", "version_code", "version_name", "min_sdk", "target_sdk", "dex_files", "native_libs",
            "entries", "developer")
    for key in same:
        assert _without_module_prefix(aab["app"].get(key)) == _without_module_prefix(apk["app"].get(key)), key
    assert aab["app"]["label"] == "Multi SDK Demo"  # resolved through resources.pb
    assert [s["sha256"] for s in aab["app"]["signers"]] == [s["sha256"] for s in apk["app"]["signers"]]
    assert aab["app"]["signers"][0]["schemes"] == ["v1"]


def test_bundle_evidence_names_the_module(reviews: tuple[dict, dict]) -> None:
    aab, _apk = reviews
    files = {e["file"] for s in aab["sdks"] for e in s["evidence"]}
    assert files and all(f.startswith("base/") for f in files)


def test_broken_bundle_manifest_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.aab"
    with zipfile.ZipFile(AAB) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "base/manifest/AndroidManifest.xml":
                data = data[: len(data) // 2]  # a length-delimited field now runs past the end
            dst.writestr(info, data)
    proc = subprocess.run([APPVET, "review", str(bad), "--quiet"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.aab" in lines[0] and "protobuf" in lines[0] and "Traceback" not in proc.stderr


def test_truncated_manifest_raises_format_error() -> None:
    from appvet.android.manifest import read_manifest

    data = zipfile.ZipFile(AAB).read("base/manifest/AndroidManifest.xml")
    with pytest.raises(FormatError):
        read_manifest(data[:-7], "base/AndroidManifest.xml")


def test_feature_modules_become_further_parts(tmp_path: Path) -> None:
    bundle = tmp_path / "features.aab"
    with zipfile.ZipFile(AAB) as src, zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("chat/manifest/AndroidManifest.xml", src.read("base/manifest/AndroidManifest.xml"))
        dst.writestr("chat/dex/classes.dex", src.read("base/dex/classes.dex"))
        dst.writestr("chat/root/okhttp3/internal/publicsuffix/publicsuffixes.gz", b"x")
        dst.writestr("BUNDLE-METADATA/com.android.tools.build.obfuscation/proguard.map", b"a -> b:\n")
    package = open_input(bundle)
    assert [p.name for p in package.parts] == ["base", "chat"]
    chat = package.parts[1]
    assert chat.prefix == "chat/"
    assert set(chat.archive.entries) == {"AndroidManifest.xml", "classes.dex",
                                         "okhttp3/internal/publicsuffix/publicsuffixes.gz"}
    assert not any(n.startswith("META-INF/") for n in chat.archive.entries)  # the signature belongs to base
    assert any(n.startswith("META-INF/") for n in package.parts[0].archive.entries)
