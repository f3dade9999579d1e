"""Per-role trajectories: each speaker's valence and arousal over the call, smoothed.

A turn's judgement is noisy (a short "ok", an ASR fragment, a voice scored on half a second), so the
trajectory is an exponentially weighted mean *in call time*, not over turn indices: each judgement
enters with a weight of ``confidence × min(1, duration / full_weight_seconds)`` and every weight decays
by half each ``half_life_seconds``. A long, confident turn moves the line; a one-word fragment barely
does; a long silence lets the past fade. One point per judged turn, at the turn's midpoint; its label
is the top of the label scores smoothed the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.emotion.config import TrajectoryConfig
from engine.record import TrajectoryPoint, Turn


def turn_weight(turn: Turn, config: TrajectoryConfig) -> float:
    """How much one turn's judgement counts: its confidence, less for short turns; 0 when unjudged."""
    if turn.emotion is None or turn.emotion.confidence < config.min_confidence:
        return 0.0
    return turn.emotion.confidence * min(1.0, max(turn.end - turn.start, 0.0) / config.full_weight_seconds)


def smooth(turns: Sequence[Turn], config: TrajectoryConfig) -> list[TrajectoryPoint]:
    """The smoothed trajectory of one speaker's (or role's) turns, in time order."""
    points: list[TrajectoryPoint] = []
    weight = valence = arousal = 0.0
    scores: dict[str, float] = {}
    last_time: float | None = None
    decay_rate = math.log(2) / config.half_life_seconds
    for turn in sorted(turns, key=lambda t: t.start):
        w = turn_weight(turn, config)
        if w <= 0 or turn.emotion is None:
            continue
        time = (turn.start + turn.end) / 2
        if last_time is not None:
            weight *= math.exp(-decay_rate * max(time - last_time, 0.0))
        total = weight + w
        valence = (weight * valence + w * turn.emotion.valence) / total
        arousal = (weight * arousal + w * turn.emotion.arousal) / total
        own = turn.emotion.scores or {turn.emotion.label: 1.0}
        scores = {k: (weight * scores.get(k, 0.0) + w * own.get(k, 0.0)) / total for k in {*scores, *own}}
        weight, last_time = total, time
        points.append(TrajectoryPoint(time=round(time, 3), valence=round(valence, 4), arousal=round(arousal, 4),
                                      label=max(sorted(scores), key=scores.__getitem__)))
    return points


def trajectories(turns: Sequence[Turn], config: TrajectoryConfig) -> dict[str, list[TrajectoryPoint]]:
    """One trajectory per role (``agent``, ``customer``); turns of unknown role are kept per speaker."""
    groups: dict[str, list[Turn]] = {}
    for turn in turns:
        groups.setdefault(turn.role if turn.role != "unknown" else turn.speaker, []).append(turn)
    out = {key: smooth(group, config) for key, group in groups.items()}
    return {key: points for key, points in out.items() if points}
