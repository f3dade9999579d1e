"""The daily summary (per agent and team) and the day's call drivers."""

from engine.summary.config import DriversConfig, SummaryConfig
from engine.summary.daily import DailySummary, GroupSummary, call_defects, daily_summary, summarise
from engine.summary.drivers import CallDriver, call_drivers, opening_text

__all__ = [
    "CallDriver",
    "DailySummary",
    "DriversConfig",
    "GroupSummary",
    "SummaryConfig",
    "call_defects",
    "call_drivers",
    "daily_summary",
    "opening_text",
    "summarise",
]
