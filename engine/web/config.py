"""Configuration of ``callqa serve`` (``web:``): paging, the trend, what the report shows, sessions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WebConfig(BaseModel):
    """Settings a QA lead may tune; the server's address and database are command-line options."""

    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(50, ge=1, le=500, description="calls per search page")
    trend_days: int = Field(14, ge=1, description="days with calls shown in the dashboard's trend")
    top_drivers: int = Field(5, ge=1, description="call drivers whose share of traffic the dashboard adds up")
    defect_calls: int = Field(10, ge=1, description="calls listed under each of the day's top defects")
    silence_display_s: float = Field(
        2.0, gt=0, description="a gap between turns at least this long shows as a silence in the transcript"
    )
    read_requires_sign_in: bool = Field(
        False, description="also reading needs a signed-in reviewer (writes always do)"
    )
    session_max_age_s: int = Field(8 * 3600, ge=60, description="how long a sign-in lasts")
    secret: str | None = Field(
        None, description="signs sessions and CSRF tokens; default: CALLQA_WEB_SECRET, else new at each start"
    )
    pass_at: float = Field(
        0.7, ge=0, le=1, description="agreement report: a score-only override passes at this share of the "
        "item's points when the standard cannot be loaded"
    )
