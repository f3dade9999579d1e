"""From checks to a scorecard: items, sections, total and verdict, and the readable summary of a call.

Arithmetic (0–100 throughout):
- an item's checks are combined (all: the lowest fraction, any: the highest, mean) into a fraction;
  its score is fraction × weight, out of ``max_score`` = weight; it passes at ``pass_at``;
- an item that cannot be assessed (no emotion on the turns, say) keeps ``max_score`` 0 and says so, and
  is left out of its section's sums — the call is neither rewarded nor punished for it;
- a section scores 100 × points / possible points, and 0 when one of its critical items failed;
- the total is the section-weighted mean of the assessed sections, and 0 when a fatal item failed;
- the verdict is the standard's band the total falls in (the fatal verdict when a fatal item failed).
"""

from __future__ import annotations

from engine.record import CallAnalysis, Scorecard, ScorecardItem
from engine.score.checks import Outcome
from engine.score.context import CallContext, clock
from engine.score.defects import DEFECT_PREFIX, RECOVERY_PREFIX, call_context, detect
from engine.score.phrases import PhraseBook
from engine.score.standard import Item, Standard

NOT_ASSESSED = "not assessed"


def item_assessed(item: ScorecardItem) -> bool:
    """Whether an item counted (a not-assessed item is stored with ``max_score`` 0)."""
    return item.max_score > 0


def _combine(item: Item, outcomes: list[Outcome]) -> Outcome:
    assessed = [o for o in outcomes if o.fraction is not None]
    if not assessed:
        return Outcome(None, "; ".join(o.explanation for o in outcomes))
    fractions = [o.fraction for o in assessed if o.fraction is not None]
    if item.combine == "any":
        best = max(assessed, key=lambda o: o.fraction or 0.0)
        return Outcome(best.fraction, best.explanation, best.evidence)
    fraction = min(fractions) if item.combine == "all" else sum(fractions) / len(fractions)
    # Lead with what lost points: that is what a QA lead reads first.
    ordered = sorted(assessed, key=lambda o: o.fraction or 0.0)
    explanation = "; ".join(o.explanation for o in ordered)
    return Outcome(fraction, explanation, [ev for o in ordered for ev in o.evidence])


def score_item(item: Item, section: str, ctx: CallContext, pass_at: float) -> ScorecardItem:
    outcome = _combine(item, [check.run(ctx) for check in item.checks])
    if outcome.fraction is None:
        return ScorecardItem(item_id=item.id, section=section, title=item.title, score=0.0, max_score=0.0,
                             weight=item.weight, passed=True, critical=item.critical, fatal=item.fatal,
                             explanation=outcome.explanation if outcome.explanation.startswith(NOT_ASSESSED)
                             else f"{NOT_ASSESSED}: {outcome.explanation}")
    fraction = min(1.0, max(0.0, outcome.fraction))
    threshold = item.pass_at if item.pass_at is not None else pass_at
    return ScorecardItem(item_id=item.id, section=section, title=item.title,
                         score=round(fraction * item.weight, 3), max_score=item.weight, weight=item.weight,
                         passed=fraction >= threshold - 1e-9, critical=item.critical, fatal=item.fatal,
                         explanation=outcome.explanation, evidence=outcome.evidence[:8])


def build_scorecard(ctx: CallContext, standard: Standard) -> Scorecard:
    items: list[ScorecardItem] = []
    sections: dict[str, float] = {}
    weighted, weights = 0.0, 0.0
    fatal_failed = False
    for section in standard.sections:
        scored = [score_item(item, section.id, ctx, standard.pass_at) for item in section.items]
        items.extend(scored)
        counted = [i for i in scored if item_assessed(i)]
        fatal_failed |= any(i.fatal and not i.passed for i in counted)
        if not counted:
            continue
        value = 100 * sum(i.score for i in counted) / sum(i.max_score for i in counted)
        if any(i.critical and not i.passed for i in counted):
            value = 0.0
        sections[section.id] = round(value, 1)
        weighted += section.weight * value
        weights += section.weight
    total = 0.0 if fatal_failed or not weights else round(weighted / weights, 1)
    return Scorecard(standard_id=standard.id, standard_version=standard.version, items=items, sections=sections,
                     total=total, verdict=standard.verdict(total, fatal_failed))


def score_call(analysis: CallAnalysis, standard: Standard, phrases: PhraseBook | None = None) -> CallAnalysis:
    """Score one call: fills ``analysis.scorecard`` and puts the call's defect and recovery events in
    ``analysis.events`` (replacing those of an earlier scoring); returns the same analysis."""
    ctx = call_context(analysis, standard, phrases)
    ctx.defects = detect(ctx)
    kept = [e for e in analysis.events if not e.kind.startswith((DEFECT_PREFIX, RECOVERY_PREFIX))]
    analysis.events = sorted([*kept, *ctx.defects], key=lambda e: e.start)
    analysis.scorecard = build_scorecard(ctx, standard)
    return analysis


def summary_lines(analysis: CallAnalysis) -> list[str]:
    """A readable summary of one scored call: verdict, sections, items that lost points, defects, recoveries."""
    lines = [f"call {analysis.call.call_id} ({analysis.call.duration:.1f} s"
             + (f", {analysis.transcript.language}" if analysis.transcript else "") + ")"]
    card = analysis.scorecard
    if card is None:
        return [*lines, "  not scored"]
    lines.append(f"  {card.standard_id} v{card.standard_version}: {card.total:.1f}/100 → {card.verdict.upper()}")
    if card.sections:
        lines.append("  sections: " + ", ".join(f"{k} {v:.0f}" for k, v in card.sections.items()))
    for item in card.items:
        if not item_assessed(item):
            lines.append(f"  -  {item.item_id}: {item.explanation}")
        elif not item.passed or item.score < item.max_score:
            flag = ("FATAL " if item.fatal else "CRITICAL " if item.critical else "") if not item.passed else ""
            mark = "✗" if not item.passed else "~"
            lines.append(f"  {mark}  {flag}{item.item_id} {item.score:g}/{item.max_score:g}: {item.explanation}")
    passed = sum(1 for i in card.items if item_assessed(i) and i.passed and i.score >= i.max_score)
    lines.append(f"  ✓  {passed} item{'s' if passed != 1 else ''} fully met")
    for event in analysis.events:
        if event.kind.startswith((DEFECT_PREFIX, RECOVERY_PREFIX)):
            lines.append(f"  [{event.severity}] {event.kind} {clock(event.start)}–{clock(event.end)}: {event.detail}")
    return lines
