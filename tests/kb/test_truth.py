"""Ownership truth of the knowledge base: unknown owners, dated links, weak signatures, one SDK once, checks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from appvet.cli import app
from appvet.errors import KnowledgeBaseError
from appvet.kb import commands, load_kb
from appvet.kb import importers as imp
from appvet.kb.stats import check

SRC = [{"url": "https://example.org/fact", "as_of": "2026-01-01"}]


def _write(directory: Path, name: str, kind: str, rows: list[dict[str, Any]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(json.dumps({"kind": kind, "rows": rows}), encoding="utf-8")


def _ent(ident: str, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "name": ident.title(), "country_hq": "FR", "parent": None, "sources": SRC, **extra}


def _sdk(ident: str, owner: str | None, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "name": ident, "owner": owner, "categories": ["analytics"], "sources": SRC, **extra}


def _checks(tmp_path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in check(load_kb([tmp_path], use_cache=False)):
        found.setdefault(problem.check, []).append(problem.message)
    return found


# -- validate ---------------------------------------------------------------------------------------


def test_validate_flags_generic_signatures(tmp_path: Path) -> None:
    _write(tmp_path, "entities.json", "entities", [_ent("acme")])
    _write(tmp_path, "sdks.json", "sdks", [
        _sdk("acme-sdk", "acme", class_prefixes=["com.dv.", "com.acme.sdk.", "com.dv.DVSDK"],
             native_libs=["libmain.so", "libacme.so", "libfbjni.so"]),
    ])  # fmt: skip
    generic = " ".join(_checks(tmp_path)["generic-signature"])
    assert "'com.dv.'" in generic and "libmain.so" in generic and "libfbjni.so" in generic
    assert "com.acme.sdk." not in generic and "libacme.so" not in generic and "DVSDK" not in generic


def test_validate_flags_stand_ins_missing_countries_and_shared_domains(tmp_path: Path) -> None:
    _write(tmp_path, "entities.json", "entities", [
        _ent("exodus-operator.99", name="Tracker (operator not established)", country_hq=None),
        _ent("one-co", domains=["shared.example"]),
        _ent("two-co", domains=["shared.example"]),
    ])  # fmt: skip
    found = _checks(tmp_path)
    assert any("exodus-operator.99" in m for m in found["stand-in"])
    assert any("exodus-operator.99" in m for m in found["no-country"])
    assert any("shared.example" in m for m in found["domain-claimed-twice"])


def test_validate_flags_a_source_read_before_the_change_it_attests(tmp_path: Path) -> None:
    early = [{"url": "https://example.org/deal", "as_of": "2025-12-01"}]
    change = {"date": "2026-03-01", "parent": "big-co", "sources": early}
    _write(tmp_path, "entities.json", "entities", [
        _ent("big-co"), _ent("small-co", parent="big-co", ownership=[change]),
    ])  # fmt: skip
    assert any("small-co" in m for m in _checks(tmp_path)["source-before-event"])


def test_sdk_without_owner_needs_a_reason(tmp_path: Path) -> None:
    _write(tmp_path, "sdks.json", "sdks", [_sdk("orphan", None, class_prefixes=["com.orphan."])])
    with pytest.raises(KnowledgeBaseError, match="owner_unknown"):
        load_kb([tmp_path], use_cache=False)
    _write(tmp_path, "sdks.json", "sdks", [
        _sdk("orphan", None, class_prefixes=["com.orphan."], owner_unknown="no source names the operator"),
    ])  # fmt: skip
    kb = load_kb([tmp_path], use_cache=False)
    assert kb.sdk_for_class("com.orphan.Thing") == "orphan"
    assert kb.owner_chain(kb.sdks["orphan"].owner) == [] and kb.jurisdictions(None) == []
    assert "no-country" not in _checks(tmp_path)
    assert commands.show(kb, "orphan")["owner_unknown"] == "no source names the operator"


# -- one SDK once ---------------------------------------------------------------------------------


def test_same_as_folds_signatures_and_sources_into_one_sdk(tmp_path: Path) -> None:
    later = [{"url": "https://example.org/libchecker", "as_of": "2026-02-01"}]
    _write(tmp_path, "entities.json", "entities", [_ent("acme")])
    _write(tmp_path, "sdks.json", "sdks", [
        _sdk("acme-push", "acme", class_prefixes=["com.acme.push."]),
        _sdk("imported-push", "acme", class_prefixes=["com.acme.", "org.acme.push."], native_libs=["libacmepush.so"],
             components=["com.acme.push.PushService"], same_as="acme-push", sources=later),
    ])  # fmt: skip
    kb = load_kb([tmp_path], use_cache=False)
    assert "imported-push" not in kb.sdks
    sdk = kb.sdks["acme-push"]
    assert sdk.class_prefixes == ("com.acme.push.", "org.acme.push.")
    assert sdk.weak_prefixes == ("com.acme.",)  # a vendor-wide namespace never widens the SDK's own claim
    assert sdk.native_libs == ("libacmepush.so",) and sdk.components == ("com.acme.push.PushService",)
    assert {s.url for s in sdk.sources} == {SRC[0]["url"], later[0]["url"]}
    assert kb.sdk_for_native_lib("lib/arm64-v8a/libacmepush.so") == "acme-push"


def test_same_as_must_name_an_sdk(tmp_path: Path) -> None:
    _write(tmp_path, "entities.json", "entities", [_ent("acme")])
    _write(tmp_path, "sdks.json", "sdks", [_sdk("stray", "acme", class_prefixes=["com.stray."], same_as="nowhere")])
    with pytest.raises(KnowledgeBaseError, match="same_as 'nowhere'"):
        load_kb([tmp_path], use_cache=False)


def test_assign_same_as_by_name_and_by_code() -> None:
    curated = [_sdk("umeng-push", "umeng", class_prefixes=["com.umeng.message."]) | {"name": "Umeng push (U-Push)"}]
    exodus = [_sdk("exodus.other", "umeng", class_prefixes=["com.umeng.other."]) | {"name": "Umeng Other"}]
    lc = [
        _sdk("lc.push", "umeng", components=["com.umeng.message.UmengService"]) | {"name": "友盟推送"},
        _sdk("lc.perf", "umeng", components=["com.umeng.perf.Provider"]) | {"name": "Perf"},
        _sdk("lc.foreign", "tencent", components=["com.umeng.message.Fake"]) | {"name": "Fake"},
    ]
    lr = [_sdk("lr.push", "umeng", class_prefixes=["com.umeng.push."]) | {"name": "Umeng Push SDK"}]
    report = imp.Report()
    imp.assign_same_as([curated, exodus, lc, lr], {"umeng": "alibaba"}, report)
    assert lc[0]["same_as"] == "umeng-push"  # every component inside the curated row's strong prefix
    assert "same_as" not in lc[1] and "same_as" not in lc[2]  # other code; another owner
    assert lr[0]["same_as"] == "umeng-push"  # same name once "SDK" and the brackets are set aside
    assert report.counts["rows folded into the same SDK of a higher-precedence source"] == 2


# -- importers --------------------------------------------------------------------------------------


def test_importers_drop_generic_and_misattributed_signatures() -> None:
    curated = imp.Curated.build([], [])
    rules = [
        {"kind": "native-libs", "name": "libmain.so", "label": "Unity", "team": "Unity", "url": ""},
        {"kind": "native-libs", "name": "libunity.so", "label": "Unity", "team": "Unity", "url": ""},
        {"kind": "activities-libs", "name": "com.alipay.mobile.quinox.activity.StubActivity", "label": "mPaaS",
         "team": "Alibaba", "url": ""},
    ]  # fmt: skip
    rows, _ = imp.import_libchecker(rules, curated, {})
    libs = {lib for r in rows for lib in r.get("native_libs", ())}
    assert "libmain.so" not in libs and "libunity.so" in libs
    assert next(r for r in rows if r["name"] == "mPaaS")["owner"] == "ant-group"
    lr_rules = [{"Package Name": "Lmicrosoft/mappoint", "Library Name": "Microsoft MapPoint", "Type": "Map/LBS",
                 "Official Website": "https://microsoft.com"}]  # fmt: skip
    lr_rows, lr_report = imp.import_libradar(lr_rules, curated, {"microsoft.com": "microsoft"}, {})
    assert lr_rows == [] and lr_report.counts["rules skipped: excluded"] == 1
    trackers = {
        "328": {
            "id": 328,
            "name": "IAB Open Measurement",
            "code_signature": "com.iab.omid.library|com.prime31.util.IabHelperImpl|com.prime31.IAB.",
        }
    }
    ex_rows, _ = imp.import_exodus(trackers, {328: "iab-tech-lab"}, curated)
    assert ex_rows[0]["class_prefixes"] == ["com.iab.omid.library."]


# -- shipped data ---------------------------------------------------------------------------------


def test_shipped_signatures_name_the_right_sdk() -> None:
    kb = load_kb()
    assert kb.sdk_for_class("com.google.android.gms.ads.identifier.AdvertisingIdClient") == "google-ads-identifier"
    assert kb.sdk_for_class("com.google.android.gms.ads.AdView") == "google-mobile-ads"
    assert kb.sdk_for_class("microsoft.mappoint.TileSystem") is None
    assert kb.sdk_for_native_lib("libfb.so") is None and kb.sdk_for_native_lib("libfbjni.so") is None
    assert kb.sdk_for_native_lib("libmain.so") is None
    assert kb.sdk_for_component("com.umeng.update.net.DownloadingService") == "umeng-update"
    assert kb.sdk_for_class("com.tiktok.open.sdk.auth.AuthApi") == "tiktok-opensdk"
    assert kb.sdk_for_class("com.bytedance.sdk.open.tiktok.TikTokOpenApiFactory") == "tiktok-opensdk"
    assert kb.sdk_for_class("com.tiktok.appevents.TTAppEventLogger") == "tiktok-business-sdk"
    assert kb.sdk_for_class("com.bytedance.sdk.open.douyin.DouYinOpenApiFactory") == "douyin-opensdk"
    assert [e.id for e in kb.owner_chain(kb.sdks["tiktok-opensdk"].owner)] == ["tiktok", "bytedance"]
    assert kb.jurisdictions(kb.sdks["tiktok-opensdk"].owner) == ["CN", "KY", "SG"]
    assert all(s.owner == "ant-group" for s in kb.sdks.values() if s.name.startswith("mPaaS"))
    names = [s.name for s in kb.sdks.values()]
    assert "Firebase" not in names and "Google Play Service" not in names and "Firebase Analytics" not in names


def test_shipped_owners_well_known_trackers() -> None:
    kb = load_kb()
    by_exodus = {s.exodus_id: s for s in kb.sdks.values() if s.exodus_id}
    expected = {413: "snap", 433: "snap", 13: "ligatus", 20: "s4m-success-for-mobile", 299: "giphy"}
    assert {k: by_exodus[k].owner for k in expected} == expected
    assert by_exodus[299].owner and kb.ultimate_parent(by_exodus[299].owner, date(2021, 1, 1)).id == "meta"
    assert kb.ultimate_parent(by_exodus[299].owner, date(2024, 1, 1)).id == "shutterstock"
    tealium = next(s for s in kb.sdks.values() if s.name == "Tealium")
    assert kb.jurisdictions(tealium.owner) == ["US"]


def test_every_dated_link_is_sourced() -> None:
    kb = load_kb()
    changes = [(e.id, c) for e in kb.entities.values() for c in e.ownership]
    assert len(changes) >= 30
    for ident, change in changes:
        assert change.sources, ident
        assert all(s.url.startswith("https://") or s.url.startswith("http://") for s in change.sources), ident


# -- CLI --------------------------------------------------------------------------------------------


def test_cli_kb_show_prints_each_links_date_and_source() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["kb", "show", "exodus.twitter-mopub", "--date", "2021-06-01", "--format", "json"])
    assert res.exit_code == 0, res.output
    chain = json.loads(res.stdout)["owner_chain"]
    assert [c["id"] for c in chain] == ["mopub", "twitter"]
    assert chain[0]["parent_since"] == "2015-01-01" and chain[0]["parent_sources"]
    res = runner.invoke(app, ["kb", "show", "exodus.twitter-mopub", "--format", "json"])
    chain = json.loads(res.stdout)["owner_chain"]
    assert [c["id"] for c in chain] == ["mopub", "applovin"]
    assert chain[0]["parent_since"] == "2022-01-01"
    assert any("sec.gov" in s["url"] for s in chain[0]["parent_sources"])


def test_cli_kb_validate_is_clean_and_exits_zero() -> None:
    res = CliRunner().invoke(app, ["kb", "validate"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1] == "0 problems (0 errors, 0 warnings)"
