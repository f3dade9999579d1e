"""The daily summary (per agent and team) and the day's call drivers.

Names load on first use: ``engine.config`` imports ``engine.summary.config`` at start-up, and the
call-driver clustering would otherwise bring scikit-learn into every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports
from engine.summary.config import DriversConfig, SummaryConfig

_LAZY = {
    "DailySummary": "engine.summary.daily",
    "GroupSummary": "engine.summary.daily",
    "call_defects": "engine.summary.daily",
    "daily_summary": "engine.summary.daily",
    "day_drivers": "engine.summary.daily",
    "day_inputs": "engine.summary.daily",
    "facts_defects": "engine.summary.daily",
    "summarise": "engine.summary.daily",
    "CallDriver": "engine.summary.drivers",
    "call_drivers": "engine.summary.drivers",
    "opening_text": "engine.summary.drivers",
}

if TYPE_CHECKING:
    from engine.summary.daily import (
        DailySummary,
        GroupSummary,
        call_defects,
        daily_summary,
        day_drivers,
        day_inputs,
        facts_defects,
        summarise,
    )
    from engine.summary.drivers import CallDriver, call_drivers, opening_text


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "CallDriver",
    "DailySummary",
    "DriversConfig",
    "GroupSummary",
    "SummaryConfig",
    "call_defects",
    "call_drivers",
    "daily_summary",
    "day_drivers",
    "day_inputs",
    "facts_defects",
    "opening_text",
    "summarise",
]
