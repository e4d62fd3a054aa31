"""The service's own tables (prefix ``svc_``), kept beside the fleet store's tables in the same database.

The fleet store owns ``apps`` / ``reviews`` and their Alembic migrations; the service only adds
who may see what (users, teams, tokens, uploads, jobs) and what people decided (approvals, audit).
They are created with ``create_all`` (idempotent) so that the fleet's migration history stays its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ROLES = ("analyst", "approver", "admin")
UPLOAD_KINDS = ("app", "capture", "device")
JOB_STATES = ("queued", "running", "done", "failed")

teams = Table(
    "svc_teams", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

users = Table(
    "svc_users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("team_id", Integer, ForeignKey("svc_teams.id"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

tokens = Table(
    "svc_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("svc_users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(128), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

uploads = Table(
    "svc_uploads", metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("svc_teams.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("user_id", Integer, ForeignKey("svc_users.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("team_id", "sha256", "kind", name="uq_svc_uploads_team_sha_kind"),
)

jobs = Table(
    "svc_jobs", metadata,
    Column("id", String(32), primary_key=True),
    Column("team_id", Integer, ForeignKey("svc_teams.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("svc_users.id"), nullable=False),
    Column("app_sha256", String(64), nullable=False),
    Column("app_name", String(255), nullable=False),
    Column("request", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("progress", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("message", Text),
    Column("review_id", Integer),
    Column("review_hash", String(64)),
    Column("package", String(255)),
    Column("version_name", String(255)),
    Column("verdict", String(16)),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
)
Index("ix_svc_jobs_team_created", jobs.c.team_id, jobs.c.created_at)
Index("ix_svc_jobs_state", jobs.c.state)

approvals = Table(
    "svc_approvals", metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(32), ForeignKey("svc_jobs.id"), nullable=False, index=True),
    Column("team_id", Integer, ForeignKey("svc_teams.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("svc_users.id"), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False),
    Column("waivers", Text, nullable=False),
    Column("app_sha256", String(64), nullable=False),
    Column("review_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

audit = Table(
    "svc_audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("team", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

sessions = Table(
    "svc_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("token_id", Integer, ForeignKey("svc_tokens.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("ended_at", DateTime),
)
"""UI sessions, held server-side: the cookie carries only the session's random id (the row's key is
its SHA-256), so signing out, idling or revoking the token ends it for every copy of the cookie."""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
