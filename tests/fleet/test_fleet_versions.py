"""A policy change re-evaluates stored reviews without reading the apps; a KB change reviews them again."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select

from appvet.fleet import FleetOptions, open_store, run_fleet
from appvet.fleet.engine import dumps, reevaluate
from appvet.fleet.store import apps, reviews
from appvet.kb import load_kb
from appvet.policy import apply, evaluate, load_policy
from appvet.review import review
from tests.fleet.conftest import build_inputs

DAY = date(2026, 6, 1)


def _overlay(tmp: Path) -> Path:
    # A new entity nobody references: the KB version changes, the facts of the apps do not.
    tmp.mkdir()
    (tmp / "local.yaml").write_text(
        "kind: entities\nrows:\n  - id: fleet-test-co\n    name: Fleet Test Co\n    country_hq: FR\n"
        "    sources: [{url: 'https://example.org/', as_of: '2026-02-01'}]\n", encoding="utf-8")
    return tmp


def test_policy_then_kb_change(tmp_path: Path) -> None:
    made = build_inputs(tmp_path / "in", 6)
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    base = FleetOptions(store=url, workers=2, policy="default", on=DAY)
    first = run_fleet([tmp_path / "in"], base)
    assert first.reviewed == 6

    strict = FleetOptions(store=url, workers=2, policy="us-foreign-adversary", on=DAY)
    second = run_fleet([tmp_path / "in"], strict)
    assert (second.reviewed, second.reevaluated, second.skipped) == (0, 6, 1)

    # The re-evaluated review is what a fresh review under the new policy gives.
    kb = load_kb()
    policy = load_policy("us-foreign-adversary")
    engine = open_store(url)
    for path in made["good"]:
        fresh = review(path, kb=kb, on=DAY)
        fresh = apply(fresh, evaluate(fresh, policy, kb, DAY))
        with engine.connect() as conn:
            row = conn.execute(select(reviews.c.review_json, reviews.c.reparsed).join(apps).where(
                apps.c.sha256 == fresh.app.sha256, reviews.c.policy == f"{policy.name}@{policy.version}")).one()
        assert row.reparsed is False
        assert json.loads(row.review_json) == json.loads(dumps(fresh)), path.name

    third = run_fleet([tmp_path / "in"], strict)
    assert (third.reviewed, third.reevaluated, third.skipped) == (0, 0, 7)

    overlay = _overlay(tmp_path / "overlay")
    fourth = run_fleet([tmp_path / "in"], FleetOptions(store=url, workers=2, policy="us-foreign-adversary",
                                                       on=DAY, kb=(overlay,)))
    assert (fourth.reviewed, fourth.reevaluated) == (6, 0)
    assert dict(fourth.failed) == {"input": 1}  # a new KB may read the bytes differently: tried again
    with engine.connect() as conn:
        kbs = set(conn.execute(select(reviews.c.kb_version)).scalars())
    assert kbs == {kb.version, load_kb([overlay]).version}


def test_reevaluate_without_policy_strips_the_verdict(tmp_path: Path) -> None:
    path = sorted((Path(__file__).parents[1] / "fixtures" / "built").glob("multisdk.apk"))[0]
    kb = load_kb()
    plain = review(path, kb=kb, on=DAY)
    policy = load_policy("us-foreign-adversary")
    judged = apply(plain, evaluate(plain, policy, kb, DAY))
    assert judged.verdict is not None
    assert json.loads(dumps(reevaluate(dumps(judged), None, kb, DAY))) == json.loads(dumps(plain))
