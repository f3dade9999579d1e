"""The library's tables: the migration (SQLite up and down, PostgreSQL), and the batch's promotion hook."""

from __future__ import annotations

import os

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from engine.cases.repository import CaseRepository, case_id_for
from engine.config import load_config
from engine.store import Store
from engine.store.migrate import alembic_config
from tests.callbuilder import build_scenarios, tools_available
from tests.pg import PostgresUnavailable, running_postgres
from tests.test_cases import RULES, scored
from tests.test_store import build_analysis
from workers.batch import run_batch
from workers.intake import BatchItem

CASE_TABLES = {"voice_cases", "case_annotations", "case_history", "agent_levels", "agent_assessments"}
needs_tools = pytest.mark.skipif(not tools_available(), reason="espeak-ng not installed (scripts/setup.sh installs it)")


def _migrate(url: str, revision: str, down: bool = False) -> None:
    engine = create_engine(url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def test_a_database_at_the_previous_revision_gains_the_case_tables_and_keeps_its_calls(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _migrate(url, "0002")
    assert not CASE_TABLES & set(inspect(create_engine(url)).get_table_names())
    with Store.open(url) as store:  # opening migrates to head
        store.save_analysis(build_analysis("c1", events=(("defect.prohibited_phrase", "high"),)))
        assert set(inspect(store.engine).get_table_names()) >= CASE_TABLES
        repo = CaseRepository(store, rules=RULES)
        assert len(repo.promote().promoted) == 1
    _migrate(url, "0002", down=True)
    tables = set(inspect(create_engine(url)).get_table_names())
    assert not CASE_TABLES & tables and "calls" in tables
    with Store.open(url) as store:
        assert store.call(store.calls()[0].call_key) is not None
        assert CaseRepository(store, rules=RULES).search() == []  # the tables are back, empty


@pytest.fixture(scope="module")
def postgres():
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"no PostgreSQL server here: {exc}")


def _library(store: Store, built) -> dict:
    for call in built.values():
        store.save_analysis(scored(call))
    repo = CaseRepository(store, rules=RULES)
    promoted = sorted(repo.promote().promoted)
    assert repo.promote().promoted == []
    for case_id in promoted:
        repo.accept(case_id, "tess")
    repo.retire(promoted[0], "tess", "old")
    questions = repo.assessment_questions(repo.case(promoted[1]).level)
    return {
        "cases": [(c.case_id, c.status, c.kind, c.level, c.half, c.driver) for c in repo.search()],
        "history": {c: [h.action for h in repo.case(c).history] for c in promoted},
        "questions": [(q.case_id, q.index, q.question.kind) for q in questions],
    }


@needs_tools
def test_postgres_keeps_the_library_as_sqlite_does(postgres, tmp_path):
    built = build_scenarios(tmp_path / "calls")
    with Store.open(f"sqlite:///{tmp_path / 'lite.db'}") as lite:
        expected = _library(lite, built)
    with Store.open(postgres.create_database()) as pg:
        assert set(inspect(pg.engine).get_table_names()) >= CASE_TABLES
        assert _library(pg, built) == expected
    assert len(expected["cases"]) == 4


@needs_tools
@pytest.mark.parametrize("enabled", [True, False])
def test_the_batch_promotes_its_stored_calls_when_cases_are_enabled(tmp_path, enabled):
    built = build_scenarios(tmp_path / "calls")
    config = load_config(overrides={"cases": {"enabled": enabled}})
    with Store.open(f"sqlite:///{tmp_path / 'batch.db'}") as store:
        for call in built.values():  # analysed before: the batch skips them all (no models) and promotes them
            store.save_analysis(scored(call, config_hash=config.hash()))
        items = [BatchItem(path=call.path, call_id=call.call_id) for call in built.values()]
        report = run_batch(items, config, store)
        assert report.skipped == len(items)
        expected = {case_id_for(scored(built[n]).call.content_hash)
                    for n in ("customer_angered", "dead_air", "prohibited_phrase", "recovery")}
        assert set(report.cases_promoted) == (expected if enabled else set())
        assert run_batch(items, config, store).cases_promoted == []  # a rerun adds no candidate twice
