"""Inputs, per-app limits and the schema, without a cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from appvet.errors import UsageError
from appvet.fleet.inputs import discover, sha256_file
from appvet.fleet.store import head_revision, metadata, open_store
from appvet.fleet.task import review_task
from tests.fleet.conftest import BUILT

REQUEST = {"kb": [], "policy": None, "on": "2026-06-01", "memory": 0}


def test_discover_folders_files_and_lists(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    deep = tmp_path / "a" / "b" / "x.apk"
    deep.write_bytes(b"PK")
    (tmp_path / "a" / "readme.md").write_text("skip me")
    odd = tmp_path / "named.bin"
    odd.write_bytes(b"PK")
    listed = tmp_path / "more.apks"
    listed.write_bytes(b"PK")
    lst = tmp_path / "apps.txt"
    lst.write_text(f"# fleet list\nmore.apks\n{deep}  # absolute\n\n")
    assert discover([tmp_path / "a", odd, lst]) == [deep.resolve(), odd.resolve(), listed.resolve()]
    with pytest.raises(UsageError, match="not found"):
        discover([tmp_path / "missing.apk"])


def test_review_task_ok_input_timeout_oom() -> None:
    ok = review_task(str(BUILT / "multisdk.apk"), "x", REQUEST, 60)
    assert ok["status"] == "ok" and json.loads(ok["review_json"])["sdks"] and ok["rows"]["sdk_hits"]
    bad = review_task(str(BUILT.parent / "bad" / "truncated.apk"), "y", REQUEST, 60)
    assert bad["status"] == "input" and "truncated.apk" in bad["message"]
    slow = review_task(str(BUILT / "multisdk.apk"), "z", REQUEST, 0.01)
    assert slow["status"] == "timeout"
    # A cap below what the review needs: the child runs out of address space and says so.
    capped = review_task(str(BUILT / "bundle.apks"), "w", {**REQUEST, "memory": 64 * 1024**2}, 60)
    assert capped["status"] == "oom", capped


def test_migrations_build_the_declared_schema(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 's.db'}")
    open_store(f"sqlite:///{tmp_path / 's.db'}").dispose()  # opening again is a no-op
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        version = conn.exec_driver_sql("select version_num from alembic_version").scalar_one()
    assert version == head_revision() == "0001"
    assert {"apps", "reviews", "sdk_hits", "capabilities", "endpoints", "findings", "verdicts", "failures",
            "bans", "sources"} <= set(inspect(engine).get_table_names())


def test_bad_store_url_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="fleet store"):
        open_store("nosuchdb://x")
    with pytest.raises(UsageError):
        open_store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
