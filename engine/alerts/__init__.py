"""Alerts: a call that escalated (or set off another configured trigger) reaches a supervisor at once.

The batch runner calls ``store_analysis`` for each finished call: the analysis and its alerts are stored
in one transaction (one alert per call and trigger, however often the call is stored), then delivered.
A delivery that fails stays pending in the database; ``deliver_pending`` (run at the start and end of
every batch, or by hand) sends it again. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.alerts.config import AlertsConfig, SinkConfig, TriggerConfig
from engine.alerts.sinks import DeliveryFailed, Sink, make_sink
from engine.alerts.triggers import alerts_for
from engine.record import CallAnalysis
from engine.store import Store, alert_id, call_key

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What one delivery round did: (alert id, sink) pairs delivered and still pending (with the error)."""

    delivered: list[tuple[str, str]] = field(default_factory=list)
    pending: list[tuple[str, str, str]] = field(default_factory=list)


def deliver_pending(store: Store, config: AlertsConfig, alert_ids: Sequence[str] | None = None,
                    sinks: dict[str, Sink] | None = None) -> DeliveryReport:
    """Attempt every pending delivery (or those of ``alert_ids``) to the configured sinks.

    A delivery to a sink no longer in the configuration stays pending, with a warning.
    """
    sinks = sinks if sinks is not None else {s.name: make_sink(s) for s in config.sinks}
    report = DeliveryReport()
    for delivery in store.claim_deliveries(config.lease_s, alert_ids=alert_ids):
        sink = sinks.get(delivery.sink)
        if sink is None:
            error = f"sink {delivery.sink!r} is not configured"
            log.warning("alert %s: %s; the delivery stays pending", delivery.alert_id, error)
            store.finish_delivery(delivery, attempts=0, error=error)
            report.pending.append((delivery.alert_id, delivery.sink, error))
            continue
        try:
            attempts = sink.deliver(delivery.payload)
        except DeliveryFailed as exc:
            log.warning("alert %s to %s not delivered (%s); it stays pending", delivery.alert_id, sink.name,
                        exc.error)
            store.finish_delivery(delivery, attempts=exc.attempts, error=exc.error)
            report.pending.append((delivery.alert_id, delivery.sink, exc.error))
        else:
            store.finish_delivery(delivery, attempts=attempts, error=None)
            report.delivered.append((delivery.alert_id, delivery.sink))
    return report


def store_analysis(store: Store, analysis: CallAnalysis, config: AlertsConfig,
                   sinks: dict[str, Sink] | None = None) -> tuple[bool, DeliveryReport]:
    """Store ``analysis`` with the alerts it raises, then deliver those alerts.

    Returns (stored now, delivery report); (False, empty report) when the call was already stored.
    """
    alerts = alerts_for(analysis, config, store.config)
    if not store.save_analysis(analysis, alerts=alerts):
        return False, DeliveryReport()
    key = call_key(analysis.call.content_hash, analysis.config_hash)
    ids = [alert_id(key, a.trigger) for a in alerts]
    return True, deliver_pending(store, config, alert_ids=ids, sinks=sinks)


def raise_alerts(store: Store, analysis: CallAnalysis, config: AlertsConfig,
                 sinks: dict[str, Sink] | None = None) -> DeliveryReport:
    """Raise the alerts of an analysis already stored (alerts raised before are not raised again)."""
    key = call_key(analysis.call.content_hash, analysis.config_hash)
    created = store.add_alerts(key, alerts_for(analysis, config, store.config))
    return deliver_pending(store, config, alert_ids=created, sinks=sinks)


__all__ = [
    "AlertsConfig",
    "DeliveryFailed",
    "DeliveryReport",
    "SinkConfig",
    "TriggerConfig",
    "alerts_for",
    "deliver_pending",
    "make_sink",
    "raise_alerts",
    "store_analysis",
]
