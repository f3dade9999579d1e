"""The typed records of the voice-case library: what crosses from promotion to annotation, grading, the
store, the command line, a web view and the export. JSON-serialisable, unknown keys refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from engine.cases.config import CaseKind
from engine.record import Evidence, Record

CaseStatus = Literal["candidate", "accepted", "rejected", "retired"]
Half = Literal["training", "test"]
QuestionKind = Literal["customer_tone_intent", "agent_answer_fault", "how_angered", "how_calmed",
                       "agent_deterioration", "agent_self_control"]
MarkKind = Literal["defect", "highlight"]
Change = Literal["first", "calmer", "more_negative", "steady"]


class PromotionReason(Record):
    """Why a call became a candidate: the rule, and the event (or the score) that met it."""

    rule: str
    kind: CaseKind
    event_kind: str = ""
    severity: str = "info"
    confidence: float | None = None
    detail: str = ""
    start: float = 0.0
    end: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)


class ReplyAct(Record):
    """What an agent reply was doing (acknowledging, apologising …), where, and whether it mattered."""

    act: str
    words: str
    rank: int = Field(description="1 = the act that mattered most in this reply")
    mattered: bool = False


class TurnNote(Record):
    """One turn of the annotated transcript."""

    index: int
    role: str
    speaker: str
    start: float
    end: float
    text: str
    emotion: str = "unknown"
    valence: float | None = None
    intent: list[str] = Field(default_factory=list, description="customer turns: intent list names")
    change: Change | None = Field(None, description="customer turns: against their previous turn")
    acts: list[ReplyAct] = Field(default_factory=list, description="agent turns, ranked")
    note: str = Field("", description="the trainer's own note on the turn")


class Mark(Record):
    """A defect or highlight on the transcript, with the check (event kind) that found it."""

    kind: MarkKind
    check: str
    turn: int | None
    start: float
    end: float
    severity: str = "info"
    label: str = ""
    detail: str = ""


class Background(Record):
    driver: str
    situation: str
    quote_turns: list[int] = Field(default_factory=list)


class CaseOutcome(Record):
    resolved: bool | None
    customer_left: str = Field(description="the emotion of the customer's last turns")
    valence: float | None = None
    summary: str = ""


class Question(Record):
    """A training question tied to a turn and a time, with the reference answer drawn from the evidence."""

    kind: QuestionKind
    turn: int
    time: float
    prompt: str
    reference_answer: str
    evidence: list[Evidence] = Field(default_factory=list)


class Annotation(Record):
    """A case's annotation, as drafted by the engine or edited by a trainer (one version)."""

    language: str
    background: Background
    turns: list[TurnNote]
    marks: list[Mark] = Field(default_factory=list)
    outcome: CaseOutcome
    questions: list[Question] = Field(default_factory=list)


class GradeReason(Record):
    factor: str
    value: float
    points: float = Field(description="0..1 after thresholds")
    weight: float
    why: str


class Grade(Record):
    level: int = Field(ge=1, le=5)
    score: float = Field(description="weighted mean points, 0..1")
    reasons: list[GradeReason] = Field(default_factory=list)
    by: str = Field("engine", description="'engine' or the trainer who regraded")
    note: str = ""


class AnnotationVersion(Record):
    version: int
    author: str
    note: str = ""
    created_at: datetime
    annotation: Annotation


class HistoryEntry(Record):
    """One thing that happened to a case: promoted, accepted, rejected, edited, regraded, retired."""

    position: int
    action: str
    actor: str
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    at: datetime


class CaseSummary(Record):
    """A case as a list shows it (candidates queue, library search)."""

    case_id: str
    call_key: str
    call_id: str
    agent_id: str | None = None
    call_date: date | None = None
    language: str
    kind: CaseKind
    driver: str = ""
    status: CaseStatus
    level: int | None = None
    half: Half | None = None
    reasons: list[PromotionReason] = Field(default_factory=list)
    annotation_version: int = 1


class VoiceCase(CaseSummary):
    """A case with its current annotation, grade and history (a case page)."""

    content_hash: str
    grade: Grade | None = None
    annotation: Annotation
    decided_by: str | None = None
    decision_reason: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)


class CaseQuery(Record):
    """A library search; every field left empty matches all."""

    status: CaseStatus | None = None
    level: int | None = None
    half: Half | None = None
    kind: CaseKind | None = None
    driver: str | None = Field(None, description="a word of the call driver")
    agent_id: str | None = None
    language: str | None = None
    day: date | None = None


class AssessmentItem(Record):
    """One question of an assessment, and whether the agent passed it."""

    case_id: str
    question: int
    kind: QuestionKind
    passed: bool


class Assessment(Record):
    agent_id: str
    attempt: int
    level: int
    trainer: str
    items: list[AssessmentItem]
    passed: int
    total: int
    share: float
    moved_up: bool
    at: datetime


class AgentRecord(Record):
    agent_id: str
    level: int = Field(0, ge=0, le=5)
    assessments: list[Assessment] = Field(default_factory=list)


class LevelStatus(Record):
    """How full one level of the library is against its target."""

    level: int
    training: int
    test: int
    target_training: int
    target_test: int
