"""Ban lists, country lists, jurisdiction profiles, dated ownership, signer matching and the kb commands.

Rows are checked against what their sources state (Federal Register, 15 CFR 791.4, the
Commission's adequacy decisions, the Unity 8-K of 2022-11-07).
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.errors import FormatError, KnowledgeBaseError, UsageError
from appvet.kb import commands, load_kb
from appvet.kb import importers as imp
from appvet.kb.lookup import bans_for_app, bans_for_controller, match_signer, normalise_org

SRC = [{"url": "https://example.org/", "as_of": "2026-01-01"}]
TIKTOK = "com.zhiliaoapp.musically"


# -- ban lists ---------------------------------------------------------------------------------


def test_us_executive_orders_match_the_federal_register() -> None:
    kb = load_kb()
    tiktok, wechat, eight = kb.ban_lists["us-eo-13942"], kb.ban_lists["us-eo-13943"], kb.ban_lists["us-eo-13971"]
    assert (tiktok.date, wechat.date, eight.date) == ("2020-08-06", "2020-08-06", "2021-01-05")
    assert (
        "85 FR 48637" in tiktok.instrument and "85 FR 48641" in wechat.instrument and "86 FR 1249" in eight.instrument
    )
    for ban in (tiktok, wechat, eight):
        assert ban.revoked == "2021-06-09"
        assert ban.revoked_by is not None and "14034" in ban.revoked_by and "86 FR 31423" in ban.revoked_by
    assert sorted(a.name for a in eight.apps) == sorted(
        ["Alipay", "CamScanner", "QQ Wallet", "SHAREit", "Tencent QQ", "VMate", "WeChat Pay", "WPS Office"]
    )
    assert [a.package for a in tiktok.apps] == [TIKTOK]
    assert "bytedance" in tiktok.controllers and "tencent" in wechat.controllers


def test_pafaca_and_india_orders() -> None:
    kb = load_kb()
    pafaca = kb.ban_lists["us-pafaca-2024"]
    assert pafaca.date == "2024-04-24" and pafaca.effective == "2025-01-19" and "118-50" in pafaca.instrument
    assert pafaca.revoked is None and pafaca.controllers == ("bytedance",)
    june = kb.ban_lists["in-meity-2020-06-29"]
    assert june.count_declared == 59 == len(june.apps) and june.complete
    assert "69A" in june.instrument
    assert TIKTOK in {a.package for a in june.apps}
    sept = kb.ban_lists["in-meity-2020-09-02"]
    assert sept.count_declared == 118 and not sept.complete and len(sept.apps) < 118
    assert "18 of the 118" in sept.note
    assert len(kb.ban_lists["in-meity-2020-11-24"].apps) == 43
    for ban in kb.ban_lists.values():
        assert ban.sources
        for app in ban.apps:
            assert app.package is None or app.sources, (ban.id, app.name)


def test_bans_for_app_reports_status_on_the_date() -> None:
    kb = load_kb()
    on_2021 = {b["list"]: b for b in bans_for_app(kb, "com.tencent.mm", "WeChat", date(2021, 1, 1))}
    assert set(on_2021) == {"in-meity-2020-06-29", "us-eo-13943", "us-va-2022-12", "ca-tbs-wechat-kaspersky-2023"}
    assert on_2021["us-va-2022-12"]["status"] == "not-yet-issued"
    # Enjoined by the N.D. Cal. order of 2020-09-19 before it took effect, until its revocation.
    assert on_2021["us-eo-13943"]["status"] == "enjoined" and on_2021["us-eo-13943"]["revoked_by"] is None
    assert not on_2021["us-eo-13943"]["in_force"] and on_2021["us-eo-13943"]["status_since"] == "2020-09-19"
    later = {b["list"]: b for b in bans_for_app(kb, "com.tencent.mm", None, date(2022, 1, 1))}
    assert later["us-eo-13943"]["status"] == "revoked"
    assert "14034" in later["us-eo-13943"]["revoked_by"] and later["us-eo-13943"]["revoked"] == "2021-06-09"
    assert later["in-meity-2020-06-29"]["status"] == "in-force"
    before = bans_for_app(kb, TIKTOK, None, date(2020, 1, 1))
    assert {b["status"] for b in before} == {"not-yet-issued"}
    pafaca = [b for b in bans_for_app(kb, TIKTOK, None, date(2024, 6, 1)) if b["list"] == "us-pafaca-2024"]
    assert pafaca[0]["status"] == "not-yet-effective"
    on_2026 = {b["list"]: b for b in bans_for_app(kb, TIKTOK, None, date(2026, 1, 1))}
    assert on_2026["us-pafaca-2024"]["status"] == "enforcement-delayed" and on_2026["us-pafaca-2024"]["in_force"]
    assert on_2026["us-pafaca-2024"]["delay_until"] == "2026-01-23"
    assert "14352" in on_2026["us-pafaca-2024"]["status_by"]
    assert on_2026["us-no-tiktok-gov-devices-2022"]["status"] == "in-force"
    assert on_2026["us-no-tiktok-gov-devices-2022"]["devices"] == "government"


def test_bans_for_app_matches_names_only_where_the_list_has_no_package() -> None:
    kb = load_kb()
    # EO 13971 lists Alipay without a package: matched by exact label, case-insensitively.
    hits = bans_for_app(kb, "com.example.pay", "  alipay ", date(2021, 3, 1))
    assert [(h["list"], h["matched_by"]) for h in hits] == [("in-meity-2020-09-02", "name"), ("us-eo-13971", "name")]
    assert bans_for_app(kb, "com.example.pay", "Alipay Lite", date(2021, 3, 1)) == []
    # A row with a package never matches on the label alone.
    assert bans_for_app(kb, "com.example.clone", "TikTok", date(2021, 3, 1)) == []
    assert bans_for_app(kb, None, None, date(2021, 3, 1)) == []


def test_bans_for_controller_follows_the_owner_chain() -> None:
    kb = load_kb()
    hits = {b["list"] for b in bans_for_controller(kb, "bytedance-beijing", date(2025, 6, 1))}
    assert {"us-eo-13942", "us-pafaca-2024"} <= hits


# -- country lists and jurisdictions -------------------------------------------------------------


def test_country_lists() -> None:
    kb = load_kb()
    fa = kb.country_lists["us-foreign-adversaries"]
    assert {"CN", "HK", "CU", "IR", "KP", "RU", "VE"} <= set(fa.countries)
    assert "Maduro" in dict(fa.qualifiers)["VE"]
    assert set(kb.country_lists["us-pafaca-foreign-adversary-countries"].countries) == {"CN", "IR", "KP", "RU"}
    eu = kb.country_lists["eu-adequacy"]
    assert {"AD", "AR", "BR", "CA", "CH", "GB", "JP", "KR", "NZ", "US", "UY"} <= set(eu.countries)
    assert "CN" not in eu.countries and eu.as_of >= "2026-01-26"


def test_prc_profile_cites_the_intelligence_and_data_security_laws() -> None:
    kb = load_kb()
    laws = {law.id: law for law in kb.jurisdiction_profiles["CN"].laws}
    nil = laws["prc-national-intelligence-law-2017"]
    assert nil.adopted == "2017-06-27" and nil.provisions == ("art. 7", "art. 14")
    assert laws["prc-data-security-law-2021"].effective == "2021-09-01"
    assert all(law.sources for law in laws.values())


# -- ownership over time -----------------------------------------------------------------------


def test_owner_chain_honours_dated_changes() -> None:
    kb = load_kb()
    assert [e.id for e in kb.owner_chain("ironsource", date(2022, 11, 6))] == ["ironsource"]
    assert [e.id for e in kb.owner_chain("ironsource", date(2022, 11, 7))] == ["ironsource", "unity"]
    assert [e.id for e in kb.owner_chain("ironsource")] == ["ironsource", "unity"]
    assert kb.jurisdictions("ironsource", date(2022, 1, 1)) == ["IL"]
    assert kb.jurisdictions("ironsource", date(2023, 1, 1)) == ["IL", "US"]
    assert kb.ultimate_parent("steamrail", date(2022, 1, 1)).id == "ironsource"  # type: ignore[union-attr]
    assert kb.as_of == kb.version.split("+")[0]


def test_three_level_parent_chain() -> None:
    kb = load_kb()
    assert [e.id for e in kb.owner_chain("doubleclick")] == ["doubleclick", "google", "alphabet"]
    assert [e.id for e in kb.owner_chain("bytedance-beijing")] == ["bytedance-beijing", "bytedance"]
    assert kb.jurisdictions("bytedance-beijing") == ["CN", "KY"]


def _entities_overlay(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    (tmp_path / "entities.json").write_text(json.dumps({"kind": "entities", "rows": rows}), encoding="utf-8")
    return tmp_path


def test_ownership_must_agree_with_parent(tmp_path: Path) -> None:
    row = {"id": "x-co", "name": "X", "parent": "google", "sources": SRC,
           "ownership": [{"date": "2020-01-01", "parent": "meta", "sources": SRC}]}  # fmt: skip
    with pytest.raises(KnowledgeBaseError, match="latest ownership change"):
        load_kb([_entities_overlay(tmp_path, [row])])


def test_ownership_parent_must_exist(tmp_path: Path) -> None:
    row = {"id": "x-co", "name": "X", "parent": "google", "sources": SRC,
           "ownership": [{"date": "2019-01-01", "parent": "nobody", "sources": SRC},
                         {"date": "2020-01-01", "parent": "google", "sources": SRC}]}  # fmt: skip
    with pytest.raises(KnowledgeBaseError, match="'nobody' is not an entity"):
        load_kb([_entities_overlay(tmp_path, [row])])


def test_ban_list_rows_are_validated(tmp_path: Path) -> None:
    row = {"id": "x-ban", "name": "X", "jurisdiction": "US", "authority": "A", "instrument": "I",
           "date": "2020-01-01", "scope": "blocking", "revoked": "2021-01-01", "sources": SRC}  # fmt: skip
    (tmp_path / "bans.json").write_text(json.dumps({"kind": "ban-lists", "rows": [row]}), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="revoked_by"):
        load_kb([tmp_path])
    row.update(revoked_by="Order 2", controllers=["nobody"])
    (tmp_path / "bans.json").write_text(json.dumps({"kind": "ban-lists", "rows": [row]}), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="controller 'nobody'"):
        load_kb([tmp_path])


# -- signer matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("organisation", "expected"),
    [
        ("Beijing ByteDance Technology Co Ltd", "bytedance-beijing"),
        ("O=Beijing ByteDance Technology Co Ltd", "bytedance-beijing"),
        ("CN=Release, OU=Apps, O=Beijing ByteDance Technology Co., Ltd., L=Beijing, C=CN", "bytedance-beijing"),
        ("BEIJING BYTEDANCE TECHNOLOGY CO., LTD.", "bytedance-beijing"),
        ("ByteDance Ltd.", "bytedance"),
        ("Tencent Technology (Shenzhen) Company Limited", "tencent"),
        ("Facebook, Inc.", "meta"),
        ("Google Inc.", "google"),
        ("Android", None),
        ("CN=Android Debug, O=Android, C=US", None),
        ("Beijing Demo Technology Co Ltd", None),
        ("Demo", None),
        ("", None),
        (None, None),
    ],
)
def test_match_signer(organisation: str | None, expected: str | None) -> None:
    assert match_signer(load_kb(), organisation) == expected


def test_normalise_org_strips_trailing_legal_words_only() -> None:
    assert normalise_org("Beijing ByteDance Technology Co., Ltd.") == "beijing bytedance"
    assert normalise_org("Network Technology Ltd") == "network"  # never strips to nothing
    assert normalise_org("ironSource Ltd.") == "ironsource"


# -- commands ----------------------------------------------------------------------------------


def test_show_each_kind() -> None:
    kb = load_kb()
    ent = commands.show(kb, "bytedance-beijing", date(2026, 1, 1))
    assert ent["kind"] == "entity" and ent["ultimate_parent"] == "bytedance" and ent["jurisdictions"] == ["CN", "KY"]
    assert {c["list"] for c in ent["country_lists"]} >= {"us-foreign-adversaries"}
    sdk = commands.show(kb, "steamrail", date(2022, 1, 1)) if "steamrail" in kb.sdks else None
    assert sdk is None or sdk["kind"] == "sdk"
    iron = commands.show(kb, "ironsource", date(2022, 1, 1))
    assert [c["id"] for c in iron["owner_chain"]] == ["ironsource"] and iron["ownership_changes"][0][
        "date"
    ] == "2022-11-07"
    any_sdk = next(iter(kb.sdks))
    assert commands.show(kb, any_sdk)["owner_chain"][0]["id"] == kb.sdks[any_sdk].owner
    ban = commands.show(kb, "us-eo-13971", date(2021, 7, 1))
    assert ban["status"] == "revoked" and len(ban["apps"]) == 8
    assert commands.show(kb, "eu-adequacy")["kind"] == "country-list"
    cn = commands.show(kb, "cn")
    assert (
        cn["kind"] == "country"
        and cn["laws"]
        and {c["list"] for c in cn["country_lists"]} >= {"us-foreign-adversaries"}
    )
    json.dumps([ent, iron, ban, cn])  # JSON-compatible
    with pytest.raises(UsageError):
        commands.show(kb, "no-such-thing")


def test_search_is_case_insensitive_across_kinds() -> None:
    kb = load_kb()
    hits = commands.search(kb, "ZHILIAOAPP")
    assert {"kind": "ban-list", "id": "us-eo-13942", "name": kb.ban_lists["us-eo-13942"].name,
            "field": "package", "value": TIKTOK} in hits  # fmt: skip
    assert any(h["kind"] == "entity" and h["id"] == "bytedance-beijing" for h in commands.search(kb, "douyin info"))
    assert any(h["field"] == "domain" for h in commands.search(kb, "umeng.com"))
    assert commands.search(kb, "  ") == []
    assert commands.search(kb, "tencent")[0]["value"].casefold() == "tencent"


def _unknown_exodus_id() -> int:
    rows = json.loads((Path(imp.__file__).parent / "data" / "exodus-owners.json").read_text(encoding="utf-8"))["rows"]
    return next(r["exodus_id"] for r in rows if r["owner"] is None)


def _mini_exodus(tmp_path: Path) -> Path:
    full = json.loads((Path(imp.__file__).parent / "data" / "exodus" / "trackers.json").read_text(encoding="utf-8"))
    keep = {k: v for k, v in full["trackers"].items() if k in (str(_unknown_exodus_id()), "27", "42", "51")}
    path = tmp_path / "exodus.json"
    path.write_text(json.dumps({"trackers": keep}), encoding="utf-8")
    return path


def test_import_file_writes_a_loadable_overlay(tmp_path: Path) -> None:
    out = tmp_path / "overlay"
    counts = commands.import_file("exodus", _mini_exodus(tmp_path), out)
    assert counts["trackers"] == 4 and counts["written"]
    doc = json.loads((out / "imported" / "30-exodus-sdks.json").read_text(encoding="utf-8"))
    owners = {r["exodus_id"]: r["owner"] for r in doc["rows"]}
    assert owners.get(42) == "salesforce" and owners.get(51) == "eulerian"
    unknown = next(r for r in doc["rows"] if r["exodus_id"] == _unknown_exodus_id())
    assert unknown["owner"] is None and unknown["owner_unknown"]  # recognised, control stated as unknown
    assert counts["report"]["sdks with owner not established"] == 1
    kb = load_kb([out])
    assert kb.sdks[next(r["id"] for r in doc["rows"] if r["exodus_id"] == 51)].owner == "eulerian"


def test_import_file_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        commands.import_file("nope", tmp_path / "x.json", tmp_path)
    bad = tmp_path / "bad.json"
    for content in (b"\xff\xfe", b"[]", b'{"trackers": []}', b'{"trackers": {"1": {"id": "1"}}}'):
        bad.write_bytes(content)
        with pytest.raises(FormatError):
            commands.import_file("exodus", bad, tmp_path / "out")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_import_file_random_bytes_parse_or_raise_format_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.json"
    path.write_bytes(data)
    with contextlib.suppress(FormatError):
        commands.import_file("exodus", path, tmp_path / "out")


def test_exodus_unknown_owner_rows_and_website_domains() -> None:
    trackers = {"5": {"id": 5, "name": "Five", "code_signature": "com.five.sdk.", "website": "https://sdk.five.co.uk/docs"},
                "6": {"id": 6, "name": "Six", "code_signature": "com.six.sdk.", "website": "https://github.com/six"},
                "7": {"id": 7, "name": "Seven", "code_signature": "com.seven.sdk."}}  # fmt: skip
    curated = imp.Curated.build([], [])
    rows, report = imp.import_exodus(trackers, {6: "google"}, curated, unknown={5: "no source names the operator"})
    by_id = {r["exodus_id"]: r for r in rows}
    assert by_id[5]["owner"] is None and by_id[5]["owner_unknown"] == "no source names the operator"
    assert by_id[5]["domains"] == ["five.co.uk"]
    assert by_id[6]["owner"] == "google" and "owner_unknown" not in by_id[6]
    assert 7 not in by_id and report.counts["trackers skipped: no owner"] == 1
    assert imp.website_domain("https://sdk.five.co.uk/docs") == "five.co.uk"
    assert imp.website_domain("http://www.s4m.io/") == "s4m.io"
    assert imp.website_domain("https://github.com/six") is None
    assert imp.website_domain("nonsense") is None
