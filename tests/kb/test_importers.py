"""Conversions of the third-party lists and the precedence rules between sources."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from appvet.errors import KnowledgeBaseError
from appvet.kb import importers as imp
from appvet.kb import load_kb, loader

SRC = [{"url": "https://example.org/", "as_of": "2026-01-01"}]


def _curated() -> imp.Curated:
    entities = [
        {"id": "tencent", "name": "Tencent Holdings Limited", "aliases": ["Tencent"], "domains": ["qq.com"]},
        {"id": "getui", "name": "Getui", "aliases": ["个推"], "domains": ["getui.com"]},
        {"id": "google", "name": "Google LLC", "aliases": ["Google"], "domains": ["google.com"]},
    ]
    sdks = [
        {"id": "tencent-bugly", "owner": "tencent", "class_prefixes": ["com.tencent.bugly."], "exodus_id": 190,
         "components": ["com.tencent.bugly.beta.ui.BetaActivity"], "native_libs": ["libBugly.so"]},
    ]  # fmt: skip
    return imp.Curated.build(entities, sdks)


@pytest.mark.parametrize(
    ("sig", "expected"),
    [
        ("com.appsflyer.", "com.appsflyer."),
        ("com.facebook.ads", "com.facebook.ads."),
        ("com.adobe.mobile.Analytics", "com.adobe.mobile.Analytics"),
        ("com\\.tune", "com.tune."),
        (".LigatusManager", None),
        ("com.github.backtrace-labs.", None),
        ("", None),
    ],
)
def test_exodus_code_signature(sig: str, expected: str | None) -> None:
    assert imp.exodus_code_signature(sig)[0] == expected


@pytest.mark.parametrize(
    ("sig", "expected"),
    [
        ("appsflyer\\.com", "appsflyer.com"),
        ("\\.chartboost\\.com", "chartboost.com"),
        (".*\\.jiguang\\.cn", "jiguang.cn"),
        ("usw\\-lax\\.adsrvr\\.org", "usw-lax.adsrvr.org"),
        ("mst[0-9]*\\.is\\.autonavi\\.com", None),
        ("fidzup", None),
    ],
)
def test_exodus_network_signature(sig: str, expected: str | None) -> None:
    assert imp.exodus_network_signature(sig) == expected


def test_weak_prefix_rule() -> None:
    assert imp.is_weak_prefix("com.dv.")
    assert imp.is_weak_prefix("com.mob.")
    assert not imp.is_weak_prefix("com.appsflyer.")
    assert not imp.is_weak_prefix("com.qq.e.")


def test_xray_rows() -> None:
    def company(name: str, parent: str | None, country: str, doms: list[str]) -> dict[str, object]:
        return {"owner_name": name, "parent": parent, "root_parent": parent, "country": country, "doms": doms}

    companies = [
        company("Tencent", None, "cn", ["qq.com", "gtimg.cn"]),
        company("Tencent Ads", "Tencent", "cn", ["gdt.qq.com"]),
        company("Brit Co", None, "uk", ["brit.example", "bad"]),
        company("Orphan", "Nowhere Inc", "us", []),
    ]
    rows, report = imp.import_xray(companies, _curated())
    by_id = {r["id"]: r for r in rows}
    assert "tencent" not in by_id  # matched the curated entity by alias
    assert by_id["tencent-ads"]["parent"] == "tencent"
    assert by_id["tencent-ads"]["domains"] == ["gdt.qq.com"]
    assert by_id["brit-co"]["country_hq"] == "GB"
    assert by_id["brit-co"]["domains"] == ["brit.example"]
    assert by_id["orphan"]["parent"] is None
    assert report.counts["matched curated entity"] == 1
    assert any("Nowhere Inc" in line for line in report.lines)


def test_exodus_rows_respect_curated_and_owners() -> None:
    trackers = {
        "190": {"id": 190, "name": "Bugly", "code_signature": "com.tencent.bugly.", "network_signature": "",
                "categories": []},
        "7": {"id": 7, "name": "Smart", "code_signature": "com.smartadserver.|com.dv|.Weird",
              "network_signature": "smartadserver\\.com|adsrvr\\.org", "categories": ["Advertisement"]},
        "8": {"id": 8, "name": "Nobody", "code_signature": "com.nobody.", "network_signature": "", "categories": []},
        "9": {"id": 9, "name": "Inside", "code_signature": "com.tencent.bugly.extra.", "network_signature": "",
              "categories": []},
    }  # fmt: skip
    owners = {7: "smart", 8: None, 9: "tencent"}
    host_owner = {"adsrvr.org": "trade-desk", "smartadserver.com": "smart"}
    rows, report = imp.import_exodus(trackers, owners, _curated(), host_owner, {"smart": None, "trade-desk": None})
    assert [r["id"] for r in rows] == ["exodus.smart"]
    smart = rows[0]
    assert smart["class_prefixes"] == ["com.smartadserver."]
    assert smart["weak_prefixes"] == ["com.dv."]
    assert smart["domains"] == ["smartadserver.com"]
    assert smart["categories"] == ["ads"]
    assert smart["exodus_id"] == 7
    assert report.counts["trackers covered by a curated SDK"] == 1
    assert report.counts["trackers skipped: no owner"] == 1
    assert report.counts["code signatures dropped: not a plain dotted name"] == 1
    assert report.counts["domains dropped: owned by an unrelated entity"] == 1


def test_libchecker_vendor_table_and_precedence() -> None:
    def rule(kind: str, name: str, label: str, team: str, url: str = "") -> dict[str, str]:
        return {"kind": kind, "name": name, "label": label, "team": team, "url": url}

    rules = [
        rule("services-libs", "com.igexin.sdk.PushService", "个推推送", "个推", "https://www.getui.com/push/"),
        rule("native-libs", "libgetuiext3.so", "个推推送", "个推"),
        rule("native-libs", "regex.regex_getui", "个推推送", "个推"),
        rule("native-libs", "libBugly.so", "Bugly", "Tencent"),
        rule("activities-libs", "androidx.x.Y", "Jetpack", "Google"),
        rule("activities-libs", "org.unknown.Z", "Z", "Unknown Vendor"),
    ]
    rows, report = imp.import_libchecker(rules, _curated(), {})
    assert len(rows) == 1
    row = rows[0]
    assert row["owner"] == "getui"
    assert row["components"] == ["com.igexin.sdk.PushService"]
    assert row["native_libs"] == ["libgetuiext3.so"]
    assert "push" in row["categories"]
    assert report.counts["rules dropped: claimed by curated SDK"] == 1
    assert report.counts["rules skipped: platform / Jetpack"] == 1
    assert report.counts["rules skipped: vendor without an entity"] == 1


def test_libradar_owner_from_website() -> None:
    def rule(pkg: str, lib: str, typ: str, site: str) -> dict[str, str]:
        return {"Package Name": pkg, "Library Name": lib, "Type": typ, "Official Website": site}

    rules = [
        rule("Lcom/tencent/mm/sdk", "WeChat SDK", "Social Network", "http://open.weixin.qq.com"),
        rule("Lcom/tencent/bugly/crashreport", "Bugly", "Mobile Analytics", "https://bugly.qq.com"),
        rule("Lcom/squareup/okhttp", "OkHttp", "Development Aid", "https://github.com/square/okhttp"),
        rule("Landroid/support/v4", "Support", "Development Aid", "https://developer.android.com"),
        rule("La/b", "no", "", ""),
    ]
    rows, report = imp.import_libradar(rules, _curated(), {"qq.com": "tencent"}, {})
    assert [(r["id"], r["owner"], r.get("class_prefixes")) for r in rows] == [
        ("libradar.com-tencent-mm-sdk", "tencent", ["com.tencent.mm.sdk."])
    ]
    assert rows[0]["categories"] == ["social"]
    assert report.counts["rules dropped: prefix inside a higher-precedence source's package"] == 1
    assert report.counts["rules skipped: no owner (no website, or a code-hosting site)"] == 1
    assert report.counts["rules skipped: platform package"] == 1


def test_slug_is_ascii_and_stable() -> None:
    assert imp.slug("Google Analytics") == "google-analytics"
    assert imp.slug("个推") == imp.slug("个推")
    assert imp.slug("个推").isascii()
    assert imp.label_categories("极光推送") == ["push"]
    assert imp.label_categories("Audience Network SDK") == []


def test_shipped_exodus_list_is_unmodified_and_owned() -> None:
    shipped = loader.DATA_DIR / "exodus" / "trackers.json"
    trackers = json.loads(shipped.read_bytes())["trackers"]
    owners = json.loads((loader.DATA_DIR / "exodus-owners.json").read_text(encoding="utf-8"))["rows"]
    assert {int(k) for k in trackers} == {r["exodus_id"] for r in owners}
    kb = load_kb()
    for row in owners:
        if row["owner"] is not None:
            assert row["owner"] in kb.entities, row
            assert kb.jurisdictions(row["owner"]), row


def test_imported_rows_never_shadow_curated_signatures() -> None:
    kb = load_kb()
    curated = {s.id for s in kb.sdks.values() if not s.id.startswith(("exodus.", "libchecker.", "libradar."))}
    for sdk_id in curated:
        sdk = kb.sdks[sdk_id]
        for prefix in sdk.class_prefixes:
            probe = prefix + "Probe" if prefix.endswith(".") else prefix
            assert kb.sdk_for_class(probe) == sdk_id, (prefix, kb.sdk_for_class(probe))
        for lib in sdk.native_libs:
            assert kb.sdk_for_native_lib(lib) == sdk_id
        for comp in sdk.components:
            assert kb.sdk_for_component(comp) == sdk_id


def test_manifest_matches_packaged_files() -> None:
    trusted = loader.read_manifest(loader.DATA_DIR, "")
    assert trusted, "schema/validated.json is missing or made with other schemas: run scripts/import-kb"
    for kb_file in loader.kb_files(loader.DATA_DIR):
        digest = hashlib.sha256(kb_file.data).hexdigest()
        assert trusted.get(kb_file.label) == digest, f"{kb_file.label} changed since validation: run scripts/import-kb"
    ios = loader.ios_files(loader.DATA_DIR)
    assert {f.label for f in ios} == {"ios/apis.json", "ios/sdks.json"}
    for kb_file in ios:
        digest = hashlib.sha256(kb_file.data).hexdigest()
        assert trusted.get(kb_file.label) == digest, f"{kb_file.label} changed since validation: run scripts/import-kb"


def test_tampered_data_is_revalidated(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, root)
    assert load_kb(data_dir=root, use_cache=False).sdks
    path = root / "sdks.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["rows"][0]["categories"] = ["made-up"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="row 0"):
        load_kb(data_dir=root, use_cache=False)
