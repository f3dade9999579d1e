"""Was the customer's problem solved, and were open questions followed up?

Resolution is read as a listener reads it: by the last word on the problem. A fix the agent commits to
or confirms ("I've arranged a replacement", "我已经为您退款") followed by the customer's acceptance ("that
sounds better, thank you", "好的，那就这样，谢谢") is resolved; a complaint or doubt from the customer that
nothing answers ("but how can I trust …", "这还是没解决") is not. The customer's "thank you" alone is
often mere politeness, so without a fix on record it settles nothing; and a complaint early in a long
call that the cue lists hear no answer to is left unclear rather than unresolved, because the agent may
have solved it in words no list holds (docs/resolution.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.record import Evidence
from engine.score.checks.phrases import find_any
from engine.score.context import CallContext, CheckSpec, Outcome, at, clock, graded
from engine.score.emotion_cues import end_state_negative
from engine.score.phrases import PhraseHit


def _overlaps(hit: PhraseHit, others: list[PhraseHit]) -> bool:
    return any(hit.start < o.end and o.start < hit.end for o in others)


class Resolution(CheckSpec):
    """An agreed fix (agent's fix, then the customer's acceptance) against a complaint left open: the later wins."""

    type: Literal["resolution"]
    fix: list[str] = Field(default_factory=lambda: ["fix"], description="the agent commits to / confirms a remedy")
    acceptance: list[str] = Field(default_factory=lambda: ["acceptance", "customer_thanks"],
                                  description="the customer accepts it")
    unresolved: list[str] = Field(default_factory=lambda: ["unresolved"],
                                  description="the customer's complaint or doubt")
    accept_within_seconds: float = Field(
        120.0, gt=0, description="the acceptance comes at most this long after the end of the fix")
    open_within_seconds: float = Field(
        45.0, gt=0, description="a complaint nothing answers is open when it ends this close to the last speech")
    negative_end_is_open: bool = Field(
        True, description="the customer still negative at the end (emotion stage), with no acceptance after, "
                          "is an open complaint too")
    unclear_score: float = Field(0.5, ge=0, le=1, description="score when neither kind of cue is heard")
    unaccepted_fix_score: float = Field(
        0.75, ge=0, le=1, description="score when the agent's fix is the last word but the customer never accepts it")

    def phrase_lists(self) -> list[str]:
        return [*self.fix, *self.acceptance, *self.unresolved]

    def _complaint(self, ctx: CallContext, complaints: list[PhraseHit]) -> tuple[float, Evidence, str] | None:
        """The customer's last complaint (in words, or a negative end heard in the voice): start, evidence, name."""
        found = [(h.start, ctx.hit_evidence(h), "complaint") for h in complaints[-1:]]
        if self.negative_end_is_open and ctx.emotion_assessed:
            index = end_state_negative(ctx)
            emotion = ctx.turns[index].emotion if index is not None else None
            if index is not None and emotion is not None:
                found.append((ctx.turns[index].start, ctx.evidence(index), f"{emotion.label} last turn"))
        return max(found, key=lambda f: f[0]) if found else None

    def _agreed(self, fixes: list[PhraseHit], acceptances: list[PhraseHit], complaints: list[PhraseHit]
                ) -> tuple[PhraseHit, PhraseHit] | None:
        """The last fix the customer accepted, and the acceptance that settled it (the first one after the fix
        and after any doubt raised in between: "excellent, thank you", not the goodbye's "thanks")."""
        last: tuple[PhraseHit, PhraseHit] | None = None
        for accepted in acceptances:
            before = [f for f in fixes if f.start < accepted.start
                      and accepted.start - f.end <= self.accept_within_seconds]
            if before:
                last = (before[-1], accepted)
        if last is None:
            return None
        fix, accepted = last
        doubts = [c.start for c in complaints if fix.start < c.start < accepted.start]
        settled_after = max([fix.end, *doubts])
        first = next((a for a in acceptances if a.start >= settled_after), accepted)
        # The fix as the agent first put it in that turn ("make arrangements …", not the "… send" at its end).
        fix = next(f for f in fixes if set(f.turns) & set(fix.turns))
        return fix, first

    def run(self, ctx: CallContext) -> Outcome:
        fixes = find_any(ctx, self.fix, "agent")
        complaints = find_any(ctx, self.unresolved, "customer")
        # "not happy" holds "happy", "不满意" holds "满意": words inside a complaint accept nothing.
        acceptances = [h for h in find_any(ctx, self.acceptance, "customer") if not _overlaps(h, complaints)]
        agreed = self._agreed(fixes, acceptances, complaints)
        complaint = self._complaint(ctx, complaints)

        if agreed is not None and (complaint is None or complaint[0] <= agreed[1].start):
            fix_ev, accept_ev = ctx.hit_evidence(agreed[0]), ctx.hit_evidence(agreed[1])
            return Outcome(1.0, f"the agent's fix at {at(fix_ev)} was accepted by the customer at {at(accept_ev)}",
                           [fix_ev, accept_ev])
        # A complaint is the last word when no acceptance of any kind comes after it.
        if complaint is not None and (not acceptances or complaint[0] > acceptances[-1].start):
            start, said, what = complaint
            answer = [f for f in fixes if f.start > start]
            if answer:
                fix_ev = ctx.hit_evidence(answer[-1])
                return Outcome(self.unaccepted_fix_score,
                               f"the agent answered the customer's {what} at {at(said)} with a fix at {at(fix_ev)}, "
                               "but the customer never accepted it", [said, fix_ev])
            if ctx.speech_end - said.end <= self.open_within_seconds:
                return Outcome(0.0, f"the customer's {what} at {at(said)} is left open at the end", [said])
            return Outcome(self.unclear_score, f"the customer's {what} at {at(said)} has no fix or acceptance "
                                               "after it, nor is it repeated at the end", [said])
        if fixes:
            fix_ev = ctx.hit_evidence(fixes[-1])
            return Outcome(self.unaccepted_fix_score,
                           f"the agent's fix at {at(fix_ev)}, but no acceptance from the customer within "
                           f"{self.accept_within_seconds:g} s after it", [fix_ev])
        if acceptances:
            accept_ev = ctx.hit_evidence(acceptances[-1])
            return Outcome(self.unclear_score, f"the customer's {at(accept_ev)} follows no fix on record "
                                               f"(none from the agent before {clock(accept_ev.start)})", [accept_ev])
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
