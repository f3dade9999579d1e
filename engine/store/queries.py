"""Read-only queries for the daily summary, the dashboard, search and the call report.

Each answers from the filter columns and child tables (calls, analyses, scorecard items, events, turns)
in a few statements, never by parsing a day's analysis JSON: a day of a thousand calls is summarised in
well under a second, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select

from engine.record import CallAnalysis, Scorecard, ScorecardItem
from engine.store.config import EventKindsConfig, kind_matches
from engine.store.models import AlertDeliveryRow, AlertRow, AnalysisRow, CallRow, EventRow, ScorecardItemRow, TurnRow
from engine.store.store import DONE, Store, StoredCall, _stored_call


@dataclass(frozen=True)
class CallFacts:
    """What the summary and the dashboard need of one done call, without its full analysis."""

    call: StoredCall
    total: float | None
    verdict: str | None
    fatal_failed: bool
    failed_items: tuple[str, ...]  # titles (or ids) of the scorecard items it failed
    event_kinds: tuple[str, ...]

    @classmethod
    def from_analysis(cls, call: StoredCall, analysis: CallAnalysis) -> CallFacts:
        card = analysis.scorecard
        return cls(
            call=call, total=card.total if card else None, verdict=(card.verdict or None) if card else None,
            fatal_failed=bool(card and any(i.fatal and not i.passed for i in card.items)),
            failed_items=tuple(i.title or i.item_id for i in card.items if not i.passed) if card else (),
            event_kinds=tuple(e.kind for e in analysis.events),
        )


@dataclass(frozen=True)
class CallFilter:
    """What a search narrows calls by; every field is optional."""

    first_day: date | None = None
    last_day: date | None = None
    agent: str | None = None
    team: str | None = None
    verdict: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    event: str | None = None  # an event family of EventKindsConfig: defect, recovery, escalation
    language: str | None = None
    words: str | None = None  # every word must be said somewhere in the call
    status: str = DONE


@dataclass(frozen=True)
class CallRowView:
    """One line of a search result."""

    call: StoredCall
    total: float | None
    verdict: str | None
    fatal_failed: bool
    event_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DayPoint:
    """One day of the trend: calls, mean score, verdicts, audio."""

    day: date
    calls: int
    mean_score: float | None
    audio_hours: float
    verdicts: dict[str, int]


def _calls_of_day(day: date, status: str = DONE) -> Any:
    return and_(CallRow.call_date == day, CallRow.status == status)


def day_facts(store: Store, day: date) -> list[CallFacts]:
    """The day's done calls with scores, failed items and event kinds, in the order of ``Store.calls``."""
    query = (
        select(CallRow.__table__, AnalysisRow.total, AnalysisRow.verdict, AnalysisRow.fatal_failed)
        .join(AnalysisRow, AnalysisRow.call_key == CallRow.call_key)
        .where(_calls_of_day(day))
        .order_by(CallRow.call_id, CallRow.call_key)
    )
    failed = (
        select(ScorecardItemRow.call_key, ScorecardItemRow.title, ScorecardItemRow.item_id)
        .join(CallRow, CallRow.call_key == ScorecardItemRow.call_key)
        .where(_calls_of_day(day), ScorecardItemRow.passed.is_(False))
        .order_by(ScorecardItemRow.call_key, ScorecardItemRow.position)
    )
    events = (
        select(EventRow.call_key, EventRow.kind)
        .join(CallRow, CallRow.call_key == EventRow.call_key)
        .where(_calls_of_day(day))
        .order_by(EventRow.call_key, EventRow.position)
    )
    with store._read() as conn:
        rows = conn.execute(query).mappings().all()
        items: dict[str, list[str]] = defaultdict(list)
        for key, title, item_id in conn.execute(failed):
            items[key].append(title or item_id)
        kinds: dict[str, list[str]] = defaultdict(list)
        for key, kind in conn.execute(events):
            kinds[key].append(kind)
    return [
        CallFacts(call=_stored_call(r), total=r["total"], verdict=r["verdict"] or None,
                  fatal_failed=bool(r["fatal_failed"]), failed_items=tuple(items[r["call_key"]]),
                  event_kinds=tuple(kinds[r["call_key"]]))
        for r in rows
    ]


def customer_openings(store: Store, day: date, turns: int, before_s: float) -> dict[str, str]:
    """Each done call's opening: its customer's first ``turns`` turns starting before ``before_s``."""
    query = (
        select(TurnRow.call_key, TurnRow.text)
        .join(CallRow, CallRow.call_key == TurnRow.call_key)
        .where(_calls_of_day(day), TurnRow.role == "customer", TurnRow.start < before_s)
        .order_by(TurnRow.call_key, TurnRow.start, TurnRow.position)
    )
    chosen: dict[str, list[str]] = defaultdict(list)
    with store._read() as conn:
        for key, text in conn.execute(query):
            if len(chosen[key]) < turns:
                chosen[key].append(text.strip())
    return {key: " ".join(t for t in texts if t) for key, texts in chosen.items()}


def day_fingerprint(store: Store, day: date) -> tuple[int, str]:
    """Changes whenever a call of the day is stored or updated: the key of anything cached per day."""
    query = select(func.count(), func.max(CallRow.updated_at)).where(CallRow.call_date == day)
    with store._read() as conn:
        count, latest = conn.execute(query).one()
    return int(count), str(latest)


def days_with_calls(store: Store, last_day: date, days: int) -> list[DayPoint]:
    """The trend: the last ``days`` days with done calls up to ``last_day``, oldest first."""
    recent = (
        select(CallRow.call_date).where(CallRow.status == DONE, CallRow.call_date <= last_day)
        .group_by(CallRow.call_date).order_by(CallRow.call_date.desc()).limit(days)
    )
    with store._read() as conn:
        chosen = [d for (d,) in conn.execute(recent)]
        if not chosen:
            return []
        base = (
            select(CallRow.call_date, func.count(), func.avg(AnalysisRow.total), func.sum(CallRow.duration))
            .join(AnalysisRow, AnalysisRow.call_key == CallRow.call_key)
            .where(CallRow.status == DONE, CallRow.call_date.in_(chosen))
            .group_by(CallRow.call_date)
        )
        verdicts = (
            select(CallRow.call_date, AnalysisRow.verdict, func.count())
            .join(AnalysisRow, AnalysisRow.call_key == CallRow.call_key)
            .where(CallRow.status == DONE, CallRow.call_date.in_(chosen), AnalysisRow.verdict.is_not(None))
            .group_by(CallRow.call_date, AnalysisRow.verdict)
        )
        by_day: dict[date, dict[str, int]] = defaultdict(dict)
        for day, verdict, n in conn.execute(verdicts):
            if verdict:
                by_day[day][verdict] = int(n)
        points = [
            DayPoint(day=day, calls=int(n), mean_score=None if mean is None else round(float(mean), 2),
                     audio_hours=round(float(seconds or 0.0) / 3600, 3), verdicts=dict(sorted(by_day[day].items())))
            for day, n, mean, seconds in conn.execute(base)
        ]
    return sorted(points, key=lambda p: p.day)


def day_alerts(store: Store, day: date) -> list[dict[str, Any]]:
    """The day's alerts with their call, delivery state and acknowledgement, most severe first."""
    delivered = func.sum(case((AlertDeliveryRow.status == "delivered", 1), else_=0))
    query = (
        select(AlertRow.alert_id, AlertRow.trigger, AlertRow.severity, AlertRow.payload, AlertRow.created_at,
               AlertRow.acknowledged_by, AlertRow.acknowledged_at, CallRow.call_id, CallRow.call_key,
               CallRow.agent_id, CallRow.team, func.count(AlertDeliveryRow.sink).label("sinks"),
               delivered.label("delivered"))
        .join(CallRow, CallRow.call_key == AlertRow.call_key)
        .outerjoin(AlertDeliveryRow, AlertDeliveryRow.alert_id == AlertRow.alert_id)
        .where(CallRow.call_date == day)
        .group_by(AlertRow.alert_id, AlertRow.trigger, AlertRow.severity, AlertRow.payload, AlertRow.created_at,
                  AlertRow.acknowledged_by, AlertRow.acknowledged_at, CallRow.call_id, CallRow.call_key,
                  CallRow.agent_id, CallRow.team)
    )
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    with store._read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["delivered"] = int(row["delivered"] or 0)
        row["detail"] = (row.pop("payload") or {}).get("detail", "")
    return sorted(rows, key=lambda r: (rank.get(r["severity"], 9), r["call_id"], r["alert_id"]))


def _kind_condition(patterns: Sequence[str]) -> Any:
    """SQL for ``kind_matches``: the kind is a pattern or sits under one (``defect`` covers ``defect.x``)."""
    return or_(*[or_(EventRow.kind == p, EventRow.kind.like(_like_escape(p) + ".%", escape="\\")) for p in patterns])


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_conditions(flt: CallFilter, kinds: EventKindsConfig) -> list[Any]:
    where: list[Any] = [CallRow.status == flt.status]
    if flt.first_day:
        where.append(CallRow.call_date >= flt.first_day)
    if flt.last_day:
        where.append(CallRow.call_date <= flt.last_day)
    if flt.agent:
        where.append(CallRow.agent_id == flt.agent)
    if flt.team:
        where.append(CallRow.team == flt.team)
    if flt.language:
        where.append(CallRow.language == flt.language)
    if flt.verdict:
        where.append(AnalysisRow.verdict == flt.verdict)
    if flt.min_score is not None:
        where.append(AnalysisRow.total >= flt.min_score)
    if flt.max_score is not None:
        where.append(AnalysisRow.total <= flt.max_score)
    if flt.event:
        patterns = getattr(kinds, flt.event, None)
        if not isinstance(patterns, list):
            raise ValueError(f"unknown event family {flt.event!r}: use defect, recovery or escalation")
        where.append(exists().where(EventRow.call_key == CallRow.call_key, _kind_condition(patterns)))
    for word in (flt.words or "").split():
        where.append(exists().where(TurnRow.call_key == CallRow.call_key,
                                    TurnRow.text.ilike(f"%{_like_escape(word)}%", escape="\\")))
    return where


def search_calls(store: Store, flt: CallFilter, kinds: EventKindsConfig, offset: int = 0,
                 limit: int = 50) -> tuple[list[CallRowView], int]:
    """One page of the calls that match, newest day first, and how many match in all."""
    where = _search_conditions(flt, kinds)
    base = select(CallRow.call_key).outerjoin(AnalysisRow, AnalysisRow.call_key == CallRow.call_key).where(*where)
    page = (
        select(CallRow.__table__, AnalysisRow.total, AnalysisRow.verdict, AnalysisRow.fatal_failed)
        .outerjoin(AnalysisRow, AnalysisRow.call_key == CallRow.call_key)
        .where(*where)
        .order_by(CallRow.call_date.desc(), CallRow.call_id, CallRow.call_key)
        .offset(offset).limit(limit)
    )
    with store._read() as conn:
        total = int(conn.scalar(select(func.count()).select_from(base.subquery())) or 0)
        rows = conn.execute(page).mappings().all()
        keys = [r["call_key"] for r in rows]
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        if keys:
            events = select(EventRow.call_key, EventRow.kind).where(EventRow.call_key.in_(keys))
            for key, kind in conn.execute(events):
                for family in ("escalation", "recovery", "defect"):
                    if kind_matches(kind, getattr(kinds, family)):
                        counts[key][family] += 1
    return [
        CallRowView(call=_stored_call(r), total=r["total"], verdict=r["verdict"],
                    fatal_failed=bool(r["fatal_failed"]), event_counts=dict(counts[r["call_key"]]))
        for r in rows
    ], total


def filter_choices(store: Store) -> dict[str, list[str]]:
    """The agents, teams, verdicts and languages present: what a search form offers."""
    columns = {"agent": CallRow.agent_id, "team": CallRow.team, "language": CallRow.language,
               "verdict": AnalysisRow.verdict}
    out: dict[str, list[str]] = {}
    with store._read() as conn:
        for name, column in columns.items():
            query = select(column).distinct().where(column.is_not(None))
            if column is AnalysisRow.verdict:
                query = query.select_from(AnalysisRow)
            out[name] = sorted(str(v) for (v,) in conn.execute(query) if v)
    return out


def find_call(store: Store, ref: str) -> StoredCall | None:
    """A call by its key, or by its call id (the most recently stored done call of that id)."""
    call = store.call(ref)
    if call is not None:
        return call
    query = (
        select(CallRow.__table__).where(CallRow.call_id == ref)
        .order_by((CallRow.status == DONE).desc(), CallRow.updated_at.desc(), CallRow.call_key).limit(1)
    )
    with store._read() as conn:
        row = conn.execute(query).mappings().first()
    return _stored_call(row) if row else None


def stored_scorecard(store: Store, key: str) -> Scorecard | None:
    """A call's automatic scorecard from its rows (no JSON parsing), as the agreement report reads it."""
    with store._read() as conn:
        head = conn.execute(
            select(AnalysisRow.standard_id, AnalysisRow.standard_version, AnalysisRow.total, AnalysisRow.verdict)
            .where(AnalysisRow.call_key == key)
        ).first()
        if head is None or head.standard_id is None:
            return None
        items = conn.execute(
            select(ScorecardItemRow.__table__).where(ScorecardItemRow.call_key == key)
            .order_by(ScorecardItemRow.position)
        ).mappings().all()
    return Scorecard(
        standard_id=head.standard_id, standard_version=head.standard_version or "", total=head.total or 0.0,
        verdict=head.verdict or "",
        items=[ScorecardItem.model_validate({k: v for k, v in r.items() if k not in ("call_key", "position")})
               for r in items],
    )


__all__ = [
    "CallFacts",
    "CallFilter",
    "CallRowView",
    "DayPoint",
    "customer_openings",
    "day_alerts",
    "day_facts",
    "day_fingerprint",
    "days_with_calls",
    "filter_choices",
    "find_call",
    "search_calls",
    "stored_scorecard",
]
