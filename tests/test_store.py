"""The store: round trip, idempotent writes, failures with their reason, concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing
from datetime import date

import pytest

from engine.errors import CorruptAudio
from engine.record import (
    CallAnalysis,
    CallInfo,
    Emotion,
    Event,
    Evidence,
    Scorecard,
    ScorecardItem,
    Transcript,
    Turn,
)
from engine.store import DONE, FAILED, Store, call_key


def build_analysis(call_id: str, agent: str = "a1", team: str = "north", day: str = "2026-11-20",
                   total: float = 85.0, verdict: str = "pass", events: tuple[tuple[str, str], ...] = (),
                   fatal_failed: bool = False, failed_items: tuple[str, ...] = (), opening: str = "",
                   config_hash: str = "cfg1", metadata: dict[str, str] | None = None,
                   source: str | None = None) -> CallAnalysis:
    """A scored call built by hand: (kind, severity) events, failed items by title, a customer opening.

    ``metadata`` replaces the default (agent, team and a ``start_time`` on ``day``).
    """
    info = CallInfo(
        call_id=call_id, source=source or f"/calls/{call_id}.wav",
        content_hash=hashlib.sha256(call_id.encode()).hexdigest(),
        duration=120.0, sample_rate=8000, channels=2, source_channels=2,
        metadata={"agent_id": agent, "team": team, "start_time": f"{day}T09:30:00"} if metadata is None else metadata,
    )
    items = [ScorecardItem(item_id="greeting", section="opening", title="Greets the customer", score=5,
                           max_score=5, weight=1, passed=True)]
    items += [ScorecardItem(item_id=title.lower().replace(" ", "_"), section="body", title=title, score=0,
                            max_score=5, weight=1, passed=False) for title in failed_items]
    if fatal_failed:
        items.append(ScorecardItem(item_id="verification", section="compliance", title="Verifies identity",
                                   score=0, max_score=10, weight=2, passed=False, critical=True, fatal=True,
                                   explanation="no identity check before account details",
                                   evidence=[Evidence(start=30.0, end=34.5, speaker="agent",
                                                      words="your balance is four hundred")]))
    turns = [Turn(speaker="A", role="agent", start=0.0, end=3.0, text="Thank you for calling, how can I help?")]
    if opening:
        turns.append(Turn(speaker="B", role="customer", start=3.5, end=9.0, text=opening,
                          emotion=Emotion(label="neutral", valence=0.0, arousal=0.3, confidence=0.8)))
    return CallAnalysis(
        call=info,
        config_hash=config_hash,
        transcript=Transcript(language="en", language_probability=0.99, model="tiny.en"),
        turns=turns,
        events=[Event(kind=kind, severity=severity, start=40.0 + n, end=45.0 + n, speaker="customer",
                      evidence=[Evidence(start=40.0 + n, end=45.0 + n, speaker="customer",
                                         words="this is the third time I am calling")])
                for n, (kind, severity) in enumerate(events)],
        scorecard=Scorecard(standard_id="default", standard_version="1.0", items=items, total=total,
                            verdict=verdict),
    )


@pytest.fixture
def store(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as s:
        yield s


def test_analysis_round_trips_with_filter_columns_items_and_events(store):
    analysis = build_analysis("c1", events=(("escalation", "high"),), fatal_failed=True, total=40, verdict="fail")
    assert store.save_analysis(analysis)
    key = call_key(analysis.call.content_hash, "cfg1")
    assert store.analysis(key) == analysis
    call = store.call(key)
    assert (call.status, call.agent_id, call.team, call.call_date, call.language) == (
        DONE, "a1", "north", date(2026, 11, 20), "en")
    tables = store.dump()
    assert tables["analyses"][0]["total"] == 40 and tables["analyses"][0]["verdict"] == "fail"
    assert tables["analyses"][0]["fatal_failed"] is True
    assert [i["item_id"] for i in sorted(tables["scorecard_items"], key=lambda r: r["position"])] == [
        "greeting", "verification"]
    assert tables["events"][0]["kind"] == "escalation"
    assert tables["events"][0]["evidence"][0]["words"] == "this is the third time I am calling"


def test_same_call_saved_twice_is_one_row(store):
    analysis = build_analysis("c1", events=(("escalation", "high"),))
    assert store.save_analysis(analysis) is True
    assert store.save_analysis(analysis) is False
    tables = store.dump()
    assert [len(tables[t]) for t in ("calls", "analyses", "scorecard_items", "events")] == [1, 1, 1, 1]
    assert store.is_done(analysis.call.content_hash, "cfg1")
    assert store.done_hashes("cfg1") == {analysis.call.content_hash}


def test_same_recording_under_another_configuration_is_another_call(store):
    assert store.save_analysis(build_analysis("c1", config_hash="cfg1"))
    assert store.save_analysis(build_analysis("c1", config_hash="cfg2"))
    assert len(store.calls()) == 2
    assert not store.is_done(build_analysis("c1").call.content_hash, "cfg3")


def test_failed_recording_is_stored_with_its_reason_and_counted_once(store):
    error = CorruptAudio("/calls/bad.wav", "the file ends in the middle of a frame")
    assert store.save_error(error, "f" * 64, "cfg1", metadata={"agent_id": "a2", "team": "south"})
    assert store.save_error(error, "f" * 64, "cfg1", metadata={"agent_id": "a2", "team": "south"})
    [call] = store.calls()
    assert (call.status, call.failure_reason, call.attempts, call.agent_id) == (FAILED, "corrupt", 2, "a2")
    assert "middle of a frame" in call.failure_message
    assert not store.is_done("f" * 64, "cfg1")
    assert store.failed_hashes("cfg1") == {"f" * 64} and store.done_hashes("cfg1") == set()


def test_a_failed_call_analysed_later_becomes_done_and_a_done_call_never_fails(store):
    analysis = build_analysis("c1")
    store.save_failure(analysis.call.source, analysis.call.content_hash, "cfg1", "model_missing", "no model")
    assert store.save_analysis(analysis)
    assert store.save_failure(analysis.call.source, analysis.call.content_hash, "cfg1", "corrupt", "x") is False
    [call] = store.calls()
    assert (call.status, call.failure_reason) == (DONE, None)


def test_reviews_keep_overrides_beside_the_engine_scores(store):
    analysis = build_analysis("c1", total=70)
    store.save_analysis(analysis)
    key = call_key(analysis.call.content_hash, "cfg1")
    store.add_review("lee", key, {"greeting": {"score": 2, "note": "rushed"}}, comment="ok otherwise")
    [review] = store.reviews(key)
    assert review["overrides"]["greeting"]["score"] == 2
    assert store.analysis(key).scorecard.items[0].score == 5  # the engine's own score is untouched


def test_a_call_is_filed_under_the_day_its_call_start_says(store):
    # recorded just before midnight yesterday, batched this morning: it belongs to yesterday
    store.save_analysis(build_analysis("c1", metadata={"agent_id": "a1", "call_start": "2026-11-19T23:58:00+08:00",
                                                       "start_time": "2026-11-20T00:01:00"}))
    [call] = store.calls()
    assert (call.call_date, call.date_basis) == (date(2026, 11, 19), "call_start")
    assert [c.call_id for c in store.calls(date(2026, 11, 19))] == ["c1"]


def test_without_metadata_the_recorders_own_timestamp_dates_the_call(store, tmp_path):
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "rec.wav"
    with sf.SoundFile(wav, "w", 8000, 1) as f:
        f.date = "2026-11-18T16:05:00"  # written by the recorder as RIFF ICRD
        f.write(np.zeros(800))
    store.save_analysis(build_analysis("c1", metadata={"agent_id": "a1"}, source=str(wav)))
    [call] = store.calls()
    assert (call.call_date, call.date_basis) == (date(2026, 11, 18), "recorder")


def test_the_processing_day_is_the_last_resort_and_marked_as_such(store):
    from engine.store.models import utcnow

    store.save_analysis(build_analysis("c1", metadata={"agent_id": "a1"}))
    store.save_failure("/calls/x.wav", "f" * 64, "cfg1", "too_short", "0.2 s", {"call_start": "2026-11-17 08:00"})
    calls = {c.call_id: c for c in store.calls()}
    assert (calls["c1"].call_date, calls["c1"].date_basis) == (utcnow().date(), "processed")
    assert (calls["x"].call_date, calls["x"].date_basis) == (date(2026, 11, 17), "call_start")


def test_upgrading_an_old_database_redates_calls_by_call_start_and_fills_turns(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from engine.store.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as conn:  # a database as revision 0001 left it: the call filed under the processing day
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        analysis = build_analysis("c1", opening="my bill is wrong", metadata={"call_start": "2026-11-19T10:00:00"})
        conn.execute(text(
            "INSERT INTO calls VALUES ('k1', 'h', 'cfg1', 'c1', '/calls/c1.wav', NULL, NULL, '2026-11-20', 60.0, "
            "'en', 'done', NULL, NULL, 1, :meta, '2026-11-20 07:00:00', '2026-11-20 07:00:00')"),
            {"meta": '{"call_start": "2026-11-19T10:00:00"}'})
        conn.execute(text("INSERT INTO analyses VALUES ('k1', '1.0', 'default', '1.0', 85.0, 'pass', 0, :json, "
                          "'2026-11-20 07:00:00')"), {"json": analysis.to_json()})
    old.dispose()
    with Store.open(url) as s:
        [call] = s.calls()
        assert (call.call_date, call.date_basis) == (date(2026, 11, 19), "call_start")
        assert [t["text"] for t in s.dump()["turns"]] == ["Thank you for calling, how can I help?", "my bill is wrong"]


def test_schema_migrations_match_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from engine.store.models import Base

    with Store.open(f"sqlite:///{tmp_path / 'm.db'}") as s, s.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def _writer(url: str, names: list[str]) -> None:
    with Store.open(url) as s:
        for name in names:
            s.save_analysis(build_analysis(name, events=(("escalation", "high"), ("recovery", "info"))))
        s.save_failure("/calls/broken.wav", "e" * 64, "cfg1", "corrupt", "bad frame")


def race_writers(url: str, calls: int) -> None:
    """Four writer processes on one database, overlapping halves: every call is written by two of them."""
    names = [f"call{i:02d}" for i in range(calls)]
    q = calls // 4
    parts = [names[0:2 * q], names[q:3 * q], names[2 * q:4 * q], names[0:q] + names[3 * q:4 * q]]
    ctx = multiprocessing.get_context("fork")  # separate processes with separate connections; fork is quick
    procs = [ctx.Process(target=_writer, args=(url, part)) for part in parts]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]


def test_concurrent_writer_processes_store_every_call_exactly_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    race_writers(url, 24)
    with Store.open(url) as s:
        tables = s.dump()
        assert len(tables["calls"]) == 25
        assert len(tables["analyses"]) == 24
        assert len(tables["events"]) == 48
        assert len(tables["scorecard_items"]) == 24
        [failed] = s.calls(status=FAILED)
        assert failed.attempts == 4


def _endless_writer(url: str, names: list[str]) -> None:
    with Store.open(url) as s:
        for name in names:
            s.save_analysis(build_analysis(name, events=(("escalation", "high"),), failed_items=("Offers a solution",)))


def test_writer_killed_mid_batch_then_rerun_leaves_every_call_once_and_whole(tmp_path):
    import os
    import signal
    import time

    url = f"sqlite:///{tmp_path / 'killed.db'}"
    names = [f"call{i:03d}" for i in range(300)]
    proc = multiprocessing.get_context("fork").Process(target=_endless_writer, args=(url, names))
    proc.start()
    with Store.open(url) as s:
        deadline = time.monotonic() + 60
        while len(s.calls()) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # wherever it is, mid-transaction or not
        proc.join()
        stored_before = len(s.calls())
        assert 20 <= stored_before < 300, "the writer should be killed part-way"
        _endless_writer(url, names)  # the rerun
        tables = s.dump()
    assert len(tables["calls"]) == len(tables["analyses"]) == 300
    assert len(tables["events"]) == 300 and len(tables["scorecard_items"]) == 600


class _LockedCursor:
    """A cursor whose first ``locked`` statements fail as SQLite does while another connection switches
    the same new database to WAL (it answers at once, without its busy handler)."""

    def __init__(self, locked: int, error: str = "database is locked") -> None:
        self.locked, self.error, self.mode, self.statements = locked, error, "delete", []

    def execute(self, sql: str) -> _LockedCursor:
        import sqlite3

        self.statements.append(sql)
        if self.locked:
            self.locked -= 1
            raise sqlite3.OperationalError(self.error)
        if sql == "PRAGMA journal_mode = WAL":
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_wal_is_switched_on_after_another_process_has_let_go_of_a_new_database():
    import sqlite3

    from engine.store.store import _enable_wal

    cursor = _LockedCursor(locked=3)
    _enable_wal(cursor, timeout_s=5)
    assert cursor.mode == "wal" and cursor.statements[-1] == "PRAGMA journal_mode = WAL"
    already = _LockedCursor(locked=0)
    already.mode = "wal"
    _enable_wal(already, timeout_s=5)
    assert already.statements == ["PRAGMA journal_mode"]  # kept in the file: not switched again
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _enable_wal(_LockedCursor(locked=10_000), timeout_s=0.1)  # still locked at the busy timeout
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _enable_wal(_LockedCursor(locked=1, error="disk I/O error"), timeout_s=5)  # not a lock: not retried
