"""Service defects and recoveries as events, each with a severity and the evidence that shows it.

Kinds: ``defect.<name>`` (missing_greeting, missing_closing, missing_verification, prohibited_phrase,
agent_interrupted_customer, dead_air, agent_angered_customer, agent_lost_composure,
unresolved_escalation) and ``recovery.customer_calmed``. The first evidence of each event is the
moment that earned it: the agent's turn that angered the customer, the agent's turn that calmed them,
the agent's cut-in, the silence itself. Emotion-based ones need per-turn emotions; without them
they are not reported (and the items built on them say "not assessed").
"""

from __future__ import annotations

from engine.emotion.escalation import signal_summary
from engine.record import CallAnalysis, Event, Evidence
from engine.score.checks.phrases import find_any, first_unverified
from engine.score.context import CallContext, at, clock, quote
from engine.score.emotion_cues import (
    angered_customer,
    composure_lapses,
    customer_escalations,
    end_state_negative,
    recoveries,
)
from engine.score.phrases import PhraseBook, PhraseMatcher
from engine.score.standard import Standard
from engine.score.timeline import dead_air, interruptions

DEFECT_PREFIX = "defect."
RECOVERY_PREFIX = "recovery."


def call_context(analysis: CallAnalysis, standard: Standard, phrases: PhraseBook | None = None) -> CallContext:
    """The call as checks and detectors see it, in its transcript's language."""
    language = analysis.transcript.language if analysis.transcript else standard.languages[0]
    book = phrases or standard.phrasebook(language)
    return CallContext(analysis, PhraseMatcher(analysis, book), standard.detection)


def _event(ctx: CallContext, name: str, start: float, end: float, speaker: str | None,
           evidence: list[Evidence], detail: str, prefix: str = DEFECT_PREFIX) -> Event:
    return Event(kind=prefix + name, severity=ctx.settings.severity.get(name, "medium"), start=round(start, 3),
                 end=round(end, 3), speaker=speaker, evidence=evidence, detail=detail)


def _first_turn(ctx: CallContext, role: str, last: bool = False) -> int | None:
    turns = ctx.by_role.get(role, [])
    return (turns[-1] if last else turns[0]) if turns else None


def _greeting_and_closing(ctx: CallContext) -> list[Event]:
    s = ctx.settings
    events = []
    agent = _first_turn(ctx, "agent")
    if agent is None:
        return events
    greet_end = ctx.speech_start + s.greeting_within_seconds
    if not find_any(ctx, ["greeting"], "agent", ctx.speech_start, greet_end):
        ev = ctx.evidence(agent)
        events.append(_event(ctx, "missing_greeting", ev.start, ev.end, ev.speaker, [ev],
                             f"no greeting in the first {s.greeting_within_seconds:g} s; the agent opened at {at(ev)}"))
    close_start = ctx.speech_end - s.closing_within_seconds
    if not find_any(ctx, ["closing"], "agent", close_start, ctx.speech_end):
        last = _first_turn(ctx, "agent", last=True)
        assert last is not None
        ev = ctx.evidence(last)
        events.append(_event(ctx, "missing_closing", ev.start, ev.end, ev.speaker, [ev],
                             f"no closing in the last {s.closing_within_seconds:g} s; the agent's last words "
                             f"at {at(ev)}"))
    return events


def _verification(ctx: CallContext) -> list[Event]:
    then_hit, first_hit = first_unverified(ctx, ["verification"], ["account_details"], "agent", "any")
    if then_hit is None or (first_hit is not None and first_hit.start <= then_hit.start):
        return []
    ev = ctx.hit_evidence(then_hit)
    return [_event(ctx, "missing_verification", ev.start, ev.end, ev.speaker, [ev],
                   f"account details at {at(ev)} before any identity verification")]


def _prohibited(ctx: CallContext) -> list[Event]:
    events = []
    for hit in find_any(ctx, ["prohibited"], "agent"):
        ev = ctx.hit_evidence(hit)
        events.append(_event(ctx, "prohibited_phrase", ev.start, ev.end, ev.speaker, [ev],
                             f"prohibited phrase at {at(ev)}"))
    return events


def _dynamics(ctx: CallContext) -> list[Event]:
    events = []
    for cut in interruptions(ctx, by="agent", of="customer"):
        agent_ev = ctx.evidence(cut.by)
        evidence = [agent_ev] + ([ctx.evidence(cut.of)] if cut.of is not None else [])
        events.append(_event(ctx, "agent_interrupted_customer", cut.start, cut.end, agent_ev.speaker, evidence,
                             f"the agent cut in at {at(agent_ev)} while the customer was speaking"))
    for gap in dead_air(ctx):
        evidence = [Evidence(start=round(gap.start, 3), end=round(gap.end, 3))]
        if gap.before is not None:
            evidence.append(ctx.evidence(gap.before))
        events.append(_event(ctx, "dead_air", gap.start, gap.end, None, evidence,
                             f"{gap.seconds:.1f} s of dead air from {clock(gap.start)}"))
    return events


def _emotions(ctx: CallContext) -> list[Event]:
    if not ctx.emotion_assessed:
        return []
    events = []
    for anger in angered_customer(ctx):
        agent_ev, customer_ev = ctx.evidence(anger.agent), ctx.evidence(anger.customer)
        label = ctx.turns[anger.customer].emotion.label  # type: ignore[union-attr]
        event = _event(ctx, "agent_angered_customer", agent_ev.start, customer_ev.end, agent_ev.speaker,
                       [agent_ev, customer_ev],
                       f"the customer turned {label} at {clock(customer_ev.start)} right after the agent's "
                       f"{at(agent_ev)}")
        emotion = ctx.turns[anger.customer].emotion
        if emotion is not None:
            event = event.model_copy(update={"confidence": emotion.confidence, "signals": signal_summary(emotion)})
        events.append(event)
    for lapse in composure_lapses(ctx):
        ev = ctx.evidence(lapse.turn)
        event = _event(ctx, "agent_lost_composure", lapse.start, lapse.end, ev.speaker, [ev],
                       f"the agent lost composure at {at(ev)}")
        if lapse.source is not None:  # severity follows the emotion stage's confidence; its signals say why
            event = event.model_copy(update={"severity": lapse.source.severity, "confidence": lapse.source.confidence,
                                             "signals": lapse.source.signals,
                                             "detail": f"{event.detail} ({lapse.source.detail})"})
        events.append(event)
    calmed = recoveries(ctx)
    for recovery in calmed:
        agent_ev = ctx.evidence(recovery.turning_point)
        calm_ev = ctx.evidence(recovery.calm)
        events.append(_event(ctx, "customer_calmed", agent_ev.start, calm_ev.end, agent_ev.speaker,
                             [agent_ev, ctx.evidence(recovery.negative), calm_ev],
                             f"the agent's {at(agent_ev)} turned the customer from negative to calm "
                             f"({quote(calm_ev.words, 40)})", prefix=RECOVERY_PREFIX))
    escalations = customer_escalations(ctx)
    still_negative = end_state_negative(ctx)
    if escalations and still_negative is not None:
        first, last = ctx.evidence(escalations[0]), ctx.evidence(still_negative)
        events.append(_event(ctx, "unresolved_escalation", first.start, last.end, first.speaker, [first, last],
                             f"the customer escalated at {at(first)} and was still negative at the end "
                             f"({clock(last.start)})"))
    return events


def detect(ctx: CallContext) -> list[Event]:
    """Every defect and recovery on one call, in time order."""
    events = [*_greeting_and_closing(ctx), *_verification(ctx), *_prohibited(ctx), *_dynamics(ctx), *_emotions(ctx)]
    return sorted(events, key=lambda e: (e.start, e.kind))


def find_defects(analysis: CallAnalysis, standard: Standard, phrases: PhraseBook | None = None) -> list[Event]:
    """Service defects and recoveries on one call (does not change ``analysis``)."""
    return detect(call_context(analysis, standard, phrases))
