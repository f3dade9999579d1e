"""Which turn of a call a piece of evidence, or an event, points at.

The annotation (marks, the turns that calmed or angered) and the questions (the customer's reaction to an
agent turn) both place an event on a turn this way.
"""

from __future__ import annotations

from engine.record import CallAnalysis, Event, Evidence


def turn_of(analysis: CallAnalysis, evidence: Evidence, role: str | None = None) -> int | None:
    """The turn an evidence points at: same speaker (when it names one) and role, most overlap in time."""
    best: tuple[float, int] | None = None
    for index, turn in enumerate(analysis.turns):
        if evidence.speaker is not None and turn.speaker != evidence.speaker:
            continue
        if role is not None and turn.role != role:
            continue
        overlap = min(turn.end, max(evidence.end, evidence.start + 0.01)) - max(turn.start, evidence.start)
        if overlap > 0 and (best is None or overlap > best[0]):
            best = (overlap, index)
    return best[1] if best else None


def event_turn(analysis: CallAnalysis, event: Event, role: str | None = None) -> int | None:
    """The first turn of ``role`` that one of the event's evidence points at."""
    for evidence in event.evidence:
        index = turn_of(analysis, evidence, role)
        if index is not None:
            return index
    return None
