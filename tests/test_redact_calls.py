"""Redaction end to end on built calls: a customer reads out a card with expiry and security code, a phone
number and an e-mail address (English), a card, a resident ID and a phone number (Mandarin). With
``callqa analyze --redact`` none of the values — as planted, and as the ASR heard them — is in the output
JSON, the store (raw SQL over every text column, SQLite and PostgreSQL), an alert or the report page, and
the redacted audio is tone over each span on the customer's channel and unchanged elsewhere.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import String, Text, inspect, select
from typer.testing import CliRunner

from engine.alerts import AlertsConfig, SinkConfig, TriggerConfig, store_analysis
from engine.cli import app
from engine.config import load_config
from engine.pipeline import Engine
from engine.record import CallAnalysis
from engine.store import Store
from tests.callbuilder import MANDARIN_TTS_MISSING, mandarin_tts_available, tools_available
from tests.redact_calls import build_redaction_call, leaks, squashed, string_values

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not tools_available(), reason="espeak-ng is needed to build the calls")]
TAGS = {"card": "card", "card_expiry": "card_expiry", "card_security_code": "card_security_code",
        "phone": "phone", "email": "email", "cn_resident_id": "cn_resident_id|national_id"}


class Redacted:
    """One built call analysed with --redact, and what the ASR heard when it was read out."""

    def __init__(self, language: str, folder) -> None:
        self.call, self.values = build_redaction_call(language, folder / "calls")
        config = folder / "centre.yaml"
        config.write_text(f"emotion: {{enabled: false}}\nredact: {{audio: {{directory: {folder / 'redacted'}}}}}\n",
                          encoding="utf-8")
        result = CliRunner().invoke(app, ["analyze", str(self.call.path), "--redact", "--config", str(config),
                                          "--out", str(folder / "out")])
        assert result.exit_code == 0, result.output
        self.output = result.output
        self.json_text = (folder / "out" / f"{self.call.call_id}.json").read_text(encoding="utf-8")
        self.analysis = CallAnalysis.from_json(self.json_text)
        # What the ASR wrote over each planted line, from a plain transcription: those forms must go too.
        plain = Engine(load_config(config)).run(self.call.path, language=language)
        self.heard: list[str] = []
        for value in self.values:
            line = self.call.turns[value.line]
            words = [w.text for w in plain.transcript.words
                     if w.channel == 1 and w.start < line.end and w.end > line.start]
            digits = squashed("".join(words) if language == "zh" else " ".join(words))
            self.heard += re.findall(r"\d{4,}", digits) if value.digits else \
                [w.strip(" .,") for w in words if "." in w.strip(" .,") or "@" in w]

    def leaks(self, text: str, whole_values_only: bool = False) -> list[str]:
        """Planted values (and, unless ``whole_values_only``, any four digits of one) and heard forms in ``text``."""
        flat = squashed(text)
        heard = [h for h in self.heard if (h in flat if h.isdigit() else h.lower() in text.lower())]
        return leaks(text, self.values, chunk=99 if whole_values_only else 4) + [f"heard:{h}" for h in heard]


@pytest.fixture(scope="module", params=["en", "zh"])
def redacted(request, tmp_path_factory) -> Redacted:
    if request.param == "zh" and not mandarin_tts_available():
        pytest.skip(MANDARIN_TTS_MISSING)
    return Redacted(request.param, tmp_path_factory.mktemp(f"redact_{request.param}"))


def test_every_planted_value_is_found_on_the_customer_channel(redacted):
    spans = redacted.analysis.redaction.spans
    for value in redacted.values:
        line = redacted.call.turns[value.line]
        hits = [s for s in spans if s.channel == 1 and s.start < line.end and s.end > line.start
                and re.fullmatch(TAGS[value.entity], s.entity)]
        assert hits, f"{value.entity} in line {value.line} was not redacted: {spans}"
    assert all(s.channel == 1 for s in spans)  # the agent said nothing to redact
    assert redacted.analysis.timings[-1].stage == "redact"  # the last stage, after scoring


def test_no_value_in_the_output_json(redacted):
    assert redacted.heard, "the ASR heard none of the values: the call is not a test of anything"
    strings = string_values(json.loads(redacted.json_text))
    assert [(s, redacted.leaks(s)) for s in strings if redacted.leaks(s)] == []


def test_summary_prints_types_and_counts_never_values(redacted):
    summary = next(line for line in redacted.output.splitlines() if "redacted:" in line)
    for entity, count in redacted.analysis.redaction.counts.items():
        assert f"{entity} ×{count}" in summary
    assert not redacted.leaks(summary.split("; audio copy")[0])
    # The rest of the output has scores and paths, whose digits may share four with a value by chance.
    assert not redacted.leaks(redacted.output, whole_values_only=True)


def _text_rows(store: Store) -> list[str]:
    """Every text column of every table, read with raw SELECTs."""
    texts: list[str] = []
    with store.engine.connect() as connection:
        for table_name in inspect(store.engine).get_table_names():
            from sqlalchemy import MetaData, Table

            table = Table(table_name, MetaData(), autoload_with=connection)
            columns = [c for c in table.columns if isinstance(c.type, String | Text) or "JSON" in str(c.type)]
            for row in connection.execute(select(*columns)) if columns else []:
                texts += [text for value in row if value is not None for text in _strings_of(value)]
    return texts


def _strings_of(value: object) -> list[str]:
    """A column's strings: a JSON document's string values (its numbers are times, not values said)."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return string_values(value) if not isinstance(value, str) else [value]


def _store_and_alert(redacted: Redacted, url: str, alerts_file) -> list[str]:
    store = Store.open(url)
    try:
        config = AlertsConfig(triggers=[TriggerConfig(name="every_call", when="score_below", threshold=101)],
                              sinks=[SinkConfig(type="jsonl", path=str(alerts_file))])
        stored, delivery = store_analysis(store, redacted.analysis, config)
        assert stored and delivery.delivered
        return _text_rows(store)
    finally:
        store.close()


def test_sqlite_store_and_alert_hold_no_value(redacted, tmp_path):
    texts = _store_and_alert(redacted, f"sqlite:///{tmp_path / 'qa.db'}", tmp_path / "alerts.jsonl")
    assert any("[" in t and "]" in t for t in texts)  # the masked transcript is there
    assert [t[:80] for t in texts if redacted.leaks(t)] == []
    alerts = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8")
    assert alerts.strip() and not redacted.leaks(alerts)


def test_postgres_store_holds_no_value(redacted, tmp_path):
    from tests.pg import PostgresUnavailable, running_postgres

    try:
        with running_postgres() as server:
            texts = _store_and_alert(redacted, server.create_database(), tmp_path / "alerts.jsonl")
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"no PostgreSQL server here: {exc}")
    assert texts and [t[:80] for t in texts if redacted.leaks(t)] == []


def test_report_page_holds_no_value(redacted):
    from engine.web.standalone import render_report

    html = render_report(redacted.analysis, audio="none")
    texts = _page_texts(html)
    assert any(redacted.analysis.call.call_id in t for t in texts) and any("[CARD]" in t for t in texts)
    assert [t[:80] for t in texts if redacted.leaks(t)] == []


def test_case_export_holds_no_value_and_its_clip_is_the_redacted_copy(redacted, tmp_path):
    from engine.cases import CaseRepository
    from engine.cases.config import ExportConfig
    from engine.cases.export import export_case
    from engine.cases.records import VoiceCase

    with Store.open(f"sqlite:///{tmp_path / 'cases.db'}") as store:
        annotation, grade = CaseRepository(store).draft(redacted.analysis, driver="payment details")
    info = redacted.analysis.call
    case = VoiceCase(case_id="case-1", call_key=f"{info.content_hash}:x", call_id=info.call_id,
                     language=annotation.language, kind="exemplary", status="accepted", level=grade.level,
                     half="training", content_hash=info.content_hash, grade=grade, annotation=annotation)
    export_case(case, redacted.analysis, tmp_path / "case.json", "json", ExportConfig())
    exported = string_values(json.loads((tmp_path / "case.json").read_text(encoding="utf-8")))
    assert [(s, redacted.leaks(s)) for s in exported if redacted.leaks(s)] == []
    # Even asked for audio, the page plays the redacted copy (never the original).
    export_case(case, redacted.analysis, tmp_path / "case.html", "html", ExportConfig(), with_audio=True)
    html = (tmp_path / "case.html").read_text(encoding="utf-8")
    assert 'src="data:audio/wav;base64,' in html and "redacted clip" in html
    texts = [t for t in _page_texts(html) if not t.startswith("data:")]
    assert any("[CARD]" in t or "[ID]" in t for t in texts)
    assert [t[:80] for t in texts if redacted.leaks(t)] == []


TIME_ATTRIBUTES = {"data-seek", "data-t", "data-offset", "data-start", "data-end"}


class _PageText(HTMLParser):
    """A page's text nodes, attribute values and JSON data; not the inlined libraries (plotly, app.js, css)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = False
        self._json = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        # Times the page links to ("#t=11.01", data-seek="11.01") are the template's numbers, not words said:
        # a resident ID's "1101…" must not be found in a turn that starts at 0:11.01.
        self.texts += [v for k, v in attributes.items()
                       if v and k not in TIME_ATTRIBUTES and not (k == "href" and v.startswith("#t="))]
        self._json = tag == "script" and attributes.get("type") == "application/json"
        self._skip = tag in ("script", "style") and not self._json

    def handle_endtag(self, tag):
        self._skip = self._json = False

    def handle_data(self, data):
        if self._json:
            self.texts += string_values(json.loads(data))
        elif not self._skip and data.strip():
            self.texts.append(data)


def _page_texts(html: str) -> list[str]:
    parser = _PageText()
    parser.feed(html)
    return parser.texts


def test_redacted_audio_is_tone_over_each_span_and_unchanged_elsewhere(redacted):
    redaction = redacted.analysis.redaction
    masked, rate = sf.read(redaction.audio, dtype="float32", always_2d=True)
    original, original_rate = sf.read(redacted.call.path, dtype="float32", always_2d=True)
    assert rate == original_rate == 16000 and masked.shape == original.shape
    config = load_config(None, {"redact": {"enabled": True}}).redact.audio
    tone_rms = 10 ** (config.tone_dbfs / 20) / np.sqrt(2)
    covered = np.zeros(len(masked), dtype=bool)
    for span in redaction.spans:
        first, last = int((span.start - config.margin_s) * rate), int((span.end + config.margin_s) * rate)
        inside = masked[first + 200: last - 200, span.channel]
        assert np.sqrt(np.mean(inside ** 2)) == pytest.approx(tone_rms, rel=0.05)
        covered[max(0, first): last] = True
    # Elsewhere, and on the agent's channel throughout, the copy is the recording (to 16-bit rounding).
    assert np.abs(masked[~covered] - original[~covered]).max() < 2e-3
    assert np.abs(masked[:, 0] - original[:, 0]).max() < 2e-3


def test_real_call_keeps_its_amounts_and_nothing_is_redacted(shared_data):
    """The IBM car-loan call says an amount of money and no identifier: its words come through unchanged."""
    from engine.redact import Redactor

    config = load_config(None, {"redact": {"enabled": True, "audio": {"enabled": False}}})
    analysis = Engine(config).run(shared_data / "calls" / "real" / "ibm_carloan_8k.wav")
    before = [w.text for w in analysis.transcript.words]
    assert any(c.isdigit() for text in before for c in text)  # the amount is there to be kept
    assert Redactor(config.redact).run(analysis).counts == {}
    assert [w.text for w in analysis.transcript.words] == before
