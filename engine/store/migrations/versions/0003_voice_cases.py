"""The voice-case library: cases, their annotation versions and history, agents' levels and assessments.

Every key is natural (a case id from the content hash, a version or position, an agent id and attempt
number), so the tables behave alike on SQLite and PostgreSQL and need no sequence.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("call_date", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("driver", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("half", sa.String(length=16), nullable=True),
        sa.Column("grade", sa.JSON(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("annotation_version", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_voice_cases")),
        sa.UniqueConstraint("content_hash", name="uq_voice_cases_content_hash"),
    )
    with op.batch_alter_table("voice_cases", schema=None) as batch_op:
        for column in ("agent_id", "call_date", "language", "kind", "status", "level", "half"):
            batch_op.create_index(batch_op.f(f"ix_voice_cases_{column}"), [column], unique=False)
    op.create_table(
        "case_annotations",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("annotation", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["voice_cases.case_id"],
                                name=op.f("fk_case_annotations_case_id_voice_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "version", name=op.f("pk_case_annotations")),
    )
    op.create_table(
        "case_history",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["voice_cases.case_id"],
                                name=op.f("fk_case_history_case_id_voice_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "position", name=op.f("pk_case_history")),
    )
    op.create_table(
        "agent_levels",
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_levels")),
    )
    op.create_table(
        "agent_assessments",
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("trainer", sa.String(length=128), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("moved_up", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "attempt", name=op.f("pk_agent_assessments")),
    )


def downgrade() -> None:
    op.drop_table("agent_assessments")
    op.drop_table("agent_levels")
    op.drop_table("case_history")
    op.drop_table("case_annotations")
    with op.batch_alter_table("voice_cases", schema=None) as batch_op:
        for column in ("half", "level", "status", "kind", "language", "call_date", "agent_id"):
            batch_op.drop_index(batch_op.f(f"ix_voice_cases_{column}"))
    op.drop_table("voice_cases")
