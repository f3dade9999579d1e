"""What the emotion stage's per-turn judgements mean for service: negativity, anger the agent caused,
composure lost, escalation left unresolved, and the agent's turn that calmed the customer.

Per-turn emotions (``Turn.emotion``) are the input. The emotion stage's own events ("escalation",
"de_escalation", "agent_deterioration") are preferred for what they name when that stage emitted
events at all; without any emotion on the turns, nothing here is assessed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from engine.record import Emotion, Event
from engine.score.context import CallContext

EMOTION_KINDS = frozenset({"escalation", "de_escalation", "agent_deterioration"})


def emotion_events_ran(ctx: CallContext) -> bool:
    return bool(ctx.analysis.trajectories) or any(e.kind in EMOTION_KINDS for e in ctx.analysis.events)


def is_negative(emotion: Emotion | None, ctx: CallContext) -> bool:
    s = ctx.settings
    return emotion is not None and (emotion.label in s.negative_labels or emotion.valence <= s.negative_valence)


def is_escalated(emotion: Emotion | None, ctx: CallContext) -> bool:
    """Negative and heated: what a supervisor would call an escalation."""
    return is_negative(emotion, ctx) and (emotion is not None and (
        emotion.label in ctx.settings.escalation_labels or emotion.arousal >= ctx.settings.escalation_arousal))


def _judged(ctx: CallContext, role: str) -> list[int]:
    return [i for i in ctx.by_role.get(role, []) if ctx.turns[i].emotion is not None]


@dataclass(frozen=True)
class Angering:
    """The customer turned negative right after agent turn ``agent``."""

    agent: int
    customer: int
    before: int


def angered_customer(ctx: CallContext) -> list[Angering]:
    """Customer turns whose negativity or arousal jumps right after an agent turn (that agent turn is the
    evidence). The customer's first turn is excluded: a customer who calls in upset was not angered by the
    greeting.

    When the emotion stage ran, its escalations are the jumps (a customer turn turned negative, or more
    negative or aroused, against a calmer recent turn); otherwise a valence drop into negativity is.
    """
    s = ctx.settings
    judged = _judged(ctx, "customer")
    if not judged:
        return []
    if emotion_events_ran(ctx):
        jumps = []
        for e in ctx.analysis.events:
            if e.kind != "escalation" or ctx.role_of(e.speaker) not in ("customer", "unknown"):
                continue
            now = min(judged, key=lambda i: abs(ctx.turns[i].start - e.start))
            earlier = [i for i in judged if ctx.turns[i].start < ctx.turns[now].start]
            if earlier:
                jumps.append((earlier[-1], now))
    else:
        jumps = []
        for before, now in itertools.pairwise(judged):
            prev, cur = ctx.turns[before].emotion, ctx.turns[now].emotion
            assert prev is not None and cur is not None
            if is_negative(cur, ctx) and not is_negative(prev, ctx) and \
                    prev.valence - cur.valence >= s.anger_jump_valence:
                jumps.append((before, now))
    found: list[Angering] = []
    for before, now in jumps:
        agent = ctx.previous_turn(now, "agent")
        if agent is None or ctx.turns[agent].start < ctx.turns[before].start:
            continue  # no agent turn between the customer's two turns: not a reaction to the agent
        if ctx.turns[now].start - ctx.turns[agent].end <= s.reaction_seconds:
            found.append(Angering(agent, now, before))
    return found


@dataclass(frozen=True)
class Lapse:
    """The agent lost composure from ``start`` to ``end``, first at agent turn ``turn``; ``source`` is the
    emotion stage's event that found it (its severity, confidence and signals), where it ran."""

    start: float
    end: float
    turn: int
    source: Event | None = None


def composure_lapses(ctx: CallContext) -> list[Lapse]:
    """Where the agent's own emotion turned hostile (the emotion stage's deteriorations when it ran)."""
    s = ctx.settings
    if emotion_events_ran(ctx):
        lapses = []
        for e in ctx.analysis.events:
            if e.kind == "agent_deterioration":
                turn = next((i for i in ctx.by_role["agent"] if ctx.turns[i].end > e.start), None)
                if turn is not None:
                    lapses.append(Lapse(e.start, e.end, turn, e))
        return lapses
    return [Lapse(ctx.turns[i].start, ctx.turns[i].end, i) for i in _judged(ctx, "agent")
            if (emotion := ctx.turns[i].emotion) is not None
            and (emotion.label in s.agent_hostile_labels
                 or (emotion.valence <= s.agent_hostile_valence and emotion.arousal >= s.agent_hostile_arousal))]


def customer_escalations(ctx: CallContext) -> list[int]:
    """Customer turns where the customer escalated (the emotion stage's events when it emitted any)."""
    if emotion_events_ran(ctx):
        starts = [e.start for e in ctx.analysis.events
                  if e.kind == "escalation" and ctx.role_of(e.speaker) in ("customer", "unknown")]
        customer = ctx.by_role["customer"]
        return sorted({min(customer, key=lambda i: abs(ctx.turns[i].start - t)) for t in starts} if customer else set())
    return [i for i in _judged(ctx, "customer") if is_escalated(ctx.turns[i].emotion, ctx)]


@dataclass(frozen=True)
class Recovery:
    """The customer went from ``negative`` to ``calm``; agent turn ``turning_point`` came between."""

    negative: int
    calm: int
    turning_point: int


def recoveries(ctx: CallContext) -> list[Recovery]:
    """Negative → neutral/positive customer transitions that hold (the next judged customer turn, if any,
    is not negative again); the turning point is the agent's last turn before the calm one."""
    found = []
    judged = _judged(ctx, "customer")
    if emotion_events_ran(ctx):
        for e in ctx.analysis.events:
            if e.kind != "de_escalation" or ctx.role_of(e.speaker) not in ("customer", "unknown"):
                continue
            calm = next((i for i in judged if ctx.turns[i].end > e.start), None)
            negative = next((i for i in reversed(judged) if calm is not None and i < calm
                             and is_negative(ctx.turns[i].emotion, ctx)), None)
            agent = ctx.previous_turn(calm, "agent") if calm is not None else None
            if calm is not None and negative is not None and agent is not None:
                found.append(Recovery(negative, calm, agent))
        return found
    for k in range(1, len(judged)):
        before, now = judged[k - 1], judged[k]
        if not is_negative(ctx.turns[before].emotion, ctx) or is_negative(ctx.turns[now].emotion, ctx):
            continue
        if k + 1 < len(judged) and is_negative(ctx.turns[judged[k + 1]].emotion, ctx):
            continue
        agent = ctx.previous_turn(now, "agent")
        if agent is not None and ctx.turns[agent].start >= ctx.turns[before].start:
            found.append(Recovery(before, now, agent))
    return found


def end_state_negative(ctx: CallContext) -> int | None:
    """The customer's last judged turn, when it is still negative."""
    judged = _judged(ctx, "customer")
    return judged[-1] if judged and is_negative(ctx.turns[judged[-1]].emotion, ctx) else None


def mean_valence(ctx: CallContext, role: str, first: bool, turns: int) -> tuple[float, list[int]] | None:
    judged = _judged(ctx, role)
    if not judged:
        return None
    chosen = judged[:turns] if first else judged[-turns:]
    return sum(ctx.turns[i].emotion.valence for i in chosen) / len(chosen), chosen  # type: ignore[union-attr]
