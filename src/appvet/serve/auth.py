"""Users, teams and API tokens; the token bucket that slows down guessing.

A token is 32 random bytes shown once; the database keeps only its SHA-256, so a copy of the
database does not let anyone sign in. Tokens are looked up by hash and the hashes compared in
constant time once more, so timing says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from appvet.errors import UsageError
from appvet.serve import db

TOKEN_PREFIX = "avt_"
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")


@dataclass(frozen=True)
class Principal:
    """Who is asking: the user behind a valid token."""

    user_id: int
    name: str
    team_id: int
    team: str
    role: str
    token_id: int

    def may(self, role: str) -> bool:
        """Roles are ordered: an admin may do what an approver may, an approver what an analyst may."""
        return db.ROLES.index(self.role) >= db.ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _check_name(value: str, what: str) -> str:
    if not value or len(value) > 64 or not set(value) <= NAME_CHARS:
        raise UsageError(f"{what} {value!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    return value


def add_user(engine: Engine, name: str, team: str, role: str) -> int:
    """Create a user (and the team on first use); ``UsageError`` for a bad role or a taken name."""
    _check_name(name, "user name")
    _check_name(team, "team name")
    if role not in db.ROLES:
        raise UsageError(f"role {role!r}: one of {', '.join(db.ROLES)}")
    with engine.begin() as conn:
        if conn.execute(select(db.users.c.id).where(db.users.c.name == name)).first():
            raise UsageError(f"user {name!r} exists")
        row = conn.execute(select(db.teams.c.id).where(db.teams.c.name == team)).first()
        team_id = row[0] if row else conn.execute(
            insert(db.teams).values(name=team, created_at=db.now())).inserted_primary_key[0]
        return int(conn.execute(insert(db.users).values(
            name=name, team_id=team_id, role=role, created_at=db.now())).inserted_primary_key[0])


def issue_token(engine: Engine, user: str, label: str = "") -> tuple[int, str]:
    """A new token for ``user``: (token id, the token itself, which is not stored)."""
    token = new_token()
    with engine.begin() as conn:
        row = conn.execute(select(db.users.c.id).where(db.users.c.name == user)).first()
        if row is None:
            raise UsageError(f"no user {user!r}")
        tid = conn.execute(insert(db.tokens).values(
            user_id=row[0], token_hash=hash_token(token), label=label[:128], created_at=db.now())
        ).inserted_primary_key[0]
    return int(tid), token


def revoke(engine: Engine, user: str, token_id: int | None = None) -> int:
    """Revoke one token of ``user`` (or all of them); returns how many were revoked."""
    with engine.begin() as conn:
        row = conn.execute(select(db.users.c.id).where(db.users.c.name == user)).first()
        if row is None:
            raise UsageError(f"no user {user!r}")
        q = update(db.tokens).where(db.tokens.c.user_id == row[0], db.tokens.c.revoked_at.is_(None))
        if token_id is not None:
            q = q.where(db.tokens.c.id == token_id)
        return int(conn.execute(q.values(revoked_at=db.now())).rowcount or 0)


def authenticate(engine: Engine, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, else ``None``."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    digest = hash_token(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(db.tokens.c.id, db.tokens.c.token_hash, db.users.c.id, db.users.c.name, db.users.c.role,
                   db.teams.c.id, db.teams.c.name)
            .join(db.users, db.users.c.id == db.tokens.c.user_id)
            .join(db.teams, db.teams.c.id == db.users.c.team_id)
            .where(db.tokens.c.token_hash == digest, db.tokens.c.revoked_at.is_(None))
        ).first()
    if row is None or not hmac.compare_digest(row[1], digest):
        return None
    return Principal(user_id=row[2], name=row[3], team_id=row[5], team=row[6], role=row[4], token_id=row[0])


def principal_by_token_id(engine: Engine, token_id: int) -> Principal | None:
    """The principal of a session: the session names the token, which may have been revoked since."""
    with engine.connect() as conn:
        row = conn.execute(
            select(db.tokens.c.id, db.users.c.id, db.users.c.name, db.users.c.role, db.teams.c.id, db.teams.c.name)
            .join(db.users, db.users.c.id == db.tokens.c.user_id)
            .join(db.teams, db.teams.c.id == db.users.c.team_id)
            .where(db.tokens.c.id == token_id, db.tokens.c.revoked_at.is_(None))
        ).first()
    if row is None:
        return None
    return Principal(user_id=row[1], name=row[2], team_id=row[4], team=row[5], role=row[3], token_id=row[0])


class RateLimiter:
    """Per-key token bucket held in memory: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float = 1.0, burst: int = 10, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str, now: float | None = None) -> bool:
        """True when ``key`` has no token left (without taking one)."""
        t = time.monotonic() if now is None else now
        with self._lock:
            level, last = self._buckets.get(key, (float(self.burst), t))
        return min(float(self.burst), level + (t - last) * self.rate) < 1.0

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for ``key``; False when its bucket is empty."""
        t = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                # Forget full buckets first: they carry no state that a fresh bucket would not.
                self._buckets = {k: v for k, v in self._buckets.items()
                                 if v[0] + (t - v[1]) * self.rate < self.burst}
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()
            level, last = self._buckets.get(key, (float(self.burst), t))
            level = min(float(self.burst), level + (t - last) * self.rate)
            if level < 1.0:
                self._buckets[key] = (level, t)
                return False
            self._buckets[key] = (level - 1.0, t)
            return True
