"""Which analysed calls become case candidates, and why: the configured rules read a stored analysis.

A rule matches an event of its kinds at or above its severity (and confidence, where the detector gives
one), or, for ``exemplary``, a faultless well-scored call long enough to teach from. Each match is a
``PromotionReason`` with the event's evidence. The case's kind is the first of its reasons' kinds in
``kind_order``: a call with a recovery and a defect is filed as a defect.
"""

from __future__ import annotations

from engine.cases.config import SEVERITY_ORDER, CaseKind, PromotionConfig, PromotionRule
from engine.cases.records import PromotionReason
from engine.record import CallAnalysis, Event
from engine.store.config import kind_matches

DEFECT_PREFIX = "defect."


def _event_reason(rule: PromotionRule, event: Event) -> PromotionReason | None:
    if not kind_matches(event.kind, rule.event_kinds):
        return None
    if SEVERITY_ORDER.index(event.severity) < SEVERITY_ORDER.index(rule.min_severity):
        return None
    if event.confidence is not None and event.confidence < rule.min_confidence:
        return None
    return PromotionReason(rule=rule.name, kind=rule.kind, event_kind=event.kind, severity=event.severity,
                           confidence=event.confidence, detail=event.detail, start=event.start, end=event.end,
                           evidence=list(event.evidence))


def _exemplary_reason(rule: PromotionRule, analysis: CallAnalysis) -> PromotionReason | None:
    card = analysis.scorecard
    if card is None or any(e.kind.startswith(DEFECT_PREFIX) for e in analysis.events):
        return None
    if card.total < rule.min_total or card.verdict not in rule.verdicts:
        return None
    if analysis.call.duration < rule.min_duration_s:
        return None
    return PromotionReason(rule=rule.name, kind=rule.kind, event_kind="scorecard", severity="info",
                           detail=f"no defect; {card.standard_id} total {card.total:.1f} ({card.verdict}) over "
                                  f"{analysis.call.duration / 60:.1f} min", start=0.0, end=analysis.call.duration)


def promotion_reasons(analysis: CallAnalysis, config: PromotionConfig) -> list[PromotionReason]:
    """Every reason the rules find to promote this call (empty: not a candidate), in time order."""
    reasons: list[PromotionReason] = []
    for rule in config.rules:
        if rule.when == "exemplary":
            found = _exemplary_reason(rule, analysis)
            if found is not None:
                reasons.append(found)
            continue
        for event in analysis.events:
            found = _event_reason(rule, event)
            if found is not None:
                reasons.append(found)
    return sorted(reasons, key=lambda r: (r.start, r.rule))


def case_kind(reasons: list[PromotionReason], config: PromotionConfig) -> CaseKind:
    """The kind a candidate is filed under (its reasons' kinds, first in ``kind_order``)."""
    kinds = {r.kind for r in reasons}
    return next(k for k in [*config.kind_order, "defect", "recovery", "exemplary"] if k in kinds)
