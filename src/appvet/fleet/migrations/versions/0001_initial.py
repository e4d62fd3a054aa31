"""Initial fleet store: apps, where they were found, reviews and their flattened rows, failures.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _review_fk() -> sa.Column:
    return sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id"), nullable=False, index=True)


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("package", sa.String(255)),
        sa.Column("version_code", sa.String(64)),
        sa.Column("version_name", sa.String(255)),
        sa.Column("label", sa.String(255)),
        sa.Column("size", sa.BigInteger),
        sa.Column("first_seen", sa.DateTime, nullable=False),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("sha256", "path", name="uq_sources_sha256_path"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id"), nullable=False),
        sa.Column("appvet_version", sa.String(64), nullable=False),
        sa.Column("kb_version", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("review_date", sa.String(10), nullable=False),
        sa.Column("seconds", sa.Float),
        sa.Column("reparsed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("review_json", sa.Text, nullable=False),
        sa.UniqueConstraint("app_id", "appvet_version", "kb_version", "policy", name="uq_reviews_key"),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id"), nullable=False, unique=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
    )
    op.create_table(
        "sdk_hits",
        sa.Column("id", sa.Integer, primary_key=True),
        _review_fk(),
        sa.Column("sdk", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("owner_name", sa.String(255)),
        sa.Column("owner_country", sa.String(8)),
        sa.Column("jurisdictions", sa.String(255), nullable=False),
        sa.Column("categories", sa.String(255), nullable=False),
        sa.Column("initialised", sa.Boolean),
    )
    op.create_table(
        "capabilities",
        sa.Column("id", sa.Integer, primary_key=True),
        _review_fk(),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("holder_package", sa.String(255), nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
    )
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        _review_fk(),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("domain", sa.String(255)),
        sa.Column("owner", sa.String(255)),
        sa.Column("owner_country", sa.String(8)),
        sa.Column("holder", sa.String(255)),
        sa.Column("confidence", sa.String(16), nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True),
        _review_fk(),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("sdk", sa.String(255)),
        sa.Column("entity", sa.String(255)),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
    )
    op.create_table(
        "bans",
        sa.Column("id", sa.Integer, primary_key=True),
        _review_fk(),
        sa.Column("list", sa.String(255), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("matched_by", sa.String(32), nullable=False),
    )
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("appvet_version", sa.String(64), nullable=False),
        sa.Column("kb_version", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("seconds", sa.Float),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_failures_key", "failures", ["sha256", "appvet_version", "kb_version"])


def downgrade() -> None:
    op.drop_index("ix_failures_key", table_name="failures")
    for name in ("failures", "bans", "findings", "endpoints", "capabilities", "sdk_hits", "verdicts", "reviews",
                 "sources", "apps"):
        op.drop_table(name)
