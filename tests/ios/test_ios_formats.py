"""Property lists, code signatures, provisioning profiles, privacy manifests and bundle opening."""

from __future__ import annotations

import os
import plistlib
import shutil
import zipfile
from pathlib import Path

import pytest

from appvet.errors import ArchiveError, FormatError, LimitExceeded
from appvet.ingest.zipread import Limits
from appvet.ios.bundle import looks_like_ios, open_bundle
from appvet.ios.codesign import read_provision, read_signature
from appvet.ios.info import read_info
from appvet.ios.macho import parse_macho
from appvet.ios.plist import load_plist
from appvet.ios.privacy import read_privacy
from tests.ios.ios_helpers import APP, BAD, IOS, entry


def test_xml_and_binary_info_plist_read_alike() -> None:
    xml = entry("demoshop.ipa", "Info.plist")
    binary = entry("demoshop-fat.ipa", "Info.plist")
    assert xml.startswith(b"<?xml") and binary.startswith(b"bplist00")
    a, b = read_info(load_plist(xml, "x")), read_info(load_plist(binary, "b"))
    assert a == b
    assert a.bundle_id == "com.example.demoshop" and a.executable == "DemoShop"
    assert (a.version, a.short_version, a.min_os) == ("42", "3.1.0", "14.0")
    assert a.queried_schemes == ["weixin", "wechat", "mqqapi", "alipay", "snssdk1128", "fb"]
    assert a.url_schemes == ["wx1234567890abcdef", "demoshop"]
    assert a.background_modes == ["location", "remote-notification"]
    assert a.ats_arbitrary_loads and [e.domain for e in a.ats_exceptions] == ["legacy.demo-shop.example.net"]
    assert a.usage["NSLocationWhenInUseUsageDescription"] == "We use your location to show nearby stores."


@pytest.mark.parametrize("data", [
    b"", b"   ", b"bplist00", b"bplist00\xd1\x01\x02garbage", b"<plist><dict><key>a</key></plist>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><plist><string>&e;</string></plist>',
    plistlib.dumps(["a list"]),
])
def test_malformed_plists_are_format_errors(data: bytes) -> None:
    with pytest.raises(FormatError):
        load_plist(data, "Info.plist")


def test_info_with_wrong_types_is_read_without_them() -> None:
    info = read_info({"CFBundleIdentifier": 7, "LSApplicationQueriesSchemes": "weixin", "CFBundleURLTypes": "x",
                      "NSAppTransportSecurity": [], "NSCameraUsageDescription": 3})
    assert info.bundle_id is None and info.queried_schemes == ["weixin"] and info.usage == {}


def test_code_signature() -> None:
    m = parse_macho(entry("demoshop.ipa", "DemoShop"), "DemoShop")
    sig = read_signature(m.code_signature or b"", "DemoShop")
    assert (sig.identifier, sig.team_id) == ("com.example.demoshop", "ABCDE12345")
    assert sig.entitlements["keychain-access-groups"][0] == "ABCDE12345.com.example.demoshop"
    assert sig.entitlements["com.apple.developer.associated-domains"] == ["applinks:demo-shop.example.net"]
    (cert,) = sig.certificates
    assert (cert.organisation, cert.country, cert.schemes) == ("ByteDance Ltd.", "CN", ("ios-cms",))
    assert "CN=Apple Distribution: ByteDance Ltd. (ABCDE12345)" in cert.subject
    assert sig.notes == []


@pytest.mark.parametrize("blob", [
    b"", b"\xfa\xde\x0c\xc0" + b"\0" * 4, b"\xfa\xde\x0c\xc0\0\0\0\x20\0\0\0\x09" + b"\0" * 20,
])
def test_malformed_signature(blob: bytes) -> None:
    with pytest.raises(FormatError):
        read_signature(blob, "x")


def test_signature_with_broken_cms_keeps_the_rest() -> None:
    m = parse_macho(entry("demoshop.ipa", "DemoShop"), "DemoShop")
    blob = bytearray(m.code_signature or b"")
    at = blob.find(b"\xfa\xde\x0b\x01")
    blob[at + 8 : at + 40] = b"\x01" * 32
    sig = read_signature(bytes(blob), "x")
    assert sig.team_id == "ABCDE12345" and sig.certificates == []
    assert any("CMS" in n for n in sig.notes)


def test_provisioning_profile() -> None:
    p = read_provision(entry("demoshop.ipa", "embedded.mobileprovision"), "embedded.mobileprovision")
    assert (p.name, p.team_ids, p.team_name, p.devices, p.all_devices) == (
        "Demo Shop Ad Hoc", ["ABCDE12345"], "ByteDance Ltd.", 2, False)
    assert p.expires == "2027-01-05T10:00:00Z" and p.entitlements["aps-environment"] == "production"
    with pytest.raises(FormatError):
        read_provision(b"0\x82\x01\x00 not a profile", "embedded.mobileprovision")


def test_privacy_manifest() -> None:
    data = entry("demoshop.ipa", "Frameworks/BUAdSDK.framework/PrivacyInfo.xcprivacy")
    pm = read_privacy(load_plist(data, "x"), "Frameworks/BUAdSDK.framework/PrivacyInfo.xcprivacy", "BUAdSDK")
    assert pm.tracking is True and pm.tracking_domains == ["log-api.pangolin-sdk-toutiao.com"]
    assert [c.type for c in pm.collected] == ["NSPrivacyCollectedDataTypeDeviceID"]
    assert pm.collected[0].tracking is True
    assert [(a.type, a.reasons) for a in pm.accessed_apis] == [("NSPrivacyAccessedAPICategorySystemBootTime",
                                                                ("35F9.1",))]


@pytest.mark.parametrize("value", [5, True, "NSPrivacyCollectedDataTypeDeviceID", {"a": 1}])
def test_privacy_manifest_with_wrong_types_is_read_without_them(value: object) -> None:
    pm = read_privacy({"NSPrivacyCollectedDataTypes": value, "NSPrivacyAccessedAPITypes": value,
                       "NSPrivacyTracking": True}, "PrivacyInfo.xcprivacy", "app")
    assert (pm.tracking, pm.collected, pm.accessed_apis) == (True, [], [])


def _unpack(tmp_path: Path, ipa: str = "demoshop.ipa") -> Path:
    with zipfile.ZipFile(IOS / ipa) as zf:
        zf.extractall(tmp_path)
    return tmp_path / "Payload" / "DemoShop.app"


def test_ipa_and_app_directory_hold_the_same_files(tmp_path: Path) -> None:
    ipa = open_bundle(IOS / "demoshop.ipa")
    app = open_bundle(_unpack(tmp_path))
    assert ipa.kind == "ipa" and app.kind == "app"
    assert ipa.root == APP and app.root == "DemoShop.app/"
    assert ipa.sizes == app.sizes
    assert ipa.outside == ["iTunesMetadata.plist"]
    assert ipa.read("Info.plist", 1 << 20) == app.read("Info.plist", 1 << 20)
    assert looks_like_ios(IOS / "demoshop.ipa") and looks_like_ios(tmp_path / "Payload" / "DemoShop.app")
    assert looks_like_ios(tmp_path) and not looks_like_ios(IOS.parent / "plain.apk")


def test_renamed_ipa_is_recognised(tmp_path: Path) -> None:
    for name in ("app.zip", "0f3a9c"):  # the review service stores uploads under their digest, no suffix
        renamed = tmp_path / name
        shutil.copy(IOS / "demoshop.ipa", renamed)
        assert looks_like_ios(renamed)
    shutil.copy(IOS.parent / "plain.apk", tmp_path / "apkblob")
    assert not looks_like_ios(tmp_path / "apkblob")


def test_fleet_finds_ipas_in_folders(tmp_path: Path) -> None:
    from appvet.fleet.inputs import discover

    shutil.copy(IOS / "demoshop.ipa", tmp_path / "a.ipa")
    shutil.copy(IOS.parent / "plain.apk", tmp_path / "b.apk")
    assert [p.name for p in discover([tmp_path])] == ["a.ipa", "b.apk"]


def test_symlink_leaving_a_directory_bundle_is_refused(tmp_path: Path) -> None:
    app = _unpack(tmp_path)
    os.symlink("/etc/passwd", app / "Frameworks" / "evil")
    with pytest.raises(ArchiveError, match="leaves the app bundle"):
        open_bundle(app)


def test_symlink_inside_a_directory_bundle_is_not_followed(tmp_path: Path) -> None:
    app = _unpack(tmp_path)
    os.symlink("Info.plist", app / "Alias.plist")
    bundle = open_bundle(app)
    assert "Alias.plist" not in bundle.sizes
    assert any("symbolic link" in o for o in bundle.oddities)


def test_symlink_leaving_an_ipa_is_refused() -> None:
    with pytest.raises(ArchiveError, match="leaves the app bundle"):
        open_bundle(BAD / "ios-symlink-escape.ipa")


def test_limits_apply(tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded):
        open_bundle(IOS / "demoshop.ipa", Limits(max_entries=5))
    with pytest.raises(LimitExceeded):
        open_bundle(_unpack(tmp_path), Limits(max_entries=5))
    with pytest.raises(LimitExceeded):
        open_bundle(tmp_path / "Payload" / "DemoShop.app", Limits(max_total_uncompressed=1000))
    bundle = open_bundle(IOS / "demoshop.ipa")
    with pytest.raises(LimitExceeded):
        bundle.read("DemoShop", 100)


def test_ipa_without_payload() -> None:
    with pytest.raises(ArchiveError, match=r"no Payload/NAME\.app/"):
        open_bundle(BAD / "ios-no-payload.ipa")
