"""``Store``: the one database of a callqa installation (SQLite file by default, PostgreSQL by URL).

Every write is one transaction and idempotent: a call is keyed by content hash + configuration hash,
child rows by (call key, position), alerts by (call key, trigger), review samples by (reviewer, call).
Writes use the databases' own insert-or-ignore / upsert (``ON CONFLICT``), so a rerun, a retried batch
item or two workers racing on the same recording never produce a second row.

SQLite runs in WAL mode with a busy timeout, and each write transaction starts with ``BEGIN IMMEDIATE``:
a writer takes the write lock before it reads, so several processes wait their turn instead of failing
with "database is locked" half-way through a transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, or_, select, update
from sqlalchemy.engine import make_url

from engine.errors import CallQAError
from engine.record import CallAnalysis
from engine.store.config import StoreConfig
from engine.store.migrate import upgrade
from engine.store.models import (
    AlertDeliveryRow,
    AlertRow,
    AnalysisRow,
    CallRow,
    EventRow,
    ReviewRow,
    ReviewSampleRow,
    ScorecardItemRow,
    TurnRow,
    utcnow,
)
from engine.store.recording_date import recording_day

DONE = "done"
FAILED = "failed"
PENDING = "pending"
DELIVERED = "delivered"


def call_key(content_hash: str, config_hash: str) -> str:
    """The identity of a call in the store: the recording's bytes under one configuration."""
    return f"{content_hash}:{config_hash}"


@dataclass(frozen=True)
class StoredCall:
    """A call row, as the summary and sampling read it."""

    call_key: str
    call_id: str
    source: str
    agent_id: str | None
    team: str | None
    call_date: date | None
    duration: float | None
    language: str | None
    status: str
    failure_reason: str | None
    failure_message: str | None
    attempts: int
    metadata: dict[str, Any]
    date_basis: str | None = None  # a metadata key, "recorder" or "processed" (see recording_date)


@dataclass(frozen=True)
class NewAlert:
    """An alert to be stored with its call; ``sinks`` get one pending delivery each."""

    trigger: str
    severity: str
    payload: dict[str, Any]
    sinks: tuple[str, ...]


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery this process has claimed (leased) and must now attempt."""

    alert_id: str
    sink: str
    attempts: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class SampleCandidate:
    """A done call not yet drawn for the reviewer, with what risk weighting looks at."""

    call_key: str
    call_id: str
    agent_id: str | None
    team: str | None
    call_date: date | None
    total: float | None
    verdict: str | None
    fatal_failed: bool
    event_kinds: tuple[str, ...]


def alert_id(key: str, trigger: str) -> str:
    return f"{key}/{trigger}"


def _enable_wal(cursor: sqlite3.Cursor, timeout_s: float) -> None:
    """Put the database in WAL mode, waiting out another process that is doing the same.

    Switching a new database to WAL takes an exclusive lock, and SQLite answers a second connection that
    asks meanwhile with "database is locked" at once, without its busy handler: a writer process and a
    reader opening one new file together failed so in 3 of 300 races before this. WAL is kept in the
    file, so a database already in it is left alone.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            contended = "locked" in str(error) or "busy" in str(error)
            if not contended or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_pragmas(busy_timeout_s: float):  # type: ignore[no-untyped-def]
    def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let this module issue BEGIN itself (pysqlite's implicit BEGIN would defeat BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _enable_wal(cursor, busy_timeout_s)
        cursor.execute("PRAGMA synchronous = NORMAL")  # in WAL: durable against a killed process
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("callqa_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (the driver the project installs), not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Store:
    """The callqa database. Open with ``Store.open(url or StoreConfig)``; close with ``close()``."""

    def __init__(self, engine: Engine, config: StoreConfig) -> None:
        self.engine = engine
        self.config = config
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, config: StoreConfig | str | None = None) -> Store:
        """Connect, and migrate the schema to the newest revision if it is behind."""
        if config is None:
            config = StoreConfig()
        elif isinstance(config, str):
            config = StoreConfig(url=config)
        url = _normalise_url(config.url)
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": config.busy_timeout_s})
            event.listen(engine, "connect", _sqlite_pragmas(config.busy_timeout_s))
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        upgrade(engine)
        return cls(engine, config)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(callqa_immediate=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        return insert(table)

    # -- calls and analyses ---------------------------------------------------------------------------

    def is_done(self, content_hash: str, config_hash: str) -> bool:
        """True when this recording is already analysed under this configuration (a batch skips it)."""
        with self._read() as conn:
            status = conn.scalar(
                select(CallRow.status).where(CallRow.call_key == call_key(content_hash, config_hash))
            )
        return status == DONE

    def done_hashes(self, config_hash: str) -> set[str]:
        """Content hashes already analysed under ``config_hash``: one query for a whole batch's skip list."""
        with self._read() as conn:
            rows = conn.scalars(
                select(CallRow.content_hash).where(CallRow.config_hash == config_hash, CallRow.status == DONE)
            )
            return set(rows)

    def failed_hashes(self, config_hash: str) -> set[str]:
        """Content hashes stored as failed under ``config_hash`` (a batch may leave them out or retry them)."""
        with self._read() as conn:
            rows = conn.scalars(
                select(CallRow.content_hash).where(CallRow.config_hash == config_hash, CallRow.status == FAILED)
            )
            return set(rows)

    def _call_values(self, info_metadata: dict[str, str], now: datetime, source: str | None) -> dict[str, Any]:
        day, basis = recording_day(info_metadata, source, self.config.date_keys, processed=now.date())
        return {
            "agent_id": info_metadata.get(self.config.agent_key) or None,
            "team": info_metadata.get(self.config.team_key) or None,
            "call_date": day,
            "date_basis": basis,
            "metadata": dict(info_metadata),
            "updated_at": now,
        }

    def save_analysis(self, analysis: CallAnalysis, alerts: Sequence[NewAlert] = ()) -> bool:
        """Store a finished analysis (and the alerts it raised) in one transaction.

        Returns False, writing nothing, when the call is already stored as done. A call stored as
        failed before (a transient failure, now fixed) becomes done. Alerts are written in the same
        transaction as the analysis, so a crash can never leave an analysed call without its alerts;
        their deliveries start as pending (see ``engine.alerts.deliver_pending``).
        """
        info = analysis.call
        key = call_key(info.content_hash, analysis.config_hash)
        now = utcnow()
        values = {
            "call_key": key,
            "content_hash": info.content_hash,
            "config_hash": analysis.config_hash,
            "call_id": info.call_id,
            "source": info.source,
            "duration": info.duration,
            "language": analysis.transcript.language if analysis.transcript else None,
            "status": DONE,
            "failure_reason": None,
            "failure_message": None,
            "attempts": 1,
            "created_at": now,
            **self._call_values(info.metadata, now, info.source),
        }
        calls = CallRow.__table__
        stmt = self._insert(calls).values(**values)
        update_columns = {k: stmt.excluded[k] for k in values if k not in ("call_key", "created_at", "attempts")}
        update_columns["attempts"] = calls.c.attempts + 1
        stmt = stmt.on_conflict_do_update(
            index_elements=[calls.c.call_key], set_=update_columns, where=calls.c.status != DONE
        )
        scorecard = analysis.scorecard
        with self._write() as conn:
            if not _wrote(conn, stmt, calls.c.call_key):
                return False
            conn.execute(
                AnalysisRow.__table__.insert().values(
                    call_key=key,
                    schema_version=analysis.schema_version,
                    standard_id=scorecard.standard_id if scorecard else None,
                    standard_version=scorecard.standard_version if scorecard else None,
                    total=scorecard.total if scorecard else None,
                    verdict=scorecard.verdict if scorecard else None,
                    fatal_failed=bool(scorecard and any(i.fatal and not i.passed for i in scorecard.items)),
                    analysis_json=analysis.to_json(),
                    created_at=now,
                )
            )
            if scorecard and scorecard.items:
                conn.execute(
                    ScorecardItemRow.__table__.insert(),
                    [
                        {
                            "call_key": key,
                            "position": n,
                            **item.model_dump(mode="json", exclude={"evidence"}),
                            "evidence": [e.model_dump(mode="json") for e in item.evidence],
                        }
                        for n, item in enumerate(scorecard.items)
                    ],
                )
            if analysis.events:
                conn.execute(
                    EventRow.__table__.insert(),
                    [
                        {
                            "call_key": key,
                            "position": n,
                            **ev.model_dump(mode="json", exclude={"evidence"}),
                            "evidence": [e.model_dump(mode="json") for e in ev.evidence],
                        }
                        for n, ev in enumerate(analysis.events)
                    ],
                )
            if analysis.turns:
                conn.execute(
                    TurnRow.__table__.insert(),
                    [
                        {"call_key": key, "position": n, "speaker": t.speaker, "role": t.role, "start": t.start,
                         "end": t.end, "text": t.text}
                        for n, t in enumerate(analysis.turns)
                    ],
                )
            self._insert_alerts(conn, key, alerts, now)
        return True

    def save_failure(self, source: str, content_hash: str, config_hash: str, reason: str, message: str,
                     metadata: dict[str, str] | None = None, call_id: str | None = None) -> bool:
        """Record a recording that could not be analysed, with the reason code (``IntakeError.reason``).

        A second failure of the same call updates the reason and counts the attempt; a call already
        done is never turned back into a failure. Returns False when the call was already done.
        """
        now = utcnow()
        metadata = metadata or {}
        values = {
            "call_key": call_key(content_hash, config_hash),
            "content_hash": content_hash,
            "config_hash": config_hash,
            "call_id": call_id or source.rsplit("/", 1)[-1].rsplit(".", 1)[0],
            "source": source,
            "duration": None,
            "language": None,
            "status": FAILED,
            "failure_reason": reason,
            "failure_message": message,
            "attempts": 1,
            "created_at": now,
            **self._call_values(metadata, now, source),
        }
        calls = CallRow.__table__
        stmt = self._insert(calls).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[calls.c.call_key],
            set_={
                "failure_reason": stmt.excluded.failure_reason,
                "failure_message": stmt.excluded.failure_message,
                "attempts": calls.c.attempts + 1,
                "updated_at": stmt.excluded.updated_at,
            },
            where=calls.c.status != DONE,
        )
        with self._write() as conn:
            return _wrote(conn, stmt, calls.c.call_key)

    def save_error(self, error: CallQAError, content_hash: str, config_hash: str,
                   metadata: dict[str, str] | None = None, call_id: str | None = None) -> bool:
        """``save_failure`` from the engine's own error (its ``reason`` code and message)."""
        return self.save_failure(error.source, content_hash, config_hash, error.reason, str(error),
                                 metadata=metadata, call_id=call_id)

    def call(self, key: str) -> StoredCall | None:
        with self._read() as conn:
            row = conn.execute(select(CallRow.__table__).where(CallRow.call_key == key)).mappings().first()
        return _stored_call(row) if row else None

    def calls(self, day: date | None = None, status: str | None = None) -> list[StoredCall]:
        """Calls, optionally of one day and one status, in a stable order (date, call id, key)."""
        query = select(CallRow.__table__)
        if day is not None:
            query = query.where(CallRow.call_date == day)
        if status is not None:
            query = query.where(CallRow.status == status)
        query = query.order_by(CallRow.call_date, CallRow.call_id, CallRow.call_key)
        with self._read() as conn:
            return [_stored_call(r) for r in conn.execute(query).mappings()]

    def analysis(self, key: str) -> CallAnalysis | None:
        with self._read() as conn:
            text = conn.scalar(select(AnalysisRow.analysis_json).where(AnalysisRow.call_key == key))
        return CallAnalysis.from_json(text) if text else None

    def analyses(self, day: date | None = None) -> Iterator[tuple[StoredCall, CallAnalysis]]:
        """Done calls with their analyses, one day's or all, in the stable order of ``calls``."""
        query = select(CallRow.__table__, AnalysisRow.analysis_json).join(
            AnalysisRow, AnalysisRow.call_key == CallRow.call_key
        )
        if day is not None:
            query = query.where(CallRow.call_date == day)
        query = query.order_by(CallRow.call_date, CallRow.call_id, CallRow.call_key)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        for row in rows:
            yield _stored_call(row), CallAnalysis.from_json(row["analysis_json"])

    def latest_call_date(self) -> date | None:
        with self._read() as conn:
            return conn.scalar(select(func.max(CallRow.call_date)))

    # -- alerts ---------------------------------------------------------------------------------------

    def _insert_alerts(self, conn: Connection, key: str, alerts: Sequence[NewAlert], now: datetime) -> list[str]:
        created = []
        for alert in alerts:
            aid = alert_id(key, alert.trigger)
            stmt = self._insert(AlertRow.__table__).values(
                alert_id=aid, call_key=key, trigger=alert.trigger, severity=alert.severity,
                payload=alert.payload, created_at=now,
            ).on_conflict_do_nothing()
            if not _wrote(conn, stmt, AlertRow.__table__.c.alert_id):
                continue  # raised before: one alert per call and trigger
            created.append(aid)
            for sink in alert.sinks:
                conn.execute(
                    self._insert(AlertDeliveryRow.__table__)
                    .values(alert_id=aid, sink=sink, status=PENDING, attempts=0)
                    .on_conflict_do_nothing()
                )
        return created

    def add_alerts(self, key: str, alerts: Sequence[NewAlert]) -> list[str]:
        """Store alerts for a call already stored; returns the ids of those not raised before."""
        with self._write() as conn:
            return self._insert_alerts(conn, key, alerts, utcnow())

    def alerts(self, key: str | None = None) -> list[dict[str, Any]]:
        query = select(AlertRow.__table__).order_by(AlertRow.alert_id)
        if key is not None:
            query = query.where(AlertRow.call_key == key)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def deliveries(self, status: str | None = None) -> list[dict[str, Any]]:
        query = select(AlertDeliveryRow.__table__).order_by(AlertDeliveryRow.alert_id, AlertDeliveryRow.sink)
        if status is not None:
            query = query.where(AlertDeliveryRow.status == status)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def claim_deliveries(self, lease_s: float, alert_ids: Sequence[str] | None = None,
                         sinks: Sequence[str] | None = None) -> list[PendingDelivery]:
        """Lease pending deliveries to this process, so two processes never send the same one at once.

        A claim lasts ``lease_s`` seconds: a process killed mid-delivery leaves it to be claimed again
        after that.
        """
        now = utcnow()
        table = AlertDeliveryRow.__table__
        free = (table.c.status == PENDING) & or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
        query = (
            select(table.c.alert_id, table.c.sink, table.c.attempts, AlertRow.payload)
            .join(AlertRow, AlertRow.alert_id == table.c.alert_id)
            .where(free)
            .order_by(table.c.alert_id, table.c.sink)
        )
        if alert_ids is not None:
            if not alert_ids:
                return []
            query = query.where(table.c.alert_id.in_(list(alert_ids)))
        if sinks is not None:
            query = query.where(table.c.sink.in_(list(sinks)))
        claimed = []
        with self._write() as conn:
            for row in conn.execute(query).mappings().all():
                claim = (
                    update(table)
                    .where(table.c.alert_id == row["alert_id"], table.c.sink == row["sink"], free)
                    .values(claimed_until=now + timedelta(seconds=lease_s))
                )
                if _wrote(conn, claim, table.c.alert_id):
                    claimed.append(PendingDelivery(row["alert_id"], row["sink"], row["attempts"], row["payload"]))
        return claimed

    def finish_delivery(self, delivery: PendingDelivery, attempts: int, error: str | None) -> None:
        """Record the outcome of a claimed delivery: delivered, or still pending with the last error."""
        table = AlertDeliveryRow.__table__
        values: dict[str, Any] = {"attempts": table.c.attempts + attempts, "claimed_until": None}
        if error is None:
            values.update(status=DELIVERED, delivered_at=utcnow(), last_error=None)
        else:
            values.update(last_error=error[:2000])
        with self._write() as conn:
            conn.execute(
                update(table)
                .where(table.c.alert_id == delivery.alert_id, table.c.sink == delivery.sink)
                .values(**values)
            )

    # -- reviews and sampling -------------------------------------------------------------------------

    def add_review(self, reviewer: str, key: str, overrides: dict[str, Any], comment: str = "",
                   verdict: str | None = None) -> int:
        """A reviewer's item overrides (item id -> new score and note) and verdict, beside the engine's scores."""
        with self._write() as conn:
            result = conn.execute(
                ReviewRow.__table__.insert().values(
                    reviewer=reviewer, call_key=key, overrides=overrides, comment=comment, verdict=verdict,
                    created_at=utcnow(),
                )
            )
            return int(result.inserted_primary_key[0])

    def reviews(self, key: str) -> list[dict[str, Any]]:
        query = select(ReviewRow.__table__).where(ReviewRow.call_key == key).order_by(ReviewRow.review_id)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def sample_candidates(self, reviewer: str, first_day: date | None = None,
                          last_day: date | None = None) -> list[SampleCandidate]:
        """Done calls never drawn for ``reviewer``, in a stable order (so a seeded draw repeats)."""
        drawn = select(ReviewSampleRow.call_key).where(ReviewSampleRow.reviewer == reviewer)
        query = (
            select(CallRow.call_key, CallRow.call_id, CallRow.agent_id, CallRow.team, CallRow.call_date,
                   AnalysisRow.total, AnalysisRow.verdict, AnalysisRow.fatal_failed)
            .join(AnalysisRow, AnalysisRow.call_key == CallRow.call_key)
            .where(CallRow.status == DONE, CallRow.call_key.not_in(drawn))
            .order_by(CallRow.call_key)
        )
        if first_day is not None:
            query = query.where(CallRow.call_date >= first_day)
        if last_day is not None:
            query = query.where(CallRow.call_date <= last_day)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
            kinds: dict[str, list[str]] = {}
            events = select(EventRow.call_key, EventRow.kind).where(EventRow.call_key.not_in(drawn))
            for ev in conn.execute(events.order_by(EventRow.call_key, EventRow.position)):
                kinds.setdefault(ev.call_key, []).append(ev.kind)
        return [
            SampleCandidate(r["call_key"], r["call_id"], r["agent_id"], r["team"], r["call_date"], r["total"],
                            r["verdict"], bool(r["fatal_failed"]), tuple(kinds.get(r["call_key"], ())))
            for r in rows
        ]

    def record_sample(self, reviewer: str, keys: Sequence[str], strategy: str, seed: int) -> list[str]:
        """Mark calls as drawn for ``reviewer``; returns those newly drawn (a concurrent draw may have won)."""
        now = utcnow()
        recorded = []
        with self._write() as conn:
            for key in keys:
                stmt = self._insert(ReviewSampleRow.__table__).values(
                    reviewer=reviewer, call_key=key, strategy=strategy, seed=seed, drawn_at=now
                ).on_conflict_do_nothing()
                if _wrote(conn, stmt, ReviewSampleRow.__table__.c.call_key):
                    recorded.append(key)
        return recorded

    def drawn(self, reviewer: str) -> list[str]:
        query = select(ReviewSampleRow.call_key).where(ReviewSampleRow.reviewer == reviewer)
        with self._read() as conn:
            return sorted(conn.scalars(query))

    # -- maintenance ----------------------------------------------------------------------------------

    def forget(self, key: str) -> None:
        """Remove a call and everything stored about it (to analyse it again under the same configuration)."""
        alert_ids = select(AlertRow.alert_id).where(AlertRow.call_key == key)
        with self._write() as conn:
            conn.execute(delete(AlertDeliveryRow).where(AlertDeliveryRow.alert_id.in_(alert_ids)))
            for table in (AlertRow, ReviewSampleRow, ReviewRow, TurnRow, EventRow, ScorecardItemRow, AnalysisRow,
                          CallRow):
                conn.execute(delete(table).where(table.call_key == key))

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's rows without timestamps or generated ids, sorted: what two databases compare on."""
        volatile = {"created_at", "updated_at", "drawn_at", "delivered_at", "claimed_until", "review_id"}
        out: dict[str, list[dict[str, Any]]] = {}
        with self._read() as conn:
            for table in (CallRow, AnalysisRow, ScorecardItemRow, EventRow, TurnRow, AlertRow, AlertDeliveryRow,
                          ReviewRow, ReviewSampleRow):
                rows = [
                    {k: v for k, v in r.items() if k not in volatile}
                    for r in conn.execute(select(table.__table__)).mappings()
                ]
                out[table.__tablename__] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
        return out


def _wrote(conn: Connection, stmt: Any, column: Any) -> bool:
    """Whether an insert-or-ignore, conditional upsert or conditional update touched its row.

    Asked with RETURNING rather than ``rowcount``, which psycopg reports as -1 for these statements.
    """
    return conn.execute(stmt.returning(column)).first() is not None


def _stored_call(row: Any) -> StoredCall:
    return StoredCall(
        call_key=row["call_key"], call_id=row["call_id"], source=row["source"], agent_id=row["agent_id"],
        team=row["team"], call_date=row["call_date"], duration=row["duration"], language=row["language"],
        status=row["status"], failure_reason=row["failure_reason"], failure_message=row["failure_message"],
        attempts=row["attempts"], metadata=row["metadata"] or {}, date_basis=row.get("date_basis"),
    )
