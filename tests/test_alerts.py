"""Alerts: raised once per call and trigger, delivered to a webhook with retries, never dropped."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.alerts import AlertsConfig, SinkConfig, TriggerConfig, alerts_for, deliver_pending, raise_alerts
from engine.alerts import store_analysis as store_and_alert
from engine.store import Store, StoreConfig
from tests.test_store import build_analysis


class Hook:
    """A localhost webhook receiver that answers with scripted statuses (then 200) and keeps what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[int, dict, dict]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = hook.statuses.pop(0) if hook.statuses else 200
                hook.received.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    @property
    def accepted(self) -> list[dict]:
        return [body for status, _, body in self.received if status == 200]


@contextmanager
def webhook(statuses: list[int] | None = None, port: int = 0) -> Iterator[Hook]:
    hook = Hook(statuses or [])
    if port:
        hook.server.server_close()
        hook.server = ThreadingHTTPServer(("127.0.0.1", port), hook.server.RequestHandlerClass)
        hook.url = f"http://127.0.0.1:{port}/alerts"
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def _config(url: str, retries: int = 3) -> AlertsConfig:
    return AlertsConfig(sinks=[SinkConfig(type="webhook", url=url, retries=retries, backoff_s=0.01, timeout_s=5)])


@pytest.fixture
def store(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as s:
        yield s


ESCALATED = dict(agent="a7", team="billing", events=(("escalation", "high"),))


def test_webhook_alert_is_retried_while_the_server_fails_and_delivered_once(store):
    with webhook([500, 500]) as hook:
        stored, report = store_and_alert(store, build_analysis("c1", **ESCALATED), _config(hook.url))
    assert stored
    assert [status for status, _, _ in hook.received] == [500, 500, 200]
    [alert] = hook.accepted
    assert report.delivered == [(alert["alert_id"], "webhook")] and report.pending == []
    assert (alert["call_id"], alert["agent_id"], alert["team"], alert["trigger"], alert["severity"]) == (
        "c1", "a7", "billing", "escalation", "high")
    assert alert["evidence"] == [{"start": 40.0, "end": 45.0, "speaker": "customer",
                                  "words": "this is the third time I am calling"}]
    assert alert["report"] == "out/c1.json"
    assert hook.received[-1][1]["Idempotency-Key"] == alert["alert_id"]
    [delivery] = store.deliveries()
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("delivered", 3, None)


def test_rerun_raises_no_duplicate_alert(store):
    analysis = build_analysis("c1", **ESCALATED)
    with webhook() as hook:
        config = _config(hook.url)
        store_and_alert(store, analysis, config)
        stored_again, report = store_and_alert(store, analysis, config)
        raise_alerts(store, analysis, config)
        deliver_pending(store, config)
    assert not stored_again and report.delivered == []
    assert len(hook.accepted) == 1
    assert len(store.alerts()) == 1 and len(store.deliveries()) == 1


def test_alert_for_a_server_that_is_down_stays_pending_and_is_delivered_later(store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    config = _config(f"http://127.0.0.1:{port}/alerts", retries=1)
    stored, report = store_and_alert(store, build_analysis("c1", **ESCALATED), config)
    assert stored and report.delivered == [] and len(report.pending) == 1
    [delivery] = store.deliveries()
    assert delivery["status"] == "pending" and delivery["attempts"] == 2 and delivery["last_error"]
    with webhook(port=port) as hook:
        later = deliver_pending(store, config)
        again = deliver_pending(store, config)
    assert len(later.delivered) == 1 and again.delivered == []
    assert len(hook.accepted) == 1
    assert store.deliveries()[0]["status"] == "delivered"


def test_client_error_is_not_retried_at_once_but_stays_pending(store):
    with webhook([400]) as hook:
        config = _config(hook.url)
        _, report = store_and_alert(store, build_analysis("c1", **ESCALATED), config)
        assert len(hook.received) == 1 and len(report.pending) == 1
        deliver_pending(store, config)
    assert len(hook.accepted) == 1


def test_a_claimed_delivery_is_not_sent_by_a_second_process_meanwhile(store):
    config = AlertsConfig(sinks=[SinkConfig(type="console")])
    analysis = build_analysis("c1", **ESCALATED)
    store.save_analysis(analysis, alerts=alerts_for(analysis, config, store.config))
    assert len(store.claim_deliveries(lease_s=60)) == 1
    assert store.claim_deliveries(lease_s=60) == []  # leased to the first claimant
    assert deliver_pending(store, config).delivered == []


def test_triggers_fatal_item_and_unresolved_anger_but_not_mild_escalation():
    config = AlertsConfig()
    quiet = build_analysis("c1", events=(("escalation", "low"),))
    assert alerts_for(quiet, config, StoreConfig()) == []
    bad = build_analysis("c2", fatal_failed=True, events=(("defect.unresolved_escalation", "medium"),))
    alerts = {a.trigger: a for a in alerts_for(bad, config, StoreConfig())}
    assert set(alerts) == {"fatal_item_failed", "unresolved_anger"}
    fatal = alerts["fatal_item_failed"].payload
    assert fatal["severity"] == "critical"
    assert fatal["evidence"] == [{"start": 30.0, "end": 34.5, "speaker": "agent",
                                  "words": "your balance is four hundred"}]
    assert "Verifies identity" in fatal["detail"]
    assert alerts["unresolved_anger"].severity == "high"


def test_score_and_verdict_triggers_from_configuration():
    config = AlertsConfig(triggers=[TriggerConfig(name="low_score", when="score_below", threshold=60),
                                    TriggerConfig(name="failed", when="verdict", verdicts=["fail"])])
    assert [a.trigger for a in alerts_for(build_analysis("c1", total=50, verdict="fail"), config,
                                          StoreConfig())] == ["low_score", "failed"]


def test_jsonl_and_console_sinks_write_each_alert_once(store, tmp_path, capsys):
    path = tmp_path / "alerts" / "alerts.jsonl"
    config = AlertsConfig(sinks=[SinkConfig(type="jsonl", path=str(path)), SinkConfig(type="console")])
    analysis = build_analysis("c1", **ESCALATED)
    store_and_alert(store, analysis, config)
    store_and_alert(store, analysis, config)
    [line] = path.read_text().splitlines()
    assert json.loads(line)["trigger"] == "escalation"
    assert "ALERT [high] escalation: call c1 (a7 / billing) at 40.0-45.0s" in capsys.readouterr().err


def test_sink_needs_its_target_and_names_are_unique():
    with pytest.raises(ValueError, match="needs url"):
        SinkConfig(type="webhook")
    with pytest.raises(ValueError, match="repeated: console"):
        AlertsConfig(sinks=[SinkConfig(type="console"), SinkConfig(type="console")])


def test_delivery_left_by_a_process_that_died_is_sent_after_its_lease(store):
    import time

    with webhook() as hook:
        config = _config(hook.url).model_copy(update={"lease_s": 0.2})
        analysis = build_analysis("c1", **ESCALATED)
        store.save_analysis(analysis, alerts=alerts_for(analysis, config, store.config))
        assert len(store.claim_deliveries(config.lease_s)) == 1  # claimed, then its process "died"
        assert deliver_pending(store, config).delivered == []
        time.sleep(0.3)
        assert len(deliver_pending(store, config).delivered) == 1
    assert len(hook.accepted) == 1
