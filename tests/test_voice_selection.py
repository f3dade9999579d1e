"""The inner figures ``select`` keeps for its choice are the ones the choice was made on (issue 24)."""

from __future__ import annotations

import numpy as np

from engine.emotion.voice.selection import CRITERION, MODES, FeatureBank, SearchSpace, _criterion, select
from engine.emotion.voice.training import ClipSet, FitOptions

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fear", "surprise", "disgust"]


def _bank(speakers: int = 6, per_label: int = 4, seed: int = 0) -> FeatureBank:
    """Tiny random clips: 6 columns = 2 layers x (mean, std) of width 1, then prosody 2."""
    rng = np.random.default_rng(seed)
    directions = {label: rng.normal(size=6) * 2 for label in LABELS}
    rows, who, what = [], [], []
    for s in range(speakers):
        offset = rng.normal(size=6) * 3
        for label in LABELS:
            for _ in range(per_label):
                rows.append(offset + directions[label] + rng.normal(size=6))
                who.append(f"spk{s}")
                what.append(label)
    n = len(rows)
    clips = ClipSet(np.array(rows), np.array(who), np.array(what), np.array(["en"] * n), np.array(["toy"] * n))
    return FeatureBank(clips, "toy", (2, 3), 1, 2)


def test_selection_keeps_the_chosen_candidates_inner_predictions_that_make_its_criterion() -> None:
    space = SearchSpace(layer_sets=((2, 3), (3,)), prosody_weights=(1.0,), c_grid=(0.01, 1.0), judged_by="en",
                        arousal_mixes=(0.0, 1.0))
    selection = select(_bank(), FitOptions(encoder="toy", language_heads=("en",)), space)
    assert set(selection.inner) == set(MODES)
    values: dict[str, list[float]] = {}
    for mode in MODES:
        scored = selection.inner[mode]
        assert sorted(scored.speakers) == sorted(f"spk{s}" for s in range(6) for _ in range(len(LABELS) * 4))
        for speaker, m in scored.per_speaker().items():
            values.setdefault(speaker, []).extend(m[k] for k in CRITERION)
    recomputed, _ = _criterion(values, dict.fromkeys(values, "toy"))
    chosen = next(m for c, m, _ in selection.table if c == selection.choice)
    np.testing.assert_allclose(recomputed, chosen, atol=1e-12)
    figures = selection.to_dict()["inner_figures"]
    assert set(figures) == {"toy/speaker", "toy/clip"}  # type: ignore[arg-type]
