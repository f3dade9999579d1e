"""The daily summary's figures and call drivers, on analyses built in the test."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from engine.store import Store
from engine.summary import DriversConfig, call_drivers, daily_summary
from engine.summary.drivers import NO_OPENING
from tests.test_store import build_analysis

BILLING = ["I was charged twice on my bill this month", "my bill shows a double charge",
           "why is my bill so high, there is an extra charge"]
PASSWORD = ["I cannot log in, I need a password reset", "the password reset link does not work, cannot log in",
            "locked out of my account, password reset please"]
DELIVERY = ["my parcel delivery is late", "where is my parcel, the delivery was due yesterday",
            "the courier never delivered my parcel"]


@pytest.fixture
def store(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as s:
        s.save_analysis(build_analysis("c1", agent="a1", team="north", total=90, opening=BILLING[0]))
        s.save_analysis(build_analysis("c2", agent="a1", team="north", total=50, verdict="fail",
                                       events=(("escalation", "high"), ("recovery", "info")),
                                       failed_items=("Offers a solution",), opening=BILLING[1]))
        s.save_analysis(build_analysis("c3", agent="a2", team="north", total=40, verdict="fail", fatal_failed=True,
                                       events=(("escalation", "high"), ("defect.unresolved_escalation", "high")),
                                       failed_items=("Offers a solution",), opening=PASSWORD[0]))
        s.save_analysis(build_analysis("c4", agent="a3", team="south", total=80, opening=""))
        s.save_analysis(build_analysis("c5", agent="a3", team="south", total=70, day="2026-11-19",
                                       opening=DELIVERY[0]))
        s.save_failure("/calls/x.wav", "f" * 64, "cfg1", "too_short", "0.2 s",
                       {"agent_id": "a3", "team": "south", "start_time": "2026-11-20T08:00:00"})
        yield s


def test_summary_per_agent_and_team(store):
    summary = daily_summary(store, date(2026, 11, 20))
    assert (summary.calls, summary.failed, summary.failure_reasons) == (4, 1, {"too_short": 1})
    agents = {g.name: g for g in summary.agents}
    a1 = agents["a1"]
    assert (a1.calls, a1.mean_score, a1.verdicts, a1.escalations, a1.recoveries) == (
        2, 70.0, {"fail": 1, "pass": 1}, 1, 1)
    assert a1.top_defects == [("Offers a solution", 1)]
    assert agents["a2"].top_defects == [
        ("Offers a solution", 1), ("Verifies identity", 1), ("defect.unresolved_escalation", 1)]
    assert (agents["a3"].calls, agents["a3"].failed, agents["a3"].mean_score) == (1, 1, 80.0)
    teams = {g.name: g for g in summary.teams}
    assert (teams["north"].calls, teams["north"].mean_score, teams["north"].escalations) == (3, 60.0, 2)
    assert teams["north"].top_defects[0] == ("Offers a solution", 2)
    assert (summary.overall.calls, summary.overall.failed, summary.overall.mean_score) == (4, 1, 65.0)


def test_summary_defaults_to_the_latest_day_and_serialises(store):
    summary = daily_summary(store)
    assert summary.day == date(2026, 11, 20)
    data = summary.to_dict()
    assert data["day"] == "2026-11-20" and sum(d["calls"] for d in data["drivers"]) == 4


def test_call_drivers_group_openings_by_what_customers_called_about():
    calls = [(f"b{i}", t) for i, t in enumerate(BILLING)] + [(f"p{i}", t) for i, t in enumerate(PASSWORD)]
    calls += [(f"d{i}", t) for i, t in enumerate(DELIVERY)] + [("s0", "")]
    drivers = call_drivers(calls, DriversConfig())
    groups = {frozenset(d.call_ids): d for d in drivers}
    assert set(groups) == {frozenset({"b0", "b1", "b2"}), frozenset({"p0", "p1", "p2"}),
                           frozenset({"d0", "d1", "d2"}), frozenset({"s0"})}
    assert "bill" in groups[frozenset({"b0", "b1", "b2"})].terms
    assert "password" in groups[frozenset({"p0", "p1", "p2"})].terms
    assert "parcel" in groups[frozenset({"d0", "d1", "d2"})].terms
    assert groups[frozenset({"s0"})].label == NO_OPENING
    assert sum(d.share for d in drivers) == pytest.approx(1.0)
    assert drivers[0].share == pytest.approx(0.3)


def test_call_drivers_read_mandarin_openings():
    calls = [("z1", "我的账单多扣了钱"), ("z2", "账单上多扣了一笔费用"), ("z3", "账单金额不对"),
             ("z4", "快递一直没有送到"), ("z5", "我的快递送错地址了"), ("z6", "快递什么时候送到")]
    drivers = call_drivers(calls, DriversConfig())
    assert {frozenset(d.call_ids) for d in drivers} == {frozenset({"z1", "z2", "z3"}), frozenset({"z4", "z5", "z6"})}
    assert any("账单" in d.terms for d in drivers) and any("快递" in d.terms for d in drivers)


def test_summary_and_sample_commands(store, tmp_path):
    import typer

    from engine.cli import sample, summary

    app = typer.Typer()
    summary.register(app)
    sample.register(app)
    url = str(store.engine.url)
    runner = CliRunner()
    result = runner.invoke(app, ["summary", "--db", url, "--date", "2026-11-20", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"calls": 4' in result.output
    result = runner.invoke(app, ["summary", "--db", url])
    assert result.exit_code == 0, result.output
    assert "call drivers" in result.output and "a1" in result.output
    result = runner.invoke(app, ["sample", "--db", url, "--reviewer", "lee", "--n", "3", "--strategy", "risk",
                                 "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert len(store.drawn("lee")) == 3
    result = runner.invoke(app, ["summary", "--db", url, "--date", "20-11-2026"])
    assert result.exit_code != 0
    result = runner.invoke(app, ["summary", "--db", f"sqlite:///{tmp_path / 'typo.db'}"])
    assert result.exit_code == 2 and not (tmp_path / "typo.db").exists()


def test_yesterdays_recordings_batched_today_are_in_yesterdays_summary(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as s:
        for n in range(3):  # sidecars name call_start only, as the intake documents
            s.save_analysis(build_analysis(f"y{n}", total=80 + n, opening=BILLING[n],
                                           metadata={"agent_id": "a1", "call_start": f"2026-11-19T1{n}:00:00"}))
        s.save_analysis(build_analysis("undated", opening=PASSWORD[0], metadata={"agent_id": "a2"}))
        summary = daily_summary(s, date(2026, 11, 19))
        assert (summary.calls, summary.dated_by_processing) == (3, 0)
        assert {g.name for g in summary.agents} == {"a1"}
        today = daily_summary(s)
        assert (today.calls, today.dated_by_processing) == (1, 1)
