"""Initial schema: calls, analyses, scorecard items, events, alerts and deliveries, reviews, review samples.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 14:06:07.698299
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("config_hash", sa.String(length=31), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("team", sa.String(length=255), nullable=True),
        sa.Column("call_date", sa.Date(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_reason", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("call_key", name=op.f("pk_calls")),
        sa.UniqueConstraint("content_hash", "config_hash", name="uq_calls_content_config"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_call_date"), ["call_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_team"), ["team"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=160), nullable=False),
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_alerts_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("call_key", "trigger", name="uq_alerts_call_trigger"),
    )
    op.create_table(
        "analyses",
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("schema_version", sa.String(length=16), nullable=False),
        sa.Column("standard_id", sa.String(length=128), nullable=True),
        sa.Column("standard_version", sa.String(length=64), nullable=True),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=True),
        sa.Column("fatal_failed", sa.Boolean(), nullable=False),
        sa.Column("analysis_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_analyses_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_key", name=op.f("pk_analyses")),
    )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analyses_fatal_failed"), ["fatal_failed"], unique=False)
        batch_op.create_index(batch_op.f("ix_analyses_total"), ["total"], unique=False)
        batch_op.create_index(batch_op.f("ix_analyses_verdict"), ["verdict"], unique=False)

    op.create_table(
        "events",
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("speaker", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_events_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_key", "position", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_kind"), ["kind"], unique=False)

    op.create_table(
        "review_samples",
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_review_samples_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("reviewer", "call_key", name=op.f("pk_review_samples")),
    )
    op.create_table(
        "reviews",
        sa.Column("review_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_reviews_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_call_key"), ["call_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviews_reviewer"), ["reviewer"], unique=False)

    op.create_table(
        "scorecard_items",
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("section", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("fatal", sa.Boolean(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_scorecard_items_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_key", "position", name=op.f("pk_scorecard_items")),
    )
    with op.batch_alter_table("scorecard_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scorecard_items_item_id"), ["item_id"], unique=False)

    op.create_table(
        "alert_deliveries",
        sa.Column("alert_id", sa.String(length=160), nullable=False),
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.alert_id"], name=op.f("fk_alert_deliveries_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", "sink", name=op.f("pk_alert_deliveries")),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_deliveries_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_status"))

    op.drop_table("alert_deliveries")
    with op.batch_alter_table("scorecard_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorecard_items_item_id"))

    op.drop_table("scorecard_items")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_reviewer"))
        batch_op.drop_index(batch_op.f("ix_reviews_call_key"))

    op.drop_table("reviews")
    op.drop_table("review_samples")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_kind"))

    op.drop_table("events")
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analyses_verdict"))
        batch_op.drop_index(batch_op.f("ix_analyses_total"))
        batch_op.drop_index(batch_op.f("ix_analyses_fatal_failed"))

    op.drop_table("analyses")
    op.drop_table("alerts")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_team"))
        batch_op.drop_index(batch_op.f("ix_calls_status"))
        batch_op.drop_index(batch_op.f("ix_calls_call_id"))
        batch_op.drop_index(batch_op.f("ix_calls_call_date"))
        batch_op.drop_index(batch_op.f("ix_calls_agent_id"))

    op.drop_table("calls")
