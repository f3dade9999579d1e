"""Phrase checks: said (in a time window), never said, said before something else."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from engine.score.context import CallContext, CheckSpec, Outcome, RoleName, at, clock, graded, quote
from engine.score.phrases import PhraseHit


def window(ctx: CallContext, first_seconds: float | None, last_seconds: float | None) -> tuple[float, float]:
    """The stretch a check looks at, from the first or the last speech of the call."""
    if first_seconds is not None:
        return ctx.speech_start, ctx.speech_start + first_seconds
    if last_seconds is not None:
        return ctx.speech_end - last_seconds, ctx.speech_end
    return 0.0, float("inf")


def find_any(ctx: CallContext, lists: list[str], role: str, start: float = 0.0,
             end: float = float("inf")) -> list[PhraseHit]:
    hits = [h for key in lists for h in ctx.matcher.find(key, role, start, end)]
    return sorted(hits, key=lambda h: h.start)


def first_unverified(ctx: CallContext, first: list[str], then: list[str], role: str,
                     then_role: str) -> tuple[PhraseHit | None, PhraseHit | None]:
    """(the first ``then`` hit, the first ``first`` hit); the pair is in order when the second comes first."""
    then_hits = find_any(ctx, then, then_role)
    first_hits = find_any(ctx, first, role)
    return (then_hits[0] if then_hits else None), (first_hits[0] if first_hits else None)


class _PhraseSpec(CheckSpec):
    phrases: list[str] = Field(min_length=1, description="phrase lists (configs/phrases/<set>.<language>.yaml)")
    role: RoleName = "agent"
    first_seconds: float | None = Field(None, gt=0, description="only in the first N s of speech")
    last_seconds: float | None = Field(None, gt=0, description="only in the last N s of speech")
    what: str = Field("", description="what the phrases are, for explanations (default: the list names)")

    @model_validator(mode="after")
    def _one_window(self) -> _PhraseSpec:
        if self.first_seconds is not None and self.last_seconds is not None:
            raise ValueError("give first_seconds or last_seconds, not both")
        return self

    def phrase_lists(self) -> list[str]:
        return list(self.phrases)

    @property
    def noun(self) -> str:
        return self.what or " / ".join(p.replace("_", " ") for p in self.phrases)

    def where(self) -> str:
        if self.first_seconds is not None:
            return f" in the first {self.first_seconds:g} s"
        if self.last_seconds is not None:
            return f" in the last {self.last_seconds:g} s"
        return ""


class PhrasePresent(_PhraseSpec):
    """The role says one of the phrases (at least ``min_count`` times) within the window."""

    type: Literal["phrase_present"]
    min_count: int = Field(1, ge=1)

    def run(self, ctx: CallContext) -> Outcome:
        start, end = window(ctx, self.first_seconds, self.last_seconds)
        hits = find_any(ctx, self.phrases, self.role, start, end)
        evidence = [ctx.hit_evidence(h) for h in hits[:5]]
        if len(hits) >= self.min_count:
            more = f" ({len(hits)} times)" if len(hits) > 1 else ""
            return Outcome(1.0, f"{self.noun} from the {self.role}{self.where()}: {at(evidence[0])}{more}", evidence)
        turns = [i for i in ctx.by_role.get(self.role, []) if ctx.turns[i].start < end and ctx.turns[i].end > start]
        if not hits:
            if not turns:
                return Outcome(0.0, f"no {self.noun}: the {self.role} did not speak{self.where()}")
            nearest = turns[-1] if self.last_seconds is not None else turns[0]
            said = ctx.evidence(nearest)
            return Outcome(0.0, f"no {self.noun} from the {self.role}{self.where()}; at {clock(said.start)} "
                                f"they said {quote(said.words)}", [said])
        return Outcome(len(hits) / self.min_count,
                       f"{self.noun} {len(hits)} of {self.min_count} times{self.where()}, first at {at(evidence[0])}",
                       evidence)


class PhraseAbsent(_PhraseSpec):
    """The role never says any of the phrases (prohibited phrases, self-contradictions …)."""

    type: Literal["phrase_absent"]
    allowed: int = Field(0, ge=0)
    penalty: float = Field(1.0, gt=0, le=1, description="taken off per occurrence beyond the allowed")

    def run(self, ctx: CallContext) -> Outcome:
        start, end = window(ctx, self.first_seconds, self.last_seconds)
        hits = find_any(ctx, self.phrases, self.role, start, end)
        evidence = [ctx.hit_evidence(h) for h in hits]
        if not hits:
            return Outcome(1.0, f"no {self.noun} from the {self.role}{self.where()}")
        listed = "; ".join(at(e) for e in evidence[:3]) + (" …" if len(hits) > 3 else "")
        return Outcome(graded(len(hits), self.allowed, self.penalty),
                       f"{self.noun} from the {self.role} {len(hits)} time{'s' if len(hits) > 1 else ''}: {listed}",
                       evidence)


class PhraseBefore(CheckSpec):
    """``first`` (e.g. identity verification) comes before ``then`` (e.g. account details)."""

    type: Literal["phrase_before"]
    first: list[str] = Field(min_length=1)
    then: list[str] = Field(min_length=1)
    role: RoleName = "agent"
    then_role: RoleName = "any"
    what_first: str = "verification"
    what_then: str = "account details"
    if_absent: Literal["pass", "not_assessed"] = Field(
        "not_assessed", description="when ``then`` never comes up: a pass, or left out of the score"
    )

    def phrase_lists(self) -> list[str]:
        return [*self.first, *self.then]

    def run(self, ctx: CallContext) -> Outcome:
        then_hit, first_hit = first_unverified(ctx, self.first, self.then, self.role, self.then_role)
        if then_hit is None:
            reason = f"no {self.what_then} came up, so no {self.what_first} was needed"
            return Outcome(1.0, reason) if self.if_absent == "pass" else Outcome.not_assessed(reason)
        then_ev = ctx.hit_evidence(then_hit)
        if first_hit is not None and first_hit.start <= then_hit.start:
            first_ev = ctx.hit_evidence(first_hit)
            return Outcome(1.0, f"{self.what_first} at {at(first_ev)} before {self.what_then} at "
                                f"{clock(then_ev.start)}", [first_ev, then_ev])
        late = f" (only later, at {clock(first_hit.start)})" if first_hit else ""
        return Outcome(0.0, f"{self.what_then} at {at(then_ev)} without {self.what_first} first{late}", [then_ev])
