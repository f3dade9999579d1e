"""The data behind each page: one function per view, feeding both the HTML page and its ``/api`` JSON twin.

Nothing here knows about HTTP: a view takes the store, the configuration and already-parsed parameters
and returns plain data (dataclasses, dicts, dates), which ``engine.web.app`` renders or serialises.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.config_loading import ConfigError
from engine.record import CallAnalysis
from engine.score import load_standard
from engine.score.review import AgreementReport, agreement_report
from engine.store import FAILED, EventKindsConfig, Store, StoredCall
from engine.store.queries import (
    CallFilter,
    customer_openings,
    day_alerts,
    day_facts,
    day_fingerprint,
    days_with_calls,
    filter_choices,
    find_call,
    search_calls,
)
from engine.store.reviewing import latest_reviews, review_queue, reviewed_calls
from engine.summary import CallDriver, SummaryConfig, day_drivers, facts_defects, summarise
from engine.web import plots
from engine.web.config import WebConfig
from engine.web.report import CallReport, build_report


class DriversCache:
    """Call drivers per day, kept while the day's calls are unchanged (grouping a busy day takes seconds)."""

    def __init__(self, size: int = 32) -> None:
        self._entries: OrderedDict[tuple[date, tuple[int, str]], list[CallDriver]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, day: date, fingerprint: tuple[int, str]) -> list[CallDriver] | None:
        with self._lock:
            found = self._entries.get((day, fingerprint))
            if found is not None:
                self._entries.move_to_end((day, fingerprint))
            return found

    def put(self, day: date, fingerprint: tuple[int, str], drivers: list[CallDriver]) -> None:
        with self._lock:
            self._entries[(day, fingerprint)] = drivers
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


@dataclass
class Settings:
    """What every view reads: the sections of the configuration it depends on."""

    web: WebConfig
    summary: SummaryConfig
    kinds: EventKindsConfig


def drivers_of_day(store: Store, day: date, settings: Settings, cache: DriversCache,
                   compute: bool = True) -> list[CallDriver] | None:
    """The day's call drivers from the cache, else grouped now (or None when ``compute`` is False)."""
    fingerprint = day_fingerprint(store, day)
    found = cache.get(day, fingerprint)
    if found is not None or not compute:
        return found
    drivers_cfg = settings.summary.drivers
    openings = customer_openings(store, day, drivers_cfg.opening_turns, drivers_cfg.opening_seconds)
    drivers = day_drivers(day_facts(store, day), openings, settings.summary)
    cache.put(day, fingerprint, drivers)
    return drivers


def dashboard(store: Store, day: date | None, settings: Settings, cache: DriversCache,
              compute_drivers: bool) -> dict[str, Any]:
    """The day's figures: summary per agent and team, scores, alerts, top defects with calls, drivers, trend."""
    day = day or store.latest_call_date()
    if day is None:
        return {"day": None, "summary": None}
    facts = day_facts(store, day)
    failed = store.calls(day, status=FAILED)
    drivers = drivers_of_day(store, day, settings, cache, compute=compute_drivers)
    summary = summarise(day, facts, failed, {}, settings.summary, settings.kinds, drivers=drivers or [])
    top_defects = []
    for name, count in summary.overall.top_defects:
        calls = [f.call for f in facts if name in facts_defects(f, settings.kinds)]
        top_defects.append({"defect": name, "calls": count,
                            "examples": [{"call_id": c.call_id, "call_key": c.call_key}
                                         for c in calls[: settings.web.defect_calls]]})
    trend = days_with_calls(store, day, settings.web.trend_days)
    top = (drivers or [])[: settings.web.top_drivers]
    return {
        "day": day,
        "summary": summary,
        "drivers_ready": drivers is not None,
        "top_drivers_share": round(sum(d.share for d in top), 4) if drivers is not None else None,
        "top_defects": top_defects,
        "alerts": day_alerts(store, day),
        "trend": trend,
        "scores": [f.total for f in facts if f.total is not None],
    }


def dashboard_plots(data: dict[str, Any]) -> dict[str, Any]:
    summary = data["summary"]
    return {"plot-scores": plots.score_distribution(data["scores"]),
            "plot-verdicts": plots.verdict_counts(summary.overall.verdicts),
            "plot-trend": plots.trend(data["trend"])}


class BadParameter(ValueError):
    """A query parameter a person typed wrong; the message says which and what is expected."""


def day_param(params: dict[str, str], name: str) -> date | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"{name}: expected a date as YYYY-MM-DD, got {value!r}") from None


def _number(params: dict[str, str], name: str) -> float | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadParameter(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise BadParameter(f"{name}: expected a finite number")
    return number


def parse_day(value: str | None) -> date | None:
    return day_param({"date": value or ""}, "date")


def parse_filter(params: dict[str, str]) -> tuple[CallFilter, int]:
    """A search's filter and page (from 1) from query parameters; ``BadParameter`` names a wrong one."""
    event = params.get("event", "").strip() or None
    if event not in (None, "defect", "recovery", "escalation"):
        raise BadParameter(f"event: use defect, recovery or escalation, not {event!r}")
    status = params.get("status", "").strip() or "done"
    if status not in ("done", "failed"):
        raise BadParameter("status: use done or failed")
    try:
        page = max(1, int(params.get("page", "1") or 1))
    except ValueError:
        raise BadParameter("page: expected a whole number") from None
    text = {k: (params.get(k, "").strip() or None) for k in ("agent", "team", "verdict", "language", "q")}
    flt = CallFilter(first_day=day_param(params, "from"), last_day=day_param(params, "to"), agent=text["agent"],
                     team=text["team"], verdict=text["verdict"], min_score=_number(params, "min_score"),
                     max_score=_number(params, "max_score"), event=event, language=text["language"],
                     words=text["q"], status=status)
    return flt, page


def search(store: Store, params: dict[str, str], settings: Settings) -> dict[str, Any]:
    """One page of calls that match the parameters, and what the form offers."""
    flt, page = parse_filter(params)
    size = settings.web.page_size
    rows, total = search_calls(store, flt, settings.kinds, offset=(page - 1) * size, limit=size)
    return {"filter": flt, "page": page, "pages": max(1, math.ceil(total / size)), "total": total,
            "page_size": size, "calls": rows, "choices": filter_choices(store)}


@dataclass
class CallPage:
    call: StoredCall
    analysis: CallAnalysis | None
    report: CallReport | None
    reviews: list[dict[str, Any]]


def call_page(store: Store, ref: str, settings: Settings) -> CallPage | None:
    """One call's report (None when no call has this key or id)."""
    call = find_call(store, ref)
    if call is None:
        return None
    analysis = store.analysis(call.call_key)
    reviews = [{**r, "created_at": str(r["created_at"])[:16]} for r in latest_reviews(store, call.call_key).values()]
    report = None
    if analysis is not None:
        report = build_report(analysis, settings.kinds, settings.web.silence_display_s, call=call, reviews=reviews)
    return CallPage(call=call, analysis=analysis, report=report, reviews=reviews)


def item_overrides(reviews: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each item's overrides across reviewers: what the report lists under the engine's score."""
    out: dict[str, list[dict[str, Any]]] = {}
    for review in reviews:
        for item_id, judged in (review.get("overrides") or {}).items():
            out.setdefault(item_id, []).append({"reviewer": review["reviewer"], **judged})
    return out


def queue(store: Store, reviewer: str) -> dict[str, Any]:
    calls = review_queue(store, reviewer)
    return {"reviewer": reviewer, "calls": calls, "open": sum(not c.reviewed for c in calls)}


def agreement(store: Store, settings: Settings) -> AgreementReport:
    """Reviewers against the engine, over every reviewer's latest review of each call."""
    scored, overrides = reviewed_calls(store)
    pass_at = settings.web.pass_at
    standards = {c.scorecard.standard_id for c in scored}
    if len(standards) == 1:  # the standard's own pass mark, where it can be loaded:
        # a custom standard this server cannot find keeps the configured pass mark
        with contextlib.suppress(ConfigError):
            pass_at = load_standard(standards.pop()).pass_at
    return agreement_report(scored, overrides, pass_at=pass_at)
