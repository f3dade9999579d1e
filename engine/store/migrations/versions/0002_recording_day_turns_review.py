"""Recording day, turns for search, reviewers, verdict overrides and alert acknowledgement.

- ``calls.date_basis``: what ``call_date`` rests on (a metadata key, ``recorder`` or ``processed``).
  Calls stored before, whose metadata has ``call_start``, are re-dated by it: they were filed under
  the day they were processed.
- ``turns``: each call's speaker turns (filled from the stored analyses), for word search and openings.
- ``reviewers``: accounts for ``callqa serve`` (password hashes only).
- ``reviews.verdict`` and ``alerts.acknowledged_by/at``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keys the store dated calls by before this revision, with call_start first as it is now.
_DATE_KEYS = ("call_start", "call_date", "start_time", "started_at", "date")


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _backfill(bind: sa.Connection) -> None:
    calls = sa.table("calls", sa.column("call_key", sa.String), sa.column("metadata", sa.JSON),
                     sa.column("call_date", sa.Date), sa.column("date_basis", sa.String))
    for key, metadata in bind.execute(sa.select(calls.c.call_key, calls.c.metadata)).all():
        metadata = metadata or {}
        basis, day = "processed", None
        for name in _DATE_KEYS:
            day = _day(metadata.get(name))
            if day is not None:
                basis = name
                break
        values: dict[str, object] = {"date_basis": basis}
        if day is not None:
            values["call_date"] = day
        bind.execute(sa.update(calls).where(calls.c.call_key == key).values(**values))
    analyses = sa.table("analyses", sa.column("call_key", sa.String), sa.column("analysis_json", sa.Text))
    turns = sa.table("turns", sa.column("call_key", sa.String), sa.column("position", sa.Integer),
                     sa.column("speaker", sa.String), sa.column("role", sa.String), sa.column("start", sa.Float),
                     sa.column("end", sa.Float), sa.column("text", sa.Text))
    for key, text in bind.execute(sa.select(analyses.c.call_key, analyses.c.analysis_json)).all():
        rows = [
            {"call_key": key, "position": n, "speaker": t.get("speaker", ""), "role": t.get("role", "unknown"),
             "start": t.get("start", 0.0), "end": t.get("end", 0.0), "text": t.get("text", "")}
            for n, t in enumerate(json.loads(text).get("turns", []))
        ]
        if rows:
            bind.execute(turns.insert(), rows)


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_basis", sa.String(length=32), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verdict", sa.String(length=32), nullable=True))
    op.create_table(
        "turns",
        sa.Column("call_key", sa.String(length=96), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_key"], ["calls.call_key"], name=op.f("fk_turns_call_key_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_key", "position", name=op.f("pk_turns")),
    )
    op.create_table(
        "reviewers",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_reviewers")),
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("reviewers")
    op.drop_table("turns")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("verdict")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("acknowledged_by")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("date_basis")
