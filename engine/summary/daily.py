"""The daily summary: per agent and per team, how the day's calls went; and what customers called about.

Built from the stored analyses (``Store.analyses(day)``) and the day's failed recordings, so it can be
run any time after (or during) a batch, and gives the same figures on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from engine.record import CallAnalysis
from engine.store import FAILED, EventKindsConfig, Store, StoredCall, kind_matches
from engine.summary.config import SummaryConfig
from engine.summary.drivers import CallDriver, call_drivers, opening_text


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


def call_defects(analysis: CallAnalysis, kinds: EventKindsConfig) -> set[str]:
    """What went wrong in a call: its defect events (by kind) and its failed scorecard items (by title)."""
    defects = {e.kind for e in analysis.events if kind_matches(e.kind, kinds.defect)}
    if analysis.scorecard:
        defects |= {item.title or item.item_id for item in analysis.scorecard.items if not item.passed}
    return defects


def _group(name: str, done: Sequence[tuple[StoredCall, CallAnalysis]], failed: Sequence[StoredCall],
           config: SummaryConfig, kinds: EventKindsConfig) -> GroupSummary:
    scores = [a.scorecard.total for _, a in done if a.scorecard is not None]
    verdicts = Counter(a.scorecard.verdict for _, a in done if a.scorecard is not None and a.scorecard.verdict)
    defects: Counter[str] = Counter()
    for _, analysis in done:
        defects.update(call_defects(analysis, kinds))
    return GroupSummary(
        name=name,
        calls=len(done),
        failed=len(failed),
        scored=len(scores),
        mean_score=round(sum(scores) / len(scores), 2) if scores else None,
        verdicts=dict(sorted(verdicts.items())),
        # most frequent first; ties by name, so the list is the same on every run and database
        top_defects=sorted(defects.items(), key=lambda kv: (-kv[1], kv[0]))[: config.top_defects],
        escalations=sum(any(kind_matches(e.kind, kinds.escalation) for e in a.events) for _, a in done),
        recoveries=sum(any(kind_matches(e.kind, kinds.recovery) for e in a.events) for _, a in done),
    )


def _by(key: str, done: Iterable[tuple[StoredCall, CallAnalysis]], failed: Iterable[StoredCall],
        config: SummaryConfig, kinds: EventKindsConfig) -> list[GroupSummary]:
    done_by: dict[str, list[tuple[StoredCall, CallAnalysis]]] = {}
    failed_by: dict[str, list[StoredCall]] = {}
    for call, analysis in done:
        done_by.setdefault(getattr(call, key) or "(unknown)", []).append((call, analysis))
    for call in failed:
        failed_by.setdefault(getattr(call, key) or "(unknown)", []).append(call)
    names = sorted(set(done_by) | set(failed_by))
    return [_group(n, done_by.get(n, []), failed_by.get(n, []), config, kinds) for n in names]


def summarise(day: date, done: Sequence[tuple[StoredCall, CallAnalysis]], failed: Sequence[StoredCall],
              config: SummaryConfig | None = None, kinds: EventKindsConfig | None = None) -> DailySummary:
    """The summary of one day's done calls (with analyses) and failed recordings."""
    config = config or SummaryConfig()
    kinds = kinds or EventKindsConfig()
    openings = [(call.call_id, opening_text(analysis, config.drivers)) for call, analysis in done]
    return DailySummary(
        day=day,
        calls=len(done),
        failed=len(failed),
        failure_reasons=dict(sorted(Counter(c.failure_reason or "unknown" for c in failed).items())),
        overall=_group("all", done, failed, config, kinds),
        agents=_by("agent_id", done, failed, config, kinds),
        teams=_by("team", done, failed, config, kinds),
        drivers=call_drivers(openings, config.drivers),
    )


def daily_summary(store: Store, day: date | None = None, config: SummaryConfig | None = None,
                  kinds: EventKindsConfig | None = None) -> DailySummary | None:
    """The summary of ``day`` (default: the latest day with calls); None when the store has no calls."""
    day = day or store.latest_call_date()
    if day is None:
        return None
    done = list(store.analyses(day))
    failed = store.calls(day, status=FAILED)
    return summarise(day, done, failed, config, kinds)
