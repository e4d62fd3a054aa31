"""A fleet of 55 inputs on a local Dask cluster of 2 workers, and what the store then holds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from appvet.fleet import FleetOptions, open_store, run_fleet
from appvet.fleet.cli import fleet_app
from appvet.fleet.engine import dumps
from appvet.fleet.store import apps, capabilities, failures, reviews, sdk_hits, sources, verdicts
from appvet.kb import load_kb
from appvet.model import from_dict
from appvet.policy import apply, evaluate, load_policy
from appvet.review import review

DAY = date(2026, 6, 1)
POLICY = "us-foreign-adversary"


@pytest.fixture(scope="module")
def fleet_run(fleet_dir: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root, made = fleet_dir
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'fleet.db'}"
    opts = FleetOptions(store=url, workers=2, policy=POLICY, on=DAY)
    first = run_fleet([root], opts)
    second = run_fleet([root], opts)
    return {"url": url, "first": first, "second": second, **made}


def _count(engine: Any, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_every_distinct_app_is_reviewed_once_and_the_bad_one_recorded(fleet_run: dict[str, Any]) -> None:
    first = fleet_run["first"]
    assert first.inputs == fleet_run["files"] == 55
    assert first.distinct == 53  # 52 variants + the bad file; the copies share a variant's bytes
    assert first.reviewed == 52
    assert dict(first.failed) == {"input": 1}
    engine = open_store(fleet_run["url"])
    assert _count(engine, reviews) == 52
    assert _count(engine, apps) == 52
    assert _count(engine, verdicts) == 52
    assert _count(engine, sources) == 55  # every path the bytes were found at
    with engine.connect() as conn:
        fail = conn.execute(select(failures)).one()
    assert fail.kind == "input" and fail.path.endswith("broken.apk") and fail.message


def test_rerun_skips_everything(fleet_run: dict[str, Any]) -> None:
    second = fleet_run["second"]
    assert (second.skipped, second.reviewed, second.reevaluated, sum(second.failed.values())) == (53, 0, 0, 0)
    engine = open_store(fleet_run["url"])
    assert _count(engine, reviews) == 52
    assert _count(engine, failures) == 1


def test_stored_review_equals_a_direct_review(fleet_run: dict[str, Any]) -> None:
    engine = open_store(fleet_run["url"])
    kb = load_kb()
    policy = load_policy(POLICY)
    for path in fleet_run["good"][:10]:
        expected = review(path, kb=kb, on=DAY)
        expected = apply(expected, evaluate(expected, policy, kb, DAY))
        with engine.connect() as conn:
            stored = conn.execute(select(reviews.c.review_json, reviews.c.id).join(apps).where(
                apps.c.sha256 == expected.app.sha256)).one()
        assert json.loads(stored.review_json) == json.loads(dumps(expected)), path.name
        with engine.connect() as conn:
            n_sdk = conn.execute(select(func.count()).select_from(sdk_hits).where(
                sdk_hits.c.review_id == stored.id)).scalar_one()
            n_cap = conn.execute(select(func.count()).select_from(capabilities).where(
                capabilities.c.review_id == stored.id)).scalar_one()
        assert (n_sdk, n_cap) == (len(expected.sdks), len(expected.capabilities))
        assert from_dict(json.loads(stored.review_json)).verdict == expected.verdict


def test_report_and_exports(fleet_run: dict[str, Any], tmp_path: Path) -> None:
    app = typer.Typer()

    @app.command()
    def other() -> None:
        """Stands in for the main CLI's own commands."""

    app.add_typer(fleet_app, name="fleet")
    runner = CliRunner()
    res = runner.invoke(app, ["fleet", "report", "--store", fleet_run["url"], "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["apps"] == 52 and data["failures"] == {"input": 1}
    assert sum(data["verdicts"].values()) == 52
    top = {row["sdk"]: row for row in data["top_sdks"]}
    assert top["tencent-bugly"]["owner_country"] == "CN" and top["tencent-bugly"]["apps"] >= 5
    assert any(t["country"] == "CN" and t["category"] == "device_identifiers" for t in data["transfers"])
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        res = runner.invoke(app, ["fleet", "report", "--store", fleet_run["url"], "-f", fmt, "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert (out / f"apps.{fmt}").is_file() and (out / f"transfers.{fmt}").is_file()
    assert (tmp_path / "csv" / "apps.csv").read_text().count("\n") == 53
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "parquet" / "sdk_hits.parquet").num_rows > 0
    res = runner.invoke(app, ["fleet", "report", "--store", fleet_run["url"]])
    assert res.exit_code == 0 and "Top SDKs" in res.stdout
    res = runner.invoke(app, ["fleet", "report", "--store", fleet_run["url"], "-f", "csv"])
    assert res.exit_code == 2
