"""A whole review of the fixture IPAs: attribution to SDKs and owners, declared-vs-detected, reports and CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from appvet.model import Review, from_dict, to_dict, to_json
from appvet.report.diff import diff_reviews
from appvet.report.schema import packaged_schema
from appvet.review import review
from tests.ios.ios_helpers import BAD, IOS, ROOT

ON = date(2026, 11, 29)
GOLDEN = ROOT / "tests" / "golden"
IPAS = ["demoshop.ipa", "demoshop-fat.ipa", "demoshop-encrypted.ipa", "demoshop-broken-parts.ipa"]


@pytest.fixture(scope="module")
def reviews(kb) -> dict[str, Review]:  # type: ignore[no-untyped-def]
    return {name: review(IOS / name, kb=kb, on=ON) for name in IPAS}


def caps(r: Review) -> dict[tuple[str, str], object]:
    return {(c.category, c.holder): c for c in r.capabilities}


@pytest.mark.parametrize("name", IPAS)
def test_golden_json(reviews: dict[str, Review], name: str) -> None:
    text = to_json(reviews[name])
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), "run with UPDATE_GOLDEN=1 to create"
    assert text == golden.read_text(), f"{name}: review differs from {golden.relative_to(ROOT)}"


def test_identity_and_platform(reviews: dict[str, Review]) -> None:
    r = reviews["demoshop.ipa"]
    a = r.app
    assert (a.platform, a.package, a.version_name, a.version_code, a.min_sdk, a.label) == (
        "ios", "com.example.demoshop", "3.1.0", "42", "14.0", "Demo Shop")
    assert r.manifest is None and r.ios is not None
    assert [c.organisation for c in a.signers] == ["ByteDance Ltd."]
    assert [link.entity for link in a.developer] == ["bytedance"]
    ios = r.ios
    assert ios.team_id == "ABCDE12345" and ios.provision and ios.provision.devices == 2
    assert dict(ios.entitlements)["aps-environment"] == '"production"'
    assert ios.frameworks == ("Payload/DemoShop.app/Frameworks/BUAdSDK.framework",
                              "Payload/DemoShop.app/PlugIns/Share.appex")
    usage = {u.key: u for u in ios.usage}
    assert usage["NSUserTrackingUsageDescription"].text == "Your data will be used to deliver personalised ads to you."
    assert usage["NSUserTrackingUsageDescription"].categories == ("device_identifiers",)
    manifests = {m.owner: m for m in ios.privacy_manifests}
    assert manifests["BUAdSDK"].sdk == "pangle" and manifests["app"].sdk is None


def test_china_ad_sdk_framework_and_static_analytics_sdk(reviews: dict[str, Review]) -> None:
    r = reviews["demoshop.ipa"]
    sdks = {s.id: s for s in r.sdks}
    assert set(sdks) == {"pangle", "umeng-analytics"}
    pangle, umeng = sdks["pangle"], sdks["umeng-analytics"]
    assert {"framework", "linked-library", "resource-bundle", "bundle-id"} <= set(pangle.matched_by)
    assert [(o.entity, o.country) for o in pangle.owner_chain] == [("bytedance-sg", "SG"), ("bytedance", "CN")]
    assert "CN" in pangle.jurisdictions
    assert umeng.matched_by == ("class-prefix",) and umeng.class_count == 2
    assert [(o.entity, o.country) for o in umeng.owner_chain] == [("umeng", "CN"), ("alibaba", "CN")]
    c = caps(r)
    # Each sensitive use is charged to the code that makes it.
    assert c[("contacts_social_graph", "pangle")].holder_package == "Frameworks/BUAdSDK.framework"
    assert c[("precise_location", "pangle")] and c[("precise_location", "first-party")]
    idfa = c[("device_identifiers", "umeng-analytics")]
    assert "AdSupport:-advertisingIdentifier" in idfa.apis and "UIKit:-identifierForVendor" in idfa.apis
    assert {e.locator for e in idfa.evidence} >= {"+[MobClick idfa]", "+[UMConfigure deviceIDForIntegration]"}
    assert ("device_identifiers", "first-party") not in c
    assert c[("sim_identifiers", "umeng-analytics")].holder_package == "app: MobClick*"
    assert c[("clipboard", "first-party")].holder_package == "DemoShop, PlugIns/Share.appex/Share"
    # A permission declared with no code behind it is the manifest's, as for Android.
    assert c[("photos_media_files", "manifest")].permissions == ("NSPhotoLibraryUsageDescription",)
    assert c[("precise_location", "first-party")].permissions == ("NSLocationWhenInUseUsageDescription",)


def test_endpoints_attributed(reviews: dict[str, Review]) -> None:
    eps = {e.host: e for e in reviews["demoshop.ipa"].endpoints}
    assert eps["api-access.pangolin-sdk-toutiao.com"].holder == "pangle"
    assert eps["api-access.pangolin-sdk-toutiao.com"].owner == "bytedance"
    assert eps["ulogs.umeng.com"].holder == "umeng-analytics" and eps["ulogs.umeng.com"].owner_country == "CN"
    assert eps["api.demo-shop.example.net"].holder == "first-party"


def test_undeclared_use_is_flagged(reviews: dict[str, Review]) -> None:
    found = {(f.rule, f.sdk, f.category): f for f in reviews["demoshop.ipa"].findings}
    # Contacts: the SDK reads them, Info.plist has no NSContactsUsageDescription.
    assert found[("AV301", "pangle", "contacts_social_graph")].severity == "high"
    assert ("AV301", None, "camera") in found
    # Location is declared in Info.plist and in the app's manifest: no finding for it.
    assert not any(k[0] == "AV301" and k[2] == "precise_location" for k in found)
    assert not any(k[0] == "AV302" and k[2] == "precise_location" for k in found)
    # The IDFA is declared by the SDK's own manifest; its contacts use by none.
    assert ("AV302", "pangle", "contacts_social_graph") in found
    assert not any(k[0] == "AV302" and k[1] == "pangle" and k[2] == "device_identifiers" for k in found)
    # The ad host is not among the SDK's declared tracking domains; the log host is.
    av303 = [f for f in reviews["demoshop.ipa"].findings if f.rule == "AV303"]
    assert [f.message.split()[0] for f in av303] == ["api-access.pangolin-sdk-toutiao.com"]
    rules = {f.rule for f in reviews["demoshop.ipa"].findings}
    assert {"AV101", "AV104", "AV202"} <= rules


def test_encrypted_main_binary_is_a_skip_and_the_rest_is_reviewed(reviews: dict[str, Review]) -> None:
    r = reviews["demoshop-encrypted.ipa"]
    (skip,) = r.skips
    assert skip.locator == "Payload/DemoShop.app/DemoShop" and "cryptid=1" in skip.reason
    assert "were not read" in skip.reason and "bytes 0x4000-0x8000" in skip.reason
    assert any(f.rule == "AV204" for f in r.findings)
    assert "pangle" in {s.id for s in r.sdks}  # the framework is not encrypted
    # Without class names the Umeng code cannot be told from the app's: its imports count as the app's.
    assert "umeng-analytics" not in {s.id for s in r.sdks}
    assert ("device_identifiers", "first-party") in caps(r)


def test_fat_binary_reviews_like_thin(reviews: dict[str, Review]) -> None:
    thin, fat = reviews["demoshop.ipa"], reviews["demoshop-fat.ipa"]
    assert set(caps(thin)) == set(caps(fat))
    assert fat.ios and fat.ios.binaries[0].slices == ("x86_64", "arm64") and fat.ios.binaries[0].arch == "arm64"


def test_broken_parts_become_skips(reviews: dict[str, Review]) -> None:
    r = reviews["demoshop-broken-parts.ipa"]
    located = {s.locator.rsplit("/", 1)[-1]: s.stage for s in r.skips}
    assert located == {"BUAdSDK": "binaries", "libhelper.dylib": "binaries", "PrivacyInfo.xcprivacy": "privacy",
                       "embedded.mobileprovision": "signing"}
    assert "pangle" in {s.id for s in r.sdks}  # still recognised by its folder and resource bundle


def test_model_round_trip_and_schema(reviews: dict[str, Review]) -> None:
    for r in reviews.values():
        data = json.loads(to_json(r))
        jsonschema.validate(data, packaged_schema())
        assert json.loads(to_json(from_dict(data))) == data


def test_app_directory_reviews_like_the_ipa(kb, reviews: dict[str, Review], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(IOS / "demoshop.ipa") as zf:
        zf.extractall(tmp_path)
    r = review(tmp_path / "Payload" / "DemoShop.app", kb=kb, on=ON)
    assert r.app.platform == "ios" and set(caps(r)) == set(caps(reviews["demoshop.ipa"]))
    assert [f.fingerprint for f in r.findings] == [f.fingerprint for f in reviews["demoshop.ipa"].findings]


def test_diff_between_ipas(reviews: dict[str, Review]) -> None:
    d = diff_reviews(reviews["demoshop.ipa"], reviews["demoshop-encrypted.ipa"])
    text = json.dumps(to_dict(d)) if not isinstance(d, dict) else json.dumps(d)
    assert "umeng-analytics" in text


APPVET = [sys.executable, "-m", "appvet.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*APPVET, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("name, message", [
    ("ios-truncated-main.ipa", "Payload/DemoShop.app/DemoShop: load commands"),
    ("ios-bad-info-plist.ipa", "Payload/DemoShop.app/Info.plist: not a readable property list"),
    ("ios-symlink-escape.ipa", "leaves the app bundle"),
    ("ios-no-payload.ipa", "not an IPA"),
])
def test_cli_refuses_bad_ipas_in_one_line(name: str, message: str) -> None:
    p = run("review", str(BAD / name))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("appvet: error: ") and message in lines[0], p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("fmt", ["json", "sarif", "html", "markdown", "text"])
def test_cli_reports_every_format(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"r.{fmt}"
    p = run("review", str(IOS / "demoshop.ipa"), "-f", fmt, "-o", str(out), "-p", "us-foreign-adversary")
    assert p.returncode in (0, 1), p.stderr
    text = out.read_text()
    assert "com.example.demoshop" in text
    if fmt in ("html", "markdown", "text"):
        assert "iOS" in text


def test_traffic_joins_an_ios_review(kb) -> None:  # type: ignore[no-untyped-def]
    r = review(IOS / "demoshop.ipa", kb=kb, on=ON, traffic=[ROOT / "tests" / "fixtures" / "traffic" / "flows.har"])
    assert r.traffic is not None and r.traffic.flows
    observed = {e.host: e.holder for e in r.endpoints if e.confidence == "observed"}
    assert observed == {"api-access.pangolin-sdk-toutiao.com": "pangle", "ulogs.umeng.com": "umeng-analytics"}


def test_cli_kb_overlay_reaches_the_ios_rows(tmp_path: Path) -> None:
    overlay = tmp_path / "our-kb"
    (overlay / "ios").mkdir(parents=True)
    row = {"id": "demo-share-kit", "name": "Demo share kit", "owner": "tencent", "categories": ["social"],
           "frameworks": ["Share"], "sources": [{"url": "https://example.org/share-kit", "as_of": "2026-12-01"}]}
    (overlay / "ios" / "ours.json").write_text(json.dumps({"kind": "ios-sdks", "rows": [row]}))
    out = tmp_path / "r.json"
    p = run("review", str(IOS / "demoshop.ipa"), "--kb", str(overlay), "-f", "json", "-o", str(out))
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert "demo-share-kit" in {s["id"] for s in doc["sdks"]}
    assert ("clipboard", "demo-share-kit") in {(c["category"], c["holder"]) for c in doc["capabilities"]}


def test_required_reason_apis(reviews: dict[str, Review]) -> None:
    found = [f for f in reviews["demoshop.ipa"].findings if f.rule == "AV304"]
    # statfs in Umeng's code: disk space, declared by no manifest. mach_absolute_time in the ad SDK
    # (its manifest declares system boot time) and NSUserDefaults in the app (the app's manifest
    # declares user defaults) are declared, so they do not fire.
    assert [(f.sdk, f.evidence[0].locator, f.evidence[0].excerpt) for f in found] == [
        ("umeng-analytics", "+[MobClick freeDisk]", "_statfs")]
    assert "NSPrivacyAccessedAPICategoryDiskSpace" in found[0].message
