"""Ban lists as dated events: the status on a day is computed, every event is sourced, and the
statuses at the turning points match the instruments (Pub. L. 118-50, the 2025 executive orders,
the 2026 divestiture, Montana's injunction, the revocations of 2021).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.kb import commands, load_kb
from appvet.kb.ban_checks import validate_ban_lists
from appvet.kb.bans import EVENT_KINDS, IN_FORCE, STATUSES, status_for_app, status_on
from appvet.kb.lookup import bans_for_app
from appvet.kb.model import BanEvent, BanList, BannedApp, EventSource
from appvet.kb.stats import validate
from appvet.policy import evaluate, load_policy
from appvet.review import review

TIKTOK = "com.zhiliaoapp.musically"
DEEPSEEK = "com.deepseek.chat"
BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built"
PRIMARY = (EventSource("https://example.org/order", "2020-01-01", primary=True),)


def d(text: str) -> date:
    return date.fromisoformat(text)


def _ban(*events: BanEvent, apps: tuple[BannedApp, ...] = (), **fields: Any) -> BanList:
    base: dict[str, Any] = dict(
        id="x-ban", name="X", jurisdiction="US", authority="A", instrument="I", scope="distribution", sources=()
    )
    base.update(fields)
    return BanList(events=tuple(events), apps=apps, **base)


def _ev(day: str, kind: str, **kw: Any) -> BanEvent:
    return BanEvent(day, kind, f"{kind} of {day}", kw.pop("sources", PRIMARY), **kw)


# -- the computation ------------------------------------------------------------------------------


def test_status_walks_order_effect_injunction_and_revocation() -> None:
    ban = _ban(
        _ev("2020-01-10", "order"),
        _ev("2020-02-01", "effective"),
        _ev("2020-03-01", "injunction"),
        _ev("2020-04-01", "injunction-lifted"),
        _ev("2020-05-01", "revocation"),
    )
    expected = {
        "2020-01-09": "not-yet-issued",
        "2020-01-10": "not-yet-effective",
        "2020-02-01": "in-force",
        "2020-03-01": "enjoined",
        "2020-04-01": "in-force",
        "2020-05-01": "revoked",
        "2030-01-01": "revoked",
    }
    for day, status in expected.items():
        assert status_on(ban, d(day)).status == status, day
    assert status_on(ban, d("2020-03-15")).event.kind == "injunction"  # type: ignore[union-attr]


def test_an_order_without_an_effective_event_takes_effect_at_once() -> None:
    assert status_on(_ban(_ev("2021-06-01", "order")), d("2021-06-01")).status == "in-force"


def test_delay_runs_through_its_last_day_and_chains() -> None:
    ban = _ban(
        _ev("2025-01-19", "order"),
        _ev("2025-01-20", "delay", until="2025-04-05"),
        _ev("2025-04-04", "delay", until="2025-06-19"),
    )
    assert status_on(ban, d("2025-04-05")).until == "2025-06-19"
    assert status_on(ban, d("2025-06-19")).status == "enforcement-delayed"
    after = status_on(ban, d("2025-06-20"))
    assert after.status == "in-force" and after.in_force and after.until is None
    # A lapsed delay that nobody extended: back in force the next day.
    lapsed = _ban(_ev("2025-01-19", "order"), _ev("2025-01-20", "delay", until="2025-01-31"))
    assert status_on(lapsed, d("2025-02-01")).status == "in-force"


def test_divestiture_ends_the_list_only_for_the_apps_it_names() -> None:
    apps = (BannedApp("TikTok", TIKTOK), BannedApp("Other", "com.example.other"))
    ban = _ban(_ev("2024-04-24", "order"), _ev("2026-01-22", "divestiture", apps=(TIKTOK, "TikTok")), apps=apps)
    on = d("2026-02-01")
    assert status_for_app(ban, on, TIKTOK, "TikTok").status == "divested"
    assert status_for_app(ban, on, "com.example.other", "Other").status == "in-force"
    assert status_on(ban, on).status == "in-force"
    assert status_for_app(ban, d("2026-01-21"), TIKTOK, "TikTok").status == "in-force"


def test_every_status_is_described_and_in_force_is_a_subset() -> None:
    assert set(STATUSES) >= IN_FORCE


_KINDS = st.sampled_from(sorted(EVENT_KINDS))
_DAYS = st.integers(min_value=0, max_value=2000).map(lambda n: date(2020, 1, 1) + timedelta(days=n))


_LATER_KINDS = st.sampled_from(sorted(set(EVENT_KINDS) - {"effective"}))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_DAYS, _KINDS), min_size=1, max_size=8), _DAYS, _LATER_KINDS)
def test_later_events_never_change_an_earlier_status(events: list[tuple[date, str]], day: date, kind: str) -> None:
    """The status on a day depends on the events up to that day only, whatever comes after.

    The one exception is by design: an ``effective`` date is stated by the order itself, so a list
    whose effective date lies ahead is ``not-yet-effective`` until then.
    """
    ordered = sorted(events)
    ban = _ban(
        *(
            _ev(e.isoformat(), k, until=(e + timedelta(days=30)).isoformat() if k == "delay" else None)
            for e, k in ordered
        )
    )
    before = status_on(ban, day)
    assert before.status in STATUSES
    later = ordered[-1][0] if ordered[-1][0] > day else day
    extended = _ban(
        *ban.events,
        _ev(
            (later + timedelta(days=1)).isoformat(),
            kind,
            until=(later + timedelta(days=2)).isoformat() if kind == "delay" else None,
        ),
    )
    assert status_on(extended, day) == before


# -- the shipped lists --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kb() -> Any:
    return load_kb()


def test_every_list_and_event_has_a_source_and_a_date(kb: Any) -> None:
    assert len(kb.ban_lists) >= 30
    for ban in kb.ban_lists.values():
        assert ban.sources and ban.events, ban.id
        assert [e.date for e in ban.events] == sorted(e.date for e in ban.events), ban.id
        for event in ban.events:
            assert event.kind in EVENT_KINDS and len(event.date) == 10 and event.sources, (ban.id, event)
            assert all(s.url.startswith("http") and len(s.as_of) == 10 for s in event.sources), (ban.id, event)
            primary = any(s.primary for s in event.sources)
            assert primary or "no primary source" in event.note.casefold(), (ban.id, event.date, event.kind)
        for app in ban.apps:
            assert app.package is None or app.sources, (ban.id, app.name)
    assert validate_ban_lists(kb) == []
    assert not [p for p in validate(kb) if p.startswith("ban-list ")]


def test_lists_gov_device_strict_relies_on_exist(kb: Any) -> None:
    gov = {b.id for b in kb.ban_lists.values() if b.devices == "government"}
    assert {
        "us-no-tiktok-gov-devices-2022",
        "ca-tbs-tiktok-2023",
        "eu-commission-tiktok-2023",
        "eu-parliament-tiktok-2023",
        "gb-cabinet-office-tiktok-2023",
        "nz-parliamentary-service-tiktok-2023",
        "au-pspf-001-2023-tiktok",
        "tw-moda-tiktok-2022",
        "au-pspf-deepseek-2025",
        "tw-moda-deepseek-2025",
        "us-tx-2025-01-31",
        "us-ny-deepseek-2025",
        "us-va-eo-46-2025",
        "us-house-cao-deepseek-2025",
    } <= gov
    for ban in kb.ban_lists.values():
        assert (ban.scope == "government-devices") == (ban.devices == "government"), ban.id
    states = [b for b in kb.ban_lists.values() if b.group == "us-state-government-devices"]
    assert len(states) >= 6 and all(b.subdivision and b.subdivision.startswith("US-") for b in states)
    assert "us-tx-2022-12-07" in {b.id for b in states}
    assert {
        "us-mt-sb419-2023",
        "us-commerce-kaspersky-2024",
        "it-garante-deepseek-2025",
        "kr-pipc-deepseek-2025",
        "in-meity-2022-02-14",
    } <= set(kb.ban_lists)


def test_pafaca_status_through_2025_and_the_divestiture(kb: Any) -> None:
    ban = kb.ban_lists["us-pafaca-2024"]
    whole = {
        day: status_on(ban, d(day))
        for day in (
            "2024-04-23",
            "2024-04-24",
            "2025-01-18",
            "2025-01-19",
            "2025-01-20",
            "2025-04-05",
            "2025-04-06",
            "2025-09-17",
            "2025-12-17",
            "2026-01-23",
            "2026-01-24",
        )
    }
    assert [whole[k].status for k in sorted(whole)] == [
        "not-yet-issued",
        "not-yet-effective",
        "not-yet-effective",
        "in-force",
        "enforcement-delayed",
        "enforcement-delayed",
        "enforcement-delayed",
        "enforcement-delayed",
        "enforcement-delayed",
        "enforcement-delayed",
        "in-force",
    ]
    assert "14166" in whole["2025-01-20"].event.title and whole["2025-01-20"].until == "2025-04-05"  # type: ignore[union-attr]
    assert "14258" in whole["2025-04-06"].event.title and whole["2025-04-06"].until == "2025-06-19"  # type: ignore[union-attr]
    assert "14350" in whole["2025-09-17"].event.title and whole["2025-09-17"].until == "2025-12-16"  # type: ignore[union-attr]
    assert "14352" in whole["2025-12-17"].event.title and whole["2025-12-17"].until == "2026-01-23"  # type: ignore[union-attr]
    tiktok = status_for_app(ban, d("2026-02-01"), TIKTOK, "TikTok")
    assert tiktok.status == "divested" and not tiktok.in_force and tiktok.since == "2026-01-22"
    assert status_for_app(ban, d("2026-01-21"), TIKTOK, "TikTok").status == "enforcement-delayed"
    ruling = next(e for e in ban.events if e.kind == "ruling")
    assert ruling.date == "2025-01-17" and "Garland" in ruling.title
    assert ban.date == "2024-04-24" and ban.effective == "2025-01-19" and ban.controllers == ("bytedance",)


def test_montana_injunction_and_revocations_of_2021(kb: Any) -> None:
    mt = kb.ban_lists["us-mt-sb419-2023"]
    assert (mt.jurisdiction, mt.subdivision) == ("US", "US-MT")
    assert status_on(mt, d("2023-06-01")).status == "not-yet-effective"
    for day in ("2023-12-01", "2024-01-01", "2026-06-01"):
        assert status_on(mt, d(day)).status == "enjoined", day
    assert "Alario v. Knudsen" in status_on(mt, d("2024-01-01")).event.title  # type: ignore[union-attr]
    wechat = kb.ban_lists["us-eo-13943"]
    assert status_on(wechat, d("2020-09-19")).status == "enjoined"
    assert status_on(wechat, d("2021-06-09")).status == "revoked"
    tiktok_eo = kb.ban_lists["us-eo-13942"]
    assert status_on(tiktok_eo, d("2020-09-21")).status == "in-force"
    assert status_on(tiktok_eo, d("2020-09-27")).status == "enjoined"


def test_kaspersky_and_deepseek_lists(kb: Any) -> None:
    kas = kb.ban_lists["us-commerce-kaspersky-2024"]
    assert [status_on(kas, d(x)).status for x in ("2024-06-19", "2024-06-20", "2024-07-20")] == [
        "not-yet-issued",
        "not-yet-effective",
        "in-force",
    ]
    assert "89 FR 52434" in kas.instrument and {a.package for a in kas.apps} == {"com.kms.free"}
    hits = {b["list"]: b for b in bans_for_app(kb, DEEPSEEK, None, d("2025-03-01"))}
    assert {
        "it-garante-deepseek-2025",
        "au-pspf-deepseek-2025",
        "tw-moda-deepseek-2025",
        "us-tx-2025-01-31",
        "us-ny-deepseek-2025",
        "us-va-eo-46-2025",
        "kr-pipc-deepseek-2025",
    } <= set(hits)
    assert hits["it-garante-deepseek-2025"]["devices"] == "all"
    korea = kb.ban_lists["kr-pipc-deepseek-2025"]
    assert [status_on(korea, d(x)).status for x in ("2025-02-14", "2025-02-15", "2025-04-27", "2025-04-28")] == [
        "not-yet-issued",
        "in-force",
        "in-force",
        "lifted",
    ]
    assert hits["au-pspf-deepseek-2025"]["devices"] == "government"
    assert bans_for_app(kb, DEEPSEEK, None, d("2025-01-29")) == [] or all(
        not h["in_force"] for h in bans_for_app(kb, DEEPSEEK, None, d("2025-01-29"))
    )


def test_kb_show_prints_events_and_the_status_on_a_date(kb: Any) -> None:
    shown = commands.show(kb, "us-pafaca-2024", d("2026-02-01"))
    assert shown["kind"] == "ban-list" and shown["status"] == "in-force" and shown["on"] == "2026-02-01"
    assert [e["kind"] for e in shown["events"]][:3] == ["order", "ruling", "effective"]
    assert all(e["sources"] for e in shown["events"])
    per_app = {a["package"]: a for a in shown["status_per_app"]}
    assert per_app[TIKTOK]["status"] == "divested" and per_app[TIKTOK]["by_kind"] == "divestiture"
    earlier = commands.show(kb, "us-pafaca-2024", d("2025-05-01"))
    assert (
        earlier["status"] == "enforcement-delayed"
        and earlier["until"] == "2025-06-19"
        and not earlier["status_per_app"]
    )


def test_kb_show_on_the_command_line() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "appvet.cli",
            "kb",
            "show",
            "us-mt-sb419-2023",
            "--date",
            "2024-02-01",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["kind"] == "ban-list" and data["id"] == "us-mt-sb419-2023"
    assert data["status"] == "enjoined" and data["by_kind"] == "injunction" and data["since"] == "2023-11-30"


# -- validate -------------------------------------------------------------------------------------


class _Kb:
    def __init__(self, *bans: BanList) -> None:
        self.ban_lists = {b.id: b for b in bans}


def test_validate_names_unsourced_misordered_and_unknown_events() -> None:
    news = (EventSource("https://example.org/news", "2020-01-01"),)
    bad = _ban(
        _ev("2020-01-01", "order"),
        _ev("2019-12-01", "delay", sources=news),
        BanEvent("2020-03-01", "made-up", "x", PRIMARY),
        BanEvent("2020-04-01", "injunction", "y", ()),
        _ev("2020-05-01", "divestiture", apps=("com.not.listed",)),
        count_declared=3,
        apps=(BannedApp("A", "a.b"), BannedApp("A again", "a.b")),
    )
    problems = validate_ban_lists(_Kb(bad))
    text = "\n".join(problems)
    for needle in (
        "not in date order",
        "unknown kind",
        "no source",
        "only secondary sources",
        "a delay needs 'until'",
        "dated before the order",
        "'com.not.listed' is not listed",
        "2 of 3 declared apps, yet marked complete",
        "package a.b listed 2 times",
    ):
        assert needle in text, needle
    first = _ban(_ev("2019-06-01", "delay", until="2019-07-01"), _ev("2020-01-01", "order"))
    assert any("first event is 'delay'" in p for p in validate_ban_lists(_Kb(first)))
    good = _ban(
        _ev("2020-01-01", "order"), _ev("2020-02-01", "delay", until="2020-03-01"), apps=(BannedApp("A", "a.b"),)
    )
    assert validate_ban_lists(_Kb(good)) == []
    late = _ban(
        _ev("2020-01-01", "order"),
        _ev("2021-01-01", "revocation", sources=(EventSource("https://example.org", "2020-06-01", True),)),
    )
    assert any("before the event" in p for p in validate_ban_lists(_Kb(late)))


def test_legacy_rows_in_an_overlay_become_events(tmp_path: Path) -> None:
    src = [{"url": "https://example.org/", "as_of": "2020-01-01"}]
    row = {
        "id": "x-ban",
        "name": "X",
        "jurisdiction": "US",
        "authority": "A",
        "instrument": "Order 1",
        "date": "2020-01-01",
        "effective": "2020-02-01",
        "scope": "blocking",
        "revoked": "2021-01-01",
        "revoked_by": "Order 2",
        "sources": src,
        "apps": [{"name": "X app"}],
    }
    (tmp_path / "bans.json").write_text(json.dumps({"kind": "ban-lists", "rows": [row]}), encoding="utf-8")
    ban = load_kb([tmp_path]).ban_lists["x-ban"]
    assert [(e.date, e.kind) for e in ban.events] == [
        ("2020-01-01", "order"),
        ("2020-02-01", "effective"),
        ("2021-01-01", "revocation"),
    ]
    assert ban.revoked_by == "Order 2" and status_on(ban, d("2020-01-15")).status == "not-yet-effective"


# -- policies on a review -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiktok_review(kb: Any) -> Any:
    plain = review(BUILT / "plain.apk", kb=kb)
    return dataclasses.replace(plain, app=dataclasses.replace(plain.app, package=TIKTOK, label="TikTok"))


def test_policies_follow_the_computed_status(kb: Any, tiktok_review: Any) -> None:
    us = load_policy("us-foreign-adversary")
    gov = load_policy("gov-device-strict")
    india = load_policy("india-69a")

    def fired(policy: Any, day: str) -> set[str]:
        return {r.rule for r in evaluate(tiktok_review, policy, kb, d(day)).fired}

    assert "FA003" not in fired(us, "2024-06-01")  # enacted, not yet effective
    assert "FA003" in fired(us, "2025-06-01")  # in force; enforcement delayed by EO 14258
    assert "FA003" not in fired(us, "2026-02-01")  # divested to the joint venture
    assert "GD003" in fired(gov, "2026-02-01")  # the No TikTok on Government Devices Act still applies
    assert "IN001" in fired(india, "2026-02-01")
    result = evaluate(tiktok_review, us, kb, d("2025-06-01"))
    link = next(
        e
        for f in result.findings
        if f.rule == "FA003"
        for e in f.evidence
        if e.file == "kb:ban-lists" and e.locator == "us-pafaca-2024"
    )
    assert "enforcement-delayed" in link.excerpt and "14258" in link.excerpt


def test_review_reports_the_status_and_the_deciding_event(kb: Any) -> None:
    from appvet.review import _bans

    hits = {b.list: b for b in _bans(kb, TIKTOK, "TikTok", d("2026-02-01"))}
    pafaca = hits["us-pafaca-2024"]
    assert pafaca.status == "divested" and not pafaca.in_force and pafaca.status_since == "2026-01-22"
    assert hits["us-no-tiktok-gov-devices-2022"].devices == "government"
    assert hits["us-no-tiktok-gov-devices-2022"].in_force


def test_apps_of_a_covered_developer_are_caught_by_the_signer(kb: Any, tiktok_review: Any) -> None:
    from appvet.analyze.sdks import owner_chain

    chain = owner_chain(kb, "bytedance-beijing")
    other = dataclasses.replace(
        tiktok_review,
        app=dataclasses.replace(
            tiktok_review.app, package="com.example.bytedance.other", label="Other", developer=chain
        ),
    )
    us, gov = load_policy("us-foreign-adversary"), load_policy("gov-device-strict")
    assert "FA003" in {r.rule for r in evaluate(other, us, kb, d("2026-02-01")).fired}  # PAFACA covers ByteDance apps
    assert "FA003" not in {r.rule for r in evaluate(other, us, kb, d("2024-06-01")).fired}
    assert "GD003" in {r.rule for r in evaluate(other, gov, kb, d("2023-06-01")).fired}  # No TikTok Act: successors
    unsigned = dataclasses.replace(other, app=dataclasses.replace(other.app, developer=()))
    assert "GD003" not in {r.rule for r in evaluate(unsigned, gov, kb, d("2026-02-01")).fired}
    # The divested US app, still signed by its former owner, no longer falls under PAFACA through the signer.
    signed_tiktok = dataclasses.replace(tiktok_review, app=dataclasses.replace(tiktok_review.app, developer=chain))
    assert "FA003" not in {r.rule for r in evaluate(signed_tiktok, us, kb, d("2026-02-01")).fired}


def test_an_effective_date_stated_in_advance_holds_the_list_until_then() -> None:
    ban = _ban(_ev("2024-04-24", "order"), _ev("2025-01-19", "effective"))
    assert status_on(ban, d("2024-06-01")).status == "not-yet-effective"
    assert status_on(ban, d("2025-01-19")).status == "in-force"
