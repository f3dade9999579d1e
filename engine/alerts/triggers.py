"""Which configured triggers a stored analysis sets off, and the alert each one carries.

An alert says who (agent, team), what (trigger, severity), where in the call (evidence: time range and the
words said there) and where the full report is: enough for a supervisor to act without opening the engine.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.alerts.config import SEVERITY_ORDER, AlertsConfig, TriggerConfig
from engine.record import CallAnalysis, Evidence
from engine.store import NewAlert, StoreConfig, alert_id, call_key, kind_matches
from engine.store.recording_date import PROCESSED, recording_day


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity)


def _evidence(items: list[Evidence], start: float, end: float, speaker: str | None) -> list[dict[str, Any]]:
    if items:
        return [e.model_dump(mode="json") for e in items]
    return [{"start": start, "end": end, "speaker": speaker, "words": ""}]


def _match(trigger: TriggerConfig, analysis: CallAnalysis) -> tuple[str, list[dict[str, Any]], str] | None:
    """(severity, evidence, detail) when ``trigger`` fires on ``analysis``; None when it does not."""
    scorecard = analysis.scorecard
    if trigger.when == "event":
        events = [
            e for e in analysis.events
            if kind_matches(e.kind, trigger.event_kinds) and _rank(e.severity) >= _rank(trigger.min_severity)
        ]
        if not events:
            return None
        worst = max(events, key=lambda e: _rank(e.severity)).severity
        evidence = [x for e in events for x in _evidence(e.evidence, e.start, e.end, e.speaker)]
        detail = "; ".join(e.detail or e.kind for e in events)
        return worst, evidence, detail
    if scorecard is None:
        return None
    if trigger.when == "fatal_item_failed":
        failed = [i for i in scorecard.items if i.fatal and not i.passed]
        if not failed:
            return None
        evidence = [e.model_dump(mode="json") for i in failed for e in i.evidence]
        detail = "; ".join(f"{i.title}: {i.explanation}" if i.explanation else i.title for i in failed)
        return "critical", evidence, detail
    if trigger.when == "verdict":
        if scorecard.verdict not in trigger.verdicts:
            return None
        return "high", [], f"verdict {scorecard.verdict}"
    if trigger.when == "score_below":
        assert trigger.threshold is not None  # checked when the configuration loaded
        if scorecard.total >= trigger.threshold:
            return None
        return "high", [], f"score {scorecard.total:g} below {trigger.threshold:g}"
    raise ValueError(f"unknown trigger kind {trigger.when!r}")


def alerts_for(analysis: CallAnalysis, config: AlertsConfig, store_config: StoreConfig) -> list[NewAlert]:
    """The alerts ``analysis`` raises, one per trigger that fires, each with a delivery per sink."""
    if not config.enabled:
        return []
    info = analysis.call
    key = call_key(info.content_hash, analysis.config_hash)
    scorecard = analysis.scorecard
    sinks = tuple(s.name for s in config.sinks)
    alerts = []
    for trigger in config.triggers:
        found = _match(trigger, analysis)
        if found is None:
            continue
        severity, evidence, detail = found
        severity = trigger.severity or severity
        day, basis = recording_day(info.metadata, info.source, store_config.date_keys, date.today())
        call_date = "" if basis == PROCESSED else day.isoformat()
        payload = {
            "alert_id": alert_id(key, trigger.name),
            "trigger": trigger.name,
            "severity": severity,
            "call_id": info.call_id,
            "call_key": key,
            "agent_id": info.metadata.get(store_config.agent_key),
            "team": info.metadata.get(store_config.team_key),
            "call_date": call_date or None,
            "source": info.source,
            "detail": detail,
            "evidence": evidence[: config.max_evidence],
            "score": scorecard.total if scorecard else None,
            "verdict": scorecard.verdict if scorecard else None,
            "report": config.report_location.format(
                call_id=info.call_id, call_key=key, content_hash=info.content_hash, call_date=call_date
            ),
        }
        alerts.append(NewAlert(trigger=trigger.name, severity=severity, payload=payload, sinks=sinks))
    return alerts
