"""Configuration of redaction (``redact:``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RedactConfig(BaseModel):
    """Whether and what to redact. Redaction changes the analysis, so it is part of the config hash."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="mask entities in everything written, and write a redacted audio copy")
