"""The same batch against PostgreSQL gives the same rows, alerts, samples and summary as SQLite.

The server is a private one started from the Debian packages (``tests/pg.py``). Where it cannot start,
these tests are skipped with the reason, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest

from engine.alerts import AlertsConfig, SinkConfig, deliver_pending, store_analysis
from engine.store import Store
from engine.store.sampling import draw_sample
from engine.summary import daily_summary
from tests.pg import PostgresUnavailable, running_postgres
from tests.test_store import _writer, build_analysis, race_writers


@pytest.fixture(scope="module")
def postgres():
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"no PostgreSQL server here: {exc}")


def _batch(store: Store, alerts_file: str) -> dict:
    """One day's batch, replayed: duplicates, a failure, alerts, a rerun, reviews, sample draws, a summary."""
    config = AlertsConfig(sinks=[SinkConfig(type="jsonl", path=alerts_file)])
    calls = [
        build_analysis("c1", agent="a1", total=92, opening="my bill is wrong, I was charged twice this month"),
        build_analysis("c2", agent="a1", total=55, verdict="fail", events=(("escalation", "high"),),
                       failed_items=("Offers a solution",), opening="you charged my card twice on the bill"),
        build_analysis("c3", agent="a2", team="south", total=30, verdict="fail", fatal_failed=True,
                       events=(("defect.unresolved_escalation", "high"),), opening="I cannot log in, password reset"),
        build_analysis("c4", agent="a2", team="south", total=78, events=(("recovery", "info"),),
                       opening="the password reset email never arrives so I cannot log in"),
        build_analysis("c5", agent="a3", total=88, opening="where is my parcel, the delivery is late"),
    ]
    for analysis in [*calls, calls[1], calls[2]]:  # a rerun stores c2 and c3 again
        store_analysis(store, analysis, config)
    store.save_failure("/calls/bad.wav", "b" * 64, "cfg1", "too_short", "0.2 s", {"agent_id": "a3", "team": "north"})
    deliver_pending(store, config)
    store.add_review("lee", store.calls()[0].call_key, {"greeting": {"score": 3}})
    first = [c.call_id for c in draw_sample(store, "lee", 2, "risk", seed=7)]
    second = [c.call_id for c in draw_sample(store, "lee", 2, "stratified", seed=7)]
    summary = daily_summary(store)
    return {"tables": store.dump(), "samples": (first, second), "summary": summary.to_dict() if summary else None}


def test_postgres_gives_the_same_results_as_sqlite(postgres, tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as lite:
        expected = _batch(lite, str(tmp_path / "lite.jsonl"))
    with Store.open(postgres.create_database()) as pg:
        assert pg.dialect == "postgresql"
        got = _batch(pg, str(tmp_path / "pg.jsonl"))
    assert got["tables"] == expected["tables"]
    assert got["samples"] == expected["samples"]
    assert got["summary"] == expected["summary"]
    assert len(expected["tables"]["alerts"]) == 3
    assert (tmp_path / "lite.jsonl").read_text().splitlines() == (tmp_path / "pg.jsonl").read_text().splitlines()


def test_concurrent_writer_processes_on_postgres_store_every_call_exactly_once(postgres):
    url = postgres.create_database()
    Store.open(url).close()  # migrate first, so the race below is the writes' race only
    race_writers(url, 16)
    with Store.open(url) as s:
        tables = s.dump()
    assert (len(tables["calls"]), len(tables["analyses"]), len(tables["events"])) == (17, 16, 32)


def test_first_open_by_several_processes_migrates_once(postgres):
    url = postgres.create_database()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(url, [f"m{i}"])) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    with Store.open(url) as s:
        assert len(s.calls()) == 4
