"""What every check shares: its YAML spec base, the detection thresholds, the call it looks at, and what it answers.

A check answers a fraction in [0, 1] (1 = fully met) with a one-line explanation and the evidence
behind it, or ``None`` when it cannot be assessed on this call (the emotion stage did not run, say):
"not assessed" is not a failure, and the scorecard leaves such an item out of its sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.record import CallAnalysis, Event, Evidence, Turn
from engine.score.phrases import PhraseHit, PhraseMatcher

RoleName = Literal["agent", "customer", "any"]
Severity = Literal["info", "low", "medium", "high", "critical"]


class CheckSpec(BaseModel):
    """Base of every check's YAML form; each subclass fixes ``type``."""

    model_config = ConfigDict(extra="forbid")

    def phrase_lists(self) -> list[str]:
        """Names of the phrase lists this check reads (validated against each language's phrase file)."""
        return []


class DetectionSettings(BaseModel):
    """Thresholds of the service-defect and recovery detectors (the ``detection:`` block of a standard).

    Here, beside the call the checks see, because every check and detector reads them; the standard holds
    one (``engine.score.standard``).
    """

    model_config = ConfigDict(extra="forbid")

    greeting_within_seconds: float = Field(15.0, gt=0, description="the agent greets within this of the first speech")
    closing_within_seconds: float = Field(30.0, gt=0, description="the agent closes within this of the last speech")
    dead_air_seconds: float = Field(5.0, gt=0, description="a silence this long that is not a hold is dead air")
    hold_min_seconds: float = Field(10.0, gt=0, description="without diarization: a silence this long after a hold "
                                                             "request is a hold")
    hold_cue_window_seconds: float = Field(15.0, ge=0, description="the hold request comes at most this long before")
    hold_thanks_window_seconds: float = Field(15.0, ge=0, description="the thanks come at most this long after")
    min_overlap_seconds: float = Field(0.3, ge=0, description="shorter overlaps are ordinary turn-taking")
    backchannel_max_seconds: float = Field(1.2, gt=0, description="a cut-in this short …")
    backchannel_max_words: int = Field(3, ge=1, description="… with this few words is a backchannel, not an "
                                                            "interruption")
    negative_labels: list[str] = Field(default_factory=lambda: ["angry", "disgust", "sad", "fear", "frustrated"])
    negative_valence: float = Field(-0.35, ge=-1, le=1, description="a turn at or below this valence is negative")
    escalation_labels: list[str] = Field(default_factory=lambda: ["angry"])
    escalation_arousal: float = Field(0.6, ge=0, le=1, description="negative and this aroused is an escalation")
    anger_jump_valence: float = Field(0.4, gt=0, description="customer valence drop that counts as a jump")
    reaction_seconds: float = Field(4.0, ge=0, description="the jump comes at most this long after the agent's turn")
    agent_hostile_labels: list[str] = Field(default_factory=lambda: ["angry", "disgust"])
    agent_hostile_valence: float = Field(-0.5, ge=-1, le=1)
    agent_hostile_arousal: float = Field(0.6, ge=0, le=1)
    severity: dict[str, Severity] = Field(default_factory=lambda: {
        "missing_greeting": "medium", "missing_closing": "low", "missing_verification": "high",
        "prohibited_phrase": "high", "agent_interrupted_customer": "medium", "dead_air": "medium",
        "agent_angered_customer": "high", "agent_lost_composure": "high", "unresolved_escalation": "critical",
        "customer_calmed": "info",
    })


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
