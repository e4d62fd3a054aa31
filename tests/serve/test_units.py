"""Pieces without a server: token hashing, the rate limiter, the audit chain, job recovery, worker timeout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from appvet.errors import UsageError
from appvet.fleet.store import open_store
from appvet.serve import audit, auth, db
from appvet.serve.blobs import BlobStore
from appvet.serve.jobs import JobLimits, Jobs, run_worker


@pytest.fixture
def engine(tmp_path: Path):
    e = open_store(f"sqlite:///{tmp_path / 's.db'}")
    db.create_tables(e)
    yield e
    e.dispose()


def test_only_the_token_hash_is_stored(engine) -> None:
    auth.add_user(engine, "u1", "t1", "analyst")
    _tid, token = auth.issue_token(engine, "u1")
    with engine.connect() as conn:
        stored = conn.execute(select(db.tokens.c.token_hash)).scalar_one()
    assert token not in stored and stored == auth.hash_token(token)
    who = auth.authenticate(engine, token)
    assert who is not None and who.team == "t1" and who.role == "analyst"
    assert auth.authenticate(engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_user_validation(engine) -> None:
    with pytest.raises(UsageError):
        auth.add_user(engine, "x", "t", "root")
    with pytest.raises(UsageError):
        auth.add_user(engine, "../x", "t", "analyst")
    auth.add_user(engine, "x", "t", "admin")
    with pytest.raises(UsageError):
        auth.add_user(engine, "x", "t", "admin")


def test_rate_limiter_refills() -> None:
    rl = auth.RateLimiter(rate=1.0, burst=3)
    assert [rl.allow("ip", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert rl.blocked("ip", now=0.0) and not rl.blocked("other", now=0.0)
    assert rl.allow("ip", now=1.5)


def test_audit_chain_detects_tampering(engine, tmp_path: Path) -> None:
    log = audit.AuditLog.open(engine, tmp_path / "data")
    for i in range(5):
        log.append("u", "t", "act", str(i), {"n": i})
    head = audit.entries(engine, "t")[0]["hash"]
    assert log.verify() == {"ok": True, "entries": 5, "broken_at": None, "problem": None, "head": head}
    with engine.begin() as conn:
        conn.execute(update(db.audit).where(db.audit.c.id == 3).values(detail=json.dumps({"n": 99})))
    assert log.verify()["broken_at"] == 3
    with engine.begin() as conn:
        conn.execute(update(db.audit).where(db.audit.c.id == 3).values(detail='{"n":2}'))
        conn.execute(text("DELETE FROM svc_audit WHERE id = 2"))
    assert log.verify()["broken_at"] == 3


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, job_id: str, request: dict[str, Any], on_progress: Any, on_done: Any, team: int = 0) -> None:
        self.started.append(job_id)

    def shutdown(self) -> None:
        pass


def test_recover_requeues_then_fails_interrupted_jobs(engine, tmp_path: Path) -> None:
    auth.add_user(engine, "u", "t", "analyst")
    blobs = BlobStore(tmp_path / "blobs")
    rec = Recorder()
    jobs = Jobs(engine, blobs, rec, JobLimits(max_attempts=2))
    jobs._kb_version = "test"
    sha = "a" * 64
    ids = [jobs.submit(sha, 1, 1, {}, "x.apk") for _ in range(3)]
    with engine.begin() as conn:
        conn.execute(update(db.jobs).where(db.jobs.c.id == ids[0]).values(state="running", attempts=1))
        conn.execute(update(db.jobs).where(db.jobs.c.id == ids[1]).values(state="running", attempts=2))
    rec.started.clear()
    assert jobs.recover() == {"requeued": 1, "failed": 1}
    assert sorted(rec.started) == sorted([ids[0], ids[2]])
    assert jobs.status(ids[1])["state"] == "failed"
    assert jobs.status(ids[0])["state"] == "queued"


def test_worker_is_killed_at_its_budget(tmp_path: Path) -> None:
    # A bundle of nothing: the worker spends its time loading the KB, longer than 0.05 s.
    result = run_worker({"app": str(tmp_path / "none"), "on": "2026-01-01", "out": str(tmp_path)}, 0.05)
    assert result["status"] == "timeout"


def test_worker_reports_unreadable_input(tmp_path: Path) -> None:
    p = tmp_path / "blob"
    p.write_bytes(b"\x00" * 100)
    stages: list[str] = []
    result = run_worker({"app": str(p), "on": "2026-01-01", "out": str(tmp_path)}, 60, stages.append)
    assert result["status"] == "input" and "knowledge base" in stages


def test_api_dependency_refuses_a_request_the_guard_did_not_check() -> None:
    from fastapi import HTTPException
    from starlette.requests import Request

    from appvet.serve.app import bearer

    # A good-looking token on a request the guard never saw is not checked here a second way.
    unchecked = Request({"type": "http", "method": "GET", "path": "/api/me", "state": {},
                         "headers": [(b"authorization", b"Bearer avt_anything")]})
    with pytest.raises(HTTPException) as refused:
        bearer(unchecked)
    assert refused.value.status_code == 401
    who = auth.Principal(user_id=1, name="u", team_id=1, team="t", role="analyst", token_id=1)
    checked = Request({"type": "http", "method": "GET", "path": "/api/me", "state": {"who": who}, "headers": []})
    assert bearer(checked) is who
