"""The audit log: append-only, each entry chained to the one before by HMAC-SHA256 with a key kept outside the database.

    log = AuditLog.open(engine, data_dir)
    log.append(actor, team, action, target, detail)           its own transaction
    with log.transaction() as conn: ...; log.add(conn, ...)     with other writes, atomically
    log.verify() -> {"ok", "entries", "broken_at", "problem", "head"}

Why a key and an anchor: a plain hash chain can be recomputed by anyone who can write the database,
so an edited row plus a rehashed tail would verify. Here every entry's MAC needs ``audit.key`` (in
the data directory, mode 0600, never in the database), and the newest entry's id and MAC are written
to ``audit.head`` after each append, so deleting entries from the end is seen too. Approvals are
covered: each row of ``svc_approvals`` must match the entry written with it.

One lock order everywhere: this process's thread lock, then the data directory's ``audit.lock``
(``flock``, so the CLI and the service exclude each other), then the database transaction. No path
holds a database write lock while waiting for either of the others.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from appvet.serve import db

GENESIS = "0" * 64
_thread_lock = threading.Lock()


def entry_hash(key: bytes, prev_hash: str, at: str, actor: str, team: str, action: str, target: str,
               detail: str) -> str:
    body = json.dumps([prev_hash, at, actor, team, action, target, detail], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def waivers_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _secret_file(path: Path, size: int = 32) -> bytes:
    """A random key made once, readable by the owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(os.urandom(size))
    return path.read_bytes()


@dataclass
class AuditLog:
    engine: Engine
    key: bytes
    head_path: Path
    lock_path: Path

    @classmethod
    def open(cls, engine: Engine, data_dir: Path) -> AuditLog:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(engine, _secret_file(data_dir / "audit.key"), data_dir / "audit.head", data_dir / "audit.lock")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A database transaction in which ``add`` may be called; the locks are taken before it begins."""
        with _thread_lock:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                pending: list[tuple[int, str]] = []
                with self.engine.begin() as conn:
                    conn.info["audit_pending"] = pending
                    try:
                        yield conn
                    finally:
                        conn.info.pop("audit_pending", None)
                if pending:
                    self._anchor(*pending[-1])
            finally:
                os.close(fd)

    def append(self, actor: str, team: str, action: str, target: str, detail: dict[str, Any] | None = None) -> str:
        """Add one entry at the end of the chain in its own transaction; returns its MAC."""
        with self.transaction() as conn:
            return self.add(conn, actor, team, action, target, detail)

    def add(self, conn: Connection, actor: str, team: str, action: str, target: str,
            detail: dict[str, Any] | None = None) -> str:
        pending = conn.info.get("audit_pending")
        if pending is None:
            raise RuntimeError("audit entries are added inside AuditLog.transaction()")
        last = conn.execute(select(db.audit.c.hash).order_by(db.audit.c.id.desc()).limit(1)).first()
        prev = last[0] if last else GENESIS
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        text = json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest = entry_hash(self.key, prev, at, actor, team, action, target, text)
        new_id = conn.execute(insert(db.audit).values(at=at, actor=actor, team=team, action=action, target=target,
                                                      detail=text, prev_hash=prev, hash=digest)
                              ).inserted_primary_key[0]
        pending.append((int(new_id), digest))
        return digest

    def _anchor(self, entry_id: int, digest: str) -> None:
        tmp = self.head_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"id": entry_id, "hash": digest}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.head_path)

    def anchored(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def verify(self) -> dict[str, Any]:
        """Walk the whole chain and the approvals; the first problem found, with the entry it concerns."""
        prev = GENESIS
        count = 0
        last_id: int | None = None
        approvals: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(select(db.audit).order_by(db.audit.c.id)):
                expected = entry_hash(self.key, prev, r.at, r.actor, r.team, r.action, r.target, r.detail)
                if r.prev_hash != prev or not hmac.compare_digest(r.hash, expected):
                    return _bad(count, r.id, "entry changed, removed or reordered (MAC does not match)")
                if r.action.startswith("approval."):
                    detail = json.loads(r.detail)
                    if isinstance(detail.get("approval"), int):
                        approvals[detail["approval"]] = {**detail, "decision": r.action.split(".", 1)[1]}
                prev = r.hash
                last_id = r.id
                count += 1
            head = self.anchored()
            if count and (head is None or head.get("id") != last_id or head.get("hash") != prev):
                return _bad(count, last_id, "the newest entry is not the anchored head (entries removed or added "
                                            "outside the service)")
            if not count and head is not None:
                return _bad(0, None, "the log is empty but a head is anchored (entries removed)")
            for a in conn.execute(select(db.approvals).order_by(db.approvals.c.id)):
                seen = approvals.pop(a.id, None)
                if seen is None or seen["decision"] != a.decision or seen.get("review_hash") != a.review_hash \
                        or seen.get("app") != a.app_sha256 or seen.get("comment") != a.comment \
                        or seen.get("job") not in (None, a.job_id) \
                        or seen.get("waivers_sha256") not in (None, waivers_digest(a.waivers)):
                    return _bad(count, None, f"approval {a.id} does not match its audit entry")
            if approvals:
                return _bad(count, None, f"approval {min(approvals)} is in the log but not in the approvals table")
        return {"ok": True, "entries": count, "broken_at": None, "problem": None, "head": prev}


def _bad(count: int, entry: int | None, problem: str) -> dict[str, Any]:
    return {"ok": False, "entries": count, "broken_at": entry, "problem": problem}


def entries(engine: Engine, team: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first; ``team=None`` means every team's entries."""
    q = select(db.audit).order_by(db.audit.c.id.desc()).limit(max(1, min(limit, 1000)))
    if team is not None:
        q = q.where(db.audit.c.team == team)
    with engine.connect() as conn:
        return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in conn.execute(q)]
