"""Configuration of alerts (``alerts:``): what raises one, and where it goes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITY_ORDER: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerConfig(_Section):
    """One reason to alert a supervisor.

    ``when: event``: the call has an event of one of ``event_kinds`` (a kind or anything under it:
    ``escalation`` covers ``escalation.customer``) at ``min_severity`` or above.
    ``when: fatal_item_failed``: a scorecard item marked fatal was failed.
    ``when: verdict``: the verdict is one of ``verdicts``.
    ``when: score_below``: the total score is below ``threshold``.
    """

    name: str = Field(pattern=r"^[a-z0-9_.-]+$", max_length=64)
    when: Literal["event", "fatal_item_failed", "verdict", "score_below"]
    event_kinds: list[str] = Field(default_factory=list)
    min_severity: Severity = "info"
    verdicts: list[str] = Field(default_factory=list)
    threshold: float | None = None
    severity: Severity | None = Field(
        None, description="the alert's severity; unset: the highest severity among the matching events, or high"
    )

    @model_validator(mode="after")
    def _has_what_it_needs(self) -> TriggerConfig:
        if self.when == "event" and not self.event_kinds:
            raise ValueError(f"trigger {self.name!r}: when: event needs event_kinds")
        if self.when == "verdict" and not self.verdicts:
            raise ValueError(f"trigger {self.name!r}: when: verdict needs verdicts")
        if self.when == "score_below" and self.threshold is None:
            raise ValueError(f"trigger {self.name!r}: when: score_below needs threshold")
        return self


class SinkConfig(_Section):
    """Where alerts go. ``name`` identifies the sink in the delivery records (default: its type)."""

    type: Literal["jsonl", "webhook", "console"]
    name: str = ""
    path: str | None = Field(None, description="jsonl: the file to append one JSON object per line to")
    url: str | None = Field(None, description="webhook: where to POST the alert as JSON")
    headers: dict[str, str] = Field(default_factory=dict, description="webhook: extra headers (e.g. a token)")
    timeout_s: float = Field(10.0, gt=0)
    retries: int = Field(3, ge=0, description="webhook: further attempts after the first, within one delivery")
    backoff_s: float = Field(1.0, ge=0, description="webhook: wait before the first retry; doubles each time")
    max_backoff_s: float = Field(60.0, ge=0)

    @model_validator(mode="after")
    def _has_target(self) -> SinkConfig:
        if not self.name:
            self.name = self.type
        if self.type == "jsonl" and not self.path:
            raise ValueError(f"sink {self.name!r}: type jsonl needs path")
        if self.type == "webhook" and not self.url:
            raise ValueError(f"sink {self.name!r}: type webhook needs url")
        return self


def _default_triggers() -> list[TriggerConfig]:
    return [
        TriggerConfig(name="escalation", when="event", event_kinds=["escalation"], min_severity="medium"),
        TriggerConfig(name="fatal_item_failed", when="fatal_item_failed", severity="critical"),
        TriggerConfig(name="unresolved_anger", when="event", event_kinds=["defect.unresolved_escalation"],
                      severity="high"),
    ]


class AlertsConfig(_Section):
    enabled: bool = True
    triggers: list[TriggerConfig] = Field(default_factory=_default_triggers)
    sinks: list[SinkConfig] = Field(default_factory=lambda: [SinkConfig(type="console")])
    report_location: str = Field(
        "out/{call_id}.json",
        description="where a supervisor finds the call's report; {call_id}, {call_key}, {content_hash} and "
        "{call_date} are filled in",
    )
    max_evidence: int = Field(5, ge=1, description="evidence snippets per alert")
    lease_s: float = Field(
        300.0, gt=0, description="a delivery claimed by a process that died is retried after this many seconds"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsConfig:
        for what, names in (("trigger", [t.name for t in self.triggers]), ("sink", [s.name for s in self.sinks])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(dupes)}")
        return self
