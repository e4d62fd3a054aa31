"""UI sessions kept in the database, so that they can be ended: on sign-out, after idling, on revocation.

    start(svc, principal) -> cookie value
    lookup(svc, cookie) -> (principal, {"c": csrf, "s": row key}) | None
    end(svc, cookie)

The cookie is signed (HMAC with the service's key) and names a random session id; the table keeps
only the id's SHA-256. A session is valid while its row is not ended, it was used within
``Settings.session_idle_seconds``, it is younger than ``SESSION_SECONDS``, and its token is not revoked.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from appvet.serve import auth, db

if TYPE_CHECKING:
    from appvet.serve.app import Services

TOUCH_EVERY = 30.0
"""Seconds between writes of ``last_seen``: idle expiry needs no finer clock than this."""


def _key(sid: str) -> str:
    # Kept like an API token: a copy of the table does not let anyone take over a session.
    return auth.hash_token(sid)


def start(svc: Services, who: auth.Principal) -> str:
    from appvet.serve.app import sign

    sid = secrets.token_urlsafe(32)
    at = db.now()
    with svc.engine.begin() as conn:
        conn.execute(insert(db.sessions).values(id=_key(sid), token_id=who.token_id, csrf=secrets.token_urlsafe(24),
                                                created_at=at, last_seen=at))
    return sign(svc, {"s": sid, "at": int(time.time())})


def lookup(svc: Services, cookie: str | None) -> tuple[auth.Principal, dict[str, Any]] | None:
    from appvet.serve.app import SESSION_SECONDS, unsign

    data = unsign(svc, cookie)
    if data is None or not isinstance(data.get("s"), str):
        return None
    key = _key(data["s"])
    now = db.now()
    with svc.engine.connect() as conn:
        row = conn.execute(select(db.sessions).where(db.sessions.c.id == key)).first()
    if row is None or row.ended_at is not None:
        return None
    idle = timedelta(seconds=svc.settings.session_idle_seconds)
    if now - row.last_seen > idle or now - row.created_at > timedelta(seconds=SESSION_SECONDS):
        return None
    who = auth.principal_by_token_id(svc.engine, row.token_id)
    if who is None:
        return None
    if (now - row.last_seen).total_seconds() > TOUCH_EVERY:
        with svc.engine.begin() as conn:
            conn.execute(update(db.sessions).where(db.sessions.c.id == key, db.sessions.c.ended_at.is_(None))
                         .values(last_seen=now))
    return who, {"c": row.csrf, "s": key}


def end(svc: Services, key: str) -> None:
    """End the session whose row key is ``key`` (as returned in ``lookup``'s data)."""
    with svc.engine.begin() as conn:
        conn.execute(update(db.sessions).where(db.sessions.c.id == key, db.sessions.c.ended_at.is_(None))
                     .values(ended_at=db.now()))
