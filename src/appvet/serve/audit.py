"""The audit log: append-only, each entry chained to the one before by SHA-256.

Every entry's hash covers its content and the previous entry's hash, so editing, deleting or
reordering a row in the database breaks the chain from that row on and ``verify`` names it.
The API offers no route that changes or removes an entry.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from appvet.serve import db

GENESIS = "0" * 64
_lock = threading.Lock()


def entry_hash(prev_hash: str, at: str, actor: str, team: str, action: str, target: str, detail: str) -> str:
    body = json.dumps([prev_hash, at, actor, team, action, target, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(engine: Engine, actor: str, team: str, action: str, target: str, detail: dict[str, Any] | None = None,
           conn: Connection | None = None) -> str:
    """Add one entry at the end of the chain; returns its hash."""
    if conn is None:
        with _lock, engine.begin() as own:
            return _append(own, actor, team, action, target, detail)
    with _lock:
        return _append(conn, actor, team, action, target, detail)


def _append(conn: Connection, actor: str, team: str, action: str, target: str,
            detail: dict[str, Any] | None) -> str:
    last = conn.execute(select(db.audit.c.hash).order_by(db.audit.c.id.desc()).limit(1)).first()
    prev = last[0] if last else GENESIS
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    text = json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = entry_hash(prev, at, actor, team, action, target, text)
    conn.execute(insert(db.audit).values(at=at, actor=actor, team=team, action=action, target=target,
                                         detail=text, prev_hash=prev, hash=digest))
    return digest


def entries(engine: Engine, team: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first; ``team=None`` means every team's entries."""
    q = select(db.audit).order_by(db.audit.c.id.desc()).limit(max(1, min(limit, 1000)))
    if team is not None:
        q = q.where(db.audit.c.team == team)
    with engine.connect() as conn:
        return [dict(r._mapping) | {"detail": json.loads(r.detail)} for r in conn.execute(q)]


def verify(engine: Engine) -> dict[str, Any]:
    """Walk the whole chain; ``{"ok": bool, "entries": n, "broken_at": id|None}``."""
    prev = GENESIS
    count = 0
    with engine.connect() as conn:
        for r in conn.execute(select(db.audit).order_by(db.audit.c.id)):
            expected = entry_hash(prev, r.at, r.actor, r.team, r.action, r.target, r.detail)
            if r.prev_hash != prev or r.hash != expected:
                return {"ok": False, "entries": count, "broken_at": r.id}
            prev = r.hash
            count += 1
    return {"ok": True, "entries": count, "broken_at": None, "head": prev}
