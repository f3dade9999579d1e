"""Emotion outcome: did the customer end the call in a better (or no worse) state than they began?"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.score.context import CallContext, CheckSpec, Outcome, clock
from engine.score.emotion_cues import mean_valence


class EmotionOutcome(CheckSpec):
    """The role's mean valence over its last turns against its first turns (not assessed without emotion)."""

    type: Literal["emotion_outcome"]
    role: Literal["agent", "customer"] = "customer"
    edge_turns: int = Field(2, ge=1, description="turns averaged at the start and at the end")
    tolerance: float = Field(0.15, ge=0, description="a drop this small still counts as no worse")

    def run(self, ctx: CallContext) -> Outcome:
        if not ctx.emotion_assessed:
            return Outcome.not_assessed("the emotion stage did not run on this call")
        start = mean_valence(ctx, self.role, True, self.edge_turns)
        end = mean_valence(ctx, self.role, False, self.edge_turns)
        if start is None or end is None:
            return Outcome.not_assessed(f"no {self.role} turn carries an emotion")
        (v0, first), (v1, last) = start, end
        evidence = [ctx.evidence(first[0]), ctx.evidence(last[-1])]
        trend = (f"{self.role} valence {v0:+.2f} at the start → {v1:+.2f} at the end "
                 f"({clock(ctx.turns[last[-1]].start)})")
        if v1 <= ctx.settings.negative_valence:
            return Outcome(0.0, f"{trend}: still negative at the end", evidence)
        if v1 >= v0 - self.tolerance:
            return Outcome(1.0, f"{trend}: " + ("better" if v1 > v0 + self.tolerance else "no worse"), evidence)
        return Outcome(0.5, f"{trend}: worse than at the start", evidence)
