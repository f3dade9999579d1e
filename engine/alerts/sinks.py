"""Where alerts go: a JSON-lines file, a webhook, the console. One small class per sink.

A sink's ``deliver`` returns how many attempts it made, or raises ``DeliveryFailed`` (with the attempts
and the last error); the caller records either in the database, so nothing is dropped silently.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.alerts.config import SinkConfig


class DeliveryFailed(Exception):
    def __init__(self, attempts: int, error: str) -> None:
        super().__init__(error)
        self.attempts = attempts
        self.error = error


class Sink(Protocol):
    name: str

    def deliver(self, payload: dict[str, Any]) -> int: ...


class JsonLinesSink:
    """Appends one JSON object per line. One ``write`` on an ``O_APPEND`` file, so lines from several
    processes never interleave."""

    def __init__(self, config: SinkConfig) -> None:
        assert config.path is not None
        self.name = config.name
        self.path = Path(config.path)

    def deliver(self, payload: dict[str, Any]) -> int:
        line = (json.dumps(payload, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise DeliveryFailed(1, f"{self.path}: {exc}") from exc
        return 1


class ConsoleSink:
    """One line on stderr, for a person watching a batch."""

    def __init__(self, config: SinkConfig) -> None:
        self.name = config.name

    def deliver(self, payload: dict[str, Any]) -> int:
        who = " / ".join(x for x in (payload.get("agent_id"), payload.get("team")) if x) or "unknown agent"
        first = next(iter(payload.get("evidence") or []), None)
        where = f" at {first['start']:.1f}-{first['end']:.1f}s \"{first['words']}\"" if first else ""
        print(f"ALERT [{payload['severity']}] {payload['trigger']}: call {payload['call_id']} ({who}){where} "
              f"-> {payload['report']}", file=sys.stderr, flush=True)
        return 1


class WebhookSink:
    """HTTP POST of the alert as JSON, retried with exponential back-off while the server fails.

    Each request carries ``Idempotency-Key: <alert id>``: if a process dies after the server accepted an
    alert but before that was recorded, the alert is sent again later and the receiver can tell.
    A 4xx answer other than 408 and 429 is not retried within the delivery (the request itself is wrong),
    but the delivery still stays pending.
    """

    def __init__(self, config: SinkConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        assert config.url is not None
        self.name = config.name
        self.config = config
        self.sleep = sleep

    def _post(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(payload.get("alert_id", "")),
                   "User-Agent": "callqa-alerts", **self.config.headers}
        request = urllib.request.Request(self.config.url or "", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
            response.read()

    def deliver(self, payload: dict[str, Any]) -> int:
        attempts = 0
        delay = self.config.backoff_s
        while True:
            attempts += 1
            try:
                self._post(payload)
                return attempts
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code} from {self.config.url}"
                retryable = exc.code >= 500 or exc.code in (408, 429)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = f"{self.config.url}: {reason}"
                retryable = True
            if not retryable or attempts > self.config.retries:
                raise DeliveryFailed(attempts, error)
            self.sleep(min(delay, self.config.max_backoff_s))
            delay *= 2


def make_sink(config: SinkConfig) -> Sink:
    if config.type == "jsonl":
        return JsonLinesSink(config)
    if config.type == "webhook":
        return WebhookSink(config)
    return ConsoleSink(config)
