"""The record that flows: one typed, JSON-serialisable ``CallAnalysis`` per call.

Every stage reads the parts filled by the stages before it and adds its own; nothing goes back
upstream. The JSON form carries ``schema_version`` so that stored analyses can be read by later
releases (``CallAnalysis.from_json`` refuses a major version it does not know).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

Role = Literal["agent", "customer", "unknown"]


class Record(BaseModel):
    """Base for every record: unknown keys are an error, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class CallInfo(Record):
    """Facts about the recording itself, known before any model runs."""

    call_id: str
    source: str
    content_hash: str = Field(description="sha256 of the file's bytes")
    duration: float = Field(description="seconds")
    sample_rate: int = Field(description="the file's own rate, before resampling to 16 kHz")
    channels: int = Field(description="channels kept for analysis (a dead channel is dropped)")
    source_channels: int = Field(description="channels in the file")
    codec: str = ""
    container: str = ""
    metadata: dict[str, str] = Field(default_factory=dict, description="agent id, team, start time …")
    warnings: list[str] = Field(default_factory=list)
    gain_db: float = Field(0.0, description="gain applied before analysis to bring speech to the target level")


class Word(Record):
    """One recognised word (for Mandarin: one token, usually one to three characters)."""

    text: str
    start: float
    end: float
    probability: float
    channel: int = 0
    speaker: str | None = None


class Segment(Record):
    """One decoded ASR segment on one channel."""

    channel: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


class Transcript(Record):
    """What the ASR stage produced for the whole call."""

    language: str
    language_probability: float
    model: str
    words: list[Word] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)

    @property
    def text(self) -> str:
        joiner = "" if self.language == "zh" else " "
        return joiner.join(s.text.strip() for s in sorted(self.segments, key=lambda s: (s.start, s.channel)))


class Emotion(Record):
    """A fused emotion judgement for one turn (or one clip)."""

    label: str
    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    scores: dict[str, float] = Field(default_factory=dict)
    signals: dict[str, dict[str, float | str]] = Field(
        default_factory=dict, description="what each signal (text, prosody, voice model) said"
    )


class Turn(Record):
    """A stretch of one speaker's speech, with the words said in it."""

    speaker: str
    role: Role = "unknown"
    start: float
    end: float
    text: str
    channel: int | None = None
    word_indices: list[int] = Field(default_factory=list, description="indices into transcript.words")
    emotion: Emotion | None = None


class RoleDecision(Record):
    """Which speaker is the agent, and why."""

    speaker: str
    role: Role
    confidence: float
    reason: str


class TrajectoryPoint(Record):
    time: float
    valence: float
    arousal: float
    label: str


class Evidence(Record):
    """Concrete evidence: a time range into the audio and the words said there."""

    start: float
    end: float
    speaker: str | None = None
    words: str = ""


class Event(Record):
    """A notable moment: interruption, dead air, escalation, defect, recovery …"""

    kind: str
    severity: Literal["info", "low", "medium", "high", "critical"] = "info"
    start: float
    end: float
    speaker: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    detail: str = ""
    confidence: float | None = Field(None, ge=0.0, le=1.0, description="how sure the detector is, where it says")
    signals: dict[str, str] = Field(
        default_factory=dict, description="what each signal said at the evidence (emotion events: words, voice)"
    )


class ScorecardItem(Record):
    item_id: str
    section: str
    title: str
    score: float
    max_score: float
    weight: float
    passed: bool
    critical: bool = False
    fatal: bool = False
    explanation: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class Scorecard(Record):
    standard_id: str
    standard_version: str
    items: list[ScorecardItem] = Field(default_factory=list)
    sections: dict[str, float] = Field(default_factory=dict)
    total: float = 0.0
    verdict: str = ""


class StageTiming(Record):
    stage: str
    seconds: float


class RedactedSpan(Record):
    """Where an entity was masked: its type and place, never its value."""

    entity: str
    start: float
    end: float
    channel: int | None = None


class Redaction(Record):
    """What redaction did to this call: counts per entity type, the spans, the redacted audio copy."""

    counts: dict[str, int] = Field(default_factory=dict)
    spans: list[RedactedSpan] = Field(default_factory=list)
    audio: str | None = Field(None, description="path of the redacted copy of the recording")


class CallAnalysis(Record):
    """Everything the engine knows about one call."""

    schema_version: str = SCHEMA_VERSION
    call: CallInfo
    config_hash: str = ""
    transcript: Transcript | None = None
    turns: list[Turn] = Field(default_factory=list)
    roles: list[RoleDecision] = Field(default_factory=list)
    dynamics: dict[str, float | int | str | dict[str, float]] = Field(default_factory=dict)
    trajectories: dict[str, list[TrajectoryPoint]] = Field(default_factory=dict)
    events: list[Event] = Field(default_factory=list)
    scorecard: Scorecard | None = None
    redaction: Redaction | None = Field(None, description="set when redaction was on")
    timings: list[StageTiming] = Field(default_factory=list)

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> CallAnalysis:
        analysis = cls.model_validate_json(text)
        major = analysis.schema_version.split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"analysis has schema version {analysis.schema_version}; this release reads {SCHEMA_VERSION}"
            )
        return analysis

    def timing(self, stage: str) -> float | None:
        return next((t.seconds for t in self.timings if t.stage == stage), None)
