"""The fleet store: one SQL database (SQLite or PostgreSQL) holding every review of every app.

The schema is owned by the Alembic migrations shipped in ``appvet/fleet/migrations``; ``open_store``
brings any database up to the newest revision before use, so an old store keeps working after an
upgrade. The tables below mirror the newest revision and are what the queries are written against.

Each app's result is written in one transaction (``save_review`` / ``save_failure``), so a fleet
killed at any moment leaves only whole apps behind; a review is unique per
(app, appvet version, KB version, policy), which is what lets a re-run skip finished work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from appvet.errors import UsageError
from appvet.model import FIRST_PARTY, Review

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

metadata = MetaData()

apps = Table(
    "apps", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("package", String(255)),
    Column("version_code", String(64)),
    Column("version_name", String(255)),
    Column("label", String(255)),
    Column("size", BigInteger),
    Column("first_seen", DateTime, nullable=False),
)

sources = Table(
    "sources", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("seen_at", DateTime, nullable=False),
    UniqueConstraint("sha256", "path", name="uq_sources_sha256_path"),
)

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True),
    Column("app_id", Integer, ForeignKey("apps.id"), nullable=False),
    Column("appvet_version", String(64), nullable=False),
    Column("kb_version", String(64), nullable=False),
    Column("policy", String(255), nullable=False),
    Column("review_date", String(10), nullable=False),
    Column("seconds", Float),
    Column("reparsed", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("review_json", Text, nullable=False),
    UniqueConstraint("app_id", "appvet_version", "kb_version", "policy", name="uq_reviews_key"),
)

verdicts = Table(
    "verdicts", metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, unique=True),
    Column("decision", String(16), nullable=False),
    Column("policy", String(255), nullable=False),
    Column("reasons", Text, nullable=False),
)

sdk_hits = Table(
    "sdk_hits", metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, index=True),
    Column("sdk", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("owner", String(255)),
    Column("owner_name", String(255)),
    Column("owner_country", String(8)),
    Column("jurisdictions", String(255), nullable=False),
    Column("categories", String(255), nullable=False),
    Column("initialised", Boolean),
)

capabilities = Table(
    "capabilities", metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, index=True),
    Column("category", String(64), nullable=False),
    Column("holder", String(255), nullable=False),
    Column("holder_package", String(255), nullable=False),
    Column("confidence", String(16), nullable=False),
)

endpoints = Table(
    "endpoints", metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, index=True),
    Column("value", Text, nullable=False),
    Column("host", String(255), nullable=False),
    Column("domain", String(255)),
    Column("owner", String(255)),
    Column("owner_country", String(8)),
    Column("holder", String(255)),
    Column("confidence", String(16), nullable=False),
)

findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, index=True),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("category", String(64)),
    Column("sdk", String(255)),
    Column("entity", String(255)),
    Column("confidence", String(16), nullable=False),
    Column("fingerprint", String(32), nullable=False),
)

bans = Table(
    "bans", metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", Integer, ForeignKey("reviews.id"), nullable=False, index=True),
    Column("list", String(255), nullable=False),
    Column("name", Text, nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("status", String(32), nullable=False),
    Column("matched_by", String(32), nullable=False),
)

failures = Table(
    "failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("appvet_version", String(64), nullable=False),
    Column("kb_version", String(64), nullable=False),
    Column("policy", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("seconds", Float),
    Column("created_at", DateTime, nullable=False),
)

Index("ix_failures_key", failures.c.sha256, failures.c.appvet_version, failures.c.kb_version)

ROW_TABLES = {t.name: t for t in (verdicts, sdk_hits, capabilities, endpoints, findings, bans)}

FAILURE_KINDS = ("input", "timeout", "oom", "error")
"""``input``: appvet rejected the file (final for these bytes and versions); ``timeout`` and ``oom``:
the review was killed at its budget; ``error``: the review crashed. Only ``input`` is not retried."""


@dataclass(frozen=True)
class Key:
    """What makes a review reusable: the same bytes read by the same code against the same data."""

    sha256: str
    appvet: str
    kb: str
    policy: str
    """``name@version`` of the policy, or ``""`` for a review without one."""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL keeps readers (a report while the fleet runs) off the writer's back; synchronous=NORMAL
    # is still crash-safe for committed transactions in WAL mode.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_store(url: str) -> Engine:
    """Connect to the store at ``url`` and migrate it to the newest schema. ``UsageError`` on a bad URL."""
    try:
        engine = create_engine(url, future=True)
    except Exception as exc:  # SQLAlchemy raises ArgumentError / NoSuchModuleError / ImportError here
        raise UsageError(f"cannot open fleet store {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except Exception as exc:
        engine.dispose()
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"cannot open fleet store {_safe(url)}: {str(exc).splitlines()[0]}") from exc
    return engine


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<store>"


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration the store lacks, in one transaction where the database allows."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    return head or ""


def find_review(conn: Connection, key: Key) -> int | None:
    row = conn.execute(
        select(reviews.c.id).join(apps, apps.c.id == reviews.c.app_id).where(
            apps.c.sha256 == key.sha256, reviews.c.appvet_version == key.appvet,
            reviews.c.kb_version == key.kb, reviews.c.policy == key.policy)
    ).first()
    return row[0] if row else None


def find_reusable(conn: Connection, key: Key) -> str | None:
    """JSON of a review of the same bytes, code and KB under another policy: re-evaluable without parsing."""
    row = conn.execute(
        select(reviews.c.review_json).join(apps, apps.c.id == reviews.c.app_id).where(
            apps.c.sha256 == key.sha256, reviews.c.appvet_version == key.appvet,
            reviews.c.kb_version == key.kb).order_by(reviews.c.id.desc()).limit(1)
    ).first()
    return row[0] if row else None


def final_failure(conn: Connection, key: Key) -> bool:
    """True when these bytes were rejected as input by this appvet and KB: trying again gives the same."""
    row = conn.execute(
        select(failures.c.id).where(
            failures.c.sha256 == key.sha256, failures.c.appvet_version == key.appvet,
            failures.c.kb_version == key.kb, failures.c.kind == "input").limit(1)
    ).first()
    return row is not None


def note_source(conn: Connection, sha256: str, path: str) -> None:
    exists = conn.execute(select(sources.c.id).where(sources.c.sha256 == sha256, sources.c.path == path)).first()
    if not exists:
        conn.execute(insert(sources).values(sha256=sha256, path=path, seen_at=now()))


def app_row(review: Review) -> dict[str, Any]:
    a = review.app
    return dict(package=a.package, version_code=a.version_code, version_name=a.version_name, label=a.label,
                size=a.size)


def _app_id(conn: Connection, app: dict[str, Any], sha256: str) -> int:
    row = conn.execute(select(apps.c.id).where(apps.c.sha256 == sha256)).first()
    if row:
        return int(row[0])
    result = conn.execute(insert(apps).values(sha256=sha256, first_seen=now(), **app))
    return int(result.inserted_primary_key[0])


def save_review(engine: Engine, key: Key, path: str, app: dict[str, Any], rows: dict[str, list[dict[str, Any]]],
                review_date: str, review_json: str, seconds: float | None, reparsed: bool) -> bool:
    """Store one app's review and its flattened rows in one transaction. False when it was already stored.

    ``app`` and ``rows`` come from ``app_row`` / ``review_rows``, computed where the review was made so
    that the process writing the store never rebuilds Review objects.
    """
    with engine.begin() as conn:
        note_source(conn, key.sha256, path)
        if find_review(conn, key) is not None:
            return False
        app_id = _app_id(conn, app, key.sha256)
        rid = int(conn.execute(insert(reviews).values(
            app_id=app_id, appvet_version=key.appvet, kb_version=key.kb, policy=key.policy,
            review_date=review_date, seconds=seconds, reparsed=reparsed, created_at=now(),
            review_json=review_json)).inserted_primary_key[0])
        for name, values in rows.items():
            if values:
                conn.execute(insert(ROW_TABLES[name]), [{**v, "review_id": rid} for v in values])
    return True


def review_rows(review: Review) -> dict[str, list[dict[str, Any]]]:
    """The review's flattened rows per table, without ``review_id`` (plain JSON-able data)."""
    v = review.verdict
    return {
        "verdicts": [dict(decision=v.decision, policy=v.policy, reasons=json.dumps(list(v.reasons)))] if v else [],
        "sdk_hits": [_sdk_row(s) for s in review.sdks],
        "capabilities": [dict(category=c.category, holder=c.holder, holder_package=c.holder_package,
                              confidence=c.confidence) for c in review.capabilities],
        "endpoints": [dict(value=e.value, host=e.host, domain=e.domain, owner=e.owner, owner_country=e.owner_country,
                           holder=e.holder, confidence=e.confidence) for e in review.endpoints],
        "findings": [dict(rule=f.rule, severity=f.severity, title=f.title, category=f.category, sdk=f.sdk,
                          entity=f.entity, confidence=f.confidence, fingerprint=f.fingerprint)
                     for f in review.findings],
        "bans": [dict(list=b.list, name=b.name, jurisdiction=b.jurisdiction, status=b.status,
                      matched_by=b.matched_by) for b in review.bans],
    }


def _sdk_row(s: Any) -> dict[str, Any]:
    owner = s.owner_chain[0] if s.owner_chain else None
    return dict(sdk=s.id, name=s.name, owner=owner.entity if owner else None,
                owner_name=owner.name if owner else None, owner_country=owner.country if owner else None,
                jurisdictions=",".join(s.jurisdictions), categories=",".join(s.categories),
                initialised=s.initialised)


def save_failure(engine: Engine, key: Key, path: str, kind: str, message: str, seconds: float | None) -> None:
    with engine.begin() as conn:
        note_source(conn, key.sha256, path)
        conn.execute(insert(failures).values(
            sha256=key.sha256, path=path, appvet_version=key.appvet, kb_version=key.kb, policy=key.policy,
            kind=kind, message=message[:2000], seconds=seconds, created_at=now()))


def latest_reviews(conn: Connection) -> Iterator[tuple[int, str, str]]:
    """(review id, sha256, review JSON) of the newest review of every app."""
    from sqlalchemy import func

    newest = select(reviews.c.app_id, func.max(reviews.c.id).label("rid")).group_by(reviews.c.app_id).subquery()
    q = (select(reviews.c.id, apps.c.sha256, reviews.c.review_json)
         .join(newest, newest.c.rid == reviews.c.id).join(apps, apps.c.id == reviews.c.app_id)
         .order_by(apps.c.sha256))
    for row in conn.execute(q):
        yield int(row[0]), str(row[1]), str(row[2])


def is_first_party(holder: str | None) -> bool:
    return holder in (None, FIRST_PARTY)
