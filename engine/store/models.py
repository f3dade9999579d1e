"""The tables: one row per call, its analysis, scorecard items, events, alerts, reviews.

A call is identified by its *call key*, ``<content hash>:<config hash>``: the same recording analysed
under another configuration is another call row. Child rows are keyed by (call key, position), never by
an auto-increment id, so a rerun or a second writer cannot add a duplicate and the same batch gives the
same rows on SQLite and on PostgreSQL.

Times are naive UTC (``utcnow``), stored alike on both databases.
Changing a table means a new migration in ``engine/store/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so migrations can refer to them identically on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

KEY = String(96)  # sha256 hex (64) + ":" + config hash; room to spare


def utcnow() -> datetime:
    """Now, in UTC, without a zone: SQLite keeps no zone, so neither does PostgreSQL here."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CallRow(Base):
    """A recording under one configuration: analysed (``done``) or refused (``failed``, with the reason)."""

    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("content_hash", "config_hash", name="uq_calls_content_config"),)

    call_key: Mapped[str] = mapped_column(KEY, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    config_hash: Mapped[str] = mapped_column(String(31))
    call_id: Mapped[str] = mapped_column(String(255), index=True)
    source: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    team: Mapped[str | None] = mapped_column(String(255), index=True)
    call_date: Mapped[date | None] = mapped_column(Date, index=True)
    # what call_date rests on: a metadata key ("call_start" …), "recorder" (file tags) or "processed"
    date_basis: Mapped[str | None] = mapped_column(String(32))
    duration: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    metadata_json: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class AnalysisRow(Base):
    """The full ``CallAnalysis`` JSON, plus the figures people filter and sort on."""

    __tablename__ = "analyses"

    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"), primary_key=True)
    schema_version: Mapped[str] = mapped_column(String(16))
    standard_id: Mapped[str | None] = mapped_column(String(128))
    standard_version: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[float | None] = mapped_column(Float, index=True)
    verdict: Mapped[str | None] = mapped_column(String(32), index=True)
    fatal_failed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    analysis_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime())


class ScorecardItemRow(Base):
    __tablename__ = "scorecard_items"

    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(128), index=True)
    section: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    critical: Mapped[bool] = mapped_column(Boolean)
    fatal: Mapped[bool] = mapped_column(Boolean)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class EventRow(Base):
    __tablename__ = "events"

    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(128), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class TurnRow(Base):
    """One speaker turn, for searching the words said and reading a call's opening without its JSON."""

    __tablename__ = "turns"

    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    speaker: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class AlertRow(Base):
    """One alert per call and trigger: the unique key is what keeps a rerun from raising it again."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("call_key", "trigger", name="uq_alerts_call_trigger"),)

    alert_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime())


class AlertDeliveryRow(Base):
    """An alert's delivery to one sink: pending until delivered, never dropped."""

    __tablename__ = "alert_deliveries"

    alert_id: Mapped[str] = mapped_column(
        String(160), ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True
    )
    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime())


class ReviewRow(Base):
    """A reviewer's verdict on a call; its item overrides sit beside the engine's scores, never over them."""

    __tablename__ = "reviews"

    review_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reviewer: Mapped[str] = mapped_column(String(128), index=True)
    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"), index=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    verdict: Mapped[str | None] = mapped_column(String(32))  # the reviewer's verdict on the call, if given
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime())


class ReviewSampleRow(Base):
    """A call drawn for a reviewer; the primary key is what keeps a call from being drawn twice for one."""

    __tablename__ = "review_samples"

    reviewer: Mapped[str] = mapped_column(String(128), primary_key=True)
    call_key: Mapped[str] = mapped_column(KEY, ForeignKey("calls.call_key", ondelete="CASCADE"), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(32))
    seed: Mapped[int] = mapped_column(BigInteger)
    drawn_at: Mapped[datetime] = mapped_column(DateTime())


class ReviewerRow(Base):
    """A reviewer who may sign in to ``callqa serve``; only a hash of the password is kept."""

    __tablename__ = "reviewers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime())


# -- the voice-case library (engine/cases) ---------------------------------------------------------------
# A case is keyed by an id derived from the recording's content hash (unique), not by the call key: the same
# recording analysed under another configuration is the same case, promoted once. No foreign key to
# ``calls``: a case (and its history) outlives the call row it was drafted from.


class VoiceCaseRow(Base):
    """A case candidate or library case: its status, kind, level, half and why it was promoted."""

    __tablename__ = "voice_cases"
    __table_args__ = (UniqueConstraint("content_hash", name="uq_voice_cases_content_hash"),)

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    call_key: Mapped[str] = mapped_column(KEY)
    call_id: Mapped[str] = mapped_column(String(255))
    agent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    call_date: Mapped[date | None] = mapped_column(Date, index=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    driver: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)  # candidate | accepted | rejected | retired
    level: Mapped[int | None] = mapped_column(Integer, index=True)
    half: Mapped[str | None] = mapped_column(String(16), index=True)
    grade: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    annotation_version: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime())
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class CaseAnnotationRow(Base):
    """One version of a case's annotation: version 1 is the engine's draft, each trainer edit is the next."""

    __tablename__ = "case_annotations"

    case_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("voice_cases.case_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    annotation: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime())


class CaseHistoryRow(Base):
    """What happened to a case, in order: promoted, accepted, rejected, edited, regraded, retired."""

    __tablename__ = "case_history"

    case_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("voice_cases.case_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime())


class AgentLevelRow(Base):
    """An agent's level in the library (0: new, 5: top)."""

    __tablename__ = "agent_levels"

    agent_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime())


class AgentAssessmentRow(Base):
    """An agent's attempt at a level's test half, as a trainer recorded it; attempts count from 1."""

    __tablename__ = "agent_assessments"

    agent_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    trainer: Mapped[str] = mapped_column(String(128))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # case id, question, kind, passed
    passed: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    moved_up: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime())
