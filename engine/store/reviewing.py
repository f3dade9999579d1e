"""What reviewers do in the store: their accounts, their queue, their overrides, acknowledging alerts.

A review row keeps a reviewer's item overrides (``{item_id: {"score": …, "passed": …}}``) and verdict
beside the engine's scores, never over them; ``review_overrides`` turns the rows into
``engine.score.review.ReviewOverride`` records, which the agreement report reads. Passwords are hashed
by the caller (``engine.web.auth``): the store never sees a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, select, update

from engine.score.review import ReviewOverride, ScoredCall
from engine.store.models import AlertRow, AnalysisRow, CallRow, ReviewerRow, ReviewRow, ReviewSampleRow, utcnow
from engine.store.queries import stored_scorecard
from engine.store.store import Store, _wrote

VERDICT_ITEM = None  # a ReviewOverride with item_id None is about the call's verdict


@dataclass(frozen=True)
class QueuedCall:
    """A call drawn for a reviewer by ``callqa sample``, and whether they have reviewed it yet."""

    call_key: str
    call_id: str
    agent_id: str | None
    team: str | None
    call_date: date | None
    total: float | None
    verdict: str | None
    strategy: str
    reviewed: bool


# -- accounts -----------------------------------------------------------------------------------------

def set_reviewer(store: Store, name: str, password_hash: str) -> None:
    """Create a reviewer account, or replace its password hash."""
    table = ReviewerRow.__table__
    stmt = store._insert(table).values(name=name, password_hash=password_hash, created_at=utcnow())
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.name], set_={"password_hash": password_hash})
    with store._write() as conn:
        conn.execute(stmt)


def reviewer_hash(store: Store, name: str) -> str | None:
    with store._read() as conn:
        return conn.scalar(select(ReviewerRow.password_hash).where(ReviewerRow.name == name))


def reviewer_names(store: Store) -> list[str]:
    with store._read() as conn:
        return sorted(conn.scalars(select(ReviewerRow.name)))


# -- the queue ----------------------------------------------------------------------------------------

def review_queue(store: Store, reviewer: str) -> list[QueuedCall]:
    """The calls drawn for ``reviewer``, not yet reviewed first, then by day and call id."""
    reviewed = exists().where(ReviewRow.call_key == ReviewSampleRow.call_key, ReviewRow.reviewer == reviewer)
    query = (
        select(ReviewSampleRow.call_key, ReviewSampleRow.strategy, CallRow.call_id, CallRow.agent_id, CallRow.team,
               CallRow.call_date, AnalysisRow.total, AnalysisRow.verdict, reviewed.label("reviewed"))
        .join(CallRow, CallRow.call_key == ReviewSampleRow.call_key)
        .outerjoin(AnalysisRow, AnalysisRow.call_key == ReviewSampleRow.call_key)
        .where(ReviewSampleRow.reviewer == reviewer)
    )
    with store._read() as conn:
        rows = conn.execute(query).mappings().all()
    queue = [QueuedCall(r["call_key"], r["call_id"], r["agent_id"], r["team"], r["call_date"], r["total"],
                        r["verdict"], r["strategy"], bool(r["reviewed"])) for r in rows]
    return sorted(queue, key=lambda q: (q.reviewed, q.call_date or date.min, q.call_id, q.call_key))


# -- overrides ----------------------------------------------------------------------------------------

def latest_reviews(store: Store, key: str) -> dict[str, dict[str, Any]]:
    """Each reviewer's latest review of a call (earlier ones stay in the store as history)."""
    latest: dict[str, dict[str, Any]] = {}
    for review in store.reviews(key):  # in review_id order: a later row replaces an earlier one
        latest[review["reviewer"]] = review
    return latest


def review_overrides(call_id: str, standard_id: str, standard_version: str,
                     review: dict[str, Any]) -> list[ReviewOverride]:
    """One stored review as typed overrides: one per item it judged, one for the verdict if it gave one."""
    common = {"call_id": call_id, "standard_id": standard_id, "standard_version": standard_version,
              "reviewer": review["reviewer"], "comment": review.get("comment") or "",
              "created_at": str(review.get("created_at") or "")}
    out = []
    for item_id, judged in sorted((review.get("overrides") or {}).items()):
        score, passed = judged.get("score"), judged.get("passed")
        if score is None and passed is None:
            continue
        out.append(ReviewOverride(**{**common, "comment": judged.get("note") or common["comment"]},
                                  item_id=item_id, score=score, passed=passed))
    if review.get("verdict"):
        out.append(ReviewOverride(**common, item_id=VERDICT_ITEM, verdict=review["verdict"]))
    return out


def reviewed_calls(store: Store) -> tuple[list[ScoredCall], list[ReviewOverride]]:
    """Every reviewed call's automatic scorecard, and each reviewer's latest overrides of it."""
    with store._read() as conn:
        keys = sorted(set(conn.scalars(select(ReviewRow.call_key))))
    scored, overrides = [], []
    for key in keys:
        call, card = store.call(key), stored_scorecard(store, key)
        if call is None or card is None:
            continue
        # the call key, not the call id, names the call here: two recordings may share a call id
        scored.append(ScoredCall(call_id=key, scorecard=card))
        for review in latest_reviews(store, key).values():
            overrides += review_overrides(key, card.standard_id, card.standard_version, review)
    return scored, overrides


# -- alerts -------------------------------------------------------------------------------------------

def acknowledge_alert(store: Store, alert_id: str, reviewer: str) -> bool:
    """Mark an alert as seen to by ``reviewer``; False when there is no such alert or it was acknowledged."""
    table = AlertRow.__table__
    stmt = (
        update(table).where(table.c.alert_id == alert_id, table.c.acknowledged_by.is_(None))
        .values(acknowledged_by=reviewer, acknowledged_at=utcnow())
    )
    with store._write() as conn:
        return _wrote(conn, stmt, table.c.alert_id)
