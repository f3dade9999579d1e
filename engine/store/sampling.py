"""Drawing calls for human review: random, stratified per agent, or weighted towards risk.

A draw is reproducible: the candidates come in a stable order (by call key) and every random choice comes
from ``random.Random(seed)``, so the same seed on the same database draws the same calls. A call is never
drawn twice for one reviewer: drawn calls are recorded (``review_samples``, keyed by reviewer and call)
and left out of every later draw for that reviewer.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Literal

from engine.store.config import EventKindsConfig, SamplingConfig, kind_matches
from engine.store.store import SampleCandidate, Store

Strategy = Literal["random", "stratified", "risk"]


def risk_weight(candidate: SampleCandidate, config: SamplingConfig, kinds: EventKindsConfig) -> float:
    """How strongly the risk strategy favours a call: higher for low scores, escalations, fatal failures."""
    w = config.risk
    weight = w.base
    if candidate.total is not None:
        weight += w.per_missing_point * max(0.0, 100.0 - candidate.total)
    if any(kind_matches(k, kinds.escalation) for k in candidate.event_kinds):
        weight += w.escalation
    if candidate.fatal_failed:
        weight += w.fatal_failed
    weight += w.per_defect * sum(kind_matches(k, kinds.defect) for k in candidate.event_kinds)
    if candidate.verdict in config.failing_verdicts:
        weight += w.failing_verdict
    return weight


def _random(candidates: Sequence[SampleCandidate], n: int, rng: random.Random) -> list[SampleCandidate]:
    return rng.sample(list(candidates), min(n, len(candidates)))


def _stratified(candidates: Sequence[SampleCandidate], n: int, rng: random.Random) -> list[SampleCandidate]:
    """Round-robin over agents in a shuffled order, each agent's calls shuffled: every agent gets a share
    (as equal as the draw size allows) before any agent gets a second call."""
    by_agent: dict[str, list[SampleCandidate]] = defaultdict(list)
    for c in candidates:
        by_agent[c.agent_id or ""].append(c)
    agents = sorted(by_agent)
    rng.shuffle(agents)
    for agent in agents:
        rng.shuffle(by_agent[agent])
    picked: list[SampleCandidate] = []
    while len(picked) < n and any(by_agent.values()):
        for agent in agents:
            if by_agent[agent] and len(picked) < n:
                picked.append(by_agent[agent].pop())
    return picked


def _weighted(candidates: Sequence[SampleCandidate], n: int, rng: random.Random,
              weights: Sequence[float]) -> list[SampleCandidate]:
    """Weighted sampling without replacement (Efraimidis–Spirakis: keep the n largest u^(1/w))."""
    keyed = sorted(((rng.random() ** (1.0 / w), i) for i, w in enumerate(weights)), reverse=True)
    return [candidates[i] for _, i in keyed[:n]]


def choose(candidates: Sequence[SampleCandidate], n: int, strategy: Strategy, seed: int,
           config: SamplingConfig, kinds: EventKindsConfig) -> list[SampleCandidate]:
    """The draw itself, without the database: the same inputs always give the same calls."""
    rng = random.Random(seed)
    if strategy == "random":
        return _random(candidates, n, rng)
    if strategy == "stratified":
        return _stratified(candidates, n, rng)
    if strategy == "risk":
        return _weighted(candidates, n, rng, [risk_weight(c, config, kinds) for c in candidates])
    raise ValueError(f"unknown sampling strategy {strategy!r}: use random, stratified or risk")


def draw_sample(store: Store, reviewer: str, n: int, strategy: Strategy, seed: int,
                config: SamplingConfig | None = None, kinds: EventKindsConfig | None = None,
                first_day: date | None = None, last_day: date | None = None,
                record: bool = True) -> list[SampleCandidate]:
    """Draw up to ``n`` calls ``reviewer`` has never been given, and (unless ``record`` is False) record them.

    Fewer than ``n`` come back when fewer are left. A call a concurrent draw for the same reviewer took
    first is left out rather than given twice.
    """
    config = config or SamplingConfig()
    kinds = kinds or EventKindsConfig()
    candidates = store.sample_candidates(reviewer, first_day=first_day, last_day=last_day)
    picked = choose(candidates, n, strategy, seed, config, kinds)
    if not record:
        return picked
    recorded = set(store.record_sample(reviewer, [c.call_key for c in picked], strategy, seed))
    return [c for c in picked if c.call_key in recorded]
