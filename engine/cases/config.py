"""Configuration of the voice-case library (``cases:``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CasesConfig(BaseModel):
    """Promotion, grading and the library. Operational: changing it never re-analyses a call."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="promote candidates after each batch")
