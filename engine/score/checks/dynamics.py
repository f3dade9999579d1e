"""Dynamics checks: talk ratio, speaking rate and its steadiness, hesitations, silence, hold etiquette."""

from __future__ import annotations

import itertools
import statistics
from typing import Literal

from pydantic import Field, model_validator

from engine.record import Evidence
from engine.score.context import CallContext, CheckSpec, Outcome, RoleName, at, clock, graded
from engine.score.phrases import count_units
from engine.score.timeline import holds, speaking_rate, speech_gaps, talk_share, turn_rate


def _band(value: float, low: float, high: float, slack: float) -> float:
    """1 inside [low, high], falling linearly to 0 at ``slack`` (relative) outside it."""
    if low <= value <= high:
        return 1.0
    edge = low if value < low else high
    return max(0.0, 1 - abs(value - edge) / (slack * edge if edge else 1.0))


class TalkRatio(CheckSpec):
    """The role's share of the speech stays within [min_share, max_share]."""

    type: Literal["talk_ratio"]
    role: RoleName = "agent"
    min_share: float = Field(0.25, ge=0, le=1)
    max_share: float = Field(0.70, ge=0, le=1)
    slack: float = Field(0.5, gt=0, description="relative distance outside the band at which the score is 0")

    def run(self, ctx: CallContext) -> Outcome:
        share = talk_share(ctx, self.role)
        if share is None:
            return Outcome.not_assessed("nobody spoke")
        fraction = _band(share, self.min_share, self.max_share, self.slack)
        band = f"{self.min_share:.0%}–{self.max_share:.0%}"
        if fraction == 1.0:
            return Outcome(1.0, f"the {self.role} talked {share:.0%} of the time (within {band})")
        other = "customer" if self.role == "agent" else "agent"
        longest_role = self.role if share > self.max_share else other
        turns = ctx.by_role.get(longest_role, [])
        evidence = [ctx.evidence(max(turns, key=lambda i: ctx.turns[i].end - ctx.turns[i].start))] if turns else []
        return Outcome(fraction, f"the {self.role} talked {share:.0%} of the time (expected {band})", evidence)


class SpeakingRate(CheckSpec):
    """Words (Mandarin: characters) per minute within the language's range, and steady from turn to turn."""

    type: Literal["speaking_rate"]
    role: RoleName = "agent"
    range: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"en": (110.0, 200.0), "zh": (160.0, 330.0)},
        description="language -> (slowest, fastest) per minute",
    )
    max_variation: float = Field(0.35, gt=0, description="coefficient of variation of per-turn rates")
    min_units: int = Field(5, ge=1, description="turns shorter than this are too short to time")
    slack: float = Field(0.3, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> SpeakingRate:
        for language, (low, high) in self.range.items():
            if not 0 < low < high:
                raise ValueError(f"range.{language}: expected 0 < slowest < fastest, got ({low}, {high})")
        return self

    def run(self, ctx: CallContext) -> Outcome:
        if ctx.language not in self.range:
            return Outcome.not_assessed(f"no speaking-rate range for language {ctx.language!r}")
        timed = [i for i in ctx.by_role.get(self.role, [])
                 if count_units(ctx.turns[i].text, ctx.language) >= self.min_units]
        rates = {i: r for i in timed if (r := turn_rate(ctx, i)) is not None}
        if not rates:
            return Outcome.not_assessed(f"no {self.role} turn long enough to time")
        low, high = self.range[ctx.language]
        unit = "characters" if ctx.language == "zh" else "words"
        rate = speaking_rate(ctx, self.role) or statistics.fmean(rates.values())
        in_range = _band(rate, low, high, self.slack)
        values = list(rates.values())
        variation = statistics.pstdev(values) / statistics.fmean(values) if len(values) > 1 else 0.0
        excess = max(0.0, variation - self.max_variation)
        steady = max(0.0, 1 - excess / self.max_variation)
        fastest, slowest = max(rates, key=rates.__getitem__), min(rates, key=rates.__getitem__)
        text = f"{rate:.0f} {unit}/min (expected {low:g}–{high:g}), turn-to-turn variation {variation:.0%}"
        if in_range == 1.0 and steady == 1.0:
            return Outcome(1.0, text)
        evidence = [ctx.evidence(fastest if rate > high or steady < 1 else slowest)]
        if steady < 1:
            evidence.append(ctx.evidence(slowest))
        return Outcome(min(in_range, steady), text + (" — too uneven" if steady < 1 else ""), evidence)


class Hesitation(CheckSpec):
    """Few fillers ("um", 嗯) per 100 words and no long pauses inside a turn."""

    type: Literal["hesitation"]
    role: RoleName = "agent"
    fillers: list[str] = Field(default_factory=lambda: ["filler"])
    max_fillers_per_100: float = Field(4.0, ge=0)
    max_pause_seconds: float = Field(2.0, gt=0, description="between two words of one turn (needs word times)")
    penalty: float = Field(0.25, gt=0, le=1, description="per long pause, and per filler over the rate")

    def phrase_lists(self) -> list[str]:
        return list(self.fillers)

    def run(self, ctx: CallContext) -> Outcome:
        turns = ctx.by_role.get(self.role, [])
        units = sum(count_units(ctx.turns[i].text, ctx.language) for i in turns)
        if not units:
            return Outcome.not_assessed(f"the {self.role} said nothing")
        fillers = [h for key in self.fillers for h in ctx.matcher.find(key, self.role)]
        rate = 100 * len(fillers) / units
        allowed = int(self.max_fillers_per_100 * units / 100)
        pauses: list[Evidence] = []
        words = ctx.analysis.transcript.words if ctx.analysis.transcript else []
        for i in turns:
            timed = [words[k] for k in ctx.turns[i].word_indices if 0 <= k < len(words)]
            for a, b in itertools.pairwise(timed):
                if b.start - a.end >= self.max_pause_seconds:
                    pauses.append(Evidence(start=a.start, end=b.end, speaker=ctx.turns[i].speaker,
                                           words=f"{a.text} … {b.text}"))
        fraction = min(graded(len(fillers), allowed, self.penalty), graded(len(pauses), 0, self.penalty))
        evidence = pauses[:3] + [ctx.hit_evidence(h) for h in fillers[:3]]
        text = f"{len(fillers)} filler{'s' if len(fillers) != 1 else ''} ({rate:.1f} per 100 words, " \
               f"allowed {self.max_fillers_per_100:g})"
        if pauses:
            text += f"; {len(pauses)} pause{'s' if len(pauses) > 1 else ''} of {self.max_pause_seconds:g} s or more " \
                    f"mid-sentence, first at {clock(pauses[0].start)}"
        return Outcome(fraction, text, evidence if fraction < 1 else [])


class SilenceShare(CheckSpec):
    """Silences of ``min_gap_seconds`` or more take at most ``max_share`` of the call (holds excluded)."""

    type: Literal["silence_share"]
    min_gap_seconds: float = Field(2.0, gt=0)
    max_share: float = Field(0.15, gt=0, le=1)
    slack: float = Field(1.0, gt=0)

    def run(self, ctx: CallContext) -> Outcome:
        span = ctx.speech_end - ctx.speech_start
        if span <= 0:
            return Outcome.not_assessed("no speech")
        held = [(h.start, h.end) for h in holds(ctx)]
        gaps = [g for g in speech_gaps(ctx) if g.seconds >= self.min_gap_seconds
                and not any(g.start < e and g.end > s for s, e in held)]
        share = sum(g.seconds for g in gaps) / span
        text = f"silence {share:.0%} of the call in {len(gaps)} gap{'s' if len(gaps) != 1 else ''} " \
               f"(at most {self.max_share:.0%})"
        fraction = _band(share, 0.0, self.max_share, self.slack)
        longest = sorted(gaps, key=lambda g: -g.seconds)[:3]
        return Outcome(fraction, text, [Evidence(start=g.start, end=g.end) for g in longest] if fraction < 1 else [])


class HoldEtiquette(CheckSpec):
    """Each hold is asked for before and thanked for after."""

    type: Literal["hold_etiquette"]

    def phrase_lists(self) -> list[str]:
        return ["hold_request", "hold_thanks"]

    def run(self, ctx: CallContext) -> Outcome:
        found = holds(ctx)
        if not found:
            return Outcome(1.0, "no hold in this call")
        points, evidence, faults = 0.0, [], []
        for hold in found:
            evidence.append(Evidence(start=hold.start, end=hold.end, words=""))
            for hit, what in ((hold.asked, "asked before"), (hold.thanked, "thanked after")):
                if hit is not None:
                    points += 0.5
                    evidence.append(ctx.hit_evidence(hit))
                else:
                    faults.append(f"hold at {clock(hold.start)} not {what}")
        fraction = points / len(found)
        if not faults:
            first = next(e for e in evidence if e.words)
            return Outcome(1.0, f"{len(found)} hold{'s' if len(found) > 1 else ''}, each asked for and thanked "
                                f"({at(first)})", evidence)
        return Outcome(fraction, "; ".join(faults), evidence)
