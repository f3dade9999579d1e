"""Empathy after customer negativity: when the customer turns negative, the agent acknowledges it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.score.checks.phrases import find_any
from engine.score.context import CallContext, CheckSpec, Outcome, at
from engine.score.emotion_cues import is_negative


def negative_moments(ctx: CallContext, text_cues: list[str]) -> list[int]:
    """First customer turn of each negative stretch: by emotion when judged, else by complaint words."""
    if ctx.emotion_assessed:
        flags = [(i, is_negative(ctx.turns[i].emotion, ctx)) for i in ctx.by_role["customer"]]
    else:
        cued = {t for h in find_any(ctx, text_cues, "customer") for t in h.turns}
        flags = [(i, i in cued) for i in ctx.by_role["customer"]]
    moments, previous = [], False
    for i, negative in flags:
        if negative and not previous:
            moments.append(i)
        previous = negative
    return moments


class EmpathyAfterNegativity(CheckSpec):
    """Within the agent's next ``within_turns`` turns after customer negativity, an empathy phrase."""

    type: Literal["empathy_after_negativity"]
    phrases: list[str] = Field(default_factory=lambda: ["empathy"])
    text_cues: list[str] = Field(default_factory=lambda: ["complaint"],
                                 description="customer negativity by words, when no emotion was judged")
    within_turns: int = Field(2, ge=1)

    def phrase_lists(self) -> list[str]:
        return [*self.phrases, *self.text_cues]

    def run(self, ctx: CallContext) -> Outcome:
        moments = negative_moments(ctx, self.text_cues)
        if not moments:
            return Outcome(1.0, "the customer was never negative, so no empathy was called for")
        missed, evidence = [], []
        for i in moments:
            after = [a for a in ctx.by_role["agent"] if ctx.turns[a].start >= ctx.turns[i].start][: self.within_turns]
            hits = [h for a in after for h in find_any(ctx, self.phrases, "agent", ctx.turns[a].start,
                                                       ctx.turns[a].end)]
            if hits:
                evidence.append(ctx.hit_evidence(hits[0]))
            else:
                missed.append(i)
                evidence.append(ctx.evidence(i))
        fraction = 1 - len(missed) / len(moments)
        if not missed:
            return Outcome(1.0, f"empathy after customer negativity: {at(evidence[0])}", evidence)
        first = ctx.evidence(missed[0])
        text = f"no empathy after the customer's negativity at {at(first)}"
        if len(moments) > 1:
            text += f"; {len(moments) - len(missed)} of {len(moments)} negative moments acknowledged"
        return Outcome(fraction, text, evidence)
