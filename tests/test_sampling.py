"""Review sampling: reproducible for a seed, never the same call twice for one reviewer."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from engine.store import EventKindsConfig, SamplingConfig, Store
from engine.store.sampling import choose, draw_sample, risk_weight
from tests.test_store import build_analysis


def _fill(store: Store) -> None:
    for i in range(30):
        agent = f"a{i % 3}"
        risky = i % 10 == 0
        store.save_analysis(build_analysis(
            f"c{i:02d}", agent=agent, day=f"2026-11-{20 + i % 2}", total=40 if risky else 90,
            verdict="fail" if risky else "pass", events=(("escalation", "high"),) if risky else (),
            fatal_failed=risky,
        ))


@pytest.fixture
def store(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'callqa.db'}") as s:
        _fill(s)
        yield s


@pytest.mark.parametrize("strategy", ["random", "stratified", "risk"])
def test_same_seed_draws_the_same_calls(tmp_path, strategy):
    draws = []
    for copy in ("one", "two"):
        with Store.open(f"sqlite:///{tmp_path / copy}.db") as s:
            _fill(s)
            draws.append([c.call_id for c in draw_sample(s, "lee", 5, strategy, seed=7)])
    assert draws[0] == draws[1] and len(draws[0]) == 5


def test_a_reviewer_never_gets_the_same_call_twice(store):
    seen: list[str] = []
    for strategy in ("random", "stratified", "risk", "random"):
        seen += [c.call_key for c in draw_sample(store, "lee", 8, strategy, seed=7)]
    assert len(seen) == len(set(seen)) == 30
    assert draw_sample(store, "lee", 5, "random", seed=7) == []
    # another reviewer may get the same calls
    assert len(draw_sample(store, "kim", 5, "random", seed=7)) == 5


def test_dry_run_records_nothing(store):
    first = draw_sample(store, "lee", 5, "random", seed=3, record=False)
    again = draw_sample(store, "lee", 5, "random", seed=3, record=False)
    assert first == again and store.drawn("lee") == []


def test_stratified_gives_every_agent_a_share(store):
    picked = draw_sample(store, "lee", 6, "stratified", seed=1)
    assert Counter(c.agent_id for c in picked) == {"a0": 2, "a1": 2, "a2": 2}


def test_risk_weighting_prefers_escalated_failing_calls(store):
    candidates = store.sample_candidates("lee")
    config, kinds = SamplingConfig(), EventKindsConfig()
    risky = [c for c in candidates if c.fatal_failed]
    assert min(risk_weight(c, config, kinds) for c in risky) > max(
        risk_weight(c, config, kinds) for c in candidates if not c.fatal_failed)
    hits = sum(c.fatal_failed for seed in range(20) for c in choose(candidates, 3, "risk", seed, config, kinds))
    assert hits >= 18  # 3 risky calls of 30: a uniform draw finds about 6 in 60 picks


def test_draw_can_be_limited_to_days(store):
    picked = draw_sample(store, "lee", 30, "random", seed=1, first_day=date(2026, 11, 21),
                         last_day=date(2026, 11, 21))
    assert len(picked) == 15 and {c.call_date for c in picked} == {date(2026, 11, 21)}
