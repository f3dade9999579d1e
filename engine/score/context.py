"""What every check shares: its YAML spec base, the call it looks at, and what it answers.

A check answers a fraction in [0, 1] (1 = fully met) with a one-line explanation and the evidence
behind it, or ``None`` when it cannot be assessed on this call (the emotion stage did not run, say):
"not assessed" is not a failure, and the scorecard leaves such an item out of its sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from engine.record import CallAnalysis, Event, Evidence, Turn
from engine.score.phrases import PhraseHit, PhraseMatcher

if TYPE_CHECKING:
    from engine.score.standard import DetectionSettings

RoleName = Literal["agent", "customer", "any"]


class CheckSpec(BaseModel):
    """Base of every check's YAML form; each subclass fixes ``type``."""

    model_config = ConfigDict(extra="forbid")

    def phrase_lists(self) -> list[str]:
        """Names of the phrase lists this check reads (validated against each language's phrase file)."""
        return []


@dataclass
class Outcome:
    """What one check found on one call."""

    fraction: float | None
    explanation: str
    evidence: list[Evidence] = field(default_factory=list)

    @classmethod
    def not_assessed(cls, reason: str) -> Outcome:
        return cls(None, f"not assessed: {reason}")


@dataclass
class CallContext:
    """One call as the checks and defect detectors see it, with shared, cached look-ups."""

    analysis: CallAnalysis
    matcher: PhraseMatcher
    settings: DetectionSettings
    defects: list[Event] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.matcher.language

    @property
    def turns(self) -> list[Turn]:
        return self.analysis.turns

    @cached_property
    def by_role(self) -> dict[str, list[int]]:
        roles: dict[str, list[int]] = {"agent": [], "customer": [], "any": []}
        for i, turn in enumerate(self.turns):
            roles.setdefault(turn.role, []).append(i)
            roles["any"].append(i)
        return roles

    @cached_property
    def speaker_roles(self) -> dict[str, str]:
        mapping = {d.speaker: d.role for d in self.analysis.roles}
        for turn in self.turns:
            mapping.setdefault(turn.speaker, turn.role)
        return mapping

    @cached_property
    def speech_start(self) -> float:
        return min((t.start for t in self.turns), default=0.0)

    @cached_property
    def speech_end(self) -> float:
        return max((t.end for t in self.turns), default=self.analysis.call.duration)

    @cached_property
    def emotion_assessed(self) -> bool:
        """The emotion stage ran on this call (some turn carries an emotion)."""
        return any(t.emotion is not None for t in self.turns)

    def evidence(self, index: int) -> Evidence:
        turn = self.turns[index]
        return Evidence(start=turn.start, end=turn.end, speaker=turn.speaker, words=turn.text)

    def hit_evidence(self, hit: PhraseHit) -> Evidence:
        return hit.evidence(self.turns[hit.turns[0]].speaker)

    def role_of(self, speaker: str | None) -> str:
        return self.speaker_roles.get(speaker or "", "unknown")

    def previous_turn(self, index: int, role: str) -> int | None:
        """The last turn of ``role`` that started before turn ``index``."""
        start = self.turns[index].start
        best = None
        for i in self.by_role.get(role, []):
            if i != index and self.turns[i].start <= start:
                best = i
        return best


def clock(seconds: float) -> str:
    """A time a QA lead finds in an audio player: 1:05.2."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[:limit - 1] + '…'}”"


def at(evidence: Evidence) -> str:
    """Where and what: “0:03.1 “thank you for calling””."""
    return f"{clock(evidence.start)} {quote(evidence.words)}" if evidence.words else clock(evidence.start)


def graded(count: int, allowed: int, penalty: float) -> float:
    """1 up to ``allowed`` occurrences, then ``penalty`` off for each one more, never below 0."""
    return max(0.0, 1.0 - max(0, count - allowed) * penalty)
