"""The daily summary: per agent and per team, how the day's calls went; and what customers called about.

Built from the store's rows (``engine.store.queries``: scores, failed items, events, customer turns of
the day) and the day's failed recordings, so it can be run any time after (or during) a batch, gives the
same figures on SQLite and PostgreSQL, and never parses a day's analysis JSON. A day is the day the
calls were recorded (``engine.store.recording_date``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from engine.record import CallAnalysis
from engine.store import FAILED, EventKindsConfig, Store, StoredCall, kind_matches
from engine.store.queries import CallFacts, customer_openings, day_facts
from engine.store.recording_date import PROCESSED
from engine.summary.config import SummaryConfig
from engine.summary.drivers import CallDriver, call_drivers


@dataclass
class GroupSummary:
    """One agent's (or team's, or the whole day's) calls."""

    name: str
    calls: int = 0
    failed: int = 0
    scored: int = 0
    mean_score: float | None = None
    verdicts: dict[str, int] = field(default_factory=dict)
    top_defects: list[tuple[str, int]] = field(default_factory=list)
    escalations: int = 0
    recoveries: int = 0
    audio_hours: float = 0.0


@dataclass
class DailySummary:
    day: date
    calls: int
    failed: int
    failure_reasons: dict[str, int]
    overall: GroupSummary
    agents: list[GroupSummary]
    teams: list[GroupSummary]
    drivers: list[CallDriver]
    dated_by_processing: int = 0  # calls with no recording time anywhere, filed under the day they were stored

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


def facts_defects(facts: CallFacts, kinds: EventKindsConfig) -> set[str]:
    """What went wrong in a call: its defect events (by kind) and its failed scorecard items (by title)."""
    return {k for k in facts.event_kinds if kind_matches(k, kinds.defect)} | set(facts.failed_items)


def call_defects(analysis: CallAnalysis, kinds: EventKindsConfig) -> set[str]:
    """``facts_defects`` of a full analysis."""
    card = analysis.scorecard
    failed = {i.title or i.item_id for i in card.items if not i.passed} if card else set()
    return {e.kind for e in analysis.events if kind_matches(e.kind, kinds.defect)} | failed


def _group(name: str, done: Sequence[CallFacts], failed: Sequence[StoredCall],
           config: SummaryConfig, kinds: EventKindsConfig) -> GroupSummary:
    scores = [f.total for f in done if f.total is not None]
    verdicts = Counter(f.verdict for f in done if f.verdict)
    defects: Counter[str] = Counter()
    for facts in done:
        defects.update(facts_defects(facts, kinds))
    return GroupSummary(
        name=name,
        calls=len(done),
        failed=len(failed),
        scored=len(scores),
        mean_score=round(sum(scores) / len(scores), 2) if scores else None,
        verdicts=dict(sorted(verdicts.items())),
        # most frequent first; ties by name, so the list is the same on every run and database
        top_defects=sorted(defects.items(), key=lambda kv: (-kv[1], kv[0]))[: config.top_defects],
        escalations=sum(any(kind_matches(k, kinds.escalation) for k in f.event_kinds) for f in done),
        recoveries=sum(any(kind_matches(k, kinds.recovery) for k in f.event_kinds) for f in done),
        audio_hours=round(sum(f.call.duration or 0.0 for f in done) / 3600, 3),
    )


def _by(key: str, done: Iterable[CallFacts], failed: Iterable[StoredCall],
        config: SummaryConfig, kinds: EventKindsConfig) -> list[GroupSummary]:
    done_by: dict[str, list[CallFacts]] = {}
    failed_by: dict[str, list[StoredCall]] = {}
    for facts in done:
        done_by.setdefault(getattr(facts.call, key) or "(unknown)", []).append(facts)
    for call in failed:
        failed_by.setdefault(getattr(call, key) or "(unknown)", []).append(call)
    names = sorted(set(done_by) | set(failed_by))
    return [_group(n, done_by.get(n, []), failed_by.get(n, []), config, kinds) for n in names]


def summarise(day: date, done: Sequence[CallFacts], failed: Sequence[StoredCall], openings: dict[str, str],
              config: SummaryConfig | None = None, kinds: EventKindsConfig | None = None,
              drivers: list[CallDriver] | None = None) -> DailySummary:
    """The summary of one day's done calls, failed recordings and customer openings (by call key).

    ``drivers`` already grouped (a cache's) are used as given; otherwise they are grouped here.
    """
    config = config or SummaryConfig()
    kinds = kinds or EventKindsConfig()
    if drivers is None:
        drivers = day_drivers(done, openings, config)
    return DailySummary(
        day=day,
        calls=len(done),
        failed=len(failed),
        failure_reasons=dict(sorted(Counter(c.failure_reason or "unknown" for c in failed).items())),
        overall=_group("all", done, failed, config, kinds),
        agents=_by("agent_id", done, failed, config, kinds),
        teams=_by("team", done, failed, config, kinds),
        drivers=drivers,
        dated_by_processing=sum(f.call.date_basis == PROCESSED for f in done)
        + sum(c.date_basis == PROCESSED for c in failed),
    )


def day_drivers(done: Sequence[CallFacts], openings: dict[str, str], config: SummaryConfig) -> list[CallDriver]:
    """The day's call drivers from its customers' openings (the slow part of a summary: k-means)."""
    return call_drivers([(f.call.call_id, openings.get(f.call.call_key, "")) for f in done], config.drivers)


def day_inputs(store: Store, day: date, config: SummaryConfig) -> tuple[list[CallFacts], list[StoredCall],
                                                                        dict[str, str]]:
    """What ``summarise`` reads for ``day``: done calls' facts, failed recordings, customer openings."""
    return (day_facts(store, day), store.calls(day, status=FAILED),
            customer_openings(store, day, config.drivers.opening_turns, config.drivers.opening_seconds))


def daily_summary(store: Store, day: date | None = None, config: SummaryConfig | None = None,
                  kinds: EventKindsConfig | None = None) -> DailySummary | None:
    """The summary of ``day`` (default: the latest day with calls); None when the store has no calls."""
    config = config or SummaryConfig()
    day = day or store.latest_call_date()
    if day is None:
        return None
    done, failed, openings = day_inputs(store, day, config)
    return summarise(day, done, failed, openings, config, kinds)
