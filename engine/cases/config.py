"""Configuration of the voice-case library (``cases:`` in the application configuration).

``cases:`` says whether promotion runs after each batch and where the library's rules are: the rules
themselves (promotion, annotation, grading, the library's halves and the agents' threshold) are one
file a trainer edits, ``configs/cases/promotion.yaml``, validated here into ``CaseRules``. The phrase
lists of agent reply acts and customer intents are ``configs/cases/acts.<language>.yaml`` and the
wording of questions and answers ``configs/cases/texts.<language>.yaml``.

Operational: changing any of it never re-analyses a call (``cases`` is in ``OPERATIONAL_SECTIONS``).
``engine.config`` imports this module, so it loads its files with ``engine.config_loading``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.config_loading import PROJECT_ROOT, load_yaml_model

CaseKind = Literal["defect", "recovery", "exemplary"]
Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITY_ORDER: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
QUESTION_KINDS = ("customer_tone_intent", "agent_answer_fault", "how_angered", "how_calmed",
                  "agent_deterioration", "agent_self_control")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CasesConfig(_Section):
    """Promotion, grading and the library. Operational: changing it never re-analyses a call."""

    enabled: bool = Field(True, description="promote candidates after each batch")
    rules: str = Field("configs/cases/promotion.yaml",
                       description="promotion, annotation, grading, library and agent rules (relative: to the "
                                   "project root)")
    phrases_dir: str = Field("configs/cases", description="acts.<language>.yaml and texts.<language>.yaml")


class PromotionRule(_Section):
    """One reason a call becomes a case candidate."""

    name: str
    kind: CaseKind
    when: Literal["event", "exemplary"] = "event"
    event_kinds: list[str] = Field(default_factory=list, description="event kinds (a prefix covers its sub-kinds)")
    min_severity: Severity = "info"
    min_confidence: float = Field(0.0, ge=0, le=1, description="events that report a confidence need this much")
    # exemplary: a call with no defect at all that scored this well and is long enough to teach from
    min_total: float = Field(95.0, ge=0, description="exemplary: the scorecard's total at least this")
    verdicts: list[str] = Field(default_factory=lambda: ["pass"], description="exemplary: accepted verdicts")
    min_duration_s: float = Field(240.0, ge=0, description="exemplary: calls at least this long")

    @model_validator(mode="after")
    def _event_rules_name_kinds(self) -> PromotionRule:
        if self.when == "event" and not self.event_kinds:
            raise ValueError(f"rule {self.name!r}: an event rule needs event_kinds")
        return self


class PromotionConfig(_Section):
    rules: list[PromotionRule]
    kind_order: list[CaseKind] = Field(
        default_factory=lambda: ["defect", "recovery", "exemplary"],
        description="a call that several rules promote is filed under the first of its kinds in this order",
    )


class AnnotationConfig(_Section):
    negative_valence: float = Field(-0.35, ge=-1, le=1, description="a turn at or below this valence is negative")
    negative_labels: list[str] = Field(
        default_factory=lambda: ["angry", "frustrated", "anxious", "sad", "fear", "disgust"],
        description="a turn judged with one of these labels is negative whatever its valence (as in scoring)",
    )
    change_valence: float = Field(0.3, gt=0, description="a valence move this large between customer turns is a "
                                                          "change (calmer / more negative)")
    background_turns: int = Field(2, ge=1, description="customer turns quoted in the background")
    background_chars: int = Field(240, ge=40, description="longest quote of the customer's words")
    outcome_turns: int = Field(2, ge=1, description="last customer turns that say how the customer left")
    calming_acts: list[str] = Field(default_factory=lambda: ["apologising", "acknowledging", "explaining",
                                                              "promising"])
    angering_acts: list[str] = Field(default_factory=lambda: ["refusing", "transferring"])
    resolution_items: list[str] = Field(
        default_factory=lambda: ["resolution_confirmed", "accurate_answer"],
        description="scorecard items that say the problem was solved (any that was scored)",
    )
    fault_events: list[str] = Field(
        default_factory=lambda: ["defect.prohibited_phrase", "defect.agent_angered_customer",
                                 "defect.agent_interrupted_customer", "defect.missing_verification"],
        description="defects that make a 'what was wrong with the agent's answer' question",
    )
    deterioration_events: list[str] = Field(default_factory=lambda: ["defect.agent_lost_composure",
                                                                     "agent_deterioration"])
    calming_events: list[str] = Field(default_factory=lambda: ["recovery.customer_calmed", "de_escalation"])
    angering_events: list[str] = Field(default_factory=lambda: ["defect.agent_angered_customer"])
    self_control_valence: float = Field(-0.2, ge=-1, le=1,
                                        description="an agent reply above this valence after a negative "
                                                    "customer turn kept control")

    def negative(self, label: str, valence: float | None) -> bool:
        """A judged turn that reads negative: by its label, or by its valence."""
        return valence is not None and (label in self.negative_labels or valence <= self.negative_valence)


class Factor(_Section):
    """One grading factor: value -> points (thresholds passed), times its weight."""

    thresholds: list[float] = Field(min_length=1, description="ascending; each one reached is a point")
    weight: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _ascending(self) -> Factor:
        if self.thresholds != sorted(self.thresholds):
            raise ValueError(f"thresholds must ascend, got {self.thresholds}")
        return self


class GradingConfig(_Section):
    peak_negativity: Factor
    escalations: Factor
    issues: Factor
    minutes: Factor
    recovery_difficulty: Factor
    recovery_turns_full: int = Field(4, ge=1, description="agent replies between the customer's worst turn "
                                                          "and calm that make a recovery fully hard")
    level_bands: list[float] = Field(
        min_length=4, max_length=4,
        description="weighted mean points (0..1) at which levels 2, 3, 4 and 5 start",
    )

    @model_validator(mode="after")
    def _bands_ascend(self) -> GradingConfig:
        if self.level_bands != sorted(self.level_bands):
            raise ValueError(f"level_bands must ascend, got {self.level_bands}")
        return self


class LibraryConfig(_Section):
    target_per_level: int = Field(100, ge=2, description="cases a level aims at, split between the halves")
    test_share: float = Field(0.5, gt=0, lt=1, description="share of a level's cases in its test half")
    seed: str = Field("callqa-cases", min_length=1, description="seed of the split hash: never change it once "
                                                                "agents are assessed")


class AgentsConfig(_Section):
    pass_threshold: float = Field(0.8, gt=0, le=1, description="share of a level's test questions to pass")
    max_level: int = Field(5, ge=1, le=5)


class ExportConfig(_Section):
    clip_padding_s: float = Field(5.0, ge=0, description="seconds kept before the first and after the last moment")
    max_clip_s: float = Field(180.0, gt=0, description="longest clip; the call's first moments win")


class CaseRules(_Section):
    """``configs/cases/promotion.yaml``: everything a trainer tunes about the library."""

    promotion: PromotionConfig
    annotation: AnnotationConfig = AnnotationConfig()
    grading: GradingConfig
    library: LibraryConfig = LibraryConfig()
    agents: AgentsConfig = AgentsConfig()
    export: ExportConfig = ExportConfig()
    source: str = ""


def _project_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_case_rules(config: CasesConfig | None = None) -> CaseRules:
    """The library's rules file, validated (errors name the file and the key)."""
    path = _project_path((config or CasesConfig()).rules)
    return load_yaml_model(path, CaseRules, "case rules file", "a mapping with promotion, grading …",
                           source=str(path))


def phrases_dir(config: CasesConfig | None = None) -> Path:
    return _project_path((config or CasesConfig()).phrases_dir)
