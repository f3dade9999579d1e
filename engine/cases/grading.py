"""Grading a case 1–5 by difficulty and complexity, with the reasons.

Five factors, each a value from the call turned into points by its thresholds (each threshold reached
is a point, scaled to 0..1) and weighted (``grading:`` in ``configs/cases/promotion.yaml``):

- ``peak_negativity``: minus the valence of the customer's worst turn (0 when never negative);
- ``escalations``: separate runs of negative customer turns (or the emotion stage's escalation events,
  whichever is more);
- ``issues``: customer turns that complain, request, ask or threaten;
- ``minutes``: the call's length;
- ``recovery_difficulty``: 1 when the customer was still negative at the end; otherwise the peak
  negativity times how long the agent took to calm them (half for calming at once, all of it at
  ``recovery_turns_full`` agent replies or more); 0 when the customer was never negative.

The weighted mean of the points places the case in a level by ``level_bands``.
"""

from __future__ import annotations

from bisect import bisect_right

from engine.cases.config import AnnotationConfig, Factor, GradingConfig
from engine.cases.records import Annotation, Grade, GradeReason, TurnNote
from engine.record import CallAnalysis
from engine.score.context import clock

ISSUE_INTENTS = {"intent_complaining", "intent_requesting", "intent_asking", "intent_threatening"}


def _points(value: float, factor: Factor) -> float:
    return bisect_right(factor.thresholds, value) / len(factor.thresholds)


def _runs(customer: list[TurnNote], negative: AnnotationConfig) -> int:
    runs, inside = 0, False
    for note in customer:
        now = negative.negative(note.emotion, note.valence)
        runs += now and not inside
        inside = now
    return runs


def _recovery(customer: list[TurnNote], notes: list[TurnNote], peak: float, config: GradingConfig,
              negative: AnnotationConfig) -> tuple[float, str]:
    if peak <= 0:
        return 0.0, "the customer was never negative"
    if customer and negative.negative(customer[-1].emotion, customer[-1].valence):
        return 1.0, "the customer was still negative at the end"
    worst = min((n for n in customer if n.valence is not None), key=lambda n: n.valence)  # type: ignore[arg-type,return-value]
    calm = next((n for n in customer if n.start > worst.start and n.valence is not None
                 and not negative.negative(n.emotion, n.valence)), None)
    if calm is None:
        return 1.0, "the customer never calmed"
    replies = sum(1 for n in notes if n.role == "agent" and worst.start < n.start < calm.start)
    value = peak * (0.5 + 0.5 * min(1.0, replies / config.recovery_turns_full))
    return value, f"calmed at {clock(calm.start)} after {replies} agent repl{'y' if replies == 1 else 'ies'}"


def grade_case(analysis: CallAnalysis, annotation: Annotation, config: GradingConfig,
               annotation_config: AnnotationConfig) -> Grade:
    """The engine's grade of a case, with a reason per factor."""
    notes = annotation.turns
    customer = [n for n in notes if n.role == "customer"]
    judged = [n for n in customer if n.valence is not None]
    worst = min(judged, key=lambda n: n.valence) if judged else None  # type: ignore[arg-type,return-value]
    peak = max(0.0, -(worst.valence or 0.0)) if worst else 0.0
    escalation_events = sum(1 for e in analysis.events if e.kind == "escalation")
    runs = _runs(customer, annotation_config)
    issues = sum(1 for n in customer if ISSUE_INTENTS & set(n.intent))
    minutes = analysis.call.duration / 60
    difficulty, how = _recovery(customer, notes, peak, config, annotation_config)
    values = {
        "peak_negativity": (peak, f"worst customer turn at {clock(worst.start)}: {worst.emotion}, valence "
                                  f"{worst.valence:+.2f}" if worst and peak > 0 else "no negative customer turn"),
        "escalations": (float(max(runs, escalation_events)),
                        f"{runs} run(s) of negative customer turns, {escalation_events} escalation event(s)"),
        "issues": (float(issues), f"{issues} customer turn(s) complaining, requesting or asking"),
        "minutes": (minutes, f"{minutes:.1f} min"),
        "recovery_difficulty": (difficulty, how),
    }
    reasons = []
    for name, (value, why) in values.items():
        factor: Factor = getattr(config, name)
        reasons.append(GradeReason(factor=name, value=round(value, 3), points=round(_points(value, factor), 3),
                                   weight=factor.weight, why=why))
    total_weight = sum(r.weight for r in reasons) or 1.0
    score = sum(r.points * r.weight for r in reasons) / total_weight
    level = 1 + bisect_right(config.level_bands, score)
    return Grade(level=level, score=round(score, 3), reasons=reasons)
