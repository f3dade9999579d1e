"""Configuration of redaction (``redact:``) and of the entity types it finds (``configs/redact/*.yaml``).

The entity types are data, not code: each names a detector (``kind``) and the words that announce it
(``cues``), so a centre adds its own type — a policy number after "policy number", a member ID of a
given pattern — in its YAML without touching the engine.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EntityKind = Literal[
    "card",                # 13-19 digits that pass the Luhn sum
    "card_expiry",         # a month and year said soon after a card
    "card_security_code",  # 3-4 digits said soon after a card
    "cn_resident_id",      # 18 characters with the GB 11643 check character
    "phone",               # a number the phonenumbers library holds valid in one of ``regions``
    "email",               # an address, written ("a.b@c.com") or spoken ("a dot b at c dot com")
    "cued_number",         # a run of digits said soon after one of ``cues`` (account, routing, SSN, policy …)
    "cued_date",           # a date said soon after one of ``cues`` (date of birth)
    "cued_name",           # the words after one of ``cues`` ("my name is …"), on the roles given
    "pattern",             # a written token matching ``pattern`` (a regular expression)
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityRule(Section):
    """One entity type: the tag that replaces it, the detector that finds it and that detector's settings."""

    tag: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="written as [TAG] in place of the words")
    kind: EntityKind
    enabled: bool = True
    cues: list[str] = Field(default_factory=list, description="words that announce the entity (any language)")
    window_s: float = Field(12.0, gt=0, description="how long after a cue (or a card) the entity may start")
    uncued_window_s: float = Field(
        0.0, ge=0, description="card_expiry / card_security_code: without its cue, only this soon after the card")
    min_digits: int = Field(3, ge=1)
    max_digits: int = Field(19, ge=1)
    regions: list[str] = Field(default_factory=list, description="phone: ISO regions whose numbers are valid")
    pattern: str | None = Field(None, description="pattern: a regular expression a whole written token matches")
    roles: list[Literal["agent", "customer", "unknown"]] | None = Field(
        None, description="only words of these roles (null: anyone's)")
    max_words: int = Field(3, ge=1, description="cued_name: at most this many words after the cue")

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> EntityRule:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is larger than max_digits")
        if self.kind in ("cued_number", "cued_date", "cued_name") and not self.cues:
            raise ValueError(f"kind {self.kind} needs cues: the words that announce it")
        if self.kind == "pattern" and not self.pattern:
            raise ValueError("kind pattern needs a pattern (a regular expression)")
        if self.kind == "phone" and not self.regions:
            raise ValueError("kind phone needs regions (ISO codes such as US, CN)")
        return self


class EntityRules(Section):
    """A rules file: entity types by name, in the order they claim digits (a card before a phone …)."""

    entities: dict[str, EntityRule]


class AudioMaskConfig(Section):
    """The redacted copy of the recording."""

    enabled: bool = True
    fill: Literal["tone", "silence"] = "tone"
    margin_s: float = Field(0.25, ge=0, description="masked before and after each span (word timings are loose)")
    tone_hz: float = Field(1000.0, gt=0)
    tone_dbfs: float = Field(-24.0, le=0)
    directory: str = Field("out/redacted", description="where <call id>.wav is written")
    original_level: bool = Field(
        True, description="undo intake's gain, so the copy sounds as recorded (it is the 16 kHz analysed audio)")


class RedactConfig(Section):
    """Whether and what to redact. Redaction changes the analysis, so it is part of the config hash."""

    enabled: bool = Field(False, description="mask entities in everything written, and write a redacted audio copy")
    rules: list[str] = Field(default_factory=lambda: ["configs/redact/entities.yaml"],
                             description="entity rule files, later ones adding or replacing types")
    entities: dict[str, bool] = Field(default_factory=dict, description="turn entity types on or off by name")
    names: list[str] = Field(default_factory=list, description="names always masked wherever said ([NAME])")
    max_digit_gap_s: float = Field(2.0, gt=0, description="a pause this long ends a run of spoken digits")
    audio: AudioMaskConfig = AudioMaskConfig()
