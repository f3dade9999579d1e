"""Configuration of the database (``store:``), review sampling (``sampling:``) and event kinds (``event_kinds:``)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound=BaseModel)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreConfig(_Section):
    """Where analyses are kept, and which metadata keys name the agent, the team and the call's date."""

    url: str = Field(
        "sqlite:///callqa.db",
        description="SQLAlchemy URL: sqlite:///path.db, or postgresql+psycopg://user:pass@host:port/db",
    )
    busy_timeout_s: float = Field(
        60.0, gt=0, description="SQLite: how long a writer waits for another process's write to finish"
    )
    agent_key: str = Field("agent_id", description="CallInfo.metadata key holding the agent's id")
    team_key: str = Field("team", description="CallInfo.metadata key holding the team")
    date_keys: list[str] = Field(
        default_factory=lambda: ["call_start", "call_date", "start_time", "started_at", "date"],
        description="metadata keys tried in order for the day the call was recorded (ISO 8601; the date part "
        "is kept); when none is set, the recorder's timestamp in the file's tags, and only then the day the "
        "analysis was stored (marked date_basis=processed)",
    )


class EventKindsConfig(_Section):
    """Which event kinds mean what, for sampling and the daily summary.

    A pattern matches a kind equal to it or under it: ``defect`` matches ``defect.unresolved_escalation``.
    """

    escalation: list[str] = Field(default_factory=lambda: ["escalation"])
    recovery: list[str] = Field(default_factory=lambda: ["recovery", "de_escalation"])
    defect: list[str] = Field(default_factory=lambda: ["defect"])


def kind_matches(kind: str, patterns: list[str]) -> bool:
    """True when ``kind`` is one of ``patterns`` or sits under one (``defect`` covers ``defect.x``)."""
    return any(kind == p or kind.startswith(p + ".") for p in patterns)


class RiskWeights(_Section):
    """How much each sign of trouble raises a call's chance of being drawn by the risk strategy."""

    base: float = Field(1.0, gt=0, description="every call's weight before any sign of trouble")
    per_missing_point: float = Field(
        0.05, ge=0, description="added per point the total score falls short of 100"
    )
    escalation: float = Field(3.0, ge=0)
    fatal_failed: float = Field(5.0, ge=0)
    per_defect: float = Field(1.0, ge=0, description="added per defect event (see event_kinds.defect)")
    failing_verdict: float = Field(2.0, ge=0, description="added when the verdict is one of failing_verdicts")


class SamplingConfig(_Section):
    """``callqa sample``: drawing calls for human review."""

    strategy: str = Field("random", pattern="^(random|stratified|risk)$")
    size: int = Field(10, ge=1, description="calls per draw")
    failing_verdicts: list[str] = Field(default_factory=lambda: ["fail"])
    risk: RiskWeights = RiskWeights()


def app_section(app_config: object, name: str, model: type[T]) -> T:
    """The ``name`` section of the application configuration, validated as ``model``.

    Reads ``AppConfig.<name>`` once the section is composed into ``AppConfig``, and
    ``AppConfig.extra[<name>]`` until then; absent, the defaults.
    """
    value = getattr(app_config, name, None)
    if isinstance(value, model):
        return value
    if value is None:
        value = (getattr(app_config, "extra", None) or {}).get(name, {})
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return model.model_validate(value)
