"""One call's report: what the page at ``/calls/<id>`` and ``callqa report`` both show.

Built from the ``CallAnalysis`` alone (plus, in the app, the call's row and its reviews), so the server's
page and the self-contained file never drift apart. Every value here is data; the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.pages import emotion_trajectories
from engine.record import CallAnalysis, Event, Evidence
from engine.score.context import clock
from engine.store import EventKindsConfig, StoredCall, kind_matches
from engine.web import plots

FAMILIES = ("escalation", "defect", "recovery")
# The dynamics a reviewer reads, in reading order, with their labels and units.
DYNAMICS = (
    ("agent_talk_ratio", "agent talk share", "%"), ("customer_talk_ratio", "customer talk share", "%"),
    ("interruptions", "interruptions", ""), ("agent_interruptions", "… by the agent", ""),
    ("customer_interruptions", "… by the customer", ""), ("overlaps", "overlaps", ""),
    ("overlap_seconds", "overlap", "s"), ("silence_seconds", "silence", "s"),
    ("longest_silence", "longest silence", "s"), ("silences_long", "long silences", ""),
    ("dead_air_seconds", "dead air", "s"), ("holds", "holds", ""), ("hold_seconds", "on hold", "s"),
    ("agent_speaking_rate", "agent speaking rate", "wpm"), ("customer_speaking_rate", "customer speaking rate", "wpm"),
)


@dataclass
class TranscriptLine:
    kind: str  # "turn" or "silence"
    start: float
    end: float
    speaker: str = ""
    role: str = ""
    text: str = ""
    overlap: bool = False  # began while the other party was still speaking
    emotion: str = ""


@dataclass
class CallReport:
    """Everything the report page shows, as plain data (its JSON twin is this, with the analysis)."""

    call_id: str
    call_key: str | None
    agent: str | None
    team: str | None
    call_date: str | None
    date_basis: str | None
    call_start: str | None
    duration: float
    language: str | None
    standard: str | None
    total: float | None
    verdict: str | None
    items: list[dict[str, Any]]
    transcript: list[TranscriptLine]
    events: list[dict[str, Any]]
    dynamics: list[tuple[str, str]]
    plots: dict[str, Any] = field(default_factory=dict)
    reviews: list[dict[str, Any]] = field(default_factory=list)


def evidence_link(evidence: Evidence) -> dict[str, Any]:
    return {"start": evidence.start, "end": evidence.end, "speaker": evidence.speaker, "words": evidence.words,
            "label": f"{clock(evidence.start)}–{clock(evidence.end)}"}


def family_of(kind: str, kinds: EventKindsConfig) -> str | None:
    return next((f for f in FAMILIES if kind_matches(kind, getattr(kinds, f))), None)


def transcript_lines(analysis: CallAnalysis, silence_s: float) -> list[TranscriptLine]:
    """The turns in time order, each overlap flagged, and every gap of ``silence_s`` or more shown."""
    lines: list[TranscriptLine] = []
    latest_end = 0.0
    ends: dict[str, float] = {}
    for turn in sorted(analysis.turns, key=lambda t: (t.start, t.end)):
        if turn.start - latest_end >= silence_s:
            lines.append(TranscriptLine(kind="silence", start=latest_end, end=turn.start))
        overlap = any(end > turn.start + 1e-3 for speaker, end in ends.items() if speaker != turn.speaker)
        lines.append(TranscriptLine(kind="turn", start=turn.start, end=turn.end, speaker=turn.speaker,
                                    role=turn.role, text=turn.text, overlap=overlap,
                                    emotion=turn.emotion.label if turn.emotion else ""))
        ends[turn.speaker] = max(ends.get(turn.speaker, 0.0), turn.end)
        latest_end = max(latest_end, turn.end)
    return lines


def _dynamics(analysis: CallAnalysis) -> list[tuple[str, str]]:
    out = []
    for key, label, unit in DYNAMICS:
        value = analysis.dynamics.get(key)
        if not isinstance(value, int | float):
            continue
        text = f"{value:.0%}" if unit == "%" else f"{value:g}" if not unit else f"{value:.1f} {unit}"
        out.append((label, text))
    return out


def build_report(analysis: CallAnalysis, kinds: EventKindsConfig, silence_s: float,
                 call: StoredCall | None = None, reviews: list[dict[str, Any]] | None = None) -> CallReport:
    """The report of one call; ``call`` (its store row) adds the day it is filed under and the key."""
    info, card = analysis.call, analysis.scorecard
    events = [(family_of(e.kind, kinds), e) for e in analysis.events]
    marked: list[tuple[str, Event]] = [(f, e) for f, e in events if f]
    items = [
        {**item.model_dump(mode="json", exclude={"evidence"}),
         "evidence": [evidence_link(e) for e in item.evidence]}
        for item in (card.items if card else [])
    ]
    return CallReport(
        call_id=info.call_id,
        call_key=call.call_key if call else None,
        agent=call.agent_id if call else info.metadata.get("agent_id"),
        team=call.team if call else info.metadata.get("team"),
        call_date=call.call_date.isoformat() if call and call.call_date else None,
        date_basis=call.date_basis if call else None,
        call_start=info.metadata.get("call_start"),
        duration=info.duration,
        language=analysis.transcript.language if analysis.transcript else None,
        standard=f"{card.standard_id} v{card.standard_version}" if card else None,
        total=card.total if card else None,
        verdict=card.verdict if card else None,
        items=items,
        transcript=transcript_lines(analysis, silence_s),
        events=[{"kind": e.kind, "family": f or "", "severity": e.severity, "start": e.start, "end": e.end,
                 "label": f"{clock(e.start)}–{clock(e.end)}", "speaker": e.speaker, "detail": e.detail,
                 "evidence": [evidence_link(x) for x in e.evidence]} for f, e in events],
        dynamics=_dynamics(analysis),
        plots={"plot-emotions": emotion_trajectories(analysis, marked),
               "plot-talk": plots.talk_time(analysis.dynamics, info.duration)},
        reviews=reviews or [],
    )
