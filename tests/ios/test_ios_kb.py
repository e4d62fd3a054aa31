"""The iOS knowledge base: rows load, tie to the Android SDKs and owners, and bad rows are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from appvet.errors import KnowledgeBaseError
from appvet.kb.ios import IOS_DIR, load_ios

# China-HQ SDKs of the Android knowledge base that have no iOS build: OEM push channels, the
# Android OAID alliance SDK and Tencent's Android WebView replacement.
# Umeng Update replaced an Android APK in place; iOS apps update through the App Store only.
ANDROID_ONLY = {"tencent-x5", "huawei-hms-push", "oppo-push", "vivo-push", "meizu-push", "honor-push", "msa-oaid",
                "umeng-update"}


def test_size_and_sources(ios_kb) -> None:  # type: ignore[no-untyped-def]
    assert len(ios_kb.sdks) >= 150
    signatures = sum(len(s.frameworks) + len(s.class_prefixes) + len(s.bundle_ids) + len(s.resource_bundles)
                     for s in ios_kb.sdks.values())
    assert signatures >= 600
    for s in ios_kb.sdks.values():
        assert s.sources and all(src.url.startswith("https://") and src.as_of for src in s.sources), s.sdk.id
        assert s.frameworks or s.class_prefixes, s.sdk.id
    for api in ios_kb.apis:
        assert api.sources and api.sources[0].url.startswith("https://developer.apple.com/"), api.ref


def test_every_china_sdk_with_an_ios_build_is_covered(kb, ios_kb) -> None:  # type: ignore[no-untyped-def]
    curated = json.loads((Path(IOS_DIR).parent / "sdks.json").read_text())["rows"]
    for row in curated:
        if "CN" in kb.jurisdictions(row["owner"]) and row["id"] not in ANDROID_ONLY:
            assert row["id"] in ios_kb.sdks, f"{row['id']} has no iOS signatures"


def test_twins_share_owner_and_name(kb, ios_kb) -> None:  # type: ignore[no-untyped-def]
    for sid, s in ios_kb.sdks.items():
        if s.twin:
            assert s.sdk is kb.sdks[sid]
        else:
            assert s.sdk.owner in kb.entities


def test_lookups(ios_kb) -> None:  # type: ignore[no-untyped-def]
    assert ios_kb.sdk_for_framework("BUAdSDK") == "pangle"
    assert ios_kb.sdk_for_framework("wechatopensdk") == "wechat-opensdk"
    assert ios_kb.sdk_for_class("MobClick") == "umeng-analytics"
    assert ios_kb.sdk_for_class("UMCrashConfigure") == "umeng-analytics"
    assert ios_kb.sdk_for_class("GeTuiSdk") == "getui"
    assert ios_kb.sdk_for_class("FBSDKAppEventsUtility") == "facebook-analytics"  # longest prefix wins
    assert ios_kb.sdk_for_class("DemoAppDelegate") is None
    assert ios_kb.sdk_for_bundle_id("com.bytedance.BUAdSDK.resources") == "pangle"
    assert ios_kb.api("usage-key", "NSContactsUsageDescription").categories == ("contacts_social_graph",)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "ios"
    shutil.copytree(IOS_DIR, root)
    return root


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[0].pop("sources"), "'sources' is a required property"),
    (lambda rows: rows.append({"id": "made-up-sdk", "frameworks": ["X"], "sources": rows[0]["sources"]}),
     "needs name, owner, categories"),
    (lambda rows: rows.append({"id": "made-up-sdk", "name": "X", "owner": "nobody", "categories": ["ads"],
                               "sources": rows[0]["sources"]}), "not an entity"),
    (lambda rows: rows[0].update(owner="tencent"), "differs from its Android twin"),
])
def test_bad_sdk_rows_are_refused(kb, tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    root = _copy(tmp_path)
    doc = json.loads((root / "sdks.json").read_text())
    change(doc["rows"])
    (root / "sdks.json").write_text(json.dumps(doc))
    with pytest.raises(KnowledgeBaseError, match=message):
        load_ios(kb, data_dir=root)


def test_unknown_category_is_refused(kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _copy(tmp_path)
    doc = json.loads((root / "apis.json").read_text())
    doc["rows"][0]["categories"] = ["made_up"]
    (root / "apis.json").write_text(json.dumps(doc))
    with pytest.raises(KnowledgeBaseError, match="made_up"):
        load_ios(kb, data_dir=root)


def test_overlay_adds_a_signature(kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    overlay = tmp_path / "overlay" / "ios"
    overlay.mkdir(parents=True)
    row = {"id": "pangle", "frameworks": ["InHouseAdKit"],
           "sources": [{"url": "https://example.org/inhouse", "as_of": "2026-12-01"}]}
    (overlay / "extra.json").write_text(json.dumps({"kind": "ios-sdks", "rows": [row]}))
    k = load_ios(kb, [tmp_path / "overlay"])
    assert k.sdk_for_framework("InHouseAdKit") == "pangle"


def test_swift_classes_attributed_by_module(ios_kb) -> None:  # type: ignore[no-untyped-def]
    from appvet.analyze.ios_sdks import class_of, sdk_for_class_name

    assert sdk_for_class_name(ios_kb, "_TtC12AppsFlyerLib13AFSDKInternal") == "appsflyer"
    assert sdk_for_class_name(ios_kb, "_TtC7BUAdSDK10BUAdLoader") == "pangle"
    assert sdk_for_class_name(ios_kb, "_TtC8DemoShop11AppDelegate") is None
    assert class_of("-[_TtC12AppsFlyerLib13AFSDKInternal start]") == "_TtC12AppsFlyerLib13AFSDKInternal"
    assert class_of("+[MobClick(Extra) idfa]") == "MobClick" and class_of("sub_100004000") is None


def test_version_does_not_depend_on_install_path(tmp_path: Path) -> None:
    # Reports print the iOS knowledge-base version: two installs of the same data must agree on it.
    import subprocess
    import sys

    package = Path(__file__).resolve().parents[2] / "src" / "appvet"
    child = "from appvet.kb import load_kb; from appvet.kb.ios import load_ios; print(load_ios(load_kb()).version)"
    versions = []
    for place in ("one", "two/deeper"):
        shutil.copytree(package, tmp_path / place / "appvet", ignore=shutil.ignore_patterns("__pycache__"))
        env = {"PYTHONPATH": str(tmp_path / place), "APPVET_KB_CACHE": "0", "PATH": ""}
        out = subprocess.run([sys.executable, "-c", child], env=env, check=True, capture_output=True, text=True)
        versions.append(out.stdout.strip())
    assert versions[0] == versions[1] != ""


def test_packaged_rows_skip_the_schema_check() -> None:
    # The manifest of validated files covers the iOS rows too: an iOS review does not pay for jsonschema.
    import os
    import subprocess
    import sys

    child = ("import sys; from appvet.kb import load_kb; from appvet.kb.ios import load_ios; "
             "assert load_ios(load_kb()).sdks; print('jsonschema' in sys.modules)")
    env = {**os.environ, "APPVET_KB_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", child], env=env, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_changed_packaged_rows_are_revalidated(kb, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from appvet.kb import loader

    data = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, data)
    monkeypatch.setattr(loader, "DATA_DIR", data)
    assert load_ios(kb).sdk_for_framework("BUAdSDK") == "pangle"
    doc = json.loads((data / "ios" / "sdks.json").read_text())
    doc["rows"][0].pop("sources")
    (data / "ios" / "sdks.json").write_text(json.dumps(doc))
    with pytest.raises(KnowledgeBaseError, match="'sources' is a required property"):
        load_ios(kb)


def test_rows_and_overlays_are_kept_per_knowledge_base_object(tmp_path: Path) -> None:
    # Held by the object, not by id(): a knowledge base loaded later at the same address must not
    # inherit another's overlays or iOS rows, and a dropped one leaves nothing behind.
    import gc

    from appvet.kb import ios, load_kb

    kb = load_kb(use_cache=False)
    ios.register_overlays(kb, [tmp_path])
    assert load_ios(kb).sdks and kb in ios._overlays and kb in ios._memo
    address = id(kb)
    del kb
    gc.collect()
    assert address not in {id(k) for k in ios._overlays} and address not in ios._overlays
    assert address not in {id(k) for k in ios._memo} and address not in ios._memo
