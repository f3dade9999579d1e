"""Was the customer's problem solved, and were open questions followed up?"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.score.checks.phrases import find_any
from engine.score.context import CallContext, CheckSpec, Outcome, at, graded


class Resolution(CheckSpec):
    """Resolution cues (either party) against the customer's "still not working" cues: the later one wins."""

    type: Literal["resolution"]
    resolved: list[str] = Field(default_factory=lambda: ["resolved"])
    unresolved: list[str] = Field(default_factory=lambda: ["unresolved"])
    unclear_score: float = Field(0.5, ge=0, le=1, description="score when neither kind of cue is heard")

    def phrase_lists(self) -> list[str]:
        return [*self.resolved, *self.unresolved]

    def run(self, ctx: CallContext) -> Outcome:
        good = find_any(ctx, self.resolved, "any")
        bad = find_any(ctx, self.unresolved, "customer")
        if bad and (not good or bad[-1].start > good[-1].start):
            ev = ctx.hit_evidence(bad[-1])
            return Outcome(0.0, f"the customer still reports a problem at {at(ev)}", [ev])
        if good:
            ev = ctx.hit_evidence(good[-1])
            return Outcome(1.0, f"resolution confirmed at {at(ev)}", [ev])
        return Outcome(self.unclear_score, "no cue that the problem was resolved, nor that it was not")


class FollowUp(CheckSpec):
    """Every "I don't know" from the agent is followed by a promise to find out, within ``within_seconds``."""

    type: Literal["follow_up"]
    unknown: list[str] = Field(default_factory=lambda: ["dont_know"])
    follow_up: list[str] = Field(default_factory=lambda: ["follow_up"])
    within_seconds: float = Field(30.0, gt=0)
    penalty: float = Field(1.0, gt=0, le=1)

    def phrase_lists(self) -> list[str]:
        return [*self.unknown, *self.follow_up]

    def run(self, ctx: CallContext) -> Outcome:
        unknowns = find_any(ctx, self.unknown, "agent")
        if not unknowns:
            return Outcome(1.0, "the agent never answered with “I don't know”")
        open_ones = [h for h in unknowns
                     if not find_any(ctx, self.follow_up, "agent", h.start, h.end + self.within_seconds)]
        if not open_ones:
            ev = ctx.hit_evidence(unknowns[0])
            return Outcome(1.0, f"“I don't know” at {at(ev)} was followed up", [ev])
        evidence = [ctx.hit_evidence(h) for h in open_ones]
        return Outcome(graded(len(open_ones), 0, self.penalty),
                       f"“I don't know” without a follow-up at {at(evidence[0])}"
                       + (f" and {len(open_ones) - 1} more" if len(open_ones) > 1 else ""), evidence)
